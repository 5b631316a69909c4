"""Always-valid inference for daily looks: the mixture sequential probability ratio test.

An experiment that is checked every day and promoted at the first significant look would, with
fixed-horizon tests, promote a no-effect change far more often than alpha. The normal-mixture
mSPRT (Robbins 1970; Johari, Pekelis & Walsh 2017) gives p-values and confidence sequences that
stay valid however often and whenever one looks: P(any look rejects | no effect) <= alpha.

With an estimate `theta` of the effect whose variance is `var`, and a N(0, tau^2) mixture over the
effect, the likelihood ratio against "no effect" is

    L = sqrt(var / (var + tau^2)) * exp(tau^2 theta^2 / (2 var (var + tau^2)))

and the always-valid p-value is min(1, 1 / L). `p <= alpha` exactly when theta lies outside the
confidence sequence returned by `confidence_half_width`. The engine applies it on the log scale of
the relative lift, so `tau` is a relative size: the default 0.1 makes the test most sensitive to
lifts of roughly 5-30%, the range SOP changes move KPIs by.

The variance is estimated from the data (a plug-in). With few randomization units (8 groups per
arm) that estimate is noisy, so callers pass `df` and the variance is widened by the squared ratio
of the Student-t and normal quantiles, the same small-sample allowance the Welch test makes.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

DEFAULT_TAU = 0.1


def small_sample_factor(df: ArrayLike, alpha: float) -> NDArray[np.float64]:
    """Variance inflation (t quantile / z quantile)^2 for an estimate with `df` degrees of
    freedom."""
    d = np.asarray(df, dtype=float)
    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(invalid="ignore"):
        t = stats.t.ppf(1 - alpha / 2, np.where(np.isfinite(d) & (d > 0), d, np.inf))
    return np.where(np.isfinite(d) & (d > 0), (t / z) ** 2, 1.0)


def always_valid_p(
    theta: ArrayLike, var: ArrayLike, tau: float = DEFAULT_TAU
) -> NDArray[np.float64]:
    """Always-valid two-sided p-value of "effect = 0" from the estimate and its variance."""
    th = np.asarray(theta, dtype=float)
    v = np.asarray(var, dtype=float)
    t2 = tau * tau
    with np.errstate(divide="ignore", invalid="ignore"):
        log_l = 0.5 * np.log(v / (v + t2)) + t2 * th * th / (2 * v * (v + t2))
        p = np.minimum(1.0, np.exp(-log_l))
    # A zero variance means the estimate is exact: any non-zero effect is certain.
    p = np.where(v > 0, p, np.where(th == 0, 1.0, 0.0))
    return np.where(np.isfinite(th) & np.isfinite(v), p, np.nan)


def confidence_half_width(
    var: ArrayLike, alpha: float, tau: float = DEFAULT_TAU
) -> NDArray[np.float64]:
    """Half-width of the (1 - alpha) confidence sequence around the estimate (same scale)."""
    v = np.asarray(var, dtype=float)
    t2 = tau * tau
    with np.errstate(divide="ignore", invalid="ignore"):
        width = np.sqrt(v * (v + t2) / t2 * (2 * np.log(1 / alpha) + np.log((v + t2) / v)))
    return np.where(v > 0, width, np.where(v == 0, 0.0, np.nan))
