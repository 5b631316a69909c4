"""Collisions and quiet hours with fixed clocks: a collision warned and resolved by priority,
a 23:58 welcome deferred to the morning (and planned by the next day's window only)."""

from __future__ import annotations

from datetime import date
from typing import Any

from engine.planner import join_window
from sop_models.i18n import use_language
from tests.support.planning import G, J, by_slot, dates, local, run, sop

LONG_AGO = date(2025, 1, 1)
GROUP = [G("g1", "一群", LONG_AGO)]
WEDNESDAY = date(2026, 9, 9)
HI = {"id": "hi", "variables": ["member_name"], "body": "欢迎 {{ member_name }}"}
T = {"id": "t", "variables": ["date"], "body": "{{ date }} 推送"}


def welfare_and_sale(on_collision: str, sale_priority: int = 10) -> Any:
    welfare = {"id": "welfare", "name": "福利", "time": "20:00", "template": "t"}
    sale = {
        "id": "wed",
        "weekday": "wed",
        "time": "20:10",
        "template": "t",
        "priority": sale_priority,
    }
    return sop(
        schedule={"columns": [welfare], "spacing": {"on_collision": on_collision}},
        playbooks={"mature": {"flash_sale": sale}},
    )


def test_two_posts_within_30_minutes_are_warned_about_and_both_kept_when_on_collision_is_warn() -> (
    None
):
    result = run(welfare_and_sale("warn"), GROUP, date(2026, 9, 7), date(2026, 9, 13))
    assert len(by_slot(result.actions, "columns.welfare")) == 7
    (warning,) = [w for w in result.warnings if w.startswith("撞车")]
    assert "columns.welfare 与 flash_sale.wed 在 1 个群·日相距过近" in warning
    assert "g1 2026-09-09 20:00/20:10（相隔 10 分钟）：两条都保留" in warning
    marked = {a.slot: a.extra.get("collision") for a in result.actions if a.at.date() == WEDNESDAY}
    assert marked == {  # each post of the pair names the other (the console's week view shows it)
        "columns.welfare": "10 min from flash_sale.wed",
        "flash_sale.wed": "10 min from columns.welfare",
    }
    assert all("collision" not in a.extra for a in result.actions if a.at.date() != WEDNESDAY)


def test_planner_warnings_are_in_english_when_the_language_is_english() -> None:
    with use_language("en"):
        kept = run(welfare_and_sale("warn"), GROUP, date(2026, 9, 7), date(2026, 9, 13))
        dropped = run(welfare_and_sale("drop"), GROUP, date(2026, 9, 7), date(2026, 9, 13))
    (warning,) = [w for w in kept.warnings if w.startswith("collision")]
    assert warning == (
        "collision (gap 30 min): columns.welfare and flash_sale.wed in 1 group-day(s), "
        "first g1 2026-09-09 20:00/20:10 (10 min apart): kept both (priority keeps flash_sale.wed)"
    )
    assert any("dropped columns.welfare, kept flash_sale.wed" in w for w in dropped.warnings)


def test_a_collision_is_resolved_by_the_declared_priority() -> None:
    window = (date(2026, 9, 7), date(2026, 9, 13))
    dropped = run(welfare_and_sale("drop"), GROUP, *window)
    welfare = by_slot(dropped.actions, "columns.welfare")
    assert WEDNESDAY not in dates(welfare) and len(welfare) == 6
    assert len(by_slot(dropped.actions, "flash_sale.wed")) == 1
    assert any("丢弃 columns.welfare" in w for w in dropped.warnings)
    shifted = run(welfare_and_sale("shift", sale_priority=-5), GROUP, *window)
    (sale,) = by_slot(shifted.actions, "flash_sale.wed")
    assert sale.at == local(2026, 9, 9, 20, 30)  # the column wins; the sale waits the gap
    assert sale.key == "test-sop:1.0:g1:flash_sale.wed:2026-09-09"
    assert sale.extra["collision"] == "moved from 20:10 (columns.welfare)"


def columns_doc(*columns: tuple[str, str, int], **schedule: Any) -> Any:
    """Columns (id, time, priority) every day; `schedule` adds spacing or quiet hours."""
    found = [
        {"id": cid, "name": cid, "time": at, "template": "t", "priority": priority}
        for cid, at, priority in columns
    ]
    return sop(schedule={"columns": found, **schedule})


