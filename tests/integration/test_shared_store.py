"""A version store shared by two machines: two workspace caches (each with its own mirror) on
one bare repository and one database, standing in for two machines on shared services."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import git
import pytest
from sqlmodel import select

from services.settings import Settings
from services.workspace import Workspace, init_workspace, open_workspace
from sop_models.errors import StoreConflictError, StoreError
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


def test_an_unreachable_store_url_fails_in_one_line_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as failed:
        init_workspace(tmp_path / "ws", store_url=f"ssh://nohost.invalid{tmp_path}/store.git")
    assert str(failed.value).startswith("store_url: cannot clone ssh://nohost.invalid")
    assert "\n" not in str(failed.value)


def test_a_local_store_is_not_silently_taken_for_a_mirror(tmp_path: Path) -> None:
    init_workspace(tmp_path / "ws").close()
    with pytest.raises(StoreError, match="not store_url"):
        _ = Workspace(tmp_path / "ws", Settings(store_url=str(tmp_path / "elsewhere.git"))).store
