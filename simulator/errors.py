"""Errors the community simulator reports (defined and drawn in `sop_models.errors`).

SimulationError, SimulationParamsInvalid and ActionNotSimulable are re-exported from here.
"""

from __future__ import annotations

from sop_models.errors import ActionNotSimulable, SimulationError, SimulationParamsInvalid

__all__ = ["ActionNotSimulable", "SimulationError", "SimulationParamsInvalid"]
