"""Plan before testing: how many groups and days a group-randomized experiment needs.

From history (one (numerator, denominator) per group and day, e.g. opens and deliveries), the
metric's group-level variance is split into a persistent between-group part and a day-to-day
part that averages out over the days run:

    var(group's rate over D days) ~= s_b^2 + s_w^2 / D

(s_w^2: variance of a group's daily rate around its own mean, pooled over groups; s_b^2: the
variance of the group means minus the share of s_w^2 they still carry). With G groups per arm
the log relative lift has variance ~= 2 (s_b^2 + s_w^2 / D) / (G mu^2), and the fixed-horizon
two-sided test at alpha detects log(1 + mde) with the asked power when
G = (z_{1-alpha/2} + z_power)^2 * 2 (s_b^2 + s_w^2 / D) / (mu^2 log(1 + mde)^2).
Sequential mode needs more (its power at the horizon is 67-86% of this; STATISTICS.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class History:
    """What the plan is computed from."""

    groups: int
    days: int
    mean: float
    between_var: float
    within_var: float
    per_group_day: float  # average denominator (e.g. messages delivered) per group-day


@dataclass(frozen=True)
class PlanRow:
    """Groups per arm needed for `days` days, and the power with the groups available."""

    days: int
    groups_per_arm: int
    power_with_available: float


def history(rows: Mapping[str, Sequence[tuple[float, float]]]) -> History:
    """Summarise {group: [(num, den) per day]}; days with a zero denominator are skipped."""
    means, within, dens, days = [], [], [], 0
    for series in rows.values():
        pairs = [(n, d) for n, d in series if d > 0]
        if len(pairs) < 2:
            continue
        rates = np.array([n / d for n, d in pairs])
        means.append(sum(n for n, _ in pairs) / sum(d for _, d in pairs))
        within.append(rates.var(ddof=1))
        dens.append(np.mean([d for _, d in pairs]))
        days = max(days, len(pairs))
    if len(means) < 2:
        return History(len(means), days, math.nan, math.nan, math.nan, math.nan)
    s_w = float(np.mean(within))
    s_b = max(0.0, float(np.var(means, ddof=1)) - s_w / days)
    return History(len(means), days, float(np.mean(means)), s_b, s_w, float(np.mean(dens)))


def groups_needed(h: History, *, mde: float, days: int, alpha: float, power: float) -> int:
    """Groups per arm for a fixed-horizon test to detect a relative change `mde`."""
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    spread = 2 * (h.between_var + h.within_var / days) / h.mean**2
    return max(2, math.ceil(z * z * spread / math.log1p(mde) ** 2))


def power_of(h: History, *, mde: float, days: int, alpha: float, groups_per_arm: int) -> float:
    """Fixed-horizon power with `groups_per_arm` groups per arm for `days` days."""
    if groups_per_arm < 2:
        return 0.0
    se = math.sqrt(2 * (h.between_var + h.within_var / days) / (h.mean**2 * groups_per_arm))
    z = math.log1p(mde) / se - stats.norm.ppf(1 - alpha / 2)
    return float(stats.norm.cdf(z))


def plan(
    h: History,
    *,
    mde: float,
    alpha: float = 0.05,
    power: float = 0.8,
    available_groups: int,
    days: Sequence[int] = (7, 14, 21, 28),
) -> list[PlanRow]:
    """One row per candidate duration."""
    per_arm = available_groups // 2
    return [
        PlanRow(
            d,
            groups_needed(h, mde=mde, days=d, alpha=alpha, power=power),
            power_of(h, mde=mde, days=d, alpha=alpha, groups_per_arm=per_arm),
        )
        for d in days
    ]
