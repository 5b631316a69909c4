"""`sop today`: every SOP's hand work of one day, built from the plan (no run needed)."""

from __future__ import annotations

from datetime import date

import typer

from sop_models.i18n import tr
from sopflow.cli.common import echo_json, now, workspace
from sopflow.cli.params import date_option

MARKS = {"sent": "[x]", "done": "[x]"}


def today(
    ctx: typer.Context,
    day: date = date_option(None, "--date", help="The local day (default: today)."),
    owner: str = typer.Option(None, "--owner", help="Only groups this owner (群主) runs."),
    as_json: bool = typer.Option(False, "--json", help="Print the items as JSON."),
) -> None:
    """Today's hand posts (names, groups, owners, texts) and internal tasks, across every SOP.

    Built from the plan laid over the delivery ledger, so it works before any run: [x] marks
    what is posted or done. Internal tasks (e.g. RFM segmentation lists) are listed apart and
    never go into a customer group. Mark posts with `sop deliveries done KEY --by NAME`.

    Example: sop today --owner 小王
    """
    from services.today import build_day

    ws = workspace(ctx)
    zone = ws.settings.zone
    view = build_day(ws, day=day or now().astimezone(zone).date(), owner=owner)
    if as_json:
        echo_json(
            {
                "date": view.day.isoformat(),
                "posts": [i.as_dict(zone) for i in view.posts],
                "internal": [i.as_dict(zone) for i in view.internal],
                "checks": [i.as_dict(zone) for i in view.checks],
                "automatic": view.automatic,
                "warnings": view.warnings,
            }
        )
        return
    who = f" · {owner}" if owner else ""
    typer.echo("# " + tr("Today {day}").format(day=view.day.isoformat()) + who)
    for title, items in (
        (tr("Posts by hand"), view.posts),
        (tr("Internal tasks — never paste into a customer group"), view.internal),
        (tr("To check"), view.checks),
    ):
        if not items:
            continue
        typer.echo("\n## " + tr("{title} ({count})").format(title=title, count=len(items)))
        for item in items:
            mark = MARKS.get(item.status, "[ ]")
            at = item.at.astimezone(zone).strftime("%H:%M")
            group = f"{item.group_name} ({item.group_id})" if item.group_name else item.group_id
            owner_part = " · " + tr("owner {name}").format(name=item.owner) if item.owner else ""
            typer.echo(f"- {mark} **{at}** {item.post} · {group}{owner_part} · `{item.short_key}`")
            for line in item.text.splitlines():
                typer.echo(f"  > {line}".rstrip())
    if not view.items:
        typer.echo("\n" + tr("Nothing to do by hand."))
    typer.echo("\n" + tr("sent by machines: {count}").format(count=view.automatic))
    for warning in view.warnings:
        typer.echo(tr("warning: {text}").format(text=warning), err=True)


def register(app: typer.Typer) -> None:
    """Add `today` to the root app."""
    app.command()(today)
