"""Two real processes saving at once lose nothing and never share a version number."""

from __future__ import annotations

import json
import multiprocessing
from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier
from pathlib import Path

from services.workspace import Workspace, open_workspace
from tests.support.examples import example_text, modified
from versions import audit, services

PER_PROCESS = 8


def _save_many(root: str, who: str, start: Barrier, out: str) -> None:
    """Child process: open the workspace, wait at the barrier for the other, save 8 versions."""
    base = example_text("mombaby-refined")
    bodies = [
        modified(base, lambda d, n=n: d.update(title=f"{who} 的第 {n} 版"))
        for n in range(PER_PROCESS)
    ]
    saved = []
    with open_workspace(Path(root)) as ws:
        start.wait(timeout=60)
        for n, body in enumerate(bodies):
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
    Path(out).write_text(json.dumps(saved), encoding="utf-8")


def test_concurrent_saves_from_two_processes_get_distinct_numbers(
    workspace: Workspace, tmp_path: Path
) -> None:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(2)
    outs = {who: tmp_path / f"{who}.json" for who in ("甲", "乙")}
    writers = [
        ctx.Process(target=_save_many, args=(str(workspace.root), who, start, str(out)))
        for who, out in outs.items()
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    assert [w.exitcode for w in writers] == [0, 0]

    numbers = [n for out in outs.values() for n in json.loads(out.read_text(encoding="utf-8"))]
    assert len(set(numbers)) == 2 * PER_PROCESS
    stored = workspace.store.versions("mombaby-refined")
    assert sorted(str(i.version) for i in stored) == sorted(numbers)
    # the last version holds one of the two writers' documents, no torn write
    assert stored[-1].message.split(": ", 1)[1].split()[0] in {"甲", "乙"}
    with workspace.session() as session:
        assert len(audit.query(session, action="save")) == 2 * PER_PROCESS
    assert services.verify(workspace.uow()) == []
