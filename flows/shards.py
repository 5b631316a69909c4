"""Sharded dispatch on a work pool: a parent flow run submits one flow run per shard, waits.

`sharded_playbook` (the cron deployments' flow when `sop serve --work-pool P --shards N`)
submits each shard to the `playbook_shard/shard` deployment on the pool (`run_deployment`,
timeout 0), so N workers send in parallel, then waits for all of them. A shard run that gives
up (Crashed, Failed, Cancelled), or that is still Running on a worker the pool reports
offline (its heartbeat stopped: the machine died), is submitted again and completed by a
worker that lives; the ledger's leased rows make that safe (`services.shards`). So is a shard
run not started in time while no worker of the pool is alive. A shard run still Scheduled
`inline_after_s` after submission (every slot held, e.g. by parents waiting like this one)
is withdrawn (Cancelled) and run by the parent itself, as a subflow: parents never wait on
slots only they hold. Past its deadline the parent fails naming the shards left. The
parent's table artifact names every attempt of every shard: its flow run, its worker, how
it ended.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from prefect import flow, get_client, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterId,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.responses import SetStateStatus
from prefect.deployments import run_deployment
from prefect.runtime import flow_run
from prefect.states import Cancelled, Crashed

from engine.dispatch import DispatchReport
from flows.playbooks import BatchIncomplete, _workspace, run_playbook
from services import playbooks, sending, shards
from services.sending import Batch
from sop_models.errors import PlaybookError

SHARD_FLOW = "playbook_shard"
SHARD_DEPLOYMENT = "shard"
WORKER_ARTIFACT = "sopflow-worker"  # which `sop worker` ran a flow run
# A shard's batch waits for rows a dead run still holds (their lease must end first).
IN_FLIGHT_RETRIES, IN_FLIGHT_DELAY_S = 20, 10


@task(
    retries=IN_FLIGHT_RETRIES,
    retry_delay_seconds=IN_FLIGHT_DELAY_S,
    cache_policy=NO_CACHE,
    task_run_name="send {batch.label}",
)
def send_shard_batch(workspace: str, batch: Batch, scheduled_clock: bool = False) -> DispatchReport:
    """Send one batch of a shard; rows a dead attempt still holds are waited for, not skipped."""
    now = max(a.at for a in batch.actions) if scheduled_clock else datetime.now(UTC)
    owner = f"{flow_run.id}/{batch.label}"
    with _workspace(workspace) as ws:
        report = sending.send_batch(ws, batch, now=now, owner=owner)
    if report.not_attempted or report.in_flight:
        raise BatchIncomplete(
            f"{batch.label}: {len(report.not_attempted)} not attempted, "
            f"{len(report.in_flight)} held by another run's lease: {report.error or 'waiting'}"
        )
    return report


@flow(name=SHARD_FLOW)
def playbook_shard(
    workspace: str = shards.FROM_WORKER,
    playbook: str = "mature_day",
    shard: int = 0,
    shards_total: int = 1,
    day: str | None = None,
    scheduled_clock: bool = False,
    now: str | None = None,
    catch_up: bool = False,
) -> dict[str, Any]:
    """The groups of one shard (stable by group id) of one playbook's run."""
    name = playbooks.check_playbook(playbook)
    keep = shards.in_shard(shard, shards_total)
    create_markdown_artifact(shards.worker_name() or "", key=WORKER_ARTIFACT)
    return run_playbook(
        name,
        workspace,
        day,
        scheduled_clock=scheduled_clock,
        now=now,
        catch_up=catch_up,
        keep=keep,
        sender=send_shard_batch,
        artifact_key=f"shard-{shard + 1}-of-{shards_total}-deliveries",
    )


@flow(name="sharded_playbook")
def sharded_playbook(
    workspace: str = shards.FROM_WORKER,
    playbook: str = "mature_day",
    shards_total: int = 2,
    day: str | None = None,
    scheduled_clock: bool = False,
    now: str | None = None,
    catch_up: bool = False,
    max_attempts: int = shards.DEFAULT_ATTEMPTS,
    poll_s: float = 2.0,
    start_within_s: float = shards.DEFAULT_START_WITHIN_S,
    deadline_s: float = shards.DEFAULT_DEADLINE_S,
    inline_after_s: float = shards.DEFAULT_INLINE_AFTER_S,
) -> dict[str, Any]:
    """Run `playbook` as `shards_total` shard runs on the pool; retry the ones that die.

    A shard run not started within `start_within_s` while no worker of the pool is alive is
    submitted again; one still Scheduled after `inline_after_s` is run here instead. After
    `deadline_s` the parent fails naming the shards left (their runs are left alone: the
    ledger keeps whatever they still send exactly once).
    """
    playbooks.check_playbook(playbook)
    shards.check_shards(shards_total)
    create_markdown_artifact(shards.worker_name() or "", key=WORKER_ARTIFACT)
    started = time.monotonic()
    # The clock is fixed once, so every shard (and every retry) sends as of the same minute.
    clock = now or datetime.now(UTC).isoformat()
    params = {
        "workspace": workspace, "playbook": playbook, "shards_total": shards_total, "day": day,
        "scheduled_clock": scheduled_clock, "now": None if scheduled_clock else clock,
        "catch_up": catch_up,
    }  # fmt: skip
    book = shards.ShardBook(shards_total, max_attempts)
    for shard in range(shards_total):
        book.attempts.append(_submit(params, shard, attempt=1))
    late = False
    while book.open_shards() or book.to_retry():
        for shard in book.to_retry():
            book.attempts.append(_submit(params, shard, attempt=book.current(shard).attempt + 1))
        if time.monotonic() - started > deadline_s:
            late = True
            break
        time.sleep(poll_s)
        _observe(book, start_within_s=start_within_s)
        inline = shards.to_run_inline(book, now=datetime.now(UTC), inline_after_s=inline_after_s)
        for shard, note in inline.items():
            if _withdraw(book.current(shard), note):
                book.attempts.append(
                    _run_inline(params, shard, attempt=book.current(shard).attempt + 1)
                )
    summary = {"playbook": playbook, **book.summary()}
    create_table_artifact(
        key=f"{playbook.replace('_', '-')}-shards",
        table=book.table(),
        description=f"{playbook}: {shards_total} shard(s); retried: "
        + (", ".join(f"shard {a.shard + 1} ({a.note})" for a in book.retried()) or "none"),
    )
    if late:
        raise PlaybookError(shards.deadline_reason(book, deadline_s=deadline_s))
    if book.failed():
        raise PlaybookError(f"shard(s) {[s + 1 for s in book.failed()]} did not complete")
    return summary


