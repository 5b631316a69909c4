"""Named migrations for the engine's tables (run by sopflow.db after the audit migrations)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection
from sqlmodel import SQLModel

from engine.groups import Group
from engine.ledger import Delivery
from engine.members import MemberJoin


def _groups_and_members(connection: Connection) -> None:
    SQLModel.metadata.create_all(
        connection,
        tables=[Group.__table__, MemberJoin.__table__],  # type: ignore[list-item]
    )


def _delivery_ledger(connection: Connection) -> None:
    SQLModel.metadata.create_all(connection, tables=[Delivery.__table__])  # type: ignore[list-item]


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("0101_groups_and_members", _groups_and_members),
    ("0102_delivery_ledger", _delivery_ledger),
]
