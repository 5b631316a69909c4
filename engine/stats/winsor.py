"""Winsorising heavy-tailed per-unit values (revenue, spend) before they are compared.

A handful of big spenders make a mean's null distribution skewed for weeks: the sequential
mode's early looks (a few dozen buyers) then decide far more often than alpha (STATISTICS.md).
Capping every unit's value at a quantile of BOTH arms' values together (the same cap for each
arm, so under "no effect" the arms stay exchangeable and the test keeps its level) trades a
little bias in the size of a lift for a test that holds. The cap is taken among the non-zero
values, so a metric where 90% of units spend nothing is capped at its buyers' tail, not at 0.

The rule, defined once: among the n non-zero absolute values of both arms, the cap is the k-th
smallest with k = ceil(q n) (the inverted empirical CDF, Hyndman-Fan type 1: the smallest value
with at least a share q of the values at or below it). `pooled_cap` computes it in numpy (and
broadcasts over leading axes: experiments in a simulation); `cap_sql` is the same rule as a
DuckDB aggregate (`quantile_disc`), for the product's checks over tables and events. A test
holds them equal.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sop_models.kpis import DEFAULT_CAP_QUANTILE

DEFAULT_QUANTILE = DEFAULT_CAP_QUANTILE
"""Cap at the 90th percentile of the pooled non-zero values: the top 10% of payers (at 0.95
and 0.99 the early looks, with a few dozen payers, still decided too often)."""

Floats = NDArray[np.float64]


def check_quantile(quantile: float) -> float:
    """`quantile` as a float in [0.5, 1]; ValueError otherwise."""
    q = float(quantile)
    if not 0.5 <= q <= 1.0 or math.isnan(q):
        raise ValueError(f"quantile must be in [0.5, 1], got {quantile}")
    return q


def pooled_cap(values_b: ArrayLike, values_c: ArrayLike, quantile: float) -> Floats:
    """The `quantile` of both arms' non-zero absolute values together, per leading index (inf
    if there are none): the k-th smallest, k = ceil(quantile * n)."""
    q = check_quantile(quantile)
    pooled = np.concatenate(
        [np.asarray(values_b, dtype=float), np.asarray(values_c, dtype=float)], axis=-1
    )
    if pooled.shape[-1] == 0:
        return np.full(pooled.shape[:-1], np.inf)
    paying = np.sort(np.where(pooled != 0, np.abs(pooled), np.inf), axis=-1)
    n = np.sum(pooled != 0, axis=-1)
    # The relative slack absorbs float error in q * n (0.55 * 100 = 55.000000000000007):
    # DuckDB's quantile_disc counts exactly, and a true q * n is never that close above an integer.
    k = np.clip(np.ceil(n * q * (1 - 1e-12)), 1, None).astype(int)
    cap = np.take_along_axis(paying, np.minimum(k, paying.shape[-1])[..., None] - 1, axis=-1)
    return np.where(n > 0, cap[..., 0], np.inf)


def cap_sql(value: str, quantile: float) -> str:
    """DuckDB aggregate for the pooled cap of the SQL expression `value` over the rows it runs
    on (both arms): NULL when every value is 0."""
    q = check_quantile(quantile)
    return f"quantile_disc(abs({value}), {q!r}::DOUBLE) FILTER (WHERE {value} <> 0)"


def clip_sql(value: str, cap: float) -> str:
    """SQL for `value` clipped to +-cap (the cap as an exact double literal)."""
    c = float(cap)
    return f"least(greatest({value}, -{c!r}::DOUBLE), {c!r}::DOUBLE)"


def winsorize(
    values_b: ArrayLike, values_c: ArrayLike, quantile: float = DEFAULT_QUANTILE
) -> tuple[Floats, Floats]:
    """Both arms' per-unit values clipped to +-(the pooled cap); shapes are kept."""
    cap = pooled_cap(values_b, values_c, quantile)[..., None]
    b, c = np.asarray(values_b, dtype=float), np.asarray(values_c, dtype=float)
    return np.clip(b, -cap, cap), np.clip(c, -cap, cap)
