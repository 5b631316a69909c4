"""`sop groups ...` (the group registry) and `sop members joined` (member join events)."""

from __future__ import annotations

import getpass
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import typer

from engine.groups import CHANNELS, Group, GroupRegistryError
from report.times import local_time
from services import groups as group_services
from services.groups import NewGroup
from sopflow.cli.common import echo_json, now, workspace
from sopflow.cli.params import date_option
from sopflow.cli.segments_cmd import members_segments

groups_app = typer.Typer(
    help="The group registry: which customer groups run which SOP, through which channel.\n\n"
    "Example: sop groups add wrOgAAA1 --name 上海宝妈福利群 --sop mombaby-refined",
    no_args_is_help=True,
    rich_markup_mode=None,
)
members_app = typer.Typer(
    help="Members: join events (welcome messages) and month-end RFM segment lists.\n\n"
    "Example: sop members joined joins-2025-03-08.csv",
    no_args_is_help=True,
    rich_markup_mode=None,
)
members_app.command("segments")(members_segments)


def _width(text: str) -> int:
    """Terminal columns of `text`: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def echo_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print rows as aligned columns (CJK-aware), a header line first."""
    cells = [[str(h) for h in headers], *[[str(v) for v in row] for row in rows]]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        padded = [v + " " * (w - _width(v)) for v, w in zip(row, widths, strict=True)]
        typer.echo("  ".join(padded).rstrip())


GROUP_FIELDS = ("id", "name", "sop", "alias", "channel", "target", "sender", "owner")
GROUP_FIELDS += ("start_date", "member_count", "tags", "created_at", "archived_at")


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "unknown"


BY_HELP = "Who makes the change (audit trail; default: your login name)."


def group_dict(group: Group) -> dict[str, Any]:
    """A group as plain JSON values in a fixed order (tags as a list)."""
    data = group.model_dump(mode="json")
    data.update(sop=group.sop_id, tags=group.tag_list)
    return {name: data[name] for name in GROUP_FIELDS}


def _row(g: Group) -> tuple[Any, ...]:
    tags = ",".join(g.tag_list) or "-"
    return (
        g.id,
        g.name,
        g.sop_id,
        g.alias,
        g.channel,
        g.target or "-",
        g.owner or "-",
        g.member_count,
        tags,
    )


def _note_unresolved(unresolved: Iterable[tuple[str, str]]) -> None:
    """Warn (stderr) about SOPs that have no version behind the alias groups now follow."""
    for sop_id, alias in unresolved:
        typer.echo(
            f"note: SOP {sop_id!r} has no {alias} version yet;"
            " its groups get no actions until it has",
            err=True,
        )


