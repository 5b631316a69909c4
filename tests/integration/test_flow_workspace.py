"""Batch tasks reuse the workspace their flow run holds open, and only that one."""

from __future__ import annotations

from pathlib import Path

from flows.playbooks import _FLOW_WORKSPACE, _workspace
from services.workspace import init_workspace


def test_batch_tasks_reuse_the_flow_runs_workspace_for_the_same_folder(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    init_workspace(tmp_path / "other").close()
    token = _FLOW_WORKSPACE.set(ws)
    try:
        with _workspace(str(tmp_path / "ws")) as inside:
            assert inside is ws
        with _workspace(str(tmp_path / "other")) as elsewhere:
            assert elsewhere is not ws and elsewhere.root == (tmp_path / "other").resolve()
    finally:
        _FLOW_WORKSPACE.reset(token)
    with _workspace(str(tmp_path / "ws")) as outside:  # no flow run around: a new one
        assert outside is not ws and outside.root == ws.root
    with ws.session() as session:  # the flow run's workspace was not closed by its tasks
        assert session.connection() is not None
    ws.close()
