"""Experiment planning: variance components from history, and the planned power holds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.stats import compare, ratio_arm, welch_df
from engine.stats.power import groups_needed, history, plan, power_of

MEAN, SD_B, MSGS = 0.30, 0.04, 200  # between-group SD 4 points, 200 deliveries per group-day


def simulated_history(rng: np.random.Generator, groups: int, days: int) -> dict:
    rates = rng.normal(MEAN, SD_B, groups)
    opens = rng.binomial(MSGS, rates[:, None], (groups, days))
    return {f"g{i}": [(float(o), float(MSGS)) for o in opens[i]] for i in range(groups)}


def test_history_recovers_the_variance_components() -> None:
    h = history(simulated_history(np.random.default_rng(1), 400, 28))
    assert h.groups == 400 and h.days == 28 and h.per_group_day == MSGS
    assert h.mean == pytest.approx(MEAN, abs=0.005)
    assert math.sqrt(h.between_var) == pytest.approx(SD_B, rel=0.12)
    assert h.within_var == pytest.approx(MEAN * (1 - MEAN) / MSGS, rel=0.1)


def test_planned_groups_reach_the_planned_power_in_simulation() -> None:
    h = history(simulated_history(np.random.default_rng(2), 300, 28))
    need = groups_needed(h, mde=0.18, days=14, alpha=0.05, power=0.8)
    assert 4 <= need <= 40
    assert power_of(h, mde=0.18, days=14, alpha=0.05, groups_per_arm=need) >= 0.8
    rng = np.random.default_rng(3)
    sims = 2000
    total = np.full((sims, need), MSGS * 14.0)
    rate_b = np.clip(rng.normal(MEAN, SD_B, (sims, need)), 0, 1)
    rate_c = np.clip(rng.normal(MEAN, SD_B, (sims, need)) * 1.18, 0, 1)
    b = ratio_arm(rng.binomial(MSGS * 14, rate_b), total, proportion=True)
    c = ratio_arm(rng.binomial(MSGS * 14, rate_c), total, proportion=True)
    comp = compare(b, c, df=welch_df(b, c))
    achieved = np.mean((comp.p_value < 0.05) & (comp.abs_lift > 0))
    assert achieved == pytest.approx(0.8, abs=0.06)  # t with few groups costs a little


def test_more_days_never_need_more_groups_and_few_groups_warn() -> None:
    h = history(simulated_history(np.random.default_rng(4), 50, 21))
    rows = plan(h, mde=0.05, available_groups=8)
    needs = [r.groups_per_arm for r in rows]
    assert needs == sorted(needs, reverse=True)
    assert all(r.power_with_available < 0.8 for r in rows)
