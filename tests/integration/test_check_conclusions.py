"""An ops lead's decision on a check is one unit of work: approval, evidence and promotion
together, or none of them (real git store + SQLite)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import git
import pytest
from sqlalchemy import text

from services.workspace import Workspace
from sop_models.errors import AliasError, ApprovalError, AuditError
from sop_models.evidence import Evidence, read_evidence
from tests.support.workspaces import example_text, modified
from versions import audit, services

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
SOP = "mombaby-refined"
AUTHOR, APPROVER = "运营小王", "李经理"
CHANGELOG = "v2.0: 新欢迎语 — open rate +21.4% (32.5% -> 39.5%), 95% CI [+0.3%, +46.9%]"


def evidence(decision: str = "PROMOTE") -> Evidence:
    arm = {"n": 12, "value": 0.3}
    metric = {
        "name": "open_rate",
        "role": "primary",
        "kind": "proportion",
        "direction": "higher",
        "baseline": arm,
        "candidate": {"n": 12, "value": 0.36},
        "abs_lift": 0.06,
        "rel_lift": 0.2,
        "ci_rel": [0.01, 0.4],
        "p_value": 0.01,
        "p_worse": 0.99,
        "method": "delta",
    }
    return Evidence.model_validate(
        {
            "summary": CHANGELOG,
            "decision": decision,
            "window": ["2026-09-01", "2026-09-15"],
            "groups_per_arm": [12, 12],
            "check": {"decision": decision, "reasons": ["primary better"], "metrics": [metric]},
            "production": "1.0",
            "candidate": "2.0",
        }
    )


@pytest.fixture
def candidate(workspace: Workspace) -> Workspace:
    """V1.0 in production, V2.0 (by the author) as candidate."""
    base = example_text(SOP)
    for body, major in ((base, False), (modified(base, lambda d: d.update(title="新版")), True)):
        services.save_version(
            workspace.uow(),
            text=body,
            source="sop.yaml",
            author=AUTHOR,
            message="新欢迎语",
            major=major,
            now=NOW,
        )
    services.promote(
        workspace.uow(),
        sop_id=SOP,
        version="1.0",
        approver=APPROVER,
        policy=workspace.policy,
        now=NOW,
    )
    services.set_candidate(workspace.uow(), sop_id=SOP, version="2.0", actor=AUTHOR, now=NOW)
    return workspace


def actions(ws: Workspace) -> list[str]:
    with ws.session() as session:
        return [r.action for r in audit.query(session)]


def aliases(ws: Workspace) -> dict[str, str]:
    return {name: str(v) for name, v in ws.store.aliases(SOP).items()}


def notes_ref(ws: Workspace) -> str | None:
    repo = git.Repo(ws.store_path)
    try:
        return next((r.commit.hexsha for r in repo.refs if r.path == "refs/notes/evidence"), None)
    finally:
        repo.close()


def approve(ws: Workspace, approver: str = APPROVER) -> None:
    services.approve_and_promote(
        ws.uow(),
        sop_id=SOP,
        version="2.0",
        approver=approver,
        reason="",
        run_id="run-1",
        evidence=evidence(),
        policy=ws.policy,
        now=NOW,
    )


def test_approve_and_promote_writes_approval_evidence_and_promotion_together(
    candidate: Workspace,
) -> None:
    approve(candidate)

    assert actions(candidate)[-3:] == ["approval", "evidence", "promote"]
    assert aliases(candidate) == {"production": "2.0"}
    v2 = candidate.store.resolve(SOP, "2.0")
    assert (v2.message, v2.author) == (CHANGELOG, AUTHOR)
    [line] = candidate.store.evidence(v2)
    assert read_evidence(line) == evidence()
    assert services.verify(candidate.uow()) == []


def test_a_failing_promotion_leaves_no_approval_row_and_no_evidence_note(
    candidate: Workspace,
) -> None:
    before = (actions(candidate), aliases(candidate), candidate.store.resolve(SOP, "2.0"))
    with candidate.engine.begin() as conn:  # the promote step's audit write fails for real
        conn.execute(
            text(
                "CREATE TRIGGER refuse_promote BEFORE INSERT ON audit_log "
                "WHEN NEW.action = 'promote' BEGIN SELECT RAISE(ABORT, 'promote refused'); END"
            )
        )

    with pytest.raises(AuditError):  # append reports the refused insert as an audit failure
        approve(candidate)

    assert (actions(candidate), aliases(candidate)) == before[:2]
    assert "approval" not in actions(candidate) and "evidence" not in actions(candidate)
    v2 = candidate.store.resolve(SOP, "2.0")
    assert candidate.store.evidence(v2) == []
    assert notes_ref(candidate) is None
    assert v2.message == before[2].message  # the tag's changelog rewrite was undone too
    assert services.verify(candidate.uow()) == []


def test_the_author_approving_records_nothing(candidate: Workspace) -> None:
    with pytest.raises(ApprovalError, match="必须由另一个人批准"):
        approve(candidate, approver=f" {AUTHOR}. ")  # the name as git would store it

    assert actions(candidate)[-1] == "candidate"
    assert candidate.store.evidence(candidate.store.resolve(SOP, "2.0")) == []


def test_approving_a_version_that_is_no_longer_the_candidate_records_nothing(
    candidate: Workspace,
) -> None:
    services.reject(candidate.uow(), sop_id=SOP, actor=APPROVER, reason="换一版", now=NOW)
    trail = actions(candidate)

    with pytest.raises(AliasError, match="no longer the candidate"):
        approve(candidate)

    assert actions(candidate) == trail
    assert aliases(candidate) == {"production": "1.0"}


def test_decline_records_the_decision_with_its_evidence_and_moves_nothing(
    candidate: Workspace,
) -> None:
    services.decline(
        candidate.uow(),
        sop_id=SOP,
        version="2.0",
        approver=APPROVER,
        reason="样本太小",
        run_id="run-2",
        evidence=evidence(),
        now=NOW,
    )

    with candidate.session() as session:
        decline, note = audit.query(session)[-2:]
    assert (decline.action, decline.actor, decline.note) == ("decline", APPROVER, "样本太小")
    assert json.loads(decline.after)["run_id"] == "run-2"
    assert (note.action, note.actor) == ("evidence", services.CHECK_ACTOR)
    assert aliases(candidate) == {"production": "1.0", "candidate": "2.0"}


def test_reject_with_evidence_is_one_unit(candidate: Workspace) -> None:
    with candidate.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TRIGGER refuse_reject BEFORE INSERT ON audit_log "
                "WHEN NEW.action = 'reject' BEGIN SELECT RAISE(ABORT, 'reject refused'); END"
            )
        )
    with pytest.raises(AuditError):
        services.reject(
            candidate.uow(),
            sop_id=SOP,
            actor=services.CHECK_ACTOR,
            reason="打开率下降",
            evidence=evidence("REJECT"),
            now=NOW,
        )

    assert actions(candidate)[-1] == "candidate"
    assert aliases(candidate) == {"production": "1.0", "candidate": "2.0"}
    assert candidate.store.evidence(candidate.store.resolve(SOP, "2.0")) == []


def test_a_unit_of_work_does_not_nest(workspace: Workspace) -> None:
    uow = workspace.uow()
    with uow, pytest.raises(RuntimeError, match="do not nest"), uow:
        pass
