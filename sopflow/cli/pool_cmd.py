"""Work pools: `sop serve --work-pool` registers there (run_cmd.serve calls this), `sop worker`."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import typer

from services.settings import Settings
from services.workspace import Workspace, prefect_home
from sopflow.cli.common import now


def check_serve_flags(*, work_pool: str | None, shards: int, limit: int | None) -> None:
    """Refuse `sop serve` flags that would be ignored: --shards needs --work-pool, and a
    pool's run limit is each worker's (`sop worker --limit`), not --limit here."""
    from sop_models.errors import DeploymentError

    if shards != 1 and not work_pool:
        raise DeploymentError("--shards needs --work-pool: only runs on a pool are sharded")
    if limit is not None and work_pool:
        raise DeploymentError(
            "--limit does nothing with --work-pool: limit each machine with `sop worker --limit`"
        )


def register_on_pool(ctx: typer.Context, *, pool: str, shards_total: int, serve: bool) -> None:
    """The pool branch of `sop serve`: register the cron deployments on `pool` (and stop)."""
    from flows.alerts import ensure_late_run_alert
    from flows.deploy import full_name
    from flows.pool import environment_ready, pool_deployments, pool_specs, remove_others
    from flows.pool import register_on_pool as register
    from flows.schedules import deployment_specs
    from services.calendar import coverage_warnings
    from services.planning import production_documents
    from sopflow.cli.common import workspace
    from sopflow.prefect_context import prefect_for

    environment_ready()
    ws = workspace(ctx)
    for warning in coverage_warnings(ws, today=now().astimezone(ws.settings.zone).date()):
        typer.echo(f"sop: warning: {warning}", err=True)
    specs = pool_specs(deployment_specs("", production_documents(ws)), shards_total=shards_total)
    with prefect_for(ws.root):
        deployments = pool_deployments(specs, pool=pool, check_queue=ws.settings.check_queue)
        ids = register(deployments, pool=pool)
        removed = remove_others(pool, keep=ids)  # an earlier registration's crons stop firing
        ensure_late_run_alert(ids, settings=ws.settings)  # no healthy worker: ops hear of it
    for deployment, dep_id in zip(deployments, ids, strict=True):
        crons = [s.schedule for s in deployment.schedules or []]
        when = f"cron '{crons[0].cron}' {crons[0].timezone}" if crons else "on demand"  # type: ignore[union-attr]
        queue = f"  queue {deployment.work_queue_name}" if deployment.work_queue_name else ""
        typer.echo(f"registered {full_name(deployment)} on pool {pool}{queue}  {when}  id {dep_id}")
    for name in removed:
        typer.echo(f"removed {name} from pool {pool} (not in this registration)")
    typer.echo(
        "late-run alert: a run still Late 10 min after it was due is reported"
        f" ({_alert_targets(ws.settings)})"
    )
    typer.echo(f"run them on any machine with sopflow: sop worker --pool {pool} --workspace DIR")
    if serve:
        typer.echo("(a pool's deployments are run by `sop worker`, not served here)")


def submit_check(ws: Workspace, *, pool: str, sop: str, options: dict[str, object]) -> None:
    """The pool branch of `sop check`: submit it to the pool's check deployment, print where."""
    from flows.pool import environment_ready
    from flows.pool import submit_check as submit
    from sopflow.prefect_context import prefect_for

    environment_ready()
    with prefect_for(ws.root):
        run_id, name, queue = submit(pool, parameters={"sop": sop, **options})
    on = f"queue {queue}" if queue else "the default queue"
    typer.echo(f"submitted check of {sop} to pool {pool} ({on}): flow run {name} id {run_id}")
    typer.echo("a PROMOTE waits there for approval: sop approve RUN_ID --approver NAME")


def _alert_targets(settings: Settings) -> str:
    """Where the late-run alert goes, in words (no secret: the webhook's host only)."""
    from urllib.parse import urlsplit

    targets = []
    if settings.alert_webhook_url:
        targets.append(f"POST to {urlsplit(settings.alert_webhook_url).netloc}")
    if settings.alert_robot:
        targets.append(f"robot {settings.alert_robot}")
    return ", ".join(targets) or "recorded in Prefect only: set alert_webhook_url or alert_robot"


def worker(
    ctx: typer.Context,
    pool: str = typer.Option(..., "--pool", help="The process work pool to take runs from."),
    workspace_dir: Path = typer.Option(
        None,
        "--workspace",
        "-w",
        help="This machine's workspace cache (default: the root --workspace, "
        "$SOPFLOW_WORKSPACE, else the current folder).",
    ),
    name: str = typer.Option(
        None, "--name", help="Worker name shown in Prefect (default: HOST-PID)."
    ),
    limit: int = typer.Option(None, "--limit", help="Flow runs at once (default: no limit)."),
    queues: list[str] = typer.Option(
        None,
        "--queue",
        help="Take runs only from this work queue of the pool (repeatable; default: every "
        "queue). Machines that cannot read the events: --queue default.",
    ),
) -> None:
    """Run a Prefect process worker on a work pool, using this machine's workspace cache.

    Needs PREFECT_API_URL. Flow runs of the pool's deployments open the workspace given
    here (database and store settings come from it or from SOPFLOW_* variables).
    Example: PREFECT_API_URL=http://10.0.0.5:4200/api sop worker --pool sop --workspace ~/ops
    """
    from flows.pool import environment_ready, run_worker, worker_env
    from flows.runtime import prefect_env, prefect_environment
    from services.workspace import find_root, open_workspace

    environment_ready()
    root_obj = ctx.find_root().obj or {}
    root = find_root(workspace_dir or root_obj.get("workspace_path"))
    with open_workspace(root) as ws:  # fails now, not in every flow run, if it cannot open
        _ = ws.engine
        root = ws.root
    the_name = name or f"{socket.gethostname()}-{os.getpid()}"
    home = Path(os.environ.get("PREFECT_HOME") or prefect_home(root))
    env = {
        **prefect_env(home, os.environ["PREFECT_API_URL"], logging_level="INFO"),
        **worker_env(root, the_name),
    }
    with prefect_environment(env):
        where = f" (queues {', '.join(queues)})" if queues else ""
        typer.echo(f"worker {the_name} on pool {pool}{where}, workspace {root}")
        try:
            run_worker(pool, name=the_name, limit=limit, queues=queues or None)
        except KeyboardInterrupt:
            typer.echo("stopping")


def register(app: typer.Typer) -> None:
    """Add this module's command to the root app."""
    app.command()(worker)
