"""Winsorising heavy-tailed per-unit values: one pooled cap for both arms, taken among payers."""

from __future__ import annotations

import numpy as np
import pytest

from engine.stats import cluster_arms, compare, welch_df
from engine.stats.winsor import pooled_cap, winsorize

ALPHA = 0.05
DAYS = 14


def spend(rng: np.random.Generator, sims: int, members: int) -> np.ndarray:
    """Cumulative spend per (experiment, member, day): 10% buy over two weeks, lognormal(1.5)."""
    buys = rng.random((sims, members, DAYS)) < 0.1 / DAYS
    return np.cumsum(buys * rng.lognormal(4.0, 1.5, (sims, members, DAYS)), axis=-1)


def decisions(b: np.ndarray, c: np.ndarray, *, sequential: bool, winsor: bool) -> np.ndarray:
    """First significant call per experiment (+1 better, -1 worse, 0 none) over the looks."""
    sims = b.shape[0]
    decided = np.zeros(sims, dtype=int)
    for day in range(DAYS) if sequential else [DAYS - 1]:
        yb, yc = b[..., day], c[..., day]
        if winsor:
            yb, yc = winsorize(yb, yc)
        ones = np.ones_like(yb)
        arm_b, arm_c = cluster_arms(yb, ones, yc, ones)
        comp = compare(
            arm_b, arm_c, alpha=ALPHA, df=welch_df(arm_b, arm_c), sequential=sequential,
            fraction=(day + 1) / DAYS,
        )  # fmt: skip
        sig = np.nan_to_num(comp.p_value, nan=1.0) < ALPHA
        decided = np.where(decided == 0, np.where(sig, np.sign(comp.abs_lift), 0), decided)
    return decided


def test_both_arms_are_capped_at_the_same_quantile_of_the_payers_together() -> None:
    payers_b = np.arange(1.0, 51.0)  # 1..50
    payers_c = np.arange(51.0, 101.0)  # 51..100
    b = np.concatenate([np.zeros(900), payers_b])
    c = np.concatenate([np.zeros(900), payers_c])
    cap = pooled_cap(b, c, 0.9)
    assert cap == pytest.approx(np.quantile(np.arange(1.0, 101.0), 0.9, method="inverted_cdf"))
    wb, wc = winsorize(b, c, 0.9)
    assert wb.shape == b.shape and wc.shape == c.shape
    assert np.array_equal(wb, b)  # every baseline payer is under the cap
    assert wc.max() == cap and np.sum(wc == cap) == np.sum(c >= cap)
    assert np.count_nonzero(wc) == 50  # zeros stay zeros: nobody is capped up


def test_each_experiment_gets_its_own_cap_and_an_arm_without_payers_is_left_alone() -> None:
    b = np.array([[0.0, 0.0, 10.0, 1000.0], [0.0, 0.0, 0.0, 0.0]])
    c = np.array([[0.0, 5.0, 0.0, 20.0], [0.0, 0.0, 0.0, 0.0]])
    wb, wc = winsorize(b, c, 0.5)
    assert wb[0].max() == pooled_cap(b, c, 0.5)[0] < 1000.0
    assert np.array_equal(wb[1], b[1]) and np.array_equal(wc[1], c[1])
    assert pooled_cap(b, c, 0.5)[1] == np.inf


def test_a_quantile_below_the_median_is_refused() -> None:
    with pytest.raises(ValueError, match="quantile"):
        winsorize(np.ones(3), np.ones(3), 0.3)


def test_a_a_on_heavy_tailed_revenue_stays_at_alpha_once_winsorised_in_both_modes() -> None:
    rng = np.random.default_rng(20261127)
    sims = 800
    b, c = spend(rng, sims, 1500), spend(rng, sims, 1500)
    margin = 3 * np.sqrt(ALPHA * (1 - ALPHA) / sims)
    for sequential in (False, True):
        calls = decisions(b, c, sequential=sequential, winsor=True)
        assert np.mean(calls != 0) <= ALPHA + margin, f"sequential={sequential}"
    # Without the cap the sequential mode's early looks (a few dozen payers) decide too often.
    raw = decisions(b, c, sequential=True, winsor=False)
    assert np.mean(raw != 0) > np.mean(decisions(b, c, sequential=True, winsor=True) != 0)


def test_winsorised_revenue_finds_a_true_lift_at_least_as_often_as_the_raw_mean() -> None:
    rng = np.random.default_rng(11)
    b, c = spend(rng, 300, 1500), spend(rng, 300, 1500) * 1.5
    capped = decisions(b, c, sequential=False, winsor=True)
    raw = decisions(b, c, sequential=False, winsor=False)
    assert np.mean(capped == 1) >= np.mean(raw == 1) > 0.2
    assert not np.any(capped == -1)
