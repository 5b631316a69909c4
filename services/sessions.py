"""Console login sessions: a new random id at each login, idle expiry, a CSRF token each.

The cookie carries the session id (signed by the web layer); the database keeps only its
SHA-256, so a copy of the database logs nobody in. A session unused for the workspace's
`web_idle_minutes` is gone; logging out or disabling the account ends it at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import col, select

from services.accounts import User, user_of
from services.web_store import Account, WebSession
from services.workspace import Workspace

SECRET_FILE = ".web-secret"  # the cookie-signing key of a workspace, made on first use


@dataclass(frozen=True)
class Login:
    """A live session: who, and the CSRF token every form of theirs must carry."""

    user: User
    csrf: str


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(ws: Workspace, *, user: User, now: datetime) -> tuple[str, Login]:
    """A new session for `user`: (the id for the cookie, the login with its CSRF token)."""
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    idle = timedelta(minutes=ws.settings.web_idle_minutes)
    with ws.session() as session:
        # Sessions idle too long are dead anyway; dropping them here keeps the table small.
        session.exec(delete(WebSession).where(col(WebSession.last_seen) < now - idle))  # type: ignore[call-overload]
        session.add(
            WebSession(
                id_hash=_hash(session_id),
                account=user.name,
                csrf=csrf,
                created_at=now,
                last_seen=now,
            )
        )
        session.commit()
    return session_id, Login(user, csrf)


def current(ws: Workspace, *, session_id: str, now: datetime) -> Login | None:
    """The live login of a session id (touching it), or None: unknown, idle too long, or its
    account disabled (the session is then deleted)."""
    idle = timedelta(minutes=ws.settings.web_idle_minutes)
    with ws.session() as session:
        row = session.get(WebSession, _hash(session_id))
        if row is None:
            return None
        account = session.get(Account, row.account)
        user = None if account is None else user_of(account)
        if user is None or user.disabled or now - row.last_seen > idle:
            session.delete(row)
            session.commit()
            return None
        if now - row.last_seen > idle / 30:  # write at most every minute or so
            row.last_seen = now
            session.add(row)
            session.commit()
        return Login(user, row.csrf)


def end_session(ws: Workspace, *, session_id: str) -> None:
    """Log out: the session id stops working."""
    with ws.session() as session:
        session.exec(delete(WebSession).where(WebSession.id_hash == _hash(session_id)))  # type: ignore[call-overload]
        session.commit()


def end_sessions_of(ws: Workspace, *, account: str) -> int:
    """End every session of an account; how many there were."""
    with ws.session() as session:
        rows = session.exec(select(WebSession).where(WebSession.account == account)).all()
        for row in rows:
            session.delete(row)
        session.commit()
        return len(rows)


def signing_key(ws: Workspace) -> str:
    """The workspace's cookie-signing key (created, readable by its owner only, on first use)."""
    path = ws.root / SECRET_FILE
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()
