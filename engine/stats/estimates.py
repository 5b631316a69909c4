"""Compare one metric between baseline (production) and candidate: one estimator per verdict.

The effect is the relative lift when the baseline estimate is positive, else the absolute
difference c - b (and the result says so). The relative lift is tested on the log scale,
theta = log(c / b) with the delta-method variance var_c / c^2 + var_b / b^2, and its CI is
reported as exp(theta +- half) - 1. gbstats' linear form (c / b - 1 with var_c / b^2 +
c^2 var_b / b^4) was the starting point, but it is skewed: in A/A simulations it rejects "worse"
about twenty times as often as "better" (STATISTICS.md). The p-value and the CI both come from
theta / se, so p < alpha exactly when the CI excludes 0, in every mode:
- fixed horizon: Student t with Welch-Satterthwaite degrees of freedom (normal for proportions
  of independent units);
- small counts of independent 0/1 units (an expected cell count below 5): Fisher's exact test,
  with Miettinen's test-based interval (the se implied by the exact p), so p and CI still agree;
- sequential: the tuned, calibrated mixture of `engine.stats.sequential` on the same theta.

Per-arm estimates are ratios of per-unit sums (one unit = one randomization unit: a member, or a
group when groups are randomized). Their variance is the cluster-robust CR2 one: each unit's
residual e_i = y_i - value * x_i is scaled by 1 / (1 - x_i / sum(x)), its leverage in the
arm's mean, which for equal sizes is the usual n / (n - 1) and for unequal sizes keeps a few big
groups from looking more certain than they are; the arm's degrees of freedom come from a
random-effects working model fitted to the residuals (`engine.stats.cluster_df`; the Kish
effective number of units minus one when cluster effects are absent). Residuals below 1e-12
of the data's size are exact zeros (identical or fixed-price arms are "no difference", never a
p of 1e-29). A proportion's variance at exactly 0% or 100% (where its own variance vanishes) is
the binomial one at the Agresti-Caffo estimate (s + 1) / (n + 2): honest and non-zero.

`compare` and `ratio_arm` work on numpy arrays of any shape so simulations run thousands of
experiments at once through the very code the decisions use.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from engine.stats.cluster_df import working_model_df
from engine.stats.result import MetricKind, MetricResult, metric_result
from engine.stats.sequential import sequential_half_width, sequential_p, small_sample_factor
from sop_models.kpis import Direction

Floats = NDArray[np.float64]
EXACT_BELOW = 5.0  # expected count in a 2x2 cell under which Fisher's exact test is used
_TOL = 1e-12


class ArmStats(NamedTuple):
    """Per-arm estimate, the variance of that estimate and its degrees of freedom."""

    n: Floats
    value: Floats
    var: Floats
    df: Floats


class Comparison(NamedTuple):
    """Vectorised comparison on the effect scale (`relative` True: theta = c / b - 1)."""

    abs_lift: Floats
    rel_lift: Floats
    relative: NDArray[np.bool_]
    ci_low: Floats
    ci_high: Floats
    p_value: Floats
    p_lower: Floats
    p_higher: Floats


def ratio_arm(
    num: ArrayLike, den: ArrayLike | None = None, *, proportion: bool = False
) -> ArmStats:
    """Ratio of sums over units (last axis), its CR2 variance and Kish degrees of freedom.

    With no `den` (one value per unit) this is the sample mean, s^2 / n and n - 1: Welch's
    ingredients. `proportion` floors the variance at the Agresti-Caffo binomial variance.
    """
    y = np.asarray(num, dtype=float)
    x = np.ones_like(y) if den is None else np.asarray(den, dtype=float)
    n = np.full(y.shape[:-1], y.shape[-1], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        sx, sy = x.sum(axis=-1), y.sum(axis=-1)
        value = sy / sx
        resid = y - value[..., None] * x
        size = np.maximum(np.abs(y).max(axis=-1, initial=0.0), np.abs(value) * x.max(axis=-1))
        resid = np.where(np.abs(resid) <= _TOL * size[..., None], 0.0, resid)
        leverage = x / sx[..., None]
        var = (resid * resid / (1 - leverage)).sum(axis=-1) / sx**2
        df = sx**2 / (x * x).sum(axis=-1) - 1
        if proportion:
            var = np.where((sy <= 0) | (sy >= sx), _boundary_var(sy, sx), var)
    ok = n > 1
    return ArmStats(n, value, np.where(ok, var, np.nan), np.where(ok, df, np.nan))


def cluster_arms(
    num_b: ArrayLike,
    den_b: ArrayLike,
    num_c: ArrayLike,
    den_c: ArrayLike,
    *,
    proportion: bool = False,
) -> tuple[ArmStats, ArmStats]:
    """`ratio_arm` for both arms, with degrees of freedom from the random-effects working model
    of `engine.stats.cluster_df` (the Kish df where that model cannot be fitted)."""
    b, c = (
        ratio_arm(num_b, den_b, proportion=proportion),
        ratio_arm(num_c, den_c, proportion=proportion),
    )
    df_b, df_c = working_model_df(num_b, den_b, num_c, den_c)
    return (
        b._replace(df=np.where(np.isfinite(df_b), df_b, b.df)),
        c._replace(df=np.where(np.isfinite(df_c), df_c, c.df)),
    )


def welch_df(b: ArmStats, c: ArmStats) -> Floats:
    """Welch-Satterthwaite degrees of freedom for the effect `compare` tests: each arm's
    variance enters as it does there (divided by its squared estimate on the log scale)."""
    log_scale = (b.value > 0) & (c.value > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        vb = np.where(log_scale, b.var / b.value**2, b.var)
        vc = np.where(log_scale, c.var / c.value**2, c.var)
        df = (vb + vc) ** 2 / (vb**2 / b.df + vc**2 / c.df)
    return np.where(np.isfinite(df), df, np.minimum(b.df, c.df))


def compare(
    b: ArmStats,
    c: ArmStats,
    *,
    alpha: float = 0.05,
    df: ArrayLike | None = None,
    sequential: bool = False,
    fraction: ArrayLike = 1.0,
    exact_p: ArrayLike | None = None,
) -> Comparison:
    """Test candidate vs baseline; `df` None means normal, else Student t. `fraction` is the
    share of the planned looks done (sequential); `exact_p` replaces the Wald p (small counts)."""
    diff = c.value - b.value
    relative = np.isfinite(b.value) & (b.value > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        bb = np.where(relative, b.value, 1.0)
        # Relative lift on the log scale (log(c / b), var_c / c^2 + var_b / b^2): symmetric
        # under "no effect", unlike the linear c / b - 1 (see STATISTICS.md); a candidate at
        # exactly 0 uses the linear form (theta = -100% with variance var_c / b^2).
        log_ok = relative & (c.value > 0)
        cc = np.where(log_ok, c.value, 1.0)
        theta = np.where(relative, np.where(log_ok, np.log(cc / bb), c.value / bb - 1), diff)
        v_rel = np.where(log_ok, c.var / cc**2 + b.var / bb**2, c.var / bb**2)
        var = np.where(relative, v_rel, b.var + c.var)
        scale = np.where(relative, 1.0, np.maximum(np.abs(b.value), np.abs(c.value)))
        same = np.abs(diff) <= _TOL * np.maximum(np.abs(b.value), np.abs(c.value))
        theta = np.where(same, 0.0, theta)
        known = var <= (_TOL * scale) ** 2  # no sampling error left: the effect is exact
        safe_var = np.where(known, 1.0, var)
        dist = stats.norm if df is None else stats.t(np.asarray(df, dtype=float))
        stat = theta / np.sqrt(safe_var)
        if sequential:
            v = safe_var if df is None else safe_var * small_sample_factor(df, alpha)
            if exact_p is not None:
                v = _implied_var(theta, exact_p, v)
            p = sequential_p(theta, v, fraction)
            half = sequential_half_width(v, fraction, alpha)
        elif exact_p is not None:
            p = np.asarray(exact_p, dtype=float)
            half = np.sqrt(_implied_var(theta, p, safe_var)) * stats.norm.ppf(1 - alpha / 2)
        else:
            p = np.minimum(1.0, 2 * dist.sf(np.abs(stat)))
            q = stats.norm.ppf(1 - alpha / 2) if df is None else dist.ppf(1 - alpha / 2)
            half = q * np.sqrt(safe_var)
    p = np.where(known, np.where(theta == 0, 1.0, 0.0), p)
    half = np.where(known, 0.0, half)
    one_sided_low = np.where(theta < 0, p / 2, 1 - p / 2)
    one_sided_high = np.where(theta > 0, p / 2, 1 - p / 2)
    low, high = theta - half, theta + half
    with np.errstate(over="ignore", invalid="ignore"):
        low = np.where(log_ok, np.expm1(low), low)
        high = np.where(log_ok, np.expm1(high), high)
    bad = ~np.isfinite(p) | ~np.isfinite(theta) | ~np.isfinite(var)
    nan = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(relative, c.value / bb - 1, nan)
    return Comparison(
        diff,
        rel,
        relative,
        np.where(bad, nan, low),
        np.where(bad, nan, high),
        np.where(bad, nan, p),
        np.where(bad, nan, one_sided_low),
        np.where(bad, nan, one_sided_high),
    )


def _implied_var(theta: ArrayLike, p: ArrayLike, fallback: ArrayLike) -> Floats:
    """The variance a normal test would need to give p for theta (Miettinen's test-based se)."""
    th, pp = np.asarray(theta, dtype=float), np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = stats.norm.isf(pp / 2)
        implied = (th / z) ** 2
    ok = np.isfinite(implied) & (implied > 0) & (th != 0)
    return np.where(ok, implied, np.asarray(fallback, dtype=float))


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
    fraction: float = 1.0,
) -> MetricResult:
    """Two proportions of independent 0/1 units (counts); Fisher's exact test for small counts."""
    b = _proportion_arm(successes_b, n_b)
    c = _proportion_arm(successes_c, n_c)
    exact_p = None
    method = "delta method on the relative lift (normal)"
    if n_b > 1 and n_c > 1 and _small(successes_b, n_b, successes_c, n_c):
        table = [[successes_c, n_c - successes_c], [successes_b, n_b - successes_b]]
        exact_p = np.float64(stats.fisher_exact(table).pvalue)
        method = "Fisher's exact test (small counts), test-based CI"
    comp = compare(b, c, alpha=alpha, sequential=sequential, fraction=fraction, exact_p=exact_p)
    return metric_result(
        name, "proportion", direction, b, c, comp, alpha=alpha, sequential=sequential, method=method
    )


