"""The pure planner: `plan(doc=..., version=..., groups=..., start=..., end=...) -> Plan`.

Modules: `core` (phases, keys, the window), `slots` (what an SOP schedules per date, built
once per SOP), `variables` (which template variables each kind of action gets).
"""

from engine.planner.core import (
    ACTION_KINDS,
    OPERATOR_CHANNEL,
    GroupLike,
    JoinLike,
    Plan,
    PlanError,
    plan,
)
from engine.planner.slots import TZ

__all__ = [
    "ACTION_KINDS",
    "OPERATOR_CHANNEL",
    "TZ",
    "GroupLike",
    "JoinLike",
    "Plan",
    "PlanError",
    "plan",
]
