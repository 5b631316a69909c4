"""A seeded community simulator: member types, groups, and their response to planned actions.

It writes the event table that event ingestion reads (see `events.EVENT_SCHEMA`). Behavioural
effects (send hour, action kind, SOP version) are `SimulationParams`; decision code only ever
sees events.
"""

from simulator.community import Community, DayResult, Joiner, SimulationRun, simulate
from simulator.errors import ActionNotSimulable, SimulationError, SimulationParamsInvalid
from simulator.events import EVENT_SCHEMA, EVENT_TYPES, read_events, write_events
from simulator.params import (
    BEHAVIOURS,
    MEMBER_TYPES,
    PUSH_KINDS,
    SimulationParams,
    TypeRates,
)
from simulator.plans import daily_plan, push_action, welcome_action
from simulator.population import GroupSpec

__all__ = [
    "BEHAVIOURS",
    "EVENT_SCHEMA",
    "EVENT_TYPES",
    "MEMBER_TYPES",
    "PUSH_KINDS",
    "ActionNotSimulable",
    "Community",
    "DayResult",
    "GroupSpec",
    "Joiner",
    "SimulationError",
    "SimulationParams",
    "SimulationParamsInvalid",
    "SimulationRun",
    "TypeRates",
    "daily_plan",
    "push_action",
    "read_events",
    "simulate",
    "welcome_action",
    "write_events",
]
