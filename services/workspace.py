"""The one place that wires real parts: a workspace folder -> store, database, settings.

Workspace layout:
    sopflow.toml      settings (see services.settings); optional when SOPFLOW_* say it all
    store.git/        bare git repository with every SOP version (versions.git_store), or with
                      `store_url` the local mirror of the shared store (versions.remote_store)
    sopflow.db        SQLite database (audit, groups, deliveries) unless database_url is set
    events/           imported event data (Parquet) unless events_url names another folder
    outbox/           JSONL outbox channel files
    reports/          HTML reports
    calendar.json     (before 0109) the holiday schedule, imported into the database once, renamed
    overlays.json     (before 0108) overlay attachments, imported into the database once
    .prefect/         Prefect's local state (PREFECT_HOME for commands run here)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from services.db import make_engine, migrate
from services.settings import CONFIG_FILE, DEFAULT_CONFIG, Settings, find_root, load_settings
from sop_models.errors import WorkspaceError
from sop_models.i18n import set_language
from versions import audit
from versions.git_store import GitVersionStore
from versions.remote_store import RemoteGitVersionStore, create_remote, local_path
from versions.services import ApprovalPolicy
from versions.unit_of_work import UnitOfWork

STORE_DIR = "store.git"
DB_FILE = "sopflow.db"
PREFECT_DIR = ".prefect"


def prefect_home(root: Path) -> Path:
    """Where a workspace keeps Prefect's local state (ephemeral mode, profiles)."""
    return root / PREFECT_DIR


def all_migrations() -> list[tuple[str, Any]]:
    """Every named migration of every layer, in order."""
    from versions import migrations as version_side

    found: list[tuple[str, Any]] = list(version_side.MIGRATIONS)
    from engine import migrations as engine_side

    found.extend(engine_side.MIGRATIONS)
    from services import overlay_store  # overlay attachments and arms

    found.extend(overlay_store.MIGRATIONS)
    from services import web_store  # the console's accounts and sessions

    found.extend(web_store.MIGRATIONS)
    return found


@dataclass
class Workspace:
    """A workspace folder and the real parts built from it."""

    root: Path
    settings: Settings
    _closers: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Text people read is built in the workspace's `language` from here on (sop_models.i18n).
        set_language(self.settings.language)

    @property
    def store_path(self) -> Path:
        return self.root / STORE_DIR

    @property
    def database_url(self) -> str:
        return self.settings.database_url or f"sqlite:///{self.root / DB_FILE}"

    @cached_property
    def store(self) -> GitVersionStore:
        """The version store; with `store_url`, the local mirror, cloned or fetched now."""
        url = self.settings.store_url
        store = (
            RemoteGitVersionStore(self.store_path, url) if url else GitVersionStore(self.store_path)
        )
        self._closers.append(store.close)
        return store

    @property
    def events_dir(self) -> Path:
        """The event store folder: `events_url` (path or file:// URL) or events/ here."""
        url = self.settings.events_url
        if not url:
            return self.dir("events")
        path = local_path(url)
        if path is None:
            raise WorkspaceError(f"events_url: {url} is not a folder path or file:// URL")
        path = path if path.is_absolute() else self.root / path
        path.mkdir(parents=True, exist_ok=True)
        return path

    @cached_property
    def engine(self) -> Engine:
        engine = make_engine(self.database_url)
        migrate(engine, all_migrations())
        self._closers.append(engine.dispose)
        return engine

    @property
    def policy(self) -> ApprovalPolicy:
        return ApprovalPolicy(allow_self_approval=self.settings.allow_self_approval)

    def session(self) -> Session:
        """A new database session (caller closes it, e.g. `with ws.session() as s`)."""
        session = Session(self.engine, expire_on_commit=False)
        # Audit records committed in it are anchored in the store (see versions.audit).
        session.info[audit.ANCHOR_WRITER] = self.store.set_audit_anchor
        return session

    def uow(self) -> UnitOfWork:
        """A unit of work over the store and the database."""
        return UnitOfWork(self.store, self.session)

    def dir(self, name: str) -> Path:
        """A sub-folder of the workspace, created on demand."""
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def close(self) -> None:
        """Release git and database handles."""
        for closer in reversed(self._closers):
            closer()
        self._closers.clear()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def init_workspace(
    root: Path, *, store_url: str | None = None, database_url: str | None = None
) -> Workspace:
    """Create (or complete) a workspace at `root` and migrate its database.

    With `store_url` the shared store is created there if it is a missing local folder, and
    the workspace keeps a mirror of it; both URLs are written into the settings file.
    """
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    config = root / CONFIG_FILE
    chosen = {"store_url": store_url, "database_url": database_url}
    chosen = {key: value for key, value in chosen.items() if value}
    if config.exists():
        _check_unchanged(config, load_settings(root), chosen)
    else:
        lines = [
            f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in chosen.items()
        ]
        config.write_text("\n".join([DEFAULT_CONFIG, *lines, ""]), encoding="utf-8")
    if store_url:
        create_remote(store_url)
    settings = load_settings(root)
    if not settings.store_url:
        GitVersionStore.init(root / STORE_DIR).close()
    ws = Workspace(root, settings)
    _ = ws.store  # with store_url: clone the mirror now, so a bad URL fails here
    _ = ws.engine
    return ws


def _check_unchanged(config: Path, settings: Settings, chosen: dict[str, str]) -> None:
    """Re-running init on a workspace may not silently switch its store or database."""
    for key, value in chosen.items():
        if getattr(settings, key) != value:
            raise WorkspaceError(
                f"{config}: {key} is {getattr(settings, key)!r}, not {value!r};"
                " edit the file to switch"
            )


def open_workspace(explicit: Path | None = None) -> Workspace:
    """Open an initialised workspace or say how to create one.

    With `store_url` set (e.g. SOPFLOW_STORE_URL) a missing or empty folder is a workspace
    too: its local cache (the folder, the mirror) is made on first use, no sopflow.toml needed.
    """
    root = find_root(explicit)
    settings = load_settings(root)
    if not (root / STORE_DIR / "HEAD").exists():
        # A cache is made only where nothing else lives (not in any folder one happens to be in).
        fresh = not root.exists() or (root / CONFIG_FILE).exists() or not any(root.iterdir())
        if not settings.store_url or not fresh:
            raise WorkspaceError(
                f"{root} is not a sopflow workspace (run `sop init {root}` or pass --workspace"
                + (" naming an empty or missing folder" if settings.store_url else "")
                + ")"
            )
    root.mkdir(parents=True, exist_ok=True)
    return Workspace(root, settings)
