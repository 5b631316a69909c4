"""Message keys: which message an event or a delivery belongs to.

A message is one post of one SOP version in one slot on one local day, in every group that got
it: `sop:version:slot:date`, e.g. `mombaby-refined:2.0:on_join.welcome:2026-09-01`. A delivery's
key (`sop:version:group:slot:date[:member]`, see engine/planner) already holds all four parts,
so its message key is derived, never stored twice. Welcomes are the slots `on_join.*`.
"""

from __future__ import annotations

from datetime import date

WELCOME_PREFIX = "on_join."


def message_key(sop_id: str, version: str, slot: str, day: date | str) -> str:
    """`sop:version:slot:date` for one message."""
    text = day.isoformat() if isinstance(day, date) else day
    return f"{sop_id}:{version}:{slot}:{text}"


def message_of_delivery(key: str) -> str:
    """The message key of a delivery (or planned action) key `sop:version:group:slot:date[:m]`."""
    parts = key.split(":")
    if len(parts) < 5:
        raise ValueError(f"not a delivery key: {key!r}")
    return message_key(parts[0], parts[1], parts[3], parts[4])


def slot_of(message: str) -> str:
    """The slot of a message key (a bare slot is its own slot)."""
    parts = message.split(":")
    return parts[2] if len(parts) == 4 else message


def is_welcome(slot: str) -> bool:
    """True for the slots of on-join welcome messages."""
    return slot.startswith(WELCOME_PREFIX)
