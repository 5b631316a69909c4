"""In-memory twins of the version store, the audit trail and their unit of work.

`InMemoryVersionStore` follows `versions.store.VersionStore` the way the git store does:
immutable objects (commits, annotated tags, evidence notes) under content ids, and refs
(the branch, tags, aliases, the notes ref) pointing at them. So snapshot/restore of refs
undoes a save, a retag or a note exactly as in git, and nothing else is needed to roll back.
`InMemoryAuditTrail` chains records with the real rules (`versions.audit.new_record`,
`versions.audit.findings`); `InMemoryUnitOfWork` commits both or rolls both back.

Ids are checked as the git store checks them (`versions.store.checked_id`, same messages):
a bad SOP id or alias is refused before any ref name is built from it, and an unknown SOP's
error lists the known ones.

tests/integration/test_version_store_contract.py runs one scenario against these and the
real parts, so the twins cannot drift from them.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sop_models.errors import StoreError
from versions import audit
from versions.audit import AuditRecord
from versions.audit_verify import GENESIS, MANAGED_REF_PREFIXES
from versions.numbering import Version
from versions.store import (
    BRANCH,
    EVIDENCE_REF,
    Alias,
    VersionInfo,
    checked_id,
    resolve_ref,
)
from versions.unit_of_work import AbstractUnitOfWork


@dataclass(frozen=True)
class _Commit:
    files: tuple[tuple[str, str], ...]  # (sop id, document text), sorted
    parent: str | None
    author: str
    at: datetime
    message: str


@dataclass(frozen=True)
class _Tag:
    name: str
    commit: str
    tagger: str
    at: datetime  # whole seconds, as git keeps a tagger date
    message: str


@dataclass(frozen=True)
class _Notes:
    lines: tuple[tuple[str, tuple[str, ...]], ...]  # (commit, evidence lines), sorted


class InMemoryVersionStore:
    """A `VersionStore` in a dict of refs over a dict of immutable objects."""

    def __init__(self) -> None:
        self._commits: dict[str, _Commit] = {}
        self._tags: dict[str, _Tag] = {}
        self._notes: dict[str, _Notes] = {}
        self._refs: dict[str, str] = {}  # ref name -> object id
        self._anchor: tuple[int, str] | None = None
        self._lock = threading.Lock()  # not reentrant, like the git store's flock

    @staticmethod
    def _put(obj: Any, into: dict[str, Any]) -> str:
        oid = hashlib.sha1(repr(obj).encode("utf-8")).hexdigest()
        into[oid] = obj
        return oid

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive lock for a read-modify-write (threads stand in for processes)."""
        with self._lock:
            yield

    def tag_ref(self, sop_id: str, version: Version) -> str:
        """Full ref name of a version tag."""
        return f"refs/tags/{checked_id(sop_id)}/{version.label}"

    def alias_ref(self, sop_id: str, alias: str) -> str:
        """Full ref name of an alias."""
        return f"refs/aliases/{checked_id(sop_id)}/{checked_id(alias, 'alias')}"

    # -- reading -----------------------------------------------------------------------
    def sop_ids(self) -> list[str]:
        """Every SOP with at least one saved version."""
        return sorted({ref.split("/")[2] for ref in self._refs if ref.startswith("refs/tags/")})

    def _info(self, ref: str) -> VersionInfo:
        tag = self._tags[self._refs[ref]]
        name = ref.removeprefix("refs/tags/")
        sop_id, label = name.split("/", 1)
        version = Version.parse(label)
        return VersionInfo(sop_id, version, tag.commit, name, tag.tagger, tag.at, tag.message)

    def versions(self, sop_id: str) -> list[VersionInfo]:
        """All versions of one SOP, oldest first."""
        prefix = f"refs/tags/{checked_id(sop_id)}/"
        infos = [self._info(ref) for ref in self._refs if ref.startswith(prefix)]
        return sorted(infos, key=lambda info: info.version)

    def latest(self, sop_id: str) -> VersionInfo | None:
        """The highest-numbered version, or None."""
        found = self.versions(sop_id)
        return found[-1] if found else None

    def iter_history(self, sop_id: str) -> Iterator[VersionInfo]:
        """Versions newest first."""
        yield from reversed(self.versions(sop_id))

    def _version(self, sop_id: str, version: Version) -> VersionInfo | None:
        ref = self.tag_ref(sop_id, version)
        return self._info(ref) if ref in self._refs else None

    def resolve(self, sop_id: str, ref: str) -> VersionInfo:
        """A version by number, alias or `latest` (the git store's rule and messages)."""
        return resolve_ref(self, sop_id, ref, self._version)

    def content(self, info: VersionInfo) -> str:
        """The stored document text of a version."""
        return dict(self._commits[info.commit].files)[info.sop_id]

    def aliases(self, sop_id: str) -> dict[str, Version]:
        """Current alias -> version for one SOP (the highest tag on the alias's commit)."""
        prefix = f"refs/aliases/{checked_id(sop_id)}/"
        result: dict[str, Version] = {}
        for ref, commit in sorted(self._refs.items()):
            if not ref.startswith(prefix):
                continue
            labels = [info.version for info in self.versions(sop_id) if info.commit == commit]
            if labels:
                result[ref.removeprefix(prefix)] = max(labels)
        return result

    def evidence(self, info: VersionInfo) -> list[str]:
        """Evidence records attached to a version, oldest first."""
        return list(self._evidence().get(info.commit, ()))

    def _evidence(self) -> dict[str, tuple[str, ...]]:
        oid = self._refs.get(EVIDENCE_REF)
        return dict(self._notes[oid].lines) if oid else {}

    def refs(self) -> dict[str, str]:
        """Every managed ref (tags and aliases) -> the commit it points at (tags peeled)."""
        return {
            ref: self._tags[oid].commit if oid in self._tags else oid
            for ref, oid in self._refs.items()
            if ref.startswith(MANAGED_REF_PREFIXES)
        }

    def raw_refs(self) -> dict[str, tuple[str, str]]:
        """Tags, aliases and the evidence notes ref -> (raw object id, object type)."""
        kinds = {**dict.fromkeys(self._tags, "tag"), **dict.fromkeys(self._commits, "commit")}
        return {
            ref: (oid, kinds.get(oid, "commit"))
            for ref, oid in self._refs.items()
            if ref.startswith(MANAGED_REF_PREFIXES) or ref == EVIDENCE_REF
        }

    def audit_anchor(self) -> tuple[int, str] | None:
        """The audit head last anchored; None if never."""
        return self._anchor

    def set_audit_anchor(self, seq: int, hash_: str) -> None:
        """Move the anchor forward (a later one is kept)."""
        if self._anchor is None or self._anchor[0] < seq:
            self._anchor = (seq, hash_)

    # -- writing (caller holds the lock) -------------------------------------------------
    def write_version(
        self,
        *,
        sop_id: str,
        version: Version,
        content: str,
        author: str,
        message: str,
        at: datetime,
    ) -> VersionInfo:
        """Record a new version: one commit on the branch plus a tag."""
        checked_id(sop_id, error=StoreError)
        tag_ref = self.tag_ref(sop_id, version)
        if tag_ref in self._refs:
            raise StoreError(f"tag {sop_id}/{version.label} already exists")
        parent = self._refs.get(BRANCH)
        files = dict(self._commits[parent].files) if parent else {}
        files[sop_id] = content
        new = _Commit(tuple(sorted(files.items())), parent, author, at, message)
        commit = self._refs[BRANCH] = self._put(new, self._commits)
        tag = f"{sop_id}/{version.label}"
        self._refs[tag_ref] = self._put(
            _Tag(tag, commit, author, _seconds(at), message.strip()), self._tags
        )
        return VersionInfo(sop_id, version, commit, tag, author, at.astimezone(UTC), message)

    def retag(self, info: VersionInfo, *, message: str, author: str, at: datetime) -> VersionInfo:
        """Rewrite a version tag's message; it keeps pointing at the same commit."""
        tag = _Tag(info.tag, info.commit, author, _seconds(at), message.strip())
        self._refs[self.tag_ref(info.sop_id, info.version)] = self._put(tag, self._tags)
        return VersionInfo(
            info.sop_id, info.version, info.commit, info.tag, info.author, info.at, message
        )

    def set_alias(self, sop_id: str, alias: Alias, info: VersionInfo | None) -> None:
        """Point an alias at a version's commit, or delete it."""
        checked_id(sop_id, error=StoreError)
        checked_id(alias, "alias", error=StoreError)
        ref = self.alias_ref(sop_id, alias)
        if info is None:
            self._refs.pop(ref, None)
        else:
            self._refs[ref] = info.commit

    def add_evidence(self, info: VersionInfo, evidence_json: str) -> None:
        """Append one evidence line to the version's note."""
        notes = self._evidence()
        notes[info.commit] = (*notes.get(info.commit, ()), evidence_json)
        self._refs[EVIDENCE_REF] = self._put(_Notes(tuple(sorted(notes.items()))), self._notes)

    def snapshot_refs(self, names: list[str]) -> Mapping[str, str | None]:
        """Current object ids of the given refs (None where a ref does not exist)."""
        return {name: self._refs.get(name) for name in names}

    def restore_refs(self, snapshot: Mapping[str, str | None]) -> None:
        """Put refs back where a snapshot found them."""
        for ref, target in snapshot.items():
            if target is None:
                self._refs.pop(ref, None)
            else:
                self._refs[ref] = target

    def publish(self) -> None:
        """Nothing to publish: like the local git store, this is the only copy."""


