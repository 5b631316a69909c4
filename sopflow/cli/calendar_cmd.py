"""`sop calendar ...`: the workspace holiday schedule."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from sopflow.cli.common import echo_json, now, workspace
from sopflow.cli.params import parse_date

BY_HELP = "Who makes the change (audit trail, with your OS user; default: your login name)."

calendar_app = typer.Typer(
    help="The workspace holiday schedule: official data plus the days you enter.\n\n"
    "Example: sop calendar import holidays-2027.csv",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@calendar_app.command("show")
def show(
    ctx: typer.Context,
    year: int = typer.Argument(..., min=1900, max=2099, help="The year, e.g. 2027."),
    as_json: bool = typer.Option(False, "--json", help="Print the days as JSON."),
) -> None:
    """List a year's holidays and adjusted workdays and where the data comes from.

    Example: sop calendar show 2027
    """
    from services.calendar import year_view

    view = year_view(workspace(ctx), year)
    if as_json:
        rows = [
            {"date": d.isoformat(), "type": "workday" if w else "holiday", "name": n, "entered": e}
            for d, w, n, e in view.rows
        ]
        echo_json({"year": view.year, "source": view.source, "days": rows})
        return
    typer.echo(f"{year}: holiday data {view.source}")
    for day, workday, name, entered in view.rows:
        kind = "workday 班" if workday else "holiday 休"
        official = view.source.startswith("official")
        origin = "entered" if entered else "official" if official else "fixed date"
        typer.echo(f"{day.isoformat()}  {day:%a}  {kind}  {name or '':<20} {origin}")
    if view.source in {"none", "partly entered"}:
        typer.echo(
            "no complete schedule: other days' workday slots follow the workday_fallback "
            f"setting; enter the schedule with `sop calendar import FILE` (or `sop calendar "
            f"complete {year}` once every day is entered)",
            err=True,
        )


@calendar_app.command("import")
def import_command(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV with the header date,type,name."),
    by: str = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Enter every day of a CSV (date,type,name; type holiday/休 or workday/班): all or none.

    Example: sop calendar import holidays-2027.csv
    """
    from services.calendar import import_schedule

    done = import_schedule(workspace(ctx), path=file, by=by, now=now())
    shown = ", ".join(map(str, done.years))
    changed = f"{done.changed} day(s) changed"
    typer.echo(f"imported {file.name}: holiday schedule for {shown} ({changed})")
    for year in done.years:
        if year in done.complete:
            typer.echo(f"{year}: schedule complete (元旦 and 国庆 in the file)")
        else:
            typer.echo(
                f"{year}: days entered, the year is not marked complete (the file lacks its 元旦 "
                f"or 国庆): other days follow workday_fallback; `sop calendar complete {year}` "
                "once the whole schedule is entered"
            )


@calendar_app.command("set")
def set_command(
    ctx: typer.Context,
    day: date = typer.Argument(..., parser=parse_date, metavar="DATE", help="YYYY-MM-DD."),
    kind: str = typer.Argument(..., metavar="workday|holiday", help="workday (班) or holiday (休)"),
    name: str = typer.Option(None, "--name", help="The holiday's name, e.g. 春节."),
    by: str = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Enter one day as a workday or a holiday (replacing what was entered for that day);
    the year's other days stay as they were (see `sop calendar complete`).

    Example: sop calendar set 2027-02-06 holiday --name 春节
    """
    from services.calendar import DAY_TYPES, set_day
    from sop_models.errors import DataFileError

    if kind not in DAY_TYPES:
        raise DataFileError(f"workday|holiday: {kind!r} is neither workday (班) nor holiday (休)")
    set_day(workspace(ctx), day=day, workday=DAY_TYPES[kind], name=name, by=by, now=now())
    typer.echo(f"{day.isoformat()}: {'workday' if DAY_TYPES[kind] else 'holiday'} {name or ''}")


@calendar_app.command("complete")
def complete_command(
    ctx: typer.Context,
    year: int = typer.Argument(..., min=1900, max=2099, help="The year, e.g. 2027."),
    by: str = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Mark a year's entered days as its whole schedule: its other days follow Monday-Friday
    and plans stop warning about it (a day set alone never does that).

    Example: sop calendar complete 2027 --by 李经理
    """
    from services.calendar import mark_complete

    changed = mark_complete(workspace(ctx), year=year, by=by, now=now())
    typer.echo(f"{year}: schedule complete" + ("" if changed else " (already)"))


def register(app: typer.Typer) -> None:
    """Add `calendar` to the root app (once, however often called)."""
    if calendar_app not in {info.typer_instance for info in app.registered_groups}:
        app.add_typer(calendar_app, name="calendar")
