"""A version store shared by two machines: two workspace caches (each with its own mirror) on
one bare repository and one database, standing in for two machines on shared services."""

from __future__ import annotations

import json
import math
import multiprocessing
from collections.abc import Iterator
from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier
from pathlib import Path

import git
import pytest
from sqlmodel import select

from services.settings import Settings
from services.workspace import Workspace, init_workspace, open_workspace
from sop_models.errors import AuditError, StoreConflictError, StoreError, WorkspaceError
from tests.support.examples import example_text, modified
from versions import services
from versions.audit import AuditRecord
from versions.remote_store import RemoteGitVersionStore
from versions.unit_of_work import UnitOfWork

SOP = "mombaby-refined"
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
V1 = example_text(SOP)


def retitled(title: str) -> str:
    return modified(V1, lambda d: d.update(title=title))


def save(uow: UnitOfWork, text: str, author: str = "小王") -> str:
    info = services.save_version(
        uow, text=text, source=f"{SOP}.yaml", author=author, message="改标题", major=False, now=NOW
    )
    return info.version.label


def remote_refs(url: Path) -> dict[str, str]:
    out = git.Repo(url).git.for_each_ref(format="%(refname) %(objectname)")
    return dict(line.split(" ") for line in out.splitlines())


def audit_rows(ws: Workspace) -> int:
    with ws.session() as session:
        return len(session.exec(select(AuditRecord)).all())


