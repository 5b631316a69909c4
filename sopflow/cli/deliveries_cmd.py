"""`sop deliveries`: the delivery ledger, per-group summaries, hand-posted work, mass sends."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Literal

import typer

from engine.ledger import Delivery
from services import deliveries as delivery_services
from services.checklist import render_checklist
from services.deliveries import STATUSES
from sop_models.errors import DataFileError
from sop_models.i18n import N_, NP_, pgettext, tr
from sopflow.cli.common import echo_json, now, workspace
from sopflow.cli.groups_cmd import echo_table
from sopflow.cli.params import date_option, datetime_option, in_zone

deliveries_app = typer.Typer(rich_markup_mode=None)  # help: the listing's docstring


@deliveries_app.callback(invoke_without_command=True)
def deliveries_list(
    ctx: typer.Context,
    sop: str = typer.Option(None, "--sop", help="Only this SOP."),
    group: str = typer.Option(None, "--group", help="Only this group."),
    status: str = typer.Option(None, "--status", help=f"One of: {', '.join(STATUSES)}."),
    since: datetime = datetime_option(None, "--since", help="Due from this date/time."),
    until: datetime = datetime_option(None, "--until", help="Due before this date/time."),
    as_json: bool = typer.Option(False, "--json", help="Print rows as JSON."),
) -> None:
    """The delivery ledger: list rows by due time, filtered by SOP, group, status, due time.

    Subcommands: summary, attention, settle, done, confirm, checklist. A date without a time
    means midnight in the workspace time zone (default Asia/Shanghai).

    Example: sop deliveries --group wrOgAAA1 --status failed --since 2025-03-01
    """
    if ctx.invoked_subcommand is not None:
        return
    ws = workspace(ctx)
    zone = ws.settings.zone
    rows = delivery_services.deliveries(
        ws,
        sop_id=sop,
        group_id=group,
        status=status,
        since=in_zone(since, zone),
        until=in_zone(until, zone),
    )
    if as_json:
        echo_json([_row_dict(row) for row in rows])
        return
    if not rows:
        typer.echo(tr("no deliveries"))
        return
    headers = [pgettext(*h) for h in LIST_HEADERS]
    echo_table(headers, [_list_row(row, zone) for row in rows])


LIST_HEADERS: tuple[tuple[str, str], ...] = (
    NP_("column", "due"),
    NP_("column", "group"),
    NP_("column", "channel"),
    NP_("column", "status"),
    NP_("column", "tries"),
    NP_("column", "key"),
    NP_("column", "note"),
)
SUMMARY_HEADERS = {
    "group": NP_("column", "group"),
    "name": NP_("column", "name"),
    "planned": NP_("column", "planned"),
    "sent": NP_("column", "sent"),
    "done": NP_("column", "done"),
    "failed": NP_("column", "failed"),
    "unknown": NP_("column", "unknown"),
    "awaiting": NP_("column", "awaiting"),
    "pending": NP_("column", "pending"),
    "skipped": NP_("column", "skipped"),
    "on_time": NP_("column", "on time"),
    "late": NP_("column", "late"),
    "early": NP_("column", "early"),
}


def _row_dict(row: Delivery) -> dict[str, object]:
    data = row.model_dump(mode="json")
    return {name: data[name] for name in Delivery.model_fields}


def _list_row(row: Delivery, zone: tzinfo) -> tuple[str, ...]:
    note = tr("by {name}").format(name=row.done_by) if row.done_by else ""
    note = note or row.error or row.response_id or ""
    due = row.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    return due, row.group_id, row.channel, row.status, str(row.attempts), row.key, note


@deliveries_app.command("summary")
def deliveries_summary(
    ctx: typer.Context,
    since: datetime = datetime_option(None, "--since", help="Due from (default: all)."),
    until: datetime = datetime_option(None, "--until", help="Due before (default: all)."),
    late_after: int = typer.Option(30, "--late-after", help="Minutes after due that are late."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Per group: planned, sent, done by hand, failed, unknown, awaiting, on time and late.

    Example: sop deliveries summary --since 2025-03-01 --until 2025-04-01
    """
    ws = workspace(ctx)
    zone = ws.settings.zone
    data = delivery_services.summary(
        ws,
        since=in_zone(since, zone),
        until=in_zone(until, zone),
        late_after=timedelta(minutes=late_after),
    )
    if as_json:
        echo_json(data)
        return
    if not data:
        typer.echo(tr("no deliveries"))
        return
    headers = [pgettext(*SUMMARY_HEADERS[n]) if n in SUMMARY_HEADERS else n for n in data[0]]
    echo_table(headers, [list(item.values()) for item in data])


