"""Group registry and member-join services: each change commits its own transaction.

Changes return the groups they touched and the (SOP, alias) pairs that have no version behind
them yet, so an entry point can warn that those groups get no actions until they have.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

from engine import groups as registry
from engine.groups import Group, GroupRegistryError
from engine.members import MemberJoin, import_member_joins
from services.workspace import Workspace


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


def add_groups(ws: Workspace, *, groups: Sequence[NewGroup], now: datetime) -> GroupChange:
    """Register groups, all or none."""
    with ws.session() as session:
        added = [registry.add_group(session, now=now, **asdict(g)) for g in groups]
        session.commit()
    return GroupChange(added, unresolved(ws, [(g.sop_id, g.alias) for g in added]))


def import_groups(ws: Workspace, *, path: Path, now: datetime) -> tuple[int, GroupChange]:
    """Import groups from a CSV file, all or nothing; how many, and every group's SOP state."""
    with ws.session() as session:
        count = registry.import_groups_csv(session, path, now=now)
        session.commit()
        every = registry.list_groups(session)
    return count, GroupChange(every, unresolved(ws, [(g.sop_id, g.alias) for g in every]))


def list_groups(ws: Workspace, *, sop_id: str | None = None, tag: str | None = None) -> list[Group]:
    """Registered groups by id, optionally one SOP's and/or those with a tag."""
    with ws.session() as session:
        return registry.list_groups(session, sop_id=sop_id, tag=tag)


def move_groups(
    ws: Workspace, *, alias: str, group_ids: Sequence[str] = (), sop_id: str | None = None
) -> GroupChange:
    """Point groups (the given ids, or every group of `sop_id`) at production or candidate."""
    with ws.session() as session:
        ids = list(group_ids)
        if sop_id is not None:
            ids = [g.id for g in registry.list_groups(session, sop_id=sop_id)]
            if not ids:
                raise GroupRegistryError(f"no groups follow SOP {sop_id!r}")
        moved = registry.set_alias(session, ids, alias)
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
