"""Check a finished experiment from a unit-level table (CSV or Parquet, one row per unit).

DuckDB reads and aggregates the file; only per-unit (or per-cluster) arrays reach numpy.
Rules:
- Variant values compare as text (trimmed, case-sensitive): `--baseline 0` matches 0 in an
  integer column, `--baseline true` a boolean one. Rows with any other variant value (or none)
  are ignored and counted.
- Without a cluster column each row is one unit; a unit with more than one row among the
  experiment's rows (a duplicate, or seen in both variants) is excluded with all its rows.
- With a cluster column (groups, stores) rows are observations inside clusters randomized as a
  whole: estimates and variances come from per-cluster sums (delta method), `n` counts clusters,
  and a cluster seen in both variants is excluded.
- A metric column of booleans (true/false in any case, or 0/1) is a proportion, other numbers a
  mean; `NUM/DEN` is a ratio of sums. A SPEC that names a column exactly is that column.
- A SPEC named like a KPI of the registry (`churn_rate`) takes that metric's direction; any
  other SPEC is higher-is-better unless it (or its numerator column) is in `lower_is_better`.
- Heavy-tailed SPECs are capped at a pooled quantile of both arms first (`unit_caps`: registry
  money metrics by default, `--winsorize SPEC[=Q]`, `--no-winsorize SPEC`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np

from engine.stats.capped import Capped, cap_note
from engine.stats.decision import Decision, Minimums, Practical, decide
from engine.stats.estimates import (
    mean_arm,
    ratio_delta_test,
    two_proportion_test,
    welch_moments_test,
)
from engine.stats.result import MetricKind, MetricResult
from engine.stats.specs import ROLES, MetricSpec, known_lower, parse_spec
from engine.stats.srm import srm_check
from engine.stats.table_read import is_parquet, keep_columns, load, need
from engine.stats.unit_caps import cap_plan, cap_targets, capped_moments, pooled_caps
from engine.stats.unit_scan import (
    Moments,
    arms_left,
    doubles,
    exclude,
    keep_rows,
    moments,
    profile,
)
from engine.stats.winsor import clip_sql
from sop_models.errors import CheckError

MIN_UNITS_DEFAULT = 100
MIN_CLUSTERS_DEFAULT = 5


@dataclass(frozen=True)
class TableCheck:
    """A decision over one table plus what was left out of it."""

    decision: Decision
    excluded_units: int
    ignored_rows: int
    rows: int
    randomization: Literal["unit", "cluster"]

    def as_dict(self) -> dict[str, Any]:
        """The `sop check-data --json` object."""
        data = self.decision.as_dict()
        primary = self.decision.primary
        return {
            "decision": data["decision"],
            "reasons": data["reasons"],
            "srm": data["srm"],
            "excluded_units": self.excluded_units,
            "ignored_rows": self.ignored_rows,
            "rows": self.rows,
            "randomization": self.randomization,
            "mode": "sequential" if primary.sequential else "fixed",
            "alpha": primary.alpha,
            "metrics": data["metrics"],
        }


def check_unit_table(
    path: Path,
    *,
    variant_column: str,
    baseline: str,
    candidate: str,
    metrics: Sequence[str],
    guardrails: Sequence[str] = (),
    unit: str | None = None,
    cluster: str | None = None,
    alpha: float = 0.05,
    sequential: bool = False,
    expected_share: float = 0.5,
    min_units: int | None = None,
    lower_is_better: Sequence[str] = (),
    practical: Practical = Practical(),
    winsorize: Sequence[str] = (),
    no_winsorize: Sequence[str] = (),
) -> TableCheck:
    """Read `path`, compare candidate with baseline on every metric and decide.

    The first of `metrics` is primary, the rest secondary. `min_units` (units, or clusters with
    `cluster`) per arm blocks PROMOTE; default 100 units or 5 clusters. With `cluster`, `unit`
    is optional and only checked to exist.
    """
    if not metrics:
        raise CheckError("at least one --metric is needed (the first is the primary metric)")
    if unit is None and cluster is None:
        raise CheckError("give --unit COL (one row per unit) or --cluster COL")
    if baseline.strip() == candidate.strip():
        raise CheckError(f"--baseline and --candidate are the same value: {baseline!r}")
    con = duckdb.connect()
    try:
        types = load(con, path, [c for c in (variant_column, unit, cluster) if c])
        columns = list(types)
        specs = [
            parse_spec(text, "primary" if i == 0 else "secondary", columns, lower_is_better)
            for i, text in enumerate(metrics)
        ] + [parse_spec(text, "guardrail", columns, lower_is_better) for text in guardrails]
        known_lower(lower_is_better, specs)
        plan = cap_plan(specs, winsorize, no_winsorize)
        need(columns, variant_column, path, "--variant-column")
        for name, what in ((unit, "--unit"), (cluster, "--cluster")):
            if name is not None:
                need(columns, name, path, what)
        for spec in specs:
            for column in spec.columns:
                need(columns, column, path, f"metric {spec.name}")
        # Values are copied under our own names (c0, c1, ...) so no user column can clash.
        alias = {
            c: f"c{i}" for i, c in enumerate(dict.fromkeys(c for s in specs for c in s.columns))
        }
        key = cluster or unit or ""
        used = [variant_column, *(c for c in (unit, cluster) if c), *alias]
        keep_columns(con, path, used, csv=not is_parquet(path))
        rows, ignored = keep_rows(con, path, variant_column, (baseline, candidate), key, alias)
        columns = {a: (c, types[c]) for c, a in alias.items()}
        clustered = cluster is not None
        scan = profile(con, path, key, columns, by_cluster=clustered)
        excluded = exclude(con, path, key, doubles(columns), by_cluster=clustered)
        kinds = {c: scan.kinds[a] for c, a in alias.items()}
        per_unit = [a for a in alias.values() if cluster is None]
        found = scan.moments if not excluded else {}
        found |= moments(con, [a for a in per_unit if a not in found])
        if clustered:
            query = "SELECT is_b, count(DISTINCT id) FROM clean GROUP BY is_b"
            sizes = dict(con.execute(query).fetchall())
        else:  # units: the rows of `clean`, which its moments counted
            sizes = {arm: n for arm, (n, _, _) in found[per_unit[0]].items()}
        arms_left(path, sizes, excluded, by_cluster=clustered)  # an arm the exclusion emptied
        targets = cap_targets(plan, specs, alias, kinds)
        caps = pooled_caps(con, targets, clustered=clustered)
        results = []
        for s in specs:
            capped = caps.get(s.name.strip())
            result = _measure(con, s, alias, kinds, found, clustered, alpha, sequential, capped)
            results.append(replace(result, capped=capped))
        arms = {"b": sizes[True], "c": sizes[False]}
    finally:
        con.close()
    srm = srm_check(arms["b"], arms["c"], expected_share)
    default = MIN_UNITS_DEFAULT if cluster is None else MIN_CLUSTERS_DEFAULT
    minimums = Minimums(units_per_arm=default if min_units is None else min_units)
    roles = {r: [m for s, m in zip(specs, results, strict=True) if s.role == r] for r in ROLES}
    decision = decide(
        roles["primary"][0],
        roles["guardrail"],
        roles["secondary"],
        srm,
        minimums,
        practical=practical,
    )
    notes = [cap_note(m.name, m.capped) for m in results if m.capped]
    if ignored:
        notes.append(f"ignored {_count(ignored, 'row')} with other {variant_column} values")
    if excluded:
        what = "seen in both variants" if cluster else "with several rows"
        noun = "cluster" if cluster else "unit"
        notes.append(f"excluded {_count(excluded, noun)} {what}, with all their rows")
    decision = replace(decision, reasons=(*decision.reasons, *notes))
    return TableCheck(decision, excluded, ignored, rows, "cluster" if cluster else "unit")


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _measure(
    con: duckdb.DuckDBPyConnection,
    spec: MetricSpec,
    alias: dict[str, str],
    kinds: dict[str, MetricKind],
    found: dict[str, Moments],
    clustered: bool,
    alpha: float,
    sequential: bool,
    capped: Capped | None,
) -> MetricResult:
    ratio = len(spec.columns) == 2
    kind: MetricKind = "ratio" if ratio else kinds[spec.columns[0]]
    num = alias[spec.columns[0]]
    den = alias[spec.columns[1]] if ratio else "1.0"
    name, direction = spec.name, spec.direction
    if not clustered and not ratio:  # per-arm moments suffice; no per-unit arrays
        arms = found[num] if capped is None else capped_moments(con, num, capped.cap)
        (n_b, s_b, v_b), (n_c, s_c, v_c) = (arms[k] for k in (True, False))
        if kind == "proportion":
            return two_proportion_test(
                round(s_b), n_b, round(s_c), n_c, name=name, direction=direction,
                alpha=alpha, sequential=sequential,
            )  # fmt: skip
        return welch_moments_test(
            mean_arm(n_b, s_b / n_b, v_b), mean_arm(n_c, s_c / n_c, v_c), name=name,
            direction=direction, alpha=alpha, sequential=sequential,
        )  # fmt: skip
    y = f"sum({num})" if clustered else num
    y = y if capped is None else clip_sql(y, capped.cap)
    if clustered:
        sql = f"SELECT is_b, {y} AS y, sum({den}) AS x FROM clean GROUP BY id, is_b"
    else:
        sql = f"SELECT is_b, {y} AS y, {den} AS x FROM clean"
    arrays = con.execute(sql).fetchnumpy()
    arm = np.asarray(arrays["is_b"], dtype=bool)
    y, x = np.asarray(arrays["y"], dtype=float), np.asarray(arrays["x"], dtype=float)
    return ratio_delta_test(
        y[arm], x[arm], y[~arm], x[~arm], name=name, direction=direction, alpha=alpha,
        sequential=sequential, kind=kind,
    )  # fmt: skip
