"""Changing and removing registered groups (the registry itself is `engine.groups`).

An edit is checked by the same rules as an add; the id never changes (it is part of every
delivery key). Removing a group with history (deliveries or member joins) archives it: the
row, its id and its history stay, and it gets no more actions; a group without history is
deleted. The caller commits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from engine.groups import Group, GroupRegistryError, _check_values, _shown, get_group
from engine.ledger import Delivery
from engine.members import MemberJoin

EDITABLE = ("name", "owner", "sender", "channel", "target", "sop_id", "alias")
EDITABLE += ("start_date", "member_count", "tags")


def snapshot(group: Group) -> dict[str, Any]:
    """The group as plain JSON values (tags as a list): what the audit trail records."""
    data = group.model_dump(mode="json")
    data["tags"] = group.tag_list
    return data


def edit_group(session: Session, group_id: str, changes: Mapping[str, Any]) -> Group:
    """Apply `changes` (fields of EDITABLE) to a registered, not archived group."""
    unknown = [name for name in changes if name not in EDITABLE]
    if unknown:
        raise GroupRegistryError(
            f"cannot edit {', '.join(unknown)} (editable: {', '.join(EDITABLE)})"
        )
    group = get_group(session, group_id)
    if group.archived_at is not None:
        raise GroupRegistryError(f"group {group_id!r} is archived (removed); it cannot be edited")
    values: dict[str, Any] = {name: getattr(group, name) for name in EDITABLE}
    values.update(id=group.id, tags=group.tag_list)
    values.update({k: v.strip() if isinstance(v, str) else v for k, v in changes.items()})
    problems = _check_values(values)
    if problems:
        raise GroupRegistryError(f"group {_shown(group_id)}: {'; '.join(problems)}")
    for name in EDITABLE:
        value = values[name]
        if name == "tags":
            value = json.dumps([t.strip() for t in value if t.strip()], ensure_ascii=False)
        setattr(group, name, value)
    session.add(group)
    session.flush()
    return group


def history_count(session: Session, group_id: str) -> int:
    """Deliveries and member joins recorded for the group."""
    total = 0
    for model in (Delivery, MemberJoin):
        query = select(func.count()).select_from(model).where(model.group_id == group_id)
        total += session.exec(query).one()
    return total


def remove_group(session: Session, group_id: str, now: datetime) -> bool:
    """Archive the group when it has history (True), else delete it (False)."""
    group = get_group(session, group_id)
    if group.archived_at is not None:
        raise GroupRegistryError(f"group {group_id!r} is already archived (removed)")
    if history_count(session, group_id):
        group.archived_at = now
        session.add(group)
        session.flush()
        return True
    session.delete(group)
    session.flush()
    return False
