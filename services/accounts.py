"""Console accounts: add, list, disable, set a role, reset a password, and log in.

Passwords are hashed with Argon2id (argon2-cffi). Logins are throttled: after
`MAX_FAILURES_PER_ADDRESS` wrong passwords for one account from one address (or
`MAX_FAILURES_PER_ACCOUNT` from anywhere) within `WINDOW`, the account is locked for that
address (or everywhere) until the window has passed; each lockout is an audit record.
Account changes are audit records too (action `user_*`, SOP `console`). Every change
commits its own transaction, audit row included.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func
from sqlmodel import Session, select

from services.web_store import ROLES, Account, LoginFailure
from services.workspace import Workspace
from sop_models.errors import AccountError
from sop_models.i18n import tr
from versions import audit

AUDIT_SOP = "console"  # the audit trail's `sop_id` for account and login records
MAX_FAILURES_PER_ADDRESS = 5
MAX_FAILURES_PER_ACCOUNT = 20
WINDOW = timedelta(minutes=15)
MIN_PASSWORD = 8
_HASHER = PasswordHasher()
# Verified against when the account does not exist, so both answers take as long.
_DUMMY_HASH = _HASHER.hash("not-a-password-of-anyone")


@dataclass(frozen=True)
class User:
    """An account as shown to people (never its hash)."""

    name: str
    role: str
    disabled: bool
    wecom_userid: str | None
    created_at: datetime

    @property
    def is_lead(self) -> bool:
        """Leads and admins act on SOPs, groups and approvals."""
        return self.role in ("lead", "admin")


def user_of(row: Account) -> User:
    """The shown form of an account row."""
    return User(row.name, row.role, row.disabled, row.wecom_userid, row.created_at)


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"--role: {role!r} is not one of {', '.join(ROLES)}")
    return role


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password: at least {MIN_PASSWORD} characters")
    return password


def one_time_password() -> str:
    """A random password to hand over once (the console shows it a single time)."""
    return secrets.token_urlsafe(12)  # 16 characters, 96 random bits


def _not_self(name: str, actor: str, message: str) -> None:
    """An admin in the console may not lock themselves out (disable or demote their account)."""
    if name.strip() == actor.strip():
        raise AccountError(message.format(name=name))


def _record(
    session: Session, *, actor: str, action: str, name: str, note: str, now: datetime
) -> None:
    audit.append(
        session,
        actor=actor,
        action=action,
        sop_id=AUDIT_SOP,
        version=None,
        before=None,
        after={"account": name},
        note=note,
        now=now,
    )


def _get(session: Session, name: str) -> Account:
    row = session.get(Account, name)
    if row is None:
        raise AccountError(f"no account named {name!r} (see `sop users list`)")
    return row


def add_user(
    ws: Workspace,
    *,
    name: str,
    role: str,
    password: str,
    actor: str,
    now: datetime,
    wecom_userid: str | None = None,
) -> User:
    """Create an account; refuse a name in use, an unknown role or a short password."""
    name = name.strip()
    if not name:
        raise AccountError("NAME must not be empty")
    _check_role(role)
    hashed = _HASHER.hash(_check_password(password))
    with ws.session() as session:
        if session.get(Account, name) is not None:
            raise AccountError(f"an account named {name!r} exists already")
        row = Account(
            name=name,
            role=role,
            password_hash=hashed,
            wecom_userid=wecom_userid or None,
            created_at=now,
        )
        session.add(row)
        _record(session, actor=actor, action="user_add", name=name, note=f"{name}: {role}", now=now)
        session.commit()
        return user_of(row)


def list_users(ws: Workspace) -> list[User]:
    """Every account, by name."""
    with ws.session() as session:
        return [user_of(r) for r in session.exec(select(Account).order_by(Account.name)).all()]


def get_user(ws: Workspace, name: str) -> User | None:
    """One account, or None."""
    with ws.session() as session:
        row = session.get(Account, name)
        return None if row is None else user_of(row)


def _change(
    ws: Workspace, name: str, action: str, note: str, actor: str, now: datetime, **values: object
) -> User:
    """Set `values` on an account, with its audit record, in one transaction."""
    with ws.session() as session:
        row = _get(session, name)
        for key, value in values.items():
            setattr(row, key, value)
        session.add(row)
        _record(session, actor=actor, action=action, name=name, note=note, now=now)
        session.commit()
        return user_of(row)


def disable_user(ws: Workspace, *, name: str, actor: str, now: datetime) -> User:
    """Disable an account: it can no longer log in, and its sessions end."""
    from services.sessions import end_sessions_of

    _not_self(name, actor, tr("{name}: you cannot disable your own account"))
    user = _change(ws, name, "user_disable", f"{name} disabled", actor, now, disabled=True)
    end_sessions_of(ws, account=name)
    return user


def set_role(ws: Workspace, *, name: str, role: str, actor: str, now: datetime) -> User:
    """Give an account another role (not one's own: an admin would lose the users page)."""
    _check_role(role)
    _not_self(name, actor, tr("{name}: you cannot change the role of your own account"))
    return _change(ws, name, "user_role", f"{name}: {role}", actor, now, role=role)


def reset_password(ws: Workspace, *, name: str, password: str, actor: str, now: datetime) -> User:
    """Set a new password (and clear the account's failed logins)."""
    hashed = _HASHER.hash(_check_password(password))
    user = _change(
        ws, name, "user_password", f"{name}: password reset", actor, now, password_hash=hashed
    )
    with ws.session() as session:
        session.exec(delete(LoginFailure).where(LoginFailure.account == name))  # type: ignore[call-overload]
        session.commit()
    return user


def _failures(session: Session, name: str, address: str | None, now: datetime) -> int:
    stmt = (
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.account == name, LoginFailure.at >= now - WINDOW)
    )
    if address is not None:
        stmt = stmt.where(LoginFailure.address == address)
    return int(session.exec(stmt).one())  # type: ignore[call-overload]


def _locked(session: Session, name: str, address: str, now: datetime) -> bool:
    return (
        _failures(session, name, address, now) >= MAX_FAILURES_PER_ADDRESS
        or _failures(session, name, None, now) >= MAX_FAILURES_PER_ACCOUNT
    )


def authenticate(ws: Workspace, *, name: str, password: str, address: str, now: datetime) -> User:
    """The account for a name and password from `address`, or AccountError (one message for
    wrong name or password; another while locked out)."""
    name = name.strip()
    with ws.session() as session:
        if _locked(session, name, address, now):
            raise AccountError(tr("too many failed logins: try again in 15 minutes"))
        row = session.get(Account, name)
        try:
            _HASHER.verify(row.password_hash if row else _DUMMY_HASH, password)
            good = row is not None and not row.disabled
        except (VerificationError, InvalidHashError):
            good = False
        if good and row is not None:
            if _HASHER.check_needs_rehash(row.password_hash):
                row.password_hash = _HASHER.hash(password)
                session.add(row)
                session.commit()
            return user_of(row)
        session.exec(delete(LoginFailure).where(LoginFailure.at < now - WINDOW))  # type: ignore[call-overload,arg-type]
        session.add(LoginFailure(account=name, address=address, at=now))
        session.flush()
        if _locked(session, name, address, now):
            note = f"{name or '?'} locked out after failed logins from {address}"
            _record(session, actor=address, action="lockout", name=name or "?", note=note, now=now)
        session.commit()
    raise AccountError(tr("wrong account name or password"))
