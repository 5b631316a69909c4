"""The pure planner: `plan(doc=..., version=..., groups=..., start=..., end=...) -> Plan`.

Modules: `core` (phases, keys, the window), `slots` (what an SOP schedules per date, built
once per SOP), `variables` (which template variables each kind of action gets).
"""

from importlib import import_module
from typing import Any

# Public names by the submodule that defines them. A submodule is imported when one of its names
# is first used (PEP 562), so importing this package, or one of its submodules, loads no other.
_EXPORTS = {
    "core": (
        "ACTION_KINDS",
        "OPERATOR_CHANNEL",
        "GroupLike",
        "JoinLike",
        "Plan",
        "PlanError",
        "plan",
    ),
    "slots": ("TZ",),
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
