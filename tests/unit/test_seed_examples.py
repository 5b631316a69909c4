"""The seed articles' own SOPs (examples/seeds/), planned against what the articles say:
workday 10:00/15:00/20:00 posts, the Wednesday flash sale with its countdown, the cold start's
day 1 and day 3, the member-day countdown, month-end RFM, the weekly group buy, V1.0/V2.0."""

from __future__ import annotations

from datetime import date

import pytest

from sop_models import SopDocument, load_document
from tests.support.examples import EXAMPLES
from tests.support.planning import G, J, by_slot, local, run

SEEDS = EXAMPLES / "seeds"
MATURE = [G("g1", "通勤一群", date(2026, 8, 1))]


def seed(name: str) -> SopDocument:
    return load_document(SEEDS / f"{name}.yaml")


def test_the_folder_holds_the_seed_sops() -> None:
    names = sorted(p.stem for p in SEEDS.glob("*.yaml"))
    assert names == ["daily-timetable", "group-buy-jielong", "welcome-v1", "welcome-v2"]


def test_a_mature_workday_posts_at_10_15_and_20() -> None:
    result = run(seed("daily-timetable"), MATURE, date(2026, 9, 14), date(2026, 9, 14))
    assert [(a.at, a.slot) for a in result.actions] == [
        (local(2026, 9, 14, 10), "columns.knowledge"),
        (local(2026, 9, 14, 15), "columns.topic"),
        (local(2026, 9, 14, 20), "columns.welfare"),
    ]
    assert result.actions[0].text == "【2026-09-14 穿搭干货】今天讲通勤西装的三种内搭。"


def test_wednesday_brings_the_flash_sale_with_countdown_poster_and_coupon_instead_of_welfare() -> (
    None
):
    result = run(seed("daily-timetable"), MATURE, date(2026, 9, 16), date(2026, 9, 16))
    evening = [(a.at, a.slot) for a in result.actions if a.at.hour >= 19]
    assert evening == [
        (local(2026, 9, 16, 19), "flash_sale.wednesday-flash.countdown"),
        (local(2026, 9, 16, 20), "flash_sale.wednesday-flash"),
    ]
    sale = by_slot(result.actions, "flash_sale.wednesday-flash")[0]
    assert "满 299 减 50 秒杀券" in sale.text
    assert any("丢弃 columns.welfare" in w for w in result.warnings)


def test_the_national_day_holiday_has_no_workday_post_and_no_flash_sale() -> None:
    result = run(seed("daily-timetable"), MATURE, date(2026, 10, 1), date(2026, 10, 7))
    assert [a.slot for a in result.actions] == []


def test_cold_start_day_1_rules_and_day_3_first_topic_for_a_new_group() -> None:
    group = [G("g2", "通勤二群", date(2026, 9, 14))]
    result = run(seed("daily-timetable"), group, date(2026, 9, 14), date(2026, 9, 16))
    rules = by_slot(result.actions, "cold_start.day1-rules")
    topic = by_slot(result.actions, "cold_start.day3-topic")
    assert [a.at for a in rules] == [local(2026, 9, 14, 9, 30)]
    assert "城市 + 职业 + 最想解决的穿搭难题" in rules[0].text
    assert [a.at for a in topic] == [local(2026, 9, 16, 20, 30)]
    assert not by_slot(result.actions, "columns.welfare")  # mature-phase columns wait


def test_the_member_day_countdown_comes_3_days_before_and_on_the_day() -> None:
    result = run(seed("daily-timetable"), MATURE, date(2026, 9, 1), date(2026, 9, 30))
    countdown = [a for a in result.actions if a.slot.startswith("columns.member-day")]
    assert [(a.at.date(), a.text) for a in countdown] == [
        (date(2026, 9, 15), "会员日还有 3 天，先把想要的款加购物车！"),
        (date(2026, 9, 18), "今天会员日，全场会员价！"),
    ]
    (rfm,) = by_slot(result.actions, "rfm.month-end")
    assert rfm.at == local(2026, 9, 30, 21) and rfm.channel == "tasklist"


def test_the_weekly_group_buy_opens_monday_ships_at_10_and_closes_wednesday_at_24_00() -> None:
    result = run(
        seed("group-buy-jielong"), MATURE, date(2026, 9, 14), date(2026, 9, 20), kinds={"campaign"}
    )
    assert [(a.at, a.slot.rsplit(".", 1)[1]) for a in result.actions] == [
        (local(2026, 9, 14, 12), "open"),
        (local(2026, 9, 15, 19), "push"),
        (local(2026, 9, 16, 21), "last-call"),
    ]
    opened, push, last = (a.text for a in result.actions)
    assert "满 10 单就发货，3 小时冲 200 单，前 50 单加赠一盒蓝莓" in opened
    assert "还有 1 天截单" in push
    assert last == "最后召集：拼团价到 2026-09-16 24:00 截止，明天统一配送。"


@pytest.mark.parametrize("version", ["welcome-v1", "welcome-v2"])
def test_both_welcome_versions_greet_a_joiner_at_once(version: str) -> None:
    joins = [J("g1", "m1", "小美", local(2026, 9, 14, 12, 5))]
    result = run(seed(version), MATURE, date(2026, 9, 14), date(2026, 9, 14), joins=joins)
    (welcome,) = by_slot(result.actions, "on_join.welcome")
    assert welcome.at == local(2026, 9, 14, 12, 5) and welcome.text.startswith("@小美 ")


def test_v2_differs_from_v1_only_in_its_three_part_welcome() -> None:
    v1, v2 = seed("welcome-v1"), seed("welcome-v2")
    assert v1.base_content.welcome != v2.base_content.welcome
    assert v1.model_copy(update={"base_content": v2.base_content}) == v2
    assert "签到 3 天" in v2.base_content.welcome.value  # value: what the member gets here
