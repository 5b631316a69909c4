"""The storage interfaces: what services need from wherever versions and their audit live.

`VersionStore` (git in production, `versions.git_store`) keeps versions, aliases and evidence
under refs named as below; audit records name the refs they move the same way, whatever the
store. `AuditTrail` (SQL in production, `versions.audit.SqlAuditTrail`) keeps the hash-chained
records. A unit of work (`versions.unit_of_work`) holds one of each.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from sop_models.errors import StoreError, VersionNotFound
from sop_models.ids import id_problem
from versions.audit_verify import ChainRecord
from versions.numbering import Version

KNOWN_SHOWN = 20  # SOP ids an unknown-SOP message lists


def checked_id(
    value: str, what: str = "SOP id", *, error: type[StoreError] = VersionNotFound
) -> str:
    """`value` if it follows the id rule, else `error` (one line) before git sees it."""
    problem = id_problem(value, what)
    if problem is not None:
        raise error(problem)
    return value


def unknown_sop(sop_id: str, known: list[str]) -> VersionNotFound:
    """The error for a valid SOP id with no versions, listing the SOP ids that exist."""
    if not known:
        return VersionNotFound(
            f"no SOP {sop_id!r} in the store (the store is empty: save one with `sop save FILE`)"
        )
    shown = ", ".join(known[:KNOWN_SHOWN])
    more = f" and {len(known) - KNOWN_SHOWN} more" if len(known) > KNOWN_SHOWN else ""
    close = difflib.get_close_matches(sop_id, known, n=3, cutoff=0.6)
    hint = f"did you mean: {', '.join(close)}; " if close else ""
    return VersionNotFound(f"no SOP {sop_id!r} in the store ({hint}known: {shown}{more})")


Alias = Literal["production", "candidate"]
ALIASES: tuple[Alias, ...] = ("production", "candidate")

# Refs every store moves besides tags (`tag_ref`) and aliases (`alias_ref`).
BRANCH = "refs/heads/main"  # the newest content of every SOP; each save moves it
EVIDENCE_REF = "refs/notes/evidence"  # evidence attached to versions


@dataclass(frozen=True)
class VersionInfo:
    """One saved version of one SOP."""

    sop_id: str
    version: Version
    commit: str
    tag: str
    author: str
    at: datetime
    message: str

    def as_dict(self) -> dict[str, str]:
        """Plain JSON-ready form."""
        return {
            "sop": self.sop_id,
            "version": str(self.version),
            "commit": self.commit,
            "tag": self.tag,
            "author": self.author,
            "at": self.at.isoformat(),
            "message": self.message,
        }


class VersionStore(Protocol):
    """Where SOP versions, aliases and evidence live (git in production, a twin in tests)."""

    def lock(self) -> AbstractContextManager[None]:
        """Exclusive cross-process lock for a read-modify-write of the store."""
        ...

    def sop_ids(self) -> list[str]:
        """Every SOP with at least one saved version."""
        ...

    def versions(self, sop_id: str) -> list[VersionInfo]:
        """All versions of one SOP, oldest first."""
        ...

    def latest(self, sop_id: str) -> VersionInfo | None:
        """The highest-numbered version, or None."""
        ...

    def resolve(self, sop_id: str, ref: str) -> VersionInfo:
        """A version by number, alias or `latest`."""
        ...

    def content(self, info: VersionInfo) -> str:
        """The stored document text of a version."""
        ...

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
        """Record a new version (commit + tag). Caller holds the lock."""
        ...

    def retag(self, info: VersionInfo, *, message: str, author: str, at: datetime) -> VersionInfo:
        """Rewrite a version tag's message (same commit), e.g. to add the measured effect."""
        ...

    def aliases(self, sop_id: str) -> dict[str, Version]:
        """Current alias -> version for one SOP."""
        ...

    def set_alias(self, sop_id: str, alias: Alias, info: VersionInfo | None) -> None:
        """Point an alias at a version, or delete it (None). Caller holds the lock."""
        ...

    def add_evidence(self, info: VersionInfo, evidence_json: str) -> None:
        """Attach one evidence record (JSON) to a version after the fact."""
        ...

    def evidence(self, info: VersionInfo) -> list[str]:
        """Evidence records attached to a version, oldest first."""
        ...

    def refs(self) -> dict[str, str]:
        """Every managed ref (tags and aliases) -> the commit it points at."""
        ...

    def snapshot_refs(self, names: list[str]) -> Mapping[str, str | None]:
        """Current targets (raw object ids) of the given refs, for rolling back."""
        ...

    def raw_refs(self) -> dict[str, tuple[str, str]]:
        """Tags, aliases and the evidence notes ref -> (raw object id, object type): a tag's
        own object (tagger, message), not the commit it points at."""
        ...

    def audit_anchor(self) -> tuple[int, str] | None:
        """The audit chain head (seq, hash) last written into the store; None: never."""
        ...

    def set_audit_anchor(self, seq: int, hash_: str) -> None:
        """Record the audit chain head in the store, unless it already holds a later one."""
        ...

    def restore_refs(self, snapshot: Mapping[str, str | None]) -> None:
        """Put refs back where a snapshot found them (delete those that did not exist)."""
        ...

    def publish(self) -> None:
        """Make this unit of work's ref changes visible to every machine (a shared store pushes
        them, all or none; a local store has nothing to do). Caller holds the lock."""
        ...

    def tag_ref(self, sop_id: str, version: Version) -> str:
        """Full ref name of a version tag."""
        ...

    def alias_ref(self, sop_id: str, alias: str) -> str:
        """Full ref name of an alias."""
        ...

    def iter_history(self, sop_id: str) -> Iterator[VersionInfo]:
        """Versions newest first."""
        ...


