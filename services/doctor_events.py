"""`sop doctor`'s events line: where this machine reads events (KPI checks, triggers) from.

On a machine of a shared workspace (`store_url` set) the event store must be shared too
(`events_url`): without it, KPI checks and the welcome loop's threshold triggers read this
machine's own, usually empty, events/ folder and see no event at all. Read-only: a missing
folder is reported, never created.
"""

from __future__ import annotations

from pathlib import Path

from services.doctor import Check
from services.workspace import Workspace
from sop_models.i18n import tr
from versions.remote_store import local_path


def check_events(ws: Workspace) -> Check:
    """The event store folder this machine reads, and whether other machines see the same."""
    url = ws.settings.events_url
    if not url:
        folder = ws.root / "events"
        files = _files(folder)
        if ws.settings.store_url:
            return Check(
                False,
                tr("events {path}: this machine's own folder ({count} file(s)), not shared").format(
                    path=folder, count=files
                ),
                tr(
                    "set events_url / SOPFLOW_EVENTS_URL to the shared event store, or run "
                    "checks and triggers only where the events are (the pool's check_queue)"
                ),
            )
        return Check(True, tr("events {path}: {count} file(s)").format(path=folder, count=files))
    path = local_path(url)
    if path is None:
        return Check(
            False,
            tr("events {url}: not a folder path or file:// URL").format(url=url),
            tr("set events_url to a folder every machine mounts"),
        )
    folder = path if path.is_absolute() else ws.root / path
    if not folder.is_dir():
        return Check(
            False,
            tr("events {path}: no such folder").format(path=folder),
            tr("mount the shared event store there, or correct events_url"),
        )
    return Check(
        True, tr("events {path}: {count} file(s)").format(path=folder, count=_files(folder))
    )


def _files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0
