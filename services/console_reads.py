"""Small read models for console pages, as single SQL queries (the pages must stay fast at
10,000 groups)."""

from __future__ import annotations

import json

from sqlalchemy import func, or_
from sqlmodel import col, select

from engine.groups import Group
from services.workspace import Workspace


def groups_following(ws: Workspace) -> dict[str, int]:
    """SOP id -> how many groups (not archived) follow it."""
    query = (
        select(Group.sop_id, func.count())
        .where(col(Group.archived_at).is_(None))
        .group_by(col(Group.sop_id))
    )
    with ws.session() as session:
        rows = session.exec(query).all()
    return {sop_id: int(count) for sop_id, count in rows}


def find_groups(
    ws: Workspace,
    *,
    search: str = "",
    owner: str = "",
    tag: str = "",
    sop_id: str = "",
    limit: int = 200,
) -> tuple[list[Group], int]:
    """Groups matching every given filter (name/id search, owner, tag, SOP), by id: the first
    `limit` of them and how many match. The database filters; tags match exactly."""
    query = select(Group)
    if search:
        pattern = f"%{_escaped(search)}%"
        query = query.where(
            or_(
                col(Group.name).like(pattern, escape="\\"), col(Group.id).like(pattern, escape="\\")
            )
        )
    if owner:
        query = query.where(Group.owner == owner)
    if sop_id:
        query = query.where(Group.sop_id == sop_id)
    if tag:  # tags are a JSON list of strings: find the quoted tag, then check exactly
        quoted = _escaped(json.dumps(tag, ensure_ascii=False))
        query = query.where(col(Group.tags).like(f"%{quoted}%", escape="\\"))
    query = query.order_by(col(Group.id))
    with ws.session() as session:
        if tag:  # the LIKE finds candidates; the exact check needs the rows
            found = [g for g in session.exec(query).all() if tag in g.tag_list]
            return found[:limit], len(found)
        total = session.exec(select(func.count()).select_from(query.subquery())).one()
        return list(session.exec(query.limit(limit)).all()), int(total)


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def evidence_notes(ws: Workspace, *, sop_id: str) -> dict[str, list[str]]:
    """Version -> the summaries of the evidence attached to it, oldest first (one query on
    the audit trail, which records every attachment, instead of one git call per version)."""
    from versions import audit

    found: dict[str, list[str]] = {}
    with ws.session() as session:
        for record in audit.query(session, sop_id=sop_id, action="evidence"):
            found.setdefault(record.version or "", []).append(record.note)
    return found


def settings_rows(ws: Workspace) -> list[tuple[str, str]]:
    """The workspace's settings as (name, value) rows, by name; secrets show as set or not,
    never their value (robot keys by name only)."""
    from pydantic import SecretStr

    def shown(value: object) -> str:
        if isinstance(value, SecretStr):
            return "******" if value.get_secret_value() else ""
        if isinstance(value, dict):
            return ", ".join(f"{k}: {shown(v)}" for k, v in sorted(value.items()))
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return "" if value is None else str(value)

    settings = ws.settings
    return [(name, shown(getattr(settings, name))) for name in sorted(type(settings).model_fields)]
