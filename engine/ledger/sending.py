"""Writes around a channel call: new rows, the move to `sending`, the channel's outcomes."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime

from sqlalchemy import Boolean, Update, bindparam, case, func, literal_column, or_, update
from sqlalchemy import insert as sa_insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from engine.ledger.model import (
    AWAITING,
    FAILED,
    MAX_ATTEMPTS,
    MISSED,
    NOT_SENT,
    PENDING,
    RESOLVABLE,
    RESULT_STATUSES,
    SENDING,
    SENT,
    UNKNOWN,
    Claim,
    Delivery,
    DeliveryOutcome,
    LedgerError,
    UnknownDeliveryError,
    chunks,
    claim_free,
    is_sendable,
    slot_key,
    unique_actions,
)
from engine.ledger.reads import get_states
from sop_models.actions import PlannedAction


def claim(
    session: Session,
    actions: Sequence[PlannedAction],
    now: datetime,
    *,
    max_attempts: int = MAX_ATTEMPTS,
) -> list[PlannedAction]:
    """Insert pending rows for new keys; return the actions to send now, in the given order.

    Those are new or pending keys and failed keys with attempts left; never sent, done,
    sending, unknown or awaiting_confirmation ones. Callers pass only actions that are due.
    """
    unique = unique_actions(actions)
    rows = get_states(session, [a.key for a in unique])
    add_rows(session, [a for a in unique if a.key not in rows], now)
    return [a for a in unique if is_sendable(rows.get(a.key), max_attempts)]


def add_rows(
    session: Session,
    actions: Sequence[PlannedAction],
    now: datetime,
    *,
    sending: Collection[str] = (),
    claim: Claim | None = None,
) -> list[str]:
    """Insert a row per action whose key is not in the ledger yet; returns the keys inserted.

    Rows start `pending`, or `sending` with one attempt counted for keys in `sending` (so a
    dispatch can claim and mark its first chunk in one statement). A key another run
    inserted first is left alone and not returned (ON CONFLICT DO NOTHING). `claim` names the
    run owning the `sending` rows and its lease.
    """
    if not actions:
        return []
    marked = set(sending)
    rows = [_row_values(a, now, sending=a.key in marked, claim=claim) for a in actions]
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}.get(dialect)
    table = Delivery.__table__  # Core executemany: no per-row ORM bookkeeping
    if insert is None:  # no ON CONFLICT: a racing insert fails the transaction instead
        session.execute(sa_insert(table), rows)
        return [a.key for a in actions]
    stmt = insert(table).on_conflict_do_nothing().returning(table.c.key)
    inserted = {row[0] for row in session.execute(stmt, rows)}
    return [a.key for a in actions if a.key in inserted]


def add_missed(session: Session, actions: Sequence[PlannedAction], now: datetime) -> list[str]:
    """Record due actions a run did not send (past the lateness window) as `pending` rows
    marked `missed`, so the ledger, summaries and `sop deliveries attention` show them; a key
    already in the ledger keeps its row. Returns the keys recorded."""
    keys = add_rows(session, actions, now)
    if keys:
        session.execute(
            update(Delivery)
            .where(col(Delivery.key).in_(keys), col(Delivery.status) == PENDING)
            .values(error=MISSED)
        )
    return keys


def _row_values(
    action: PlannedAction, now: datetime, *, sending: bool = False, claim: Claim | None = None
) -> dict[str, object]:
    owner, until = claim if sending and claim is not None else (None, None)
    return {"owner": owner, "lease_until": until,
        "key": action.key, "slot_key": slot_key(action), "sop_id": action.sop_id,
        "version": action.version, "group_id": action.group_id, "member_id": action.member_id,
        "kind": action.kind, "slot": action.slot, "channel": action.channel,
        "due_at": action.at, "status": SENDING if sending else PENDING,
        "attempts": 1 if sending else 0, "updated_at": now,
    }  # fmt: skip


def mark_sending(
    session: Session,
    keys: Sequence[str],
    now: datetime,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    claim: Claim | None = None,
) -> list[str]:
    """Move sendable keys to `sending` and count the attempt; return the keys moved.

    The move is one conditional UPDATE, so of two runs racing for a key only one moves it.
    `claim` records the run that moved them and its lease.
    """
    owner, until = claim if claim is not None else (None, None)
    moved: list[str] = []
    for part in chunks(keys):
        stmt = (
            update(Delivery)
            .where(col(Delivery.key).in_(part))
            .where(
                (col(Delivery.status) == PENDING)
                | ((col(Delivery.status) == FAILED) & (col(Delivery.attempts) < max_attempts))
            )
            .values(
                status=SENDING,
                attempts=col(Delivery.attempts) + 1,
                updated_at=now,
                owner=owner,
                lease_until=until,
            )
            .returning(col(Delivery.key))
            .execution_options(synchronize_session=False)
        )
        moved += [row[0] for row in session.execute(stmt)]
    session.expire_all()
    wanted = set(moved)
    return [key for key in keys if key in wanted]


def record_results(
    session: Session,
    results: Iterable[DeliveryOutcome],
    now: datetime,
    *,
    owner: str | None = None,
    wall: datetime | None = None,
) -> list[str]:
    """Store channel outcomes on rows that are sending, unknown or awaiting confirmation.

    Returns the keys changed; rows already sent, done, failed or pending keep their state.
    Raises UnknownDeliveryError for keys not in the ledger.
    """
    results = list(results)
    session.flush()
    states = get_states(session, [r.key for r in results])
    missing = [r.key for r in results if r.key not in states]
    if missing:
        raise UnknownDeliveryError(missing)
    write_results(session, results, now, owner=owner, wall=wall)
    return [r.key for r in results if states[r.key].status in RESOLVABLE]


def _results_update(*, many_keys: bool) -> Update:
    """UPDATE rows with a channel outcome, only while they are unknown/awaiting, or sending
    and not claimed by another run (`b_owner` is the writer, `b_wall` the wall clock).

    One row per parameter set (`b_key`), or every key of the list `b_keys` with the same
    outcome. Old values are kept in SQL (COALESCE), so no read is needed first: response_id
    and error keep theirs when the outcome has none; a sent row gets the outcome's sent_at,
    else its own, else now, and loses its error, as does a row put back to pending.
    """
    table = Delivery.__table__
    c = table.c
    which = (
        c.key.in_(bindparam("b_keys", expanding=True))
        if many_keys
        else (c.key == bindparam("b_key"))
    )
    return (
        update(table)
        .where(which)
        # Constants in the SQL: executemany cannot expand an IN list of parameters.
        .where(
            or_(
                *(c.status == literal_column(f"'{status}'") for status in (UNKNOWN, AWAITING)),
                (c.status == literal_column(f"'{SENDING}'"))
                & claim_free(
                    table,
                    bindparam("b_owner", type_=c.owner.type),
                    bindparam("b_wall", type_=c.lease_until.type),
                ),
            )
        )
        .values(
            status=bindparam("b_status"),
            response_id=func.coalesce(bindparam("b_response_id", type_=c.response_id.type),
                                      c.response_id),
            sent_at=func.coalesce(bindparam("b_sent_at", type_=c.sent_at.type), c.sent_at,
                                  bindparam("b_sent_fallback", type_=c.sent_at.type)),
            error=case((bindparam("b_clear", type_=Boolean), None),
                       else_=func.coalesce(bindparam("b_error", type_=c.error.type), c.error)),
            updated_at=bindparam("b_now", type_=c.updated_at.type),
        )
    )  # fmt: skip


_Outcome = tuple[str, str | None, datetime | None, str | None]  # status, response id, time, error

MAX_OUTCOME_GROUPS = 8  # above this, one parameter set per key is cheaper


def write_results(
    session: Session,
    results: Iterable[DeliveryOutcome],
    now: datetime,
    *,
    owner: str | None = None,
    wall: datetime | None = None,
) -> None:
    """Store channel outcomes without reading the rows first.

    Rows not sending, unknown or awaiting confirmation (and keys not in the ledger) are left
    as they are, and so are `sending` rows claimed by a run other than `owner` whose lease
    lasts past `wall`. For callers that just moved these keys to `sending` themselves.
    """
    results = list(results)
    for result in results:
        if result.status not in RESULT_STATUSES:
            raise LedgerError(f"{result.key}: channel status {result.status!r} is not known")
    store_outcomes(session, results, now, owner=owner, wall=wall)


def store_outcomes(
    session: Session,
    outcomes: Iterable[DeliveryOutcome],
    now: datetime,
    *,
    owner: str | None = None,
    wall: datetime | None = None,
) -> None:
    """Settle sending/unknown/awaiting rows with outcomes (statuses already checked).

    `not_sent` (a channel knows the message never left) puts a row back to pending. Keys
    with the same outcome (a batch written to one file, posted by one robot, ...) are settled
    with one UPDATE per 500 keys; varied outcomes with one executemany UPDATE.
    """
    groups: dict[_Outcome, list[str]] = {}
    for result in outcomes:
        clear = result.status in (SENT, NOT_SENT)
        outcome = (
            result.status, result.response_id,
            result.sent_at if result.status == SENT else None, None if clear else result.error,
        )  # fmt: skip
        groups.setdefault(outcome, []).append(result.key)
    if not groups:
        return

    def values(outcome: _Outcome) -> dict[str, object]:
        status, response_id, sent_at, error = outcome
        sent = status == SENT
        return {
            "b_status": PENDING if status == NOT_SENT else status,
            "b_response_id": response_id, "b_sent_at": sent_at,
            "b_sent_fallback": now if sent else None, "b_clear": sent or status == NOT_SENT,
            "b_error": error, "b_now": now, "b_owner": owner, "b_wall": wall,
        }  # fmt: skip

    if len(groups) <= MAX_OUTCOME_GROUPS:
        statement = _results_update(many_keys=True)
        for outcome, keys in groups.items():
            for part in chunks(keys):
                session.execute(statement, {**values(outcome), "b_keys": part})
    else:
        rows = [{**values(o), "b_key": key} for o, keys in groups.items() for key in keys]
        session.execute(_results_update(many_keys=False), rows)
    session.expire_all()


def extend_lease(session: Session, claim: Claim) -> int:
    """The heartbeat: push the lease of every row `claim.owner` holds in `sending` to
    `claim.until`; returns how many rows it holds."""
    statement = (
        update(Delivery)
        .where(col(Delivery.status) == SENDING, col(Delivery.owner) == claim.owner)
        .values(lease_until=claim.until)
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]
