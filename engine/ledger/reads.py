"""Reading the ledger: states for a dispatch, listings and per-group summaries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from engine.ledger.model import (
    AWAITING,
    CANCELLED,
    DONE,
    FAILED,
    MISSED,
    ON_TIME,
    ON_TIME_WINDOW,
    PENDING,
    SENDING,
    SENT,
    SKIPPED,
    TAKEN,
    UNKNOWN,
    Delivery,
    LedgerState,
    chunks,
    claim_free,
    punctuality,
    slot_key,
)
from sop_models.actions import PlannedAction


def get_deliveries(session: Session, keys: Sequence[str]) -> dict[str, Delivery]:
    """The ledger rows for these keys (missing keys are absent from the result)."""
    found: dict[str, Delivery] = {}
    for part in chunks(list(dict.fromkeys(keys))):
        rows = session.exec(select(Delivery).where(col(Delivery.key).in_(part))).all()
        found.update((row.key, row) for row in rows)
    return found


def get_states(session: Session, keys: Sequence[str]) -> dict[str, LedgerState]:
    """Status and attempts per key, reading two columns instead of whole rows."""
    found: dict[str, LedgerState] = {}
    for part in chunks(list(dict.fromkeys(keys))):
        query = select(Delivery.key, Delivery.status, Delivery.attempts).where(
            col(Delivery.key).in_(part)
        )
        found.update(
            (key, LedgerState(status, attempts)) for key, status, attempts in session.exec(query)
        )
    return found


@dataclass
class LedgerView:
    """What the ledger holds for some actions, read in one query per 500 actions.

    `states`: status and attempts per action key in the ledger. `posted_elsewhere`: keys
    whose slot is taken (see TAKEN: sending, unknown, sent, done, awaiting) by another key:
    after a promotion or an experiment split in the middle of a day, re-planning that day
    gives new keys for slots that already went out, or may have. `others`: those other
    keys' status and channel. `held`: `sending` keys (ours or others) that another run still
    holds under a live lease.
    """

    states: dict[str, LedgerState]
    posted_elsewhere: set[str]
    others: dict[str, tuple[str, str]] = field(default_factory=dict)
    held: set[str] = field(default_factory=set)


def read_ledger(
    session: Session,
    actions: Sequence[PlannedAction],
    *,
    owner: str | None = None,
    wall: datetime | None = None,
) -> LedgerView:
    """The ledger's view of `actions`, matched on their slot keys (indexed), for the run
    `owner` at wall-clock time `wall` (a lease counts as live without one)."""
    ours: dict[str, list[str]] = {}  # slot key -> our keys (one, unless versions are mixed)
    for action in actions:
        ours.setdefault(slot_key(action), []).append(action.key)
    view = LedgerView({}, set())
    columns = (
        Delivery.key, Delivery.slot_key, Delivery.status, Delivery.attempts, Delivery.channel,
        Delivery.owner, Delivery.lease_until,
    )  # fmt: skip
    for part in chunks(list(ours)):
        query = select(*columns).where(col(Delivery.slot_key).in_(part))
        for key, slot, status, attempts, channel, holder, lease in session.exec(query):
            if key in ours[slot]:
                view.states[key] = LedgerState(status, attempts)
            else:
                view.others[key] = (status, channel)
            if status in TAKEN:
                view.posted_elsewhere.update(k for k in ours[slot] if k != key)
            live = lease is not None and (wall is None or lease >= wall)
            if status == SENDING and holder not in (None, owner) and live:
                view.held.add(key)
    return view


def needing_attention(session: Session, *, wall: datetime) -> list[Delivery]:
    """Rows a person must look at, by due time: unknown fate, awaiting a sender's
    confirmation, a mass send cancelled for want of one, `sending` with no live run
    behind them (a crash nobody reconciled), or missed by a run (past the lateness window)."""
    abandoned = (col(Delivery.status) == SENDING) & claim_free(Delivery.__table__, None, wall)
    cancelled = (col(Delivery.status) == FAILED) & (col(Delivery.follow_up) == CANCELLED)
    missed = (col(Delivery.status) == PENDING) & (col(Delivery.error) == MISSED)
    query = select(Delivery).where(
        col(Delivery.status).in_((UNKNOWN, AWAITING)) | abandoned | cancelled | missed
    )
    return list(session.exec(query.order_by(col(Delivery.due_at), col(Delivery.key))).all())


def list_deliveries(
    session: Session,
    *,
    sop_id: str | None = None,
    group_id: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Delivery]:
    """Ledger rows ordered by due time, filtered by SOP, group, status and since <= due < until."""
    query = select(Delivery)
    for column, value in (("sop_id", sop_id), ("group_id", group_id), ("status", status)):
        if value is not None:
            query = query.where(getattr(Delivery, column) == value)
    if since is not None:
        query = query.where(col(Delivery.due_at) >= since)
    if until is not None:
        query = query.where(col(Delivery.due_at) < until)
    return list(session.exec(query.order_by(col(Delivery.due_at), col(Delivery.key))).all())


@dataclass(frozen=True)
class GroupSummary:
    """Delivery counts of one group over a period (pending includes rows being sent).

    `on_time`, `late` and `early` split the sent and done rows (see ledger.punctuality)."""

    group_id: str
    planned: int = 0
    sent: int = 0
    done: int = 0
    failed: int = 0
    unknown: int = 0
    awaiting: int = 0
    pending: int = 0
    skipped: int = 0  # refused by the channel's rule (WeCom's cap)
    on_time: int = 0
    late: int = 0
    early: int = 0


_FIELD_OF = {s: s for s in (SENT, DONE, FAILED, UNKNOWN, PENDING, SKIPPED)} | {
    AWAITING: "awaiting",
    SENDING: "pending",
}


def group_summary(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    late_after: timedelta = ON_TIME_WINDOW,
) -> list[GroupSummary]:
    """Per group (sorted by id), counts of actions due in [since, until) by state.

    A sent or done action is on time when due_at <= sent_at <= due_at + late_after, late
    after that and early before it. A hand post is judged on the time given with `done --at`
    (its sent_at; rows marked done without one, on when they were marked).
    """
    window = (col(Delivery.due_at) >= since, col(Delivery.due_at) < until)
    counts: dict[str, dict[str, int]] = {}
    by_status = (
        select(Delivery.group_id, Delivery.status, func.count())
        .where(*window)
        .group_by(col(Delivery.group_id), col(Delivery.status))
    )
    for group_id, status, count in session.exec(by_status).all():
        fields = counts.setdefault(group_id, {})
        fields["planned"] = fields.get("planned", 0) + count
        name = _FIELD_OF[status]
        fields[name] = fields.get(name, 0) + count
    posted = select(
        Delivery.group_id, Delivery.status, Delivery.due_at, Delivery.sent_at, Delivery.updated_at
    ).where(*window, col(Delivery.status).in_((SENT, DONE)))
    for group_id, status, due_at, sent_at, updated_at in session.exec(posted).all():
        at = sent_at or (updated_at if status == DONE else None)
        name = ON_TIME if at is None else punctuality(due_at, at, late_after)
        counts[group_id][name] = counts[group_id].get(name, 0) + 1
    return [GroupSummary(group_id=gid, **counts[gid]) for gid in sorted(counts)]