def times_on(result: Any, day: date) -> dict[str, str]:
    return {a.slot: f"{a.at:%H:%M}" for a in result.actions if a.at.date() == day}


def test_shifting_a_chain_leaves_no_two_posts_closer_than_the_gap() -> None:
    doc = columns_doc(("a", "20:00", 1), ("b", "20:10", 2), ("c", "20:20", 3))
    result = run(doc, GROUP, WEDNESDAY, WEDNESDAY)
    assert times_on(result, WEDNESDAY) == {
        "columns.c": "20:20",  # the highest priority keeps its time
        "columns.b": "20:50",
        "columns.a": "21:20",
    }
    assert all("-" not in w.split("相隔")[-1][:4] for w in result.warnings if "相隔" in w)
    assert any("20:00/20:20（相隔 20 分钟）：columns.a 移至 21:20" in w for w in result.warnings)


def test_a_shifted_post_is_compared_with_every_kept_post_not_only_its_neighbour() -> None:
    doc = columns_doc(("a", "08:00", 0), ("b", "08:10", 5), ("x", "08:00", 0))
    at = sorted(times_on(run(doc, GROUP, WEDNESDAY, WEDNESDAY), WEDNESDAY).values())
    assert at == ["08:10", "08:40", "09:10"]


def test_the_declared_priority_applies_when_on_collision_is_not_given() -> None:
    doc = columns_doc(("welfare", "20:00", 0), ("sale", "20:10", 10))
    assert doc.schedule.spacing.declared_collision() is None
    moved = run(doc, GROUP, WEDNESDAY, WEDNESDAY).actions
    assert {a.slot: f"{a.at:%H:%M}" for a in moved} == {
        "columns.sale": "20:10",
        "columns.welfare": "20:40",
    }
    equal = run(columns_doc(("a", "20:00", 0), ("b", "20:10", 0)), GROUP, WEDNESDAY, WEDNESDAY)
    assert times_on(equal, WEDNESDAY) == {"columns.a": "20:00", "columns.b": "20:10"}
    assert any("两条都保留（优先级相同）" in w for w in equal.warnings)


def test_a_shift_never_moves_a_post_into_the_quiet_hours() -> None:
    quiet = {"start": "22:00", "end": "08:00"}
    doc = columns_doc(("a", "21:40", 5), ("b", "21:50", 0), quiet_hours=quiet)
    result = run(doc, GROUP, WEDNESDAY, WEDNESDAY)
    assert times_on(result, WEDNESDAY) == {"columns.a": "21:40"}
    assert any("22:00 前已无空档，丢弃 columns.b" in w for w in result.warnings)


def test_a_shift_never_moves_a_post_past_midnight() -> None:
    doc = columns_doc(("a", "23:40", 5), ("b", "23:50", 0))
    result = run(doc, GROUP, WEDNESDAY, date(2026, 9, 10))
    assert [(f"{a.at:%m-%d %H:%M}", a.slot) for a in result.actions] == [
        ("09-09 23:40", "columns.a"),
        ("09-10 23:40", "columns.a"),
    ]
    assert any("24:00 前已无空档，丢弃 columns.b" in w for w in result.warnings)


def quiet_doc(action: str = "defer", **quiet: Any) -> Any:
    return sop(
        schedule={
            "on_join": [{"id": "welcome", "template": "hi"}],
            "quiet_hours": {"action": action, **quiet},
        },
        templates=[HI, T],
    )


def test_a_welcome_at_23_58_is_deferred_to_08_00_and_planned_by_the_next_days_window() -> None:
    doc = quiet_doc()
    joins = [J("g1", "m1", "小红", local(2026, 9, 3, 23, 58))]
    same_day = run(doc, GROUP, date(2026, 9, 3), date(2026, 9, 3), joins=joins)
    assert not same_day.actions
    next_day = run(doc, GROUP, date(2026, 9, 4), date(2026, 9, 4), joins=joins)
    (welcome,) = next_day.actions
    assert welcome.at == local(2026, 9, 4, 8, 0) and welcome.text == "欢迎 小红"
    assert welcome.key == "test-sop:1.0:g1:on_join.welcome:2026-09-04:merged"
    assert welcome.extra == {"quiet_hours": "deferred from 23:58", "merged": "1", "members": "m1"}
    low, _ = join_window([doc], date(2026, 9, 4), date(2026, 9, 4))
    assert low <= local(2026, 9, 3, 23, 58)
    dropped = run(quiet_doc("drop"), GROUP, date(2026, 9, 4), date(2026, 9, 4), joins=joins)
    assert not dropped.actions


