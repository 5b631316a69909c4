"""Accounts, throttled logins and sessions on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services import audit_trail
from services.accounts import (
    MAX_FAILURES_PER_ADDRESS,
    WINDOW,
    add_user,
    authenticate,
    disable_user,
    reset_password,
)
from services.sessions import current, end_session, start_session
from services.settings import Settings
from services.workspace import Workspace, init_workspace
from sop_models.errors import AccountError

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
PW = "correct-horse-9"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    init_workspace(tmp_path / "ws").close()
    url = name = None
    if request.param == "postgres":
        cluster = request.getfixturevalue("pg_cluster")
        name = f"acc_{uuid.uuid4().hex[:16]}"
        cluster.admin(f"CREATE DATABASE {name}")
        url = cluster.url(name)
    workspace = Workspace(tmp_path / "ws", Settings(database_url=url, web_idle_minutes=30))
    try:
        yield workspace
    finally:
        workspace.close()
        if name:
            cluster.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _login(ws: Workspace, password: str, *, at: datetime, address: str = "10.0.0.1") -> str:
    return authenticate(ws, name="李经理", password=password, address=address, now=at).name


def test_the_right_password_logs_in_and_a_wrong_one_is_refused(ws: Workspace) -> None:
    add_user(ws, name="李经理", role="lead", password=PW, actor="os:test", now=T0)
    assert _login(ws, PW, at=T0) == "李经理"
    with pytest.raises(AccountError, match="账号名或密码错误"):
        _login(ws, "nope-nope-nope", at=T0)
    with pytest.raises(AccountError, match="账号名或密码错误"):
        authenticate(ws, name="nobody", password=PW, address="10.0.0.1", now=T0)


def test_lockout_holds_per_address_until_the_window_passes_and_is_audited_once(
    ws: Workspace,
) -> None:
    add_user(ws, name="李经理", role="lead", password=PW, actor="os:test", now=T0)
    for n in range(MAX_FAILURES_PER_ADDRESS):
        with pytest.raises(AccountError):
            _login(ws, "wrong-password", at=T0 + timedelta(seconds=n))
    with pytest.raises(AccountError, match="登录失败次数过多"):
        _login(ws, PW, at=T0 + timedelta(minutes=1))
    assert _login(ws, PW, at=T0 + timedelta(minutes=1), address="10.0.0.2") == "李经理"
    assert _login(ws, PW, at=T0 + WINDOW + timedelta(minutes=1)) == "李经理"
    lockouts = audit_trail.records(ws, action="lockout")
    assert [r.actor for r in lockouts] == ["10.0.0.1"]
    assert audit_trail.verify(ws) == []


def test_reset_password_clears_the_lockout(ws: Workspace) -> None:
    add_user(ws, name="李经理", role="lead", password=PW, actor="os:test", now=T0)
    for _ in range(MAX_FAILURES_PER_ADDRESS):
        with pytest.raises(AccountError):
            _login(ws, "wrong-password", at=T0)
    reset_password(ws, name="李经理", password="another-pass-7", actor="os:test", now=T0)
    assert _login(ws, "another-pass-7", at=T0) == "李经理"


def test_a_session_expires_when_idle_and_ends_at_logout_or_when_disabled(ws: Workspace) -> None:
    user = add_user(ws, name="李经理", role="lead", password=PW, actor="os:test", now=T0)
    sid, login = start_session(ws, user=user, now=T0)
    assert current(ws, session_id=sid, now=T0 + timedelta(minutes=29)) == login
    # Each use restarts the idle clock; 31 minutes of silence end it.
    assert current(ws, session_id=sid, now=T0 + timedelta(minutes=55)) is not None
    assert current(ws, session_id=sid, now=T0 + timedelta(minutes=87)) is None
    sid, _ = start_session(ws, user=user, now=T0)
    end_session(ws, session_id=sid)
    assert current(ws, session_id=sid, now=T0) is None
    sid, _ = start_session(ws, user=user, now=T0)
    disable_user(ws, name="李经理", actor="os:test", now=T0)
    assert current(ws, session_id=sid, now=T0) is None
