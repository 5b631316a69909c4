"""Registering on a pool again replaces the earlier registration: no cron fires twice."""

from __future__ import annotations

import pytest
from prefect import get_client
from prefect.client.schemas.filters import WorkPoolFilter, WorkPoolFilterName

from flows.deploy import DeploymentSpec
from flows.playbooks import mature_day, welcome
from flows.pool import pool_deployments, pool_specs, register_on_pool, remove_others
from flows.runtime import PrefectServer

pytestmark = pytest.mark.e2e
SPECS = [
    DeploymentSpec("welcome-every-5-min", welcome, "*/5 * * * *", tags=("sopflow", "welcome")),
    DeploymentSpec("mature_day-2000", mature_day, "0 20 * * *", tags=("sopflow", "mature_day")),
]


def registered(pool: str, *, shards: int) -> list[str]:
    deployments = pool_deployments(pool_specs(SPECS, shards_total=shards), pool=pool)
    return remove_others(pool, keep=register_on_pool(deployments, pool=pool))


def on_pool(pool: str) -> set[str]:
    with get_client(sync_client=True) as client:
        found = client.read_deployments(
            work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[pool]))
        )
        flows = {f.id: f.name for f in client.read_flows()}
    return {f"{flows[d.flow_id]}/{d.name}" for d in found}


def test_registering_with_fewer_shards_removes_the_sharded_deployments_it_replaces(
    prefect_server: PrefectServer,
) -> None:
    assert registered("reshard", shards=2) == []
    assert "sharded_playbook/mature_day-2000" in on_pool("reshard")

    assert registered("reshard", shards=1) == ["sharded_playbook/mature_day-2000"]

    assert on_pool("reshard") == {
        "welcome/welcome-every-5-min", "mature_day/mature_day-2000",
        "playbook_shard/shard", "check/kpi-check",
    }  # fmt: skip


def test_another_pools_deployments_are_left_alone(prefect_server: PrefectServer) -> None:
    registered("brand-a", shards=2)
    registered("brand-b", shards=1)

    assert "sharded_playbook/mature_day-2000" in on_pool("brand-a")
