"""Messages attributed: a welcome's own open rate, per message and per slot, and a welcome-text
experiment measured on it while every other post's opens move."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path

import pytest

from engine.events import EventStore
from engine.kpi.compute import compute_kpis, unit_sums
from engine.kpi.messages import message_kpis
from engine.stats import ratio_delta_test
from engine.stats.result import MetricResult
from simulator import GroupSpec, SimulationParams, daily_plan, simulate

START = date(2025, 3, 3)
DAYS = 14
SOP = "welfare"


def _experiment(tmp_path: Path, effects: Mapping[str, Mapping[str, float]]) -> EventStore:
    groups = [
        GroupSpec(id=f"杭州{i:02d}群", size=150, start_date=START, sop_id=SOP) for i in range(16)
    ]
    versions = {g.id: ("2.0" if i % 2 else "1.0") for i, g in enumerate(groups)}
    # Groups alike (small group effect) so that 8 + 8 groups show a 1.6x lift clearly.
    params = SimulationParams(
        seed=7, joins_per_day=8.0, group_effect_sd=0.05, version_effects=effects
    )
    run = simulate(
        params=params,
        groups=groups,
        days=[START + timedelta(days=d) for d in range(DAYS)],
        plan_fn=lambda day, joiners: daily_plan(
            day=day, groups=groups, version_by_group=versions, joiners=joiners
        ),
        version_by_group=versions,
    )
    store = EventStore(tmp_path / "events")
    store.import_rows(run.events, "simulator")
    return store


def _verdict(store: EventStore, metric: str) -> MetricResult:
    table = unit_sums(store, metric, sop=SOP).to_pylist()
    arms = {
        v: ([r["num"] for r in table if r["sop_version"] == v],
            [r["den"] for r in table if r["sop_version"] == v])
        for v in ("1.0", "2.0")
    }  # fmt: skip
    (nb, db), (nc, dc) = arms["1.0"], arms["2.0"]
    return ratio_delta_test(
        nb, db, nc, dc, name=metric, kind="proportion", direction="higher", sequential=False
    )


def test_other_posts_opens_moving_leave_the_welcome_verdict_alone(tmp_path: Path) -> None:
    store = _experiment(tmp_path, {"2.0/column": {"open": 1.6}})
    diluted, welcome = _verdict(store, "open_rate"), _verdict(store, "welcome_open_rate")
    assert diluted.better  # every post's opens: the column posts' lift shows
    assert not welcome.better and welcome.p_value > 0.05  # the welcome's own: nothing moved
    assert abs(welcome.rel_lift) < abs(diluted.rel_lift)


def test_a_better_welcome_text_is_found_on_the_welcome_open_rate(tmp_path: Path) -> None:
    store = _experiment(tmp_path, {"2.0/welcome": {"open": 1.6}})
    welcome = _verdict(store, "welcome_open_rate")
    assert welcome.better and welcome.rel_lift > 0.2
    diluted = _verdict(store, "open_rate")  # every open over every delivery misses it
    assert not diluted.better and welcome.rel_lift > diluted.rel_lift


def test_per_message_and_per_slot_rates_are_each_message_own_opens(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "events")
    text = (
        "group,member,time,event,value,sop_version,sop,message\n"
        "一群,,2026-09-01T10:00+08:00,delivered,4,1.0,s,column.1000\n"
        "一群,a,2026-09-01T10:05+08:00,open,,1.0,s,column.1000\n"
        "一群,b,2026-09-01T10:06+08:00,open,,1.0,s,column.1000\n"
        "一群,n,2026-09-01T09:00+08:00,delivered,1,,,s:v1.0:on_join.welcome:2026-09-01\n"
        "一群,n,2026-09-01T09:01+08:00,open,,,,s:1.0:on_join.welcome:2026-09-01\n"
        "一群,m,2026-09-01T09:30+08:00,delivered,1,1.0,s,on_join.welcome\n"
        "一群,z,2026-09-01T11:00+08:00,open,,1.0,s,\n"
    )
    src = tmp_path / "e.csv"
    src.write_text(text, encoding="utf-8")
    store.import_file(src)
    rows = message_kpis(store, sop="s", by=("message",)).to_pylist()
    got = {r["message"]: (r["num"], r["den"]) for r in rows}
    assert got == {
        "s:1.0:column.1000:2026-09-01": (2, 4),
        "s:1.0:on_join.welcome:2026-09-01": (1, 2),
    }
    slots = message_kpis(store, sop="s", by=("slot", "version")).to_pylist()
    assert {(r["slot"], r["sop_version"], r["value"]) for r in slots} == {
        ("column.1000", "1.0", 0.5),
        ("on_join.welcome", "1.0", 0.5),
    }
    rates = compute_kpis(store, metrics=["open_rate", "welcome_open_rate"], by=()).to_pylist()
    assert {r["metric"]: (r["num"], r["den"]) for r in rates} == {
        "open_rate": (4, 6),  # every open over every delivery
        "welcome_open_rate": (1, 2),  # the welcome's own
    }
    with pytest.raises(Exception, match="message or slot"):
        message_kpis(store, sop="s", by=("group",))
