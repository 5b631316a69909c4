"""The content calendar in the planner: rotation through the library by rule, explicit dates
first, gaps and repeats warned about, validation by field path."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

import pytest

from engine.planner import Layer, plan_layers
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
    (gap,) = [w for w in result.warnings if "缺口" in w]
    assert "columns.am 在 2026-09-14、2026-09-16、2026-09-17、2026-09-18 没有内容" in gap
    fixed = doc_with({"schedule": schedule}, content_tag="202501 促活-干货-图文")
    repeated = run(fixed, GROUP, *WEEK)
    assert [a.text for a in repeated.actions] == ["一", "福利", "一", "一", "一"]
    (repeat,) = [w for w in repeated.warnings if "重复" in w]
    assert "columns.am 在 14 天内重复使用同一内容：202501 促活-干货-图文 09-14/09-16" in repeat


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


FOUR = [item(f"20250{n} 促活-干货-图文", title) for n, title in enumerate("一二三四", 1)]
PM = {"id": "pm", "name": "下午", "time": "15:00", "template": "title"}


def skipping_doc(skip_days: int, *, pm_tag: str = "202502 促活-干货-图文") -> Any:
    """`am` rotates through 一..四 on workdays; `pm` posts 二 (a fixed item) every day first."""
    data = copy.deepcopy(BASE) | {"content_library": FOUR, "templates": [TITLE]}
    rotate = {"category": "促活", "start": "2026-09-14", "skip_recent_days": skip_days}
    am = {"id": "am", "name": "干货", "time": "10:00", "days": "workdays", "template": "title"}
    am["content"] = {"rotate": rotate, "repeat_days": 0}
    data["schedule"] = {"columns": [PM | {"content_tag": pm_tag}, am]}
    return validate_data(data)


def morning(result: Any) -> list[str]:
    return [a.text for a in by_slot(result.actions, "columns.am")]


def test_a_rotation_skips_items_used_in_the_last_n_days_by_any_column() -> None:
    assert morning(run(skipping_doc(0), GROUP, *WEEK)) == ["一", "二", "三", "四", "一"]
    # 二 goes out every afternoon: never in the morning; 一 came back after 3 days, not 2
    assert morning(run(skipping_doc(2), GROUP, *WEEK)) == ["一", "三", "四", "一", "三"]


def test_a_skipping_rotation_gives_a_date_the_same_item_whichever_window_plans_it() -> None:
    doc = skipping_doc(2)
    week = morning(run(doc, GROUP, *WEEK))
    assert morning(run(doc, GROUP, date(2026, 9, 17), date(2026, 9, 18))) == week[3:]
    later = morning(run(doc, GROUP, date(2026, 9, 21), date(2026, 9, 21)))
    assert later == morning(run(doc, GROUP, date(2026, 9, 14), date(2026, 9, 21)))[-1:]


def test_a_rotation_skips_the_recent_content_it_is_given() -> None:
    recent = {date(2026, 9, 13): {"202501 促活-干货-图文"}}
    result = run(skipping_doc(2), GROUP, *WEEK, recent_content=recent)
    assert morning(result)[0] == "三"  # 一 went out yesterday (given), 二 goes out today (pm)
    outside = {date(2026, 9, 11): {"202501 促活-干货-图文"}}  # 3 days before: not recent
    assert morning(run(skipping_doc(2), GROUP, *WEEK, recent_content=outside))[0] == "一"


def test_an_overlays_rotation_skips_what_the_base_layer_posts() -> None:
    base = skipping_doc(0, pm_tag="202503 促活-干货-图文")  # the base's afternoon posts 三
    overlay_data = copy.deepcopy(BASE) | {"id": "promo", "content_library": FOUR}
    overlay_data["templates"] = [TITLE]
    rotate = {"category": "促活", "start": "2026-09-14", "skip_recent_days": 1}
    column = {"id": "eve", "name": "晚间", "time": "21:00", "template": "title"}
    column["content"] = {"rotate": rotate, "repeat_days": 0}
    overlay_data["schedule"] = {"columns": [column]}
    overlay = validate_data(overlay_data)
    result = plan_layers(
        base=Layer(base, "1.0"), overlays=[Layer(overlay, "1.0")], groups=GROUP, start=WEEK[0],
        end=WEEK[0] + timedelta(1),
    )  # fmt: skip
    evening = [a.text for a in by_slot(result.actions, "columns.eve")]
    assert evening == ["二", "四"]  # Mon: 一 (am) and 三 (pm) taken; Tue: 二 (am), 三 (pm)


def test_skip_recent_days_is_in_the_schema_and_refuses_a_negative_number() -> None:
    with pytest.raises(DocumentInvalid, match=r"rotate\.skip_recent_days"):
        doc_with({"rotate": {"category": "促活", "skip_recent_days": -1}})


def jielong_with(content: dict[str, Any]) -> Any:
    data = copy.deepcopy(BASE) | {"content_library": LIBRARY, "templates": [TITLE]}
    action = {"id": "open", "day": 1, "time": "20:00", "template": "title", "content": content}
    campaign = {
        "id": "jielong",
        "name": "周接龙",
        "kind": "group_buy",
        "window": {"weekly": {"first_weekday": "mon", "last_weekday": "wed"}},
        "actions": [action],
        "group_buy": {"product": "水果箱", "ships_at_orders": 10},
    }
    data["playbooks"] = {"campaigns": [campaign]}
    return validate_data(data)


def test_a_campaign_action_rotates_one_item_per_run_and_takes_a_scheduled_date_first() -> None:
    rotate = {"category": "促活", "start": "2026-09-07"}
    doc = jielong_with(
        {"rotate": rotate, "schedule": [{"date": "2026-09-21", "tag": LIBRARY[1]["tag"]}]}
    )
    result = run(doc, GROUP, date(2026, 9, 7), date(2026, 10, 4))
    opens = by_slot(result.actions, "campaigns.jielong.open")
    assert dates(opens) == [date(2026, 9, d) for d in (7, 14, 21, 28)]
    # runs 0, 1, 2, 3 of the rotation 一, 二, 三; the 21st is scheduled (福利)
    assert [a.text for a in opens] == ["一", "二", "福利", "一"]
    assert opens[0].content_tag == "202501 促活-干货-图文"
    later = run(doc, GROUP, date(2026, 9, 28), date(2026, 9, 28)).actions
    assert [a.text for a in later] == ["一"]  # every window agrees


def test_a_campaign_action_without_an_item_is_a_gap_and_unknown_tags_are_refused() -> None:
    doc = jielong_with({"schedule": [{"date": "2026-09-14", "tag": LIBRARY[0]["tag"]}]})
    result = run(doc, GROUP, date(2026, 9, 7), date(2026, 9, 14))
    assert [a.at.date() for a in result.actions] == [date(2026, 9, 14)]
    assert any(
        w.startswith("内容日历缺口：campaigns.jielong.open 在 2026-09-07") for w in result.warnings
    )
    with pytest.raises(DocumentInvalid, match=r"actions\[0\]\.content\.schedule\[0\]\.tag"):
        jielong_with({"schedule": [{"date": "2026-09-14", "tag": "202512 促活-没有-图文"}]})
