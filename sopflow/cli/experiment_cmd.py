"""`sop experiment`: plan an experiment from history, then start it (assign groups)."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from services.experiments import plan_experiment, start_experiment
from sopflow.cli.common import echo_json, now, workspace


class _StartByDefault(TyperGroup):
    """`sop experiment SOP ...` (no subcommand) means `sop experiment start SOP ...`."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["start", *args]
        return super().resolve_command(ctx, args)


experiment_app = typer.Typer(
    cls=_StartByDefault,
    help="Assign the SOP's groups to candidate or production (salted hash) and record it; "
    "`plan` first says how many groups and days that needs.\n\n"
    "Example: sop experiment mombaby-refined --share 0.5 --author 小王",
)


@experiment_app.command("start")
def start(
    ctx: typer.Context,
    sop: str = typer.Argument(..., help="SOP id whose candidate is tested."),
    share: float = typer.Option(0.5, "--share", help="Share of groups on the candidate."),
    author: str = typer.Option("operator", "--author", help="Who starts the experiment."),
    salt: str = typer.Option(None, "--salt", help="Hash salt (default: SOP id + candidate)."),
    mde: str = typer.Option(
        None, "--mde", help="Change to detect (18% or 0.18): warn when the groups cannot."
    ),
    metric: str = typer.Option("open_rate", "--metric", help="Primary metric for --mde."),
) -> None:
    """Assign the SOP's groups to candidate or production (salted hash) and record it.

    Example: sop experiment start mombaby-refined --share 0.5 --author 小王 --mde 18%
    """
    ws = workspace(ctx)
    clock = now()
    warning = None
    if mde is not None:
        planned = plan_experiment(ws, sop_id=sop, metric=metric, mde=_share(mde), now=clock)
        warning = planned.warning
    result = start_experiment(ws, sop_id=sop, share=share, author=author, now=clock, salt=salt)
    typer.echo(
        f"{result.name}: {len(result.candidate)} group(s) on candidate, "
        f"{len(result.production)} on production"
    )
    if warning:
        typer.echo(f"warning: {warning} (see sop experiment plan)", err=True)


def _share(text: str) -> float:
    """`18%` or `0.18` -> 0.18."""
    try:
        return float(text.rstrip("%")) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a share like 18% or 0.18") from None


@experiment_app.command("plan")
def plan_command(
    ctx: typer.Context,
    sop: str = typer.Argument(..., help="SOP id to plan an experiment for."),
    metric: str = typer.Option("open_rate", "--metric", help="Primary metric (registry name)."),
    mde: str = typer.Option(..., "--mde", help="Smallest relative change to detect: 18% or 0.18."),
    alpha: float = typer.Option(0.05, "--alpha", min=0.0001, max=0.5, help="Significance level."),
    power: float = typer.Option(0.8, "--power", min=0.5, max=0.99, help="Power to aim for."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
) -> None:
    """Groups per arm and days needed to detect a change, from the workspace's own history.

    Example: sop experiment plan mombaby-refined --metric open_rate --mde 18%
    """
    ws = workspace(ctx)
    p = plan_experiment(
        ws, sop_id=sop, metric=metric, mde=_share(mde), alpha=alpha, power=power, now=now()
    )
    h = p.history
    if as_json:
        echo_json(
            {
                "metric": p.metric,
                "mde": p.mde,
                "alpha": p.alpha,
                "power": p.power,
                "available_groups": p.available_groups,
                "history": {
                    "groups": h.groups,
                    "days": h.days,
                    "mean": h.mean,
                    "between_group_var": h.between_var,
                    "day_to_day_var": h.within_var,
                    "per_group_day": h.per_group_day,
                },
                "rows": [r.__dict__ for r in p.rows],
                "warning": p.warning,
            }
        )
        return
    typer.echo(
        f"{p.metric}: mean {h.mean:.4g} over {h.groups} groups x {h.days} days; between-group "
        f"SD {h.between_var**0.5:.3g}, day-to-day SD {h.within_var**0.5:.3g}, "
        f"{h.per_group_day:.0f} per group-day"
    )
    typer.echo(f"to detect {p.mde:+.0%} at alpha {p.alpha:g} with {p.power:.0%} power (fixed):")
    for r in p.rows:
        typer.echo(
            f"  {r.days:>2} days: {r.groups_per_arm} groups per arm; with the "
            f"{p.available_groups} registered groups: power {r.power_with_available:.0%}"
        )
    typer.echo("sequential mode (the default of `sop check`) needs about 20-50% more groups")
    if p.warning:
        typer.echo(f"warning: {p.warning}", err=True)


def register(app: typer.Typer) -> None:
    """Add `experiment` (start, plan) to the root app."""
    app.add_typer(experiment_app, name="experiment")
