"""The pure planner: phases, day boundaries at +08:00, joins, keys, the window, quota."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from engine.planner import PlanError
from engine.quota import quota_warnings
from tests.support.examples import example
from tests.support.planning import G, J, by_slot, dates, local, run, sop

COLD = {
    "cold_start": {
        "days": 3,
        "actions": [
            {"id": "first", "day": 1, "time": "00:00", "template": "t"},
            {"id": "third", "day": 3, "time": "00:00", "template": "t"},
            {"id": "third-late", "day": 3, "time": "23:59", "template": "t"},
        ],
    }
}


def test_cold_start_day_three_starts_at_local_midnight_which_is_16_utc_the_day_before() -> None:
    result = run(
        sop(playbooks=COLD),
        [G("g1", "一群", date(2026, 9, 1))],
        date(2026, 8, 25),
        date(2026, 9, 10),
    )
    (third,) = by_slot(result.actions, "cold_start.third")
    assert third.at == local(2026, 9, 3) and third.at.utcoffset() == timedelta(hours=8)
    assert third.at.astimezone(UTC) == datetime(2026, 9, 2, 16, 0, tzinfo=UTC)
    assert third.key == "test-sop:1.0:g1:cold_start.third:2026-09-03"
    (late,) = by_slot(result.actions, "cold_start.third-late")
    assert late.at == local(2026, 9, 3, 23, 59) and late.key.endswith(":2026-09-03")
    assert by_slot(result.actions, "cold_start.first")[0].at == local(2026, 9, 1)
    assert {a.kind for a in result.actions} == {"cold_start"}


def test_join_at_2359_local_is_that_days_welcome_and_a_minute_later_is_the_next_days() -> None:
    doc = sop(
        schedule={"on_join": [{"id": "welcome", "template": "hi"}]},
        templates=[{"id": "hi", "variables": ["member_name"], "body": "欢迎 {{ member_name }}"}],
    )
    joins = [
        J("g1", "m1", "小红", datetime(2026, 9, 3, 15, 59, tzinfo=UTC)),  # 23:59 local
        J("g1", "m2", "小蓝", datetime(2026, 9, 3, 16, 0, tzinfo=UTC)),  # 00:00 local, next day
    ]
    group = G("g1", "一群", date(2026, 9, 1))
    day3 = run(doc, [group], date(2026, 9, 3), date(2026, 9, 3), joins=joins)
    assert [a.key for a in day3.actions] == ["test-sop:1.0:g1:on_join.welcome:2026-09-03:m1"]
    day4 = run(doc, [group], date(2026, 9, 4), date(2026, 9, 4), joins=joins)
    assert [a.key for a in day4.actions] == ["test-sop:1.0:g1:on_join.welcome:2026-09-04:m2"]
    assert day4.actions[0].at == local(2026, 9, 4)


def test_on_join_actions_go_to_each_member_after_their_delay_with_chinese_names() -> None:
    doc = example("mombaby-refined")
    joins = [
        J("g1", "wm-001", "小红", local(2026, 9, 5, 10, 15)),
        J("g1", "wm-002", "豆豆妈", local(2026, 9, 5, 11, 0)),
        J("other", "wm-003", "路人", local(2026, 9, 5, 11, 0)),  # not a planned group
    ]
    result = run(
        doc,
        [G("g1", "上海宝妈一群", date(2026, 9, 1))],
        date(2026, 9, 5),
        date(2026, 9, 5),
        joins=joins,
        kinds={"welcome"},
    )
    assert [(a.member_id, a.slot, a.at) for a in result.actions] == [
        ("wm-001", "on_join.welcome", local(2026, 9, 5, 10, 15)),
        ("wm-001", "on_join.self-intro", local(2026, 9, 5, 10, 45)),
        ("wm-002", "on_join.welcome", local(2026, 9, 5, 11, 0)),
        ("wm-002", "on_join.self-intro", local(2026, 9, 5, 11, 30)),
    ]
    first = result.actions[0]
    assert first.kind == "welcome" and first.text.startswith("@小红 欢迎新妈妈加入宝妈成长营！")
    assert result.actions[1].text.startswith("小红，和大家打个招呼吧")
    assert "宝宝月龄 + 所在城市" in result.actions[1].text


def test_mature_columns_wait_for_the_cold_start_while_unlisted_columns_run_from_day_one() -> None:
    doc = sop(
        schedule={
            "columns": [
                {"id": "early", "name": "早安", "time": "08:00", "template": "t"},
                {"id": "late", "name": "晚安", "time": "21:00", "template": "t"},
            ]
        },
        playbooks={**COLD, "mature": {"columns": ["late"]}},
    )
    result = run(doc, [G("g1", "一群", date(2026, 9, 1))], date(2026, 8, 30), date(2026, 9, 5))
    assert dates(by_slot(result.actions, "columns.early"))[0] == date(2026, 9, 1)
    assert dates(by_slot(result.actions, "columns.late")) == [date(2026, 9, d) for d in (4, 5)]
    assert min(a.at for a in result.actions) >= local(2026, 9, 1)  # nothing before day 1


def test_a_group_without_start_date_is_planned_as_mature_with_one_warning() -> None:
    doc = sop(
        schedule={"columns": [{"id": "late", "name": "晚安", "time": "21:00", "template": "t"}]},
        playbooks={**COLD, "mature": {"columns": ["late"]}},
    )
    result = run(
        doc,
        [G("g1", "一群"), G("g2", "二群", date(2026, 9, 1))],
        date(2026, 9, 1),
        date(2026, 9, 1),
    )
    assert [(a.group_id, a.slot) for a in result.actions] == [
        ("g2", "cold_start.first"),
        ("g1", "columns.late"),
    ]
    assert result.warnings == ["1 个群没有 start_date，按成熟期排期（不做冷启动）：g1"]


def test_planning_twice_gives_identical_actions_and_unique_keys() -> None:
    doc = example("mombaby-refined")
    groups = [G(f"g{i}", f"宝妈{i}群", date(2026, 8, 20 + i)) for i in range(5)]
    joins = [J("g1", f"m{i}", f"妈妈{i}", local(2026, 9, 2, 9, i)) for i in range(3)]
    joins.append(joins[0])  # the same join imported twice
    first = run(doc, groups, date(2026, 8, 15), date(2026, 9, 30), joins=joins)
    second = run(
        doc, list(reversed(groups)), date(2026, 8, 15), date(2026, 9, 30), joins=joins[::-1]
    )
    assert first.actions == second.actions
    keys = [a.key for a in first.actions]
    assert len(keys) == len(set(keys)) > 100
    assert first.actions == sorted(
        first.actions, key=lambda a: (a.at, a.group_id, a.slot, a.member_id or "")
    )


def test_the_window_keeps_local_midnight_of_the_first_day_and_2359_of_the_last_only() -> None:
    doc = sop(
        schedule={
            "columns": [
                {"id": "midnight", "name": "零点", "time": "00:00", "template": "t"},
                {"id": "last", "name": "末班", "time": "23:59", "template": "t"},
            ]
        },
        playbooks={
            "mature": {
                "flash_sale": {
                    "id": "sale",
                    "weekday": "thu",
                    "time": "00:30",
                    "template": "t",
                    "countdown": {"minutes_before": 60, "template": "t"},
                }
            }
        },
    )
    # 2026-09-02 is a Wednesday: the Thursday 00:30 sale's countdown is Wednesday 23:30.
    result = run(doc, [G("g1", "一群", date(2026, 1, 1))], date(2026, 9, 1), date(2026, 9, 2))
    assert result.actions[0].at == local(2026, 9, 1, 0, 0)
    assert [a.slot for a in result.actions[-2:]] == ["flash_sale.sale.countdown", "columns.last"]
    assert result.actions[-2].at == local(2026, 9, 2, 23, 30)
    assert result.actions[-2].key.endswith("flash_sale.sale.countdown:2026-09-02")
    assert result.actions[-1].at == local(2026, 9, 2, 23, 59)
    assert len(result.actions) == 5  # 2 days x 2 columns + the countdown; the sale is outside


def test_channel_target_and_sender_come_from_the_group_but_rfm_tasks_go_to_the_task_list() -> None:
    doc = example("mombaby-refined")
    group = G("g1", "上海宝妈一群", date(2026, 8, 1), "wecom_mass", "wrOgAAA1", "zhangsan")
    result = run(doc, [group], date(2026, 9, 30), date(2026, 9, 30))
    rfm = [a for a in result.actions if a.kind == "rfm"]
    others = [a for a in result.actions if a.kind != "rfm"]
    assert [(a.channel, a.target, a.sender) for a in rfm] == [("tasklist", "wrOgAAA1", "zhangsan")]
    assert "上海宝妈一群" in rfm[0].text and "2026-09-30" in rfm[0].text
    assert others and {(a.channel, a.target, a.sender) for a in others} == {
        ("wecom_mass", "wrOgAAA1", "zhangsan")
    }
    column = by_slot(result.actions, "columns.afternoon-topic")[0]
    assert column.content_tag == "202503 促活-妈妈话题-图文" and column.msgtype == "text"


def test_quota_warns_for_a_wecom_mass_group_over_its_monthly_cap_only() -> None:
    doc = example("flash-sale-promo")  # morning and evening deals every day: ~60 a month
    groups = [
        G("mass", "鲜果一群", date(2026, 1, 1), "wecom_mass", "wrOgMASS", "ajie"),
        G("robot", "鲜果二群", date(2026, 1, 1), "robot", "fruit-bot"),
    ]
    result = run(doc, groups, date(2026, 9, 1), date(2026, 9, 30))
    planned = sum(1 for a in result.actions if a.group_id == "mass")
    assert planned > 30
    assert result.warnings == [f"群 mass：2026-09：计划群发 {planned} 条，企业微信上限每月 30 条"]
    assert quota_warnings(result.actions, per_month=planned) == []
    assert len(quota_warnings(result.actions, per_month=planned - 1)) == 1


def test_kinds_limit_what_is_planned_and_bad_requests_are_refused() -> None:
    doc = example("mombaby-refined")
    groups = [G("g1", "一群", date(2026, 8, 1))]
    only = run(doc, groups, date(2026, 9, 1), date(2026, 9, 30), kinds={"rfm", "calendar"})
    assert {a.kind for a in only.actions} == {"rfm", "calendar"}
    with pytest.raises(PlanError, match="unknown action kind"):
        run(doc, groups, date(2026, 9, 1), date(2026, 9, 2), kinds={"columns"})
    with pytest.raises(PlanError, match="ends 2026-09-01 before it starts 2026-09-02"):
        run(doc, groups, date(2026, 9, 2), date(2026, 9, 1))
