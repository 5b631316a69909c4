"""Root of the `sop` command line: builds the Typer app and turns SopflowError into one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from sop_models.errors import SopflowError
from sopflow.cli.common import set_workspace_path

USER_ERROR_EXIT = 2


def report_user_error(err: SopflowError) -> None:
    """Print a user error as `sop: error: ...` lines on stderr."""
    for line in str(err).splitlines() or [""]:
        typer.echo(f"sop: error: {line}", err=True)


class SopflowGroup(TyperGroup):
    """Typer group that turns domain errors into one line each and exit code 2."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except SopflowError as err:
            report_user_error(err)
            raise typer.Exit(USER_ERROR_EXIT) from None


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
        None,
        "--workspace",
        "-w",
        help="Workspace folder (default: $SOPFLOW_WORKSPACE, else the current folder).",
    ),
) -> None:
    """sopflow: run community-operations SOPs as versioned, scheduled, measured workflows."""
    set_workspace_path(ctx, workspace)


COMMAND_MODULES: list[str] = [
    "documents",
    "versions_cmd",
    "audit_cmd",
    "check_data",
    "run_cmd",
    "check_cmd",
    "demo_cmd",
    "groups_cmd",
    "deliveries_cmd",
    "plan_cmd",
    "report_cmd",
]

_register_all()


def run() -> None:
    """Console-script entry point."""
    app()
