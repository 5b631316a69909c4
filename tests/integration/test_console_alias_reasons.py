"""Candidate, promote, reject and rollback in the console need a reason, kept in the audit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services import audit_trail
from services.workspace import Workspace
from tests.support.console import T0, client, csrf_of, log_in, with_accounts, with_versions
from versions import services

SOP = "mombaby-refined"


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    """v1.0 in production, v2.0 (by 小王) saved; v2.0 then promoted and v1.0's back."""
    return with_versions(with_accounts(workspace))


@pytest.fixture
def web(ws: Workspace) -> Iterator[TestClient]:
    with client(ws) as c:
        log_in(c, "李经理")
        yield c


def _post(web: TestClient, action: str, **fields: str) -> object:
    csrf = csrf_of(web.get(f"/sops/{SOP}").text)
    return web.post(f"/sops/{SOP}/{action}", data={"csrf": csrf, "confirm": "yes", **fields})


def _aliases(ws: Workspace) -> dict[str, str]:
    return {name: str(v) for name, v in ws.store.aliases(SOP).items()}


def test_history_forms_ask_for_a_reason_on_every_alias_move(web: TestClient) -> None:
    html = web.get(f"/sops/{SOP}").text
    for action in ("promote", "candidate", "reject", "rollback"):
        form = html.split(f'action="/sops/{SOP}/{action}"', 1)[1].split("</form>", 1)[0]
        assert 'name="reason"' in form, action


@pytest.mark.parametrize("action", ["candidate", "promote", "reject", "rollback"])
@pytest.mark.parametrize("reason", ["", "   "])
def test_a_blank_reason_is_refused_with_a_clear_message_and_nothing_moves(
    web: TestClient, ws: Workspace, action: str, reason: str
) -> None:
    services.set_candidate(ws.uow(), sop_id=SOP, version="2.0", actor="小王", now=T0)
    before, records = _aliases(ws), len(audit_trail.records(ws))
    answer = _post(web, action, version="2.0", reason=reason)
    assert answer.status_code == 400
    assert "理由：" in answer.text and "需要填写理由" in answer.text  # names the field
    assert _aliases(ws) == before
    assert len(audit_trail.records(ws)) == records


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("candidate", {"production": "1.0", "candidate": "2.0"}),
        ("promote", {"production": "2.0"}),
    ],
)
def test_candidate_and_promote_keep_the_reason_in_the_audit(
    web: TestClient, ws: Workspace, action: str, expected: dict[str, str]
) -> None:
    assert _post(web, action, version="2.0", reason="新欢迎语打开率更高").status_code == 303
    assert _aliases(ws) == expected
    last = audit_trail.records(ws, sop_id=SOP)[-1]
    assert (last.action, last.actor, last.note) == (action, "李经理", "新欢迎语打开率更高")


def test_reject_and_rollback_keep_the_reason_in_the_audit(web: TestClient, ws: Workspace) -> None:
    services.set_candidate(ws.uow(), sop_id=SOP, version="2.0", actor="小王", now=T0)
    assert _post(web, "reject", reason="退群率上升").status_code == 303
    services.promote(
        ws.uow(), sop_id=SOP, version="2.0", approver="管理员", policy=ws.policy, now=T0
    )
    assert _post(web, "rollback", reason="投诉增加").status_code == 303
    assert _aliases(ws) == {"production": "1.0"}
    notes = [(r.action, r.note) for r in audit_trail.records(ws, sop_id=SOP)][-3:]
    assert notes == [
        ("reject", "退群率上升"),
        ("promote", "production -> v2.0"),
        ("rollback", "投诉增加"),
    ]


def test_the_cli_keeps_a_promote_or_candidate_reason_in_the_audit_the_same_way(
    ws: Workspace,
) -> None:
    from typer.testing import CliRunner

    from sopflow.cli.main import app

    runner, root = CliRunner(), ["--workspace", str(ws.root)]
    for args in (
        ["candidate", SOP, "2.0", "--author", "小王", "-m", "试新欢迎语"],
        ["promote", SOP, "2.0", "--approver", "李经理", "-m", "打开率更高"],
    ):
        result = runner.invoke(app, [*root, *args])
        assert result.exit_code == 0, result.output
    notes = [(r.action, r.note) for r in audit_trail.records(ws, sop_id=SOP)][-2:]
    assert notes == [("candidate", "试新欢迎语"), ("promote", "打开率更高")]
