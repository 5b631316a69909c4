"""The per-metric tests against scipy/statsmodels, closed forms, a bootstrap, and CI coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest

from engine.stats import (
    always_valid_p,
    compare,
    confidence_half_width,
    ratio_arm,
    ratio_delta_test,
    two_proportion_test,
    welch_df,
    welch_test,
)


@pytest.mark.parametrize(
    ("sb", "nb", "sc", "nc"), [(200, 1000, 236, 1000), (45, 300, 30, 280), (7, 50, 9, 61)]
)
def test_two_proportion_z_test_matches_statsmodels(sb: int, nb: int, sc: int, nc: int) -> None:
    result = two_proportion_test(sb, nb, sc, nc, name="open_rate")
    _, p_two = proportions_ztest([sc, sb], [nc, nb])
    _, p_smaller = proportions_ztest([sc, sb], [nc, nb], alternative="smaller")
    assert result.p_value == pytest.approx(p_two, rel=1e-9)
    assert result.p_worse == pytest.approx(p_smaller, rel=1e-9)
    assert result.baseline.value == pytest.approx(sb / nb)
    assert result.abs_lift == pytest.approx(sc / nc - sb / nb)
    assert result.rel_lift == pytest.approx((sc / nc) / (sb / nb) - 1)
    lower = two_proportion_test(sb, nb, sc, nc, direction="lower")
    _, p_larger = proportions_ztest([sc, sb], [nc, nb], alternative="larger")
    assert lower.p_worse == pytest.approx(p_larger, rel=1e-9)


def test_welch_test_matches_scipy_and_delta_method_with_unit_denominators() -> None:
    rng = np.random.default_rng(1)
    b, c = rng.gamma(2.0, 30.0, 80), rng.gamma(2.2, 31.0, 55)
    scipy_p = stats.ttest_ind(c, b, equal_var=False).pvalue
    welch = welch_test(b, c, name="order_value")
    assert welch.p_value == pytest.approx(scipy_p, rel=1e-9)
    assert (welch.baseline.n, welch.candidate.n) == (80, 55)
    delta = ratio_delta_test(b, np.ones(80), c, np.ones(55), kind="mean", name="order_value")
    assert delta.p_value == pytest.approx(scipy_p, rel=1e-9)
    assert delta.ci_rel == pytest.approx(welch.ci_rel)


def test_delta_variance_matches_closed_forms() -> None:
    rng = np.random.default_rng(2)
    y = rng.poisson(3.0, 40).astype(float)
    x = rng.poisson(10.0, 40).astype(float) + 1
    arm = ratio_arm(y, x)
    r = y.sum() / x.sum()
    cov = np.cov(y, x)  # ddof 1
    textbook = (cov[0, 0] - 2 * r * cov[0, 1] + r * r * cov[1, 1]) / (40 * x.mean() ** 2)
    assert arm.value == pytest.approx(r)
    assert arm.var == pytest.approx(textbook, rel=1e-9)
    # Equal denominators m: the ratio is mean(y) / m with variance s^2 / (n m^2).
    equal = ratio_arm(y, np.full(40, 200.0))
    assert equal.var == pytest.approx(y.var(ddof=1) / (40 * 200.0**2), rel=1e-9)


def test_delta_variance_agrees_with_bootstrap() -> None:
    rng = np.random.default_rng(3)
    members = rng.integers(150, 250, 30).astype(float)
    messages = members * rng.uniform(0.8, 1.2, 30)
    y = rng.binomial(messages.astype(int), rng.uniform(0.15, 0.25, 30)).astype(float)
    idx = rng.integers(0, 30, (20000, 30))
    boot = y[idx].sum(axis=1) / messages[idx].sum(axis=1)
    assert ratio_arm(y, messages).var == pytest.approx(boot.var(ddof=1), rel=0.08)


def test_relative_lift_ci_covers_the_true_lift_about_95_percent() -> None:
    """Log-ratio delta CI: member-level proportions and 8 + 8 clustered groups."""
    rng = np.random.default_rng(4)
    sims = 2000
    hits = 0
    for sb, sc in zip(rng.binomial(1500, 0.20, sims), rng.binomial(1500, 0.236, sims), strict=True):
        low, high = two_proportion_test(int(sb), 1500, int(sc), 1500).ci_rel
        hits += low <= 0.18 <= high
    se = math.sqrt(0.95 * 0.05 / sims)
    assert abs(hits / sims - 0.95) <= 3 * se
    members = np.full((sims, 8), 400.0)
    rate_b = rng.normal(0.20, 0.02, (sims, 8))
    rate_c = rng.normal(0.20, 0.02, (sims, 8)) * 1.18
    b = ratio_arm(rng.binomial(400, rate_b), members)
    c = ratio_arm(rng.binomial(400, rate_c), members)
    comp = compare(b, c, df=welch_df(b, c))
    covered = np.mean((comp.ci_low <= 0.18) & (comp.ci_high >= 0.18))
    assert covered >= 0.95 - 3 * se


def test_confidence_sequence_covers_the_true_lift_at_every_daily_look() -> None:
    rng = np.random.default_rng(5)
    sims, days = 1000, 14
    daily_b = rng.binomial(400, rng.normal(0.20, 0.02, (sims, 8))[..., None], (sims, 8, days))
    rate_c = rng.normal(0.20, 0.02, (sims, 8)) * 1.18
    daily_c = rng.binomial(400, rate_c[..., None], (sims, 8, days))
    always = np.ones(sims, dtype=bool)
    for day in range(days):
        sent = np.full((sims, 8), 400.0 * (day + 1))
        b = ratio_arm(daily_b[..., : day + 1].sum(-1), sent)
        c = ratio_arm(daily_c[..., : day + 1].sum(-1), sent)
        comp = compare(b, c, df=welch_df(b, c), sequential=True)
        always &= (comp.ci_low <= 0.18) & (comp.ci_high >= 0.18)
    assert always.mean() >= 0.95


def test_always_valid_p_rejects_exactly_outside_the_confidence_sequence() -> None:
    var = np.array([1e-4, 1e-3, 1e-2])[:, None]
    half = confidence_half_width(var, 0.05)
    thetas = np.linspace(-0.5, 0.5, 2001)[None, :]
    p = always_valid_p(thetas, var)
    inside = np.abs(thetas) < half * (1 - 1e-9)
    outside = np.abs(thetas) > half * (1 + 1e-9)
    assert np.all(p[inside] > 0.05) and np.all(p[outside] < 0.05)


def test_sequential_mode_is_more_cautious_than_one_fixed_look() -> None:
    fixed = two_proportion_test(1000, 5000, 1090, 5000)
    seq = two_proportion_test(1000, 5000, 1090, 5000, sequential=True)
    assert fixed.p_value < 0.05 < seq.p_value
    assert seq.ci_rel[0] < fixed.ci_rel[0] and seq.ci_rel[1] > fixed.ci_rel[1]
    assert "always-valid" in seq.method


def test_lower_is_better_flips_better_and_worse() -> None:
    leave = two_proportion_test(50, 5000, 90, 5000, name="leave_rate", direction="lower")
    assert leave.worse and not leave.better and leave.guardrail_fails
    assert leave.p_worse == pytest.approx(leave.p_value / 2)
    fewer = two_proportion_test(90, 5000, 50, 5000, name="leave_rate", direction="lower")
    assert fewer.better and not fewer.guardrail_fails


def test_degenerate_data_gives_undefined_numbers_not_crashes() -> None:
    zero_base = two_proportion_test(0, 100, 5, 100)
    assert zero_base.as_dict("primary")["rel_lift"] is None
    assert zero_base.as_dict("primary")["ci_rel"] == [None, None]
    same = welch_test([2.0, 2.0, 2.0], [2.0, 2.0, 2.0])
    assert same.p_value == 1.0 and not same.better
    lonely = welch_test([1.0], [2.0, 3.0])
    assert not lonely.testable and lonely.as_dict("primary")["p_value"] is None
    empty = two_proportion_test(0, 0, 3, 10)
    assert not empty.testable
    # The sequential test works on the relative scale, which a zero baseline leaves undefined.
    assert not two_proportion_test(0, 100, 5, 100, sequential=True).testable
