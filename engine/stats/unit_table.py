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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np

from engine.stats.decision import Decision, Minimums, Practical, decide
from engine.stats.estimates import ratio_delta_test, two_proportion_test, welch_test
from engine.stats.result import MetricKind, MetricResult
from engine.stats.specs import ROLES, MetricSpec, known_lower, parse_spec
from engine.stats.srm import srm_check
from engine.stats.table_read import (
    column_kind,
    is_parquet,
    keep_columns,
    literal,
    load,
    need,
    number,
    quote,
)
from sop_models.errors import CheckError, DataFileError

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
        rows, ignored = _keep_rows(con, path, variant_column, (baseline, candidate), key, alias)
        kinds = {c: column_kind(con, path, c, a, "kept", types[c]) for c, a in alias.items()}
        numbers = {a: number(a, types[c]) for c, a in alias.items()}
        excluded = _exclude(con, path, numbers, by_cluster=cluster is not None)
        results = [
            _measure(con, s, alias, kinds, cluster is not None, alpha, sequential) for s in specs
        ]
        count = "count(DISTINCT id)" if cluster else "count(*)"
        found = dict(con.execute(f"SELECT is_b, {count} FROM clean GROUP BY is_b").fetchall())
        arms = {"b": found[True], "c": found[False]}
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
    notes = []
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


def _keep_rows(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    variant: str,
    values: tuple[str, str],
    key: str,
    alias: dict[str, str],
) -> tuple[int, int]:
    """View `kept(arm, id, c0, ...)`: the two arms' rows; arm is 'b' or 'c', id unit/cluster."""
    b, c = (literal(v.strip()) for v in values)
    copies = "".join(f", {quote(column)} AS {name}" for column, name in alias.items())
    con.execute(
        f"CREATE VIEW kept AS SELECT CASE v WHEN {b} THEN 'b' ELSE 'c' END AS arm, id"
        f"{''.join(f', {name}' for name in alias.values())} FROM "
        f"(SELECT trim(CAST({quote(variant)} AS VARCHAR)) AS v, "
        f"NULLIF(trim(CAST({quote(key)} AS VARCHAR)), '') AS id{copies} FROM src) "
        f"WHERE v IN ({b}, {c})"
    )
    rows, n_b, n_c, empty = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE v = {b}), count(*) FILTER (WHERE v = {c}), "
        f"count(*) FILTER (WHERE v IN ({b}, {c}) AND id IS NULL) FROM "
        f"(SELECT trim(CAST({quote(variant)} AS VARCHAR)) AS v, "
        f"NULLIF(trim(CAST({quote(key)} AS VARCHAR)), '') AS id FROM src)"
    ).fetchone()
    for count, value in ((n_b, values[0]), (n_c, values[1])):
        if not count:
            seen = con.execute(
                f"SELECT DISTINCT trim(CAST({quote(variant)} AS VARCHAR)) AS v FROM src "
                "ORDER BY v LIMIT 10"
            ).fetchall()
            raise DataFileError(
                f"{path}: no rows with {variant} = {value.strip()!r}; values seen: "
                + ", ".join(repr(v[0]) for v in seen)
            )
    if empty:
        raise DataFileError(f"{path}: column {key!r} has {empty} empty ids")
    return rows, rows - n_b - n_c


def _exclude(
    con: duckdb.DuckDBPyConnection, path: Path, numbers: dict[str, str], *, by_cluster: bool
) -> int:
    """Table `clean(is_b, id, c0, ...)`: `kept` without duplicate units (or clusters seen in
    both variants), every metric column already a double."""
    rule = "count(DISTINCT arm) > 1" if by_cluster else "count(*) > 1"
    con.execute(f"CREATE TABLE dropped AS SELECT id FROM kept GROUP BY id HAVING {rule}")
    values = "".join(f", {expr} AS {name}" for name, expr in numbers.items())
    excluded = con.execute("SELECT count(*) FROM dropped").fetchone()[0]
    # Unit-level rows need no id once duplicates are out; most files have none to take out.
    ident = ", id" if by_cluster else ""
    source = "kept ANTI JOIN dropped USING (id)" if excluded else "kept"
    con.execute(f"CREATE TABLE clean AS SELECT arm = 'b' AS is_b{ident}{values} FROM {source}")
    left = dict(con.execute("SELECT is_b, count(*) FROM clean GROUP BY is_b").fetchall())
    if not left.get(True) or not left.get(False):
        what = "clusters seen in both variants" if by_cluster else "units with several rows"
        raise DataFileError(
            f"{path}: an arm is empty after excluding {excluded} {what}"
            + ("; is the cluster column the unit of randomization?" if by_cluster else "")
        )
    return excluded


def _measure(
    con: duckdb.DuckDBPyConnection,
    spec: MetricSpec,
    alias: dict[str, str],
    kinds: dict[str, MetricKind],
    clustered: bool,
    alpha: float,
    sequential: bool,
) -> MetricResult:
    ratio = len(spec.columns) == 2
    kind: MetricKind = "ratio" if ratio else kinds[spec.columns[0]]
    num = alias[spec.columns[0]]
    den = alias[spec.columns[1]] if ratio else "1.0"
    if not clustered and not ratio and kind == "proportion":
        counts = con.execute(
            f"SELECT is_b, count(*), sum({num}) FROM clean GROUP BY is_b"
        ).fetchall()
        (n_b, s_b), (n_c, s_c) = ({k: (n, s) for k, n, s in counts}[k] for k in (True, False))
        return two_proportion_test(
            int(s_b), n_b, int(s_c), n_c, name=spec.name, direction=spec.direction,
            alpha=alpha, sequential=sequential,
        )  # fmt: skip
    if clustered:
        sql = f"SELECT is_b, sum({num}) AS y, sum({den}) AS x FROM clean GROUP BY id, is_b"
    else:
        sql = f"SELECT is_b, {num} AS y, {den} AS x FROM clean"
    arrays = con.execute(sql).fetchnumpy()
    arm = np.asarray(arrays["is_b"], dtype=bool)
    y, x = np.asarray(arrays["y"], dtype=float), np.asarray(arrays["x"], dtype=float)
    name, direction = spec.name, spec.direction
    if clustered or ratio:
        return ratio_delta_test(
            y[arm],
            x[arm],
            y[~arm],
            x[~arm],
            name=name,
            direction=direction,
            alpha=alpha,
            sequential=sequential,
            kind=kind,
        )
    return welch_test(
        y[arm], y[~arm], name=name, direction=direction, alpha=alpha, sequential=sequential
    )
