"""Pytest plugin: a throwaway PostgreSQL 15 cluster per test session, and per-test databases.

Fixtures:
    postgres_url   session: URL of a database on a fresh cluster (fails if PostgreSQL is absent)
    db_url         per test, parametrized ["sqlite", "postgres"]: a fresh empty database
    db_engine      per test: `services.db.make_engine(db_url)` with the version migrations applied

The cluster runs as the unprivileged `postgres` user when tests run as root (initdb refuses
root), listens on 127.0.0.1 on a free port with trust auth, keeps its socket in its own temp
folder, and is stopped and deleted when the session ends.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine

from engine.migrations import MIGRATIONS as ENGINE_MIGRATIONS
from services.db import make_engine, migrate
from versions.migrations import MIGRATIONS

FALLBACK_BINDIR = Path("/usr/lib/postgresql/15/bin")
SERVER_USER = "postgres"


def _bindir() -> Path:
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            candidates.append(Path(out.stdout.strip()))
    candidates.append(FALLBACK_BINDIR)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    pytest.fail(
        "PostgreSQL server binaries (initdb, pg_ctl) not found via `pg_config --bindir` or in"
        f" {FALLBACK_BINDIR}: install postgresql-15 (apt-get install postgresql-15)",
        pytrace=False,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PgCluster:
    """A running cluster: where it lives and how to reach it."""

    bindir: Path
    root: Path
    port: int
    as_user: dict[str, Any]

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        """Run one statement on the maintenance database, outside a transaction."""
        conninfo = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            check=False,
            cwd=self.root,
            env={**os.environ, "HOME": str(self.root)},
            **self.as_user,
        )

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.root}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = str(self.root / "server.log")
        done = self.run(
            "pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "-t", "60", "start"
        )
        if done.returncode != 0:
            text = Path(log).read_text(errors="replace") if Path(log).exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {done.stdout}{done.stderr}\n{text[-2000:]}")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


def _start_cluster() -> PgCluster:
    bindir = _bindir()
    root = Path(tempfile.mkdtemp(prefix="sopflow-pg-"))
    as_user: dict[str, Any] = {}
    if os.geteuid() == 0:
        shutil.chown(root, user=SERVER_USER, group=SERVER_USER)
        as_user = {"user": SERVER_USER, "group": SERVER_USER, "extra_groups": []}
    cluster = PgCluster(bindir, root, _free_port(), as_user)
    init = cluster.run(
        "initdb",
        "-D",
        str(cluster.data),
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    )
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"initdb failed: {init.stdout}{init.stderr}", pytrace=False)
    for attempt in range(3):
        try:
            cluster.start()
            return cluster
        except RuntimeError:
            if attempt == 2:
                shutil.rmtree(root, ignore_errors=True)
                raise
            cluster.port = _free_port()  # another process took the port in between
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL cluster for the whole test session."""
    cluster = _start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(pg_cluster: PgCluster) -> str:
    """URL of a database created once on the session's cluster."""
    pg_cluster.admin("CREATE DATABASE sopflow_test")
    return pg_cluster.url("sopflow_test")


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for one test, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    name = f"t_{uuid.uuid4().hex[:16]}"
    cluster.admin(f"CREATE DATABASE {name}")
    try:
        yield cluster.url(name)
    finally:
        cluster.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def engine_db(db_url: str) -> Iterator[Engine]:
    """A fresh database with the engine's migrations (groups, members, ledger) applied."""
    engine = make_engine(db_url)
    assert migrate(engine, ENGINE_MIGRATIONS) == [name for name, _ in ENGINE_MIGRATIONS]
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    """A migrated engine on `db_url`."""
    engine = make_engine(db_url)
    migrate(engine, MIGRATIONS)
    try:
        yield engine
    finally:
        engine.dispose()
