"""Event data commands: `sop events import|list|remove|wecom-stats` and `sop kpi`."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import typer

from report.times import local_time
from sop_models.i18n import NP_, pgettext, tr
from sopflow.cli.common import echo_json, now, workspace
from sopflow.cli.groups_cmd import echo_table
from sopflow.cli.params import date_option, datetime_option, in_zone

events_app = typer.Typer(
    help="Event data (joins, messages, opens, orders, ...) for KPIs.\n\n"
    "Example: sop events import events-2026-09.csv"
)


@events_app.command("import")
def events_import(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="CSV, JSONL or Parquet event files."),
    tz: str = typer.Option(
        None, "--tz", help="Zone of times written without an offset (default: workspace's)."
    ),
    by: str = typer.Option("operator", "--by", help="Who imports (for the audit trail)."),
) -> None:
    """Check and import event files, one batch each; a file with any bad row imports nothing.

    Groups are matched by id or registered name; rows without sop/sop_version take the group's.
    Rows already imported are refused (or skipped when the file has an event_id column).

    Example: sop events import events-2026-09.csv --tz Asia/Shanghai
    """
    from services.event_imports import import_events

    ws = workspace(ctx)
    for path in files:
        result = import_events(ws, path, now=now(), tz=tz, actor=by)
        skipped = (
            tr(", skipped {count} already imported").format(count=result.skipped)
            if result.skipped
            else ""
        )
        if result.rows == 0:
            typer.echo(tr("imported nothing new from {path}").format(path=path) + skipped)
        else:
            typer.echo(
                tr("imported {count} event(s) from {path} as batch {batch}").format(
                    count=result.rows, path=path, batch=result.batch
                )
                + skipped
            )


@events_app.command("push")
def events_push(
    ctx: typer.Context,
    group: str = typer.Option(..., "--group", help="Group id or registered name."),
    event: str = typer.Option(..., "--type", help="Event type, e.g. order (see SCHEMA.md)."),
    at: datetime = datetime_option(None, "--at", help="When it happened (default: now)."),
    value: float = typer.Option(None, "--value", help="Amount (orders: required, in yuan)."),
    member: str = typer.Option(None, "--member", help="Member id (member events: required)."),
    campaign: str = typer.Option(
        None, "--campaign", help="Campaign id: the event counts toward its thresholds (接龙)."
    ),
    by: str = typer.Option("operator", "--by", help="Who pushes (for the audit trail)."),
    as_json: bool = typer.Option(False, "--json", help="Print the batch and fired posts."),
) -> None:
    """Append one event (a batch of one, audited) and fire the group's threshold triggers now.

    Example: sop events push --group g1 --type order --member m7 --value 39.9 --campaign jielong
    """
    from services.event_push import push_event

    ws = workspace(ctx)
    when = in_zone(at, ws.settings.zone) if at is not None else now()
    done = push_event(
        ws,
        group=group,
        event=event,
        at=when,
        now=now(),
        value=value,
        member=member,
        actor=by,
        campaign=campaign,
    )
    sent = {key for report in done.reports for key in report.sent}
    fired = [
        {"key": a.key, "slot": a.slot, "sent": a.key in sent, "text": a.text} for a in done.fired
    ]
    if as_json:
        echo_json({"batch": done.batch.batch, "group": done.group_id, "fired": fired})
        return
    typer.echo(
        tr("pushed {event} for {group} as batch {batch}").format(
            event=event, group=done.group_id, batch=done.batch.batch
        )
    )
    for post in fired:
        state = tr("sent") if post["sent"] else tr("not sent")
        line = tr("fired {slot}: {state}").format(slot=post["slot"], state=state)
        typer.echo(f"{line}  {post['text']}")
    for warning in done.warnings:
        typer.echo(f"warning: {warning}", err=True)


@events_app.command("list")
def events_list(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the batches as JSON."),
) -> None:
    """List the imported event batches, oldest first: batch id, rows, when, from which file.

    Example: sop events list
    """
    from services.event_imports import list_batches

    ws = workspace(ctx)
    batches = list_batches(ws)
    if as_json:
        echo_json([vars(b) for b in batches])
        return
    if not batches:
        typer.echo(tr("no event batches imported"))
        return
    rows = []
    for b in batches:
        skipped = tr(" (+{count} skipped)").format(count=b.skipped) if b.skipped else ""
        when = b.imported_at and local_time(datetime.fromisoformat(b.imported_at), ws.settings.zone)
        rows.append((b.batch, f"{b.rows}{skipped}", when or "-", b.source))
    echo_table([pgettext(*h) for h in BATCH_HEADERS], rows)


BATCH_HEADERS = (
    NP_("column", "batch"),
    NP_("column", "events"),
    NP_("column", "imported at"),
    NP_("column", "file"),
)


@events_app.command("remove")
def events_remove(
    ctx: typer.Context,
    batch: str = typer.Argument(..., help="Batch id from `sop events list` (or 6+ characters)."),
    by: str = typer.Option(..., "--by", help="Who removes it (recorded in the audit trail)."),
) -> None:
    """Take one imported batch out of the event data; the removal is recorded in the audit trail.

    Example: sop events remove 53ecb91e5ac5 --by 小王
    """
    from services.event_imports import remove_batch

    entry = remove_batch(workspace(ctx), batch, now=now(), actor=by)
    typer.echo(
        tr("removed batch {batch}: {count} event(s) from {path}").format(
            batch=entry.batch, count=entry.rows, path=entry.source
        )
    )


@events_app.command("wecom-stats")
def events_wecom_stats(
    ctx: typer.Context,
    start: date = date_option(..., "--from", help="First day (YYYY-MM-DD)."),
    end: date = date_option(..., "--to", help="Last day, included (YYYY-MM-DD)."),
    owner: list[str] = typer.Option(None, "--owner", help="Group owner userids (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was stored as JSON."),
) -> None:
    """Fetch WeCom customer-group statistics (by owner and by day) into the event store, and
    the send results of our mass sends due on those days as per-message `delivered` events.

    WeCom has no read data for customer-group messages; the command says so, invents none.

    Example: sop events wecom-stats --from 2026-10-01 --to 2026-10-31 --owner zhangsan
    """
    from services.wecom_sends import NO_READ_DATA, fetch_send_results
    from services.wecom_stats import fetch_into_store

    ws = workspace(ctx)
    moment = now()
    stored = fetch_into_store(ws, start=start, end=end, owners=owner or None, now=moment)
    sends = fetch_send_results(ws, start=start, end=end, now=moment)
    if as_json:
        echo_json({**{k: str(v) for k, v in stored.items()}, "send_results": sends.as_json()})
        return
    typer.echo(
        tr("stored {owners} owner row(s) and {days} day row(s) under {path}").format(
            owners=stored["owner_rows"], days=stored["day_rows"], path=ws.dir("events") / "wecom"
        )
    )
    batch = tr(" (batch {batch})").format(batch=sends.batch) if sends.batch else ""
    typer.echo(
        tr("mass sends: {count} message(s); {new} new delivered event(s)").format(
            count=len(sends.messages), new=sends.new_events
        )
        + batch
        + tr(", {count} already stored").format(count=sends.already_stored)
    )
    for m in sends.messages:
        line = tr(
            "{message}: sent {sent}, failed {failed}, over the monthly cap {over}, "
            "not confirmed {waiting}"
        )
        typer.echo(
            "  "
            + line.format(
                message=m.message, sent=m.sent, failed=m.failed, over=m.over_cap, waiting=m.waiting
            )
        )
    if sends.without_members:
        typer.echo(
            tr(
                "note: no member_count for {groups}: WeCom does not say how many members a "
                "send reached, so their delivered events count 0 "
                "(set it: sop groups edit ID --members N)"
            ).format(groups=", ".join(sends.without_members))
        )
    typer.echo(tr("note: {text}").format(text=tr(NO_READ_DATA)))


def kpi(
    ctx: typer.Context,
    sop: str = typer.Argument(..., help="SOP id."),
    by: str = typer.Option(
        "version",
        "--by",
        help="version, group, day or a comma list; message or slot: each message's own rates.",
    ),
    metric: list[str] = typer.Option(None, "--metric", help="Only these metrics."),
    start: date = date_option(None, "--from", help="First day (YYYY-MM-DD)."),
    end: date = date_option(None, "--to", help="Day after the last."),
    as_json: bool = typer.Option(False, "--json", help="Print rows and alerts as JSON."),
) -> None:
    """KPIs of an SOP by version, group and/or day, plus the days its alert rules fire.

    Also says how many events were used and how many could not be attributed to an SOP version.

    Example: sop kpi mombaby-refined --by version,day --metric open_rate
    """
    from services.kpis import event_coverage, kpis_with_alerts

    ws = workspace(ctx)
    keys = [part.strip() for part in by.split(",") if part.strip()]
    table, hits = kpis_with_alerts(
        ws, sop_id=sop, by=keys, metrics=metric or None, start=start, end=end
    )
    counted = event_coverage(ws, sop_id=sop, start=start, end=end)
    rows = table.to_pylist()
    if as_json:
        echo_json({"rows": rows, "alerts": [vars(hit) for hit in hits], "events": vars(counted)})
        return
    columns = [
        c
        for c in ("metric", "sop_version", "group", "day", "message", "slot")
        if c in table.column_names
    ]
    for row in rows:
        where = "  ".join(str(row[c]) for c in columns)
        value = "-" if row["value"] is None else f"{row['value']:.4f}"
        typer.echo(f"{where}  {value}  ({row['num']:g}/{row['den']:g})")
    for hit in hits:
        typer.echo(tr("alert {hit}").format(hit=hit))
    note = tr(
        "events: {used} used for {sop}; {unattributed} could not be attributed"
        " to an SOP version (no sop/sop_version, and none known for their group that day)"
    )
    typer.echo(note.format(used=counted.used, sop=sop, unattributed=counted.unattributed))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(events_app, name="events")
    app.command()(kpi)
