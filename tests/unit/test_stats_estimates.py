"""The per-metric tests against scipy/statsmodels, gbstats' delta method, closed forms, coverage."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import stats
from statsmodels.stats import proportion as sm_proportion

from engine.stats import (
    compare,
    describe,
    ratio_arm,
    ratio_delta_test,
    sequential_half_width,
    sequential_p,
    two_proportion_test,
    welch_df,
    welch_test,
)


def gbstats_relative_z(sb: NDArray, sc: NDArray, n: int) -> NDArray:
    """gbstats' frequentist delta method on the linear relative lift c / b - 1: its z."""
    pb, pc = sb / n, sc / n
    var = pc * (1 - pc) / n / pb**2 + pc**2 * pb * (1 - pb) / n / pb**4
    return (pc / pb - 1) / np.sqrt(var)


@pytest.mark.parametrize(
    ("sb", "nb", "sc", "nc"), [(27, 200, 42, 200), (200, 1000, 236, 1000), (90, 400, 70, 380)]
)
def test_proportions_match_statsmodels_log_ratio_test_and_interval(
    sb: int, nb: int, sc: int, nc: int
) -> None:
    result = two_proportion_test(sb, nb, sc, nc, name="open_rate")
    test = sm_proportion.test_proportions_2indep(
        sc, nc, sb, nb, compare="ratio", method="log", correction=False
    )
    low, high = sm_proportion.confint_proportions_2indep(
        sc, nc, sb, nb, compare="ratio", method="log"
    )
    assert result.scale == "relative"
    assert result.rel_lift == pytest.approx((sc / nc) / (sb / nb) - 1)
    assert result.p_value == pytest.approx(test.pvalue, rel=1e-9)
    assert result.ci == pytest.approx((low - 1, high - 1), rel=1e-9)


def test_27_of_200_vs_42_of_200_gets_one_p_and_a_ci_that_agree() -> None:
    """The review's case: pooled z said p = 0.047 with a CI from -0.0% (PROMOTE)."""
    r = two_proportion_test(27, 200, 42, 200, name="open_rate")
    assert r.p_value > 0.05 and r.ci[0] < 0 < r.ci[1] and not r.better


def test_log_scale_is_symmetric_in_a_a_where_the_linear_relative_lift_is_not() -> None:
    """Why not gbstats' linear form: under no effect it says "worse" far more than "better"."""
    rng = np.random.default_rng(9)
    sb, sc = rng.binomial(200, 0.15, 20000), rng.binomial(200, 0.15, 20000)
    linear = gbstats_relative_z(sb, sc, 200)
    assert np.mean(linear < -1.96) > 5 * np.mean(linear > 1.96)
    pairs = zip(sb[:3000], sc[:3000], strict=True)
    ours = [two_proportion_test(int(x), 200, int(y), 200) for x, y in pairs]
    up = np.mean([r.better for r in ours])
    down = np.mean([r.worse for r in ours])
    assert abs(up - down) < 0.015 and up + down < 0.05 + 3 * math.sqrt(0.05 * 0.95 / 3000)


def test_welch_with_a_negative_baseline_matches_scipy_on_the_absolute_difference() -> None:
    rng = np.random.default_rng(1)
    b, c = rng.normal(-0.92, 0.3, 80), rng.normal(-0.76, 0.3, 55)
    result = welch_test(b, c, name="net_margin")
    assert result.scale == "absolute" and math.isnan(result.rel_lift)
    assert result.p_value == pytest.approx(stats.ttest_ind(c, b, equal_var=False).pvalue, rel=1e-9)
    ci = stats.ttest_ind(c, b, equal_var=False).confidence_interval(0.95)
    assert result.ci == pytest.approx((ci.low, ci.high), rel=1e-9)
    # -0.92 -> -0.76 is an improvement, never "-18%".
    assert result.better and result.abs_lift > 0 and "不计算相对提升" in describe(result)


def test_welch_relative_lift_uses_welch_df_and_the_log_ratio_delta_variance() -> None:
    rng = np.random.default_rng(11)
    b, c = rng.gamma(2.0, 30.0, 80), rng.gamma(2.2, 31.0, 55)
    result = welch_test(b, c, name="order_value")
    vb, vc = b.var(ddof=1) / 80 / b.mean() ** 2, c.var(ddof=1) / 55 / c.mean() ** 2
    df = (vb + vc) ** 2 / (vb**2 / 79 + vc**2 / 54)  # Welch-Satterthwaite on the log scale
    theta, se = math.log(c.mean() / b.mean()), math.sqrt(vb + vc)
    assert result.p_value == pytest.approx(2 * stats.t.sf(abs(theta) / se, df), rel=1e-9)
    q = stats.t.ppf(0.975, df)
    assert result.ci == pytest.approx((math.expm1(theta - q * se), math.expm1(theta + q * se)))
    delta = ratio_delta_test(b, np.ones(80), c, np.ones(55), kind="mean", name="order_value")
    assert delta.p_value == pytest.approx(result.p_value, rel=1e-9)


def test_fisher_exact_test_for_small_counts_matches_scipy() -> None:
    r = two_proportion_test(3, 3, 0, 3, name="opened")
    assert r.p_value == pytest.approx(stats.fisher_exact([[0, 3], [3, 0]]).pvalue)
    assert r.p_value == pytest.approx(0.1) and "Fisher" in r.method and not r.worse
    rare = two_proportion_test(1, 150, 0, 150)
    assert rare.p_value == pytest.approx(1.0) and not rare.worse


