"""Sequential mode for daily looks: a normal-mixture test tuned to the planned horizon.

An experiment that is checked every day and promoted at the first significant look would, with
fixed-horizon tests, promote a no-effect change far more often than alpha. The normal-mixture
likelihood ratio (Robbins 1970; Johari, Pekelis & Walsh 2017) against "no effect" is, for an
estimate `theta` with variance `var` and a N(0, tau^2) mixture over the effect,

    L = sqrt(var / (var + tau^2)) * exp(tau^2 theta^2 / (2 var (var + tau^2))).

Two choices make it worth using (STATISTICS.md has the simulations):
- **tau is tuned to the planned horizon**, as GrowthBook's tuning parameter and Eppo's confidence
  sequences do: tau^2 = K_TAU * (variance the estimate will have at the planned horizon), with
  that variance projected from today's as var * look / planned (information grows with the
  looks). K_TAU = 1: the mixture's spread is the horizon's standard error, the effects the
  planned sample can detect. With the calibrated threshold below, the boundary at the horizon
  is z = 2.25 (K_TAU = 8, the optimum for the always-valid 1 / alpha threshold, gave 2.53;
  fixed-horizon: 1.96), so power at the planned sample stays close to the fixed test's; the
  price is caution early on (z = 3.1 on day 4 of 14, 2.6 on day 7).
- **the threshold is calibrated for the planned number of looks** instead of the always-valid
  1 / alpha, which is built for continuous monitoring and at 14 daily looks keeps the A/A rate
  near 1% (and power low). `threshold()` is the (1 - alpha) quantile of max log L over the
  planned looks of a null process with independent increments, simulated once with a fixed
  seed: the worst case, because correlated looks (group designs, where the variance hardly
  shrinks with days) cross less often. Looks beyond the plan reuse the horizon's tuning and are
  not covered by the guarantee.

`sequential_p(theta, var)` and `sequential_half_width(var)` come from the same boundary, so
p < alpha exactly when the interval excludes 0.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

K_TAU = 1.0
PLANNED_LOOKS = 14
_PATHS = 100_000
_SEED = 20261127
_LOG_Z_CAP = 150.0  # |z| = e^150: log L ~ e^300, beyond every threshold; keeps z^2 finite

Floats = NDArray[np.float64]


def small_sample_factor(df: ArrayLike, alpha: float) -> Floats:
    """Variance inflation (t quantile / z quantile)^2 for an estimate with `df` degrees of
    freedom, so a normal-theory boundary keeps the Student t allowance for few units."""
    d = np.asarray(df, dtype=float)
    ok = np.isfinite(d) & (d > 0)
    z = stats.norm.ppf(1 - alpha / 2)
    t = stats.t.ppf(1 - alpha / 2, np.where(ok, d, np.inf))
    return np.where(ok, (t / z) ** 2, 1.0)


@lru_cache(maxsize=8)
def _null_maxima(looks: int) -> Floats:
    """Sorted max log L over `looks` equally informative looks of a null Brownian motion."""
    rng = np.random.default_rng(_SEED + looks)
    steps = rng.standard_normal((_PATHS, looks), dtype=np.float64)
    t = np.arange(1, looks + 1, dtype=float)
    var = 1.0 / t  # variance of the estimate after t looks (unit information per look)
    theta = steps.cumsum(axis=1) / t
    t2 = K_TAU / looks  # tau^2 = K_TAU * variance at the horizon
    log_l = 0.5 * np.log(var / (var + t2)) + t2 * theta**2 / (2 * var * (var + t2))
    return np.sort(log_l.max(axis=1))


def threshold(alpha: float, looks: int = PLANNED_LOOKS) -> float:
    """log L above which a look rejects "no effect": P(any of `looks` looks crosses) = alpha."""
    maxima = _null_maxima(looks)
    m = int(np.ceil(alpha * maxima.size))
    return float(maxima[maxima.size - m])


def tau2(var: ArrayLike, fraction: ArrayLike) -> Floats:
    """Mixture variance: K_TAU times the variance projected to the horizon (fraction <= 1)."""
    return np.asarray(var, dtype=float) * mixture_ratio(fraction)


def mixture_ratio(fraction: ArrayLike) -> Floats:
    """tau^2 / var: K_TAU times the share of the horizon's information seen (fraction <= 1)."""
    return K_TAU * np.clip(np.asarray(fraction, dtype=float), 1.0 / PLANNED_LOOKS / 4, 1.0)


def log_lr(theta: ArrayLike, var: ArrayLike, t2: ArrayLike) -> Floats:
    """log L of the normal mixture for estimate `theta` with variance `var`.

    Computed from the mixture-to-estimate variance ratio r = tau^2 / var and the z statistic,
    log L = z^2 r / (2 (1 + r)) - log1p(r) / 2, so nothing squares a tiny variance or divides
    by a product of two: no overflow for any inputs with var > 0 (var <= 0 gives nan).
    """
    v = np.asarray(var, dtype=float)
    return _log_lr(theta, v, np.asarray(t2, dtype=float) / np.where(v > 0, v, 1.0))


def _log_lr(theta: ArrayLike, var: ArrayLike, r: ArrayLike) -> Floats:
    th, v = np.asarray(theta, dtype=float), np.asarray(var, dtype=float)
    ok = v > 0
    safe_v = np.where(ok, v, 1.0)
    # log |z|, capped where L is far past any threshold, so z^2 never overflows.
    log_z = np.log(np.maximum(np.abs(th), np.finfo(float).tiny)) - 0.5 * np.log(safe_v)
    z2 = np.exp(2.0 * np.minimum(log_z, _LOG_Z_CAP))
    out = 0.5 * z2 * (r / (1.0 + r)) - 0.5 * np.log1p(r)
    return np.where(ok, out, np.nan)


def sequential_p(
    theta: ArrayLike, var: ArrayLike, fraction: ArrayLike, looks: int = PLANNED_LOOKS
) -> Floats:
    """P(a null process crosses log L at some planned look), at today's log L: the smallest
    alpha at which this look rejects. `var` must be > 0 (callers handle exact estimates)."""
    v = np.asarray(var, dtype=float)
    ll = _log_lr(theta, v, mixture_ratio(fraction))
    maxima = _null_maxima(looks)
    above = maxima.size - np.searchsorted(maxima, np.nan_to_num(ll, nan=-np.inf), side="left")
    p = above / maxima.size
    return np.where(np.isnan(ll), np.nan, p)


def sequential_half_width(
    var: ArrayLike, fraction: ArrayLike, alpha: float, looks: int = PLANNED_LOOKS
) -> Floats:
    """Half-width of the interval around the estimate that excludes 0 exactly when p < alpha."""
    v = np.asarray(var, dtype=float)
    r = mixture_ratio(fraction)
    thr = threshold(alpha, looks)
    return np.sqrt(np.maximum(v, 0.0)) * np.sqrt((1.0 + r) / r * (2 * thr + np.log1p(r)))
