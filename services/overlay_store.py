"""The overlay tables: attachments (which overlay SOP lies over which base SOP's groups, when)
and arms (the alias of an overlay each group follows, set by `sop experiment OVERLAY`).

They live in the workspace database, so every workspace cache of a pool (one
`SOPFLOW_DATABASE_URL`) sees the same attachments. The named migration writes its DDL out,
frozen, like the other layers' migrations; the SQLModel classes map the same tables for
`services.overlays`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Column, Connection, MetaData, String, Table
from sqlmodel import Field, SQLModel

from versions.audit import UtcText


class OverlayRow(SQLModel, table=True):
    """Overlay SOP `overlay` (at alias or version `ref`) over `base`'s groups, `start`..`end`
    (ISO dates, None = open)."""

    __tablename__ = "overlay_attachments"

    overlay: str = Field(primary_key=True)
    base: str = Field(primary_key=True)
    ref: str = "production"
    start_day: str | None = None
    end_day: str | None = None
    changed_at: datetime = Field(sa_type=UtcText)


class OverlayArm(SQLModel, table=True):
    """The alias (production or candidate) of overlay `overlay` that group `group_id` follows;
    a group without a row follows the attachment's `ref`."""

    __tablename__ = "overlay_arms"

    overlay: str = Field(primary_key=True)
    group_id: str = Field(primary_key=True)
    alias: str


def _overlay_tables(conn: Connection) -> None:
    meta = MetaData()
    Table(
        "overlay_attachments",
        meta,
        Column("overlay", String, primary_key=True),
        Column("base", String, primary_key=True),
        Column("ref", String, nullable=False),
        Column("start_day", String(10)),
        Column("end_day", String(10)),
        Column("changed_at", String(32), nullable=False),
    )
    Table(
        "overlay_arms",
        meta,
        Column("overlay", String, primary_key=True),
        Column("group_id", String, primary_key=True),
        Column("alias", String, nullable=False),
    )
    meta.create_all(conn)


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("0108_overlay_attachments", _overlay_tables),
]
