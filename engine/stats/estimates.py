"""Compare one metric between baseline (production) and candidate: estimates, lifts, CI, p-value.

Tests, all two-sided at level alpha for the reported p-value and CI:
- proportions (one 0/1 value per unit): two-proportion z-test with the pooled variance;
- means (one number per unit): Welch's t-test;
- ratio metrics and every group-randomized design: the delta method on per-unit sums (numerator
  and denominator summed within each randomization unit), with Welch-Satterthwaite degrees of
  freedom. Eight groups of 200 members are eight units per arm, not 1,600.

Relative lift CI: the delta method on the log of the ratio of the two arm estimates
(log(c / b) +- q * sqrt(var_c / c^2 + var_b / b^2), then exp - 1), which keeps the interval above
-100% and is less skewed than the linear version; when an estimate is <= 0 the linear delta
method on c / b is used instead. In sequential mode the p-value and CI are the always-valid ones of
`engine.stats.sequential` on the same log scale.

`compare` and `ratio_arm` work on numpy arrays of any shape so simulations can run thousands of
experiments at once through the very code the decisions use.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from engine.stats.result import ArmEstimate, MetricKind, MetricResult
from engine.stats.sequential import (
    DEFAULT_TAU,
    always_valid_p,
    confidence_half_width,
    small_sample_factor,
)
from sop_models.kpis import Direction

Floats = NDArray[np.float64]


class ArmStats(NamedTuple):
    """Per-arm estimate and the variance of that estimate (arrays over any leading axes)."""

    n: Floats
    value: Floats
    var: Floats


class Comparison(NamedTuple):
    """Vectorised comparison; `p_lower` / `p_higher` are one-sided p-values for c < b / c > b."""

    abs_lift: Floats
    rel_lift: Floats
    ci_low: Floats
    ci_high: Floats
    p_value: Floats
    p_lower: Floats
    p_higher: Floats


def ratio_arm(num: ArrayLike, den: ArrayLike | None = None) -> ArmStats:
    """Ratio of sums over units (last axis) and its delta-method variance.

    value = sum(num) / sum(den); var = s^2(num - value * den) / (n * mean(den)^2). With no `den`
    (one value per unit) this is the sample mean and s^2 / n, i.e. Welch's ingredients.
    """
    y = np.asarray(num, dtype=float)
    x = np.ones_like(y) if den is None else np.asarray(den, dtype=float)
    n = np.full(y.shape[:-1], y.shape[-1], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = y.sum(axis=-1) / x.sum(axis=-1)
        resid = y - value[..., None] * x
        s2 = (resid * resid).sum(axis=-1) / (n - 1)
        var = s2 / (n * (x.sum(axis=-1) / n) ** 2)
    return ArmStats(n, value, np.where(n > 1, var, np.nan))


def welch_df(b: ArmStats, c: ArmStats) -> Floats:
    """Welch-Satterthwaite degrees of freedom for the difference of two arm estimates."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (b.var + c.var) ** 2 / (b.var**2 / (b.n - 1) + c.var**2 / (c.n - 1))