def resolve_ref(
    store: VersionStore,
    sop_id: str,
    ref: str,
    find: Callable[[str, Version], VersionInfo | None],
) -> VersionInfo:
    """What every store's `resolve` does: a version by number (`2.0`, `v2.0`), alias
    (`production`, `candidate`) or `latest`; `find` looks a numbered version up.

    A bad SOP id or alias, or an unknown SOP (the message lists the known ones), is a
    one-line VersionNotFound.
    """
    checked_id(sop_id)
    numbered = Version.is_version(ref)
    if not numbered and ref not in ("latest", ""):
        checked_id(ref, "alias")
    if numbered:
        found = find(sop_id, Version.parse(ref))
        if found is not None:
            return found
    elif ref not in ("latest", ""):
        alias_version = store.aliases(sop_id).get(ref)
        if alias_version is not None:
            found = find(sop_id, alias_version)
            assert found is not None
            return found
    latest = store.latest(sop_id)
    if latest is None:
        raise unknown_sop(sop_id, store.sop_ids())
    if ref in ("latest", ""):
        return latest
    if numbered:
        raise VersionNotFound(
            f"{sop_id} has no version {Version.parse(ref)} (latest is {latest.version})"
        )
    raise VersionNotFound(f"{sop_id} has no {ref!r} alias set")


class AuditTrail(Protocol):
    """The hash-chained audit records, written inside the caller's unit of work."""

    def append(
        self,
        *,
        actor: str,
        action: str,
        sop_id: str,
        version: str | None,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
        note: str,
        now: datetime,
    ) -> ChainRecord:
        """Add the next record (seq, prev_hash, hash); it lands when the unit commits."""
        ...

    def rows(
        self, *, sop_id: str | None = None, action: str | None = None
    ) -> Sequence[ChainRecord]:
        """Records of one SOP and/or action in seq order, the open unit's own included."""
        ...

    def verify(
        self, *, git_refs: Mapping[str, str] | None = None, git: Any | None = None
    ) -> list[str]:
        """One line per problem in the chain and per tag or alias moved without a record;
        given `git` (versions.audit.GitFacts), per re-made tag, rewritten note, anchor."""
        ...
