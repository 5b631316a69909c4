"""Small read models for console pages, as single SQL queries (the pages must stay fast at
10,000 groups)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from engine.groups import Group
from services.workspace import Workspace


def groups_following(ws: Workspace) -> dict[str, int]:
    """SOP id -> how many groups follow it."""
    with ws.session() as session:
        rows = session.exec(select(Group.sop_id, func.count()).group_by(Group.sop_id)).all()
    return {sop_id: int(count) for sop_id, count in rows}
