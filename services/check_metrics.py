"""Per-metric comparison for `sop check`: per-group sums from the event store, groups seen under
both versions left out, CUPED with the pre-period where every group has one, then the test."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.events.store import EventStore
from engine.kpi.compute import unit_sums
from engine.kpi.definitions import get_metric
from engine.stats.cuped import Arm, cuped_test, usable
from engine.stats.estimates import ratio_delta_test
from engine.stats.result import MetricResult
from sop_models.errors import CheckError

PLANNED_DAYS = 14  # the sequential mode's plan: daily looks over two weeks


def arms(
    table: Any, production: str, candidate: str, drop: frozenset[str] = frozenset()
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    found = {}
    if drop:
        table = table.filter(pc.invert(pc.is_in(table["group"], pa.array(sorted(drop)))))
    for name, version in (("baseline", production), ("candidate", candidate)):
        rows = table.filter(pc.equal(table["sop_version"], version))
        found[name] = (
            np.asarray(rows["num"].to_pylist(), dtype=float),
            np.asarray(rows["den"].to_pylist(), dtype=float),
        )
    return found


def crossed_groups(
    store: EventStore, *, sop_id: str, start: date, end: date, versions: tuple[str, str]
) -> frozenset[str]:
    """Groups with events under both versions in the window (e.g. a window starting before the
    assignment): they would count in both arms, so every metric leaves them out."""
    con = duckdb.connect()
    try:
        rows = con.execute(
            f'SELECT "group" FROM {store.source_sql()} WHERE day >= ? AND day < ? '
            "AND (sop = ? OR sop IS NULL) AND sop_version IN (?, ?) "
            'GROUP BY "group" HAVING count(DISTINCT sop_version) > 1',
            [start, end, sop_id, *versions],
        ).fetchall()
    finally:
        con.close()
    return frozenset(str(r[0]) for r in rows)


def test_metric(
    store: EventStore,
    metric: str,
    *,
    sop_id: str,
    start: date,
    end: date,
    versions: tuple[str, str],
    sequential: bool,
    before_after: bool = False,
    crossed: frozenset[str] = frozenset(),
) -> tuple[MetricResult, tuple[int, int]]:
    definition = get_metric(metric)
    table = unit_sums(store, metric, start=start, end=end, sop=sop_id)
    by_arm = arms(table, *versions, crossed)
    if before_after:  # production's own period of the same length, just before the candidate's
        before = unit_sums(store, metric, start=start - (end - start), end=start, sop=sop_id)
        by_arm["baseline"] = arms(before, *versions)["baseline"]
    (num_b, den_b), (num_c, den_c) = by_arm["baseline"], by_arm["candidate"]
    if len(den_b) == 0 or len(den_c) == 0:
        raise CheckError(
            f"{sop_id}: no {metric} data for "
            f"{'production v' + versions[0] if len(den_b) == 0 else 'candidate v' + versions[1]}"
            f" between {start} and {end - timedelta(days=1)} (import events first)"
        )
    kind = "proportion" if definition.kind == "proportion" else "ratio"
    fraction = min(1.0, (end - start).days / PLANNED_DAYS)
    pre = None if before_after else pre_period(store, metric, table, sop_id, start, end, crossed)
    if pre is not None:
        b = Arm(num_b, den_b, *pre[versions[0]])
        c = Arm(num_c, den_c, *pre[versions[1]])
        at_edge = any(a.y.sum() in (0, a.x.sum()) for a in (b, c))
        if usable(b, c) and not at_edge:
            result = cuped_test(
                b, c, name=metric, kind=kind, direction=definition.direction,
                sequential=sequential, fraction=fraction,
            )  # fmt: skip
            return result, (len(den_b), len(den_c))
    result = ratio_delta_test(
        num_b,
        den_b,
        num_c,
        den_c,
        name=metric,
        kind=kind,
        direction=definition.direction,
        sequential=sequential,
        fraction=fraction,
    )
    return result, (len(den_b), len(den_c))


def pre_period(
    store: EventStore,
    metric: str,
    window: Any,
    sop_id: str,
    start: date,
    end: date,
    crossed: frozenset[str],
) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """Each arm's groups' sums over the period just before the window (as long, at most
    PLANNED_DAYS), in the order `_arms` lists them; None when there is no such data."""
    length = min((end - start).days, PLANNED_DAYS)
    before = unit_sums(store, metric, start=start - timedelta(days=length), end=start, sop=sop_id)
    if before.num_rows == 0:
        return None
    sums: dict[str, tuple[float, float]] = {}
    for group, num, den in zip(
        before["group"].to_pylist(),
        before["num"].to_pylist(),
        before["den"].to_pylist(),
        strict=True,
    ):
        y, x = sums.get(group, (0.0, 0.0))
        sums[group] = (y + float(num or 0), x + float(den or 0))
    found = {}
    for version in set(window["sop_version"].to_pylist()):
        rows = window.filter(pc.equal(window["sop_version"], version))
        groups = [g for g in rows["group"].to_pylist() if g not in crossed]
        pairs = [sums.get(g, (0.0, 0.0)) for g in groups]
        found[version] = (
            np.asarray([p[0] for p in pairs], dtype=float),
            np.asarray([p[1] for p in pairs], dtype=float),
        )
    return found
