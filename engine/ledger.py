"""The delivery ledger: one row per planned action key, so nothing is sent twice.

States (a key moves only along these arrows):

    (new) -> pending -> sending -> sent | failed | unknown | awaiting_confirmation
    failed  -> sending                         retry, while attempts < max_attempts
    sending | unknown | awaiting_confirmation -> sent | failed | pending   (reconciliation)
    sending -> unknown                         found by the next run (crash) or no result
    unknown | failed -> pending                an operator requeues after checking
    anything not sent or done -> done          an operator posted it by hand

`sending` is written and committed before a channel is called; a row still `sending` when a
later run starts was left by a crash, so that run marks it `unknown` instead of resending.
`attempts` counts the runs that handed the key to a channel. Rows hold ids, never
credentials or webhook URLs.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from sqlalchemy import Boolean, Update, bindparam, case, func, literal_column, or_, update
from sqlalchemy import insert as sa_insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel, col, select

from engine.actions import PlannedAction
from engine.groups import AwareDateTime
from sop_models.errors import SopflowError

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
UNKNOWN, AWAITING, DONE = "unknown", "awaiting_confirmation", "done"
NOT_SENT = "not_sent"  # only from reconciliation: the channel never let it out
RESULT_STATUSES = (SENT, FAILED, UNKNOWN, AWAITING)
SETTLED = (SENT, DONE, AWAITING)  # delivered, or handed to a person to confirm
RESOLVABLE = (SENDING, UNKNOWN, AWAITING)  # a channel result or reconciliation may settle these
MAX_ATTEMPTS = 3


class LedgerError(SopflowError):
    """The delivery ledger refused an operation."""


class UnknownDeliveryError(LedgerError):
    """Keys that are not in the ledger."""

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = list(keys)
        super().__init__(f"no delivery with key(s): {', '.join(self.keys)}")


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


def _chunks(keys: Sequence[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(keys), size):
        yield list(keys[start : start + size])


def get_deliveries(session: Session, keys: Sequence[str]) -> dict[str, Delivery]:
    """The ledger rows for these keys (missing keys are absent from the result)."""
    found: dict[str, Delivery] = {}
    for part in _chunks(list(dict.fromkeys(keys))):
        rows = session.exec(select(Delivery).where(col(Delivery.key).in_(part))).all()
        found.update((row.key, row) for row in rows)
    return found


class LedgerState(NamedTuple):
    """A key's status and how many runs handed it to a channel."""

    status: str
    attempts: int


def get_states(session: Session, keys: Sequence[str]) -> dict[str, LedgerState]:
    """Status and attempts per key, reading two columns instead of whole rows."""
    found: dict[str, LedgerState] = {}
    for part in _chunks(list(dict.fromkeys(keys))):
        query = select(Delivery.key, Delivery.status, Delivery.attempts).where(
            col(Delivery.key).in_(part)
        )
        found.update(
            (key, LedgerState(status, attempts)) for key, status, attempts in session.exec(query)
        )
    return found


def slot_key(action: PlannedAction) -> str:
    """The action's key without its version: `sop:version:group:slot:date[:member]` ->
    `sop:group:slot:date[:member]`. One group gets one post per slot key, whatever the version.
    """
    return action.key.replace(f"{action.sop_id}:{action.version}:", f"{action.sop_id}:", 1)


@dataclass
class LedgerView:
    """What the ledger holds for some actions, read in one query per 500 actions.

    `states`: status and attempts per action key in the ledger. `posted_elsewhere`: keys
    whose slot already went out (sent, done, awaiting) under another version's key: after a
    promotion or an experiment split in the middle of a day, re-planning that day gives new
    keys for slots that were already posted.
    """

    states: dict[str, LedgerState]
    posted_elsewhere: set[str]


