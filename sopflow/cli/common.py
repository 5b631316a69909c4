"""Helpers shared by command modules: the workspace from the context, output, the clock."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from sopflow.cli.params import remember_workspace

if TYPE_CHECKING:
    from services.workspace import Workspace

WorkspaceOption = typer.Option(
    None,
    "--workspace",
    "-w",
    help="Workspace folder (default: $SOPFLOW_WORKSPACE or the current folder).",
)


def workspace(ctx: typer.Context) -> Workspace:
    """The workspace chosen by the root `--workspace` option (opened once per command)."""
    # Imported here: the workspace wiring loads SQLAlchemy and GitPython, which `sop --help`
    # and `sop validate` never need.
    from services.workspace import open_workspace

    root = ctx.find_root()
    obj = root.obj if isinstance(root.obj, dict) else {}
    ws = obj.get("workspace")
    if ws is None:
        ws = open_workspace(obj.get("workspace_path"))
        use_workspace_prefect_home(ws.root)
        obj["workspace"] = ws
        root.obj = obj
        root.call_on_close(ws.close)
    return ws


def use_workspace_prefect_home(root: Path) -> None:
    """Point Prefect at `<workspace>/.prefect` before anything imports it (unless PREFECT_HOME
    is set): importing Prefect creates its home folder, and ours is the workspace's."""
    from services.workspace import prefect_home

    os.environ.setdefault("PREFECT_HOME", str(prefect_home(root)))


def set_workspace_path(ctx: typer.Context, path: Path | None) -> None:
    """Remember the root option for `workspace()` and for day words (`parse_date`)."""
    ctx.obj = {"workspace_path": path}
    remember_workspace(path)


def now() -> datetime:
    """The one place commands read the clock."""
    return datetime.now(UTC)


def echo_json(data: Any) -> None:
    """Print JSON with Chinese intact."""
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def split_ref(spec: str) -> tuple[str, str]:
    """`welcome-flow@2.0` -> ("welcome-flow", "2.0"); no `@` means `latest`."""
    sop_id, _, ref = spec.partition("@")
    return sop_id, ref or "latest"
