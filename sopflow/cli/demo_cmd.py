"""`sop demo`: the PDCA loop in one command (see sopflow.demo)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from services.audit_trail import records
from services.workspace import open_workspace
from sop_models.i18n import tr
from sopflow.cli.audit_cmd import format_record
from sopflow.cli.common import use_workspace_prefect_home


def demo(
    ctx: typer.Context,
    directory: Path = typer.Option(
        None, "--dir", help="Workspace to create (default: a temp dir)."
    ),
    seed: int = typer.Option(7, "--seed", help="Simulator seed (same seed, same result)."),
    worse: bool = typer.Option(False, "--worse", help="V2.0 hurts: the check ends in REJECT."),
    groups: int = typer.Option(32, "--groups", help="Number of simulated groups."),
    days: int = typer.Option(14, "--days", help="Days the experiment runs."),
) -> None:
    """Run the whole PDCA loop on embedded defaults: save, run flows, check, approve, report.

    Example: sop demo --seed 7        # ends in PROMOTE;  sop demo --worse  # ends in REJECT
    """
    console = Console(highlight=False, soft_wrap=True)
    started = time.monotonic()
    root = (directory or Path(tempfile.mkdtemp(prefix="sopflow-demo-"))).resolve()
    use_workspace_prefect_home(root)
    from sopflow.demo import DemoConfig, run_demo  # imports Prefect: after its home is set

    cfg = DemoConfig(workspace=root, seed=seed, worse=worse, groups=groups, days_experiment=days)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done)

        result = run_demo(cfg, say=lambda text: bar.console.print(f"• {text}"), progress=progress)
    colour = {"PROMOTE": "green", "REJECT": "red"}.get(result.decision, "yellow")
    console.print(f"\nCheck: [bold {colour}]{result.decision}[/]")
    for reason in result.reasons:
        console.print(f"  - {reason}")
    if result.decision == "PROMOTE":
        act = tr("production is now v2.0; changelog: {changelog}")
    elif result.decision == "REJECT":
        act = tr("candidate v2.0 rejected, production stays v1.0; evidence kept: {changelog}")
    else:
        act = tr("not enough evidence yet, keep collecting: {changelog}")
    bold = result.changelog if result.decision == "CONTINUE" else f"[bold]{result.changelog}[/]"
    console.print("\nAct — " + act.format(changelog=bold) + "\n")
    console.print(tr("Audit log (sop audit):"))
    with open_workspace(result.workspace) as ws:
        for record in records(ws):
            console.print(format_record(record, ws.settings.zone), markup=False)
    report, ws = result.report, result.workspace
    console.print("\n" + tr("Where to look next:"))
    if report:
        console.print(f"  report   {report}")
    console.print(f"  outbox   {ws / 'outbox'}")
    console.print(f"  history  sop --workspace {ws} log mombaby-refined")
    console.print(f"  diff     sop --workspace {ws} diff mombaby-refined 1.0 2.0")
    console.print(f"  KPIs     sop --workspace {ws} kpi mombaby-refined --by version")
    console.print(
        "  Prefect  sop server   # " + tr("then open http://127.0.0.1:4200 (runs of a real server)")
    )
    console.print(
        f"  console  sop --workspace {ws} users add 李经理 --role lead"
        f" && sop --workspace {ws} web   # "
        + tr("then open {url}").format(url="http://127.0.0.1:8000"),
        markup=False,
        soft_wrap=True,
    )
    took = f"{time.monotonic() - started:.0f}"
    console.print("\n" + tr("done in {seconds} s (seed {seed})").format(seconds=took, seed=seed))


def register(app: typer.Typer) -> None:
    """Add `demo` to the root app."""
    app.command()(demo)