@groups_app.command("add")
def groups_add(
    ctx: typer.Context,
    group_id: str = typer.Argument(..., help="Group id (WeCom chat id or own id)."),
    name: str = typer.Option(..., "--name", help="Group name, e.g. 上海宝妈福利群."),
    sop: str = typer.Option(..., "--sop", help="SOP id the group follows."),
    owner: str = typer.Option("", "--owner", help="Group owner (群主), for people."),
    sender: str = typer.Option("", "--sender", help="Owner's staff userid (wecom_mass)."),
    channel: str = typer.Option(
        "console", "--channel", help=f"How actions reach it: {', '.join(CHANNELS)}."
    ),
    target: str = typer.Option(
        "", "--target", help="Chat id (wecom_mass) or robot name (robot); never a webhook URL."
    ),
    alias: str = typer.Option("production", "--alias", help="production or candidate."),
    start_date: date = date_option(None, "--start-date", help="Cold-start day 1."),
    members: int = typer.Option(0, "--members", help="Member count."),
    tag: list[str] = typer.Option(None, "--tag", help="A tag, e.g. city:上海 (repeatable)."),
    by: str = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Register one customer group.

    The SOP must be saved; a robot group needs its robot key and a wecom_mass group the
    WeCom credentials configured (the error names the setting). The change is audited.

    Example: sop groups add wrOgAAA1 --name 上海宝妈福利群 --sop mombaby-refined --tag city:上海
    """
    new = NewGroup(
        id=group_id,
        name=name,
        sop_id=sop,
        owner=owner,
        sender=sender,
        channel=channel,
        target=target,
        alias=alias,
        start_date=start_date,
        member_count=members,
        tags=tuple(tag or ()),
    )
    change = group_services.add_groups(workspace(ctx), groups=[new], now=now(), by=by or _login())
    [group] = change.groups
    via = f"{group.channel} {group.target}".rstrip()
    typer.echo(f"added group {group.id} {group.name} -> {group.sop_id}@{group.alias} via {via}")
    _note_unresolved(change.unresolved)


@groups_app.command("import")
def groups_import(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV: id,name,sop[,owner,sender,channel,...]."),
    by: str = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Import groups from a UTF-8 CSV, all or nothing (every bad row is reported).

    Header: id,name,owner,sender,channel,target,sop,alias,start_date,member_count,tags
    (id, name and sop required; tags separated by `;`).

    Example: sop groups import groups.csv
    """
    ws = workspace(ctx)
    count, change = group_services.import_groups(ws, path=file, now=now(), by=by or _login())
    typer.echo(f"imported {count} group(s) from {file}")
    _note_unresolved(change.unresolved)


@groups_app.command("list")
def groups_list(
    ctx: typer.Context,
    sop: str = typer.Option(None, "--sop", help="Only groups following this SOP."),
    tag: str = typer.Option(None, "--tag", help="Only groups with this tag."),
    archived: bool = typer.Option(False, "--archived", help="Include removed (archived) groups."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """List registered groups, by id.

    Example: sop groups list --sop mombaby-refined --tag city:上海
    """
    found = group_services.list_groups(workspace(ctx), sop_id=sop, tag=tag, archived=archived)
    if as_json:
        echo_json([group_dict(g) for g in found])
        return
    if not found:
        typer.echo("no groups")
        return
    headers = ("id", "name", "sop", "alias", "channel", "target", "owner", "members", "tags")
    echo_table(headers, [_row(g) for g in found])


@groups_app.command("set-alias")
def groups_set_alias(
    ctx: typer.Context,
    alias: str = typer.Argument(..., help="production or candidate."),
    group_ids: list[str] = typer.Argument(None, help="Group ids to move."),
    sop: str = typer.Option(None, "--sop", help="With --all: every group of this SOP."),
    every: bool = typer.Option(False, "--all", help="Move every group of --sop."),
    by: str = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Point groups at their SOP's production or candidate version (e.g. a pilot group).

    Example: sop groups set-alias candidate wrOgAAA1 wrOgAAA2
    """
    ids = list(group_ids or [])
    if every == bool(ids) or (every and not sop) or (sop and not every):
        raise GroupRegistryError(
            "set-alias: give group ids, or --sop SOP --all (one of the two, not both)"
        )
    change = group_services.move_groups(
        workspace(ctx),
        alias=alias,
        group_ids=ids,
        sop_id=sop if every else None,
        by=by or _login(),
        now=now(),
    )
    moved = [g.id for g in change.groups]
    typer.echo(f"{len(moved)} group(s) now follow the {alias} version: {', '.join(moved)}")
    _note_unresolved(change.unresolved)


@groups_app.command("show")
def groups_show(
    ctx: typer.Context,
    group_id: str = typer.Argument(..., help="Group id."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Show one group (archived ones too): every field and how much history it has.

    Example: sop groups show wrOgAAA1
    """
    ws = workspace(ctx)
    group, history = group_services.show_group(ws, group_id=group_id)
    data = {**group_dict(group), "history": history}
    if as_json:
        echo_json(data)
        return
    stamps = {"created_at": group.created_at, "archived_at": group.archived_at}
    for name, value in data.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        if stamps.get(name) is not None:  # stored in UTC, read in the workspace's zone
            shown = local_time(stamps[name], ws.settings.zone)
        typer.echo(f"{name:<13} {'-' if shown in (None, '') else shown}")


@groups_app.command("edit")
def groups_edit(
    ctx: typer.Context,
    group_id: str = typer.Argument(..., help="Group id (it never changes)."),
    name: str = typer.Option(None, "--name", help="New group name."),
    sop: str = typer.Option(None, "--sop", help="SOP id the group follows."),
    owner: str = typer.Option(None, "--owner", help="Group owner (群主)."),
    sender: str = typer.Option(None, "--sender", help="Owner's staff userid (wecom_mass)."),
    channel: str = typer.Option(None, "--channel", help=f"One of {', '.join(CHANNELS)}."),
    target: str = typer.Option(None, "--target", help="Chat id or robot name."),
    alias: str = typer.Option(None, "--alias", help="production or candidate."),
    start_date: date = date_option(None, "--start-date", help="Cold-start day 1."),
    members: int = typer.Option(None, "--members", help="Member count."),
    tag: list[str] = typer.Option(None, "--tag", help="Replace the tags (repeatable)."),
    by: str = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Change a group's fields; checked like an add (SOP saved, channel configured), audited.

    Example: sop groups edit wrOgAAA1 --owner 小李 --channel robot --target ops-robot
    """
    given = {
        **{"name": name, "sop_id": sop, "owner": owner, "sender": sender},
        **{"channel": channel, "target": target, "alias": alias, "start_date": start_date},
        **{"member_count": members, "tags": list(tag) if tag else None},
    }
    changes = {key: value for key, value in given.items() if value is not None}
    change = group_services.edit_group(
        workspace(ctx), group_id=group_id, changes=changes, by=by or _login(), now=now()
    )
    [group] = change.groups
    typer.echo(f"edited group {group.id} {group.name} -> {group.sop_id}@{group.alias}")
    _note_unresolved(change.unresolved)


@groups_app.command("remove")
def groups_remove(
    ctx: typer.Context,
    group_id: str = typer.Argument(..., help="Group id."),
    by: str = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Remove a group: with deliveries or joins it is archived (history kept), else deleted.

    Example: sop groups remove wrOgAAA1 --by 李经理
    """
    archived = group_services.remove_group(
        workspace(ctx), group_id=group_id, by=by or _login(), now=now()
    )
    if archived:
        typer.echo(f"archived group {group_id}: it has history, which stays; no more actions")
    else:
        typer.echo(f"removed group {group_id}")


@members_app.command("joined")
def members_joined(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV (group,member,name,joined_at) or JSONL."),
) -> None:
    """Store member join events, all or nothing; rows already stored are skipped.

    joined_at is ISO-8601 with a UTC offset, e.g. 2025-03-08T09:30:00+08:00.

    Example: sop members joined joins-2025-03-08.csv
    """
    added = group_services.import_joins(workspace(ctx), path=file)
    typer.echo(f"stored {added} new member join(s) from {file}")


def register(app: typer.Typer) -> None:
    """Add `groups` and `members` to the root app (once, however often called)."""
    present = {info.typer_instance for info in app.registered_groups}
    for sub, name in ((groups_app, "groups"), (members_app, "members")):
        if sub not in present:
            app.add_typer(sub, name=name)
