"""Prefect flows for the playbooks: cold start, mature day, campaign, on-join welcome.

A flow run plans one day for every group (each group's alias resolved at run time), sends one
task per channel batch (never one per message), and publishes a table artifact: per group the
actions planned, sent, failed, unknown and awaiting confirmation, described by the planner's
warnings (e.g. a year without holiday data, named on every run; with nothing due, a Markdown
artifact `<key>-warnings` carries them). Business rules live in
`services.playbooks`; this module only orchestrates.

A run sends what is due at its clock (`services.playbooks.plan_due`). The clock is `now` when
given (ISO date/time, e.g. from `sop run`), else the wall clock, but never before the minute a
cron deployment's run was scheduled for, so the 10:00 run sends the 10:00 posts even if it
starts a moment early. `scheduled_clock` replays a whole (simulated) day: every action of the
day is due and each batch is sent at its own time (the demo, benchmarks). Actions older than
the lateness window are missed, not sent, unless `catch_up` (a replay always catches up).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote

from engine.dispatch import DispatchReport
from services import playbooks, run_summary, sending, wecom_mass
from services.playbooks import SHANGHAI, RunFailure
from services.sending import Batch
from services.shards import workspace_root
from services.workspace import Workspace, open_workspace
from sop_models.errors import PartialRunError, one_line

RETRY_DELAYS_S = [5, 30, 120]
WARNINGS_SHOWN = 20  # in the artifact's description; the run's summary keeps them all
# The workspace a flow run holds open; its batch tasks (run in the same thread) reuse it
# instead of opening the database and the store again for every batch.
_FLOW_WORKSPACE: ContextVar[Workspace | None] = ContextVar("sopflow_flow_workspace", default=None)


@contextmanager
def _workspace(path: str) -> Iterator[Workspace]:
    """The enclosing flow run's workspace for the same folder, else a newly opened one."""
    shared = _FLOW_WORKSPACE.get()
    if shared is not None and shared.root == workspace_root(path).resolve():
        yield shared
        return
    with open_workspace(workspace_root(path)) as ws:
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
    run_id = flow_run.id
    owner = f"{run_id}/{batch.label}" if run_id else None  # a retry takes back its own rows
    with _workspace(workspace) as ws:
        report = sending.send_batch(ws, batch, now=now, owner=owner)
    if report.error and report.not_attempted:
        raise BatchIncomplete(
            f"{batch.label}: {len(report.not_attempted)} action(s) not attempted: {report.error}"
        )
    return report


def _dispatch(
    workspace: str,
    planned: playbooks.DayPlan,
    dry_run: bool,
    scheduled_clock: bool,
    sender: Any = send_batch,
) -> tuple[list[Batch], list[DispatchReport], list[RunFailure]]:
    """Log the plan's warnings and send it, one task per channel batch (none in a dry run).

    A batch that fails (after its retries) is recorded and the other batches still go out.
    """
    logger = get_run_logger()
    for warning in planned.warnings:
        logger.warning(warning)
    batches = sending.batches(planned.actions)
    if dry_run:
        logger.info(
            "dry run: %d action(s) in %d batch(es), nothing sent",
            len(planned.actions),
            len(batches),
        )
        return batches, [], []
    reports: list[DispatchReport] = []
    failures: list[RunFailure] = []
    for batch in batches:
        # quote(): Prefect would otherwise walk every action of the batch twice per task run
        # while resolving parameters; the batch holds no futures to resolve.
        state = sender(workspace, quote(batch), scheduled_clock, return_state=True)
        if state.is_completed():
            reports.append(state.result())
            continue
        logger.error("%s failed: %s", batch.label, state.message)
        sops = ",".join(sorted({a.sop_id for a in batch.actions}))
        groups = tuple(dict.fromkeys(a.group_id for a in batch.actions))
        failures.append(RunFailure("send", sops, groups, one_line(state.message or "failed")))
    return batches, reports, failures


def run_clock(now: str | None, day: date | None, scheduled_clock: bool) -> datetime:
    """The time a run sends as of (see the module docstring); never later than the clock."""
    if scheduled_clock and day is not None and not now:
        return datetime.combine(day + timedelta(days=1), time(0), SHANGHAI)
    # A direct call's expected start is its creation: only a cron run's can be ahead of the
    # wall clock (a worker whose clock runs a little behind the server's).
    clock = max(datetime.now(SHANGHAI), flow_run.scheduled_start_time).astimezone(SHANGHAI)
    if not now:
        return clock
    given = datetime.fromisoformat(now)
    return min(given if given.tzinfo else given.replace(tzinfo=SHANGHAI), clock)


