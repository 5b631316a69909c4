"""Group registry and member-join services: each change commits its own transaction.

Changes return the groups they touched and the (SOP, alias) pairs that have no version behind
them yet, so an entry point can warn that those groups get no actions until they have.
Adds, imports and edits are checked against the rest of the workspace: the SOP must be saved,
and a robot or WeCom mass-send group needs its robot key or credentials configured (the
error names the setting). Every change writes a record to the audit hash chain in the same
transaction (actions group_add, group_edit, group_alias, group_archive, group_remove).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from engine import group_csv, group_edits
from engine import groups as registry
from engine.groups import Group, GroupRegistryError
from engine.members import MemberJoin, import_member_joins
from services.settings import CONFIG_FILE
from services.workspace import Workspace
from versions import audit
from versions.store import unknown_sop


@dataclass(frozen=True)
class NewGroup:
    """One group to register (the fields `sop groups add` takes)."""

    id: str
    name: str
    sop_id: str
    owner: str = ""
    sender: str = ""
    channel: str = "console"
    target: str = ""
    alias: str = "production"
    start_date: date | None = None
    member_count: int = 0
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class GroupChange:
    """Groups a change touched, and (SOP, alias) pairs with no version behind them yet."""

    groups: list[Group]
    unresolved: list[tuple[str, str]] = field(default_factory=list)


def unresolved(ws: Workspace, wanted: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (SOP, alias) pairs among `wanted` whose SOP has no version under that alias."""
    return [(s, a) for s, a in sorted(set(wanted)) if a not in ws.store.aliases(s)]


def close_matches(word: str, known: Iterable[str]) -> str:
    """` (did you mean: a, b)` for the known words close to `word`, else ``."""
    found = difflib.get_close_matches(word, list(known), n=3, cutoff=0.6)
    return f" (did you mean: {', '.join(found)})" if found else ""


def reference_problems(ws: Workspace, group: Group) -> list[str]:
    """What the group names that the workspace lacks: its SOP, its channel's settings."""
    problems = []
    sop_ids = ws.store.sop_ids()
    if group.sop_id not in sop_ids:
        problems.append(f"sop: {unknown_sop(group.sop_id, sorted(sop_ids))}")
    where = ws.root / CONFIG_FILE
    settings = ws.settings
    if group.channel == "robot":
        keys = {name for name, key in settings.robot_keys.items() if key.get_secret_value()}
        if group.target not in keys:
            problems.append(
                f"target: no robot key for {group.target!r}: set robot_keys.{group.target}"
                f" in {where} or SOPFLOW_ROBOT_KEYS{close_matches(group.target, keys)}"
            )
    if group.channel == "wecom_mass":
        secret = settings.wecom_corp_secret
        missing = [
            name
            for name, value in (
                ("wecom_corp_id", settings.wecom_corp_id or ""),
                ("wecom_corp_secret", secret.get_secret_value() if secret else ""),
            )
            if not value.strip()
        ]
        if missing:
            names = " and ".join(missing)
            problems.append(f"channel wecom_mass: set {names} in {where} (or SOPFLOW_...)")
    return problems


def _check_references(ws: Workspace, groups: Sequence[Group], where: str = "") -> None:
    lines = [
        f"{where}group {g.id}: {problem}" for g in groups for problem in reference_problems(ws, g)
    ]
    if lines:
        raise GroupRegistryError("\n".join(lines))


def _audit(
    session: Session,
    *,
    action: str,
    by: str,
    now: datetime,
    group: Group,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    note: str,
) -> None:
    audit.append(
        session,
        actor=by,
        action=action,
        sop_id=group.sop_id,
        version=None,
        before={"group": dict(before)} if before is not None else None,
        after={"group": dict(after)} if after is not None else None,
        note=note,
        now=now,
    )


def add_groups(
    ws: Workspace, *, groups: Sequence[NewGroup], now: datetime, by: str = "sopflow"
) -> GroupChange:
    """Register groups, all or none, each checked against the workspace and audited."""
    with ws.session() as session:
        added = [registry.add_group(session, now=now, **asdict(g)) for g in groups]
        _check_references(ws, added)
        for group in added:
            after = group_edits.snapshot(group)
            note = f"group {group.id} {group.name} added"
            _audit(session, action="group_add", by=by, now=now, group=group, before=None,
                   after=after, note=note)  # fmt: skip
        session.commit()
    return GroupChange(added, unresolved(ws, [(g.sop_id, g.alias) for g in added]))