@pytest.fixture(params=["file-url", "plain-path"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    path = tmp_path / "shared" / "store.git"
    return f"file://{path}" if request.param == "file-url" else str(path)


@pytest.fixture
def machines(tmp_path: Path, store_url: str) -> Iterator[tuple[Workspace, Workspace]]:
    """Machine A made the shared store with `init`; machine B joined it the same way."""
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    a = init_workspace(tmp_path / "a", store_url=store_url, database_url=db)
    b = init_workspace(tmp_path / "b", store_url=store_url, database_url=db)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def reopened(ws: Workspace) -> Workspace:
    """The workspace as the next command on that machine opens it (fetching the mirror)."""
    return open_workspace(ws.root)


def test_a_stale_writer_is_refused_cleanly_and_succeeds_after_its_mirror_refetched(
    machines: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    a, b = machines
    save(a.uow(), V1)
    # B fetched before A's push reached the remote: the window between fetch and push, held open.
    stale = RemoteGitVersionStore(b.store_path, b.settings.store_url or "", refetch_after=math.inf)
    save(a.uow(), retitled("A 的新标题"))
    remote_before, rows_before = remote_refs(tmp_path / "shared" / "store.git"), audit_rows(a)

    with pytest.raises(StoreConflictError) as refused:
        save(UnitOfWork(stale, b.session), retitled("B 的新标题"), author="小李")

    assert str(refused.value) == (
        f"store: someone else saved SOP {SOP} first; nothing was written, run again"
    )
    assert remote_refs(tmp_path / "shared" / "store.git") == remote_before
    assert audit_rows(a) == rows_before  # B's audit record was rolled back with its refs
    assert stale.refs() == a.store.refs()  # B's mirror was reset to the remote's refs
    # B runs again, with its mirror as the refusal left it (no further fetch): it works.
    assert save(UnitOfWork(stale, b.session), retitled("B 的新标题"), author="小李") == "v1.2"
    stale.close()
    for ws in (reopened(a), reopened(b)):
        with ws:
            assert [v.version.label for v in ws.store.versions(SOP)] == ["v1.0", "v1.1", "v1.2"]
            assert services.verify(ws.uow()) == []


def test_aliases_moved_or_removed_by_one_machine_are_what_the_other_reads_next(
    machines: tuple[Workspace, Workspace],
) -> None:
    a, b = machines
    save(a.uow(), V1)
    save(a.uow(), retitled("第二版"))
    services.promote(
        a.uow(), sop_id=SOP, version="1.0", approver="李经理", policy=a.policy, now=NOW
    )
    services.set_candidate(a.uow(), sop_id=SOP, version="1.1", actor="小王", now=NOW)
    with reopened(b) as b1:
        assert b1.store.aliases(SOP) == a.store.aliases(SOP)
        assert str(b1.store.resolve(SOP, "candidate").version) == "1.1"
        services.reject(b1.uow(), sop_id=SOP, actor="李经理", reason="差", now=NOW)
    with reopened(a) as a1:  # B's rejection deleted the candidate alias: A sees it gone
        assert set(a1.store.aliases(SOP)) == {"production"}
        assert services.verify(a1.uow()) == []
        assert a1.store.audit_anchor() == reopened(b).store.audit_anchor()


def test_a_worker_opens_a_missing_folder_from_environment_settings_alone(
    machines: tuple[Workspace, Workspace], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = machines
    save(a.uow(), V1)
    monkeypatch.setenv("SOPFLOW_STORE_URL", a.settings.store_url or "")
    monkeypatch.setenv("SOPFLOW_DATABASE_URL", a.database_url)
    with open_workspace(tmp_path / "worker" / "cache") as worker:
        assert str(worker.store.latest(SOP).version) == "1.0"  # type: ignore[union-attr]
        assert services.verify(worker.uow()) == []
    assert not (tmp_path / "worker" / "cache" / "sopflow.toml").exists()
    assert (tmp_path / "worker" / "cache" / "store.git" / "HEAD").exists()
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "notes.txt").write_text("私人文件", encoding="utf-8")
    with pytest.raises(WorkspaceError, match="empty or missing folder"):
        open_workspace(tmp_path / "home")  # a folder with other things in it gets no cache
    assert sorted(p.name for p in (tmp_path / "home").iterdir()) == ["notes.txt"]


def test_an_unreachable_store_url_fails_in_one_line_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as failed:
        init_workspace(tmp_path / "ws", store_url=f"ssh://nohost.invalid{tmp_path}/store.git")
    assert str(failed.value).startswith("store_url: cannot clone ssh://nohost.invalid")
    assert "\n" not in str(failed.value)


def test_a_local_store_is_not_silently_taken_for_a_mirror(tmp_path: Path) -> None:
    init_workspace(tmp_path / "ws").close()
    with pytest.raises(StoreError, match="not store_url"):
        _ = Workspace(tmp_path / "ws", Settings(store_url=str(tmp_path / "elsewhere.git"))).store


class DatabaseGoneAtCommit(UnitOfWork):
    """A unit of work whose database fails at commit, after the store's refs were pushed."""

    def _commit(self) -> None:
        raise AuditError("the database went away at commit")


def test_a_database_failure_after_the_push_takes_the_pushed_refs_back(
    machines: tuple[Workspace, Workspace], tmp_path: Path
) -> None:
    a, b = machines
    save(a.uow(), V1)
    before, rows = remote_refs(tmp_path / "shared" / "store.git"), audit_rows(a)
    with pytest.raises(AuditError):
        save(DatabaseGoneAtCommit(b.store, b.session), retitled("不该留下"))
    assert remote_refs(tmp_path / "shared" / "store.git") == before
    assert audit_rows(a) == rows
    with reopened(b) as b1:
        assert [v.version.label for v in b1.store.versions(SOP)] == ["v1.0"]
        assert services.verify(b1.uow()) == []


PER_MACHINE = 4


def _save_racing(root: str, who: str, start: Barrier, out: str) -> None:
    """Child process (one machine): save 4 versions, running again after each refusal."""
    saved, refused = [], 0
    with open_workspace(Path(root)) as ws:
        start.wait(timeout=60)
        for n in range(PER_MACHINE):
            while True:
                try:
                    saved.append(save(ws.uow(), retitled(f"{who} 的第 {n} 版"), author=who))
                    break
                except StoreConflictError:
                    refused += 1  # what a user does: run again
    Path(out).write_text(json.dumps({"saved": saved, "refused": refused}), encoding="utf-8")


def test_two_machines_saving_at_once_lose_nothing_and_leave_no_trace_of_refused_saves(
    tmp_path: Path, db_url: str
) -> None:
    url = str(tmp_path / "shared.git")
    for name in ("a", "b"):
        init_workspace(tmp_path / name, store_url=url, database_url=db_url).close()
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(2)
    outs = {who: tmp_path / f"{who}.json" for who in ("a", "b")}
    machines = [
        ctx.Process(target=_save_racing, args=(str(tmp_path / who), who, start, str(out)))
        for who, out in outs.items()
    ]
    for machine in machines:
        machine.start()
    for machine in machines:
        machine.join(timeout=300)
    assert [m.exitcode for m in machines] == [0, 0]

    results = [json.loads(out.read_text(encoding="utf-8")) for out in outs.values()]
    numbers = [label for result in results for label in result["saved"]]
    assert len(set(numbers)) == 2 * PER_MACHINE
    for name in ("a", "b"):
        with open_workspace(tmp_path / name) as ws:
            assert sorted(v.version.label for v in ws.store.versions(SOP)) == sorted(numbers)
            assert audit_rows(ws) == 2 * PER_MACHINE  # refused saves left no audit row
            assert services.verify(ws.uow()) == []
