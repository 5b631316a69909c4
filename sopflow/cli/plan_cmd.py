"""`sop plan`: show what an SOP would send to its groups in a date window (sends nothing)."""

from __future__ import annotations

from datetime import date
from typing import Any

import typer

from engine.planner import TZ
from services.planning import plan_window
from sop_models.actions import PlannedAction
from sop_models.i18n import tr
from sopflow.cli.common import echo_json, workspace
from sopflow.cli.params import date_option


def action_record(action: PlannedAction) -> dict[str, Any]:
    """The JSON form of one planned action (times ISO-8601 with +08:00)."""
    return {
        "key": action.key,
        "group": action.group_id,
        "at": action.at.astimezone(TZ).isoformat(),
        "kind": action.kind,
        "slot": action.slot,
        "member": action.member_id,
        "sop": action.sop_id,
        "version": action.version,
        "msgtype": action.msgtype,
        "text": action.text,
        "content_tag": action.content_tag,
        "content_title": action.content_title,
        "channel": action.channel,
        "target": action.target,
        "extra": dict(action.extra),
    }


def _line(action: PlannedAction, base: str) -> str:
    at = action.at.astimezone(TZ).strftime("%Y-%m-%d %H:%M")
    who = f" @{action.member_id}" if action.member_id else ""
    text = " / ".join(part.strip() for part in action.text.splitlines() if part.strip())
    title = f"  [{action.content_title}]" if action.content_title else ""
    source = f"{action.sop_id} " if action.sop_id != base else ""  # an overlay's action
    return (
        f"{at}  {action.group_id}{who}  {source}v{action.version}  {action.kind:<10} "
        f"{action.slot}{title}"
        f"  {text}"
    )


def plan_command(
    ctx: typer.Context,
    spec: str = typer.Argument(
        ..., help="SOP[@VERSION|@ALIAS]; without @, each group's own alias (production/candidate)."
    ),
    date_from: date = date_option(..., "--from", help="First day (Asia/Shanghai)."),
    date_to: date = date_option(..., "--to", help="Last day, inclusive."),
    group: list[str] = typer.Option(None, "--group", help="Only this group id (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print the actions as JSON."),
    overlay: list[str] = typer.Option(
        None,
        "--overlay",
        help="Lay this SOP[@VERSION|@ALIAS] (default production) over it (repeatable).",
    ),
) -> None:
    """Show every action an SOP plans for its groups between two dates; nothing is sent.

    Example: sop plan mombaby-refined@1.0 --from 2026-09-01 --to 2026-09-07 --group g1
    """
    ws = workspace(ctx)
    sop_id, _, ref = spec.partition("@")
    result = plan_window(
        ws,
        sop_id=sop_id,
        ref=ref or None,
        start=date_from,
        end=date_to,
        group_ids=group or [],
        overlays=[
            (o.partition("@")[0], o.partition("@")[2] or "production") for o in overlay or []
        ],
    )
    for warning in result.warnings:
        typer.echo(f"sop: warning: {warning}", err=True)
    if as_json:
        echo_json([action_record(a) for a in result.actions])
        return
    for action in result.actions:
        typer.echo(_line(action, sop_id))
    typer.echo(tr("{count} action(s)").format(count=len(result.actions)), err=True)


def register(app: typer.Typer) -> None:
    """Add `sop plan` to the root app."""
    app.command("plan")(plan_command)
