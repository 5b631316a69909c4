"""Degenerate data the review found: zero variance, estimates at 0, negative baselines, n = 1."""

from __future__ import annotations

import numpy as np
import pytest

from engine.stats import (
    Minimums,
    decide,
    ratio_delta_test,
    srm_check,
    two_proportion_test,
    welch_test,
)


@pytest.mark.parametrize("sequential", [False, True])
def test_identical_constant_arms_of_different_sizes_are_no_difference(sequential: bool) -> None:
    same = welch_test([0.1] * 7, [0.1] * 13, sequential=sequential)
    assert same.p_value == 1.0 and same.ci == (0.0, 0.0)
    assert not same.better and not same.worse


@pytest.mark.parametrize("sequential", [False, True])
def test_ratio_with_one_fixed_price_is_no_difference(sequential: bool) -> None:
    rng = np.random.default_rng(3)
    qty_b, qty_c = rng.integers(1, 9, 30).astype(float), rng.integers(1, 9, 41).astype(float)
    price = 19.9
    r = ratio_delta_test(qty_b * price, qty_b, qty_c * price, qty_c, sequential=sequential)
    assert r.p_value == 1.0 and not r.better and not r.worse


@pytest.mark.parametrize("sequential", [False, True])
def test_a_candidate_at_zero_of_a_rare_event_is_not_a_reject(sequential: bool) -> None:
    one = two_proportion_test(1, 150, 0, 150, name="ordered", sequential=sequential)
    assert one.p_value > 0.5 and one.ci[0] < 0 < one.ci[1]
    # Groups: 8 + 8 groups where the candidate's groups all happen to have 0 orders.
    members = np.full(8, 150.0)
    grouped = ratio_delta_test(
        [1, 0, 0, 0, 0, 0, 0, 0], members, np.zeros(8), members, kind="proportion",
        sequential=sequential,
    )  # fmt: skip
    assert grouped.p_value > 0.05 and grouped.ci[0] < 0 < grouped.ci[1]
    assert decide(grouped, srm=srm_check(8, 8)).decision == "CONTINUE"


@pytest.mark.parametrize("sequential", [False, True])
def test_negative_baseline_uses_the_absolute_difference_and_the_declared_direction(
    sequential: bool,
) -> None:
    rng = np.random.default_rng(5)
    base = rng.normal(-0.92, 0.1, 200)
    better = welch_test(base, rng.normal(-0.76, 0.1, 200), sequential=sequential)
    assert better.scale == "absolute" and better.abs_lift > 0
    assert better.better and not better.worse
    worse_guard = welch_test(
        base, rng.normal(-1.2, 0.1, 200), name="net_margin", sequential=sequential
    )
    assert worse_guard.worse and worse_guard.p_worse < 0.05
    d = decide(better, [worse_guard], srm=srm_check(200, 200))
    assert d.decision == "REJECT"


def test_a_proportion_with_one_unit_per_arm_is_untestable_like_a_mean() -> None:
    assert not two_proportion_test(1, 1, 0, 1).testable
    assert not welch_test([1.0], [2.0, 3.0]).testable
    assert not two_proportion_test(0, 0, 3, 10).testable


def test_zero_baseline_gives_no_relative_lift_and_says_so() -> None:
    zero = two_proportion_test(0, 100, 5, 100)
    data = zero.as_dict("primary")
    assert data["rel_lift"] is None and data["ci_rel"] == [None, None]
    assert data["scale"] == "absolute" and data["ci_abs"][0] is not None


def test_tiny_counts_never_reject_on_a_normal_approximation() -> None:
    """3/3 vs 0/3: the z-test said p = 0.014 (REJECT); Fisher's exact says 0.10."""
    r = two_proportion_test(3, 3, 0, 3, name="opened")
    d = decide(r, srm=srm_check(3, 3), minimums=Minimums(units_per_arm=0))
    assert d.decision == "CONTINUE"