@deliveries_app.command("done")
def deliveries_done(
    ctx: typer.Context,
    keys: list[str] = typer.Argument(
        None, help="Keys: full, sop:group:slot:date or group:slot:date (the checklist's)."
    ),
    by: str = typer.Option(..., "--by", help="Who posted them by hand."),
    ticked: Path = typer.Option(
        None, "--from", help="A ticked checklist CSV (done column); its done_by wins over --by."
    ),
    at: datetime = datetime_option(
        None, "--at", help="When they were posted (default: now); judged on time/late on it."
    ),
) -> None:
    """Record that an operator posted these actions by hand (who and when).

    Keys come from the arguments and/or the ticked rows of a checklist CSV (the output of
    `sop deliveries checklist --format csv` or the task list channel's file). A done cell
    takes √ ✓ x 是 已完成 done ok 1; an unclear mark refuses the file, by line. A post that
    was planned but not run yet is recorded too.

    Example: sop deliveries done g1:columns.morning:2025-03-08 --by 小王 --at 10:05
    """
    from services.done_marks import record_done

    ws = workspace(ctx)
    when = in_zone(at, ws.settings.zone) if at is not None else now()
    done = record_done(ws, keys=keys or [], by=by, at=when, now=now(), checklist=ticked)
    shown = [
        tr("{key} ({verdict})").format(key=key, verdict=tr(VERDICTS[v]))
        for key, v in done.changed.items()
    ]
    typer.echo(
        tr("marked {count} done: {keys}").format(
            count=len(done.changed), keys=", ".join(shown) or "-"
        )
    )
    if done.unchanged:
        typer.echo(
            tr("already sent or done, unchanged: {keys}").format(keys=", ".join(done.unchanged))
        )


VERDICTS = {"on_time": N_("on time"), "late": N_("late"), "early": N_("early, not on time")}


@deliveries_app.command("confirm")
def deliveries_confirm(ctx: typer.Context) -> None:
    """Ask WeCom which mass sends their senders confirmed; record sent or failed.

    Example: sop deliveries confirm
    """
    confirmation = delivery_services.confirm(workspace(ctx), now=now())
    for key, why in confirmation.skipped.items():
        typer.echo(tr("skipped {key}: {why}").format(key=key, why=why), err=True)
    report = confirmation.report
    if report is None:
        typer.echo(tr("no mass sends awaiting confirmation"))
        return
    typer.echo(
        tr(
            "polled {checked} mass send(s): {sent} sent, {failed} failed, "
            "{awaiting} still awaiting confirmation"
        ).format(
            checked=report.checked,
            sent=len(report.sent),
            failed=len(report.failed),
            awaiting=len(report.awaiting),
        )
    )


@deliveries_app.command("checklist")
def deliveries_checklist(
    ctx: typer.Context,
    day: date = date_option(..., "--date", help="The local day."),
    fmt: Literal["md", "csv"] = typer.Option(
        "md", "--format", help="md (Markdown task list) or csv."
    ),
    output: Path = typer.Option(None, "--output", "-o", help="Write here instead of stdout."),
    owner: str = typer.Option(None, "--owner", help="Only groups this owner (群主) runs."),
) -> None:
    """The operator's list for one day: hand posts, mass sends to confirm, unclear fates.

    Built from the plan (no run needed) for every SOP, laid over the delivery ledger: hand
    posts with their names, groups, owners and exact texts; operator tasks apart, never as
    posts; ledger rows a person must check. Done items drop off.

    Example: sop deliveries checklist --date 2025-03-08 --format csv -o 待办-0308.csv
    """
    from services.today import checklist

    rows = checklist(workspace(ctx), day=day, owner=owner)
    text = render_checklist(day, rows, fmt)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:  # a BOM so Excel opens the CSV's Chinese correctly
        output.write_text(("\ufeff" if fmt == "csv" else "") + text, encoding="utf-8", newline="")
    except OSError as exc:
        raise DataFileError(f"{output}: cannot write ({exc.strerror or exc})") from None
    typer.echo(tr("wrote {count} item(s) to {path}").format(count=len(rows), path=output))


@deliveries_app.command("attention")
def deliveries_attention(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print as JSON.")
) -> None:
    """Deliveries whose fate is unclear (unknown, awaiting confirmation, a mass send cancelled
    for want of confirmation, left sending by a stopped run), with what runs did about them
    (reminded, cancelled) and the step to take. Exit code 1 when there are any.

    Example: sop deliveries attention
    """
    ws = workspace(ctx)
    items = delivery_services.attention(ws, now=now())
    if as_json:
        echo_json([{**asdict(item), "due_at": item.due_at.isoformat()} for item in items])
    elif not items:
        typer.echo(tr("nothing needs attention"))
    else:
        zone = ws.settings.zone
        rows = [
            (i.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"), i.group_id, i.channel,
             i.status, i.follow_up or "-", i.key, i.action)
            for i in items
        ]  # fmt: skip
        headers = (*LIST_HEADERS[:4], NP_("follow-up column", "done"), LIST_HEADERS[5])
        echo_table([pgettext(*h) for h in (*headers, NP_("column", "to do"))], rows)
    if items:
        raise typer.Exit(1)


@deliveries_app.command("settle")
def deliveries_settle(
    ctx: typer.Context,
    key: str = typer.Argument(..., help="The delivery key."),
    outcome: str = typer.Argument(..., help="sent (it went out) or not-sent (send it again)."),
    by: str = typer.Option(..., "--by", help="Who checked the channel."),
) -> None:
    """Settle one delivery of unclear fate after checking the channel; audited.

    `sent` closes it; `not-sent` puts it back to pending, so the next run sends it.

    Example: sop deliveries settle mombaby-refined:1.0:g1:columns.morning:2025-03-08 sent --by 小王
    """
    row = delivery_services.settle(workspace(ctx), key=key, outcome=outcome, by=by, now=now())
    typer.echo(
        tr("{key}: {status} (settled by {name}, recorded in the audit trail)").format(
            key=row.key, status=row.status, name=by.strip()
        )
    )


def register(app: typer.Typer) -> None:
    """Add `deliveries` to the root app (once, however often called)."""
    if deliveries_app not in {info.typer_instance for info in app.registered_groups}:
        app.add_typer(deliveries_app, name="deliveries")
