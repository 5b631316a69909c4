"""The tamper-evident audit trail: one hash-chained row per change to an SOP's versions.

Table `audit_log` (model `AuditRecord`) holds the records; table `audit_head` holds one row
with the seq and hash of the newest record. Writers lock that row before appending, so two
processes never take the same seq, and `verify` compares it with the table's last record so
deleting records at the end shows too. Hashing and checking: `versions.audit_verify`.

Actions (free text, these are the ones sopflow writes): save, candidate, promote, reject,
rollback, approval, decline, evidence, delivery_done, delivery_settle.

Ref convention: every record that changes a git ref under refs/tags/ or refs/aliases/ carries
`{"refs": {"<ref name>": "<target commit sha or null>"}}` in its `after` JSON (null = the ref
was deleted). The expected state of each ref is the value in the latest record that mentions
it; `verify(..., git_refs=...)` reports every tag or alias that moved, appeared or vanished
without such a record.

Transactions: `append` never commits. The caller owns the session's transaction and commits
the audit row together with the change it records (or rolls both back). `SqlAuditTrail` is
the `versions.store.AuditTrail` a unit of work hands to the services; `new_record` and
`findings` are the chain rules without a session, which the in-memory twin shares.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Integer, String, Text, TypeDecorator, exc, func, select, update
from sqlalchemy.engine import Dialect
from sqlmodel import Field, Session, SQLModel, col, or_

from sop_models.errors import AuditError
from versions.audit_anchor import ANCHOR_WRITER as ANCHOR_WRITER
from versions.audit_anchor import note_written
from versions.audit_verify import (
    GENESIS,
    ChainRecord,
    GitFacts,
    anchor_findings,
    canonical_json,
    chain_findings,
    expected_refs,
    format_at,
    object_findings,
    parse_at,
    record_hash,
    ref_findings,
)

HEAD_ID = 1
MAX_FINDINGS = 50


class UtcText(TypeDecorator[datetime]):
    """Aware datetimes stored as fixed-width UTC text: identical on SQLite and PostgreSQL,
    sortable as text, and exactly the text that is hashed."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        return None if value is None else format_at(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> datetime | None:
        return None if value is None else parse_at(value)


class AuditRecord(SQLModel, table=True):
    """One change to an SOP's versions: who, what, when, and the hash linking it to the last."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(sa_column=Column(Integer, nullable=False, unique=True))
    at: datetime = Field(sa_column=Column(UtcText(), nullable=False, index=True))
    actor: str
    action: str
    sop_id: str = Field(index=True)
    version: str | None = None
    before: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    after: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    note: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (`before`/`after` parsed, `at` as ISO-8601 UTC)."""
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "sop_id": self.sop_id,
            "version": self.version,
            "before": _load(self.before),
            "after": _load(self.after),
            "note": self.note,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


class AuditHead(SQLModel, table=True):
    """The single chain-head row: seq and hash of the newest audit record (0/GENESIS if none)."""

    __tablename__ = "audit_head"

    id: int = Field(default=HEAD_ID, primary_key=True)
    seq: int
    hash: str = Field(max_length=64)


_HEAD = AuditHead.__table__  # type: ignore[attr-defined]


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _dump(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else canonical_json(dict(value))


def _aware(value: datetime) -> datetime:
    """The time exactly as it will read back from the database (refuses naive times)."""
    return parse_at(format_at(value))


def _check_text(**values: str | None) -> None:
    for name, value in values.items():
        if value is None:
            continue
        if "\x00" in value:
            raise AuditError(f"audit record {name} contains a NUL character: {value!r}")
        if name in {"actor", "action", "sop_id"} and not value.strip():
            raise AuditError(f"audit record {name} must not be empty")


def _head(session: Session, *, for_write: bool) -> tuple[int, str] | None:
    """Read the chain head under the chain lock (waits for a concurrent writer to finish).

    PostgreSQL: `SELECT ... FOR UPDATE` on the head row, held until the caller's transaction
    ends, so the records read afterwards match the head. SQLite (engines from
    `services.db.make_engine` begin with BEGIN IMMEDIATE): a transaction is one snapshot, and
    a writer first makes a no-op write, which takes SQLite's single writer lock (honouring
    busy_timeout) before the head is read.
    """
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite and for_write:
        session.exec(update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(seq=_HEAD.c.seq))
    stmt = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == HEAD_ID)
    if not sqlite:
        stmt = stmt.with_for_update()
    row = session.exec(stmt).one_or_none()  # type: ignore[call-overload]
    return None if row is None else (int(row.seq), str(row.hash))


