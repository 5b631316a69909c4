"""The ledger's table, its statuses and errors, and helpers on action keys."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

from sqlalchemy import or_
from sqlmodel import Field, SQLModel

from engine.groups import AwareDateTime
from sop_models.actions import KEY_SEPARATOR, PlannedAction, action_key
from sop_models.errors import LedgerError as LedgerError
from sop_models.errors import UnknownDeliveryError as UnknownDeliveryError

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"

UNKNOWN, AWAITING, DONE = "unknown", "awaiting_confirmation", "done"

NOT_SENT = "not_sent"  # only from reconciliation: the channel never let it out

SKIPPED = "skipped"  # refused by a channel's rule (WeCom's cap): final, never sent again

RESULT_STATUSES = (SENT, FAILED, UNKNOWN, AWAITING, SKIPPED)

SETTLED = (SENT, DONE, AWAITING)  # delivered, or handed to a person to confirm

RESOLVABLE = (SENDING, UNKNOWN, AWAITING)  # a channel result or reconciliation may settle these

# A slot (see slot_key) is taken, whatever the version, while one of its rows is in these:
# posted, handed to a person, or possibly out (in flight or of unknown fate).
TAKEN = (SENDING, UNKNOWN, SENT, DONE, AWAITING)

MAX_ATTEMPTS = 3

REMINDED, CANCELLED = "reminded", "cancelled"  # follow-ups of unconfirmed mass sends

MISSED = "missed"
"""The `error` of a `pending` row a run left unsent: due longer ago than the lateness window.
A later run with --catch-up (or a person marking it done) still settles it."""

ON_TIME_WINDOW = timedelta(minutes=30)
"""Posted up to this long after its time, an action is on time (the workspace-wide default)."""

EARLY, ON_TIME, LATE = "early", "on_time", "late"


def punctuality(due: datetime, at: datetime, window: timedelta = ON_TIME_WINDOW) -> str:
    """`on_time` when due <= at <= due + window; `early` before its time (not on time
    either), `late` after the window. The one rule for sends and hand posts alike."""
    if at < due:
        return EARLY
    return ON_TIME if at <= due + window else LATE


class DeliveryOutcome(Protocol):
    """What a channel reports for one key (engine.channels' DeliveryResult has this shape)."""

    @property
    def key(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def response_id(self) -> str | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def sent_at(self) -> datetime | None: ...


class Delivery(SQLModel, table=True):
    """The delivery state of one planned action."""

    __tablename__ = "deliveries"

    key: str = Field(primary_key=True)
    slot_key: str = Field(index=True)  # the key without its version: see slot_key()
    sop_id: str = Field(index=True)
    version: str
    group_id: str = Field(index=True)
    member_id: str | None = None
    kind: str
    slot: str
    due_at: datetime = Field(sa_type=AwareDateTime, index=True)
    channel: str
    status: str = Field(default=PENDING, index=True)
    attempts: int = 0
    response_id: str | None = None
    error: str | None = None
    sent_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    updated_at: datetime = Field(sa_type=AwareDateTime)
    done_by: str | None = None
    # The run that moved the row to `sending`, and until when its claim holds (the run
    # extends it while alive); only that run settles the row before the lease ends.
    owner: str | None = None
    lease_until: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # An unconfirmed WeCom mass send: what the last run did about it (REMINDED, CANCELLED),
    # when its sender was last reminded and how many times that day (WeCom allows 3).
    follow_up: str | None = None
    reminded_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    reminders: int = 0


class Claim(NamedTuple):
    """Who moves rows to `sending` (a run id) and until when the claim holds."""

    owner: str
    until: datetime


def claim_free(table: Any, owner: Any, wall: Any) -> Any:
    """SQL: a `sending` row another run may settle: no owner, or ours, or its lease ended.

    `owner` and `wall` are bind parameters or plain values; NULL ones match nothing.
    """
    c = table.c
    free = [c.owner.is_(None), c.lease_until.is_(None)]
    if owner is not None:
        free.append(c.owner == owner)
    if wall is not None:
        free.append(c.lease_until < wall)
    return or_(*free)


class LedgerState(NamedTuple):
    """A key's status and how many runs handed it to a channel."""

    status: str
    attempts: int


def chunks(keys: Sequence[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(keys), size):
        yield list(keys[start : start + size])


def unversioned_key(key: str, sop_id: str, version: str) -> str:
    """A key without its version: `sop:version:group:slot:date[:member]` ->
    `sop:group:slot:date[:member]`. One group gets one post per such key, whatever the version.
    """
    prefix = action_key(sop_id, version) + KEY_SEPARATOR
    if not key.startswith(prefix):
        return key  # not a planner key: it stands for its own slot
    return action_key(sop_id) + KEY_SEPARATOR + key[len(prefix) :]


def slot_key(action: PlannedAction) -> str:
    """The action's key without its version (see unversioned_key)."""
    return unversioned_key(action.key, action.sop_id, action.version)


def unique_actions(actions: Iterable[PlannedAction]) -> list[PlannedAction]:
    """The actions with repeated keys dropped (first one wins), order kept."""
    seen: dict[str, PlannedAction] = {}
    for action in actions:
        seen.setdefault(action.key, action)
    return list(seen.values())


def is_sendable(row: Delivery | LedgerState | None, max_attempts: int = MAX_ATTEMPTS) -> bool:
    """True for a new key, a pending row, or a failed row with attempts left."""
    if row is None or row.status == PENDING:
        return True
    return row.status == FAILED and row.attempts < max_attempts
