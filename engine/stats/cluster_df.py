"""Degrees of freedom for ratio estimates over clusters of unequal size (issue 14, item 3).

The CR2 variance of an arm's ratio `sum(y) / sum(x)` sums one term per cluster,
`u_i = e_i^2 / (1 - x_i / X)`. How many degrees of freedom that sum carries depends on how
unequal the terms are expected to be (Bell & McCaffrey 2002: Satterthwaite's approximation
under a working model). The working model used before, independence of the members
(`var(e_i) ~ x_i`), gives the Kish effective number of clusters minus one,
`(sum x)^2 / sum x^2 - 1`; it ignores that members of a cluster resemble each other, so with an
intra-cluster correlation a few big clusters carry more of the variance than it assumes and
the test is too liberal (A/A 6% at 10-20 clusters per arm, lognormal sizes, ICC 0.1).

Here the working model is the random-effects one, `var(e_i) = s x_i + t x_i^2` (member noise
plus a cluster effect), with `s, t >= 0` fitted by least squares to the `u_i` of both arms
together; each arm's df is `(sum w)^2 / sum w^2 - 1` with `w_i = s x_i + t x_i^2`. With
`t = 0` that is the Kish df; with equal cluster sizes (or one value per member) it is n - 1
whatever the fit, so equal-size designs keep their power. Simulated A/A rates:
STATISTICS.md (`python -m bench.stats_sim`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

Floats = NDArray[np.float64]


def _terms(y: Floats, x: Floats) -> Floats:
    sx = x.sum(axis=-1, keepdims=True)
    e = y - y.sum(axis=-1, keepdims=True) / sx * x
    return e * e / (1 - x / sx)


def working_model_df(
    num_b: ArrayLike, den_b: ArrayLike, num_c: ArrayLike, den_c: ArrayLike
) -> tuple[Floats, Floats]:
    """Each arm's df under the fitted random-effects working model (units on the last axis);
    NaN where an arm has fewer than 2 units or nothing varies (callers keep their own df)."""
    yb, xb, yc, xc = (np.asarray(a, dtype=float) for a in (num_b, den_b, num_c, den_c))
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.concatenate([_terms(yb, xb), _terms(yc, xc)], axis=-1)
        x = np.concatenate([xb, xc], axis=-1)
        a11, a12, a22 = ((x**k).sum(axis=-1) for k in (2, 3, 4))
        b1, b2 = (u * x).sum(axis=-1), (u * x * x).sum(axis=-1)
        det = a11 * a22 - a12 * a12
        both = det > 1e-9 * a11 * a22  # sizes differ enough to tell the two shapes apart
        s = np.where(both, (a22 * b1 - a12 * b2) / det, b1 / a11)
        t = np.where(both, (a11 * b2 - a12 * b1) / det, 0.0)
        # The non-negative least-squares solution when one component comes out negative.
        s, t = (
            np.where(t < 0, b1 / a11, np.where(s < 0, 0.0, s)),
            np.where(t < 0, 0.0, np.where(s < 0, b2 / a22, t)),
        )
        found = []
        for xs in (xb, xc):
            w = s[..., None] * xs + t[..., None] * xs * xs
            df = w.sum(axis=-1) ** 2 / (w * w).sum(axis=-1) - 1
            ok = np.isfinite(df) & (xs.shape[-1] > 1)
            found.append(np.where(ok, df, np.nan))
    return found[0], found[1]