def _run_name(params: dict[str, Any], shard: int, attempt: int) -> str:
    return f"{params['playbook']}-shard-{shard + 1}-of-{params['shards_total']}-try-{attempt}"


def _submit(params: dict[str, Any], shard: int, *, attempt: int) -> shards.ShardAttempt:
    run = run_deployment(
        f"{SHARD_FLOW}/{SHARD_DEPLOYMENT}",
        parameters={**params, "shard": shard},
        timeout=0,
        flow_run_name=_run_name(params, shard, attempt),
    )
    return shards.ShardAttempt(
        shard, attempt, str(run.id), run.name, submitted_at=datetime.now(UTC)
    )


def _withdraw(attempt: shards.ShardAttempt, note: str) -> bool:
    """Cancel a shard run no worker has claimed; False when a worker claimed it meanwhile
    (Prefect refuses a Cancelled run's move to Pending, so a withdrawn run never starts)."""
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(attempt.flow_run_id))
        if run.state_type != StateType.SCHEDULED:
            return False
        result = client.set_flow_run_state(UUID(attempt.flow_run_id), Cancelled(message=note))
    if result.status != SetStateStatus.ACCEPT:
        return False
    attempt.state, attempt.note = "CANCELLED", note
    return True


def _run_inline(params: dict[str, Any], shard: int, *, attempt: int) -> shards.ShardAttempt:
    """Run one shard in this process, as a subflow of the parent; returns how it ended."""
    name = f"{_run_name(params, shard, attempt)}-inline"
    started = datetime.now(UTC)
    state = playbook_shard.with_options(flow_run_name=name)(
        **params, shard=shard, return_state=True
    )
    ended = shards.ShardAttempt(
        shard, attempt, str(state.state_details.flow_run_id), name, shards.worker_name(),
        state.type.value, submitted_at=started,
    )  # fmt: skip
    if ended.state != shards.TERMINAL_OK:
        ended.note = f"{ended.state.lower()} inline: {state.message or ''}"
    return ended


def _observe(book: shards.ShardBook, *, start_within_s: float) -> None:
    """Read each open shard run's state and worker; give up the runs `to_give_up` names."""
    open_runs = {book.current(s).flow_run_id: book.current(s) for s in book.open_shards()}
    if not open_runs:
        return
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(i) for i in open_runs]))
        )
        beats: list[shards.WorkerBeat] = []
        for pool in {r.work_pool_name for r in runs if r.work_pool_name}:
            beats += [
                shards.WorkerBeat(
                    w.name, not str(w.status).upper().endswith("OFFLINE"), w.last_heartbeat_time
                )
                for w in client.read_workers_for_work_pool(pool)
            ]
        for run in runs:
            attempt = open_runs[str(run.id)]
            attempt.state = run.state_type.value if run.state_type else attempt.state
            attempt.worker = shards.worker_of_run(run.labels) or attempt.worker
            if attempt.worker is None and attempt.state == "RUNNING":
                attempt.worker = _worker_of(client, run.id)
            if attempt.state in shards.GIVEN_UP and not attempt.note:
                attempt.note = f"{attempt.state.lower()}: {run.state.message if run.state else ''}"
        given_up = shards.to_give_up(
            book, now=datetime.now(UTC), workers=beats, start_within_s=start_within_s
        )
        for shard, note in given_up.items():
            attempt = book.current(shard)
            client.set_flow_run_state(UUID(attempt.flow_run_id), Crashed(message=note), force=True)
            attempt.state, attempt.note = "CRASHED", note


def _worker_of(client: Any, run_id: UUID) -> str | None:
    only = ArtifactFilter(
        flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]),
        key=ArtifactFilterKey(any_=[WORKER_ARTIFACT]),
    )
    found = client.read_artifacts(artifact_filter=only)
    return (str(found[0].data) or None) if found else None
