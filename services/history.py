"""Reading saved versions: every SOP at a glance, one SOP's history with aliases, one version,
a semantic diff."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from engine.groups import Group
from services import console_cache
from services.workspace import Workspace
from sop_models import SopDocument, parse_document
from versions import services
from versions.audit import AuditRecord
from versions.diff import Change, diff_documents
from versions.store import VersionInfo, unknown_sop


@dataclass(frozen=True)
class Entry:
    """One version in an SOP's history and the aliases pointing at it."""

    info: VersionInfo
    aliases: list[str]


@dataclass(frozen=True)
class LastChange:
    """The newest audit record naming an SOP: a save, alias move, group change, ..."""

    at: datetime
    actor: str
    action: str
    note: str


@dataclass(frozen=True)
class SopSummary:
    """One SOP at a glance: its latest save, the versions its aliases point at, how many
    groups follow each alias, and its last recorded change."""

    latest: VersionInfo
    production: str | None
    candidate: str | None
    groups: dict[str, int] = field(default_factory=dict)
    last_change: LastChange | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (`at` as ISO-8601 with its offset)."""
        info = self.latest
        last = self.last_change
        return {
            "sop": info.sop_id,
            "latest": str(info.version),
            "production": self.production,
            "candidate": self.candidate,
            "author": info.author,
            "at": info.at.isoformat(),
            "message": info.message,
            "groups": {alias: self.groups.get(alias, 0) for alias in ("production", "candidate")},
            "last_change": None
            if last is None
            else {
                "at": last.at.isoformat(),
                "actor": last.actor,
                "action": last.action,
                "note": last.note,
            },
        }


@dataclass(frozen=True)
class Shown:
    """One version: its metadata, stored text and the evidence attached to it."""

    info: VersionInfo
    text: str
    evidence: list[Any]

    def document(self) -> SopDocument:
        return parse_document(self.text, self.info.tag)


def history(ws: Workspace, *, sop_id: str) -> list[Entry]:
    """Every version of an SOP, newest first, with its aliases (sorted)."""
    versions = list(ws.store.iter_history(sop_id))
    if not versions:
        raise unknown_sop(sop_id, ws.store.sop_ids())
    by_version: dict[str, list[str]] = {}
    for name, version in ws.store.aliases(sop_id).items():
        by_version.setdefault(str(version), []).append(name)
    return [Entry(info, sorted(by_version.get(str(info.version), []))) for info in versions]


def list_sops(ws: Workspace) -> list[SopSummary]:
    """Every SOP in the store, by id: latest version, production and candidate versions,
    groups following each alias and the last audited change."""
    found = []
    with ws.session() as session:
        following = _groups_by_alias(session)
        last = _last_changes(session)
    for sop_id in ws.store.sop_ids():
        latest = ws.store.latest(sop_id)
        if latest is None:
            continue
        aliases = {name: str(version) for name, version in ws.store.aliases(sop_id).items()}
        groups = {alias: following.get((sop_id, alias), 0) for alias in ("production", "candidate")}
        found.append(
            SopSummary(
                latest,
                aliases.get("production"),
                aliases.get("candidate"),
                groups,
                last.get(sop_id),
            )
        )
    return found


def _groups_by_alias(session: Session) -> dict[tuple[str, str], int]:
    """(SOP id, alias) -> how many groups (not archived) follow it, counted by the database."""
    query = (
        select(Group.sop_id, Group.alias, func.count())
        .where(col(Group.archived_at).is_(None))
        .group_by(col(Group.sop_id), col(Group.alias))
    )
    return {(sop, alias): int(n) for sop, alias, n in session.exec(query).all()}


def _last_changes(session: Session) -> dict[str, LastChange]:
    """SOP id -> its newest audit record, one row per SOP from the database."""
    newest = (
        select(func.max(AuditRecord.seq).label("seq"))  # type: ignore[arg-type]
        .group_by(col(AuditRecord.sop_id))
        .subquery()
    )
    query = select(AuditRecord).where(col(AuditRecord.seq).in_(select(newest.c.seq)))
    return {
        r.sop_id: LastChange(r.at, r.actor, r.action, r.note) for r in session.exec(query).all()
    }


def show_version(ws: Workspace, *, sop_id: str, ref: str) -> Shown:
    """A version by number, alias or `latest`, with its evidence (as stored JSON)."""
    info = services.resolve(ws.store, sop_id, ref)
    evidence = [json.loads(line) for line in ws.store.evidence(info)]
    return Shown(info, ws.store.content(info), evidence)


def diff_versions(ws: Workspace, *, sop_id: str, a: str, b: str) -> list[Change]:
    """Field paths added, removed and changed from version (or alias) `a` to `b`."""
    left, right = (services.resolve(ws.store, sop_id, ref) for ref in (a, b))
    return diff_documents(
        console_cache.document_data(ws, left), console_cache.document_data(ws, right)
    )
