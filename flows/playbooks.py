"""Prefect flows for the playbooks: cold start, mature day, campaign, on-join welcome.

A flow run plans one day for every group (each group's alias resolved at run time), sends one
task per channel batch (never one per message), and publishes a table artifact: per group the
actions planned, sent, failed, unknown and awaiting confirmation. Business rules live in
`services.playbooks`; this module only orchestrates.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger
from prefect.utilities.annotations import quote

from engine.dispatch import DispatchReport
from services import playbooks
from services.playbooks import SHANGHAI, Batch
from services.workspace import Workspace, open_workspace

RETRY_DELAYS_S = [5, 30, 120]
# The workspace a flow run holds open; its batch tasks (run in the same thread) reuse it
# instead of opening the database and the store again for every batch.
_FLOW_WORKSPACE: ContextVar[Workspace | None] = ContextVar("sopflow_flow_workspace", default=None)


@contextmanager
def _workspace(path: str) -> Iterator[Workspace]:
    """The enclosing flow run's workspace for the same folder, else a newly opened one."""
    shared = _FLOW_WORKSPACE.get()
    if shared is not None and shared.root == Path(path).resolve():
        yield shared
        return
    with open_workspace(Path(path)) as ws:
        yield ws


class BatchIncomplete(RuntimeError):
    """A batch stopped early with actions still pending; Prefect retries it (idempotently)."""


@task(
    retries=len(RETRY_DELAYS_S),
    retry_delay_seconds=RETRY_DELAYS_S,
    cache_policy=NO_CACHE,
    task_run_name="send {batch.label}",
)
def send_batch(workspace: str, batch: Batch, scheduled_clock: bool = False) -> DispatchReport:
    """Send one channel batch; a rerun never resends what the ledger marks sent."""
    now = max(a.at for a in batch.actions) if scheduled_clock else datetime.now(UTC)
    with _workspace(workspace) as ws:
        report = playbooks.send_batch(ws, batch, now=now)
    if report.error and report.not_attempted:
        raise BatchIncomplete(
            f"{batch.label}: {len(report.not_attempted)} action(s) not attempted: {report.error}"
        )
    return report


def _dispatch(
    workspace: str, planned: playbooks.DayPlan, dry_run: bool, scheduled_clock: bool
) -> tuple[list[Batch], list[DispatchReport]]:
    """Log the plan's warnings and send it, one task per channel batch (none in a dry run)."""
    logger = get_run_logger()
    for warning in planned.warnings:
        logger.warning(warning)
    batches = playbooks.batches(planned.actions)
    if dry_run:
        logger.info(
            "dry run: %d action(s) in %d batch(es), nothing sent",
            len(planned.actions),
            len(batches),
        )
        return batches, []
    # quote(): Prefect would otherwise walk every action of the batch twice per task run
    # while resolving parameters; the batch holds no futures to resolve.
    return batches, [send_batch(workspace, quote(batch), scheduled_clock) for batch in batches]


def run_playbook(
    name: str,
    workspace: str,
    day: str | None,
    *,
    dry_run: bool = False,
    scheduled_clock: bool = False,
    until_now: bool = False,
    sop: str | None = None,
) -> dict[str, Any]:
    """Plan and dispatch one playbook day; returns a summary (also published as an artifact)."""
    playbook = playbooks.check_playbook(name)
    now = datetime.now(SHANGHAI)
    the_day = date.fromisoformat(day) if day else now.date()
    with open_workspace(Path(workspace)) as ws:
        token = _FLOW_WORKSPACE.set(ws)
        try:
            planned = playbooks.plan_day(
                ws, playbook=playbook, day=the_day, sop_id=sop, until=now if until_now else None
            )
            batches, reports = _dispatch(workspace, planned, dry_run, scheduled_clock)
        finally:
            _FLOW_WORKSPACE.reset(token)
    run = playbooks.summarise(
        name=name, planned=planned, batches=batches, reports=reports, dry_run=dry_run
    )
    if run.table:
        create_table_artifact(
            key=f"{name.replace('_', '-')}-deliveries",
            table=run.table,
            description=f"{name} {the_day.isoformat()}{' (dry run)' if dry_run else ''}",
        )
    # The per-group table is the artifact; the return value stays small whatever the number
    # of groups (Prefect walks a flow's return value looking for futures).
    return run.summary


@flow(name="cold_start")
def cold_start(
    workspace: str,
    day: str | None = None,
    dry_run: bool = False,
    scheduled_clock: bool = False,
    until_now: bool = False,
) -> dict[str, Any]:
    """Cold-start day-N actions for groups in their first days."""
    return run_playbook(
        "cold_start",
        workspace,
        day,
        dry_run=dry_run,
        scheduled_clock=scheduled_clock,
        until_now=until_now,
    )


@flow(name="mature_day")
def mature_day(
    workspace: str,
    day: str | None = None,
    dry_run: bool = False,
    scheduled_clock: bool = False,
    until_now: bool = False,
) -> dict[str, Any]:
    """Fixed columns, weekly flash sale, month-end RFM and calendar columns of one day."""
    return run_playbook(
        "mature_day",
        workspace,
        day,
        dry_run=dry_run,
        scheduled_clock=scheduled_clock,
        until_now=until_now,
    )


@flow(name="campaign")
def campaign(
    workspace: str,
    day: str | None = None,
    dry_run: bool = False,
    scheduled_clock: bool = False,
    until_now: bool = False,
) -> dict[str, Any]:
    """Campaign actions (holiday, check-in, group buy, limited offers) of one day."""
    return run_playbook(
        "campaign",
        workspace,
        day,
        dry_run=dry_run,
        scheduled_clock=scheduled_clock,
        until_now=until_now,
    )


@flow(name="welcome")
def welcome(
    workspace: str,
    day: str | None = None,
    dry_run: bool = False,
    scheduled_clock: bool = False,
    until_now: bool = True,
) -> dict[str, Any]:
    """On-join welcomes for members who joined (run every few minutes)."""
    return run_playbook(
        "welcome",
        workspace,
        day,
        dry_run=dry_run,
        scheduled_clock=scheduled_clock,
        until_now=until_now,
    )


@flow(name="playbook_day")
def playbook_day(
    workspace: str, day: str | None = None, dry_run: bool = False, scheduled_clock: bool = False
) -> dict[str, Any]:
    """Every playbook of one day in one run (used by `sop run all` and the demo)."""
    return run_playbook("all", workspace, day, dry_run=dry_run, scheduled_clock=scheduled_clock)


FLOWS = {
    "cold_start": cold_start,
    "mature_day": mature_day,
    "campaign": campaign,
    "welcome": welcome,
    "all": playbook_day,
}
