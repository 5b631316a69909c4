"""Root of the `sop` command line: builds the Typer app and turns SopflowError into one line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import typer
from typer.core import TyperGroup

from sop_models.errors import SopflowError
from sopflow.cli.common import set_workspace_path


class UserError(click.ClickException):
    """A user-facing failure: one line on stderr, exit code 2, no traceback."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        stream = file or sys.stderr
        for line in self.format_message().splitlines() or [""]:
            click.echo(f"sop: error: {line}", file=stream)


class SopflowGroup(TyperGroup):
    """Typer group that converts domain errors into `UserError`."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SopflowError as err:
            raise UserError(str(err)) from None


app = typer.Typer(
    cls=SopflowGroup,
    name="sop",
    help="sopflow: run community-operations SOPs as versioned, scheduled, measured workflows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _register_all() -> None:
    # Each command module exposes register(app); imported here so the root stays the one place
    # that knows every command.
    from importlib import import_module

    for name in COMMAND_MODULES:
        import_module(f"sopflow.cli.{name}").register(app)


@app.callback()
def root(
    ctx: typer.Context,
    workspace: Path = typer.Option(
        None, "--workspace", "-w",
        help="Workspace folder (default: $SOPFLOW_WORKSPACE, else the current folder).",
    ),
) -> None:
    """sopflow: run community-operations SOPs as versioned, scheduled, measured workflows."""
    set_workspace_path(ctx, workspace)


COMMAND_MODULES: list[str] = ["documents", "versions_cmd", "audit_cmd"]

_register_all()


def run() -> None:
    """Console-script entry point."""
    app()
