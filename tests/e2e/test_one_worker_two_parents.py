"""One machine left, `--limit 2`, two sharded parents: they hold both slots, yet finish.

The audit's 21:00 deadlock: two parents took both slots of the only live worker and their
shard runs sat Scheduled until the 4-hour deadline. Now each parent withdraws its shard runs
still Scheduled after `inline_after_s` and runs them itself. PostgreSQL for sopflow's
database (the worker's flow runs write at once), a Prefect server, one `sop worker`.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.client.schemas.objects import StateType
from prefect.deployments import run_deployment
from sqlmodel import Session, select

from engine.ledger import Delivery
from flows.runtime import PrefectServer, prefect_environment
from services import playbooks
from services.db import make_engine
from services.workspace import open_workspace
from tests.support import pool_cluster
from tests.support.pg_cluster import PgCluster
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
POOL = "one-machine-left"
DAYS = (date(2026, 9, 8), date(2026, 9, 9))  # Tuesday, Wednesday: one parent each


def finished(run_id: Any) -> bool:
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run_id).state_type
    return state in (StateType.COMPLETED, StateType.FAILED, StateType.CRASHED)


def shard_table(run_id: Any) -> list[dict[str, Any]]:
    only = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=only)
    [table] = [a for a in found if a.key == "mature-day-shards"]
    return sorted(json.loads(str(table.data)), key=lambda r: (r["shard"], r["attempt"]))


def test_two_parents_holding_the_only_workers_two_slots_run_their_shards_themselves(
    pg_cluster: PgCluster, tmp_path: Path
) -> None:
    pg_cluster.admin("CREATE DATABASE one_left_sopflow")
    db_url = pg_cluster.url("one_left_sopflow")
    central, outbox = tmp_path / "central", tmp_path / "outbox"
    store_url = (tmp_path / "store.git").as_uri()
    pool_cluster.make_central(central, store_url=store_url, database_url=db_url, groups=60)
    cache = pool_cluster.make_cache(tmp_path / "machine-a", outbox=outbox)
    with open_workspace(central) as ws:
        planned = {
            a.key
            for day in DAYS
            for a in playbooks.plan_day(ws, playbook="mature_day", day=day).actions
        }

    with PrefectServer(tmp_path / "prefect") as server:
        pool_cluster.register(central, pool=POOL, api_url=server.api_url, shards=2)
        with prefect_environment(server.env()), get_client(sync_client=True) as client:
            client.pause_deployment(
                client.read_deployment_by_name("welcome/welcome-every-5-min").id
            )
        with (
            pool_cluster.machines(
                {"machine-a": cache},
                pool=POOL,
                api_url=server.api_url,
                limit=2,
                **pool_cluster.shared_settings(store_url=store_url, database_url=db_url),
            ),
            prefect_environment(server.env()),
        ):
            parents = [
                run_deployment(
                    "sharded_playbook/mature_day-2000",
                    parameters={
                        "day": day.isoformat(),
                        "scheduled_clock": True,
                        "inline_after_s": 20,
                    },
                    timeout=0,
                )
                for day in DAYS
            ]
            for parent in parents:
                wait_until(
                    lambda: finished(parent.id),  # noqa: B023 - waited for at once
                    timeout=600,
                    interval=2,
                    what="a parent run to finish",
                )
            with get_client(sync_client=True) as client:
                ended = [client.read_flow_run(p.id).state_type for p in parents]
            tables = [shard_table(p.id) for p in parents]

    assert ended == [StateType.COMPLETED, StateType.COMPLETED]
    for rows in tables:  # every shard of each parent ended Completed, at least one inline
        last = {r["shard"]: r for r in rows}
        assert [r["state"] for r in last.values()] == ["COMPLETED", "COMPLETED"]
        assert any(r["flow_run"].endswith("-inline") for r in last.values())
        assert all(
            "run inline by the parent" in r["note"] for r in rows if r["state"] == "CANCELLED"
        )
    engine = make_engine(db_url)
    with Session(engine) as session:
        ledger = dict(session.exec(select(Delivery.key, Delivery.status)).all())
    engine.dispose()
    assert ledger == {key: "sent" for key in planned}
    written = [k for day in DAYS for k in pool_cluster.outbox_keys(outbox, day)]
    assert sorted(written) == sorted(planned)
