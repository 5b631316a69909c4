"""`sop check-data --winsorize SPEC[=Q]` / `--no-winsorize SPEC`: which metrics are capped, at
which pooled cap, and their capped per-arm moments.

- A SPEC named like a registry KPI with a declared `cap_quantile` (average_order_value, roi) is
  capped by default at that quantile; `--winsorize SPEC[=Q]` caps any numeric SPEC (Q defaults
  to `winsor.DEFAULT_QUANTILE`); `--no-winsorize SPEC` turns a cap off. Every name must be a
  `--metric`/`--guardrail` SPEC: a misspelling is an error, never ignored.
- What is capped is the SPEC's (numerator) column: each unit's value, or in cluster mode each
  cluster's sum, at the pooled cap of both arms (`winsor.cap_sql`: one aggregate over `clean`,
  no copy). A 0/1 column has no tail to cap: asking for it is an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from engine.stats.capped import Capped
from engine.stats.specs import MetricSpec
from engine.stats.unit_scan import Moments
from engine.stats.winsor import DEFAULT_QUANTILE, cap_sql, check_quantile, clip_sql
from sop_models.errors import CheckError
from sop_models.kpis import CAPPED_METRICS


@dataclass(frozen=True)
class CapPlan:
    """SPEC name -> quantile of the metrics to cap; `asked`: those named by --winsorize."""

    quantiles: dict[str, float]
    asked: frozenset[str]


def cap_plan(
    specs: Sequence[MetricSpec], winsorize: Sequence[str], no_winsorize: Sequence[str]
) -> CapPlan:
    """The metrics to cap: registry defaults, then the options (checked before any scan)."""
    known = sorted({s.name.strip() for s in specs})
    plan = {name: CAPPED_METRICS[name] for name in known if name in CAPPED_METRICS}
    asked: dict[str, float] = {}
    for text in winsorize:  # a SPEC whose own name holds "=" is taken whole, at the default Q
        name, quantile = (text.strip(), DEFAULT_QUANTILE) if text.strip() in known else _parse(text)
        _known(name, known, "--winsorize", text)
        asked[name] = quantile
    for text in no_winsorize:
        name = text.strip()
        _known(name, known, "--no-winsorize", text)
        if name in asked:
            raise CheckError(f"--no-winsorize {name}: also given to --winsorize; choose one")
        plan.pop(name, None)
    return CapPlan(plan | asked, frozenset(asked))


def cap_targets(
    plan: CapPlan, specs: Sequence[MetricSpec], alias: dict[str, str], kinds: dict[str, str]
) -> dict[str, tuple[str, float]]:
    """{SPEC name: (alias of the column to cap, quantile)}: a ratio's numerator, else its
    column. A 0/1 column is left alone when capped by default and an error when asked for."""
    found: dict[str, tuple[str, float]] = {}
    for spec in specs:
        name = spec.name.strip()
        if name not in plan.quantiles or name in found:
            continue
        column = spec.columns[0]
        if len(spec.columns) == 1 and kinds[column] == "proportion":
            if name in plan.asked:
                raise CheckError(
                    f"--winsorize {name}: the column holds only 0/1 values (a proportion); "
                    "there is no tail to cap"
                )
            continue
        found[name] = (alias[column], plan.quantiles[name])
    return found


def _parse(text: str) -> tuple[str, float]:
    name, sep, tail = text.rpartition("=")
    if not sep:
        return text.strip(), DEFAULT_QUANTILE
    try:
        return name.strip(), check_quantile(float(tail))
    except ValueError:
        raise CheckError(
            f"--winsorize {text}: the quantile after '=' must be a number from 0.5 to 1"
        ) from None


def _known(name: str, known: list[str], option: str, text: str) -> None:
    if name not in known:
        raise CheckError(
            f"{option} {text}: no --metric or --guardrail is named so (known: {', '.join(known)})"
        )


def pooled_caps(
    con: duckdb.DuckDBPyConnection,
    targets: dict[str, tuple[str, float]],
    *,
    clustered: bool,
) -> dict[str, Capped]:
    """{SPEC name: its cap} from one aggregate over `clean`; `targets` maps a SPEC name to
    (the alias of the column to cap, quantile). A column of zeros gets no cap."""
    if not targets:
        return {}
    names = list(targets)
    parts = ", ".join(cap_sql(targets[n][0], targets[n][1]) for n in names)
    if clustered:
        sums = ", ".join(f"sum({a}) AS {a}" for a in dict.fromkeys(a for a, _ in targets.values()))
        source = f"(SELECT {sums} FROM clean GROUP BY id, is_b)"
    else:
        source = "clean"
    found = con.execute(f"SELECT {parts} FROM {source}").fetchone()
    level = "cluster" if clustered else "unit"
    return {
        n: Capped(float(cap), targets[n][1], level)
        for n, cap in zip(names, found, strict=True)
        if cap is not None
    }


def capped_moments(con: duckdb.DuckDBPyConnection, alias: str, cap: float) -> Moments:
    """Per arm count, sum and sample variance of `clean`'s column `alias` clipped to +-cap."""
    x = clip_sql(alias, cap)
    found = con.execute(
        f"SELECT is_b, count(*), sum({x}), var_samp({x}) FROM clean GROUP BY is_b"
    ).fetchall()
    return {bool(r[0]): (int(r[1]), float(r[2]), r[3]) for r in found}
