"""Channels: where planned actions go out (console, outbox file, WeCom robot, WeCom mass
send, hand-posted task lists). Every channel implements `Channel.send_batch`."""

from importlib import import_module
from typing import Any

# Public names by the submodule that defines them. A submodule is imported when one of its names
# is first used (PEP 562), so importing this package, or one of its submodules, loads no other.
_EXPORTS = {
    "base": (
        "AWAITING",
        "FAILED",
        "SENT",
        "UNKNOWN",
        "Channel",
        "DeliveryResult",
        "DeliveryStatus",
    ),
    "console": ("ConsoleChannel",),
    "mass_send": ("AwaitingSend", "ChatOutcome", "WeComMassSendChannel"),
    "outbox": ("OutboxChannel",),
    "ratelimit": ("SlidingWindowLimiter",),
    "robot": ("RobotWebhookChannel",),
    "tasklist": ("TaskListChannel",),
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
