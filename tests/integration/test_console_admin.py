"""Admin pages over HTTP: accounts through services.accounts (audited as the admin), a
one-time password shown once, the settings read-only with secrets hidden; 403 for a lead."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from services import audit_trail
from services.accounts import authenticate, get_user
from services.workspace import Workspace
from tests.support.console import (
    PASSWORD,
    T0,
    client,
    csrf_of,
    log_in,
    with_accounts,
)


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    return with_accounts(workspace)


@pytest.fixture
def web(ws: Workspace) -> Iterator[TestClient]:
    with client(ws) as c:
        log_in(c, "管理员")
        yield c


def _post(web: TestClient, action: str, **fields: str):  # type: ignore[no-untyped-def]
    csrf = csrf_of(web.get("/admin/users").text)
    return web.post(f"/admin/users/{action}", data={"csrf": csrf, **fields})


def _logs_in(ws: Workspace, name: str, password: str) -> bool:
    try:
        authenticate(ws, name=name, password=password, address="10.0.0.9", now=T0)
    except Exception:
        return False
    return True


@pytest.mark.parametrize("path", ["/admin/users", "/admin/settings"])
@pytest.mark.parametrize("name", ["李经理", "阿芳"])
def test_leads_and_operators_get_403_on_admin_pages(ws: Workspace, path: str, name: str) -> None:
    with client(ws) as web:
        log_in(web, name)
        assert web.get(path).status_code == 403
        csrf = csrf_of(web.get("/tasks").text)
        refused = web.post("/admin/users/role", data={"csrf": csrf, "name": name, "role": "admin"})
        assert refused.status_code == 403
    assert get_user(ws, name).role != "admin"  # type: ignore[union-attr]


def test_only_an_admin_sees_the_admin_links(ws: Workspace, web: TestClient) -> None:
    assert 'href="/admin/users"' in web.get("/").text
    with client(ws) as lead:
        log_in(lead, "李经理")
        assert 'href="/admin/users"' not in lead.get("/").text


def test_an_admin_adds_an_account_with_a_one_time_password_shown_once(
    ws: Workspace, web: TestClient
) -> None:
    answer = _post(web, "add", name="小美", role="operator", wecom_userid="mei", password="")
    assert answer.status_code == 200
    shown = re.search(r'<code class="password">([^<]+)</code>', answer.text)
    assert shown is not None
    assert _logs_in(ws, "小美", shown.group(1))
    assert shown.group(1) not in web.get("/admin/users").text  # once only
    assert get_user(ws, "小美").wecom_userid == "mei"  # type: ignore[union-attr]
    last = audit_trail.records(ws, action="user_add")[-1]
    assert (last.actor, last.note) == ("管理员", "小美: operator")


def test_an_admin_sets_a_role_disables_and_resets_passwords_audited_as_the_admin(
    ws: Workspace, web: TestClient
) -> None:
    assert _post(web, "role", name="阿芳", role="lead").status_code == 303
    assert get_user(ws, "阿芳").role == "lead"  # type: ignore[union-attr]
    assert _post(web, "password", name="阿芳", password="new-password-2").status_code == 303
    assert _logs_in(ws, "阿芳", "new-password-2") and not _logs_in(ws, "阿芳", PASSWORD)
    assert _post(web, "disable", name="阿芳").status_code == 303
    assert get_user(ws, "阿芳").disabled  # type: ignore[union-attr]
    assert not _logs_in(ws, "阿芳", "new-password-2")
    actions = [(r.action, r.actor) for r in audit_trail.records(ws, sop_id="console")][-3:]
    assert actions == [
        ("user_role", "管理员"),
        ("user_password", "管理员"),
        ("user_disable", "管理员"),
    ]


def test_a_blank_reset_makes_a_one_time_password(ws: Workspace, web: TestClient) -> None:
    answer = _post(web, "password", name="小王", password="")
    shown = re.search(r'<code class="password">([^<]+)</code>', answer.text)
    assert shown is not None and _logs_in(ws, "小王", shown.group(1))


@pytest.mark.parametrize(
    ("action", "fields", "message"),
    [
        ("add", {"name": "小美", "role": "boss"}, "boss"),
        ("add", {"name": "李经理", "role": "lead"}, "exists already"),
        ("role", {"name": "管理员", "role": "lead"}, "管理员：不能更改自己账号的角色"),
        ("disable", {"name": "管理员"}, "管理员：不能停用自己的账号"),
        ("password", {"name": "小王", "password": "short"}, "password: at least 8"),
    ],
)
def test_refused_account_changes_say_why_and_change_nothing(
    ws: Workspace, web: TestClient, action: str, fields: dict[str, str], message: str
) -> None:
    before = len(audit_trail.records(ws))
    answer = _post(web, action, **fields)
    assert answer.status_code == 400 and message in answer.text
    assert len(audit_trail.records(ws)) == before
    assert get_user(ws, "管理员").role == "admin"  # type: ignore[union-attr]


def test_the_settings_page_is_read_only_and_hides_secrets(workspace: Workspace) -> None:
    from services.settings import Settings

    settings = Settings(
        approvals="console",
        wecom_corp_id="ww-corp",
        wecom_corp_secret=SecretStr("corp-secret-value"),
        robot_keys={"ops-robot": SecretStr("robot-key-value")},
    )
    ws = with_accounts(Workspace(workspace.root, settings))
    try:
        with client(ws) as web:
            log_in(web, "管理员")
            html = web.get("/admin/settings").text
    finally:
        ws.close()
    assert "<code>approvals</code></th><td>console</td>" in html
    assert "ww-corp" in html and "ops-robot" in html
    assert "corp-secret-value" not in html and "robot-key-value" not in html
    assert "<form" not in html.split("<main", 1)[1].split("</main>", 1)[0]
