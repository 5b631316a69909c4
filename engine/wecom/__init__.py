"""WeCom (企业微信) server API: client, mass send, robot webhook and group statistics."""

from engine.wecom.client import TokenCache, WeComClient
from engine.wecom.errors import (
    WeComApiError,
    WeComRateLimited,
    WeComRequestInvalid,
    WeComTokenRejected,
    WeComUnreachable,
    redact,
)
from engine.wecom.robot import RobotWebhook
from engine.wecom.transport import DEFAULT_BASE_URL, Reply, RetryPolicy

__all__ = [
    "DEFAULT_BASE_URL",
    "Reply",
    "RetryPolicy",
    "RobotWebhook",
    "TokenCache",
    "WeComApiError",
    "WeComClient",
    "WeComRateLimited",
    "WeComRequestInvalid",
    "WeComTokenRejected",
    "WeComUnreachable",
    "redact",
]
