"""Experiment assignment: put each group of an SOP on its candidate or production (recorded)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine import groups as group_registry
from engine.experiment import assign_groups
from services.workspace import Workspace
from sop_models.errors import CheckError
from versions import audit


@dataclass(frozen=True)
class Assignment:
    """Which groups follow which alias in an experiment."""

    name: str
    candidate: list[str]
    production: list[str]


def start_experiment(
    ws: Workspace,
    *,
    sop_id: str,
    share: float,
    author: str,
    now: datetime,
    salt: str | None = None,
) -> Assignment:
    """Assign groups by a salted hash (share on candidate), move their aliases, audit it."""
    candidate = ws.store.resolve(sop_id, "candidate")
    name = f"{sop_id}@{candidate.version.label}"
    with ws.session() as session:
        groups = group_registry.list_groups(session, sop_id=sop_id)
        if not groups:
            raise CheckError(f"{sop_id}: no groups registered (sop groups add ...)")
        records = assign_groups(
            [g.id for g in groups], experiment=name, share=share, now=now, salt=salt
        )
        on_candidate = sorted(r.group_id for r in records if r.variant == "candidate")
        on_production = sorted(r.group_id for r in records if r.variant != "candidate")
        group_registry.set_alias(session, on_candidate, "candidate")
        group_registry.set_alias(session, on_production, "production")
        audit.append(
            session,
            actor=author,
            action="experiment",
            sop_id=sop_id,
            version=str(candidate.version),
            before=None,
            after={
                "experiment": name,
                "share": share,
                "salt": records[0].salt,
                "assignment": {r.group_id: r.variant for r in records},
            },
            note=f"{len(on_candidate)} candidate / {len(on_production)} production",
            now=now,
        )
        session.commit()
    return Assignment(name, on_candidate, on_production)
