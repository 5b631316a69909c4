"""Commands that run flows: run, serve, server, approve, decline, paused."""

from __future__ import annotations

from datetime import date, datetime
from datetime import time as dt_time
from pathlib import Path

import typer

from services import playbooks, preflight
from services.playbooks import PLAYBOOK_KINDS
from services.wecom_mass import check_setup_before_run
from services.workspace import prefect_home
from sop_models.errors import PartialRunError, PrefectServerError, WorkspaceError
from sop_models.i18n import tr
from sopflow.cli.common import echo_json, now, workspace
from sopflow.cli.params import clock_option, date_option
from sopflow.cli.run_text import print_summary
from sopflow.prefect_context import prefect_for


def run(
    ctx: typer.Context,
    playbook: str = typer.Argument(..., help=f"One of: {', '.join(sorted(PLAYBOOK_KINDS))}."),
    day: date = date_option(None, "--date", help="Day to run (default: today)."),
    until: dt_time = clock_option(
        None,
        "--until",
        help="Send only what was due by this time of the day (never later than now).",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="List the whole day's plan, marking what is due; send nothing."
    ),
    catch_up: bool = typer.Option(
        False, "--catch-up", help="Also send due actions older than the lateness window."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the run summary as JSON."),
) -> None:
    """Run one playbook now as a Prefect flow (ephemeral unless PREFECT_API_URL is set).

    Sends only what is due, never anything early: today's run sends the actions whose time has
    come (at or before now; --until an earlier time) and leaves the rest to their scheduled
    runs. Actions due longer ago than the lateness window (setting lateness_minutes, default
    120) are reported as missed, not sent, unless --catch-up (e.g. a past day: --date D
    --catch-up; its late sends are reported). A future day is refused: use --dry-run.

    Example: sop run mature_day --date 2026-10-10 --dry-run
    """
    ws = workspace(ctx)
    name = preflight.for_run(playbook=playbook)
    clock = now()
    playbooks.check_run_day(day, now=clock, dry_run=dry_run)
    check_setup_before_run(ws, dry_run=dry_run)
    if until is not None:
        the_day = day or clock.astimezone(ws.settings.zone).date()
        clock = min(clock, datetime.combine(the_day, until, ws.settings.zone))
    from flows.playbooks import FLOWS

    partial: PartialRunError | None = None
    with prefect_for(ws.root) as where:
        try:
            summary = FLOWS[name](
                workspace=str(ws.root),
                day=day.isoformat() if day else None,
                dry_run=dry_run,
                now=clock.isoformat(),
                catch_up=catch_up,
            )
        except PartialRunError as err:  # some SOPs/groups failed; the summary covers the rest
            if not err.summary:
                raise
            partial, summary = err, err.summary
    if as_json:
        echo_json({**summary, "prefect": where})
    else:
        print_summary(summary, name=name, where=where, dry_run=dry_run)
    if partial is not None:
        for failure in summary["failures"]:
            failed = tr("{stage} failed for {count} group(s) of {sop} ({groups}): {error}")
            line = failed.format(
                stage=failure["stage"],
                count=failure["groups"],
                sop=failure["sop"],
                groups=", ".join(failure["first_groups"]),
                error=failure["error"],
            )
            typer.echo(f"sop: error: {line}", err=True)
        raise typer.Exit(1)


def serve(
    ctx: typer.Context,
    register_only: bool = typer.Option(
        False, "--register-only", help="Create the deployments, do not serve them."
    ),
    limit: int = typer.Option(
        None, "--limit", help="Flow runs at once (default 4; not with --work-pool)."
    ),
    work_pool: str = typer.Option(
        None, "--work-pool", help="Register on this process work pool (for `sop worker`)."
    ),
    shards: int = typer.Option(
        1, "--shards", help="With --work-pool: split each playbook run into N shard runs."
    ),
) -> None:
    """Register cron deployments (Asia/Shanghai) built from the SOPs and serve them.

    Needs a real Prefect server: start one with `sop server` and export PREFECT_API_URL.
    With --work-pool the deployments go to that pool (created if missing) and `sop worker`
    runs them on any machine.
    Example: PREFECT_API_URL=http://127.0.0.1:4200/api sop serve --work-pool sop --shards 2
    """
    import os

    from sopflow.cli.pool_cmd import check_serve_flags

    check_serve_flags(work_pool=work_pool, shards=shards, limit=limit)
    if work_pool:
        from sopflow.cli.pool_cmd import register_on_pool

        register_on_pool(ctx, pool=work_pool, shards_total=shards, serve=not register_only)
        return

    from flows.deploy import build_deployments, register_deployments, serve_deployments
    from flows.schedules import deployment_specs
    from services.planning import production_documents

    ws = workspace(ctx)
    if not os.environ.get("PREFECT_API_URL"):
        raise WorkspaceError(
            "schedules do not fire in Prefect's ephemeral mode: start `sop server` and set "
            "PREFECT_API_URL (e.g. http://127.0.0.1:4200/api)"
        )
    from services.calendar import coverage_warnings

    for warning in coverage_warnings(ws, today=now().astimezone(ws.settings.zone).date()):
        typer.echo(f"sop: warning: {warning}", err=True)
    specs = deployment_specs(str(ws.root), production_documents(ws))
    with prefect_for(ws.root):
        deployments = build_deployments(specs)
        if register_only:
            ids = register_deployments(deployments)
            for spec, dep_id in zip(specs, ids, strict=True):
                typer.echo(
                    f"registered {spec.flow.name}/{spec.name}  cron '{spec.cron}' "
                    f"{spec.timezone}  id {dep_id}"
                )
            return
        for spec in specs:
            typer.echo(f"serving {spec.flow.name}/{spec.name}  cron '{spec.cron}' {spec.timezone}")
        serve_deployments(deployments, limit=limit or 4)


def server(
    ctx: typer.Context,
    port: int = typer.Option(4200, "--port", help="Port on 127.0.0.1."),
    ui: bool = typer.Option(True, "--ui/--no-ui", help="Serve the Prefect UI too."),
) -> None:
    """Start a real Prefect server (schedules fire only there); Ctrl-C stops it.

    Example: sop server --port 4200   # then: export PREFECT_API_URL=http://127.0.0.1:4200/api
    """
    from flows.runtime import PrefectServer

    root_obj = ctx.find_root().obj or {}
    base = Path(root_obj.get("workspace_path") or Path.cwd())
    home = prefect_home(base.resolve()) / "server"
    home.mkdir(parents=True, exist_ok=True)
    with PrefectServer(home, port=port, ui=ui) as running:
        typer.echo(f"Prefect server ready: PREFECT_API_URL={running.api_url}")
        if ui:
            typer.echo(f"UI: http://127.0.0.1:{port}")
        try:
            problem = running.watch(every_s=2, failures=5)
        except KeyboardInterrupt:
            typer.echo("stopping")
            return
    raise PrefectServerError(
        f"the Prefect server stopped: {problem}; see {running.log_path}",
        log_path=running.log_path,
        log_tail=running.log_tail(),
    )


def approve(
    ctx: typer.Context,
    run_id: str = typer.Argument(..., help="Paused check flow run id."),
    approver: str = typer.Option(..., "--approver", help="Ops lead approving the promotion."),
) -> None:
    """Approve a paused check run: it resumes and promotes the candidate.

    Example: sop approve 0b6c7c3e-... --approver 李经理
    """
    from flows.approval import approve_run
    from services.cli_identity import os_user, signed
    from services.console_policy import refuse_cli_approval

    ws = workspace(ctx)
    refuse_cli_approval(ws, command="approve")
    with prefect_for(ws.root):
        preflight.for_approval(ws, run_id=run_id, approver=approver)
        approve_run(run_id, signed(approver, os_user()))  # the audit names the OS user too
    typer.echo(tr("run {run} approved by {name}").format(run=run_id, name=approver))


def decline(
    ctx: typer.Context,
    run_id: str = typer.Argument(..., help="Paused check flow run id."),
    approver: str = typer.Option(..., "--approver", help="Ops lead declining."),
    reason: str = typer.Option(..., "--reason", help="Why the promotion is declined."),
) -> None:
    """Decline a paused check run: it resumes and leaves production as it is.

    Example: sop decline 0b6c7c3e-... --approver 李经理 --reason "样本太小"
    """
    from flows.approval import decline_run
    from services.cli_identity import os_user, signed
    from services.console_policy import refuse_cli_approval

    ws = workspace(ctx)
    refuse_cli_approval(ws, command="decline")
    with prefect_for(ws.root):
        preflight.for_decline(ws, run_id=run_id, reason=reason)
        decline_run(run_id, signed(approver, os_user()), reason)
    typer.echo(
        tr("run {run} declined by {name}: {reason}").format(
            run=run_id, name=approver, reason=reason
        )
    )


def paused(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """List flow runs waiting for approval.

    Example: sop paused
    """
    from flows.approval import paused_runs

    ws = workspace(ctx)
    with prefect_for(ws.root):
        runs = paused_runs()
    if as_json:
        echo_json(
            [
                {
                    "id": str(r.id),
                    "flow": r.flow_name,
                    "name": r.name,
                    "paused_since": r.paused_since,
                }
                for r in runs
            ]
        )
        return
    for r in runs:
        typer.echo(f"{r.id}  {r.flow_name}  {r.name}  paused since {r.paused_since}")
    if not runs:
        typer.echo("no paused runs")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    for command in (run, serve, server, approve, decline, paused):
        app.command()(command)
