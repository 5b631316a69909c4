"""Incremental `audit verify`: check only the records added since the last clean check.

Table `audit_checkpoint` holds one row: the seq and hash of the last record a check found
clean, a SHA-256 over the stored text of every record up to it (`digest`), and what those
records say refs, raw objects and audited files should be (`state`). A later check reads the
stored rows once; when the rows up to the checkpoint still hash to `digest` (any edit,
deletion, insertion or reordering there changes it), only the records after it are hashed and
chained on from the checkpoint, and git refs and files are compared against `state` updated
by those records. Otherwise, or with `full=True`, the whole chain is checked as
`versions.audit.verify` does. Only a check without chain findings moves the checkpoint.

What this trusts: someone able to write the database could edit an old record AND recompute
the checkpoint's digest; the full check (`sop audit verify`, the console's full-check link)
still finds that, as it finds every other edit.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Text, text
from sqlmodel import Field, Session, SQLModel

from versions.audit import MAX_FINDINGS, UtcText, _head
from versions.audit_files import audited_hashes, file_findings
from versions.audit_verify import (
    GitFacts,
    anchor_findings,
    chain_findings,
    histories,
    object_findings,
    parse_at,
    ref_findings,
)

CHECKPOINT_ID = 1
_COLUMNS = "seq, at, actor, action, sop_id, version, before, after, note, prev_hash, hash"


class AuditCheckpoint(SQLModel, table=True):
    """The last audit record a check found clean, and what the records up to it said."""

    __tablename__ = "audit_checkpoint"

    id: int = Field(default=CHECKPOINT_ID, primary_key=True)
    seq: int
    hash: str = Field(max_length=64)
    digest: str = Field(max_length=64)
    state: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime = Field(sa_column=Column(UtcText(), nullable=False))


@dataclass(frozen=True)
class _Row:
    """One stored record as the chain check reads it."""

    seq: int
    at: datetime
    actor: str
    action: str
    sop_id: str
    version: str | None
    before: str | None
    after: str | None
    note: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Checked:
    """A check's findings; `since` is the checkpoint it started from (None: every record was
    hashed now), `last` the newest record's seq."""

    findings: list[str]
    since: AuditCheckpoint | None
    last: int


def _digest(rows: Sequence[Sequence[Any]]) -> str:
    """SHA-256 over the stored text of rows (as read, before any parsing)."""
    body = "\x1e".join("\x1f".join("\x00" if v is None else str(v) for v in r) for r in rows)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _records(rows: Sequence[Sequence[Any]]) -> list[_Row]:
    return [_Row(int(r[0]), parse_at(r[1]), *r[2:]) for r in rows]


def verify(
    session: Session,
    *,
    git_refs: Mapping[str, str],
    git: GitFacts,
    files: Mapping[str, str | None],
    now: datetime,
    full: bool = False,
) -> tuple[Checked, AuditCheckpoint | None]:
    """Findings as `versions.audit.verify` plus the audited files' (`files`: name -> actual
    hash), hashing only records after a still-matching checkpoint unless `full`; and the
    checkpoint (checked at `now`) to store when the chain is clean and grew. Does not write."""
    head = _head(session, for_write=False)  # first: appends wait until we have read
    rows = session.execute(text(f"SELECT {_COLUMNS} FROM audit_log ORDER BY seq")).all()
    stored = None if full else session.get(AuditCheckpoint, CHECKPOINT_ID)
    since, done = None, 0
    if stored is not None:
        done = bisect_right([int(r[0]) for r in rows], stored.seq)
        last_hash = rows[done - 1][-1] if done else None
        if last_hash == stored.hash and _digest(rows[:done]) == stored.digest:
            since = stored
    start = None if since is None else (since.seq, since.hash)
    base: dict[str, Any] = json.loads(since.state) if since else {}
    base = {k: {n: tuple(v) for n, v in hist.items()} for k, hist in base.items()}
    new = _records(rows[done:] if since else rows)
    chain = chain_findings(new, head, start=start)
    found = [
        *chain,
        *ref_findings(new, git_refs, base=base.get("refs")),
        *object_findings(new, git.raw_refs, base=base.get("objects")),
        *anchor_findings(head, git.anchor),
        *file_findings(new, files, base=base.get("files")),
    ]
    if len(found) > MAX_FINDINGS:
        found = [*found[:MAX_FINDINGS], f"... and {len(found) - MAX_FINDINGS} more audit findings"]
    last = int(rows[-1][0]) if rows else 0
    checked = Checked(found, since, last)
    if chain or not rows or (since is not None and since.seq == last):
        return checked, None
    state = {**histories(new, base), "files": audited_hashes(new, base.get("files"))}
    digest, memo = _digest(rows), json.dumps(state, ensure_ascii=False)
    return checked, AuditCheckpoint(seq=last, hash=rows[-1][-1], digest=digest, state=memo, at=now)


def remember(session: Session, point: AuditCheckpoint) -> None:
    """Store `point` as the checkpoint; the caller commits."""
    stored = session.get(AuditCheckpoint, CHECKPOINT_ID)
    if stored is None:
        session.add(point)
        return
    for name in ("seq", "hash", "digest", "state", "at"):
        setattr(stored, name, getattr(point, name))
    session.add(stored)
