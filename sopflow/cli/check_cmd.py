"""Commands of the check step: events import, kpi, check (experiments: experiment_cmd)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from services import preflight
from services.kpis import import_event_file, kpis_with_alerts
from sopflow.cli.common import echo_json, now, workspace
from sopflow.cli.params import date_option
from sopflow.prefect_context import prefect_for

events_app = typer.Typer(
    help="Event data (joins, messages, opens, orders, ...) for KPIs.\n\n"
    "Example: sop events import events-2026-09.csv"
)


@events_app.command("import")
def events_import(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="CSV, JSONL or Parquet event files."),
) -> None:
    """Check and import event files; a file with any bad row imports nothing.

    Example: sop events import events-2026-09.csv
    """
    ws = workspace(ctx)
    for path in files:
        result = import_event_file(ws, path, now=now())
        typer.echo(f"imported {result.rows} event(s) from {path}")


@events_app.command("wecom-stats")
def events_wecom_stats(
    ctx: typer.Context,
    start: date = date_option(..., "--from", help="First day (YYYY-MM-DD)."),
    end: date = date_option(..., "--to", help="Last day, included (YYYY-MM-DD)."),
    owner: list[str] = typer.Option(None, "--owner", help="Group owner userids (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was stored as JSON."),
) -> None:
    """Fetch WeCom customer-group statistics (by owner and by day) into the event store.

    Example: sop events wecom-stats --from 2026-10-01 --to 2026-10-31 --owner zhangsan
    """
    from services.wecom_stats import fetch_into_store

    ws = workspace(ctx)
    stored = fetch_into_store(ws, start=start, end=end, owners=owner or None, today=now().date())
    if as_json:
        echo_json({k: str(v) for k, v in stored.items()})
        return
    typer.echo(
        f"stored {stored['owner_rows']} owner row(s) and {stored['day_rows']} day row(s)"
        f" under {ws.dir('events') / 'wecom'}"
    )


def kpi(
    ctx: typer.Context,
    sop: str = typer.Argument(..., help="SOP id."),
    by: str = typer.Option("version", "--by", help="version, group, day or a comma list."),
    metric: list[str] = typer.Option(None, "--metric", help="Only these metrics."),
    start: date = date_option(None, "--from", help="First day (YYYY-MM-DD)."),
    end: date = date_option(None, "--to", help="Day after the last."),
    as_json: bool = typer.Option(False, "--json", help="Print rows and alerts as JSON."),
) -> None:
    """KPIs of an SOP by version, group and/or day, plus the days its alert rules fire.

    Example: sop kpi mombaby-refined --by version,day --metric open_rate
    """
    ws = workspace(ctx)
    keys = [part.strip() for part in by.split(",") if part.strip()]
    table, hits = kpis_with_alerts(
        ws, sop_id=sop, by=keys, metrics=metric or None, start=start, end=end
    )
    rows = table.to_pylist()
    if as_json:
        echo_json({"rows": rows, "alerts": [vars(hit) for hit in hits]})
        return
    columns = [c for c in ("metric", "sop_version", "group", "day") if c in table.column_names]
    for row in rows:
        where = "  ".join(str(row[c]) for c in columns)
        value = "-" if row["value"] is None else f"{row['value']:.4f}"
        typer.echo(f"{where}  {value}  ({row['num']:g}/{row['den']:g})")
    for hit in hits:
        typer.echo(f"alert {hit}")


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
) -> None:
    """Run the check flow: PROMOTE, REJECT or CONTINUE with reasons; PROMOTE waits for approval.

    Example: sop check mombaby-refined   # then: sop approve RUN_ID --approver 李经理
    """
    import os

    ws = workspace(ctx)
    preflight.for_check(ws, sop_id=sop)
    from flows.check import check as check_flow

    if wait and not os.environ.get("PREFECT_API_URL"):
        typer.echo(
            "note: no PREFECT_API_URL: a PROMOTE cannot wait for `sop approve` in "
            "ephemeral mode; run `sop server` first, or use --no-wait",
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
    typer.echo(f"{result['decision']}: {result['changelog']}")
    for reason in result["reasons"]:
        typer.echo(f"  - {reason}")
    if result.get("awaiting_approval"):
        typer.echo(
            f"approve with: sop promote {sop} {result['candidate']} --approver NAME "
            f'--changelog "{result["changelog"]}"'
        )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(events_app, name="events")
    for command in (kpi, check):
        app.command()(command)
