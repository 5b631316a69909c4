"""Rows the ops console stores: accounts, login sessions, failed logins, tracked links.

The named migration writes its DDL out, frozen, like the other layers' migrations; the
SQLModel classes below map the same tables for the services (`services.accounts`,
`services.sessions`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Boolean, Column, Connection, Index, Integer, MetaData, String, Table
from sqlmodel import Field, SQLModel

from versions.audit import UtcText

ROLES = ("operator", "lead", "admin")


class Account(SQLModel, table=True):
    """A person who logs in to the console, with one role."""

    __tablename__ = "web_accounts"

    name: str = Field(primary_key=True)
    role: str
    password_hash: str
    disabled: bool = False
    wecom_userid: str | None = Field(default=None, index=True)
    created_at: datetime = Field(sa_type=UtcText)


class WebSession(SQLModel, table=True):
    """A login: the SHA-256 of the cookie's session id, its CSRF token and last activity."""

    __tablename__ = "web_sessions"

    id_hash: str = Field(primary_key=True)
    account: str = Field(index=True)
    csrf: str
    created_at: datetime = Field(sa_type=UtcText)
    last_seen: datetime = Field(sa_type=UtcText)


class LoginFailure(SQLModel, table=True):
    """One wrong password (or unknown account) from one address."""

    __tablename__ = "web_login_failures"

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(index=True)
    address: str
    at: datetime = Field(sa_type=UtcText)


class TrackedLink(SQLModel, table=True):
    """A short link standing for one URL in one message to one group (no personal data)."""

    __tablename__ = "web_links"

    token: str = Field(primary_key=True)
    message_key: str = Field(index=True)
    group_id: str
    sop_id: str
    version: str
    url: str
    created_at: datetime = Field(sa_type=UtcText)


class LinkClick(SQLModel, table=True):
    """The first click on a link by one visitor (a member, or an address where unidentified)."""

    __tablename__ = "web_clicks"

    token: str = Field(primary_key=True)
    visitor: str = Field(primary_key=True)
    at: datetime = Field(sa_type=UtcText)


def _console_tables(conn: Connection) -> None:
    meta = MetaData()
    Table(
        "web_accounts",
        meta,
        Column("name", String, primary_key=True),
        Column("role", String, nullable=False),
        Column("password_hash", String, nullable=False),
        Column("disabled", Boolean, nullable=False, default=False),
        Column("wecom_userid", String, nullable=True),
        Column("created_at", String(32), nullable=False),
        Index("ix_web_accounts_wecom_userid", "wecom_userid"),
    )
    Table(
        "web_sessions",
        meta,
        Column("id_hash", String, primary_key=True),
        Column("account", String, nullable=False),
        Column("csrf", String, nullable=False),
        Column("created_at", String(32), nullable=False),
        Column("last_seen", String(32), nullable=False),
        Index("ix_web_sessions_account", "account"),
    )
    Table(
        "web_login_failures",
        meta,
        Column("id", Integer, primary_key=True),
        Column("account", String, nullable=False),
        Column("address", String, nullable=False),
        Column("at", String(32), nullable=False),
        Index("ix_web_login_failures_account", "account"),
    )
    meta.create_all(conn)


def _link_tables(conn: Connection) -> None:
    meta = MetaData()
    Table(
        "web_links",
        meta,
        Column("token", String, primary_key=True),
        Column("message_key", String, nullable=False),
        Column("group_id", String, nullable=False),
        Column("sop_id", String, nullable=False),
        Column("version", String, nullable=False),
        Column("url", String, nullable=False),
        Column("created_at", String(32), nullable=False),
        Index("ix_web_links_message_key", "message_key"),
    )
    Table(
        "web_clicks",
        meta,
        Column("token", String, primary_key=True),
        Column("visitor", String, primary_key=True),
        Column("at", String(32), nullable=False),
    )
    meta.create_all(conn)


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("0501_console_accounts", _console_tables),
    ("0502_console_tracked_links", _link_tables),
]
