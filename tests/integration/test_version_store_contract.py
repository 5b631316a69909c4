"""The in-memory twins answer as the real parts do, so unit tests on them mean something.

One scenario of the version services runs on a real workspace (git store + SQLite audit) and
on `tests.support.memory_versions`; everything a service or a reader can see afterwards must
be the same, with commit ids (which differ) replaced by the versions they belong to. The store
protocol's own promises (snapshot/restore, the lock) are checked on both stores too.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from services.workspace import Workspace, init_workspace
from sop_models.errors import AuditError, SopflowError
from sop_models.evidence import CheckEvidence, Evidence
from tests.support.examples import example_text, modified
from tests.support.memory_versions import InMemoryUnitOfWork, InMemoryVersionStore
from versions import services
from versions.git_store import GitVersionStore
from versions.numbering import Version
from versions.remote_store import RemoteGitVersionStore, create_remote
from versions.store import BRANCH, EVIDENCE_REF, VersionStore
from versions.unit_of_work import AbstractUnitOfWork

NOW = datetime(2026, 11, 2, 10, 0, 7, 250_000, tzinfo=UTC)  # git keeps whole seconds
POLICY = services.ApprovalPolicy()
BASE = example_text("mombaby-refined")
SOP = "mombaby-refined"


def retitled(title: str) -> str:
    return modified(BASE, lambda d: d.update(title=title))


EVIDENCE = Evidence(
    summary="v1.1: 新标题 — open rate +18.0% (20.0% -> 23.6%)",
    decision="PROMOTE",
    window=(date(2026, 10, 1), date(2026, 10, 15)),
    groups_per_arm=(12, 12),
    check=CheckEvidence(decision="PROMOTE", reasons=("primary open_rate better",), metrics=()),
    production="1.0",
    candidate="1.1",
)


def answer(call: Callable[[], Any]) -> str:
    """What a call returned (a version's number), or the error a user would see."""
    try:
        result = call()
    except SopflowError as err:
        return f"{type(err).__name__}: {err}"
    return str(getattr(result, "version", result))


def scenario(uow: Callable[[], AbstractUnitOfWork]) -> list[str]:
    """Save, refuse, promote, test a candidate, approve, roll back, reject, fail; returns what
    each call that should be refused answered."""

    def save(text: str, author: str = "小王.", major: bool = False, now: datetime = NOW) -> Any:
        return services.save_version(
            uow(), text=text, source="sop.yaml", author=author, message="改版", major=major, now=now
        )

    def promote(version: str, approver: str) -> Any:
        return services.promote(
            uow(), sop_id=SOP, version=version, approver=approver, policy=POLICY, now=NOW
        )

    said: list[str] = []
    save(BASE)
    said.append(answer(lambda: save(BASE)))
    save(retitled("新标题"))
    save(retitled("大改"), major=True)
    said.append(answer(lambda: promote("1.0", approver="小王")))
    promote("1.0", approver="李经理")
    services.set_candidate(uow(), sop_id=SOP, version="1.1", actor="小王", now=NOW)
    services.attach_evidence(
        uow(), sop_id=SOP, version="1.1", actor="数据组", evidence={"summary": "手工"}, now=NOW
    )
    services.approve_and_promote(
        uow(),
        sop_id=SOP,
        version="1.1",
        approver="李经理",
        reason="数据可信",
        run_id="run-1",
        evidence=EVIDENCE,
        policy=POLICY,
        now=NOW,
    )
    services.rollback(uow(), sop_id=SOP, author="李经理", reason="投诉增加", now=NOW)
    said.append(
        answer(lambda: services.rollback(uow(), sop_id=SOP, author="李", reason="再", now=NOW))
    )
    services.set_candidate(uow(), sop_id=SOP, version="2.0", actor="小王", now=NOW)
    services.reject(
        uow(), sop_id=SOP, actor="李经理", reason="打开率下降", evidence=EVIDENCE, now=NOW
    )
    said.append(answer(lambda: save(retitled("再改"), now=NOW.replace(tzinfo=None))))
    said.append(answer(lambda: failing_unit(uow())))
    return said


def failing_unit(uow: AbstractUnitOfWork) -> None:
    """Every kind of change a unit can make, then a failure before commit."""
    with uow:
        store = uow.store
        v1, v9 = store.resolve(SOP, "1.0"), Version(9, 0)
        refs = (BRANCH, EVIDENCE_REF, store.tag_ref(SOP, v9), store.tag_ref(SOP, v1.version))
        uow.track(*refs, store.alias_ref(SOP, "production"), store.alias_ref(SOP, "candidate"))
        v9_info = store.write_version(
            sop_id=SOP, version=v9, content="id: x\n", author="某人", message="v9.0", at=NOW
        )
        store.set_alias(SOP, "production", v9_info)
        store.set_alias(SOP, "candidate", None)
        store.retag(v1, message="改写", author=v1.author, at=v1.at)
        store.add_evidence(v1, '{"summary":"不该留下"}')
        after = {"refs": {store.tag_ref(SOP, v9): v9_info.commit}}
        uow.audit.append(
            actor="某人",
            action="save",
            sop_id=SOP,
            version="9.0",
            before=None,
            after=after,
            note="v9.0",
            now=NOW,
        )
        raise AuditError("the database went away before commit")


def observe(uow: AbstractUnitOfWork) -> dict[str, Any]:
    """Everything readable afterwards, commit ids replaced by `<sop>@<version>`."""
    with uow:
        store = uow.store
        infos = store.versions(SOP)
        names = {info.commit: f"{SOP}@{info.version}" for info in infos}

        def named(text: str) -> str:
            return re.sub("[0-9a-f]{40}", lambda m: names.get(m[0], "unknown commit"), text)

        return {
            "sop_ids": store.sop_ids(),
            "versions": [
                (str(i.version), i.tag, i.author, i.at, i.message, named(i.commit)) for i in infos
            ],
            "history": [str(i.version) for i in store.iter_history(SOP)],
            "latest": str(store.latest(SOP).version),  # type: ignore[union-attr]
            "content": [store.content(i) for i in infos],
            "evidence": [store.evidence(i) for i in infos],
            "aliases": {name: str(v) for name, v in store.aliases(SOP).items()},
            "resolve": [
                answer(lambda ref=ref: store.resolve(SOP, ref))
                for ref in ("9.9", "v1.1", "production", "candidate", "", "latest")
            ]
            + [answer(lambda: store.resolve("nope", "latest"))],
            "refs": {ref: named(target) for ref, target in store.refs().items()},
            "branch": named(store.snapshot_refs([BRANCH])[BRANCH] or ""),
            "audit": [
                (r.seq, r.at, r.actor, r.action, r.version, r.before, named(r.after or ""), r.note)
                for r in uow.audit.rows(sop_id=SOP)
            ],
            "history_of_production": services.production_history(uow.audit, SOP),
            "verify": uow.audit.verify(git_refs=store.refs()),
        }


def test_the_twin_answers_a_whole_scenario_as_git_and_the_sql_audit_do(
    workspace: Workspace,
) -> None:
    twin = InMemoryUnitOfWork()
    said = {"git": scenario(workspace.uow), "memory": scenario(lambda: twin)}
    seen = {"git": observe(workspace.uow()), "memory": observe(twin)}

    assert said["memory"] == said["git"]
    for key in seen["git"]:
        assert seen["memory"][key] == seen["git"][key], key
    # and the scenario did what it says, so equal answers are not equally empty ones
    git = seen["git"]
    assert [v[0] for v in git["versions"]] == ["1.0", "1.1", "2.0"]
    assert {v[2] for v in git["versions"]} == {"小王"}
    assert git["versions"][1][4] == EVIDENCE.summary
    assert git["aliases"] == {"production": "1.0"}
    assert [len(lines) for lines in git["evidence"]] == [0, 2, 1]
    assert [row[3] for row in git["audit"]][-4:] == ["rollback", "candidate", "evidence", "reject"]
    assert git["history_of_production"] == ["1.0"]
    assert git["verify"] == []
    assert said["git"][0].startswith("NothingToSave: sop.yaml: unchanged")
    assert said["git"][-2].startswith("AuditError: audit time must be timezone-aware")
    assert said["git"][-1] == "AuditError: the database went away before commit"


def test_a_shared_store_answers_the_scenario_as_a_local_one_seen_from_another_mirror(
    workspace: Workspace, tmp_path: Path
) -> None:
    url, db = str(tmp_path / "shared.git"), f"sqlite:///{tmp_path / 'shared.db'}"
    with init_workspace(tmp_path / "a", store_url=url, database_url=db) as a:
        said = {"local": scenario(workspace.uow), "shared": scenario(a.uow)}
    with init_workspace(tmp_path / "b", store_url=url, database_url=db) as b:
        seen_from_b = observe(b.uow())
    assert said["shared"] == said["local"]
    assert seen_from_b == observe(workspace.uow())
    assert seen_from_b["verify"] == [] and len(seen_from_b["versions"]) == 3


@pytest.fixture(params=["git", "memory", "shared"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VersionStore]:
    if request.param == "memory":
        yield InMemoryVersionStore()
        return
    if request.param == "shared":  # the mirror of a shared store (versions.remote_store)
        create_remote(str(tmp_path / "shared.git"))
        git_store: GitVersionStore = RemoteGitVersionStore(
            tmp_path / "store.git", str(tmp_path / "shared.git")
        )
    else:
        git_store = GitVersionStore.init(tmp_path / "store.git")
    try:
        yield git_store
    finally:
        git_store.close()


def write(store: VersionStore, version: Version, text: str) -> Any:
    with store.lock():
        return store.write_version(
            sop_id=SOP, version=version, content=text, author="小王", message="m", at=NOW
        )


def test_restoring_a_snapshot_undoes_a_save_a_retag_an_alias_and_a_note(
    store: VersionStore,
) -> None:
    v1 = write(store, Version(1, 0), "a\n")
    names = [
        BRANCH,
        EVIDENCE_REF,
        store.tag_ref(SOP, v1.version),
        store.tag_ref(SOP, Version(1, 1)),
        store.alias_ref(SOP, "production"),
    ]
    snapshot = dict(store.snapshot_refs(names))
    assert snapshot[store.tag_ref(SOP, Version(1, 1))] is None
    write(store, Version(1, 1), "b\n")
    store.retag(v1, message="新的说明", author=v1.author, at=v1.at)
    store.set_alias(SOP, "production", v1)
    store.add_evidence(v1, json.dumps({"summary": "x"}))
    store.restore_refs(snapshot)
    assert store.snapshot_refs(names) == snapshot
    assert [(str(i.version), i.message) for i in store.versions(SOP)] == [("1.0", "m")]
    assert (store.aliases(SOP), store.evidence(v1)) == ({}, [])


def test_the_store_lock_keeps_a_second_writer_waiting(store: VersionStore) -> None:
    got_it = threading.Event()

    def second_writer() -> None:
        with store.lock():
            got_it.set()

    with store.lock():
        thread = threading.Thread(target=second_writer)
        thread.start()
        assert not got_it.wait(0.3)  # the behaviour under test: it really waits
    assert got_it.wait(10)
    thread.join(10)
