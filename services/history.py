"""Reading an SOP's saved versions: its history with aliases, one version, a semantic diff."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from services.workspace import Workspace
from sop_models import SopDocument, parse_document
from sop_models.errors import VersionNotFound
from versions import services
from versions.diff import Change, diff_documents
from versions.store import VersionInfo


@dataclass(frozen=True)
class Entry:
    """One version in an SOP's history and the aliases pointing at it."""

    info: VersionInfo
    aliases: list[str]


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
        raise VersionNotFound(f"no SOP {sop_id!r} in the store")
    by_version: dict[str, list[str]] = {}
    for name, version in ws.store.aliases(sop_id).items():
        by_version.setdefault(str(version), []).append(name)
    return [Entry(info, sorted(by_version.get(str(info.version), []))) for info in versions]


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
