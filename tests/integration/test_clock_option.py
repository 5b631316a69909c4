"""`pytest --clock INSTANT` (tests/support/clock.py): an inner pytest session runs at INSTANT,
its spawned children too, and pydantic, YAML, SQLite and GitPython keep working on that clock."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What tests/__init__.py does: a spawned child imports the test's package first.
HOOK = "from tests.support.frozen_clock import follow_parent_clock\nfollow_parent_clock()\n"
INNER = """
import multiprocessing
import time
from datetime import UTC, date, datetime

import git
import yaml
from pydantic import BaseModel
from sqlalchemy import create_engine, text


class Row(BaseModel):
    day: date
    at: datetime


def child_day(queue):
    queue.put(date.today().isoformat())


def test_the_session_runs_at_the_instant_and_ticks(tmp_path):
    assert datetime.now(UTC).strftime("%Y-%m-%d %H:%M") == "2027-01-04 02:00"
    before = time.monotonic()
    time.sleep(0.05)
    assert time.monotonic() > before


def test_a_spawned_child_follows_the_clock():
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=child_day, args=(queue,))
    child.start()
    assert queue.get(timeout=120) == "2027-01-04"
    child.join(timeout=60)


def test_models_yaml_sqlite_and_git_take_the_fake_clock(tmp_path):
    row = Row(day=date.today(), at=datetime.now(UTC))
    assert yaml.safe_dump(row.model_dump()).startswith("at: 2027-01-04 02:00")
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as db:
        db.execute(text("CREATE TABLE t (at TIMESTAMP)"))
        db.execute(text("INSERT INTO t VALUES (:at)"), {"at": row.at})
        assert db.execute(text("SELECT at FROM t")).scalar().startswith("2027-01-04 02:00")
    repo = git.Repo.init(tmp_path / "repo")
    (tmp_path / "repo" / "f").write_text("x")
    repo.index.add(["f"])
    actor = git.Actor("t", "t@example.com")
    commit = repo.index.commit("c", author=actor, committer=actor)
    assert commit.committed_datetime.astimezone(UTC).date() == date(2027, 1, 4)
"""


def test_clock_option_runs_an_inner_session_at_the_instant(tmp_path: Path) -> None:
    package = tmp_path / "inner"
    package.mkdir()
    (package / "__init__.py").write_text(HOOK, encoding="utf-8")
    (package / "test_inner.py").write_text(INNER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SOPFLOW_TEST_CLOCK_OFFSET", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-p", "tests.support.clock", "--clock", "2027-01-04T02:00:00Z",
         "--rootdir", str(tmp_path), "inner/test_inner.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
