"""`--shards 1`: the machine running a whole playbook run dies; the other machine's `sop worker`
marks the run Crashed, submits it again, runs it, and every action is sent exactly once.

PostgreSQL for sopflow's database, a Prefect server, two `sop worker` processes (one is
SIGKILLed, with its flow run, while it sends).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
from prefect.client.schemas.objects import StateType
from prefect.deployments import run_deployment
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from engine.ledger import Delivery
from flows.runtime import PrefectServer, prefect_environment
from services import playbooks
from services.db import make_engine
from services.pool_runs import AGAIN_LABEL
from services.shards import worker_of_run
from services.workspace import open_workspace
from tests.support import pool_cluster
from tests.support.pg_cluster import PgCluster
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
POOL = "whole-runs"
DAY = date(2026, 9, 8)


def read(run_id: Any) -> Any:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id)


def sent_by(engine: Engine, run_id: Any) -> int:
    with Session(engine) as session:
        query = select(func.count()).where(col(Delivery.owner).startswith(f"{run_id}/"))
        return int(session.exec(query.where(Delivery.status == "sent")).one())


def test_a_whole_run_whose_machine_died_is_resubmitted_and_completed_by_the_other(
    pg_cluster: PgCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_SERVER_SERVICES_FOREMAN_LOOP_SECONDS", "2")
    pg_cluster.admin("CREATE DATABASE whole_runs")
    db_url = pg_cluster.url("whole_runs")
    central, outbox = tmp_path / "central", tmp_path / "outbox"
    store_url = (tmp_path / "store.git").as_uri()
    pool_cluster.make_central(central, store_url=store_url, database_url=db_url, groups=3000)
    caches = {
        name: pool_cluster.make_cache(tmp_path / name, outbox=outbox)
        for name in ("machine-a", "machine-b")
    }
    engine = make_engine(db_url)
    with open_workspace(central) as ws:
        planned = {a.key for a in playbooks.plan_day(ws, playbook="mature_day", day=DAY).actions}

    with PrefectServer(tmp_path / "prefect") as server:
        pool_cluster.register(central, pool=POOL, api_url=server.api_url, shards=1)
        with prefect_environment(server.env()), get_client(sync_client=True) as client:
            client.pause_deployment(
                client.read_deployment_by_name("welcome/welcome-every-5-min").id
            )
        with (
            pool_cluster.machines(
                caches,
                pool=POOL,
                api_url=server.api_url,
                limit=2,
                SOPFLOW_LEASE_SECONDS="20",
                **pool_cluster.shared_settings(store_url=store_url, database_url=db_url),
            ) as machines,
            prefect_environment(server.env()),
        ):
            run = run_deployment(
                "mature_day/mature_day-2000",
                parameters={"day": DAY.isoformat(), "scheduled_clock": True},
                timeout=0,
            )
            wait_until(
                lambda: sent_by(engine, run.id) > 0, timeout=180, interval=0.2, what="sending"
            )
            victim = worker_of_run(read(run.id).labels)
            assert victim in machines.workers
            machines.workers[victim].kill()
            again_id = wait_until(
                lambda: read(run.id).labels.get(AGAIN_LABEL),
                timeout=180,
                interval=1,
                what="the other worker to submit the run again",
            )
            wait_until(
                lambda: read(again_id).state_type in (StateType.COMPLETED, StateType.FAILED),
                timeout=400,
                interval=1,
                what="the resubmitted run to finish",
            )
            crashed, again = read(run.id), read(again_id)
            with get_client(sync_client=True) as client:
                copies = client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[again.name]))
                )

    assert crashed.state_type == StateType.CRASHED
    assert f"worker {victim} went offline" in str(crashed.state.message if crashed.state else "")
    assert again.state_type == StateType.COMPLETED, again.state
    assert worker_of_run(again.labels) not in (None, victim)
    assert len(copies) == 1  # the living worker looked many times: one resubmission
    with Session(engine) as session:
        ledger = dict(session.exec(select(Delivery.key, Delivery.status)).all())
    engine.dispose()
    assert ledger == {key: "sent" for key in planned}
    written = pool_cluster.outbox_keys(outbox, DAY)
    assert len(written) == len(set(written)) == len(planned)