def new_record(
    head: tuple[int, str],
    *,
    actor: str,
    action: str,
    sop_id: str,
    version: str | None,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    note: str,
    now: datetime,
) -> AuditRecord:
    """The record that follows chain head `head` (seq, hash), hashed; stored nowhere yet.

    `before`/`after` are JSON objects (kept as canonical JSON text); `now` must be aware.
    """
    _check_text(actor=actor, action=action, sop_id=sop_id, version=version, note=note)
    head_seq, head_hash = head
    record = AuditRecord(
        seq=head_seq + 1,
        at=_aware(now),
        actor=actor,
        action=action,
        sop_id=sop_id,
        version=version,
        before=_dump(before),
        after=_dump(after),
        note=note,
        prev_hash=head_hash,
        hash="",
    )
    record.hash = record_hash(record)
    return record


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    sop_id: str,
    version: str | None,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    note: str,
    now: datetime,
) -> AuditRecord:
    """Add the next record to the chain in the caller's transaction; does NOT commit.

    `before`/`after` are JSON objects (stored as canonical JSON text); `now` must be aware.
    Concurrent writers queue on the chain head's lock until the caller commits or rolls back.
    """
    head = _head(session, for_write=True)
    if head is None:
        raise AuditError("audit chain head row is missing: migrate the database or restore it")
    record = new_record(
        head,
        actor=actor,
        action=action,
        sop_id=sop_id,
        version=version,
        before=before,
        after=after,
        note=note,
        now=now,
    )
    session.add(record)
    session.exec(
        update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(seq=record.seq, hash=record.hash)
    )
    note_written(session, record.seq, record.hash)  # anchored in git after the commit
    try:
        session.flush()
    except exc.IntegrityError as err:
        raise AuditError(
            f"audit record seq {record.seq} already exists: the chain head is out of step with"
            " audit_log (run `sop audit verify`)"
        ) from err
    return record


def _filtered(
    stmt: Any,
    *,
    sop_id: str | None,
    actor: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Any:
    for column, value in ((AuditRecord.sop_id, sop_id), (AuditRecord.action, action)):
        if value is not None:
            stmt = stmt.where(column == value)
    if actor is not None:  # the typed name, also as the CLI signs it: `李经理 (os:alice)`
        signed = col(AuditRecord.actor).startswith(f"{actor} (os:", autoescape=True)
        stmt = stmt.where(or_(AuditRecord.actor == actor, signed))
    if since is not None:
        stmt = stmt.where(AuditRecord.at >= _aware(since))  # type: ignore[operator]
    if until is not None:
        stmt = stmt.where(AuditRecord.at < _aware(until))  # type: ignore[operator]
    return stmt


def query(
    session: Session,
    *,
    sop_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> list[AuditRecord]:
    """Records matching every given filter, in seq order; `since <= at < until`, first `limit`."""
    where = {"sop_id": sop_id, "actor": actor, "action": action, "since": since, "until": until}
    stmt = _filtered(select(AuditRecord), **where)
    stmt = stmt.order_by(AuditRecord.seq)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.exec(stmt).scalars())


def newest(
    session: Session,
    *,
    limit: int,
    sop_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[AuditRecord], int]:
    """The newest `limit` records matching every filter (newest first), and how many match."""
    where = {"sop_id": sop_id, "actor": actor, "action": action, "since": since, "until": until}
    stmt = _filtered(select(AuditRecord), **where).order_by(col(AuditRecord.seq).desc())
    rows = list(session.exec(stmt.limit(limit)).scalars())  # type: ignore[call-overload]
    total = session.exec(_filtered(select(func.count(col(AuditRecord.id))), **where)).scalar_one()
    return rows, int(total)


def findings(
    records: Sequence[ChainRecord],
    head: tuple[int, str] | None,
    *,
    git_refs: Mapping[str, str] | None = None,
    git: GitFacts | None = None,
) -> list[str]:
    """One line per problem in records given in seq order, against the chain head (seq, hash)
    and, given actual git refs, per unrecorded ref move; given `git`, per re-made tag,
    lightweight tag, rewritten note and head anchor out of step; at most MAX_FINDINGS."""
    found = chain_findings(records, head)
    if git_refs is not None:
        found.extend(ref_findings(records, git_refs))
    if git is not None:
        found.extend(object_findings(records, git.raw_refs))
        found.extend(anchor_findings(head, git.anchor))
    if len(found) > MAX_FINDINGS:
        hidden = len(found) - MAX_FINDINGS
        found = [*found[:MAX_FINDINGS], f"... and {hidden} more audit findings"]
    return found


def verify(
    session: Session,
    *,
    git_refs: Mapping[str, str] | None = None,
    git: GitFacts | None = None,
) -> list[str]:
    """One line per problem in the chain (and, given actual git refs, per unrecorded ref move).

    `git_refs` maps ref names to the commit they resolve to (tags peeled); only refs under
    refs/tags/ and refs/aliases/ are compared. An empty list means the trail is intact.
    Holds the chain lock on PostgreSQL until the caller's transaction ends; does not commit.
    """
    head = _head(session, for_write=False)  # first: appends wait until we have read
    return findings(query(session), head, git_refs=git_refs, git=git)


class SqlAuditTrail:
    """The `AuditTrail` in a database session; the session's owner commits or rolls back."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def append(self, **fields: Any) -> AuditRecord:
        """Add the next record in the session's transaction (keywords as `append`)."""
        return append(self.session, **fields)

    def rows(self, *, sop_id: str | None = None, action: str | None = None) -> list[AuditRecord]:
        """Records of one SOP and/or action, in seq order (this transaction's included)."""
        return query(self.session, sop_id=sop_id, action=action)

    def verify(
        self, *, git_refs: Mapping[str, str] | None = None, git: GitFacts | None = None
    ) -> list[str]:
        """Problems in the chain and unrecorded ref moves (see `verify`)."""
        return verify(self.session, git_refs=git_refs, git=git)

    def head(self) -> tuple[int, str] | None:
        """The chain head (seq, hash) as this transaction sees it."""
        return _head(self.session, for_write=False)


__all__ = [
    "GENESIS",
    "AuditHead",
    "AuditRecord",
    "SqlAuditTrail",
    "append",
    "expected_refs",
    "findings",
    "new_record",
    "query",
    "verify",
]