def import_groups(
    ws: Workspace, *, path: Path, now: datetime, by: str = "sopflow"
) -> tuple[int, GroupChange]:
    """Import groups from a CSV file, all or nothing; how many, and every group's SOP state."""
    with ws.session() as session:
        before = {g.id for g in registry.list_groups(session, archived=True)}
        # start dates are bounded from the workspace's day, not UTC's
        count = group_csv.import_groups_csv(session, path, now=now.astimezone(ws.settings.zone))
        every = registry.list_groups(session)
        new = [g for g in every if g.id not in before]
        _check_references(ws, new, where=f"{path}: ")
        for group in new:
            note = f"group {group.id} {group.name} imported from {path.name}"
            _audit(session, action="group_add", by=by, now=now, group=group, before=None,
                   after=group_edits.snapshot(group), note=note)  # fmt: skip
        session.commit()
    return count, GroupChange(every, unresolved(ws, [(g.sop_id, g.alias) for g in every]))


def show_group(ws: Workspace, *, group_id: str) -> tuple[Group, int]:
    """One group (archived ones too) and how many deliveries and joins it has."""
    with ws.session() as session:
        group = _get(session, group_id)
        return group, group_edits.history_count(session, group_id)


def _get(session: Session, group_id: str) -> Group:
    return registry.get_group(session, group_id)


def edit_group(
    ws: Workspace, *, group_id: str, changes: Mapping[str, Any], by: str, now: datetime
) -> GroupChange:
    """Change a group's fields (checked like an add, the SOP and channel too), audited."""
    if not changes:
        raise GroupRegistryError("edit: give at least one field to change (see --help)")
    with ws.session() as session:
        before = group_edits.snapshot(_get(session, group_id))
        group = group_edits.edit_group(session, group_id, changes)
        _check_references(ws, [group])
        after = group_edits.snapshot(group)
        changed = sorted(k for k in after if after[k] != before.get(k))
        note = f"group {group.id} edited: {', '.join(changed) or 'nothing changed'}"
        _audit(session, action="group_edit", by=by, now=now, group=group, before=before,
               after=after, note=note)  # fmt: skip
        session.commit()
    return GroupChange([group], unresolved(ws, [(group.sop_id, group.alias)]))


def remove_group(ws: Workspace, *, group_id: str, by: str, now: datetime) -> bool:
    """Remove a group: archived (True) when it has deliveries or joins, else deleted; audited."""
    with ws.session() as session:
        group = _get(session, group_id)
        before = group_edits.snapshot(group)
        archived = group_edits.remove_group(session, group_id, now)
        after = group_edits.snapshot(group) if archived else None
        action = "group_archive" if archived else "group_remove"
        note = f"group {group_id} {'archived (history kept)' if archived else 'removed'}"
        _audit(session, action=action, by=by, now=now, group=group, before=before,
               after=after, note=note)  # fmt: skip
        session.commit()
    return archived


def list_groups(
    ws: Workspace, *, sop_id: str | None = None, tag: str | None = None, archived: bool = False
) -> list[Group]:
    """Registered groups by id, optionally one SOP's and/or those with a tag (and archived)."""
    with ws.session() as session:
        return registry.list_groups(session, sop_id=sop_id, tag=tag, archived=archived)


def move_groups(
    ws: Workspace,
    *,
    alias: str,
    group_ids: Sequence[str] = (),
    sop_id: str | None = None,
    by: str = "sopflow",
    now: datetime | None = None,
) -> GroupChange:
    """Point groups (the given ids, or every group of `sop_id`) at production or candidate."""
    with ws.session() as session:
        ids = list(group_ids)
        if sop_id is not None:
            ids = [g.id for g in registry.list_groups(session, sop_id=sop_id)]
            if not ids:
                raise GroupRegistryError(f"no groups follow SOP {sop_id!r}")
        before = {g.id: g.alias for g in registry.list_groups(session, archived=True)}
        moved = registry.set_alias(session, ids, alias)
        when = now or datetime.now(UTC)
        for group in moved:
            if before.get(group.id) != group.alias:
                note = f"group {group.id} now follows {group.sop_id}@{alias}"
                _audit(session, action="group_alias", by=by, now=when, group=group,
                       before={"alias": before.get(group.id)}, after={"alias": alias},
                       note=note)  # fmt: skip
        session.commit()
    return GroupChange(moved, unresolved(ws, [(g.sop_id, g.alias) for g in moved]))


def import_joins(ws: Workspace, *, path: Path) -> int:
    """Store member joins from a CSV or JSONL file, all or nothing; how many were new."""
    with ws.session() as session:
        added = import_member_joins(session, path)
        session.commit()
    return added


def add_joins(ws: Workspace, *, joins: Iterable[MemberJoin]) -> int:
    """Store member joins (e.g. the simulator's); how many."""
    rows = list(joins)
    with ws.session() as session:
        session.add_all(rows)
        session.commit()
    return len(rows)