def read_ledger(session: Session, actions: Sequence[PlannedAction]) -> LedgerView:
    """The ledger's view of `actions`, matched on their slot keys (indexed)."""
    ours: dict[str, list[str]] = {}  # slot key -> our keys (one, unless versions are mixed)
    for action in actions:
        ours.setdefault(slot_key(action), []).append(action.key)
    view = LedgerView({}, set())
    columns = (Delivery.key, Delivery.slot_key, Delivery.status, Delivery.attempts)
    for part in _chunks(list(ours)):
        query = select(*columns).where(col(Delivery.slot_key).in_(part))
        for key, slot, status, attempts in session.exec(query):
            if key in ours[slot]:
                view.states[key] = LedgerState(status, attempts)
            if status in SETTLED:
                view.posted_elsewhere.update(k for k in ours[slot] if k != key)
    return view


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
) -> list[str]:
    """Insert a row per action whose key is not in the ledger yet; returns the keys inserted.

    Rows start `pending`, or `sending` with one attempt counted for keys in `sending` (so a
    dispatch can claim and mark its first chunk in one statement). A key another run
    inserted first is left alone and not returned (ON CONFLICT DO NOTHING).
    """
    if not actions:
        return []
    marked = set(sending)
    rows = [_row_values(a, now, sending=a.key in marked) for a in actions]
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}.get(dialect)
    table = Delivery.__table__  # Core executemany: no per-row ORM bookkeeping
    if insert is None:  # no ON CONFLICT: a racing insert fails the transaction instead
        session.execute(sa_insert(table), rows)
        return [a.key for a in actions]
    stmt = insert(table).on_conflict_do_nothing().returning(table.c.key)
    inserted = {row[0] for row in session.execute(stmt, rows)}
    return [a.key for a in actions if a.key in inserted]


def _row_values(
    action: PlannedAction, now: datetime, *, sending: bool = False
) -> dict[str, object]:
    return {
        "key": action.key, "slot_key": slot_key(action), "sop_id": action.sop_id,
        "version": action.version, "group_id": action.group_id, "member_id": action.member_id,
        "kind": action.kind, "slot": action.slot, "channel": action.channel,
        "due_at": action.at, "status": SENDING if sending else PENDING,
        "attempts": 1 if sending else 0, "updated_at": now,
    }  # fmt: skip


def mark_sending(
    session: Session, keys: Sequence[str], now: datetime, *, max_attempts: int = MAX_ATTEMPTS
) -> list[str]:
    """Move sendable keys to `sending` and count the attempt; return the keys moved.

    The move is one conditional UPDATE, so of two runs racing for a key only one moves it.
    """
    moved: list[str] = []
    for part in _chunks(keys):
        stmt = (
            update(Delivery)
            .where(col(Delivery.key).in_(part))
            .where(
                (col(Delivery.status) == PENDING)
                | ((col(Delivery.status) == FAILED) & (col(Delivery.attempts) < max_attempts))
            )
            .values(status=SENDING, attempts=col(Delivery.attempts) + 1, updated_at=now)
            .returning(col(Delivery.key))
            .execution_options(synchronize_session=False)
        )
        moved += [row[0] for row in session.execute(stmt)]
    session.expire_all()
    wanted = set(moved)
    return [key for key in keys if key in wanted]


class _Current(NamedTuple):
    status: str
    response_id: str | None
    sent_at: datetime | None
    error: str | None


def _settled(
    current: _Current, status: str, now: datetime, outcome: DeliveryOutcome | None
) -> dict[str, object]:
    """The column values a row takes when settled with `status` (and `outcome`, if any)."""
    values: dict[str, object] = {
        "status": PENDING if status == NOT_SENT else status,
        "response_id": (outcome.response_id if outcome is not None else None)
        or current.response_id,
        "sent_at": current.sent_at,
        "updated_at": now,
    }
    if status == SENT:
        sent_at = outcome.sent_at if outcome is not None else None
        values["sent_at"], values["error"] = sent_at or current.sent_at or now, None
    elif status == NOT_SENT:
        values["error"] = None
    else:
        values["error"] = (outcome.error if outcome is not None else None) or current.error
    return values


def _settle(row: Delivery, status: str, now: datetime, outcome: DeliveryOutcome | None) -> None:
    current = _Current(row.status, row.response_id, row.sent_at, row.error)
    for name, value in _settled(current, status, now, outcome).items():
        setattr(row, name, value)


