"""Named migrations for the engine's tables (run by services.db after the audit migrations)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, bindparam, inspect, select, text, update
from sqlmodel import SQLModel

from engine.calendar_days import CalendarDay, CalendarYear
from engine.channels.shared_limit import ChannelSend
from engine.groups import Group
from engine.ledger import Delivery
from engine.ledger.model import unversioned_key
from engine.members import MemberJoin
from engine.wecom.shared_state import WeComBlock, WeComToken


def _groups_and_members(connection: Connection) -> None:
    SQLModel.metadata.create_all(
        connection,
        tables=[Group.__table__, MemberJoin.__table__],  # type: ignore[list-item]
    )


def _delivery_ledger(connection: Connection) -> None:
    SQLModel.metadata.create_all(connection, tables=[Delivery.__table__])  # type: ignore[list-item]


def _delivery_slot_key(connection: Connection) -> None:
    """Add `slot_key` (the key without its version) to ledgers made before it existed."""
    if "slot_key" in {c["name"] for c in inspect(connection).get_columns("deliveries")}:
        return  # created by 0102 from the current model
    connection.execute(text("ALTER TABLE deliveries ADD COLUMN slot_key VARCHAR"))
    table = Delivery.__table__
    rows = connection.execute(select(table.c.key, table.c.sop_id, table.c.version)).all()
    if rows:
        connection.execute(
            update(table).where(table.c.key == bindparam("b_key")).values(
                slot_key=bindparam("b_slot_key")
            ),
            [
                {"b_key": key, "b_slot_key": unversioned_key(key, sop, version)}
                for key, sop, version in rows
            ],
        )  # fmt: skip
    connection.execute(
        text("CREATE INDEX IF NOT EXISTS ix_deliveries_slot_key ON deliveries (slot_key)")
    )


def _delivery_owner_lease(connection: Connection) -> None:
    """Add the claim's `owner` (run id) and `lease_until` to ledgers made before them."""
    present = {c["name"] for c in inspect(connection).get_columns("deliveries")}
    stamp = "TIMESTAMP WITH TIME ZONE" if connection.dialect.name == "postgresql" else "DATETIME"
    for name, kind in (("owner", "VARCHAR"), ("lease_until", stamp)):
        if name not in present:  # absent unless 0102 created the table from the current model
            connection.execute(text(f"ALTER TABLE deliveries ADD COLUMN {name} {kind}"))


def _delivery_follow_up(connection: Connection) -> None:
    """Add the follow-up of unconfirmed mass sends (`follow_up`, `reminded_at`, `reminders`)."""
    present = {c["name"] for c in inspect(connection).get_columns("deliveries")}
    stamp = "TIMESTAMP WITH TIME ZONE" if connection.dialect.name == "postgresql" else "DATETIME"
    wanted = (("follow_up", "VARCHAR"), ("reminded_at", stamp),
              ("reminders", "INTEGER NOT NULL DEFAULT 0"))  # fmt: skip
    for name, kind in wanted:
        if name not in present:  # absent unless 0102 created the table from the current model
            connection.execute(text(f"ALTER TABLE deliveries ADD COLUMN {name} {kind}"))


def _channel_sends(connection: Connection) -> None:
    SQLModel.metadata.create_all(connection, tables=[ChannelSend.__table__])  # type: ignore[list-item]


def _wecom_shared_state(connection: Connection) -> None:
    """The access_token and 45009 blocks every worker shares (engine.wecom.shared_state)."""
    tables = [WeComToken.__table__, WeComBlock.__table__]
    SQLModel.metadata.create_all(connection, tables=tables)  # type: ignore[arg-type]


def _group_archived_at(connection: Connection) -> None:
    """Add `archived_at` (a removed group with history) to registries made before it existed."""
    if "archived_at" in {c["name"] for c in inspect(connection).get_columns("groups")}:
        return  # created by 0101 from the current model
    kind = "TIMESTAMP WITH TIME ZONE" if connection.dialect.name == "postgresql" else "DATETIME"
    connection.execute(text(f"ALTER TABLE groups ADD COLUMN archived_at {kind}"))


def _workspace_calendar(connection: Connection) -> None:
    """The holiday schedule every machine on the database shares (was calendar.json)."""
    tables = [CalendarDay.__table__, CalendarYear.__table__]
    SQLModel.metadata.create_all(connection, tables=tables)  # type: ignore[arg-type]


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("0101_groups_and_members", _groups_and_members),
    ("0102_delivery_ledger", _delivery_ledger),
    ("0103_delivery_slot_key", _delivery_slot_key),
    ("0104_channel_sends", _channel_sends),
    ("0105_delivery_owner_lease", _delivery_owner_lease),
    ("0150_group_archived_at", _group_archived_at),
    ("0106_delivery_follow_up", _delivery_follow_up),
    ("0107_wecom_shared_state", _wecom_shared_state),
    ("0109_workspace_calendar", _workspace_calendar),
]
