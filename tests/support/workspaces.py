"""Fixtures that build real workspaces (git store + SQLite) and drive the real CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from services.workspace import Workspace, init_workspace
from sop_models import parse_document
from sopflow.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def example_text(name: str) -> str:
    """Text of an example SOP, e.g. `mombaby-refined`."""
    return (EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8")


def modified(text: str, change: Callable[[dict[str, Any]], None]) -> str:
    """A valid SOP text with `change` applied to its data."""
    data = parse_document(text).model_dump(mode="json", exclude_none=True)
    change(data)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


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
