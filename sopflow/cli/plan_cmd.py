"""`sop plan`: show what an SOP would send to its groups in a date window (sends nothing)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

import typer

from engine.groups import Group, GroupRegistryError, get_group, list_groups
from engine.members import joins_between
from engine.planner import TZ, Plan, PlanError, plan
from services.workspace import Workspace
from sop_models import SopDocument, parse_document
from sop_models.actions import PlannedAction
from sopflow.cli.common import echo_json, workspace
from versions import services


def _day(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PlanError(f"{flag}: {text!r} is not a date (YYYY-MM-DD)") from None


def _groups(ws: Workspace, sop_id: str, wanted: Sequence[str]) -> list[Group]:
    with ws.session() as session:
        if not wanted:
            return list_groups(session, sop_id=sop_id)
        found = [get_group(session, gid) for gid in dict.fromkeys(wanted)]
    others = [f"{g.id} follows {g.sop_id}" for g in found if g.sop_id != sop_id]
    if others:
        raise GroupRegistryError(f"not groups of {sop_id}: {'; '.join(others)}")
    return found


def plan_workspace(
    ws: Workspace, *, sop_id: str, ref: str | None, start: date, end: date, group_ids: Sequence[str]
) -> Plan:
    """Plan `sop_id` for its groups: version `ref`, or each group's own alias when None."""
    groups = _groups(ws, sop_id, group_ids)
    if not groups:
        services.resolve(ws.store, sop_id, ref or "latest")  # an unknown SOP is an error
        return Plan(warnings=[f"no groups follow {sop_id}: add some with `sop groups add`"])
    by_ref: dict[str, list[Group]] = {}
    for group in groups:
        by_ref.setdefault(ref or group.alias, []).append(group)
    docs: dict[str, tuple[str, SopDocument]] = {}
    for name in by_ref:
        info = services.resolve(ws.store, sop_id, name)
        docs[name] = (str(info.version), parse_document(ws.store.content(info), info.tag))
    longest = max(
        (a.delay_minutes for _, doc in docs.values() for a in doc.schedule.on_join), default=0
    )
    low = datetime.combine(start, time(), tzinfo=TZ)
    high = datetime.combine(end + timedelta(1), time(), tzinfo=TZ)
    with ws.session() as session:
        joins = joins_between(
            session, low - timedelta(minutes=longest), high, [g.id for g in groups]
        )
    result = Plan()
    for name, members in by_ref.items():
        version, doc = docs[name]
        ids = {g.id for g in members}
        part = plan(
            doc=doc,
            version=version,
            groups=members,
            start=start,
            end=end,
            joins=[j for j in joins if j.group_id in ids],
        )
        result.actions += part.actions
        result.warnings += part.warnings
    result.actions.sort(key=lambda a: (a.at, a.group_id, a.slot, a.member_id or ""))
    return result


def action_record(action: PlannedAction) -> dict[str, Any]:
    """The JSON form of one planned action (times ISO-8601 with +08:00)."""
    return {
        "key": action.key,
        "group": action.group_id,
        "at": action.at.astimezone(TZ).isoformat(),
        "kind": action.kind,
        "slot": action.slot,
        "member": action.member_id,
        "version": action.version,
        "msgtype": action.msgtype,
        "text": action.text,
        "content_tag": action.content_tag,
        "channel": action.channel,
        "target": action.target,
        "extra": dict(action.extra),
    }


def _line(action: PlannedAction) -> str:
    at = action.at.astimezone(TZ).strftime("%Y-%m-%d %H:%M")
    who = f" @{action.member_id}" if action.member_id else ""
    text = " / ".join(part.strip() for part in action.text.splitlines() if part.strip())
    return (
        f"{at}  {action.group_id}{who}  v{action.version}  {action.kind:<10} {action.slot}  {text}"
    )


def plan_command(
    ctx: typer.Context,
    spec: str = typer.Argument(
        ..., help="SOP[@VERSION|@ALIAS]; without @, each group's own alias (production/candidate)."
    ),
    date_from: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD, Asia/Shanghai)."),
    date_to: str = typer.Option(..., "--to", help="Last day, inclusive (YYYY-MM-DD)."),
    group: list[str] = typer.Option(None, "--group", help="Only this group id (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print the actions as JSON."),
) -> None:
    """Show every action an SOP plans for its groups between two dates; nothing is sent.

    Example: sop plan mombaby-refined@1.0 --from 2026-09-01 --to 2026-09-07 --group g1
    """
    ws = workspace(ctx)
    sop_id, _, ref = spec.partition("@")
    result = plan_workspace(
        ws,
        sop_id=sop_id,
        ref=ref or None,
        start=_day(date_from, "--from"),
        end=_day(date_to, "--to"),
        group_ids=group or [],
    )
    for warning in result.warnings:
        typer.echo(f"sop: warning: {warning}", err=True)
    if as_json:
        echo_json([action_record(a) for a in result.actions])
        return
    for action in result.actions:
        typer.echo(_line(action))
    typer.echo(f"{len(result.actions)} action(s)", err=True)


def register(app: typer.Typer) -> None:
    """Add `sop plan` to the root app."""
    app.command("plan")(plan_command)
