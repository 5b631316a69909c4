"""Two machines on one: PostgreSQL, a Prefect server on PostgreSQL, `sop worker` processes.

Shared by tests/e2e/test_two_workers.py and bench/two_workers.py. The "registering machine"
is a workspace folder (`central`) with `store_url` (a shared bare repository) and
`database_url` in its sopflow.toml; every worker gets an empty local workspace cache and
SOPFLOW_STORE_URL / SOPFLOW_DATABASE_URL in its environment (it clones its store mirror on
first use and fetches it at the start of every run). Their `outbox/` folders are one
shared folder (the outbox channel stands in for WeCom, which every machine reaches and asks
the same questions: the outbox's reconciliation after a crash reads what any machine wrote).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import insert

from engine.groups import Group
from services.workspace import init_workspace
from versions import services

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mombaby-refined.yaml"
SAVED_AT = datetime(2026, 1, 1, tzinfo=UTC)
START = date(2026, 1, 5)  # the groups' day 1: mature by September
SOP = shutil.which("sop", path=str(Path(sys.executable).parent)) or "sop"


def make_central(root: Path, *, store_url: str, database_url: str, groups: int) -> str:
    """The registering machine's workspace: the example promoted, `groups` mature outbox
    groups registered by one bulk insert (the CSV import's checks are not what the pool
    tests are about). Returns the SOP id."""
    ws = init_workspace(root, store_url=store_url, database_url=database_url)
    try:
        text = EXAMPLE.read_text(encoding="utf-8")
        info = services.save_version(
            ws.uow(), text=text, source=str(EXAMPLE), author="小王", message="首版",
            major=False, now=SAVED_AT,
        )  # fmt: skip
        services.promote(
            ws.uow(), sop_id=info.sop_id, version=str(info.version), approver="李经理",
            policy=ws.policy, now=SAVED_AT,
        )  # fmt: skip
        rows = [
            {"id": f"g{n:05d}", "name": f"宝妈成长营{n}群", "owner": "", "sender": "",
             "channel": "outbox", "target": f"chat{n}", "sop_id": info.sop_id,
             "alias": "production", "start_date": START, "member_count": 0, "tags": "[]",
             "created_at": SAVED_AT, "archived_at": None}
            for n in range(groups)
        ]  # fmt: skip
        with ws.session() as session:
            session.execute(insert(Group), rows)
            session.commit()
        return info.sop_id
    finally:
        ws.close()


def make_cache(root: Path, *, outbox: Path) -> Path:
    """One machine's local workspace cache: the shared outbox and a settings file saying the
    folder is one (a cache is made only in an empty or configured folder); the store and
    database come from the environment (`shared_settings`)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "sopflow.toml").write_text(
        "# a worker's cache: store_url and database_url come from SOPFLOW_* variables\n",
        encoding="utf-8",
    )
    outbox.mkdir(parents=True, exist_ok=True)
    (root / "outbox").symlink_to(outbox, target_is_directory=True)
    return root


def shared_settings(*, store_url: str, database_url: str) -> dict[str, str]:
    """The environment that makes an empty folder a machine's workspace cache."""
    return {"SOPFLOW_STORE_URL": store_url, "SOPFLOW_DATABASE_URL": database_url}


@dataclass
class Worker:
    """A `sop worker` process in its own process group (it and its flow runs die together)."""

    name: str
    cache: Path
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL the worker and every flow run it started: the machine dies.

        Prefect starts each flow run in a session of its own, so the worker's process group
        is not enough: every descendant is found (before the worker dies and they are
        re-parented) and killed with its group.
        """
        found = descendants(self.process.pid)
        for pid in [self.process.pid, *found]:
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, their children, ...), read from /proc."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def worker_environment(api_url: str, **extra: str) -> dict[str, str]:
    """The environment of a machine's commands: the server's address, no foreign Prefect home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SOPFLOW_"))}
    return {**env, "PREFECT_API_URL": api_url, **extra}


def start_worker(
    name: str, cache: Path, *, pool: str, api_url: str, limit: int, **extra: str
) -> Worker:
    """`sop worker --pool POOL --workspace CACHE --name NAME --limit LIMIT`, logged to a file."""
    log = cache / "worker.log"
    command = [SOP, "worker", "--pool", pool, "--workspace", str(cache), "--name", name]
    command += ["--limit", str(limit)]
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            env=worker_environment(api_url, **extra),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Worker(name, cache, process, log)


def register(central: Path, *, pool: str, api_url: str, shards: int, **extra: str) -> str:
    """`sop serve --work-pool POOL --shards N --register-only` on the registering machine
    (`extra`: more environment, e.g. SOPFLOW_CHECK_QUEUE)."""
    done = subprocess.run(
        [SOP, "-w", str(central), "serve", "--work-pool", pool, "--shards", str(shards),
         "--register-only"],
        env=worker_environment(api_url, **extra), capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"sop serve --work-pool failed: {done.stdout}{done.stderr}")
    return done.stdout


@dataclass
class Machines:
    """The workers started by `machines()`, by name."""

    workers: dict[str, Worker] = field(default_factory=dict)


@contextmanager
def machines(
    caches: dict[str, Path], *, pool: str, api_url: str, limit: int, **extra: str
) -> Iterator[Machines]:
    """Start one worker per cache; stop (or reap) them all afterwards."""
    found = Machines()
    try:
        for name, cache in caches.items():
            found.workers[name] = start_worker(
                name, cache, pool=pool, api_url=api_url, limit=limit, **extra
            )
        yield found
    finally:
        for worker in found.workers.values():
            worker.stop()


def outbox_keys(outbox: Path, day: date) -> list[str]:
    """Every key written to the shared outbox file of `day` (repeats kept)."""
    from engine.channels.outbox import read_outbox

    path = outbox / f"outbox-{day.isoformat()}.jsonl"
    return [str(r["key"]) for r in read_outbox(path)] if path.exists() else []
