"""Reading saved versions: every SOP at a glance, one SOP's history with aliases, one version,
a semantic diff."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.groups import list_groups
from services.workspace import Workspace
from sop_models import SopDocument, parse_document
from versions import audit, services
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
        following = Counter((g.sop_id, g.alias) for g in list_groups(session))
        last: dict[str, LastChange] = {}
        for record in audit.query(session):  # oldest first: the newest per SOP wins
            last[record.sop_id] = LastChange(record.at, record.actor, record.action, record.note)
    for sop_id in ws.store.sop_ids():
        latest = ws.store.latest(sop_id)
        if latest is None:
            continue
        aliases = {name: str(version) for name, version in ws.store.aliases(sop_id).items()}
        groups = {alias: following[(sop_id, alias)] for alias in ("production", "candidate")}
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


def show_version(ws: Workspace, *, sop_id: str, ref: str) -> Shown:
    """A version by number, alias or `latest`, with its evidence (as stored JSON)."""
    info = services.resolve(ws.store, sop_id, ref)
    evidence = [json.loads(line) for line in ws.store.evidence(info)]
    return Shown(info, ws.store.content(info), evidence)


def diff_versions(ws: Workspace, *, sop_id: str, a: str, b: str) -> list[Change]:
    """Field paths added, removed and changed from version (or alias) `a` to `b`."""
    docs = []
    for ref in (a, b):
        info = services.resolve(ws.store, sop_id, ref)
        docs.append(parse_document(ws.store.content(info), info.tag).model_dump(mode="json"))
    return diff_documents(docs[0], docs[1])