def test_without_quiet_hours_a_23_58_welcome_goes_out_at_once() -> None:
    doc = sop(schedule={"on_join": [{"id": "welcome", "template": "hi"}]}, templates=[HI, T])
    joins = [J("g1", "m1", "小红", local(2026, 9, 3, 23, 58))]
    (welcome,) = run(doc, GROUP, date(2026, 9, 3), date(2026, 9, 3), joins=joins).actions
    assert welcome.at == local(2026, 9, 3, 23, 58)


def test_a_column_inside_custom_quiet_hours_moves_to_their_end_with_a_warning() -> None:
    late = {"id": "late", "name": "夜读", "time": "22:30", "template": "t"}
    doc = sop(
        schedule={"columns": [late], "quiet_hours": {"start": "22:00", "end": "07:30"}},
        templates=[HI, T],
    )
    result = run(doc, GROUP, date(2026, 9, 4), date(2026, 9, 5))
    assert [a.at for a in result.actions] == [local(2026, 9, 4, 7, 30), local(2026, 9, 5, 7, 30)]
    assert result.actions[0].key == "test-sop:1.0:g1:columns.late:2026-09-03"
    assert result.actions[0].text == "2026-09-03 推送"
    assert any("免打扰时段 22:00-07:30：columns.late" in w for w in result.warnings)


def test_joins_deferred_out_of_one_night_become_one_merged_welcome_with_a_stable_key() -> None:
    doc = quiet_doc()
    night = [
        J("g1", "m1", "小红", local(2026, 9, 3, 23, 58)),
        J("g1", "m2", "小蓝", local(2026, 9, 4, 0, 30)),
        J("g1", "m3", "小绿", local(2026, 9, 4, 7, 59)),
        J("g1", "m4", "小紫", local(2026, 9, 4, 8, 0)),  # after the quiet hours: its own welcome
    ]
    day = date(2026, 9, 4)
    merged, own = run(doc, GROUP, day, day, joins=night).actions
    assert merged.at == own.at == local(2026, 9, 4, 8, 0)
    assert merged.text == "欢迎 小红、小蓝、小绿" and merged.member_id is None
    assert merged.key == "test-sop:1.0:g1:on_join.welcome:2026-09-04:merged"
    assert merged.extra == {
        "quiet_hours": "deferred from 23:58-07:59",
        "merged": "3",
        "members": "m1,m2,m3",
    }
    assert own.key == "test-sop:1.0:g1:on_join.welcome:2026-09-04:m4" and own.text == "欢迎 小紫"
    # planned before the later joins were known, the morning welcome has the same key: the
    # ledger sends one merged welcome, never a single one for the first joiner besides it
    early = run(doc, GROUP, day, day, joins=night[:1]).actions
    assert [a.key for a in early] == [merged.key]
    three = run(doc, GROUP, day, day, joins=night[:3]).actions
    assert [a.key for a in three] == [merged.key]


def test_merged_welcomes_are_per_group_and_dropping_quiet_hours_merge_nothing() -> None:
    two = [G("g1", "一群", LONG_AGO), G("g2", "二群", LONG_AGO)]
    night = [
        J("g1", "m1", "小红", local(2026, 9, 3, 23, 0)),
        J("g2", "m2", "小蓝", local(2026, 9, 3, 23, 30)),
        J("g1", "m3", "小绿", local(2026, 9, 4, 1, 0)),
    ]
    day = date(2026, 9, 4)
    actions = run(quiet_doc(), two, day, day, joins=night).actions
    assert {(a.group_id, a.text, a.extra["merged"]) for a in actions} == {
        ("g1", "欢迎 小红、小绿", "2"),
        ("g2", "欢迎 小蓝", "1"),
    }
    assert not run(quiet_doc("drop"), two, day, day, joins=night).actions
