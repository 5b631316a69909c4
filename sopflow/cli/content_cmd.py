"""`sop content import`: the content calendar (内容排期表) from a spreadsheet into an SOP file."""

from __future__ import annotations

from pathlib import Path

import typer

content_app = typer.Typer(
    help="The content calendar: which library item each column posts on which day.\n\n"
    "Example: sop content import 排期表.xlsx --into examples/mombaby-refined.yaml",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@content_app.command("import")
def import_command(
    file: Path = typer.Argument(
        ..., help="CSV or XLSX with the columns date,slot,tag (or 日期,栏目,素材)."
    ),
    into: Path = typer.Option(..., "--into", help="The SOP document (YAML) to write them into."),
) -> None:
    """Merge a content calendar (date,slot,tag; CSV or XLSX) into an SOP file: all rows or none.

    A slot is a column (morning-knowledge) or a campaign action (campaigns.jielong.open); the
    file's other lines, comments included, stay as they were.

    Example: sop content import 排期表.csv --into mombaby.yaml && sop save mombaby.yaml ...
    """
    from services.content_calendar import import_content_calendar

    counts = import_content_calendar(file=file, document=into)
    shown = ", ".join(f"{slot}: {n}" for slot, n in sorted(counts.items()))
    typer.echo(f"imported {file.name} into {into}: {shown} (save it with `sop save`)")


def register(app: typer.Typer) -> None:
    """Add `content` to the root app (once, however often called)."""
    if content_app not in {info.typer_instance for info in app.registered_groups}:
        app.add_typer(content_app, name="content")
