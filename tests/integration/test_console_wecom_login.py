"""WeCom login (OAuth2 code -> auth/getuserinfo -> account) against the fake WeCom server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from services.accounts import add_user
from services.channels import shared_wecom_client
from services.settings import Settings
from services.workspace import Workspace
from tests.support.console import PASSWORD, client
from tests.support.wecom_fake import FakeWeCom

NOW = datetime(2026, 9, 1, tzinfo=UTC)


def web_settings(fake: FakeWeCom, **more: object) -> Settings:
    return Settings(
        wecom_corp_id=fake.corpid,
        wecom_corp_secret=fake.corpsecret,
        wecom_base_url=fake.base_url,
        wecom_agent_id="1000002",
        **more,  # type: ignore[arg-type]
    )


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    with FakeWeCom() as server:
        yield server


@pytest.fixture
def web(workspace: Workspace, fake: FakeWeCom) -> Iterator[TestClient]:
    ws = Workspace(workspace.root, web_settings(fake))
    add_user(
        ws,
        name="阿芳",
        role="operator",
        password=PASSWORD,
        actor="os:test",
        now=NOW,
        wecom_userid="fang",
    )
    try:
        with client(ws) as c:
            yield c
    finally:
        ws.close()


def _start(web: TestClient, qr: bool) -> str:
    answer = web.get(f"/login/wecom?qr={int(qr)}&next=/tasks")
    assert answer.status_code == 303
    target = urlsplit(answer.headers["location"])
    query = parse_qs(target.query)
    assert query["redirect_uri"] == ["http://testserver/login/wecom/callback"]
    if qr:
        assert target.netloc == "login.work.weixin.qq.com" and query["agentid"] == ["1000002"]
    else:
        assert target.netloc == "open.weixin.qq.com" and query["scope"] == ["snsapi_base"]
        assert target.fragment == "wechat_redirect"
    return query["state"][0]


@pytest.mark.parametrize("qr", [False, True])
def test_a_wecom_code_logs_in_the_account_of_that_userid(
    web: TestClient, fake: FakeWeCom, qr: bool
) -> None:
    state = _start(web, qr)
    fake.login_codes["CODE-1"] = "fang"
    answer = web.get(f"/login/wecom/callback?code=CODE-1&state={state}")
    assert answer.status_code == 303, answer.text[-1500:]
    assert answer.headers["location"] == "/tasks"
    assert "阿芳 (operator)" in web.get("/tasks").text
    assert [c.query.get("code") for c in fake.calls("auth/getuserinfo")] == ["CODE-1"]


def test_an_unknown_code_or_a_userid_without_account_does_not_log_in(
    web: TestClient, fake: FakeWeCom
) -> None:
    state = _start(web, False)
    assert web.get(f"/login/wecom/callback?code=nope&state={state}").status_code == 401
    fake.login_codes["CODE-2"] = "stranger"
    state = _start(web, False)  # a state serves one callback
    answer = web.get(f"/login/wecom/callback?code=CODE-2&state={state}")
    assert answer.status_code == 401 and "stranger 没有可用的控制台账号" in answer.text
    assert web.get("/tasks").status_code == 303


def test_a_callback_with_a_forged_state_is_refused(web: TestClient, fake: FakeWeCom) -> None:
    _start(web, False)
    fake.login_codes["CODE-3"] = "fang"
    assert web.get("/login/wecom/callback?code=CODE-3&state=forged").status_code == 403
    assert fake.calls("auth/getuserinfo") == []


def _log_in(web: TestClient, fake: FakeWeCom, code: str) -> None:
    state = _start(web, False)
    fake.login_codes[code] = "fang"
    answer = web.get(f"/login/wecom/callback?code={code}&state={state}")
    assert answer.status_code == 303, answer.text[-1500:]
    web.cookies.clear()  # a new browser for the next login


def test_logins_share_one_access_token_through_the_database_with_sending(
    web: TestClient, fake: FakeWeCom, workspace: Workspace
) -> None:
    _log_in(web, fake, "CODE-A")
    _log_in(web, fake, "CODE-B")
    assert len(fake.calls("gettoken")) == 1
    ws = Workspace(workspace.root, web_settings(fake))  # another process on the same database
    try:
        with shared_wecom_client(ws, ws.engine) as sending:
            sending.access_token()
    finally:
        ws.close()
    assert len(fake.calls("gettoken")) == 1  # the same app: sending reuses the login's token


@pytest.mark.parametrize("spoil", ["invalidate_tokens", "expire_tokens"])
def test_a_rejected_token_is_fetched_again_once_and_the_login_succeeds(
    web: TestClient, fake: FakeWeCom, spoil: str
) -> None:
    _log_in(web, fake, "CODE-A")
    getattr(fake, spoil)()  # WeCom now answers 40014 / 42001 to the cached token
    _log_in(web, fake, "CODE-B")
    _log_in(web, fake, "CODE-C")
    assert len(fake.calls("gettoken")) == 2
    codes = [c.query.get("code") for c in fake.calls("auth/getuserinfo")]
    assert codes == ["CODE-A", "CODE-B", "CODE-B", "CODE-C"]  # B: refused token, then again


def test_a_login_app_with_its_own_secret_gets_its_own_token(
    workspace: Workspace, fake: FakeWeCom
) -> None:
    fake.app_secrets.add("console-app-secret-0002")
    settings = web_settings(fake, wecom_login_secret="console-app-secret-0002")
    ws = Workspace(workspace.root, settings)
    add_user(ws, name="阿芳", role="operator", password=PASSWORD, actor="os:test", now=NOW,
             wecom_userid="fang")  # fmt: skip
    try:
        with client(ws) as web:
            _log_in(web, fake, "CODE-A")
            with shared_wecom_client(ws, ws.engine) as sending:
                sending.access_token()
            _log_in(web, fake, "CODE-B")
            with shared_wecom_client(ws, ws.engine) as sending:
                sending.access_token()
    finally:
        ws.close()
    secrets = [c.query.get("corpsecret") for c in fake.calls("gettoken")]
    assert secrets == ["console-app-secret-0002", fake.corpsecret]


def test_the_state_cookie_is_cleared_after_a_login_and_cannot_be_replayed(
    web: TestClient, fake: FakeWeCom
) -> None:
    state = _start(web, False)
    assert "sop_wecom_state" in web.cookies
    fake.login_codes["CODE-4"] = "fang"
    assert web.get(f"/login/wecom/callback?code=CODE-4&state={state}").status_code == 303
    assert "sop_wecom_state" not in web.cookies
    fake.login_codes["CODE-5"] = "fang"
    assert web.get(f"/login/wecom/callback?code=CODE-5&state={state}").status_code == 403


@pytest.mark.parametrize(
    ("settings", "links"),
    [
        ({}, []),
        ({"wecom_agent_id": None}, ["/login/wecom?next"]),
        ({"wecom_agent_id": "1000002"}, ["/login/wecom?qr=1", "/login/wecom?next"]),
    ],
)
def test_the_login_page_offers_only_the_wecom_logins_the_workspace_is_set_up_for(
    workspace: Workspace, fake: FakeWeCom, settings: dict[str, object], links: list[str]
) -> None:
    configured = Settings() if not settings else web_settings(fake).model_copy(update=settings)
    ws = Workspace(workspace.root, configured)
    try:
        with client(ws) as web:
            html = web.get("/login").text
    finally:
        ws.close()
    shown = [link for link in ("/login/wecom?qr=1", "/login/wecom?next") if link in html]
    assert shown == links
