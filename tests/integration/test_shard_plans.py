"""Shards on a real workspace: their plans split the day's plan; pool deployments and CLI."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from engine.groups import add_group
from flows.deploy import DeploymentSpec
from flows.playbooks import mature_day, welcome
from flows.pool import pool_deployments, pool_specs, process_worker
from services import playbooks
from services.shards import in_shard
from services.workspace import Workspace
from tests.support.planning import local
from tests.support.workspaces import Cli, in_production

SETUP = datetime(2026, 8, 1, 9, 0, tzinfo=UTC)
SOP = "mombaby-refined"
DAY = date(2026, 9, 8)


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    """Mombaby 1.0 in production, 40 mature outbox groups."""
    in_production(workspace, SOP, now=SETUP)
    with workspace.session() as session:
        for n in range(40):
            add_group(
                session, id=f"城市{n:02d}群", name=f"宝妈成长营{n}群", sop_id=SOP, now=SETUP,
                channel="outbox", target=f"chat{n}", start_date=date(2026, 8, 1),
            )  # fmt: skip
        session.commit()
    return workspace


def test_the_shards_plans_together_are_the_days_plan_each_action_once(ws: Workspace) -> None:
    now = local(2026, 9, 8, 20, 0)
    whole = playbooks.plan_due(ws, playbook="mature_day", day=DAY, now=now)
    parts = [
        playbooks.plan_due(ws, playbook="mature_day", day=DAY, now=now, keep=in_shard(s, 3))
        for s in range(3)
    ]
    keys = [a.key for part in parts for a in part.actions]
    assert len(keys) == len(set(keys)) == len(whole.actions) > 0
    assert set(keys) == {a.key for a in whole.actions}
    assert all(part.actions for part in parts)  # 40 groups reach every shard
    groups = [{a.group_id for a in part.actions} for part in parts]
    assert not (groups[0] & groups[1]) and not (groups[1] & groups[2])


def test_pool_deployments_take_the_workspace_from_the_worker_and_shard_playbooks() -> None:
    folder = {"workspace": "/srv/ops"}
    specs = [
        DeploymentSpec("welcome-every-5-min", welcome, "*/5 * * * *", parameters=folder),
        DeploymentSpec("mature_day-1000", mature_day, "0 10 * * *", parameters=folder),
    ]
    sharded = pool_specs(specs, shards_total=4)
    assert [(s.name, s.flow.name, s.cron) for s in sharded] == [
        ("welcome-every-5-min", "welcome", "*/5 * * * *"),
        ("mature_day-1000", "sharded_playbook", "0 10 * * *"),
    ]
    assert sharded[0].parameters == {"workspace": ""}
    assert sharded[1].parameters == {"workspace": "", "playbook": "mature_day", "shards_total": 4}
    plain = pool_specs(specs, shards_total=1)
    assert [(s.flow.name, s.parameters) for s in plain] == [
        ("welcome", {"workspace": ""}),
        ("mature_day", {"workspace": ""}),
    ]


@pytest.mark.parametrize(
    "args", [("serve", "--work-pool", "sop", "--register-only"), ("worker", "--pool", "sop")]
)
def test_pool_commands_without_a_prefect_server_say_so_in_one_line(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = cli(*args, ok=False)
    assert result.exit_code == 2
    assert result.stderr.startswith("sop: error: work pools need a real Prefect server")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("serve", "--shards", "2", "--register-only"), "--shards needs --work-pool"),
        (("serve", "--work-pool", "sop", "--limit", "2"), "--limit does nothing with --work-pool"),
    ],
)
def test_serve_flags_that_would_be_ignored_are_refused_in_one_line(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], said: str
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # never reached
    result = cli(*args, ok=False)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"sop: error: {said}")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("queue", ["events", None])
def test_the_pools_check_deployment_routes_kpi_checks_to_the_check_queue(
    queue: str | None,
) -> None:
    specs = [DeploymentSpec("mature_day-1000", mature_day, "0 10 * * *")]
    routed = pool_deployments(pool_specs(specs, shards_total=2), pool="sop", check_queue=queue)
    by_name = {d.name: d for d in routed}
    check = by_name["kpi-check"]
    assert (check.work_pool_name, check.work_queue_name) == ("sop", queue)
    assert check.entrypoint == "flows.check.check"
    assert check.parameters == {"workspace": ""}  # the worker's own cache
    assert not check.schedules  # on demand: `sop check` or the console start it
    others = [d for name, d in by_name.items() if name != "kpi-check"]
    assert {d.name for d in others} == {"mature_day-1000", "shard"}
    assert all(d.work_queue_name is None for d in others)  # sending stays on every machine


def test_a_worker_given_queues_takes_runs_only_from_them() -> None:
    routed = process_worker("sop", name="机器A", limit=2, queues=["events", "default"])
    assert routed._work_queues == {"events", "default"}
    assert (routed.name, routed._work_pool_name, routed._limit) == ("机器A", "sop", 2)
    assert process_worker("sop", name="机器B", limit=None, queues=[])._work_queues == set()
