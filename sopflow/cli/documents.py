"""Commands on SOP documents and workspaces: init, validate, schema.

`validate` and `schema` need only the models (and Jinja for templates); the workspace wiring
(SQLAlchemy, GitPython) is imported inside `init`, the one command here that uses it.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from services.validation import FileCheck, check_files
from sop_models import document_schema
from sop_models.errors import DocumentInvalid
from sopflow.cli.common import echo_json


def init(
    ctx: typer.Context,
    directory: Path = typer.Argument(
        None, help="Folder to create (default: the workspace folder)."
    ),
    store_url: str = typer.Option(
        None,
        "--store-url",
        help="Shared version store (bare git repo: file://, ssh:// or a path); created if a"
        " missing local folder. The workspace keeps a mirror of it.",
    ),
    database_url: str = typer.Option(
        None, "--database-url", help="Database URL (e.g. postgresql+psycopg://...)."
    ),
) -> None:
    """Create a workspace: settings file, git version store, database.

    Example: sop init ./ops-workspace --store-url file:///mnt/shared/sop-store.git
    """
    from services.workspace import find_root, init_workspace

    explicit = (ctx.find_root().obj or {}).get("workspace_path")
    root = directory if directory is not None else find_root(explicit)
    with init_workspace(root, store_url=store_url, database_url=database_url) as ws:
        shared = f" (version store: {ws.settings.store_url})" if ws.settings.store_url else ""
        typer.echo(f"workspace ready: {ws.root}{shared}")


def validate(
    files: list[Path] = typer.Argument(..., help="SOP YAML files or folders of them."),
    as_json: bool = typer.Option(False, "--json", help="Print results as JSON."),
) -> None:
    """Check SOP documents; report every problem as `file: field.path: problem`.

    Exits with code 2 when any file has a problem, with or without --json (the JSON still
    lists every file, the problems also go to stderr).

    Example: sop validate examples/*.yaml
    """
    checks = check_files(files)
    if as_json:
        echo_json([_check_record(check) for check in checks])
    else:
        for check in checks:
            if check.document is not None:
                typer.echo(f"ok  {check.path}  ({check.document.id}: {check.document.title})")
    problems = [problem for check in checks for problem in check.problems]
    if problems:
        # The same error (and exit code) in both modes: JSON on stdout, the lines on stderr.
        raise DocumentInvalid(problems)


def _check_record(check: FileCheck) -> dict[str, object]:
    if check.document is None:
        return {"file": str(check.path), "ok": False, "problems": [str(p) for p in check.problems]}
    return {
        "file": str(check.path),
        "ok": True,
        "id": check.document.id,
        "title": check.document.title,
    }


def schema() -> None:
    """Print the SOP JSON Schema (point your editor's YAML plugin at it).

    Example: sop schema > sop.schema.json
    """
    typer.echo(json.dumps(document_schema(), ensure_ascii=False, indent=2))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command()(init)
    app.command()(validate)
    app.command()(schema)
