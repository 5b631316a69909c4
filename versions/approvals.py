"""Who may change which version runs, and the records of those decisions.

The four-eyes rule (an approver is never the version's author unless the workspace allows
it), promotion, and the decisions on a check: an ops lead's approve-and-promote or decline
of a PROMOTE, and the reject that clears a candidate. Also the steps every alias move and
evidence record takes inside an open unit (`move_alias`, `attach`), which
`versions.services` uses for the candidate, rollback and evidence services.

Every service here is one unit of work: its alias moves, tag message, evidence note and
audit records land together or not at all.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sop_models.errors import AliasError, ApprovalError, StoreError
from sop_models.evidence import Evidence
from sop_models.i18n import tr
from versions.store import EVIDENCE_REF, Alias, VersionInfo, VersionStore
from versions.unit_of_work import AbstractUnitOfWork

CHECK_ACTOR = "sopflow-check"  # who records a check's evidence in the audit trail


@dataclass(frozen=True)
class ApprovalPolicy:
    """Workspace rule for four-eyes promotion."""

    allow_self_approval: bool = False


def required(value: str, what: str) -> str:
    """`value` stripped; refuse an empty one, naming the option (`--author`)."""
    if not value or not value.strip():
        raise StoreError(f"{what} must not be empty")
    return value.strip()


_OS_SIGNATURE = re.compile(r"\s*\(os:[^()]*\)\s*$")
_CRUD = "".join(chr(c) for c in range(33)) + ".,:;<>\"\\'"


def stored_name(name: str) -> str:
    """A person's name as the git store keeps it (git drops `<`, `>`, newlines and the
    surrounding whitespace and punctuation), so `小王.` and `小王` are one author."""
    kept = "".join(ch for ch in name if ch not in "<>\n")
    return kept.strip(_CRUD)


def same_person(a: str, b: str) -> bool:
    """Whether two names (as typed, or as stored) name the same person, for four-eyes."""

    def key(name: str) -> str:
        name = _OS_SIGNATURE.sub("", name)  # the CLI's `李经理 (os:alice)` is 李经理
        return " ".join(unicodedata.normalize("NFKC", stored_name(name)).casefold().split())

    return key(a) == key(b)


def check_four_eyes(info: VersionInfo, approver: str, policy: ApprovalPolicy) -> None:
    """Refuse an approver who authored the version, unless the workspace allows it."""
    if same_person(approver, info.author) and not policy.allow_self_approval:
        raise ApprovalError(
            tr(
                "{sop} {version} was saved by {author}; another person must approve it"
                " (or set allow_self_approval = true in sopflow.toml)"
            ).format(sop=info.sop_id, version=info.version.label, author=info.author)
        )


# -- steps inside a unit their caller holds open ------------------------------------------
def alias_versions(store: VersionStore, sop_id: str) -> dict[str, str]:
    """Current alias -> version number as text, for audit `before` records."""
    return {name: str(version) for name, version in store.aliases(sop_id).items()}


def move_alias(
    uow: AbstractUnitOfWork, *, sop_id: str, alias: Alias, target: VersionInfo | None
) -> dict[str, Any]:
    """Point (or delete) an alias, tracked for rollback; returns the audit `refs` entry."""
    ref = uow.store.alias_ref(sop_id, alias)
    uow.track(ref)
    uow.store.set_alias(sop_id, alias, target)
    return {ref: target.commit if target else None}


def attach(
    uow: AbstractUnitOfWork,
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
    notes = dict(uow.store.snapshot_refs([EVIDENCE_REF]))  # pins every note blob
    uow.audit.append(
        actor=actor,
        action="evidence",
        sop_id=info.sop_id,
        version=str(info.version),
        before=None,
        after={"evidence": record, "objects": notes},
        note=str(record.get("summary", "evidence attached")),
        now=now,
    )


def _promote(
    uow: AbstractUnitOfWork,
    info: VersionInfo,
    *,
    approver: str,
    changelog: str | None,
    now: datetime,
    reason: str = "",
) -> VersionInfo:
    """Move production (and clear a candidate on the same version)."""
    store = uow.store
    before = alias_versions(store, info.sop_id)
    if before.get("production") == str(info.version):
        raise AliasError(f"{info.sop_id} {info.version.label} is already production")
    refs = move_alias(uow, sop_id=info.sop_id, alias="production", target=info)
    if before.get("candidate") == str(info.version):
        refs.update(move_alias(uow, sop_id=info.sop_id, alias="candidate", target=None))
    objects: dict[str, str | None] = {}
    if changelog:
        tag_ref = store.tag_ref(info.sop_id, info.version)
        uow.track(tag_ref)
        # The tag keeps its author and date (the author of a version never changes);
        # the approver is in the audit record.
        info = store.retag(info, message=changelog, author=info.author, at=info.at)
        objects = dict(store.snapshot_refs([tag_ref]))  # the new tag object
    after: dict[str, Any] = {"refs": refs, "author": info.author, "approver": approver}
    if objects:
        after["objects"] = objects
    if reason.strip():
        after["reason"] = reason.strip()
    uow.audit.append(
        actor=approver,
        action="promote",
        sop_id=info.sop_id,
        version=str(info.version),
        before=before,
        after=after,
        note=changelog or reason.strip() or f"production -> {info.version.label}",
        now=now,
    )
    return info


def _record_decision(
    uow: AbstractUnitOfWork,
    info: VersionInfo,
    *,
    approver: str,
    approved: bool,
    reason: str,
    run_id: str,
    now: datetime,
) -> None:
    """The audit record of an ops lead's decision on a paused check run."""
    uow.audit.append(
        actor=approver,
        action="approval" if approved else "decline",
        sop_id=info.sop_id,
        version=str(info.version),
        before=None,
        after={"approved": approved, "run_id": run_id, "author": info.author},
        note=reason or ("approved" if approved else "declined"),
        now=now,
    )


