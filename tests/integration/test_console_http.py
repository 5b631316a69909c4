"""The ops console over HTTP: sessions, roles, CSRF, escaping, lockout, four eyes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services import audit_trail
from services.accounts import MAX_FAILURES_PER_ADDRESS
from services.workspace import Workspace
from tests.support.console import (
    PASSWORD,
    SCRIPT,
    client,
    csrf_of,
    log_in,
    with_accounts,
    with_versions,
)


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    return with_versions(with_accounts(workspace))


@pytest.fixture
def web(ws: Workspace) -> Iterator[TestClient]:
    with client(ws) as c:
        yield c


def _page_csrf(web: TestClient, path: str) -> str:
    return csrf_of(web.get(path).text)


def test_pages_without_a_session_redirect_to_the_login_page(web: TestClient) -> None:
    for path in ("/", "/sops/mombaby-refined", "/audit", "/tasks"):
        answer = web.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=")
    assert web.get("/login").status_code == 200


def test_a_login_sets_a_signed_httponly_samesite_cookie_and_a_new_session_each_time(
    web: TestClient,
) -> None:
    first = log_in(web, "李经理")
    assert first.status_code == 303
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    old = web.cookies.get("sop_session")
    log_in(web, "李经理")
    assert web.cookies.get("sop_session") != old
    assert web.get("/").status_code == 200
    web.cookies.set("sop_session", old)
    assert web.get("/").status_code == 303  # the earlier session ended at the new login


def test_a_tampered_cookie_is_no_session(web: TestClient) -> None:
    log_in(web, "李经理")
    web.cookies.set("sop_session", web.cookies.get("sop_session") + "x")
    assert web.get("/").status_code == 303


def test_logout_ends_the_session(web: TestClient) -> None:
    log_in(web, "李经理")
    cookie = web.cookies.get("sop_session")
    answer = web.post("/logout", data={"csrf": _page_csrf(web, "/")})
    assert answer.status_code == 303
    web.cookies.set("sop_session", cookie)
    assert web.get("/").status_code == 303


def test_an_operator_is_refused_promote_with_403_and_nothing_moves(
    web: TestClient, ws: Workspace
) -> None:
    log_in(web, "阿芳")
    csrf = _page_csrf(web, "/tasks")
    answer = web.post(
        "/sops/mombaby-refined/promote",
        data={"csrf": csrf, "version": "2.0", "confirm": "yes", "reason": "打开率提升"},
    )
    assert answer.status_code == 403
    assert str(ws.store.aliases("mombaby-refined")["production"]) == "1.0"
    assert web.get("/sops/mombaby-refined").status_code == 403


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
def test_a_missing_or_wrong_csrf_token_is_refused_with_403(
    web: TestClient, ws: Workspace, token: str | None
) -> None:
    log_in(web, "李经理")
    data = {"version": "2.0", "confirm": "yes"}
    if token is not None:
        data["csrf"] = token
    assert web.post("/sops/mombaby-refined/promote", data=data).status_code == 403
    assert str(ws.store.aliases("mombaby-refined")["production"]) == "1.0"
    assert web.post("/logout", data={"csrf": token or ""}).status_code == 403


def test_the_login_form_refuses_a_post_without_its_token(web: TestClient) -> None:
    answer = web.post("/login", data={"name": "李经理", "password": PASSWORD, "pre": "forged"})
    assert answer.status_code == 403
    assert "sop_session" not in web.cookies


def test_sop_text_with_a_script_tag_is_shown_escaped(web: TestClient) -> None:
    log_in(web, "李经理")
    for path in ("/sops/mombaby-refined/v/2.0", "/sops/mombaby-refined/diff?a=1.0&b=2.0"):
        html = web.get(path).text
        assert SCRIPT not in html
        assert "&lt;script&gt;alert(" in html


def test_the_diff_page_lists_field_paths_and_keeps_chinese(web: TestClient) -> None:
    log_in(web, "李经理")
    html = web.get("/sops/mombaby-refined/diff?a=1.0&b=2.0").text
    assert "base_content.welcome.warmth" in html
    assert "欢迎新妈妈加入宝妈成长营" in html


def test_a_lead_promotes_as_their_account_and_the_audit_names_it(
    web: TestClient, ws: Workspace
) -> None:
    log_in(web, "李经理")
    csrf = _page_csrf(web, "/sops/mombaby-refined")
    answer = web.post(
        "/sops/mombaby-refined/promote",
        data={"csrf": csrf, "version": "2.0", "confirm": "yes", "reason": "打开率提升"},
    )
    assert answer.status_code == 303
    assert str(ws.store.aliases("mombaby-refined")["production"]) == "2.0"
    last = audit_trail.records(ws, action="promote")[-1]
    assert (last.actor, last.version, last.note) == ("李经理", "2.0", "打开率提升")


def test_the_author_of_a_version_cannot_promote_it_from_the_console(
    web: TestClient, ws: Workspace
) -> None:
    log_in(web, "小王")
    csrf = _page_csrf(web, "/sops/mombaby-refined")
    answer = web.post(
        "/sops/mombaby-refined/promote",
        data={"csrf": csrf, "version": "2.0", "confirm": "yes", "reason": "打开率提升"},
    )
    assert answer.status_code == 400
    assert "必须由另一个人批准" in answer.text
    assert str(ws.store.aliases("mombaby-refined")["production"]) == "1.0"


def test_an_action_without_the_confirmation_box_changes_nothing(
    web: TestClient, ws: Workspace
) -> None:
    log_in(web, "李经理")
    csrf = _page_csrf(web, "/sops/mombaby-refined")
    answer = web.post("/sops/mombaby-refined/promote", data={"csrf": csrf, "version": "2.0"})
    assert answer.status_code == 400
    assert str(ws.store.aliases("mombaby-refined")["production"]) == "1.0"


def test_repeated_wrong_passwords_lock_the_account_and_the_audit_records_it(
    web: TestClient, ws: Workspace
) -> None:
    for _ in range(MAX_FAILURES_PER_ADDRESS):
        assert log_in(web, "李经理", "wrong-password").status_code == 401
    locked = log_in(web, "李经理")  # the right password, too late
    assert locked.status_code == 401
    assert "登录失败次数过多" in locked.text
    assert "sop_session" not in web.cookies
    lockouts = audit_trail.records(ws, action="lockout")
    assert len(lockouts) == 1
    assert "李经理" in lockouts[0].note


def test_the_audit_page_shows_the_verify_banner(web: TestClient) -> None:
    log_in(web, "李经理")
    html = web.get("/audit").text
    assert "审计链完整" in html
    assert "李经理" in html


def test_every_page_forbids_scripts_from_elsewhere(web: TestClient) -> None:
    log_in(web, "李经理")
    answer = web.get("/")
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert "http" not in "".join(
        line for line in answer.text.splitlines() if "src=" in line or "href=" in line
    )
    assert web.get("/static/console.css").status_code == 200


def test_the_console_speaks_chinese_by_default_and_english_when_set(ws: Workspace) -> None:
    with client(ws) as web:
        html = web.get("/login").text
    assert '<html lang="zh-CN">' in html and "<h1>登录</h1>" in html
    config = ws.root / "sopflow.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\nlanguage = "en"\n', "utf-8")
    from services.workspace import open_workspace

    with open_workspace(ws.root) as english, client(english) as web:
        html = web.get("/login").text
    assert '<html lang="en">' in html and "<h1>Log in</h1>" in html
    assert '<label for="password">Password</label>' in html


def test_login_and_four_eyes_errors_speak_the_console_language(ws: Workspace) -> None:
    with client(ws) as web:
        wrong = log_in(web, "李经理", "wrong-password").text  # type: ignore[attr-defined]
        log_in(web, "小王")
        csrf = _page_csrf(web, "/sops/mombaby-refined")
        data = {"csrf": csrf, "version": "2.0", "confirm": "yes", "reason": "新欢迎语"}
        own = web.post("/sops/mombaby-refined/promote", data=data).text
    assert "账号名或密码错误" in wrong and "wrong account name" not in wrong
    assert "由 小王 保存，必须由另一个人批准" in own and "another person" not in own
    config = ws.root / "sopflow.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\nlanguage = "en"\n', "utf-8")
    from services.workspace import open_workspace

    with open_workspace(ws.root) as english, client(english) as web:
        wrong = log_in(web, "李经理", "wrong-password").text  # type: ignore[attr-defined]
    assert "wrong account name or password" in wrong


def test_history_lists_the_newest_versions_first_in_pages(web: TestClient, ws: Workspace) -> None:
    from datetime import UTC, datetime

    from sopflow.web.routes_sops import HISTORY_PAGE
    from tests.support.examples import example_text
    from versions.numbering import Version

    for minor in range(1, HISTORY_PAGE):  # 2.1 .. 2.49: with 1.0 and 2.0, one page and one more
        ws.store.write_version(
            sop_id="mombaby-refined",
            version=Version(2, minor),
            content=example_text("mombaby-refined").replace("title: ", f"title: {minor} ", 1),
            author="小王",
            message=f"v2.{minor}: 第 {minor} 次",
            at=datetime(2026, 9, 2, tzinfo=UTC),
        )
    log_in(web, "李经理")
    first = web.get("/sops/mombaby-refined").text
    assert 'href="/sops/mombaby-refined/v/2.49"' in first and "1 / 2" in first
    assert 'href="/sops/mombaby-refined/v/1.0"' not in first
    second = web.get("/sops/mombaby-refined?page=2").text
    assert 'href="/sops/mombaby-refined/v/1.0"' in second and "2 / 2" in second
    assert 'href="/sops/mombaby-refined/v/2.49"' not in second


def test_the_kpi_page_is_the_report_with_escaped_text_and_no_scripts(web: TestClient) -> None:
    log_in(web, "李经理")
    answer = web.get("/sops/mombaby-refined/kpis")
    assert answer.status_code == 200
    assert "mombaby-refined" in answer.text and "<script" not in answer.text
    assert "default-src 'none'" in answer.headers["content-security-policy"]