def compare(
    b: ArmStats,
    c: ArmStats,
    *,
    alpha: float = 0.05,
    df: ArrayLike | None = None,
    null_var: ArrayLike | None = None,
    sequential: bool = False,
    tau: float = DEFAULT_TAU,
) -> Comparison:
    """Test candidate vs baseline given arm estimates and their variances.

    `df` None means a normal reference distribution, else Student t; `null_var` is the variance of
    the difference under "no effect" (the pooled one for proportions), default var_b + var_c.
    """
    diff = c.value - b.value
    v0 = b.var + c.var if null_var is None else np.asarray(null_var, dtype=float)
    dist = stats.norm if df is None else stats.t(np.asarray(df, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = diff / np.sqrt(v0)
        theta, v_rel, log_scale = _relative(b, c)
    exact = v0 == 0  # identical constant arms: the difference is known without error
    p_lower = np.where(exact, np.where(diff < 0, 0.0, 1.0), dist.cdf(stat))
    p_higher = np.where(exact, np.where(diff > 0, 0.0, 1.0), dist.sf(stat))
    p_value = np.minimum(1.0, 2 * np.minimum(p_lower, p_higher))
    if sequential:
        v_seq = v_rel if df is None else v_rel * small_sample_factor(df, alpha)
        p_value = always_valid_p(theta, v_seq, tau)
        half = confidence_half_width(v_seq, alpha, tau)
        p_lower = np.where(theta < 0, p_value / 2, 1.0)
        p_higher = np.where(theta > 0, p_value / 2, 1.0)
    else:
        q = stats.norm.ppf(1 - alpha / 2) if df is None else dist.ppf(1 - alpha / 2)
        half = q * np.sqrt(v_rel)
    low, high = theta - half, theta + half
    low = np.where(log_scale, np.expm1(low), low)
    high = np.where(log_scale, np.expm1(high), high)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = c.value / b.value - 1
    bad = ~np.isfinite(p_value) | ~np.isfinite(diff)
    nan = np.nan
    return Comparison(
        diff,
        rel,
        low,
        high,
        np.where(bad, nan, p_value),
        np.where(bad, nan, p_lower),
        np.where(bad, nan, p_higher),
    )


def _relative(b: ArmStats, c: ArmStats) -> tuple[Floats, Floats, NDArray[np.bool_]]:
    """Relative effect on the log scale where both estimates are positive, else linear c/b - 1."""
    log_scale = (b.value > 0) & (c.value > 0)
    ratio = c.value / b.value
    theta = np.where(log_scale, np.log(np.where(log_scale, ratio, 1.0)), ratio - 1)
    v_log = c.var / c.value**2 + b.var / b.value**2
    v_lin = (c.var + ratio**2 * b.var) / b.value**2
    return theta, np.where(log_scale, v_log, v_lin), log_scale


def two_proportion_test(
    successes_b: int,
    n_b: int,
    successes_c: int,
    n_c: int,
    *,
    name: str = "",
    direction: Direction = "higher",
    alpha: float = 0.05,
    sequential: bool = False,
) -> MetricResult:
    """Two-proportion z-test (pooled variance) on unit counts; each unit is one 0/1 outcome."""
    with np.errstate(divide="ignore", invalid="ignore"):
        nb, nc = np.float64(n_b), np.float64(n_c)
        pb, pc = successes_b / nb, successes_c / nc
        pooled = (successes_b + successes_c) / (nb + nc)
        b = ArmStats(nb, pb, pb * (1 - pb) / nb)
        c = ArmStats(nc, pc, pc * (1 - pc) / nc)
        null_var = pooled * (1 - pooled) * (1 / nb + 1 / nc)
    comp = compare(b, c, alpha=alpha, null_var=null_var, sequential=sequential)
    method = "two-proportion z-test"
    return metric_result(
        name, "proportion", direction, b, c, comp, alpha=alpha, sequential=sequential, method=method
    )


def welch_test(
    values_b: ArrayLike,
    values_c: ArrayLike,
    *,
    name: str = "",
    direction: Direction = "higher",
    alpha: float = 0.05,
    sequential: bool = False,
) -> MetricResult:
    """Welch's unequal-variance t-test on one value per unit."""
    b, c = ratio_arm(values_b), ratio_arm(values_c)
    df = welch_df(b, c)
    comp = compare(b, c, alpha=alpha, df=df, sequential=sequential)
    method = "Welch t-test"
    return metric_result(
        name, "mean", direction, b, c, comp, alpha=alpha, sequential=sequential, method=method
    )


def ratio_delta_test(
    num_b: ArrayLike,
    den_b: ArrayLike,
    num_c: ArrayLike,
    den_c: ArrayLike,
    *,
    name: str = "",
    direction: Direction = "higher",
    alpha: float = 0.05,
    sequential: bool = False,
    kind: MetricKind = "ratio",
) -> MetricResult:
    """Ratio of sums with delta-method variance, one (numerator, denominator) pair per unit.

    For a group-randomized proportion or mean pass per-group sums of the outcome as `num` and
    per-group member (or observation) counts as `den`, and set `kind` accordingly.
    """
    b, c = ratio_arm(num_b, den_b), ratio_arm(num_c, den_c)
    comp = compare(b, c, alpha=alpha, df=welch_df(b, c), sequential=sequential)
    method = "delta method on per-unit sums (Welch df)"
    return metric_result(
        name, kind, direction, b, c, comp, alpha=alpha, sequential=sequential, method=method
    )


def metric_result(
    name: str,
    kind: MetricKind,
    direction: Direction,
    b: ArmStats,
    c: ArmStats,
    comp: Comparison,
    *,
    alpha: float,
    sequential: bool,
    method: str,
    index: int | tuple[int, ...] = (),
) -> MetricResult:
    """One `MetricResult` out of (possibly vectorised) arm stats and comparison, at `index`."""

    def at(x: Floats) -> float:
        return float(np.asarray(x)[index])

    p_worse = comp.p_lower if direction == "higher" else comp.p_higher
    if sequential:
        method += ", always-valid mSPRT (sequential)"
    return MetricResult(
        name=name,
        kind=kind,
        direction=direction,
        baseline=ArmEstimate(int(at(b.n)), at(b.value)),
        candidate=ArmEstimate(int(at(c.n)), at(c.value)),
        abs_lift=at(comp.abs_lift),
        rel_lift=at(comp.rel_lift),
        ci_rel=(at(comp.ci_low), at(comp.ci_high)),
        p_value=at(comp.p_value),
        p_worse=at(p_worse),
        alpha=alpha,
        sequential=sequential,
        method=method,
    )
