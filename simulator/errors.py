"""Errors the community simulator reports.

SopflowError
└── SimulationError            the simulator refused a call (day order, unknown group, ...)
    ├── SimulationParamsInvalid  a SimulationParams field is out of range or unknown
    └── ActionNotSimulable       a PlannedAction cannot be simulated on the given day
"""

from __future__ import annotations

from sop_models.errors import SopflowError


class SimulationError(SopflowError):
    """The simulator refused a call; the message says what and where."""


class SimulationParamsInvalid(SimulationError):
    """A simulation parameter is unknown or out of range."""


class ActionNotSimulable(SimulationError):
    """A planned action lies outside the simulated day or names an unknown group."""
