"""What the planner produces and channels consume: one timed action for one group."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

ActionKind = Literal[
    "welcome",  # on-join welcome for one member
    "cold_start",  # cold-start day-N action
    "column",  # fixed daily/weekly column
    "flash_sale",  # weekly flash sale
    "rfm",  # month-end RFM segmentation task
    "calendar",  # calendar column (Gregorian or lunar date)
    "campaign",  # campaign action
    "trigger",  # threshold trigger: fired by a live count, not planned by the clock
    "task",  # an operator task declared as a column with `audience: internal` (a review)
]
MsgType = Literal["text", "markdown", "image", "news"]
INTERNAL_KINDS: frozenset[str] = frozenset({"rfm", "task"})
"""Action kinds that are operator tasks, never posts in a customer group: the planner routes
them to the task list, and every list people read (today, checklist, phone page, task list
files) shows them apart from the posts."""


def is_internal(kind: str) -> bool:
    """An operator task (INTERNAL_KINDS), not a message for the group."""
    return kind in INTERNAL_KINDS


KEY_SEPARATOR = ":"
_ESCAPES = {"%": "%25", KEY_SEPARATOR: "%3A"}


def key_part(text: str) -> str:
    """One part of an action key with `%` and the separator percent-escaped, so that parts
    joined by `:` split back into exactly the parts they were made of. Valid ids and ISO
    dates contain neither, so their keys read as before."""
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def action_key(*parts: str) -> str:
    """An action key: `sop:version:group:slot:date[:member]`, each part escaped, so no two
    different actions share one (a group id or slot name holding `:` cannot pose as two
    parts)."""
    return KEY_SEPARATOR.join(key_part(part) for part in parts)


@dataclass(frozen=True)
class PlannedAction:
    """One message (or operator task) due for one group at one local time.

    `key` is stable: the same SOP version, group, slot and date always give the same key,
    so planning twice yields the same actions and the ledger can deduplicate sends.
    """

    key: str
    sop_id: str
    version: str
    group_id: str
    at: datetime  # timezone-aware, Asia/Shanghai
    kind: ActionKind
    slot: str  # e.g. "columns.morning", "cold_start.day3", "on_join.welcome"
    text: str
    msgtype: MsgType = "text"
    content_tag: str | None = None
    member_id: str | None = None  # set for per-member actions (welcome)
    channel: str = "console"  # channel name from the group registry
    target: str = ""  # channel target id (chat id, robot name, ...)
    sender: str = ""  # staff user id that owns the group (WeCom mass send)
    extra: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    content_title: str | None = None  # the content item's title, for people reading a plan
