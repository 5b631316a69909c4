"""Channels: where planned actions go out (console, outbox file, WeCom robot, WeCom mass
send, hand-posted task lists). Every channel implements `Channel.send_batch`."""

from engine.channels.base import (
    AWAITING,
    FAILED,
    SENT,
    UNKNOWN,
    Channel,
    DeliveryResult,
    DeliveryStatus,
)
from engine.channels.console import ConsoleChannel
from engine.channels.mass_send import AwaitingSend, ChatOutcome, WeComMassSendChannel
from engine.channels.outbox import OutboxChannel
from engine.channels.ratelimit import SlidingWindowLimiter
from engine.channels.robot import RobotWebhookChannel
from engine.channels.tasklist import TaskListChannel

__all__ = [
    "AWAITING",
    "FAILED",
    "SENT",
    "UNKNOWN",
    "AwaitingSend",
    "Channel",
    "ChatOutcome",
    "ConsoleChannel",
    "DeliveryResult",
    "DeliveryStatus",
    "OutboxChannel",
    "RobotWebhookChannel",
    "SlidingWindowLimiter",
    "TaskListChannel",
    "WeComMassSendChannel",
]