def run_playbook(
    name: str,
    workspace: str,
    day: str | None,
    *,
    dry_run: bool = False,
    scheduled_clock: bool = False,
    now: str | None = None,
    sop: str | None = None,
    catch_up: bool = False,
    keep: Any = None,
    sender: Any = send_batch,
    artifact_key: str | None = None,
) -> dict[str, Any]:
    """Plan what is due and dispatch it; returns a summary (also published as an artifact).

    An SOP, group or batch that fails is recorded in the summary and the artifact while the
    others go out; the run then raises PartialRunError (carrying the summary), so it ends
    Failed. `keep`, `sender` and `artifact_key` serve shard runs (flows.shards).
    """
    playbook = playbooks.check_playbook(name)
    the_day = date.fromisoformat(day) if day else None
    clock = run_clock(now, the_day, scheduled_clock)
    with open_workspace(workspace_root(workspace)) as ws:
        token = _FLOW_WORKSPACE.set(ws)
        try:
            planned = playbooks.plan_due(
                ws,
                playbook=playbook,
                day=the_day,
                now=clock,
                sop_id=sop,
                catch_up=catch_up or scheduled_clock,
                keep=keep,
            )
            wall = datetime.now(SHANGHAI)  # follow-ups act on WeCom's clock, not a replay's
            if not dry_run:
                playbooks.record_missed(ws, planned, now=wall)
            follow_up = (
                None if dry_run else wecom_mass.before_sending(ws, planned.actions, now=wall)
            )
            batches, reports, send_failures = _dispatch(
                workspace, planned, dry_run, scheduled_clock, sender
            )
        finally:
            _FLOW_WORKSPACE.reset(token)
    run = run_summary.summarise(
        name=name,
        planned=planned,
        batches=batches,
        reports=reports,
        failures=[*planned.failures, *send_failures],
        dry_run=dry_run,
        sent_at=None if scheduled_clock else datetime.now(SHANGHAI),
    )
    run.summary["follow_up"] = follow_up.as_dict() if follow_up else None
    key = artifact_key or f"{name.replace('_', '-')}-deliveries"
    described = artifact_description(name, planned, dry_run=dry_run)
    if run.table:
        create_table_artifact(key=key, table=run.table, description=described)
    elif planned.warnings:  # nothing due, but what the plan warns about still reaches the run
        create_markdown_artifact(key=f"{key}-warnings", markdown=described)
    if run.summary["failures"]:  # the run ends Failed (Prefect shows it), the rest went out
        raise PartialRunError(run_summary.failure_line(run.summary), run.summary)
    # The per-group table is the artifact; the return value stays small whatever the number
    # of groups (Prefect walks a flow's return value looking for futures).
    return run.summary


def artifact_description(name: str, planned: playbooks.DayPlan, *, dry_run: bool) -> str:
    """The table artifact's heading plus the planner's warnings (a year without holiday data,
    collisions, quiet hours), one Markdown list item each, so the run's page shows them."""
    head = f"{name} {planned.day.isoformat()}{' (dry run)' if dry_run else ''}"
    shown = planned.warnings[:WARNINGS_SHOWN]
    more = len(planned.warnings) - len(shown)
    lines = [f"- {warning}" for warning in shown] + ([f"- … +{more}"] if more > 0 else [])
    return "\n\n".join([head, "\n".join(lines)]) if lines else head


@flow(name="cold_start")
def cold_start(
    workspace: str,
    day: str | None = None,
    dry_run: bool = False,
    scheduled_clock: bool = False,
    now: str | None = None,
    catch_up: bool = False,
) -> dict[str, Any]:
    """Cold-start day-N actions for groups in their first days."""
    return run_playbook(
        "cold_start",
        workspace,
        day,
        dry_run=dry_run,
        scheduled_clock=scheduled_clock,
        now=now,
        catch_up=catch_up,
    )


@flow(name="mature_day")
def mature_day(
    workspace: str,
    day: str | None = None,
    dry_run: bool = False,
    scheduled_clock: bool = False,
    now: str | None = None,
    catch_up: bool = False,
) -> dict[str, Any]:
    """Fixed columns, weekly flash sale, month-end RFM and calendar columns of one day."""
    return run_playbook(
        "mature_day",
        workspace,
        day,
        dry_run=dry_run,
        scheduled_clock=scheduled_clock,
        now=now,
        catch_up=catch_up,
    )


@flow(name="campaign")
def campaign(
    workspace: str,
    day: str | None = None,
    dry_run: bool = False,
    scheduled_clock: bool = False,
    now: str | None = None,
    catch_up: bool = False,
) -> dict[str, Any]:
    """Campaign actions (holiday, check-in, group buy, limited offers) of one day."""
    return run_playbook(
        "campaign",
        workspace,
        day,
        dry_run=dry_run,
        scheduled_clock=scheduled_clock,
        now=now,
        catch_up=catch_up,
    )


@flow(name="welcome")
def welcome(
    workspace: str,
    day: str | None = None,
    dry_run: bool = False,
    scheduled_clock: bool = False,
    now: str | None = None,
    catch_up: bool = False,
) -> dict[str, Any]:
    """On-join welcomes for members who joined, and the threshold triggers live counts fire
    (run every few minutes)."""
    return run_playbook(
        "welcome",
        workspace,
        day,
        dry_run=dry_run,
        scheduled_clock=scheduled_clock,
        now=now,
        catch_up=catch_up,
    )


@flow(name="playbook_day")
def playbook_day(
    workspace: str,
    day: str | None = None,
    dry_run: bool = False,
    scheduled_clock: bool = False,
    now: str | None = None,
    catch_up: bool = False,
) -> dict[str, Any]:
    """Every playbook of one day in one run (used by `sop run all` and the demo)."""
    return run_playbook(
        "all",
        workspace,
        day,
        dry_run=dry_run,
        scheduled_clock=scheduled_clock,
        now=now,
        catch_up=catch_up,
    )


FLOWS = {
    "cold_start": cold_start,
    "mature_day": mature_day,
    "campaign": campaign,
    "welcome": welcome,
    "all": playbook_day,
}
