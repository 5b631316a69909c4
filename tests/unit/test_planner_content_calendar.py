"""The content calendar in the planner: rotation through the library by rule, explicit dates
first, gaps and repeats warned about, validation by field path."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from sop_models import DocumentInvalid, validate_data
from tests.support.examples import example
from tests.support.planning import BASE, G, by_slot, dates, run

GROUP = [G("g1", "宝妈一群", date(2025, 1, 1))]
WEEK = (date(2026, 9, 14), date(2026, 9, 18))  # Monday..Friday, all workdays


def item(tag: str, title: str) -> dict[str, Any]:
    category = {"促活": "activation", "转化": "conversion"}[tag.split()[1].split("-")[0]]
    return {"tag": tag, "title": title, "category": category, "form": "text_image", "style": "warm"}


LIBRARY = [
    item("202501 促活-干货-图文", "一"),
    item("202502 转化-福利-图文", "福利"),
    item("202502 促活-干货-图文", "二"),
    item("202503 促活-干货-图文", "三"),
]
TITLE = {"id": "title", "variables": ["content_title"], "body": "{{ content_title }}"}


def doc_with(content: dict[str, Any], **column: Any) -> Any:
    data = copy.deepcopy(BASE)
    data["content_library"] = LIBRARY
    data["templates"] = [TITLE]
    data["schedule"] = {
        "columns": [
            {"id": "am", "name": "干货", "time": "10:00", "days": "workdays", "template": "title"}
            | column
            | {"content": content}
        ]
    }
    return validate_data(data)


def test_mombaby_posts_different_10_00_content_on_five_consecutive_workdays() -> None:
    result = run(example("mombaby-refined"), GROUP, *WEEK, kinds={"column"})
    morning = by_slot(result.actions, "columns.morning-knowledge")
    assert dates(morning) == [date(2026, 9, d) for d in range(14, 19)]
    assert len({a.content_tag for a in morning}) == 5
    assert len({a.content_title for a in morning}) == 5
    assert all(a.text.startswith(f"**今日育儿干货｜{a.content_title}**") for a in morning)


def test_a_rotation_cycles_in_library_order_and_every_window_agrees() -> None:
    doc = doc_with({"rotate": {"category": "促活", "start": "2026-09-14"}, "repeat_days": 0})
    week = run(doc, GROUP, *WEEK)
    assert [a.text for a in week.actions] == ["一", "二", "三", "一", "二"]
    thursday = run(doc, GROUP, date(2026, 9, 17), date(2026, 9, 17))
    assert [a.text for a in thursday.actions] == ["一"]
    before = run(doc, GROUP, date(2026, 9, 11), date(2026, 9, 11))  # the Friday before start
    assert [a.text for a in before.actions] == ["三"]


def test_explicit_dates_win_a_day_without_content_is_a_warned_gap_and_repeats_are_warned() -> None:
    schedule = [{"date": "2026-09-15", "tag": "202502 转化-福利-图文"}]
    doc = doc_with({"schedule": schedule, "repeat_days": 7})
    result = run(doc, GROUP, *WEEK)
    assert [(a.at.date(), a.text) for a in result.actions] == [(date(2026, 9, 15), "福利")]
    (gap,) = [w for w in result.warnings if "gap" in w]
    assert "columns.am has no content on 2026-09-14, 2026-09-16, 2026-09-17, 2026-09-18" in gap
    fixed = doc_with({"schedule": schedule}, content_tag="202501 促活-干货-图文")
    repeated = run(fixed, GROUP, *WEEK)
    assert [a.text for a in repeated.actions] == ["一", "福利", "一", "一", "一"]
    (repeat,) = [w for w in repeated.warnings if "repeats" in w]
    assert "columns.am repeats an item within 14 days: 202501 促活-干货-图文 09-14/09-16" in repeat


@pytest.mark.parametrize(
    ("content", "path", "fragment"),
    [
        (
            {"schedule": [{"date": "2026-09-15", "tag": "202509 促活-没有-图文"}]},
            "schedule.columns[0].content.schedule[0].tag",
            "unknown content tag",
        ),
        ({"rotate": {"topic": "没有"}}, "schedule.columns[0].content.rotate", "selects no item"),
        (
            {"schedule": [{"date": "2026-09-15", "tag": "202501 促活-干货-图文"}] * 2},
            "schedule.columns[0].content.schedule[1].date",
            "scheduled twice",
        ),
    ],
)
def test_a_content_calendar_that_cannot_work_is_refused_by_its_field_path(
    content: dict[str, Any], path: str, fragment: str
) -> None:
    with pytest.raises(DocumentInvalid) as info:
        doc_with(content)
    lines = [f"{p.path}: {p.message}" for p in info.value.problems]
    assert any(line.startswith(path) and fragment in line for line in lines), lines
