"""Root of the `sop` command line: a table of commands loaded on demand, one line per user error.

`sop --help` lists COMMANDS from the table alone; a command's module (and whatever it imports:
Prefect, SQLAlchemy, DuckDB, scipy, ...) is imported only when that command, or its `--help`,
runs. Each module still adds its commands with its own `register(app)`, into a scratch app.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import typer
from typer.core import TyperCommand, TyperGroup

from sopflow.cli.common import set_workspace_path

if TYPE_CHECKING:
    from sop_models.errors import SopflowError

USER_ERROR_EXIT = 2
Command = TyperCommand | TyperGroup


class Entry(NamedTuple):
    """Where a command lives and the line `sop --help` shows for it."""

    module: str  # under sopflow.cli; its register(app) adds the command
    attribute: str  # the command function, or the sub-app (a Typer) for a command group
    help: str  # the first line of the command's own help (a test keeps them equal)


# In the order `sop --help` lists them.
COMMANDS: dict[str, Entry] = {
    "init": Entry(
        "documents", "init", "Create a workspace: settings file, git version store, database."
    ),
    "validate": Entry(
        "documents",
        "validate",
        "Check SOP documents; report every problem as `file: field.path: problem`.",
    ),
    "schema": Entry(
        "documents", "schema", "Print the SOP JSON Schema (point your editor's YAML plugin at it)."
    ),
    "save": Entry(
        "versions_cmd",
        "save",
        "Save a document as the next numbered version (commit + tag + audit record).",
    ),
    "list": Entry(
        "versions_cmd",
        "list_command",
        "List every SOP: latest version, production and candidate, who saved last and when.",
    ),
    "log": Entry(
        "versions_cmd", "log", "List every version of an SOP, newest first, with its aliases."
    ),
    "show": Entry(
        "versions_cmd",
        "show",
        "Print one version of an SOP (latest unless a version or alias is given).",
    ),
    "diff": Entry(
        "versions_cmd",
        "diff",
        "Semantic diff between two versions: field paths added, removed, changed.",
    ),
    "candidate": Entry(
        "versions_cmd",
        "candidate",
        "Mark a version as the candidate (tested against production in the check step).",
    ),
    "promote": Entry(
        "versions_cmd",
        "promote",
        "Make a version production; needs an approver other than its author.",
    ),
    "reject": Entry(
        "versions_cmd",
        "reject",
        "Clear the candidate alias; the version and its evidence stay in history.",
    ),
    "rollback": Entry(
        "versions_cmd",
        "rollback",
        "Make the previous production version current again (history is kept).",
    ),
    "evidence": Entry(
        "versions_cmd", "evidence", "Attach evidence (KPI results) to a version after the fact."
    ),
    "check-data": Entry(
        "check_data",
        "check_data",
        "Decide PROMOTE / REJECT / CONTINUE for a candidate from a unit-level table.",
    ),
    "run": Entry(
        "run_cmd",
        "run",
        "Run one playbook now as a Prefect flow (ephemeral unless PREFECT_API_URL is set).",
    ),
    "serve": Entry(
        "run_cmd",
        "serve",
        "Register cron deployments (Asia/Shanghai) built from the SOPs and serve them.",
    ),
    "worker": Entry(
        "pool_cmd",
        "worker",
        "Run a Prefect process worker on a work pool, using this machine's workspace cache.",
    ),
    "server": Entry(
        "run_cmd",
        "server",
        "Start a real Prefect server (schedules fire only there); Ctrl-C stops it.",
    ),
    "approve": Entry(
        "run_cmd", "approve", "Approve a paused check run: it resumes and promotes the candidate."
    ),
    "decline": Entry(
        "run_cmd",
        "decline",
        "Decline a paused check run: it resumes and leaves production as it is.",
    ),
    "paused": Entry("run_cmd", "paused", "List flow runs waiting for approval."),
    "kpi": Entry(
        "events_cmd",
        "kpi",
        "KPIs of an SOP by version, group and/or day, plus the days its alert rules fire.",
    ),
    "experiment": Entry(
        "experiment_cmd",
        "experiment_app",
        "Assign the SOP's groups to candidate or production (salted hash) and record it; "
        "`plan` first says how many groups and days that needs.",
    ),
    "check": Entry(
        "check_cmd",
        "check",
        "Run the check flow: PROMOTE, REJECT or CONTINUE with reasons; PROMOTE waits for approval.",
    ),
    "demo": Entry(
        "demo_cmd",
        "demo",
        "Run the whole PDCA loop on embedded defaults: save, run flows, check, approve, report.",
    ),
    "plan": Entry(
        "plan_cmd",
        "plan_command",
        "Show every action an SOP plans for its groups between two dates; nothing is sent.",
    ),
    "report": Entry(
        "report_cmd",
        "report",
        "Write the SOP's report: KPI trends per version, the experiment, alert days, history.",
    ),
    "audit": Entry(
        "audit_cmd", "audit_app", "The audit trail: who changed what, when, and proof it is intact."
    ),
    "events": Entry(
        "events_cmd", "events_app", "Event data (joins, messages, opens, orders, ...) for KPIs."
    ),
    "groups": Entry(
        "groups_cmd",
        "groups_app",
        "The group registry: which customer groups run which SOP, through which channel.",
    ),
    "members": Entry(
        "groups_cmd",
        "members_app",
        "Members: join events (welcome messages) and month-end RFM segment lists.",
    ),
    "calendar": Entry(
        "calendar_cmd",
        "calendar_app",
        "The workspace holiday schedule: official data plus the days you enter.",
    ),
    "content": Entry(
        "content_cmd",
        "content_app",
        "The content calendar: which library item each column posts on which day.",
    ),
    "overlay": Entry(
        "overlay_cmd",
        "overlay_app",
        "Overlays: campaign SOPs laid over a base SOP's groups for a window.",
    ),
    "doctor": Entry(
        "doctor_cmd",
        "doctor",
        "Check database, store, Prefect server, work pool and workers, holiday data, channels.",
    ),
    "today": Entry(
        "today_cmd",
        "today",
        "Today's hand posts (names, groups, owners, texts) and internal tasks, across every SOP.",
    ),
    "deliveries": Entry(
        "deliveries_cmd",
        "deliveries_app",
        "The delivery ledger: list rows by due time, filtered by SOP, group, status, due time.",
    ),
    "users": Entry(
        "users_cmd", "users_app", "Console accounts: who may log in to `sop web`, with which role."
    ),
    "web": Entry("web_cmd", "web", "Start the ops console (web pages for leads and operators)."),
}

# Every command module, once each (tests that register a module themselves check this list).
COMMAND_MODULES: list[str] = list(dict.fromkeys(entry.module for entry in COMMANDS.values()))

APP_SETTINGS: dict[str, Any] = {
    "no_args_is_help": True,
    "add_completion": False,
    "pretty_exceptions_enable": False,
    "rich_markup_mode": None,
}


def _no_options() -> None:
    """A callback for the scratch app, so Typer builds a group even from one command."""


@cache
def module_commands(module: str) -> dict[str, Command]:
    """The commands `sopflow.cli.<module>` registers, built as they would be under the root."""
    scratch = typer.Typer(**APP_SETTINGS)
    scratch.callback()(_no_options)
    import_module(f"sopflow.cli.{module}").register(scratch)
    group = typer.main.get_command(scratch)
    assert isinstance(group, TyperGroup)
    return dict(group.commands)


class LazyCommands(MutableMapping[str, Command]):
    """The root's commands by name: the table's names, each built on its first lookup.

    Commands added to the root app directly (tests do) are kept as given and listed last.
    """

    def __init__(self, added: MutableMapping[str, Command]) -> None:
        self._added = dict(added)

    def __getitem__(self, name: str) -> Command:
        if name in self._added:
            return self._added[name]
        if name in COMMANDS:
            return module_commands(COMMANDS[name].module)[name]
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        yield from COMMANDS
        yield from (name for name in self._added if name not in COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS.keys() | self._added.keys())

    def __setitem__(self, name: str, command: Command) -> None:
        self._added[name] = command

    def __delitem__(self, name: str) -> None:
        del self._added[name]


def report_user_error(err: SopflowError) -> None:
    """Print a user error as `sop: error: ...` lines on stderr."""
    for line in str(err).splitlines() or [""]:
        typer.echo(f"sop: error: {line}", err=True)


class SopflowGroup(TyperGroup):
    """The root group: lists commands without importing them, and turns domain errors into
    one line each and exit code 2."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands = LazyCommands(self.commands)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # names only: TyperGroup's version builds every command

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """List every command with its help line from the table, as Typer lays it out."""
        listed = [(name, self._listed(ctx, name)) for name in self.list_commands(ctx)]
        shown = [(name, cmd) for name, cmd in listed if cmd is not None and not cmd.hidden]
        if shown:
            limit = formatter.width - 6 - max(len(name) for name, _ in shown)
            with formatter.section("Commands"):
                formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in shown])

    def _listed(self, ctx: Any, name: str) -> Command | None:
        if name in COMMANDS:
            return TyperCommand(name, help=COMMANDS[name].help)
        return self.get_command(ctx, name)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except typer.BadParameter as err:
            # A value the shared parsers refuse (sopflow.cli.params): one line, like user errors.
            param = err.param
            flag = param.opts[0] if param is not None and param.opts else err.param_hint
            # Typer words a refused Literal choice as pydantic does ("Value error, 'x' is ...").
            message = err.message.removeprefix("Value error, ")
            if not message and err.__class__.__name__ == "MissingParameter":
                from sop_models.i18n import tr

                message = tr("required, not given")
            typer.echo(f"sop: error: {f'{flag}: ' if flag else ''}{message}", err=True)
            raise typer.Exit(USER_ERROR_EXIT) from None
        except Exception as err:
            # Imported here, not at the top: sop_models builds every model (~0.2 s), which
            # `sop --help` never needs. A SopflowError means it is loaded already.
            from sop_models.errors import SopflowError

            if not isinstance(err, SopflowError):
                raise
            report_user_error(err)
            raise typer.Exit(USER_ERROR_EXIT) from None


app = typer.Typer(
    cls=SopflowGroup,
    name="sop",
    help="sopflow: run community-operations SOPs as versioned, scheduled, measured workflows.",
    **APP_SETTINGS,
)


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


def run() -> None:
    """Console-script entry point."""
    app()
