"""Database wiring: engines for SQLite and PostgreSQL, and a tiny named-migration runner.

SQLite engines run in WAL mode with a busy timeout and foreign keys on, and begin every
transaction with `BEGIN IMMEDIATE`: a transaction holds SQLite's single writer lock from its
start, so several processes can write without "database is locked" surprises mid-way.
PostgreSQL URLs use psycopg 3 (`postgresql+psycopg://user@host:port/db`).

Migrations are plain `(name, apply)` pairs, `apply(connection)`; each layer keeps its own list
(`versions.migrations.MIGRATIONS`, `engine.migrations.MIGRATIONS`) without importing this
module. `migrate` records applied names in `schema_migrations`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc, make_url, text
from sqlalchemy.engine import URL

from sop_models.errors import WorkspaceError

Migration = tuple[str, Callable[[Connection], None]]

BUSY_TIMEOUT_MS = 30_000
# pg_advisory_xact_lock key for the migration runner (any fixed 64-bit number).
MIGRATION_LOCK_KEY = 0x50F10_0001

_CREATE_TABLE = text(
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " name VARCHAR(200) PRIMARY KEY, applied_at VARCHAR(32) NOT NULL)"
)


def _set_wal(cursor: Any) -> None:
    """Switch to WAL, waiting while another process holds the lock.

    SQLite answers "database is locked" at once, without its busy handler, when two
    connections switch a new database's journal mode together; wait as busy_timeout would.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        folder = Path(database).expanduser().resolve().parent
        if not folder.is_dir():
            raise WorkspaceError(f"database folder does not exist: {folder} (from {url})")
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _set_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_engine(url: str) -> Engine:
    """An engine for a `sqlite:///path` or `postgresql+psycopg://...` URL, tuned for sopflow."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        raise WorkspaceError(f"not a database URL: {url!r}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend in {"postgresql", "postgres"}:
        if "+" not in parsed.drivername or parsed.drivername.endswith("+psycopg2"):
            parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is what we ship
        return create_engine(parsed, pool_pre_ping=True)
    raise WorkspaceError(
        f"unsupported database {backend!r} in {parsed.render_as_string(hide_password=True)}:"
        " use sqlite:///path or postgresql+psycopg://user@host/db"
    )


def _lock(conn: Connection) -> None:
    """Serialise migration runs across processes for the rest of this transaction."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    # SQLite: the engine began this transaction with BEGIN IMMEDIATE, the writer lock.


def _recorded(conn: Connection) -> list[str]:
    rows = conn.execute(text("SELECT name FROM schema_migrations ORDER BY applied_at, name"))
    return [row[0] for row in rows]


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def migrate(engine: Engine, migrations: Iterable[Migration]) -> list[str]:
    """Apply the migrations not yet recorded, in order, each in its own transaction.

    Returns the names applied now. Safe to run twice or from two processes at once; refuses
    a database that records a migration these `migrations` do not include (a newer sopflow).
    """
    steps = list(migrations)
    names = [name for name, _ in steps]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise WorkspaceError(f"migration names used twice: {', '.join(duplicates)}")
    try:
        with engine.begin() as conn:
            _lock(conn)
            conn.execute(_CREATE_TABLE)
            unknown = [name for name in _recorded(conn) if name not in names]
    except exc.OperationalError as err:
        first = str(err.orig or err).strip().splitlines()[0]
        raise WorkspaceError(f"cannot open database {_where(engine)}: {first}") from None
    if unknown:
        raise WorkspaceError(
            f"database {_where(engine)} has migrations this sopflow does not know"
            f" ({', '.join(unknown)}): it was upgraded by a newer sopflow; upgrade sopflow"
        )
    applied: list[str] = []
    for name, apply in steps:
        with engine.begin() as conn:
            _lock(conn)
            if name in _recorded(conn):
                continue
            apply(conn)
            conn.execute(
                text("INSERT INTO schema_migrations (name, applied_at) VALUES (:name, :at)"),
                {"name": name, "at": datetime.now(UTC).isoformat(timespec="microseconds")},
            )
        applied.append(name)
    return applied


def applied_migrations(engine: Engine) -> list[str]:
    """Names of the migrations recorded in the database, in the order they were applied."""
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, "schema_migrations"):
            return []
        return _recorded(conn)
