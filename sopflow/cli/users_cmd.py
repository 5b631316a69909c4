"""`sop users ...`: the ops console's accounts (add, list, disable, set-role, reset-password).

A password comes from standard input when it is not a terminal (one line), else from a
hidden prompt asked twice. The audit records the OS user who ran the command.
"""

from __future__ import annotations

import getpass
import sys

import typer

from sopflow.cli.common import echo_json, now, workspace

users_app = typer.Typer(
    help="Console accounts: who may log in to `sop web`, with which role.\n\n"
    "Example: echo 's3cret-pass' | sop users add 李经理 --role lead",
    no_args_is_help=True,
)
ROLE_HELP = "operator (their groups' tasks), lead (SOPs, approvals), admin (users too)."


def os_actor() -> str:
    """Who ran a CLI command, for the audit trail."""
    try:
        return f"os:{getpass.getuser()}"
    except (KeyError, OSError):
        return "os:unknown"


def _password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Account name (e.g. 李经理)."),
    role: str = typer.Option(..., "--role", help=ROLE_HELP),
    wecom_userid: str = typer.Option(None, "--wecom-userid", help="WeCom userid for WeCom login."),
) -> None:
    """Add an account; the password is read from stdin or a prompt.

    Example: echo 's3cret-pass' | sop users add 李经理 --role lead
    """
    from services.accounts import add_user

    ws = workspace(ctx)
    user = add_user(
        ws,
        name=name,
        role=role,
        password=_password(),
        actor=os_actor(),
        now=now(),
        wecom_userid=wecom_userid,
    )
    typer.echo(f"added {user.name} ({user.role})")


@users_app.command("list")
def list_users(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print as JSON.")
) -> None:
    """List accounts with their role and state.

    Example: sop users list --json
    """
    from services.accounts import list_users as listed

    users = listed(workspace(ctx))
    if as_json:
        echo_json(
            [
                {"name": u.name, "role": u.role, "disabled": u.disabled, "wecom": u.wecom_userid}
                for u in users
            ]
        )
        return
    for u in users:
        typer.echo(f"{u.name}  {u.role}  {'disabled' if u.disabled else 'active'}")
    if not users:
        typer.echo("no accounts (sop users add NAME --role lead)")


@users_app.command("disable")
def disable(ctx: typer.Context, name: str = typer.Argument(..., help="Account name.")) -> None:
    """Disable an account and end its sessions.

    Example: sop users disable 小王
    """
    from services.accounts import disable_user

    disable_user(workspace(ctx), name=name, actor=os_actor(), now=now())
    typer.echo(f"disabled {name}")


@users_app.command("set-role")
def set_role(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Account name."),
    role: str = typer.Argument(..., help=ROLE_HELP),
) -> None:
    """Give an account another role.

    Example: sop users set-role 小王 lead
    """
    from services.accounts import set_role as change

    user = change(workspace(ctx), name=name, role=role, actor=os_actor(), now=now())
    typer.echo(f"{user.name} is now {user.role}")


@users_app.command("reset-password")
def reset_password(
    ctx: typer.Context, name: str = typer.Argument(..., help="Account name.")
) -> None:
    """Set a new password (stdin or prompt) and clear failed logins.

    Example: echo 'new-pass-123' | sop users reset-password 小王
    """
    from services.accounts import reset_password as reset

    reset(workspace(ctx), name=name, password=_password(), actor=os_actor(), now=now())
    typer.echo(f"password of {name} reset")


def register(app: typer.Typer) -> None:
    """Add `sop users` to the root app (once, however often called)."""
    if users_app not in {info.typer_instance for info in app.registered_groups}:
        app.add_typer(users_app, name="users")
