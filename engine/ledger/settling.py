"""Settling rows without a channel call: reconciliation, operators' marks, crash leftovers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import update
from sqlmodel import Session, col, select

from engine.ledger.model import (
    AWAITING,
    CANCELLED,
    DONE,
    FAILED,
    MAX_ATTEMPTS,
    NOT_SENT,
    PENDING,
    REMINDED,
    RESULT_STATUSES,
    SENDING,
    SENT,
    UNKNOWN,
    Delivery,
    DeliveryOutcome,
    LedgerError,
    UnknownDeliveryError,
    chunks,
    claim_free,
)
from engine.ledger.reads import get_deliveries
from engine.ledger.sending import store_outcomes


class _Found(NamedTuple):
    """A reconciled outcome in the shape write_results takes."""

    key: str
    status: str
    response_id: str | None = None
    error: str | None = None
    sent_at: datetime | None = None


def apply_reconciliation(
    session: Session,
    found: Mapping[str, str | DeliveryOutcome],
    now: datetime,
    *,
    owner: str | None = None,
    wall: datetime | None = None,
) -> list[str]:
    """Settle sending/unknown/awaiting rows with what a channel found in its own records.

    Values are a status or a full outcome: sent, failed, unknown, awaiting_confirmation, or
    `not_sent` (the channel knows it never left: the row goes back to pending). A bare `sent`
    is stamped `now` as sent_at. Keys not in the ledger are ignored, and so are `sending` rows
    another run than `owner` holds past `wall` (see claim_free). Returns the keys changed.
    """
    outcomes = [
        _Found(key, value)
        if isinstance(value, str)
        else _Found(key, value.status, value.response_id, value.error, value.sent_at)
        for key, value in found.items()
    ]
    for outcome in outcomes:
        if outcome.status not in (*RESULT_STATUSES, NOT_SENT):
            raise LedgerError(f"{outcome.key}: reconciled status {outcome.status!r} is not known")
    rows = get_deliveries(session, [o.key for o in outcomes])
    changed = [
        o
        for o in outcomes
        if (row := rows.get(o.key)) is not None
        and settleable(row, owner=owner, wall=wall)
        and o.status != row.status
    ]
    store_outcomes(session, changed, now, owner=owner, wall=wall)
    return [o.key for o in changed]


def settleable(row: Delivery, *, owner: str | None, wall: datetime | None) -> bool:
    """Python twin of the SQL guard: unknown/awaiting, or sending and not held by another run."""
    if row.status in (UNKNOWN, AWAITING):
        return True
    if row.status != SENDING:
        return False
    return (
        row.owner is None
        or row.lease_until is None
        or row.owner == owner
        or (wall is not None and row.lease_until < wall)
    )


def settle(
    session: Session, key: str, outcome: str, now: datetime, *, by: str
) -> tuple[Delivery, str]:
    """An operator's verdict on one key of unclear fate: `sent`, or `not_sent` (back to
    pending, sendable again). Only unknown, awaiting or expired `sending` rows take one.

    Returns the row and its status before.
    """
    if outcome not in (SENT, NOT_SENT):
        raise LedgerError(f"settle: outcome {outcome!r} is not sent or not-sent")
    row = get_deliveries(session, [key]).get(key)
    if row is None:
        raise UnknownDeliveryError([key])
    if not (settleable(row, owner=None, wall=now) or is_cancelled(row)):
        held = " by a running send (its lease has not ended)" if row.status == SENDING else ""
        raise LedgerError(
            f"{key}: is {row.status}{held}; only unknown, awaiting_confirmation, cancelled"
            " mass sends or abandoned sending rows can be settled"
        )
    before = row.status
    row.status, row.updated_at, row.owner, row.lease_until = PENDING, now, None, None
    row.follow_up = None
    if outcome == SENT:
        row.status, row.done_by = SENT, by
    row.error = None if outcome == SENT else f"not sent, settled by {by}"
    session.add(row)
    session.flush()
    return row, before


def _set_status(
    session: Session,
    keys: Sequence[str],
    status: str,
    now: datetime,
    sources: Sequence[str],
    **fields: object,
) -> list[str]:
    rows = get_deliveries(session, keys)
    missing = [k for k in dict.fromkeys(keys) if k not in rows]
    if missing:
        raise UnknownDeliveryError(missing)
    changed = [rows[k] for k in dict.fromkeys(keys) if rows[k].status in sources]
    for row in changed:
        row.status, row.updated_at = status, now
        for name, value in fields.items():
            setattr(row, name, value)
    session.flush()
    return [row.key for row in changed]


def mark_done(session: Session, keys: Sequence[str], who: str, now: datetime) -> list[str]:
    """Record that an operator posted these by hand; returns the keys changed.

    Refuses keys not in the ledger (listing them); rows already sent or done keep their state.
    """
    sources = (PENDING, SENDING, FAILED, UNKNOWN, AWAITING)
    return _set_status(session, keys, DONE, now, sources, done_by=who)


def requeue(session: Session, keys: Sequence[str], now: datetime) -> list[str]:
    """Make unknown or failed keys sendable again (after an operator checked they did not go)."""
    return _set_status(session, keys, PENDING, now, (UNKNOWN, FAILED), attempts=0, error=None)


def mark_stale_sending_unknown(
    session: Session,
    now: datetime,
    *,
    keys: Sequence[str] | None = None,
    reason: str = "interrupted while sending",
    owner: str | None = None,
    wall: datetime | None = None,
) -> list[str]:
    """Rows left `sending` (by a crashed run) become `unknown`; returns their keys.

    A row counts as left when it has no owner or lease, is `owner`'s, or its lease ended
    before `wall`: a live run's rows are never touched. With `keys`, only those rows are
    looked at; `reason` goes into the row's error. Each UPDATE is guarded by the status and
    time it read, so a row another run settled (or re-marked) in between keeps what that run
    wrote and is not in the returned keys.
    """
    free = claim_free(Delivery.__table__, owner, wall)
    sending = select(Delivery.key, Delivery.updated_at).where(col(Delivery.status) == SENDING, free)
    if keys is None:
        seen = list(session.exec(sending).all())
    else:
        seen = [
            row
            for part in chunks(list(dict.fromkeys(keys)))
            for row in session.exec(sending.where(col(Delivery.key).in_(part))).all()
        ]
    by_since: dict[datetime, list[str]] = {}
    for key, since in seen:
        by_since.setdefault(since, []).append(key)
    changed: list[str] = []
    for since, group in by_since.items():
        error = f"{reason} (sending since {since.isoformat()})"
        for part in chunks(group):
            statement = (
                update(Delivery)
                .where(
                    col(Delivery.key).in_(part),
                    col(Delivery.status) == SENDING,
                    col(Delivery.updated_at) == since,
                    free,
                )
                .values(status=UNKNOWN, updated_at=now, error=error)
                .returning(col(Delivery.key))
                .execution_options(synchronize_session=False)
            )
            changed.extend(session.execute(statement).scalars())
    return changed


def is_cancelled(row: Delivery) -> bool:
    """A mass send cancelled because its sender never confirmed it (and not retried since)."""
    return row.status == FAILED and row.follow_up == CANCELLED


def note_follow_ups(
    session: Session, reminded: Sequence[str], cancelled: Sequence[str], now: datetime
) -> None:
    """Record what a run did about unconfirmed mass sends (their results are recorded apart).

    A reminder counts towards the day of `now` (its timezone); a cancelled key is not sent
    again by a run (attempts used up): a person posts it by hand or settles it not-sent.
    """
    rows = get_deliveries(session, [*reminded, *cancelled])
    for key in reminded:
        row = rows[key]
        last = row.reminded_at.astimezone(now.tzinfo) if row.reminded_at else None
        same_day = last is not None and last.date() == now.date()
        row.reminders = (row.reminders if same_day else 0) + 1
        row.follow_up, row.reminded_at = REMINDED, now
        session.add(row)
    for key in cancelled:
        row = rows[key]
        row.follow_up, row.attempts = CANCELLED, max(row.attempts, MAX_ATTEMPTS)
        session.add(row)
    session.flush()
