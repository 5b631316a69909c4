"""Deployments on a Prefect *process* work pool, and the worker that runs them.

`sop serve --work-pool P` registers the same cron deployments as `sop serve` (Asia/Shanghai),
but on pool P instead of serving them in this process: any machine where sopflow is installed
runs them with `sop worker --pool P`. A deployment on a pool names its flow by module path
(`flows.playbooks.mature_day`), which every machine can import from the installed package, and
carries no folder: `workspace=""` makes each flow run open its worker's own local workspace
cache (SOPFLOW_WORKSPACE, set by `sop worker`). With `shards > 1` the playbook deployments run
`flows.shards.sharded_playbook`, which fans each run out to the `playbook_shard/shard`
deployment (no schedule), one flow run per shard. The on-demand KPI check deployment
(`check/kpi-check`) sits on the work queue `check_queue` (a setting), so checks run only on
the machines that can read the event store: start those with `sop worker --queue NAME`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import prefect
from prefect import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import ObjectNotFound
from prefect.types.entrypoint import EntrypointType

from flows.check import check
from flows.deploy import DeploymentSpec, build_deployments
from flows.shards import SHARD_DEPLOYMENT, playbook_shard, sharded_playbook
from services import pool_runs, shards
from services.prefect_api import prefect_api_errors
from sop_models.errors import DeploymentError

if TYPE_CHECKING:
    from prefect.workers.process import ProcessWorker

POOL_TYPE = "process"
WORKER_POLL_S = 2  # how often a worker asks the pool for runs (Prefect's default is 10 s)
WORKER_HEARTBEAT_S = 5  # the pool reports a worker offline after 3 missed heartbeats
CHECK_DEPLOYMENT = "kpi-check"
RECOVER_EVERY_S = 20.0  # how often each `sop worker` looks for runs of dead machines
SOPFLOW_TAG = "sopflow"  # every deployment sopflow registers carries it


def _api() -> str:
    return prefect.settings.get_current_settings().api.url or "(ephemeral)"


def ensure_pool(name: str) -> bool:
    """Create the process work pool `name` unless it exists; True when it was created."""
    from prefect.workers.process import ProcessWorker

    with prefect_api_errors(_api()), get_client(sync_client=True) as client:
        try:
            found = client.read_work_pool(name)
        except ObjectNotFound:
            template = ProcessWorker.get_default_base_job_template()
            client.create_work_pool(
                WorkPoolCreate(name=name, type=POOL_TYPE, base_job_template=template)
            )
            return True
    if found.type != POOL_TYPE:
        raise DeploymentError(f"work pool {name!r} is a {found.type!r} pool, not a process pool")
    return False


def pool_specs(specs: Iterable[DeploymentSpec], *, shards_total: int) -> list[DeploymentSpec]:
    """The cron specs for a pool: no workspace folder; playbooks sharded when asked."""
    shards.check_shards(shards_total)
    found = []
    for spec in specs:
        params = {**(spec.parameters or {}), "workspace": shards.FROM_WORKER}
        playbook = spec.flow.name
        if shards_total > 1 and playbook != "welcome":
            spec = spec._replace(flow=sharded_playbook)
            params.update(playbook=playbook, shards_total=shards_total)
        found.append(spec._replace(parameters=params))
    return found


def pool_deployments(
    specs: Iterable[DeploymentSpec], *, pool: str, check_queue: str | None = None
) -> list[RunnerDeployment]:
    """Runner deployments on `pool` with module-path entrypoints, plus the shard deployment
    and the on-demand check deployment on work queue `check_queue` (None: the pool's default)."""
    deployments = build_deployments(
        specs, work_pool_name=pool, entrypoint_type=EntrypointType.MODULE_PATH
    )
    deployments.append(
        playbook_shard.to_deployment(
            name=SHARD_DEPLOYMENT,
            description="One shard of a sharded playbook run (submitted by sharded_playbook)",
            tags=[SOPFLOW_TAG, "shard"],
            work_pool_name=pool,
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
    )
    deployments.append(
        check.to_deployment(
            name=CHECK_DEPLOYMENT,
            parameters={"workspace": shards.FROM_WORKER},
            description="A KPI check of one SOP's candidate (needs the event store: check_queue)",
            tags=[SOPFLOW_TAG, "check"],
            work_pool_name=pool,
            work_queue_name=check_queue,
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
    )
    return deployments


def register_on_pool(deployments: Iterable[RunnerDeployment], *, pool: str) -> list[UUID]:
    """Create the pool if missing, then create or update the deployments on it."""
    ensure_pool(pool)
    with prefect_api_errors(_api()):
        return [deployment.apply(work_pool_name=pool) for deployment in deployments]


def remove_others(pool: str, *, keep: Iterable[UUID]) -> list[str]:
    """Delete the sopflow deployments on `pool` that are not in `keep` (a registration's
    ids): a deployment left from an earlier registration (other shards, a retired SOP) would
    fire its cron too. Returns their names (flow/deployment)."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterTags,
        FlowFilter,
        FlowFilterId,
        WorkPoolFilter,
        WorkPoolFilterName,
    )

    kept = set(keep)
    removed = []
    with prefect_api_errors(_api()), get_client(sync_client=True) as client:
        found = client.read_deployments(
            deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=[SOPFLOW_TAG])),
            work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[pool])),
        )
        stale = [d for d in found if d.id not in kept]
        only = FlowFilter(id=FlowFilterId(any_=[d.flow_id for d in stale]))
        flows = {f.id: f.name for f in client.read_flows(flow_filter=only)} if stale else {}
        for deployment in stale:
            client.delete_deployment(deployment.id)
            removed.append(f"{flows.get(deployment.flow_id, '?')}/{deployment.name}")
    return sorted(removed)


def worker_env(workspace: Path, name: str) -> dict[str, str]:
    """What a worker's flow runs need: their workspace cache and the worker's name."""
    return {
        shards.WORKSPACE_ENV: str(Path(workspace).resolve()),
        shards.WORKER_ENV: name,
        "PREFECT_WORKER_QUERY_SECONDS": str(WORKER_POLL_S),
        "PREFECT_WORKER_HEARTBEAT_SECONDS": str(WORKER_HEARTBEAT_S),
    }


def process_worker(
    pool: str, *, name: str, limit: int | None, queues: list[str] | None = None
) -> ProcessWorker:
    """A Prefect process worker on `pool` taking runs from `queues` (None or []: every queue)."""
    from prefect.workers.process import ProcessWorker

    return ProcessWorker(
        work_pool_name=pool,
        work_queues=list(queues) if queues else None,
        name=name,
        limit=limit,
        heartbeat_interval_seconds=WORKER_HEARTBEAT_S,
        create_pool_if_not_found=False,
    )


def run_worker(pool: str, *, name: str, limit: int | None, queues: list[str] | None = None) -> None:
    """Run a Prefect process worker on `pool` until interrupted (blocking).

    The flow runs it starts are child processes that inherit this process's environment
    (see `worker_env`, set by the caller before Prefect reads its settings).
    """
    ensure_pool(pool)

    async def main() -> None:
        watcher = asyncio.create_task(_watch_dead_runs(pool))
        try:
            await process_worker(pool, name=name, limit=limit, queues=queues).start()
        finally:
            watcher.cancel()

    with prefect_api_errors(_api()):
        asyncio.run(main())


def submit_check(pool: str, *, parameters: dict[str, Any]) -> tuple[str, str, str | None]:
    """Submit a KPI check to the `check/kpi-check` deployment on `pool` (its work queue sends
    it to a machine that reads the event store); returns (run id, run name, queue)."""
    from prefect.deployments import run_deployment

    name = f"check/{CHECK_DEPLOYMENT}"
    with prefect_api_errors(_api()), get_client(sync_client=True) as client:
        try:
            deployment = client.read_deployment_by_name(name)
        except ObjectNotFound:
            deployment = None
        if deployment is None or deployment.work_pool_name != pool:
            where = f"is on pool {deployment.work_pool_name!r}" if deployment else "does not exist"
            raise DeploymentError(
                f"--pool {pool}: {name} {where}; register it: sop serve --work-pool {pool}"
            )
        run = run_deployment(
            name, parameters={"workspace": shards.FROM_WORKER, **parameters}, timeout=0
        )
    return str(run.id), run.name, deployment.work_queue_name


async def _watch_dead_runs(pool: str) -> None:
    """Beside the worker: every RECOVER_EVERY_S, recover the runs of dead machines (a failed
    look is logged and tried again: it must never stop the worker)."""
    log = logging.getLogger("sopflow.worker")
    while True:
        await asyncio.sleep(RECOVER_EVERY_S)
        try:
            for line in await asyncio.to_thread(recover_runs, pool):
                log.warning(line)
        except Exception as exc:
            log.warning("looking for runs of dead machines failed: %s", exc)


def recover_runs(pool: str, *, now: datetime | None = None) -> list[str]:
    """Mark Crashed the sopflow runs on `pool` claimed by an offline worker, and submit the
    crashed ones again (`services.pool_runs`); one line per thing done, naming the runs."""
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
        WorkPoolFilter,
        WorkPoolFilterName,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    now = now or datetime.now(UTC)
    done = []
    with prefect_api_errors(_api()), get_client(sync_client=True) as client:
        offline = {
            w.name
            for w in client.read_workers_for_work_pool(pool)
            if str(w.status).upper().endswith("OFFLINE")
        }
        types = [StateType.RUNNING, StateType.PENDING, StateType.CRASHED]
        found = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                tags=FlowRunFilterTags(all_=[pool_runs.SOPFLOW_TAG]),
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=types)),
            ),
            work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[pool])),
        )
        runs = {str(r.id): r for r in found}
        seen = [_pool_run(r) for r in found]
        crashed = pool_runs.to_crash(seen, offline=offline)
        for run_id, note in crashed.items():
            client.set_flow_run_state(UUID(run_id), Crashed(message=note), force=True)
            done.append(f"run {runs[run_id].name} ({run_id}): {note}")
        seen = [replace(r, state="CRASHED", changed_at=now) if r.id in crashed else r for r in seen]
        for run in pool_runs.to_resubmit(seen, now=now):
            again = client.create_flow_run_from_deployment(
                UUID(str(run.deployment_id)),
                parameters=runs[run.id].parameters,
                name=f"{run.name}-again",
                tags=pool_runs.resubmit_tags(run),
                idempotency_key=pool_runs.resubmit_key(run),
            )
            client.update_flow_run_labels(UUID(run.id), {pool_runs.AGAIN_LABEL: str(again.id)})
            done.append(f"run {run.name} ({run.id}) crashed: submitted again as {again.name}")
    return done


def _pool_run(run: Any) -> pool_runs.PoolRun:
    state = run.state
    return pool_runs.PoolRun(
        str(run.id), run.name, run.state_type.value if run.state_type else "",
        shards.worker_of_run(run.labels), tuple(run.tags),
        str(run.deployment_id) if run.deployment_id else None,
        state.timestamp if state is not None else None,
        str((run.labels or {}).get(pool_runs.AGAIN_LABEL) or "") or None,
    )  # fmt: skip


def environment_ready() -> None:
    """Refuse to register or work without a real server (pools need one)."""
    if not os.environ.get("PREFECT_API_URL"):
        raise DeploymentError(
            "work pools need a real Prefect server: start `sop server` (or `prefect server "
            "start`) and set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api)"
        )
