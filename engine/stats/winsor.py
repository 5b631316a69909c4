"""Winsorising heavy-tailed per-unit values (revenue, spend) before they are compared.

A handful of big spenders make a mean's null distribution skewed for weeks: the sequential
mode's early looks (a few dozen buyers) then decide far more often than alpha (STATISTICS.md).
Capping every unit's value at a quantile of BOTH arms' values together (the same cap for each
arm, so under "no effect" the arms stay exchangeable and the test keeps its level) trades a
little bias in the size of a lift for a test that holds. The cap is taken among the non-zero
values, so a metric where 90% of units spend nothing is capped at its buyers' tail, not at 0.

`winsorize(values_b, values_c, quantile)` works on the last axis (units) and broadcasts over
leading axes (experiments in a simulation), as the rest of `engine.stats` does.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

DEFAULT_QUANTILE = 0.90
"""Cap at the 90th percentile of the pooled non-zero values: the top 10% of payers (at 0.95
and 0.99 the early looks, with a few dozen payers, still decided too often)."""

Floats = NDArray[np.float64]


def pooled_cap(values_b: ArrayLike, values_c: ArrayLike, quantile: float) -> Floats:
    """The `quantile` of both arms' non-zero values together, per leading index (inf if none)."""
    if not 0.5 <= quantile <= 1.0:
        raise ValueError(f"quantile must be in [0.5, 1], got {quantile}")
    pooled = np.concatenate(
        [np.asarray(values_b, dtype=float), np.asarray(values_c, dtype=float)], axis=-1
    )
    paying = np.where(pooled != 0, np.abs(pooled), np.nan)
    has_any = np.any(np.isfinite(paying), axis=-1)
    filled = np.where(has_any[..., None], paying, 0.0)
    cap = np.nanquantile(filled, quantile, axis=-1, method="higher")
    return np.where(has_any, cap, np.inf)


def winsorize(
    values_b: ArrayLike, values_c: ArrayLike, quantile: float = DEFAULT_QUANTILE
) -> tuple[Floats, Floats]:
    """Both arms' per-unit values clipped to +-(the pooled cap); shapes are kept."""
    cap = pooled_cap(values_b, values_c, quantile)[..., None]
    b, c = np.asarray(values_b, dtype=float), np.asarray(values_c, dtype=float)
    return np.clip(b, -cap, cap), np.clip(c, -cap, cap)
