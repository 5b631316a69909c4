"""Named schema migrations of the version layer, applied in order by `services.db.migrate`.

Each entry is a plain `(name, apply)` pair; `apply(connection)` runs inside the migration's
own transaction. The DDL is written out here, frozen, rather than derived from today's models:
a migration must create the same schema forever, whatever the models become later.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Column, Connection, Index, Integer, MetaData, String, Table, Text, insert

from versions.audit_verify import GENESIS


def _audit_log(conn: Connection) -> None:
    meta = MetaData()
    Table(
        "audit_log",
        meta,
        Column("id", Integer, primary_key=True),
        Column("seq", Integer, nullable=False, unique=True),
        Column("at", String(32), nullable=False),
        Column("actor", String, nullable=False),
        Column("action", String, nullable=False),
        Column("sop_id", String, nullable=False),
        Column("version", String, nullable=True),
        Column("before", Text, nullable=True),
        Column("after", Text, nullable=True),
        Column("note", Text, nullable=False),
        Column("prev_hash", String(64), nullable=False),
        Column("hash", String(64), nullable=False),
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_sop_id", "sop_id"),
    )
    head = Table(
        "audit_head",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("seq", Integer, nullable=False),
        Column("hash", String(64), nullable=False),
    )
    meta.create_all(conn)
    conn.execute(insert(head).values(id=1, seq=0, hash=GENESIS))


def _audit_checkpoint(conn: Connection) -> None:
    meta = MetaData()
    Table(
        "audit_checkpoint",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("seq", Integer, nullable=False),
        Column("hash", String(64), nullable=False),
        Column("digest", String(64), nullable=False),
        Column("state", Text, nullable=False),
        Column("at", String(32), nullable=False),
    )
    meta.create_all(conn)


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("0001_audit_log", _audit_log),
    ("0002_audit_checkpoint", _audit_checkpoint),
]
