"""Fixtures that build real workspaces (git store + SQLite) and drive the real CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from services.workspace import Workspace, init_workspace
from sopflow.cli.main import app
from tests.support.examples import EXAMPLES, example_text, modified
from versions import services

# The example helpers live in tests.support.examples; still importable from here for the test
# modules written before they moved.
__all__ = ["EXAMPLES", "Cli", "cli", "example_text", "in_production", "modified", "workspace"]
__all__ += ["save_example_as", "with_candidate"]


def in_production(
    ws: Workspace, name: str, *, now: datetime, change: Callable[[dict], Any] | None = None
) -> None:
    """Save example `name` (edited by `change`, if given) as v1.0 (by 小王) and promote it
    (by 李经理)."""
    services.save_version(
        ws.uow(),
        text=example_text(name) if change is None else modified(example_text(name), change),
        source=f"{name}.yaml",
        author="小王",
        message="首版",
        major=False,
        now=now,
    )
    services.promote(
        ws.uow(), sop_id=name, version="1.0", approver="李经理", policy=ws.policy, now=now
    )


def with_candidate(
    ws: Workspace, name: str, change: Callable[[dict], Any], *, message: str, now: datetime
) -> None:
    """Example `name` as v1.0 in production (`in_production`) and, changed by `change`, as
    v2.0 (by 小王, saved with `message`) the candidate."""
    in_production(ws, name, now=now)
    services.save_version(
        ws.uow(),
        text=modified(example_text(name), change),
        source=f"{name}.yaml",
        author="小王",
        message=message,
        major=True,
        now=now,
    )
    services.set_candidate(ws.uow(), sop_id=name, version="2.0", actor="小王", now=now)


def save_example_as(ws: Workspace, sop_id: str, *, name: str = "mombaby-refined") -> None:
    """Save example `name` under another SOP id as v1.0 (by 小王), no alias moved."""
    text = modified(example_text(name), lambda data: data.update(id=sop_id))
    services.save_version(
        ws.uow(),
        text=text,
        source=f"{sop_id}.yaml",
        author="小王",
        message="首版",
        major=False,
        now=datetime(2025, 3, 1, tzinfo=UTC),
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    """A fresh initialised workspace on SQLite."""
    ws = init_workspace(tmp_path / "ws")
    try:
        yield ws
    finally:
        ws.close()


class Cli:
    """Runs `sop ...` against one workspace through Typer's runner."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True) -> Any:
        result = self.runner.invoke(app, ["--workspace", str(self.root), *args])
        if ok and result.exit_code != 0:
            raise AssertionError(
                f"sop {' '.join(args)} exited {result.exit_code}:\n{result.output}"
                f"{result.stderr if result.stderr_bytes else ''}"
            )
        return result


@pytest.fixture
def cli(workspace: Workspace) -> Cli:
    """The CLI bound to the `workspace` fixture."""
    return Cli(workspace.root)
