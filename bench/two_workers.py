"""A mature day for N groups on a work pool: one worker, two workers, one process.

Everything real on this machine: a PostgreSQL cluster holds sopflow's database and the
Prefect server's; workers are `sop worker` processes with their own workspace caches
(tests/support/pool_cluster.py). Each way of sending gets a fresh sopflow database with the
same SOP and groups, and runs 2026-09-08 (a workday: three columns per group) replayed:

- one process: `flows.playbooks.mature_day` called in this process against the same server
  and database (what `sop run` does), no pool;
- one worker: `sop serve --work-pool` without shards, the `mature_day-2000` deployment run by
  one `sop worker`;
- two workers: `--shards 2`, the `sharded_playbook/mature_day-2000` deployment, two workers
  (each at most 2 runs at once: the parent and a shard).

Walls run from submitting the run to seeing it Completed (Prefect's scheduling, the workers'
polling and each flow run's process start are part of them). Sharding's overhead per
message = (two-worker wall - one-process wall) / messages: with 2 cores shared by both
workers (and, today, by other work) that is what sharding costs; with two real machines the
two shards' sending would overlap instead of sharing the cores.

    python -m bench.two_workers [--groups 20000]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.table import Row, render
from flows.runtime import PrefectServer, prefect_environment
from services.workspace import open_workspace
from tests.support import pool_cluster
from tests.support.pg_cluster import PgCluster, _start_cluster

DAY = date(2026, 9, 8)
TIMEOUT_S = 1800


def _sent(central: Path) -> int:
    from sqlmodel import func, select

    from engine.ledger import Delivery

    with open_workspace(central) as ws, ws.session() as session:
        query = select(func.count()).where(Delivery.status == "sent")
        return int(session.exec(query).one())


def _prepare(
    cluster: PgCluster, root: Path, name: str, groups: int, machines: int
) -> tuple[Path, dict[str, Path], dict[str, str]]:
    cluster.admin(f"CREATE DATABASE {name}")
    url, store_url = cluster.url(name), (root / name / "store.git").as_uri()
    central = root / name / "central"
    pool_cluster.make_central(central, store_url=store_url, database_url=url, groups=groups)
    caches = {
        f"{name}-m{n}": pool_cluster.make_cache(root / name / f"m{n}", outbox=root / name / "out")
        for n in range(1, machines + 1)
    }
    return central, caches, pool_cluster.shared_settings(store_url=store_url, database_url=url)


def one_process(
    cluster: PgCluster, server: PrefectServer, root: Path, groups: int
) -> tuple[float, int]:
    """Wall of `mature_day` run in this process (seconds), and the messages sent."""
    from flows.playbooks import mature_day

    central, _, _ = _prepare(cluster, root, "b_process", groups, 0)
    with prefect_environment(server.env()):
        start = time.perf_counter()
        mature_day(workspace=str(central), day=DAY.isoformat(), scheduled_clock=True)
        wall = time.perf_counter() - start
    return wall, _sent(central)


def on_pool(
    cluster: PgCluster, server: PrefectServer, root: Path, groups: int, workers: int
) -> tuple[float, int]:
    """Wall of the pool run with `workers` workers (sharded when more than one)."""
    from prefect import get_client
    from prefect.deployments import run_deployment

    name = f"b_pool{workers}"
    central, caches, shared = _prepare(cluster, root, name, groups, workers)
    pool = name.replace("_", "-")
    pool_cluster.register(central, pool=pool, api_url=server.api_url, shards=workers)
    flow = "sharded_playbook" if workers > 1 else "mature_day"
    with (
        pool_cluster.machines(caches, pool=pool, api_url=server.api_url, limit=2, **shared),
        prefect_environment(server.env()),
    ):
        with get_client(sync_client=True) as client:
            welcome = client.read_deployment_by_name("welcome/welcome-every-5-min")
            client.pause_deployment(welcome.id)
        time.sleep(3)  # the workers' first poll
        start = time.perf_counter()
        run = run_deployment(
            f"{flow}/mature_day-2000",
            parameters={"day": DAY.isoformat(), "scheduled_clock": True},
            timeout=TIMEOUT_S,
            poll_interval=1,
        )
        wall = time.perf_counter() - start
    if not (run.state and run.state.is_completed()):
        raise RuntimeError(f"{flow} run ended {run.state}")
    return wall, _sent(central)


def run(groups: int = 20_000) -> list[Row]:
    root = Path(tempfile.mkdtemp(prefix="sopflow-two-workers-"))
    cluster = _start_cluster()
    try:
        cluster.admin("CREATE DATABASE b_prefect")
        prefect_db = f"postgresql+asyncpg://postgres@127.0.0.1:{cluster.port}/b_prefect"
        with PrefectServer(root / "prefect", database_url=prefect_db) as server:
            single, sent_single = one_process(cluster, server, root, groups)
            one, sent_one = on_pool(cluster, server, root, groups, 1)
            two, sent_two = on_pool(cluster, server, root, groups, 2)
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    if not sent_single == sent_one == sent_two:
        raise RuntimeError(f"runs sent different counts: {sent_single}, {sent_one}, {sent_two}")
    size = f"{groups:,} groups, {sent_two:,} messages"
    per_msg_us = (two - single) / sent_two * 1e6
    return [
        Row(f"mature day on a pool, two workers, 2 shards ({size}): wall", two, "s",
            "one worker, no shards", one, "none set",
            "ratio = two / one (lower is better); 2 cores shared by both workers and other work"),
        Row(f"mature day, one process, no pool ({size}): wall", single, "s",
            "one worker on the pool", one, "none (diagnostic)",
            "ratio = in-process / one worker: what the pool's scheduling and process start cost"),
        Row(f"sharding overhead per message ({size})", per_msg_us, "us/msg",
            "one process, per message", single / sent_two * 1e6, "none set",
            "(two-worker wall - one-process wall) / messages, against one-process wall / messages"),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--groups", type=int, default=20_000)
    args = parser.parse_args()
    print(render(run(args.groups)))


if __name__ == "__main__":
    main()
