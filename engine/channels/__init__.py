"""Channels: where planned actions go out (console, outbox file, WeCom robot, WeCom mass
send, hand-posted task lists). Every channel implements `Channel.send_batch`."""

from sop_models.lazy import lazy_exports

# Public names by the submodule that defines them (loaded on first use; see sop_models.lazy).
__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    globals(),
    {
        "base": (
            "AWAITING",
            "FAILED",
            "SENT",
            "SKIPPED",
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
    },
)
