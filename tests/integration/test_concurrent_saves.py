"""Two real processes saving at once lose nothing and never share a version number."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from pathlib import Path

from services.workspace import Workspace, open_workspace
from tests.support.workspaces import example_text, modified
from versions import audit, services

PER_PROCESS = 8


def _save_many(root: str, who: str) -> list[str]:
    base = example_text("mombaby-refined")
    saved = []
    with open_workspace(Path(root)) as ws:
        for n in range(PER_PROCESS):
            body = modified(base, lambda d, n=n: d.update(title=f"{who} 的第 {n} 版"))
            info = services.save_version(
                ws.uow(),
                text=body,
                source=f"{who}-{n}.yaml",
                author=who,
                message=f"{who} {n}",
                major=False,
                now=datetime.now(UTC),
            )
            saved.append(str(info.version))
    return saved


def test_concurrent_saves_from_two_processes_get_distinct_numbers(workspace: Workspace) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.starmap(
            _save_many, [(str(workspace.root), "甲"), (str(workspace.root), "乙")]
        )
    numbers = results[0] + results[1]
    assert len(set(numbers)) == 2 * PER_PROCESS
    stored = workspace.store.versions("mombaby-refined")
    assert sorted(str(i.version) for i in stored) == sorted(numbers)
    # the last version holds one of the two writers' documents, no torn write
    assert stored[-1].message.split(": ", 1)[1].split()[0] in {"甲", "乙"}
    with workspace.session() as session:
        assert len(audit.query(session, action="save")) == 2 * PER_PROCESS
    assert services.verify(workspace.uow()) == []
