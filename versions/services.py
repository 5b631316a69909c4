"""Version services: save, candidate, promote, reject, rollback, evidence, verify, and the
ops lead's decision on a check (approve-and-promote, decline).

Each is a short function over a `UnitOfWork`, taking plain keyword values (and `now`); each
user action is one unit: its git changes and its audit records happen together or not at all
(approve-and-promote writes the approval, the evidence and the promotion in one unit).
Private `_steps` do the work inside a unit their caller holds open.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sop_models import dump_document, parse_document
from sop_models.errors import AliasError, ApprovalError, NothingToSave, StoreError
from sop_models.evidence import Evidence
from versions import audit
from versions.git_store import BRANCH
from versions.numbering import Version, next_version
from versions.store import VersionInfo, VersionStore
from versions.unit_of_work import UnitOfWork

EVIDENCE_REF = "refs/notes/evidence"
CHECK_ACTOR = "sopflow-check"  # who records a check's evidence in the audit trail


@dataclass(frozen=True)
class ApprovalPolicy:
    """Workspace rule for four-eyes promotion."""

    allow_self_approval: bool = False


def _require(value: str, what: str) -> str:
    if not value or not value.strip():
        raise StoreError(f"{what} must not be empty")
    return value.strip()


def save_version(
    uow: UnitOfWork,
    *,
    text: str,
    source: str,
    author: str,
    message: str,
    major: bool,
    now: datetime,
) -> VersionInfo:
    """Validate and save a document as the next version; refuse invalid or unchanged ones."""
    author = _require(stored_name(author), "--author")
    message = _require(message, "-m/--message")
    doc = parse_document(text, source)
    canonical = dump_document(doc)
    with uow:
        store = uow.store
        latest = store.latest(doc.id)
        if latest and store.content(latest) == canonical:
            raise NothingToSave(
                f"{source}: unchanged since {doc.id} {latest.version.label}; nothing saved"
            )
        version = next_version(latest.version if latest else None, major=major)
        tag_ref = store.tag_ref(doc.id, version)
        uow.track(BRANCH, tag_ref)
        info = store.write_version(
            sop_id=doc.id,
            version=version,
            content=canonical,
            author=author,
            message=f"{version.label}: {message}",
            at=now,
        )
        audit.append(
            uow.session,
            actor=author,
            action="save",
            sop_id=doc.id,
            version=str(version),
            before={"latest": str(latest.version)} if latest else None,
            after={"commit": info.commit, "refs": {tag_ref: info.commit}},
            note=info.message,
            now=now,
        )
        uow.commit()
    return info


def resolve(store: VersionStore, sop_id: str, ref: str) -> VersionInfo:
    """A version by number, alias or `latest`."""
    return store.resolve(sop_id, ref)


def _move_alias(
    uow: UnitOfWork,
    *,
    sop_id: str,
    alias: str,
    target: VersionInfo | None,
) -> dict[str, Any]:
    store = uow.store
    ref = store.alias_ref(sop_id, alias)
    uow.track(ref)
    store.set_alias(sop_id, alias, target)  # type: ignore[arg-type]
    return {ref: target.commit if target else None}


def _aliases(store: VersionStore, sop_id: str) -> dict[str, str]:
    return {name: str(version) for name, version in store.aliases(sop_id).items()}


def set_candidate(
    uow: UnitOfWork, *, sop_id: str, version: str, actor: str, now: datetime
) -> VersionInfo:
    """Mark a version as the candidate under test."""
    actor = _require(actor, "--author")
    with uow:
        info = resolve(uow.store, sop_id, version)
        before = _aliases(uow.store, sop_id)
        if before.get("production") == str(info.version):
            raise AliasError(f"{sop_id} {info.version.label} is already production")
        refs = _move_alias(uow, sop_id=sop_id, alias="candidate", target=info)
        audit.append(
            uow.session,
            actor=actor,
            action="candidate",
            sop_id=sop_id,
            version=str(info.version),
            before=before,
            after={"refs": refs},
            note=f"candidate -> {info.version.label}",
            now=now,
        )
        uow.commit()
    return info


_CRUD = "".join(chr(c) for c in range(33)) + ".,:;<>\"\\'"


def stored_name(name: str) -> str:
    """A person's name as the git store keeps it (git drops `<`, `>`, newlines and the
    surrounding whitespace and punctuation), so `小王.` and `小王` are one author."""
    kept = "".join(ch for ch in name if ch not in "<>\n")
    return kept.strip(_CRUD)


def same_person(a: str, b: str) -> bool:
    """Whether two names (as typed, or as stored) name the same person, for four-eyes."""

    def key(name: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", stored_name(name)).casefold().split())

    return key(a) == key(b)


def check_four_eyes(info: VersionInfo, approver: str, policy: ApprovalPolicy) -> None:
    """Refuse an approver who authored the version, unless the workspace allows it."""
    if same_person(approver, info.author) and not policy.allow_self_approval:
        raise ApprovalError(
            f"{info.sop_id} {info.version.label} was saved by {info.author}; another person must"
            " approve it (or set allow_self_approval = true in sopflow.toml)"
        )


def _promote(
    uow: UnitOfWork, info: VersionInfo, *, approver: str, changelog: str | None, now: datetime
) -> VersionInfo:
    """Move production (and clear a candidate on the same version); caller holds `uow` open."""
    store = uow.store
    before = _aliases(store, info.sop_id)
    if before.get("production") == str(info.version):
        raise AliasError(f"{info.sop_id} {info.version.label} is already production")
    refs = _move_alias(uow, sop_id=info.sop_id, alias="production", target=info)
    if before.get("candidate") == str(info.version):
        refs.update(_move_alias(uow, sop_id=info.sop_id, alias="candidate", target=None))
    if changelog:
        uow.track(store.tag_ref(info.sop_id, info.version))
        # The tag keeps its author and date (the author of a version never changes);
        # the approver is in the audit record.
        info = store.retag(info, message=changelog, author=info.author, at=info.at)
    audit.append(
        uow.session,
        actor=approver,
        action="promote",
        sop_id=info.sop_id,
        version=str(info.version),
        before=before,
        after={"refs": refs, "author": info.author, "approver": approver},
        note=changelog or f"production -> {info.version.label}",
        now=now,
    )
    return info


def promote(
    uow: UnitOfWork,
    *,
    sop_id: str,
    version: str,
    approver: str,
    policy: ApprovalPolicy,
    now: datetime,
    changelog: str | None = None,
) -> VersionInfo:
    """Make a version production; the approver must not be its author unless allowed."""
    approver = _require(approver, "--approver")
    with uow:
        info = resolve(uow.store, sop_id, version)
        check_four_eyes(info, approver, policy)
        info = _promote(uow, info, approver=approver, changelog=changelog, now=now)
        uow.commit()
    return info


def approve_and_promote(
    uow: UnitOfWork,
    *,
    sop_id: str,
    version: str,
    approver: str,
    reason: str,
    run_id: str,
    evidence: Evidence,
    policy: ApprovalPolicy,
    now: datetime,
) -> VersionInfo:
    """An ops lead's approval of a check, its evidence and the promotion: all or nothing.

    The evidence's summary becomes the tag's changelog line. The version must still be the
    candidate the check measured (it may have changed while the check waited).
    """
    approver = _require(approver, "--approver")
    with uow:
        info = resolve(uow.store, sop_id, version)
        check_four_eyes(info, approver, policy)
        if _aliases(uow.store, sop_id).get("candidate") != str(info.version):
            raise AliasError(
                f"{sop_id} {info.version.label} is no longer the candidate; check again"
            )
        _record_decision(
            uow, info, approver=approver, approved=True, reason=reason, run_id=run_id, now=now
        )
        _attach(uow, info, actor=CHECK_ACTOR, evidence=evidence, now=now)
        info = _promote(uow, info, approver=approver, changelog=evidence.summary, now=now)
        uow.commit()
    return info


def decline(
    uow: UnitOfWork,
    *,
    sop_id: str,
    version: str,
    approver: str,
    reason: str,
    run_id: str,
    evidence: Evidence,
    now: datetime,
) -> VersionInfo:
    """An ops lead's refusal of a check's PROMOTE, with its evidence; no alias moves."""
    approver = _require(approver, "--approver")
    with uow:
        info = resolve(uow.store, sop_id, version)
        _record_decision(
            uow, info, approver=approver, approved=False, reason=reason, run_id=run_id, now=now
        )
        _attach(uow, info, actor=CHECK_ACTOR, evidence=evidence, now=now)
        uow.commit()
    return info


def reject(
    uow: UnitOfWork,
    *,
    sop_id: str,
    actor: str,
    reason: str,
    now: datetime,
    evidence: Evidence | None = None,
) -> VersionInfo:
    """Clear the candidate alias, keeping `evidence` on it; the version stays in history."""
    actor = _require(actor, "--author")
    with uow:
        info = resolve(uow.store, sop_id, "candidate")
        if evidence is not None:
            _attach(uow, info, actor=actor, evidence=evidence, now=now)
        before = _aliases(uow.store, sop_id)
        refs = _move_alias(uow, sop_id=sop_id, alias="candidate", target=None)
        audit.append(
            uow.session,
            actor=actor,
            action="reject",
            sop_id=sop_id,
            version=str(info.version),
            before=before,
            after={"refs": refs},
            note=reason or f"candidate {info.version.label} rejected",
            now=now,
        )
        uow.commit()
    return info


def production_history(uow_session: Any, sop_id: str) -> list[str]:
    """Production versions as a stack, replayed from promote/rollback audit records."""
    stack: list[str] = []
    for record in audit.query(uow_session, sop_id=sop_id):
        if record.action == "promote" and record.version:
            stack.append(record.version)
        elif record.action == "rollback" and stack:
            stack.pop()
    return stack


def rollback(
    uow: UnitOfWork, *, sop_id: str, author: str, reason: str, now: datetime
) -> VersionInfo:
    """Make the previous production version current again; history is not rewritten."""
    author, reason = _require(author, "--author"), _require(reason, "-m/--message")
    with uow:
        store = uow.store
        stack = production_history(uow.session, sop_id)
        if len(stack) < 2:
            raise AliasError(f"{sop_id} has no earlier production version to roll back to")
        target = resolve(store, sop_id, stack[-2])
        before = _aliases(store, sop_id)
        refs = _move_alias(uow, sop_id=sop_id, alias="production", target=target)
        audit.append(
            uow.session,
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


def _attach(
    uow: UnitOfWork,
    info: VersionInfo,
    *,
    actor: str,
    evidence: Evidence | Mapping[str, Any],
    now: datetime,
) -> None:
    """Append one evidence line to the version's note, with its audit record."""
    record = evidence.as_json() if isinstance(evidence, Evidence) else dict(evidence)
    uow.track(EVIDENCE_REF)
    line = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    uow.store.add_evidence(info, line)
    audit.append(
        uow.session,
        actor=actor,
        action="evidence",
        sop_id=info.sop_id,
        version=str(info.version),
        before=None,
        after={"evidence": record},
        note=str(record.get("summary", "evidence attached")),
        now=now,
    )


def attach_evidence(
    uow: UnitOfWork,
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
    actor = _require(actor, "--author")
    with uow:
        info = resolve(uow.store, sop_id, version)
        _attach(uow, info, actor=actor, evidence=evidence, now=now)
        uow.commit()
    return info


def _record_decision(
    uow: UnitOfWork,
    info: VersionInfo,
    *,
    approver: str,
    approved: bool,
    reason: str,
    run_id: str,
    now: datetime,
) -> None:
    """The audit record of an ops lead's decision on a paused check run."""
    audit.append(
        uow.session,
        actor=approver,
        action="approval" if approved else "decline",
        sop_id=info.sop_id,
        version=str(info.version),
        before=None,
        after={"approved": approved, "run_id": run_id, "author": info.author},
        note=reason or ("approved" if approved else "declined"),
        now=now,
    )


def verify(uow: UnitOfWork) -> list[str]:
    """Audit chain findings plus git refs that moved without an audit record."""
    with uow:
        return audit.verify(uow.session, git_refs=uow.store.refs())


__all__ = [
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
