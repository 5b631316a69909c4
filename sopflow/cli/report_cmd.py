"""`sop report`: one self-contained HTML file an ops lead can open offline."""

from __future__ import annotations

from pathlib import Path

import typer

from services.report_data import write_workspace_report
from sopflow.cli.common import now, workspace


def report(
    ctx: typer.Context,
    sop: str = typer.Argument(..., help="SOP id."),
    out: Path = typer.Option(None, "--out", help="HTML file (default: reports/<sop>.html)."),
) -> None:
    """Write the SOP's report: KPI trends per version, the experiment, alert days, history.

    Times in the report are in the workspace's timezone, each with its UTC offset.

    Example: sop report mombaby-refined --out 母婴SOP报告.html
    """
    ws = workspace(ctx)
    path = out or ws.dir("reports") / f"{sop}.html"
    written = write_workspace_report(ws, sop, path, now=now())
    typer.echo(f"report written: {written}")


def register(app: typer.Typer) -> None:
    """Add `report` to the root app."""
    app.command()(report)