def _seconds(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(microsecond=0)


class InMemoryAuditTrail:
    """An `AuditTrail` in a list: appended records are pending until `commit()`."""

    def __init__(self) -> None:
        self._committed: list[AuditRecord] = []
        self._pending: list[AuditRecord] = []

    def _records(self) -> list[AuditRecord]:
        return [*self._committed, *self._pending]

    def _head(self) -> tuple[int, str]:
        records = self._records()
        return (records[-1].seq, records[-1].hash) if records else (0, GENESIS)

    def append(self, **fields: Any) -> AuditRecord:
        """Add the next record to the chain (keywords as `versions.audit.append`)."""
        record = audit.new_record(self._head(), **fields)
        self._pending.append(record)
        return record

    def rows(
        self, *, sop_id: str | None = None, action: str | None = None
    ) -> Sequence[AuditRecord]:
        """Records of one SOP and/or action in seq order, pending ones included."""
        return [
            record
            for record in self._records()
            if sop_id in (None, record.sop_id) and action in (None, record.action)
        ]

    def verify(
        self, *, git_refs: Mapping[str, str] | None = None, git: Any | None = None
    ) -> list[str]:
        """Problems in the chain and unrecorded ref moves."""
        return audit.findings(self._records(), self._head(), git_refs=git_refs, git=git)

    def commit(self) -> None:
        """Keep the pending records."""
        self._committed.extend(self._pending)
        self._pending.clear()

    def rollback(self) -> None:
        """Drop the pending records."""
        self._pending.clear()


class InMemoryUnitOfWork(AbstractUnitOfWork):
    """Store lock + in-memory audit trail, committed together or rolled back together."""

    def __init__(
        self, store: InMemoryVersionStore | None = None, trail: InMemoryAuditTrail | None = None
    ) -> None:
        super().__init__(store or InMemoryVersionStore())
        self.audit = trail or InMemoryAuditTrail()

    def _begin(self, stack: ExitStack) -> None:
        """The in-memory trail needs no transaction to open."""

    def _commit(self) -> None:
        self.audit.commit()
        self.store.set_audit_anchor(*self.audit._head())  # as the workspace's sessions do

    def _rollback(self) -> None:
        self.audit.rollback()
