"""`sop audit repair`: put git and the audit trail back in step after a crash between them.

A save writes its commit and tag, then its audit record; a process killed in between leaves
a tag no record mentions (verify reports it, and saving again is refused as unchanged). The
repair either records each such orphan tag (a `save` record flagged `recovered`, in the
tagger's name, noting who repaired) or removes it (a `repair` record), and re-anchors the
chain head in git. Lightweight tags are never recorded as versions: only removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sop_models.errors import StoreError
from versions.audit_verify import expected_refs
from versions.unit_of_work import AbstractUnitOfWork


@dataclass
class RepairReport:
    """Tags recorded as recovered, tags removed, and whether the anchor was moved."""

    recorded: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    anchored: tuple[int, str] | None = None


def repair(uow: AbstractUnitOfWork, *, actor: str, remove: bool, now: datetime) -> RepairReport:
    """Record (or, with `remove`, delete) every tag no audit record mentions; re-anchor."""
    report = RepairReport()
    with uow:
        store = uow.store
        mentioned = set(expected_refs(uow.audit.rows()))
        raw = store.raw_refs()
        for ref in sorted(r for r in raw if r.startswith("refs/tags/") and r not in mentioned):
            sop_id, label = ref.removeprefix("refs/tags/").split("/", 1)
            lightweight = raw[ref][1] != "tag"
            if remove or lightweight:
                uow.track(ref)
                store.restore_refs({ref: None})
                why = "lightweight tag" if lightweight else "tag of a save that never finished"
                uow.audit.append(
                    actor=actor, action="repair", sop_id=sop_id, version=None, before=None,
                    after={"refs": {ref: None}}, note=f"removed {ref} ({why})", now=now,
                )  # fmt: skip
                report.removed.append(ref)
                continue
            try:
                info = store.resolve(sop_id, label.removeprefix("v"))
            except StoreError:
                continue
            uow.audit.append(
                actor=info.author, action="save", sop_id=sop_id, version=str(info.version),
                before=None,
                after={"commit": info.commit, "refs": {ref: info.commit},
                       "objects": {ref: raw[ref][0]}, "recovered": True},
                note=f"{info.message} (recovered by {actor}: the save stopped before its"
                     " audit record)",
                now=now,
            )  # fmt: skip
            report.recorded.append(ref)
        uow.commit()
        rows = uow.audit.rows()
    if rows:
        last = rows[-1]
        store.set_audit_anchor(last.seq, last.hash)
        report.anchored = (last.seq, last.hash)
    return report
