"""A seeded community simulator: member types, groups, and their response to planned actions.

It writes the event table that event ingestion reads (see `events.EVENT_SCHEMA`). Behavioural
effects (send hour, action kind, SOP version) are `SimulationParams`; decision code only ever
sees events.
"""

from importlib import import_module
from typing import Any

# Public names by the submodule that defines them. A submodule is imported when one of its names
# is first used (PEP 562), so importing this package, or one of its submodules, loads no other.
_EXPORTS = {
    "community": ("Community", "DayResult", "Joiner", "SimulationRun", "simulate"),
    "errors": ("ActionNotSimulable", "SimulationError", "SimulationParamsInvalid"),
    "events": ("EVENT_SCHEMA", "EVENT_TYPES", "read_events", "write_events"),
    "params": ("BEHAVIOURS", "MEMBER_TYPES", "PUSH_KINDS", "SimulationParams", "TypeRates"),
    "plans": ("daily_plan", "push_action", "welcome_action"),
    "population": ("GroupSpec",),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
