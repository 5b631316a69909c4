"""Alert rules fire on the days (and groups) where a KPI crosses its threshold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from engine.events import EventStore
from engine.kpi import AlertHit, compute_kpis, evaluate_alerts
from sop_models.errors import CheckError
from tests.support.kpi_data import DATA_A, make_store

CHANGE_PUSH = "换推送时间和标题 / change push time and title"
ADD_TOPICS = "增加话题 / add topics"


@dataclass(frozen=True)
class Rule:
    """Stands in for the SOP document's alert rule objects."""

    metric: str
    op: str
    threshold: float
    advice: str


@pytest.fixture
def store(tmp_path: Path) -> EventStore:
    return make_store(tmp_path, DATA_A)


def test_open_rate_under_20_percent_fires_for_the_group_and_day(store: EventStore) -> None:
    rows = compute_kpis(store, metrics=["open_rate"], by=("group", "day"))
    hits = evaluate_alerts(rows, [Rule("open_rate", "<", 0.20, CHANGE_PUSH)])
    assert hits == [AlertHit(date(2026, 8, 4), "二群", "open_rate", 0.0, 0.2, "<", CHANGE_PUSH)]
    assert str(hits[0]) == f"2026-08-04 二群: open_rate 0 < 0.2 -> {CHANGE_PUSH}"


def test_day_totals_respect_strict_and_inclusive_operators(store: EventStore) -> None:
    rows = compute_kpis(store, metrics=["open_rate"], by=("day",))  # 08-04: 1/5 = 0.2
    assert evaluate_alerts(rows, [Rule("open_rate", "<", 0.2, CHANGE_PUSH)]) == []
    hits = evaluate_alerts(rows, [Rule("open_rate", "<=", 0.2, CHANGE_PUSH)])
    assert [(h.day, h.group, h.value) for h in hits] == [(date(2026, 8, 4), None, 0.2)]


def test_several_rules_give_hits_sorted_by_day(store: EventStore) -> None:
    rows = compute_kpis(
        store,
        metrics=["open_rate", "interaction_rate"],
        by=("day",),
        start=date(2026, 8, 3),
        end=date(2026, 8, 6),
    )
    rules = [
        Rule("interaction_rate", "<", 0.2, ADD_TOPICS),  # 08-05: 1/8
        Rule("open_rate", ">=", 0.5, "keep this push slot"),  # 08-03 and 08-05: 1/2
    ]
    hits = evaluate_alerts(rows, rules)
    assert [(h.day, h.metric, h.advice) for h in hits] == [
        (date(2026, 8, 3), "open_rate", "keep this push slot"),
        (date(2026, 8, 5), "interaction_rate", ADD_TOPICS),
        (date(2026, 8, 5), "open_rate", "keep this push slot"),
    ]


def test_rows_may_be_plain_mappings_and_missing_values_never_fire() -> None:
    rows = [
        {"metric": "roi", "day": date(2026, 8, 4), "value": None},
        {"metric": "roi", "day": date(2026, 8, 5), "value": 0.8},
    ]
    hits = evaluate_alerts(rows, [Rule("roi", "<", 1.0, "stop paid traffic")])
    assert [(h.day, h.value) for h in hits] == [(date(2026, 8, 5), 0.8)]


def test_bad_rules_and_rows_without_days_are_refused(store: EventStore) -> None:
    rows = compute_kpis(store, metrics=["open_rate"], by=("day",))
    with pytest.raises(CheckError, match="unknown operator '=='"):
        evaluate_alerts(rows, [Rule("open_rate", "==", 0.2, CHANGE_PUSH)])
    with pytest.raises(CheckError, match="unknown metric 'opens'"):
        evaluate_alerts(rows, [Rule("opens", "<", 0.2, CHANGE_PUSH)])
    by_version = compute_kpis(store, metrics=["open_rate"], by=("version",))
    with pytest.raises(CheckError, match="need KPI rows by day"):
        evaluate_alerts(by_version, [Rule("open_rate", "<", 0.2, CHANGE_PUSH)])