# -- services ------------------------------------------------------------------------------
def promote(
    uow: AbstractUnitOfWork,
    *,
    sop_id: str,
    version: str,
    approver: str,
    policy: ApprovalPolicy,
    now: datetime,
    changelog: str | None = None,
    reason: str = "",
) -> VersionInfo:
    """Make a version production; the approver must not be its author unless allowed.
    `reason` is kept in the audit record (its note, unless a changelog line is given)."""
    approver = required(approver, "--approver")
    with uow:
        info = uow.store.resolve(sop_id, version)
        check_four_eyes(info, approver, policy)
        info = _promote(uow, info, approver=approver, changelog=changelog, now=now, reason=reason)
        uow.commit()
    return info


def approve_and_promote(
    uow: AbstractUnitOfWork,
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
    approver = required(approver, "--approver")
    with uow:
        info = uow.store.resolve(sop_id, version)
        check_four_eyes(info, approver, policy)
        if alias_versions(uow.store, sop_id).get("candidate") != str(info.version):
            raise AliasError(
                f"{sop_id} {info.version.label} is no longer the candidate; check again"
            )
        _record_decision(
            uow, info, approver=approver, approved=True, reason=reason, run_id=run_id, now=now
        )
        attach(uow, info, actor=CHECK_ACTOR, evidence=evidence, now=now)
        info = _promote(uow, info, approver=approver, changelog=evidence.summary, now=now)
        uow.commit()
    return info


def decline(
    uow: AbstractUnitOfWork,
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
    approver = required(approver, "--approver")
    with uow:
        info = uow.store.resolve(sop_id, version)
        _record_decision(
            uow, info, approver=approver, approved=False, reason=reason, run_id=run_id, now=now
        )
        attach(uow, info, actor=CHECK_ACTOR, evidence=evidence, now=now)
        uow.commit()
    return info


def reject(
    uow: AbstractUnitOfWork,
    *,
    sop_id: str,
    actor: str,
    reason: str,
    now: datetime,
    evidence: Evidence | None = None,
) -> VersionInfo:
    """Clear the candidate alias, keeping `evidence` on it; the version stays in history."""
    actor = required(actor, "--author")
    with uow:
        info = uow.store.resolve(sop_id, "candidate")
        if evidence is not None:
            attach(uow, info, actor=actor, evidence=evidence, now=now)
        before = alias_versions(uow.store, sop_id)
        refs = move_alias(uow, sop_id=sop_id, alias="candidate", target=None)
        uow.audit.append(
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
