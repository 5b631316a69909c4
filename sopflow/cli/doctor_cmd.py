"""`sop doctor`: the workspace's health, one line per part, exit 1 when any has a problem."""

from __future__ import annotations

import typer

from sopflow.cli.common import now, workspace


def doctor(
    ctx: typer.Context,
    pool: str = typer.Option(
        None, "--pool", help="The work pool to check (default: the work_pool setting)."
    ),
) -> None:
    """Check database, store, Prefect server, work pool and workers, holiday data, channels.

    Each line reads `ok  what` or `problem  what — fix`; the exit code is 1 when any problem.

    Example: sop doctor --pool sopflow
    """
    from prefect.settings import get_current_settings

    from services.doctor import run_checks

    ws = workspace(ctx)
    moment = now()
    checks = run_checks(
        ws,
        today=moment.astimezone(ws.settings.zone).date(),
        now=moment,
        prefect_url=get_current_settings().api.url,
        pool=pool or ws.settings.work_pool,
    )
    for check in checks:
        typer.echo(check.line())
    if any(not check.ok for check in checks):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `doctor` to the root app."""
    app.command("doctor")(doctor)
