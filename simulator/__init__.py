"""A seeded community simulator: member types, groups, and their response to planned actions.

It writes the event table that event ingestion reads (see `events.EVENT_SCHEMA`). Behavioural
effects (send hour, action kind, SOP version) are `SimulationParams`; decision code only ever
sees events.
"""

from sop_models.lazy import lazy_exports

# Public names by the submodule that defines them (loaded on first use; see sop_models.lazy).
__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    globals(),
    {
        "community": ("Community", "DayResult", "Joiner", "SimulationRun", "simulate"),
        "errors": ("ActionNotSimulable", "SimulationError", "SimulationParamsInvalid"),
        "events": ("EVENT_SCHEMA", "EVENT_TYPES", "read_events", "write_events"),
        "params": ("BEHAVIOURS", "MEMBER_TYPES", "PUSH_KINDS", "SimulationParams", "TypeRates"),
        "plans": ("daily_plan", "push_action", "welcome_action"),
        "population": ("GroupSpec",),
    },
)
