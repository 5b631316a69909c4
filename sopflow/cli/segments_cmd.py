"""`sop members segments`: the month-end RFM member lists of an SOP (added to `sop members`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from sopflow.cli.common import echo_json, workspace
from sopflow.cli.params import date_option, workspace_today


def members_segments(
    ctx: typer.Context,
    sop: str = typer.Argument(..., help="SOP id (its production version's RFM task)."),
    day: date = date_option(None, "--date", help="As of this day (default: today)."),
    ref: str = typer.Option("production", "--ref", help="Version number or alias."),
    csv_file: Path = typer.Option(None, "--csv", help="Write the member lists to this CSV."),
    as_json: bool = typer.Option(False, "--json", help="Print counts and members as JSON."),
) -> None:
    """Member lists per RFM segment (recency, orders, amount from the event data).

    An operator task, never a customer post: the SOP's `playbooks.mature.rfm` thresholds,
    per group or per SOP as its `scope` says.

    Example: sop members segments mombaby-refined --date 2026-09-30 --csv 名单.csv
    """
    from services.rfm_lists import segment_lists, write_csv

    lists = segment_lists(workspace(ctx), sop_id=sop, day=day or workspace_today(), ref=ref)
    if csv_file is not None:
        written = write_csv(lists, csv_file)
        typer.echo(f"wrote {written} member(s) to {csv_file}", err=as_json)
    names = lists.names()
    if as_json:
        members = [{**vars(m), "segment_name": names[m.segment]} for m in lists.members]
        echo_json({"sop": lists.sop_id, "version": lists.version, "date": lists.day.isoformat(),
                   "counts": lists.counts(), "members": members})  # fmt: skip
        return
    typer.echo(f"{lists.sop_id} {lists.version} · {lists.day.isoformat()} · {lists.task.scope}")
    for name, count in lists.counts().items():
        typer.echo(f"{name}: {count}")
    if csv_file is None:
        for m in lists.members:
            where = f"{m.group_id} " if m.group_id else ""
            recency = "-" if m.recency_days is None else f"{m.recency_days}d"
            typer.echo(
                f"  {names[m.segment]}  {where}{m.member}  R {recency}  F {m.orders}"
                f"  M {m.amount:.2f}"
            )