def _proportion_arm(successes: int, n: int) -> ArmStats:
    nn = np.float64(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = successes / nn
        var = value * (1 - value) / nn
        var = _boundary_var(successes, nn) if successes in (0, n) else var
    ok = n > 1
    return ArmStats(nn, value, var if ok else np.float64(np.nan), nn - 1 if ok else np.nan)


def _boundary_var(successes: ArrayLike, trials: ArrayLike) -> Floats:
    """Binomial variance at the Agresti-Caffo estimate (s + 1) / (n + 2): used where the
    estimate sits at 0% or 100% and its own variance would vanish."""
    s, n = np.asarray(successes, dtype=float), np.asarray(trials, dtype=float)
    tilde = (s + 1) / (n + 2)
    return tilde * (1 - tilde) / n


def _small(sb: int, nb: int, sc: int, nc: int) -> bool:
    """Cochran's rule: some expected count of the 2x2 table under "no difference" is below 5."""
    total, hits = nb + nc, sb + sc
    expected = [n * k / total for n in (nb, nc) for k in (hits, total - hits)]
    return min(expected) < EXACT_BELOW


def welch_test(
    values_b: ArrayLike,
    values_c: ArrayLike,
    *,
    name: str = "",
    direction: Direction = "higher",
    alpha: float = 0.05,
    sequential: bool = False,
    fraction: float = 1.0,
) -> MetricResult:
    """Means of one value per unit: Welch's t on the relative lift (absolute if baseline <= 0)."""
    return _welch(
        ratio_arm(values_b), ratio_arm(values_c), name, direction, alpha, sequential, fraction
    )


def mean_arm(n: int, mean: float, var_samp: float | None) -> ArmStats:
    """`ratio_arm` of one value per unit from its moments (count, mean, sample variance), as a
    database aggregates them: the same estimate, s^2 / n and n - 1."""
    nn = np.float64(n)
    ok = n > 1 and var_samp is not None
    s2 = np.float64(var_samp if ok else np.nan)
    s2 = np.float64(0.0) if s2 <= (_TOL * abs(mean)) ** 2 else s2  # rounding noise, not data
    var = s2 / nn if ok else np.float64(np.nan)
    return ArmStats(nn, np.float64(mean), var, nn - 1 if ok else np.float64(np.nan))


def welch_moments_test(
    b: ArmStats,
    c: ArmStats,
    *,
    name: str = "",
    direction: Direction = "higher",
    alpha: float = 0.05,
    sequential: bool = False,
) -> MetricResult:
    """`welch_test` on arms given by `mean_arm` (no per-unit arrays needed)."""
    return _welch(b, c, name, direction, alpha, sequential, 1.0)


def _welch(
    b: ArmStats,
    c: ArmStats,
    name: str,
    direction: Direction,
    alpha: float,
    sequential: bool,
    fraction: float,
) -> MetricResult:
    comp = compare(b, c, alpha=alpha, df=welch_df(b, c), sequential=sequential, fraction=fraction)
    method = "delta method on the relative lift (Welch t)"
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
    fraction: float = 1.0,
) -> MetricResult:
    """Ratio of sums with CR2 delta-method variance, one (numerator, denominator) per unit.

    For a group-randomized proportion or mean pass per-group sums of the outcome as `num` and
    per-group member (or observation) counts as `den`, and set `kind` accordingly.
    """
    b, c = cluster_arms(num_b, den_b, num_c, den_c, proportion=kind == "proportion")
    comp = compare(b, c, alpha=alpha, df=welch_df(b, c), sequential=sequential, fraction=fraction)
    method = "delta method on per-unit sums (CR2 variance; t with random-effects Welch df)"
    return metric_result(
        name, kind, direction, b, c, comp, alpha=alpha, sequential=sequential, method=method
    )
