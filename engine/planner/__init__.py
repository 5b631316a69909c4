"""The pure planner: `plan(doc=..., version=..., groups=..., start=..., end=...) -> Plan`.

Modules: `core` (phases, keys, the window), `slots` (what an SOP schedules per date, built
once per SOP), `variables` (which template variables each kind of action gets).
"""

from sop_models.lazy import lazy_exports

# Public names by the submodule that defines them (loaded on first use; see sop_models.lazy).
__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    globals(),
    {
        "core": (
            "ACTION_KINDS",
            "OPERATOR_CHANNEL",
            "GroupLike",
            "JoinLike",
            "Plan",
            "join_window",
            "PlanError",
            "plan",
        ),
        "slots": ("TZ",),
        "layers": ("Layer", "plan_layers"),
    },
)
