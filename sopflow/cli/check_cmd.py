"""Commands of the check step: check (events and kpi: events_cmd; experiments: experiment_cmd)."""

from __future__ import annotations

from datetime import date

import typer

from services import preflight
from sop_models.i18n import N_, tr
from sopflow.cli.common import echo_json, workspace
from sopflow.cli.params import date_option
from sopflow.prefect_context import prefect_for


def check(
    ctx: typer.Context,
    sop: str = typer.Argument(..., help="SOP id with a candidate."),
    fixed: bool = typer.Option(
        False, "--fixed-horizon", help="One final look (default: sequential-safe daily checks)."
    ),
    wait: bool = typer.Option(
        True, "--wait/--no-wait", help="On PROMOTE pause for approval (needs a Prefect server)."
    ),
    before_after: bool = typer.Option(
        False,
        "--before-after",
        help="Compare with production's previous period instead of parallel groups (weaker).",
    ),
    start: date = date_option(None, "--from", help="First day (default: candidate set)."),
    end: date = date_option(None, "--to", help="Day after the last (default: tomorrow)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    pool: str = typer.Option(
        None,
        "--pool",
        help="Submit the check to the pool's check/kpi-check deployment (its work queue: "
        "machines that read the events) instead of running it here.",
    ),
) -> None:
    """Run the check flow: PROMOTE, REJECT or CONTINUE with reasons; PROMOTE waits for approval.

    Example: sop check mombaby-refined   # then: sop approve RUN_ID --approver 李经理
    """
    import os

    ws = workspace(ctx)
    preflight.for_check(ws, sop_id=sop)
    if pool:
        from sopflow.cli.pool_cmd import submit_check

        options = {"sequential": not fixed, "wait_for_approver": wait, "before_after": before_after,
                   "start": start.isoformat() if start else None,
                   "end": end.isoformat() if end else None}  # fmt: skip
        submit_check(ws, pool=pool, sop=sop, options=options)
        return
    from flows.check import check as check_flow

    if wait and not os.environ.get("PREFECT_API_URL"):
        typer.echo(
            tr(
                "note: no PREFECT_API_URL: a PROMOTE cannot wait for `sop approve` in "
                "ephemeral mode; run `sop server` first, or use --no-wait"
            ),
            err=True,
        )
        wait = False
    with prefect_for(ws.root):
        result = check_flow(
            workspace=str(ws.root),
            sop=sop,
            sequential=not fixed,
            wait_for_approver=wait,
            before_after=before_after,
            start=start.isoformat() if start else None,
            end=end.isoformat() if end else None,
        )
    if as_json:
        echo_json(result)
        return
    verdict = tr(VERDICTS.get(result["decision"], result["decision"]))
    typer.echo(tr("{verdict}: {changelog}").format(verdict=verdict, changelog=result["changelog"]))
    for reason in result["reasons"]:
        typer.echo(f"  - {reason}")
    if result.get("awaiting_approval"):
        command = (
            f"sop promote {sop} {result['candidate']} --approver NAME "
            f'--changelog "{result["changelog"]}"'
        )
        typer.echo(tr("approve with: {command}").format(command=command))


VERDICTS = {
    "PROMOTE": N_("PROMOTE"),
    "REJECT": N_("REJECT"),
    "CONTINUE": N_("CONTINUE"),
}


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    for command in (check,):
        app.command()(command)
