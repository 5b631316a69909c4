"""WeCom (企业微信) server API: client, mass send, robot webhook and group statistics."""

from sop_models.lazy import lazy_exports

# Public names by the submodule that defines them (loaded on first use; see sop_models.lazy).
__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    globals(),
    {
        "client": ("TokenCache", "WeComClient"),
        "errors": (
            "WeComApiError",
            "WeComRateLimited",
            "WeComRequestInvalid",
            "WeComSetupError",
            "WeComTokenRejected",
            "WeComUnreachable",
            "redact",
        ),
        "robot": ("RobotWebhook",),
        "transport": ("DEFAULT_BASE_URL", "Reply", "RetryPolicy"),
    },
)
