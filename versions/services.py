"""Version services: save, resolve, candidate, rollback, evidence and verify; and, from
`versions.approvals` (re-exported here), the four-eyes rule, promotion and the decisions on
a check (approve-and-promote, decline, reject).

Each is a short function over a unit of work (`versions.unit_of_work.AbstractUnitOfWork`:
the git store and the SQL audit trail, or their in-memory twins in tests), taking plain
keyword values (and `now`); each user action is one unit: its ref changes and its audit
records happen together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sop_models import dump_document, parse_document
from sop_models.errors import AliasError, NothingToSave
from sop_models.evidence import Evidence
from versions.approvals import (
    CHECK_ACTOR,
    ApprovalPolicy,
    alias_versions,
    approve_and_promote,
    attach,
    check_four_eyes,
    decline,
    move_alias,
    promote,
    reject,
    required,
    same_person,
    stored_name,
)
from versions.audit_verify import GitFacts
from versions.numbering import Version, next_version
from versions.store import BRANCH, EVIDENCE_REF, AuditTrail, VersionInfo, VersionStore
from versions.unit_of_work import AbstractUnitOfWork


def save_version(
    uow: AbstractUnitOfWork,
    *,
    text: str,
    source: str,
    author: str,
    message: str,
    major: bool,
    now: datetime,
) -> VersionInfo:
    """Validate and save a document as the next version; refuse invalid or unchanged ones.

    The text is stored exactly as written (comments, key order, the author's own words such as
    工作日 or 周三), so `sop show` gives it back byte for byte; the typed document is derived
    from it whenever it is read. "Unchanged" means the same document once parsed.
    """
    author = required(stored_name(author), "--author")
    message = required(message, "-m/--message")
    doc = parse_document(text, source)
    canonical = dump_document(doc)
    with uow:
        store = uow.store
        latest = store.latest(doc.id)
        if latest and _canonical(store.content(latest), latest.tag) == canonical:
            raise NothingToSave(
                f"{source}: unchanged since {doc.id} {latest.version.label}; nothing saved"
            )
        version = next_version(latest.version if latest else None, major=major)
        tag_ref = store.tag_ref(doc.id, version)
        uow.track(BRANCH, tag_ref)
        info = store.write_version(
            sop_id=doc.id,
            version=version,
            content=text,
            author=author,
            message=f"{version.label}: {message}",
            at=now,
        )
        uow.audit.append(
            actor=author,
            action="save",
            sop_id=doc.id,
            version=str(version),
            before={"latest": str(latest.version)} if latest else None,
            after={
                "commit": info.commit,
                "refs": {tag_ref: info.commit},
                "objects": dict(store.snapshot_refs([tag_ref])),  # the tag object itself
            },
            note=info.message,
            now=now,
        )
        uow.commit()
    return info


def _canonical(text: str, source: str) -> str:
    """A stored text in canonical form, for comparing documents rather than their spelling."""
    return dump_document(parse_document(text, source))


def resolve(store: VersionStore, sop_id: str, ref: str) -> VersionInfo:
    """A version by number, alias or `latest`."""
    return store.resolve(sop_id, ref)


def set_candidate(
    uow: AbstractUnitOfWork,
    *,
    sop_id: str,
    version: str,
    actor: str,
    now: datetime,
    reason: str = "",
) -> VersionInfo:
    """Mark a version as the candidate under test (`reason`, when given, is the audit note)."""
    actor = required(actor, "--author")
    with uow:
        info = resolve(uow.store, sop_id, version)
        before = alias_versions(uow.store, sop_id)
        if before.get("production") == str(info.version):
            raise AliasError(f"{sop_id} {info.version.label} is already production")
        refs = move_alias(uow, sop_id=sop_id, alias="candidate", target=info)
        uow.audit.append(
            actor=actor,
            action="candidate",
            sop_id=sop_id,
            version=str(info.version),
            before=before,
            after={"refs": refs},
            note=reason.strip() or f"candidate -> {info.version.label}",
            now=now,
        )
        uow.commit()
    return info


def production_history(trail: AuditTrail, sop_id: str) -> list[str]:
    """Production versions as a stack, replayed from promote/rollback audit records."""
    stack: list[str] = []
    for record in trail.rows(sop_id=sop_id):
        if record.action == "promote" and record.version:
            stack.append(record.version)
        elif record.action == "rollback" and stack:
            stack.pop()
    return stack


def rollback(
    uow: AbstractUnitOfWork, *, sop_id: str, author: str, reason: str, now: datetime
) -> VersionInfo:
    """Make the previous production version current again; history is not rewritten."""
    author, reason = required(author, "--author"), required(reason, "-m/--message")
    with uow:
        stack = production_history(uow.audit, sop_id)
        if len(stack) < 2:
            raise AliasError(f"{sop_id} has no earlier production version to roll back to")
        target = resolve(uow.store, sop_id, stack[-2])
        before = alias_versions(uow.store, sop_id)
        refs = move_alias(uow, sop_id=sop_id, alias="production", target=target)
        uow.audit.append(
            actor=author,
            action="rollback",
            sop_id=sop_id,
            version=str(target.version),
            before=before,
            after={"refs": refs, "from": stack[-1]},
            note=reason,
            now=now,
        )
        uow.commit()
    return target


def attach_evidence(
    uow: AbstractUnitOfWork,
    *,
    sop_id: str,
    version: str,
    actor: str,
    evidence: Evidence | Mapping[str, Any],
    now: datetime,
) -> VersionInfo:
    """Attach evidence to a version after the fact (git note + audit record).

    A check's `Evidence`, or any JSON object someone attaches by hand.
    """
    actor = required(actor, "--author")
    with uow:
        info = resolve(uow.store, sop_id, version)
        attach(uow, info, actor=actor, evidence=evidence, now=now)
        uow.commit()
    return info


def verify(uow: AbstractUnitOfWork) -> list[str]:
    """Audit chain findings, git refs that moved without an audit record, tag objects and
    evidence notes other than recorded, lightweight tags, the head anchor out of step."""
    with uow:
        store = uow.store
        facts = GitFacts(store.raw_refs(), store.audit_anchor())
        return uow.audit.verify(git_refs=store.refs(), git=facts)


__all__ = [
    "CHECK_ACTOR",
    "EVIDENCE_REF",
    "ApprovalPolicy",
    "Version",
    "approve_and_promote",
    "attach_evidence",
    "check_four_eyes",
    "decline",
    "production_history",
    "promote",
    "reject",
    "resolve",
    "rollback",
    "same_person",
    "save_version",
    "set_candidate",
    "stored_name",
    "verify",
]
