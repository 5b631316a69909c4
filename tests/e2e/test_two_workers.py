"""Two machines, one dies: a sharded mature day for 20,000 groups on a work pool.

PostgreSQL holds sopflow's database and the Prefect server's own; two `sop worker` processes
with separate workspace caches stand in for two machines. One worker is SIGKILLed (with its
flow runs) while its shard is sending; the other completes that shard.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    FlowFilter,
    FlowFilterName,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from engine.ledger import Delivery
from flows.runtime import PrefectServer, prefect_environment
from flows.shards import WORKER_ARTIFACT
from services import playbooks
from services.db import make_engine
from services.workspace import open_workspace
from tests.support import pool_cluster
from tests.support.pg_cluster import PgCluster
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
GROUPS = 20_000
DAY = date(2026, 9, 8)  # a Tuesday: the mature day's three workday columns
POOL = "sop-machines"
LEASE_S = "20"  # the dead worker's `sending` rows are free again 20 s after its last beat


def artifacts(run_id: UUID, key: str) -> list[Any]:
    only = ArtifactFilter(
        flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]), key=ArtifactFilterKey(any_=[key])
    )
    with get_client(sync_client=True) as client:
        return client.read_artifacts(artifact_filter=only)


def worker_of(run_id: UUID) -> str | None:
    found = artifacts(run_id, WORKER_ARTIFACT)
    return str(found[0].data) if found and found[0].data else None


def shard_runs() -> list[FlowRun]:
    only = FlowFilter(name=FlowFilterName(any_=["playbook_shard"]))
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(flow_filter=only)


def read_run(run_id: UUID) -> FlowRun:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id)


def sent_by(engine: Engine, run_id: UUID) -> int:
    """Actions a flow run's batches marked sent (one small query: it is polled)."""
    with Session(engine) as session:
        query = select(func.count()).where(col(Delivery.owner).startswith(f"{run_id}/"))
        return int(session.exec(query.where(Delivery.status == "sent")).one())


def test_a_killed_workers_shard_is_completed_by_the_other_and_every_action_is_sent_once(
    pg_cluster: PgCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server looks for workers past their heartbeats every 2 s, not 15: the dead worker
    # is seen offline sooner (the 3-missed-heartbeats rule itself is unchanged).
    monkeypatch.setenv("PREFECT_SERVER_SERVICES_FOREMAN_LOOP_SECONDS", "2")
    pg_cluster.admin("CREATE DATABASE machines_sopflow")
    pg_cluster.admin("CREATE DATABASE machines_prefect")
    db_url = pg_cluster.url("machines_sopflow")
    prefect_db = f"postgresql+asyncpg://postgres@127.0.0.1:{pg_cluster.port}/machines_prefect"
    central, outbox = tmp_path / "central", tmp_path / "shared-outbox"
    store_url = (tmp_path / "shared-store.git").as_uri()
    pool_cluster.make_central(central, store_url=store_url, database_url=db_url, groups=GROUPS)
    caches = {
        name: pool_cluster.make_cache(tmp_path / name, outbox=outbox)
        for name in ("machine-a", "machine-b")
    }
    shared = pool_cluster.shared_settings(store_url=store_url, database_url=db_url)
    engine = make_engine(db_url)
    with open_workspace(central) as ws:
        planned = {a.key for a in playbooks.plan_day(ws, playbook="mature_day", day=DAY).actions}
    assert len(planned) >= GROUPS  # every group has at least one post that day

    with PrefectServer(tmp_path / "prefect", database_url=prefect_db) as server:
        listed = pool_cluster.register(
            central, pool=POOL, api_url=server.api_url, shards=2, SOPFLOW_CHECK_QUEUE="events"
        )
        assert f"sharded_playbook/mature_day-2000 on pool {POOL}  cron" in listed
        assert f"check/kpi-check on pool {POOL}  queue events  on demand" in listed
        with prefect_environment(server.env()), get_client(sync_client=True) as client:
            # The 5-minute welcome loop has no joins to welcome here; paused, it takes no slot.
            client.pause_deployment(
                client.read_deployment_by_name("welcome/welcome-every-5-min").id
            )
        with (
            pool_cluster.machines(
                caches,
                pool=POOL,
                api_url=server.api_url,
                limit=2,
                SOPFLOW_LEASE_SECONDS=LEASE_S,
                **shared,
            ) as machines,
            prefect_environment(server.env()),
        ):
            parent = run_deployment(
                "sharded_playbook/mature_day-2000",
                parameters={"day": DAY.isoformat(), "scheduled_clock": True},
                timeout=0,
            )
            parent_worker = wait_until(
                lambda: worker_of(parent.id), timeout=120, what="the parent run to start"
            )

            def victim_shard() -> tuple[FlowRun, str] | None:
                for run in shard_runs():
                    worker = worker_of(run.id)
                    if worker and worker != parent_worker and sent_by(engine, run.id) > 0:
                        return run, worker
                return None

            # With 2 runs per worker, the parent's worker runs at most one of the two shards.
            shard, victim = wait_until(
                victim_shard, timeout=180, interval=0.2, what="a shard sending on the other worker"
            )
            machines.workers[victim].kill()
            sent_before_kill = sent_by(engine, shard.id)
            survivor = parent_worker
            wait_until(
                lambda: (
                    read_run(parent.id).state_type
                    in (StateType.COMPLETED, StateType.FAILED, StateType.CRASHED)
                ),
                timeout=400,
                interval=1,
                what="the parent run to finish",
            )
            ended = read_run(parent.id)
            [table] = artifacts(parent.id, "mature-day-shards")

    assert ended.state_type == StateType.COMPLETED, ended.state
    assert 0 < sent_before_kill < len(planned) / 2  # killed in the middle of its shard
    attempts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in sorted(json.loads(table.data), key=lambda r: r["attempt"]):
        attempts[row["shard"]].append(row)
    assert sorted(attempts) == ["1/2", "2/2"]
    killed = [s for s, tries in attempts.items() if tries[0]["worker"] == victim]
    assert (
        next(r["shard"] for r in json.loads(table.data) if r["flow_run_id"] == str(shard.id))
        in killed
    )
    for label, tries in attempts.items():
        seen = [(r["worker"], r["state"]) for r in tries]
        if label in killed:  # crashed with the worker, then completed by the other
            assert seen == [(victim, "CRASHED"), (survivor, "COMPLETED")]
            assert "offline" in tries[0]["note"]
            assert f"shard {label.split('/')[0]} (worker {victim} went offline" in table.description
        else:
            assert seen == [(survivor, "COMPLETED")]
    with Session(engine) as session:
        ledger = dict(session.exec(select(Delivery.key, Delivery.status)).all())
    engine.dispose()
    assert ledger == {key: "sent" for key in planned}
    written = pool_cluster.outbox_keys(outbox, DAY)
    assert len(written) == len(set(written)) == len(planned)
    assert set(written) == planned