def record_results(
    session: Session, results: Iterable[DeliveryOutcome], now: datetime
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
    write_results(session, results, now)
    return [r.key for r in results if states[r.key].status in RESOLVABLE]


def _results_update(*, many_keys: bool) -> Update:
    """UPDATE rows with a channel outcome, only while they are sending/unknown/awaiting.

    One row per parameter set (`b_key`), or every key of the list `b_keys` with the same
    outcome. Old values are kept in SQL (COALESCE), so no read is needed first: response_id
    and error keep theirs when the outcome has none; a sent row gets the outcome's sent_at,
    else its own, else now, and loses its error.
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
        .where(or_(*(c.status == literal_column(f"'{status}'") for status in RESOLVABLE)))
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


def write_results(session: Session, results: Iterable[DeliveryOutcome], now: datetime) -> None:
    """Store channel outcomes without reading the rows first.

    Keys with the same outcome (a batch written to one file, posted by one robot, ...) are
    settled with one UPDATE per 500 keys; varied outcomes with one executemany UPDATE. Rows
    not sending, unknown or awaiting confirmation (and keys not in the ledger) are left as
    they are. For callers that just moved these keys to `sending` themselves.
    """
    groups: dict[_Outcome, list[str]] = {}
    for result in results:
        if result.status not in RESULT_STATUSES:
            raise LedgerError(f"{result.key}: channel status {result.status!r} is not known")
        sent = result.status == SENT
        outcome = (
            result.status, result.response_id, result.sent_at if sent else None,
            None if sent else result.error,
        )  # fmt: skip
        groups.setdefault(outcome, []).append(result.key)
    if not groups:
        return

    def values(outcome: _Outcome) -> dict[str, object]:
        status, response_id, sent_at, error = outcome
        sent = status == SENT
        return {
            "b_status": status, "b_response_id": response_id, "b_sent_at": sent_at,
            "b_sent_fallback": now if sent else None, "b_clear": sent, "b_error": error,
            "b_now": now,
        }  # fmt: skip

    if len(groups) <= MAX_OUTCOME_GROUPS:
        statement = _results_update(many_keys=True)
        for outcome, keys in groups.items():
            for part in _chunks(keys):
                session.execute(statement, {**values(outcome), "b_keys": part})
    else:
        rows = [{**values(o), "b_key": key} for o, keys in groups.items() for key in keys]
        session.execute(_results_update(many_keys=False), rows)
    session.expire_all()


def apply_reconciliation(
    session: Session, found: Mapping[str, str | DeliveryOutcome], now: datetime
) -> list[str]:
    """Settle sending/unknown/awaiting rows with what a channel found in its own records.

    Values are a status or a full outcome: sent, failed, unknown, awaiting_confirmation, or
    `not_sent` (the channel knows it never left: the row goes back to pending). A bare `sent`
    is stamped `now` as sent_at. Keys not in the ledger are ignored. Returns the keys changed.
    """
    rows = get_deliveries(session, list(found))
    changed: list[str] = []
    for key, value in found.items():
        outcome = None if isinstance(value, str) else value
        status = value if isinstance(value, str) else value.status
        if status not in (*RESULT_STATUSES, NOT_SENT):
            raise LedgerError(f"{key}: reconciled status {status!r} is not known")
        row = rows.get(key)
        if row is not None and row.status in RESOLVABLE and status != row.status:
            _settle(row, status, now, outcome)
            changed.append(key)
    session.flush()
    return changed


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
) -> list[str]:
    """Rows left `sending` (by a crashed run) become `unknown`; returns their keys.

    With `keys`, only those rows are looked at; `reason` goes into the row's error.
    """
    sending = select(Delivery).where(col(Delivery.status) == SENDING)
    if keys is None:
        rows = list(session.exec(sending).all())
    else:
        rows = [
            row
            for part in _chunks(list(dict.fromkeys(keys)))
            for row in session.exec(sending.where(col(Delivery.key).in_(part))).all()
        ]
    for row in rows:
        row.error = f"{reason} (sending since {row.updated_at.isoformat()})"
        row.status, row.updated_at = UNKNOWN, now
    session.flush()
    return [row.key for row in rows]


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
    """Delivery counts of one group over a period (pending includes rows being sent)."""

    group_id: str
    planned: int = 0
    sent: int = 0
    done: int = 0
    failed: int = 0
    unknown: int = 0
    awaiting: int = 0
    pending: int = 0
    on_time: int = 0
    late: int = 0


_FIELD_OF = {s: s for s in (SENT, DONE, FAILED, UNKNOWN, PENDING)} | {
    AWAITING: "awaiting",
    SENDING: "pending",
}


def group_summary(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    late_after: timedelta = timedelta(minutes=30),
) -> list[GroupSummary]:
    """Per group (sorted by id), counts of actions due in [since, until) by state.

    A sent action is late when sent_at > due_at + late_after, on time otherwise.
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
    sent_rows = select(Delivery.group_id, Delivery.due_at, Delivery.sent_at).where(
        *window, Delivery.status == SENT
    )
    for group_id, due_at, sent_at in session.exec(sent_rows).all():
        name = "late" if sent_at is not None and sent_at > due_at + late_after else "on_time"
        counts[group_id][name] = counts[group_id].get(name, 0) + 1
    return [GroupSummary(group_id=gid, **counts[gid]) for gid in sorted(counts)]
