"""Commands on SOP documents and workspaces: init, validate, schema.

`validate` and `schema` need only the models (and Jinja for templates); the workspace wiring
(SQLAlchemy, GitPython) is imported inside `init`, the one command here that uses it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import typer

from engine.calendar import LIBRARY_ONLY, WorkdayCalendar
from engine.planner import Layer
from services.validation import (
    FileCheck,
    check_files,
    overlay_layer,
    read_document_text,
    validate_text,
)
from sop_models import document_schema
from sop_models.errors import DocumentInvalid
from sopflow.cli.common import echo_json, workspace
from sopflow.cli.params import date_option


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
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="SOP YAML files or folders of them."),
    as_json: bool = typer.Option(False, "--json", help="Print results as JSON."),
    plan_from: date = date_option(
        "today", "--from", help="First day of the 28 planned days whose warnings are shown."
    ),
    overlay_files: list[Path] = typer.Option(
        [], "--overlay", help="An overlay SOP file to lay over each base document (repeatable)."
    ),
) -> None:
    """Check SOP documents; report every problem as `file: field.path: problem`.

    Each valid document is also planned for 28 days from --from (one sample group, with the
    --overlay files and, in a workspace with `sop overlay attach`ments, its attached overlays
    laid over it): collisions, calendar gaps and items repeated too soon are printed as
    `warn  file: ...` lines, one each; warnings never fail.
    Exits with code 2 when any file has a problem, with or without --json (the JSON still
    lists every file, the problems also go to stderr).

    Example: sop validate examples/*.yaml --from 2026-09-07
    """
    overlays = [overlay_layer(validate_text(read_document_text(f), str(f))) for f in overlay_files]
    attached, calendar = _workspace_overlays(ctx)
    checks = check_files(
        files, plan_from=plan_from, overlays=overlays, attached=attached, calendar=calendar
    )
    if as_json:
        echo_json([_check_record(check) for check in checks])
    else:
        for check in checks:
            if check.document is not None:
                typer.echo(f"ok  {check.path}  ({check.document.id}: {check.document.title})")
            for warning in check.warnings:
                typer.echo(f"warn  {check.path}: {warning}")
    problems = [problem for check in checks for problem in check.problems]
    if problems:
        # The same error (and exit code) in both modes: JSON on stdout, the lines on stderr.
        raise DocumentInvalid(problems)


def _workspace_overlays(
    ctx: typer.Context,
) -> tuple[Callable[[str], Sequence[Layer]] | None, WorkdayCalendar]:
    """The workspace's overlay attachments and calendar, when it has attachments (only then
    is the workspace wiring loaded: validating files needs no workspace)."""
    from services.settings import find_root

    explicit = (ctx.find_root().obj or {}).get("workspace_path")
    # attachments live in the workspace database: look only inside a workspace (store.git)
    root = find_root(explicit)
    if not (root / "store.git").exists() and not (root / "overlays.json").exists():
        return None, LIBRARY_ONLY
    from services.calendar import workspace_calendar
    from services.planning import overlay_layers

    ws = workspace(ctx)
    return (lambda base: overlay_layers(ws, base=base)), workspace_calendar(ws)


def _check_record(check: FileCheck) -> dict[str, object]:
    if check.document is None:
        return {"file": str(check.path), "ok": False, "problems": [str(p) for p in check.problems]}
    return {
        "file": str(check.path),
        "ok": True,
        "id": check.document.id,
        "title": check.document.title,
        "warnings": list(check.warnings),
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
