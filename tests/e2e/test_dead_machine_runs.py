"""A run whose machine died is marked Crashed and submitted again, once, by a living worker.

Against the session's real Prefect server: a flow run of a pool deployment is claimed by a
worker (its label, as a Prefect worker sets it) that then stops heartbeating; the server marks
that worker offline, and `recover_runs` (what every `sop worker` runs every 20 s) acts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
from prefect.states import Pending, Running

from flows.deploy import DeploymentSpec
from flows.playbooks import mature_day
from flows.pool import pool_deployments, pool_specs, recover_runs, register_on_pool
from flows.runtime import PrefectServer
from services.doctor_prefect import check_pool
from services.pool_runs import AGAIN_LABEL
from sop_models.i18n import use_language
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
POOL = "a-machine-died"


def test_a_run_on_an_offline_worker_is_crashed_and_submitted_again_once(
    prefect_server: PrefectServer,
) -> None:
    specs = [DeploymentSpec("mature_day-2000", mature_day, "0 20 * * *", tags=("sopflow",))]
    ids = register_on_pool(
        pool_deployments(pool_specs(specs, shards_total=1), pool=POOL), pool=POOL
    )
    with get_client(sync_client=True) as client:
        run = client.create_flow_run_from_deployment(ids[0], name="dead-machines-run")
        client.set_flow_run_state(run.id, Pending(), force=True)
        client.set_flow_run_state(run.id, Running(), force=True)
        client.update_flow_run_labels(run.id, {"prefect.worker.name": "机器B"})
        client.send_worker_heartbeat(POOL, "机器B", heartbeat_interval_seconds=1)
    assert recover_runs(POOL) == []  # its worker is still online

    def offline() -> bool:
        with get_client(sync_client=True) as client:
            return any(
                w.name == "机器B" and str(w.status).upper().endswith("OFFLINE")
                for w in client.read_workers_for_work_pool(POOL)
            )

    wait_until(offline, timeout=90, interval=1, what="the server to see the worker offline")
    done = recover_runs(POOL)

    assert done == [
        f"run dead-machines-run ({run.id}): worker 机器B went offline (no heartbeat): marked"
        " Crashed and submitted again",
        f"run dead-machines-run ({run.id}) crashed: submitted again as dead-machines-run-again",
    ]
    assert recover_runs(POOL) == []  # once, however often the workers look
    with get_client(sync_client=True) as client:
        crashed = client.read_flow_run(run.id)
        [again] = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=["dead-machines-run-again"]))
        )
    assert crashed.state_type is not None and crashed.state_type.value == "CRASHED"
    assert crashed.labels[AGAIN_LABEL] == str(again.id)
    assert again.deployment_id == UUID(str(ids[0])) and again.parameters == run.parameters
    assert {"sopflow-attempt-2", "sopflow-resubmitted"} <= set(again.tags)
    with use_language("en"):
        *_, doctor = check_pool(prefect_server.api_url, POOL, now=datetime.now(UTC))
    assert not doctor.ok and doctor.what == (
        f"runs of {POOL}: 1 died with their machine in the last day, submitted again"
        " (dead-machines-run-again)"
    )
