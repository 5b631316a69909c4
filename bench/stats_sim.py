"""Simulated error rates and power of the check's statistics (the table in STATISTICS.md).

Every scenario draws many experiments at once and runs them through the engine's own
`ratio_arm` + `compare` (the code `sop check` and `sop check-data` use), seeded, so a reviewer
gets the same table: `python -m bench.stats_sim [--sims N]`.

A decision here is the statistics part of the rule: PROMOTE = significant and better, REJECT =
significant and worse, at the first look that decides (sequential: 14 daily looks; fixed: one
look at day 14; "fixed, peeking" = the fixed test looked at daily, the problem sequential mode
exists for). Minimums and guardrails are left out so the rates are those of the tests.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine.stats.estimates import ArmStats, cluster_arms, compare, two_proportion_test, welch_df
from engine.stats.winsor import DEFAULT_QUANTILE, winsorize

DAYS = 14
ALPHA = 0.05
Draw = Callable[[np.random.Generator, int, float], tuple[NDArray, NDArray, NDArray, NDArray]]


@dataclass(frozen=True)
class Scenario:
    """Cumulative (num, den) per (experiment, unit, day) for baseline and candidate."""

    name: str
    draw: Draw
    proportion: bool
    unit_level: bool = False  # independent 0/1 units: the product path with Fisher's exact test
    winsor: float | None = None  # cap each unit's value at this pooled quantile at every look


def _groups(n: int, members: int, rate: float, sd: float) -> Draw:
    def draw(rng: np.random.Generator, sims: int, lift: float) -> tuple[NDArray, ...]:
        out = []
        for effect in (0.0, lift):
            p = np.clip(rng.normal(rate, sd, (sims, n)), 0.001, 0.999) * (1 + effect)
            daily = rng.binomial(members * 2, np.clip(p, 0, 1)[..., None], (sims, n, DAYS))
            out += [daily.cumsum(-1), np.full((sims, n, DAYS), members * 2.0).cumsum(-1)]
        return tuple(out)

    return draw


def _unequal_clusters(n: int, icc: float) -> Draw:
    """Lognormal cluster sizes (median 100, sigma 1), beta-binomial outcome with this ICC."""

    def draw(rng: np.random.Generator, sims: int, lift: float) -> tuple[NDArray, ...]:
        out = []
        a, b = 0.2 * (1 - icc) / icc, 0.8 * (1 - icc) / icc
        for effect in (0.0, lift):
            sizes = np.maximum(2, np.round(rng.lognormal(np.log(100), 1.0, (sims, n))))
            p = np.clip(rng.beta(a, b, (sims, n)) * (1 + effect), 0, 1)
            per_day = np.maximum(1, sizes // 7).astype(int)
            daily = rng.binomial(per_day[..., None], p[..., None], (sims, n, DAYS))
            out += [daily.cumsum(-1), (per_day[..., None] * np.ones(DAYS)).cumsum(-1)]
        return tuple(out)

    return draw


def _units(n: int, rate: float) -> Draw:
    """Independent members, one 0/1 outcome each, arriving evenly over the days (rare events)."""

    def draw(rng: np.random.Generator, sims: int, lift: float) -> tuple[NDArray, ...]:
        out = []
        for effect in (0.0, lift):
            hit = (rng.random((sims, n)) < rate * (1 + effect)).astype(float)
            day = rng.integers(0, DAYS, (sims, n))
            seen = (day[..., None] <= np.arange(DAYS)).astype(float)
            out += [hit[..., None] * seen, seen]
        return tuple(out)

    return draw


def _revenue(n: int) -> Draw:
    """Heavy-tailed spend per member: 90% spend nothing, the rest lognormal(sigma 1.5)."""

    def draw(rng: np.random.Generator, sims: int, lift: float) -> tuple[NDArray, ...]:
        out = []
        for effect in (0.0, lift):
            buys = rng.random((sims, n, DAYS)) < 0.1 / DAYS
            spend = buys * rng.lognormal(4.0, 1.5, (sims, n, DAYS)) * (1 + effect)
            out += [spend.cumsum(-1), np.ones((sims, n, DAYS))]
        return tuple(out)

    return draw


SCENARIOS = [
    Scenario("8+8 groups x 200, open rate 20% (SD 2 pts)", _groups(8, 200, 0.2, 0.02), True),
    Scenario("5+5 clusters, lognormal sizes, ICC 0.1", _unequal_clusters(5, 0.1), True),
    Scenario("10+10 clusters, lognormal sizes, ICC 0.1", _unequal_clusters(10, 0.1), True),
    Scenario("20+20 clusters, lognormal sizes, ICC 0.1", _unequal_clusters(20, 0.1), True),
    Scenario("rare events: 0.5% of 1,500 members per arm", _units(1500, 0.005), True, True),
    Scenario("rare events: 8+8 groups x 150, 0.5%", _groups(8, 75, 0.005, 0.001), True),
    Scenario("heavy-tailed revenue, 2,000 members per arm", _revenue(2000), False),
    Scenario(
        "heavy-tailed revenue, winsorised at the pooled p90 of payers",
        _revenue(2000),
        False,
        winsor=DEFAULT_QUANTILE,
    ),
]
DEMO = Scenario("16+16 groups x 120, open rate 33% (SD 8 pts)", _groups(16, 120, 0.33, 0.08), True)


def _look(data: tuple[NDArray, ...], day: int, scenario: Scenario) -> tuple[ArmStats, ArmStats]:
    nb, db, nc, dc = (d[..., day] for d in data)
    if scenario.winsor is not None:
        nb, nc = winsorize(nb, nc, scenario.winsor)
    return cluster_arms(nb, db, nc, dc, proportion=scenario.proportion)


def rates(scenario: Scenario, sims: int, lift: float, seed: int) -> dict[str, tuple[float, float]]:
    """(PROMOTE, REJECT) rate per mode."""
    data = scenario.draw(np.random.default_rng(seed), sims, lift)
    found = {}
    for mode in ("fixed", "fixed, peeking", "sequential"):
        days = [DAYS - 1] if mode == "fixed" else range(DAYS)
        decided = np.zeros(sims, dtype=int)  # 0 continue, 1 promote, -1 reject
        for day in days:
            if scenario.unit_level:
                call = _unit_calls(data, day, sequential=mode == "sequential")
                decided = np.where(decided == 0, call, decided)
                continue
            b, c = _look(data, day, scenario)
            comp = compare(
                b,
                c,
                alpha=ALPHA,
                df=welch_df(b, c),
                sequential=mode == "sequential",
                fraction=(day + 1) / DAYS,
            )
            sig = np.nan_to_num(comp.p_value, nan=1.0) < ALPHA
            call = np.where(sig, np.sign(comp.abs_lift), 0).astype(int)
            decided = np.where(decided == 0, call, decided)
        found[mode] = (float(np.mean(decided == 1)), float(np.mean(decided == -1)))
    return found


def _unit_calls(data: tuple[NDArray, ...], day: int, *, sequential: bool) -> NDArray:
    """Per experiment: two_proportion_test on the counts (Fisher's exact test when small)."""
    nb, db, nc, dc = (d[..., day].sum(-1) for d in data)
    calls = []
    for sb, n_b, sc, n_c in zip(nb, db, nc, dc, strict=True):
        r = two_proportion_test(
            int(sb), int(n_b), int(sc), int(n_c), sequential=sequential, fraction=(day + 1) / DAYS
        )
        calls.append(0 if not r.testable or r.p_value >= ALPHA else int(np.sign(r.abs_lift)))
    return np.asarray(calls)


def table(sims: int) -> str:
    """The Markdown tables of STATISTICS.md."""
    lines = [
        f"A/A ({sims:,} experiments each): false PROMOTE / false REJECT",
        "",
        "| design | fixed (1 look) | fixed, peeking daily | sequential (14 looks) |",
        "|---|---|---|---|",
    ]
    for i, s in enumerate(SCENARIOS):
        r = rates(s, sims, 0.0, seed=100 + i)
        cells = " | ".join(f"{p:.1%} / {q:.1%}" for p, q in r.values())
        lines.append(f"| {s.name} | {cells} |")
    lines += ["", f"Power ({sims:,} experiments): PROMOTE rate with a true lift", ""]
    lines += ["| design | fixed (1 look) | sequential (14 looks) | ratio |", "|---|---|---|---|"]
    for lift, s in ((0.20, DEMO), (0.18, SCENARIOS[0])):
        r = rates(s, sims, lift, seed=7)
        fixed, seq = r["fixed"][0], r["sequential"][0]
        lines.append(f"| {s.name}, +{lift:.0%} | {fixed:.1%} | {seq:.1%} | {seq / fixed:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sims", type=int, default=4000, help="experiments per scenario")
    print(table(parser.parse_args().sims))


if __name__ == "__main__":
    main()
