"""`sop check-data`: one look at a finished experiment from a unit-level CSV or Parquet table."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from engine.stats import Practical, describe
from engine.stats.unit_table import TableCheck, check_unit_table
from sop_models.i18n import N_, tr


def check_data(
    file: Path = typer.Argument(
        ..., metavar="FILE", help="Unit-level table: CSV or Parquet, one row per unit."
    ),
    unit: str | None = typer.Option(
        None, "--unit", metavar="COL", help="Unit id column (optional with --cluster)."
    ),
    cluster: str | None = typer.Option(
        None,
        "--cluster",
        metavar="COL",
        help="Cluster column (group, store): rows are observations inside clusters randomized "
        "as a whole; estimates use per-cluster sums and n counts clusters.",
    ),
    variant_column: str = typer.Option(
        ..., "--variant-column", metavar="COL", help="Column naming the arm."
    ),
    baseline: str = typer.Option(
        ..., "--baseline", metavar="VALUE", help="Variant value of production (text)."
    ),
    candidate: str = typer.Option(
        ..., "--candidate", metavar="VALUE", help="Variant value of the candidate."
    ),
    metric: list[str] = typer.Option(
        ...,
        "--metric",
        metavar="SPEC",
        help="COLUMN (true/false or 1/0 -> proportion, numbers -> mean) or NUM/DEN (ratio of "
        "sums). The first is primary, the rest secondary.",
    ),
    guardrail: list[str] = typer.Option(
        [],
        "--guardrail",
        metavar="SPEC",
        help="Metric SPEC that must not get significantly worse (one-sided).",
    ),
    lower_is_better: list[str] = typer.Option(
        [],
        "--lower-is-better",
        metavar="NAME",
        help="Metric (SPEC or column) where lower is better, e.g. left.",
    ),
    alpha: float = typer.Option(
        0.05, "--alpha", metavar="ALPHA", min=0.0001, max=0.5, help="Significance level."
    ),
    sequential: bool = typer.Option(
        False,
        "--sequential",
        help="Sequential p-values and CIs (mixture tuned and calibrated for 14 daily looks; this "
        "look counts as the last), safe when the data is checked every day.",
    ),
    expected_share: float = typer.Option(
        0.5,
        "--expected-share",
        metavar="SHARE",
        min=0.001,
        max=0.999,
        help="Configured candidate share for the sample ratio check.",
    ),
    min_units: int | None = typer.Option(
        None,
        "--min-units",
        metavar="N",
        min=0,
        help="Units per arm (clusters with --cluster) needed before PROMOTE [default: 100, or 5 "
        "clusters].",
    ),
    min_effect: float = typer.Option(
        0.0,
        "--min-effect",
        metavar="SHARE",
        min=0.0,
        help="Smallest relative change worth promoting (0.05 = 5%); below it a significant "
        "result is CONTINUE (too small to matter).",
    ),
    suspicious: float = typer.Option(
        0.5,
        "--suspicious",
        metavar="SHARE",
        min=0.0,
        help="A PROMOTE with |relative lift| at or above this asks for a human look.",
    ),
    guardrail_margin: float = typer.Option(
        0.10,
        "--guardrail-margin",
        metavar="SHARE",
        min=0.0,
        help="Harm a guardrail must rule out (relative): it passes only when its CI excludes a "
        "worsening larger than this; otherwise it is inconclusive and PROMOTE waits.",
    ),
    winsorize: list[str] = typer.Option(
        [],
        "--winsorize",
        metavar="SPEC[=Q]",
        help="Cap this metric's per-unit values (per-cluster sums with --cluster; a ratio's "
        "numerator) at the Q quantile of both arms' non-zero values together [default Q: 0.9]. "
        "average_order_value and roi are capped by default.",
    ),
    no_winsorize: list[str] = typer.Option(
        [],
        "--no-winsorize",
        metavar="SPEC",
        help="Do not cap this metric (one the KPI registry caps by default).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Decide PROMOTE / REJECT / CONTINUE for a candidate from a unit-level table.

    Fixed-horizon tests (one look at a finished experiment) unless --sequential is given.
    Guardrails must show they did not get worse by more than --guardrail-margin (Holm-adjusted
    when there are several).
    Units with several rows, or clusters seen in both variants, are excluded and counted.
    Heavy-tailed money (--winsorize) is capped at one pooled quantile for both arms first.

    Example: sop check-data members.csv --unit member_id --variant-column arm --baseline A
    --candidate B --metric opened --metric orders/clicks --guardrail left --lower-is-better left
    """
    check = check_unit_table(
        file,
        variant_column=variant_column,
        baseline=baseline,
        candidate=candidate,
        metrics=metric,
        guardrails=guardrail,
        unit=unit,
        cluster=cluster,
        alpha=alpha,
        sequential=sequential,
        expected_share=expected_share,
        min_units=min_units,
        lower_is_better=lower_is_better,
        practical=Practical(min_effect, suspicious, guardrail_margin),
        winsorize=winsorize,
        no_winsorize=no_winsorize,
    )
    if as_json:
        typer.echo(json.dumps(check.as_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(_text(check))


ROLES = {"primary": N_("primary"), "guardrail": N_("guardrail"), "secondary": N_("secondary")}


def _text(check: TableCheck) -> str:
    d = check.decision
    lines = [d.decision, *(f"  - {r}" for r in d.reasons)]
    if d.srm is not None:
        ratio = tr(
            "sample ratio: {baseline} baseline / {candidate} candidate {unit}s, p={p} ({ok})"
        )
        lines.append(
            ratio.format(
                baseline=d.srm.n_baseline,
                candidate=d.srm.n_candidate,
                unit=check.randomization,
                p=f"{d.srm.p_value:.3g}",
                ok=tr("ok") if d.srm.ok else tr("MISMATCH"),
            )
        )
    lines += [f"{tr(ROLES.get(role, role)):<9} {describe(m)}" for role, m in d.metrics()]
    excluded = tr("excluded units: {units}, ignored rows: {rows}")
    lines.append(excluded.format(units=check.excluded_units, rows=check.ignored_rows))
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add `check-data` to the root app."""
    app.command("check-data")(check_data)
