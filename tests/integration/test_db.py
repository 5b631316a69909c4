"""Engines and the named-migration runner, on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
import socket
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, inspect, text

from services.db import applied_migrations, make_engine, migrate
from sop_models.errors import WorkspaceError
from versions.migrations import MIGRATIONS


def _add_labels(conn: Connection) -> None:
    conn.execute(text("CREATE TABLE labels (id INTEGER PRIMARY KEY, name VARCHAR(50))"))


def _add_label_rows(conn: Connection) -> None:
    conn.execute(text("INSERT INTO labels (id, name) VALUES (1, '母婴')"))


EXTRA = [("0100_labels", _add_labels), ("0101_label_rows", _add_label_rows)]


def _broken(conn: Connection) -> None:
    conn.execute(text("CREATE TABLE half_done (id INTEGER PRIMARY KEY)"))
    raise RuntimeError("migration failed half way")


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def test_migrate_applies_each_migration_once_and_records_its_name(engine: Engine) -> None:
    assert migrate(engine, MIGRATIONS) == ["0001_audit_log", "0002_audit_checkpoint"]
    assert migrate(engine, MIGRATIONS) == []
    assert migrate(engine, [*MIGRATIONS, *EXTRA]) == ["0100_labels", "0101_label_rows"]
    assert migrate(engine, [*MIGRATIONS, *EXTRA]) == []
    assert set(applied_migrations(engine)) == {
        "0001_audit_log",
        "0002_audit_checkpoint",
        "0100_labels",
        "0101_label_rows",
    }
    assert {"audit_log", "audit_head", "labels", "schema_migrations"} <= tables(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM labels")).scalars().all() == ["母婴"]


def test_applied_migrations_is_empty_on_a_new_database(engine: Engine) -> None:
    assert applied_migrations(engine) == []


def test_migrate_refuses_a_database_with_an_unknown_migration(engine: Engine) -> None:
    migrate(engine, [*MIGRATIONS, *EXTRA])
    with pytest.raises(WorkspaceError, match=r"does not know \(0100_labels, 0101_label_rows\)"):
        migrate(engine, MIGRATIONS)


def test_a_failing_migration_leaves_nothing_behind(engine: Engine) -> None:
    with pytest.raises(RuntimeError, match="half way"):
        migrate(engine, [*MIGRATIONS, ("0099_broken", _broken)])
    assert applied_migrations(engine) == ["0001_audit_log", "0002_audit_checkpoint"]
    assert "half_done" not in tables(engine)


def test_migrate_refuses_duplicate_names(engine: Engine) -> None:
    with pytest.raises(WorkspaceError, match="used twice: 0100_labels"):
        migrate(engine, [*EXTRA, EXTRA[0]])


def _migrate_in_child(url: str, start: threading.Barrier) -> list[str]:
    """Pool worker: connect, wait at the (manager) barrier for the other worker, migrate."""
    engine = make_engine(url)
    with engine.connect():
        pass  # connected before the start, so both workers migrate together
    start.wait(timeout=60)
    try:
        return migrate(engine, [*MIGRATIONS, *EXTRA])
    finally:
        engine.dispose()


def test_two_processes_migrating_at_once_apply_each_migration_once(db_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ctx.Pool(2) as pool:
        start = manager.Barrier(2)  # a proxy: unlike ctx.Barrier it can travel in pool tasks
        results = pool.starmap(_migrate_in_child, [(db_url, start), (db_url, start)])
    assert sorted(results[0] + results[1]) == [
        "0001_audit_log",
        "0002_audit_checkpoint",
        "0100_labels",
        "0101_label_rows",
    ]
    engine = make_engine(db_url)
    try:
        assert len(applied_migrations(engine)) == 4
    finally:
        engine.dispose()


def test_sqlite_engine_uses_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "busy_timeout", "foreign_keys")
            }
    finally:
        engine.dispose()
    assert pragma == {"journal_mode": "wal", "busy_timeout": 30000, "foreign_keys": 1}


def test_sqlite_transactions_hold_the_writer_lock_from_the_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    first = make_engine(url)
    try:
        with first.connect() as conn:
            conn.exec_driver_sql("PRAGMA busy_timeout = 0")
            conn.exec_driver_sql("SELECT 1")  # a reading transaction, begun IMMEDIATE
            other = sqlite3.connect(tmp_path / "x.db", timeout=0, isolation_level=None)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            finally:
                other.close()
    finally:
        first.dispose()


def test_postgres_urls_without_a_driver_use_psycopg_3() -> None:
    engine = make_engine("postgresql://someone@127.0.0.1:1/nothing")
    try:
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


def test_bad_database_urls_are_one_line_workspace_errors(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="not a database URL"):
        make_engine("no url at all")
    with pytest.raises(WorkspaceError, match="unsupported database 'mysql'") as err:
        make_engine("mysql://root:secret@localhost/db")
    assert "secret" not in str(err.value)
    with pytest.raises(WorkspaceError, match="database folder does not exist"):
        make_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")


def test_an_unreachable_database_is_reported_on_migrate() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    engine = make_engine(f"postgresql+psycopg://postgres:pw@127.0.0.1:{port}/sopflow")
    try:
        with pytest.raises(WorkspaceError, match=r"cannot open database .*127\.0\.0\.1") as err:
            migrate(engine, MIGRATIONS)
        assert "pw" not in str(err.value) and "\n" not in str(err.value)
    finally:
        engine.dispose()
