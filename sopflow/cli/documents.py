"""Commands on SOP documents and workspaces: init, validate, schema."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from services.validation import validate_file
from services.workspace import find_root, init_workspace, iter_files
from sop_models import document_schema
from sop_models.errors import DocumentInvalid, Problem
from sopflow.cli.common import echo_json


def init(
    ctx: typer.Context,
    directory: Path = typer.Argument(
        None, help="Folder to create (default: the workspace folder)."
    ),
) -> None:
    """Create a workspace: settings file, git version store, database.

    Example: sop init ./ops-workspace
    """
    explicit = (ctx.find_root().obj or {}).get("workspace_path")
    root = directory if directory is not None else find_root(explicit)
    with init_workspace(root) as ws:
        typer.echo(f"workspace ready: {ws.root}")


def validate(
    files: list[Path] = typer.Argument(..., help="SOP YAML files or folders of them."),
    as_json: bool = typer.Option(False, "--json", help="Print results as JSON."),
) -> None:
    """Check SOP documents; report every problem as `file: field.path: problem`.

    Example: sop validate examples/*.yaml
    """
    problems: list[Problem] = []
    results: list[dict[str, object]] = []
    for path in iter_files(files):
        try:
            doc = validate_file(path)
        except DocumentInvalid as err:
            problems.extend(err.problems)
            results.append(
                {"file": str(path), "ok": False, "problems": [str(p) for p in err.problems]}
            )
            continue
        results.append({"file": str(path), "ok": True, "id": doc.id, "title": doc.title})
        if not as_json:
            typer.echo(f"ok  {path}  ({doc.id}: {doc.title})")
    if as_json:
        echo_json(results)
        if problems:
            raise typer.Exit(1)
        return
    if problems:
        raise DocumentInvalid(problems)


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
