"""Saving, promoting, rejecting and rolling back versions: git and audit move together."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import git
import pytest
from sqlalchemy import text

from services.workspace import Workspace
from sop_models.errors import AliasError, ApprovalError, DocumentInvalid, NothingToSave
from tests.support.workspaces import example_text, modified
from versions import audit, services

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def save(ws: Workspace, body: str, author: str = "小王", message: str = "改版", **kw: bool):
    return services.save_version(
        ws.uow(),
        text=body,
        source="sop.yaml",
        author=author,
        message=message,
        major=kw.get("major", False),
        now=NOW,
    )


def retitle(body: str, title: str) -> str:
    return modified(body, lambda d: d.update(title=title))


def audit_actions(ws: Workspace) -> list[str]:
    with ws.session() as session:
        return [r.action for r in audit.query(session)]


def tag_names(ws: Workspace) -> list[str]:
    repo = git.Repo(ws.store_path)
    try:
        return sorted(t.name for t in repo.tags)
    finally:
        repo.close()


def test_versions_are_numbered_minor_by_default_and_major_on_request(workspace: Workspace) -> None:
    base = example_text("mombaby-refined")
    v1 = save(workspace, base)
    v11 = save(workspace, retitle(base, "母婴群 SOP 第二版"))
    v2 = save(workspace, retitle(base, "母婴群 SOP 第三版"), major=True)
    assert [str(v.version) for v in (v1, v11, v2)] == ["1.0", "1.1", "2.0"]
    assert v2.tag == f"{v1.sop_id}/v2.0"
    assert v2.message == "v2.0: 改版"
    assert audit_actions(workspace) == ["save", "save", "save"]


def test_saving_an_unchanged_document_is_refused_and_leaves_nothing(workspace: Workspace) -> None:
    base = example_text("mombaby-refined")
    save(workspace, base)
    before = (tag_names(workspace), audit_actions(workspace))
    with pytest.raises(NothingToSave, match="unchanged"):
        save(workspace, base)
    assert (tag_names(workspace), audit_actions(workspace)) == before


def test_saving_an_invalid_document_is_refused_and_leaves_nothing(workspace: Workspace) -> None:
    bad = example_text("mombaby-refined").replace("10:00", "25:00", 1)
    with pytest.raises(DocumentInvalid, match=r"25:00|time"):
        save(workspace, bad)
    assert tag_names(workspace) == []
    assert audit_actions(workspace) == []


def test_a_failing_audit_write_undoes_the_git_commit_and_tag(workspace: Workspace) -> None:
    base = example_text("mombaby-refined")
    first = save(workspace, base)
    with workspace.engine.begin() as conn:  # break the database for real
        conn.execute(text("DROP TABLE audit_log"))
    with pytest.raises(Exception):  # noqa: B017 - any database error will do
        save(workspace, retitle(base, "新标题"))
    assert tag_names(workspace) == [first.tag]
    repo = git.Repo(workspace.store_path)
    try:
        assert repo.commit("refs/heads/main").hexsha == first.commit
    finally:
        repo.close()


def test_promote_refuses_self_approval(workspace: Workspace) -> None:
    info = save(workspace, example_text("mombaby-refined"), author="小王")
    with pytest.raises(ApprovalError, match="必须由另一个人批准"):
        services.promote(
            workspace.uow(),
            sop_id=info.sop_id,
            version="1.0",
            approver="小王",
            policy=workspace.policy,
            now=NOW,
        )
    assert workspace.store.aliases(info.sop_id) == {}


def test_promote_with_self_approval_allowed_by_workspace_setting(workspace: Workspace) -> None:
    info = save(workspace, example_text("mombaby-refined"), author="小王")
    policy = services.ApprovalPolicy(allow_self_approval=True)
    services.promote(
        workspace.uow(), sop_id=info.sop_id, version="1.0", approver="小王", policy=policy, now=NOW
    )
    assert str(workspace.store.aliases(info.sop_id)["production"]) == "1.0"


def test_promote_records_author_and_approver_and_clears_candidate(workspace: Workspace) -> None:
    base = example_text("mombaby-refined")
    v1 = save(workspace, base)
    save(workspace, retitle(base, "新版"))
    sop = v1.sop_id
    services.promote(
        workspace.uow(),
        sop_id=sop,
        version="1.0",
        approver="李经理",
        policy=workspace.policy,
        now=NOW,
    )
    services.set_candidate(workspace.uow(), sop_id=sop, version="1.1", actor="小王", now=NOW)
    assert {k: str(v) for k, v in workspace.store.aliases(sop).items()} == {
        "production": "1.0",
        "candidate": "1.1",
    }
    services.promote(
        workspace.uow(),
        sop_id=sop,
        version="1.1",
        approver="李经理",
        policy=workspace.policy,
        now=NOW,
        changelog="v1.1: 新标题 — open rate +18.0% (20.0% -> 23.6%)",
    )
    assert {k: str(v) for k, v in workspace.store.aliases(sop).items()} == {"production": "1.1"}
    with workspace.session() as session:
        record = audit.query(session, action="promote")[-1]
    after = json.loads(record.after)
    assert (after["author"], after["approver"]) == ("小王", "李经理")
    assert workspace.store.resolve(sop, "1.1").message.startswith("v1.1: 新标题 — open rate")


def test_reject_clears_candidate_and_keeps_version_and_evidence(workspace: Workspace) -> None:
    base = example_text("mombaby-refined")
    v1 = save(workspace, base)
    save(workspace, retitle(base, "新版"))
    sop = v1.sop_id
    services.set_candidate(workspace.uow(), sop_id=sop, version="1.1", actor="小王", now=NOW)
    services.attach_evidence(
        workspace.uow(),
        sop_id=sop,
        version="1.1",
        actor="数据组",
        evidence={"summary": "打开率下降", "rel_lift": -0.1},
        now=NOW,
    )
    services.reject(workspace.uow(), sop_id=sop, actor="李经理", reason="打开率下降", now=NOW)
    assert "candidate" not in workspace.store.aliases(sop)
    info = workspace.store.resolve(sop, "1.1")
    assert json.loads(workspace.store.evidence(info)[0])["summary"] == "打开率下降"
    with pytest.raises(Exception, match="candidate"):
        services.reject(workspace.uow(), sop_id=sop, actor="李经理", reason="", now=NOW)


def test_rollback_restores_previous_production_without_rewriting_history(
    workspace: Workspace,
) -> None:
    base = example_text("mombaby-refined")
    v1 = save(workspace, base)
    save(workspace, retitle(base, "新版"))
    sop = v1.sop_id
    for version in ("1.0", "1.1"):
        services.promote(
            workspace.uow(),
            sop_id=sop,
            version=version,
            approver="李经理",
            policy=workspace.policy,
            now=NOW,
        )
    tags_before = tag_names(workspace)
    target = services.rollback(
        workspace.uow(), sop_id=sop, author="李经理", reason="投诉增加", now=NOW
    )
    assert str(target.version) == "1.0"
    assert str(workspace.store.aliases(sop)["production"]) == "1.0"
    assert tag_names(workspace) == tags_before
    assert services.verify(workspace.uow()) == []
    with pytest.raises(AliasError, match="no earlier production"):
        services.rollback(workspace.uow(), sop_id=sop, author="李经理", reason="再退", now=NOW)


def test_verify_detects_a_tag_moved_with_plain_git(workspace: Workspace, tmp_path: Path) -> None:
    base = example_text("mombaby-refined")
    v1 = save(workspace, base)
    v2 = save(workspace, retitle(base, "新版"))
    assert services.verify(workspace.uow()) == []
    repo = git.Repo(workspace.store_path)
    try:
        # An explicit identity: CI runs with an empty HOME (no global git user).
        who = ("-c", "user.name=t", "-c", "user.email=t@example.invalid")
        repo.git.execute(["git", *who, "tag", "-a", "-f", v1.tag, v2.commit, "-m", "sneaky"])
    finally:
        repo.close()
    findings = services.verify(workspace.uow())
    assert any(v1.tag in finding for finding in findings), findings


def test_store_and_audit_work_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    from sqlalchemy import create_engine

    from services.settings import Settings
    from services.workspace import init_workspace

    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE ws_services"))
    admin.dispose()
    url = postgres_url.rsplit("/", 1)[0] + "/ws_services"
    init_workspace(tmp_path / "pg").close()
    ws = Workspace(tmp_path / "pg", Settings(database_url=url))
    try:
        base = example_text("mombaby-refined")
        v1 = save(ws, base)
        save(ws, retitle(base, "新版"))
        services.promote(
            ws.uow(), sop_id=v1.sop_id, version="1.1", approver="李经理", policy=ws.policy, now=NOW
        )
        assert audit_actions(ws) == ["save", "save", "promote"]
        assert services.verify(ws.uow()) == []
    finally:
        ws.close()
