"""The rules of the version services, against the in-memory store, audit trail and unit of work.

The same services on git and SQL: tests/integration/test_version_services.py; that the twin
behaves like them: tests/integration/test_version_store_contract.py.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from sop_models.errors import (
    AliasError,
    ApprovalError,
    AuditError,
    NothingToSave,
    VersionNotFound,
)
from sop_models.evidence import CheckEvidence, Evidence
from tests.support.examples import example_text, modified
from tests.support.memory_versions import (
    InMemoryAuditTrail,
    InMemoryUnitOfWork,
)
from versions import services
from versions.audit import AuditRecord
from versions.numbering import Version
from versions.store import BRANCH, EVIDENCE_REF, VersionInfo

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
FOUR_EYES = services.ApprovalPolicy()
BASE = example_text("mombaby-refined")


def retitled(title: str) -> str:
    return modified(BASE, lambda d: d.update(title=title))


def evidence(summary: str = "v1.1: 新标题 — open rate +18.0%") -> Evidence:
    check = CheckEvidence(decision="PROMOTE", reasons=("primary open_rate better",), metrics=())
    return Evidence(
        summary=summary,
        decision="PROMOTE",
        window=(date(2026, 10, 1), date(2026, 10, 15)),
        groups_per_arm=(12, 12),
        check=check,
        production="1.0",
        candidate="1.1",
    )


@pytest.fixture
def uow() -> InMemoryUnitOfWork:
    return InMemoryUnitOfWork()


def save(
    uow: InMemoryUnitOfWork, text: str = BASE, *, author: str = "小王", major: bool = False
) -> VersionInfo:
    return services.save_version(
        uow, text=text, source="sop.yaml", author=author, message="改版", major=major, now=NOW
    )


def promote(uow: InMemoryUnitOfWork, version: str, approver: str = "李经理") -> VersionInfo:
    sop_id = uow.store.sop_ids()[0]
    return services.promote(
        uow, sop_id=sop_id, version=version, approver=approver, policy=FOUR_EYES, now=NOW
    )


def aliases(uow: InMemoryUnitOfWork) -> dict[str, str]:
    sop_id = uow.store.sop_ids()[0]
    return {name: str(version) for name, version in uow.store.aliases(sop_id).items()}


def actions(uow: InMemoryUnitOfWork) -> list[str]:
    return [record.action for record in uow.audit.rows()]


def state(uow: InMemoryUnitOfWork) -> tuple[Any, ...]:
    """Everything a unit could change: refs (tags, aliases, branch, notes) and the audit."""
    store = uow.store
    names = [*store.refs(), BRANCH, EVIDENCE_REF]
    return dict(store.snapshot_refs(names)), [r.hash for r in uow.audit.rows()]


def test_versions_are_numbered_minor_by_default_and_major_on_request(
    uow: InMemoryUnitOfWork,
) -> None:
    v1 = save(uow)
    v11 = save(uow, retitled("第二版"))
    v2 = save(uow, retitled("第三版"), major=True)
    v21 = save(uow, retitled("第四版"))
    assert [str(v.version) for v in (v1, v11, v2, v21)] == ["1.0", "1.1", "2.0", "2.1"]
    assert (v2.tag, v2.message) == (f"{v1.sop_id}/v2.0", "v2.0: 改版")
    assert [str(v.version) for v in uow.store.iter_history(v1.sop_id)] == [
        "2.1",
        "2.0",
        "1.1",
        "1.0",
    ]
    assert actions(uow) == ["save"] * 4
    assert uow.audit.verify(git_refs=uow.store.refs()) == []


def test_saving_an_unchanged_document_is_refused_and_leaves_nothing(
    uow: InMemoryUnitOfWork,
) -> None:
    save(uow)
    before = state(uow)
    with pytest.raises(NothingToSave, match=r"unchanged since .* v1\.0"):
        save(uow)
    assert state(uow) == before


def test_promote_is_refused_for_the_author_and_allowed_for_another_person(
    uow: InMemoryUnitOfWork,
) -> None:
    save(uow, author="小王")
    with pytest.raises(ApprovalError, match="由 小王 保存，必须由另一个人批准"):
        promote(uow, "1.0", approver="小王")
    assert aliases(uow) == {}
    assert actions(uow) == ["save"]
    promote(uow, "1.0", approver="李经理")
    assert aliases(uow) == {"production": "1.0"}
    record = uow.audit.rows(action="promote")[-1]
    assert json.loads(record.after)["approver"] == "李经理"
    assert (record.actor, json.loads(record.after)["author"]) == ("李经理", "小王")


@pytest.mark.parametrize(
    ("author", "approver"),
    [("李经理.", "李经理"), ("李经理", " 李经理. "), ("Ｌｉ Ｍａｎａｇｅｒ", "li  manager")],
)
def test_four_eyes_sees_one_person_behind_names_that_differ_in_punctuation_or_width(
    uow: InMemoryUnitOfWork, author: str, approver: str
) -> None:
    info = save(uow, author=author)
    with pytest.raises(ApprovalError, match="必须由另一个人批准"):
        promote(uow, "1.0", approver=approver)
    assert info.author == services.stored_name(author)
    assert aliases(uow) == {}


def test_the_author_may_promote_where_the_workspace_allows_self_approval(
    uow: InMemoryUnitOfWork,
) -> None:
    info = save(uow, author="小王")
    policy = services.ApprovalPolicy(allow_self_approval=True)
    services.promote(
        uow, sop_id=info.sop_id, version="1.0", approver="小王", policy=policy, now=NOW
    )
    assert aliases(uow) == {"production": "1.0"}


def test_candidate_and_production_aliases_move_and_promoting_the_candidate_clears_it(
    uow: InMemoryUnitOfWork,
) -> None:
    v1 = save(uow)
    save(uow, retitled("新版"))
    promote(uow, "1.0")
    with pytest.raises(AliasError, match="already production"):
        services.set_candidate(uow, sop_id=v1.sop_id, version="1.0", actor="小王", now=NOW)
    services.set_candidate(uow, sop_id=v1.sop_id, version="1.1", actor="小王", now=NOW)
    assert aliases(uow) == {"production": "1.0", "candidate": "1.1"}
    assert str(services.resolve(uow.store, v1.sop_id, "candidate").version) == "1.1"
    promote(uow, "1.1")
    assert aliases(uow) == {"production": "1.1"}
    with pytest.raises(AliasError, match="already production"):
        promote(uow, "1.1")
    assert actions(uow) == ["save", "save", "promote", "candidate", "promote"]


def test_rollback_restores_previous_production_without_rewriting_history(
    uow: InMemoryUnitOfWork,
) -> None:
    v1 = save(uow)
    save(uow, retitled("新版"))
    promote(uow, "1.0")
    promote(uow, "1.1")
    versions_before = uow.store.versions(v1.sop_id)
    target = services.rollback(uow, sop_id=v1.sop_id, author="李经理", reason="投诉增加", now=NOW)
    assert str(target.version) == "1.0"
    assert aliases(uow) == {"production": "1.0"}
    assert uow.store.versions(v1.sop_id) == versions_before
    assert actions(uow)[-1] == "rollback"
    assert uow.audit.verify(git_refs=uow.store.refs()) == []
    with pytest.raises(AliasError, match="no earlier production"):
        services.rollback(uow, sop_id=v1.sop_id, author="李经理", reason="再退", now=NOW)


def test_reject_clears_the_candidate_and_keeps_the_version_and_its_evidence(
    uow: InMemoryUnitOfWork,
) -> None:
    v1 = save(uow)
    save(uow, retitled("新版"))
    promote(uow, "1.0")
    services.set_candidate(uow, sop_id=v1.sop_id, version="1.1", actor="小王", now=NOW)
    rejected = services.reject(
        uow, sop_id=v1.sop_id, actor="李经理", reason="打开率下降", evidence=evidence(), now=NOW
    )
    assert str(rejected.version) == "1.1"
    assert aliases(uow) == {"production": "1.0"}
    kept = uow.store.resolve(v1.sop_id, "1.1")
    assert json.loads(uow.store.evidence(kept)[0])["summary"] == evidence().summary
    assert actions(uow)[-2:] == ["evidence", "reject"]
    with pytest.raises(VersionNotFound, match="no 'candidate' alias set"):
        services.reject(uow, sop_id=v1.sop_id, actor="李经理", reason="", now=NOW)


def candidate_under_check(uow: InMemoryUnitOfWork) -> str:
    """1.0 in production, 1.1 the candidate; returns the SOP id."""
    v1 = save(uow)
    save(uow, retitled("新版"))
    promote(uow, "1.0")
    services.set_candidate(uow, sop_id=v1.sop_id, version="1.1", actor="小王", now=NOW)
    return v1.sop_id


def approve(uow: InMemoryUnitOfWork, sop_id: str, version: str = "1.1") -> VersionInfo:
    return services.approve_and_promote(
        uow,
        sop_id=sop_id,
        version=version,
        approver="李经理",
        reason="数据可信",
        run_id="run-1",
        evidence=evidence(),
        policy=FOUR_EYES,
        now=NOW,
    )


def test_approve_and_promote_records_approval_evidence_and_promotion_together(
    uow: InMemoryUnitOfWork,
) -> None:
    sop_id = candidate_under_check(uow)
    promoted = approve(uow, sop_id)
    assert aliases(uow) == {"production": "1.1"}
    assert promoted.message == evidence().summary
    assert uow.store.resolve(sop_id, "1.1").message == evidence().summary
    assert actions(uow)[-3:] == ["approval", "evidence", "promote"]
    assert uow.audit.verify(git_refs=uow.store.refs()) == []


class AuditRefusing(InMemoryAuditTrail):
    """An audit trail that fails to write records of one action once `refused` is set, as a
    full disk or a lost database connection would."""

    refused: str | None = None

    def append(self, **fields: Any) -> AuditRecord:
        if fields["action"] == self.refused:
            raise AuditError(f"audit write of {self.refused!r} failed")
        return super().append(**fields)


def test_approve_and_promote_leaves_nothing_when_the_promote_record_fails() -> None:
    trail = AuditRefusing()
    uow = InMemoryUnitOfWork(trail=trail)
    sop_id = candidate_under_check(uow)
    before = state(uow)
    trail.refused = "promote"  # after the approval and evidence records were written
    with pytest.raises(AuditError, match="'promote' failed"):
        approve(uow, sop_id)
    assert state(uow) == before
    assert aliases(uow) == {"production": "1.0", "candidate": "1.1"}
    assert uow.store.evidence(uow.store.resolve(sop_id, "1.1")) == []
    assert uow.store.resolve(sop_id, "1.1").message == "v1.1: 改版"


def test_approve_and_promote_refuses_a_version_that_is_no_longer_the_candidate(
    uow: InMemoryUnitOfWork,
) -> None:
    sop_id = candidate_under_check(uow)
    services.reject(uow, sop_id=sop_id, actor="李经理", reason="换一版", now=NOW)
    before = state(uow)
    with pytest.raises(AliasError, match="no longer the candidate"):
        approve(uow, sop_id)
    assert state(uow) == before


def test_decline_records_the_decision_and_evidence_and_moves_no_alias(
    uow: InMemoryUnitOfWork,
) -> None:
    sop_id = candidate_under_check(uow)
    services.decline(
        uow,
        sop_id=sop_id,
        version="1.1",
        approver="李经理",
        reason="样本太少",
        run_id="run-1",
        evidence=evidence(),
        now=NOW,
    )
    assert aliases(uow) == {"production": "1.0", "candidate": "1.1"}
    decision = uow.audit.rows(action="decline")[-1]
    assert (decision.note, json.loads(decision.after)["approved"]) == ("样本太少", False)
    assert len(uow.store.evidence(uow.store.resolve(sop_id, "1.1"))) == 1


def test_a_save_whose_audit_record_fails_leaves_no_version_behind(uow: InMemoryUnitOfWork) -> None:
    save(uow)
    before = state(uow)
    with pytest.raises(AuditError, match="timezone-aware"):
        services.save_version(
            uow,
            text=retitled("新版"),
            source="sop.yaml",
            author="小王",
            message="改版",
            major=False,
            now=datetime(2026, 11, 2, 10, 0),  # naive: the audit record refuses it
        )
    assert state(uow) == before
    assert [str(v.version) for v in uow.store.versions(uow.store.sop_ids()[0])] == ["1.0"]


def test_a_unit_of_work_that_raises_leaves_no_version_behind(uow: InMemoryUnitOfWork) -> None:
    v1 = save(uow)
    before = state(uow)
    v9 = Version(9, 0)
    with pytest.raises(RuntimeError, match="lost the connection"), uow:
        uow.track(
            BRANCH, uow.store.tag_ref(v1.sop_id, v9), uow.store.alias_ref(v1.sop_id, "candidate")
        )
        info = uow.store.write_version(
            sop_id=v1.sop_id, version=v9, content="x", author="小王", message="v9.0", at=NOW
        )
        uow.store.set_alias(v1.sop_id, "candidate", info)
        uow.audit.append(
            actor="小王",
            action="save",
            sop_id=v1.sop_id,
            version="9.0",
            before=None,
            after={"refs": {uow.store.tag_ref(v1.sop_id, v9): info.commit}},
            note="v9.0",
            now=NOW,
        )
        raise RuntimeError("lost the connection")
    assert state(uow) == before
    assert uow.store.versions(v1.sop_id) == [uow.store.resolve(v1.sop_id, "1.0")]
    assert aliases(uow) == {}
    assert uow.audit.verify(git_refs=uow.store.refs()) == []


def test_units_of_work_do_not_nest(uow: InMemoryUnitOfWork) -> None:
    with uow, pytest.raises(RuntimeError, match="do not nest"), uow:
        pass