def test_cr2_variance_with_equal_sizes_is_the_textbook_delta_variance() -> None:
    rng = np.random.default_rng(2)
    y = rng.poisson(3.0, 40).astype(float)
    x = rng.poisson(10.0, 40).astype(float) + 1
    r = y.sum() / x.sum()
    cov = np.cov(y, x)
    textbook = (cov[0, 0] - 2 * r * cov[0, 1] + r * r * cov[1, 1]) / (40 * x.mean() ** 2)
    equal = ratio_arm(y, np.full(40, 200.0))
    assert equal.var == pytest.approx(y.var(ddof=1) / (40 * 200.0**2), rel=1e-9)
    assert equal.df == pytest.approx(39)
    # Unequal sizes: CR2 weights each residual by 1 / (1 - x_i / sum x), never below textbook-ish.
    arm = ratio_arm(y, x)
    e = y - r * x
    assert arm.var == pytest.approx((e**2 / (1 - x / x.sum())).sum() / x.sum() ** 2, rel=1e-9)
    assert arm.var == pytest.approx(textbook, rel=0.1)
    assert arm.df == pytest.approx(x.sum() ** 2 / (x**2).sum() - 1)


@pytest.mark.parametrize("mode", ["fixed", "sequential", "exact"])
def test_p_below_alpha_exactly_when_the_ci_excludes_zero(mode: str) -> None:
    rng = np.random.default_rng(12)
    sims = 4000
    nb, nc = rng.integers(8, 40, sims), rng.integers(8, 40, sims)
    if mode == "exact":
        agree = 0
        for i in range(300):
            sb, sc = rng.binomial(nb[i], 0.2), rng.binomial(nc[i], 0.35)
            r = two_proportion_test(int(sb), int(nb[i]), int(sc), int(nc[i]))
            agree += (r.p_value < 0.05) == (r.ci[0] > 0 or r.ci[1] < 0)
        assert agree == 300
        return
    b = ratio_arm(rng.binomial(200, 0.2, (sims, 8)), np.full((sims, 8), 200.0), proportion=True)
    c = ratio_arm(
        rng.binomial(200, rng.uniform(0.15, 0.3, (sims, 1)), (sims, 8)),
        np.full((sims, 8), 200.0),
        proportion=True,
    )
    comp = compare(b, c, df=welch_df(b, c), sequential=mode == "sequential", fraction=0.5)
    significant = comp.p_value < 0.05
    excludes = (comp.ci_low > 0) | (comp.ci_high < 0)
    assert significant.any() and (~significant).any()
    assert np.array_equal(significant, excludes)


def test_sequential_p_crosses_alpha_exactly_at_the_half_width() -> None:
    var = np.array([1e-4, 1e-3, 1e-2])[:, None]
    half = sequential_half_width(var, 1.0, 0.05)
    thetas = np.linspace(-0.5, 0.5, 2001)[None, :]
    p = sequential_p(thetas, var, 1.0)
    inside = np.abs(thetas) < half * (1 - 1e-9)
    outside = np.abs(thetas) > half * (1 + 1e-9)
    assert np.all(p[inside] >= 0.05) and np.all(p[outside] < 0.05)


def test_sequential_statistics_of_extreme_estimates_decide_without_overflow() -> None:
    # A huge effect on a tiny variance, and a huge variance: the old form overflowed.
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        p = sequential_p(np.array([1e200, 1e-3, 0.5]), np.array([1e-300, 1e300, 1e-4]), 1.0)
        half = sequential_half_width(np.array([1e308, 1e-4]), 1.0, 0.05)
    assert p[0] == 0.0 and p[1] == 1.0 and p[2] < 1e-4
    assert np.all(np.isfinite(half)) and half[0] > 1e150
    assert sequential_half_width(1e-4, 1.0, 0.05) == pytest.approx(half[1])


def test_sequential_boundary_spends_alpha_at_the_planned_horizon_not_on_day_one() -> None:
    z = stats.norm.ppf(0.975)
    horizon, day_7, day_1 = (float(sequential_half_width(1.0, f, 0.05)) for f in (1, 0.5, 1 / 14))
    assert z < horizon < 2.3  # within 17% of one fixed look (K_TAU = 8 gave 2.53)
    assert day_1 > day_7 > horizon


def test_sequential_mode_is_more_cautious_than_one_fixed_look() -> None:
    fixed = two_proportion_test(1000, 5000, 1090, 5000)
    seq = two_proportion_test(1000, 5000, 1090, 5000, sequential=True)
    assert fixed.p_value < 0.05 < seq.p_value
    assert seq.ci[0] < fixed.ci[0] and seq.ci[1] > fixed.ci[1]
    assert "sequential" in seq.method


def test_relative_lift_ci_covers_the_true_lift_about_95_percent_in_groups() -> None:
    rng = np.random.default_rng(4)
    sims = 2000
    members = np.full((sims, 8), 400.0)
    b = ratio_arm(rng.binomial(400, rng.normal(0.20, 0.02, (sims, 8))), members)
    c = ratio_arm(rng.binomial(400, rng.normal(0.20, 0.02, (sims, 8)) * 1.18), members)
    comp = compare(b, c, df=welch_df(b, c))
    covered = np.mean((comp.ci_low <= 0.18) & (comp.ci_high >= 0.18))
    assert abs(covered - 0.95) <= 3 * math.sqrt(0.95 * 0.05 / sims)


def test_lower_is_better_flips_better_and_worse() -> None:
    leave = two_proportion_test(50, 5000, 90, 5000, name="leave_rate", direction="lower")
    assert leave.worse and not leave.better
    assert leave.p_worse == pytest.approx(leave.p_value / 2)
    fewer = two_proportion_test(90, 5000, 50, 5000, name="leave_rate", direction="lower")
    assert fewer.better and not fewer.worse
