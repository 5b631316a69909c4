"""The planner on the calendar: lunar festivals, mainland workdays, month ends, weekly sales,
campaign windows."""

from __future__ import annotations

from datetime import date

from engine.planner import plan
from tests.support.examples import example
from tests.support.planning import G, by_slot, dates, local, run, sop

LONG_AGO = date(2025, 1, 1)


def test_qixi_campaign_follows_the_lunar_calendar_in_2026_and_2027() -> None:
    doc = example("mombaby-refined")  # 七夕 lunar 7/7, 3 days before, main action on day 4
    result = run(
        doc,
        [G("g1", "宝妈一群", LONG_AGO)],
        date(2026, 1, 1),
        date(2027, 12, 31),
        kinds={"campaign"},
    )
    main = by_slot(result.actions, "campaigns.qixi.main")
    assert [a.at for a in main] == [local(2026, 8, 19, 20), local(2027, 8, 8, 20)]
    assert (
        main[0].text
        == "七夕快乐！今晚在 宝妈一群 晒出你和宝宝的合照，抽 7 位妈妈送满 199 减 30 券～"
    )
    warmup = by_slot(result.actions, "campaigns.qixi.warmup")
    assert dates(warmup) == [date(2026, 8, 16), date(2027, 8, 5)]
    assert warmup[0].msgtype == "image"
    assert warmup[0].extra == {"image_path": "posters/mombaby/qixi.png"}


def test_mid_autumn_and_qixi_calendar_columns_are_sent_their_lead_days_early() -> None:
    mombaby = run(
        example("mombaby-refined"),
        [G("g1", "一群", LONG_AGO)],
        date(2026, 9, 1),
        date(2026, 9, 30),
        kinds={"calendar"},
    )
    (mid_autumn,) = mombaby.actions  # 中秋 2026-09-25, lead 2 days
    assert mid_autumn.at == local(2026, 9, 23, 19, 30)
    assert mid_autumn.text.startswith("还有 2 天就是中秋啦")
    assert mid_autumn.content_tag == "202509 品牌-中秋团圆-短视频"
    jewelry = run(
        example("jewelry-service"),
        [G("g1", "一群", LONG_AGO)],
        date(2026, 8, 1),
        date(2026, 8, 31),
        kinds={"calendar"},
    )
    (engraving,) = jewelry.actions  # 七夕 2026-08-19, lead 10 days
    assert engraving.at == local(2026, 8, 9, 20) and engraving.msgtype == "news"
    assert engraving.extra["news_title"] == "七夕刻字定制开始预约"
    assert engraving.extra["news_url"] == "https://example.com/jewelry/qixi"
    assert engraving.text.startswith("距离七夕还有 10 天")


WORKDAY_SLOTS = {"columns.morning-knowledge", "columns.afternoon-topic", "columns.evening-welfare"}


def test_adjusted_saturday_workday_gets_workday_columns_and_the_national_day_holiday_none() -> None:
    doc = example("mombaby-refined")
    result = run(
        doc, [G("g1", "一群", LONG_AGO)], date(2026, 10, 1), date(2026, 10, 11), kinds={"column"}
    )
    slots_by_day: dict[date, set[str]] = {}
    for action in result.actions:
        slots_by_day.setdefault(action.at.date(), set()).add(action.slot)
    for day in range(1, 8):  # 2026-10-01..07 holiday: only the weekend story on Sat/Sun
        assert not slots_by_day.get(date(2026, 10, day), set()) & WORKDAY_SLOTS
    assert slots_by_day[date(2026, 10, 10)] == WORKDAY_SLOTS | {"columns.weekend-story"}
    assert slots_by_day[date(2026, 10, 11)] == {"columns.weekend-story"}
    assert slots_by_day[date(2026, 10, 8)] == WORKDAY_SLOTS


def rfm_doc(days_before: int):
    return sop(
        playbooks={
            "mature": {
                "rfm": {
                    "id": "rfm",
                    "days_before_month_end": days_before,
                    "time": "21:00",
                    "template": "task",
                    "segments": [{"id": "loyal", "name": "忠诚用户", "min_orders": 3}],
                }
            }
        },
        templates=[
            {
                "id": "task",
                "variables": ["group_name", "date", "segment_names", "lookback_days"],
                "body": "{{ date }} {{ group_name }} 分层："
                "{{ segment_names | join('、') }}（{{ lookback_days }} 天）",
            }
        ],
    )


def test_month_end_rfm_runs_on_the_last_day_of_february_and_of_a_31_day_month() -> None:
    group = [G("g1", "宝妈一群", LONG_AGO)]
    last = run(rfm_doc(0), group, date(2026, 2, 1), date(2026, 3, 31))
    assert [(a.kind, a.at) for a in last.actions] == [
        ("rfm", local(2026, 2, 28, 21)),
        ("rfm", local(2026, 3, 31, 21)),
    ]
    assert last.actions[0].text == "2026-02-28 宝妈一群 分层：忠诚用户（90 天）"
    before = run(rfm_doc(1), group, date(2026, 2, 1), date(2026, 3, 31))
    assert dates(before.actions) == [date(2026, 2, 27), date(2026, 3, 30)]
    leap = run(rfm_doc(0), group, date(2028, 2, 1), date(2028, 2, 29))
    assert dates(leap.actions) == [date(2028, 2, 29)]


def test_weekly_flash_sale_runs_on_wednesdays_with_its_countdown_an_hour_before() -> None:
    doc = example("flash-sale-promo")
    result = run(
        doc,
        [G("g1", "鲜果一群", LONG_AGO)],
        date(2026, 9, 1),
        date(2026, 9, 30),
        kinds={"flash_sale"},
    )
    sales = by_slot(result.actions, "flash_sale.wednesday-flash")
    assert dates(sales) == [date(2026, 9, d) for d in (2, 9, 16, 23, 30)]
    assert all(a.at.hour == 20 and a.at.weekday() == 2 for a in sales)
    assert sales[0].text == "秒杀开始！周三秒杀：智利车厘子 2 斤 39.9，限时 1 小时，手慢无～"
    countdowns = by_slot(result.actions, "flash_sale.wednesday-flash.countdown")
    assert [a.at for a in countdowns] == [a.at.replace(hour=19) for a in sales]
    assert {a.kind for a in result.actions} == {"flash_sale"}


def test_flash_sale_waits_for_the_cold_start_to_end() -> None:
    doc = sop(
        playbooks={
            "cold_start": {"days": 7},
            "mature": {
                "flash_sale": {"id": "sale", "weekday": "周三", "time": "20:00", "template": "t"}
            },
        }
    )
    result = run(doc, [G("g1", "一群", date(2026, 9, 1))], date(2026, 9, 1), date(2026, 9, 16))
    assert dates(result.actions) == [date(2026, 9, 9), date(2026, 9, 16)]  # not 09-02 (day 2)


def test_check_in_campaign_prompts_every_day_of_its_fixed_window_with_the_check_in_day() -> None:
    doc = example("mombaby-refined")
    result = run(
        doc, [G("g1", "一群", LONG_AGO)], date(2026, 8, 25), date(2026, 9, 30), kinds={"campaign"}
    )
    prompts = by_slot(result.actions, "campaigns.reading-21.check_in")
    assert dates(prompts) == [date(2026, 9, d) for d in range(1, 22)]
    assert prompts[0].text.startswith("亲子阅读打卡第 1 天") and prompts[-1].text.startswith(
        "亲子阅读打卡第 21 天"
    )
    (kickoff,) = by_slot(result.actions, "campaigns.reading-21.kickoff")
    assert kickoff.at == local(2026, 9, 1, 19) and kickoff.extra["news_url"].endswith("reading-21")


def test_anchored_group_buy_counts_campaign_days_from_the_window_start() -> None:
    doc = example("flash-sale-promo")  # 618 group buy: 2 days before 6/18 .. 6/18
    result = run(
        doc,
        [G("g1", "鲜果一群", LONG_AGO)],
        date(2026, 6, 1),
        date(2026, 6, 30),
        kinds={"campaign"},
    )
    (opening,) = by_slot(result.actions, "campaigns.group-buy-618.open-chain")
    assert opening.at == local(2026, 6, 16, 10, 30) and "拼团第 1 天" in opening.text
    (last_call,) = by_slot(result.actions, "campaigns.group-buy-618.last-call")
    assert last_call.at == local(2026, 6, 18, 21)


def test_scarcity_and_deadline_texts_come_from_campaign_variables() -> None:
    names = [
        "campaign_name",
        "first_n_limit",
        "first_n_offer",
        "deadline",
        "days_left",
        "day",
        "coupon_name",
    ]
    body = (
        "{{ campaign_name }} 第 {{ day }} 天：{{ first_n_offer }}（限 {{ first_n_limit }} 单），"
        "{{ coupon_name }} 截止 {{ deadline }}，还剩 {{ days_left }} 天"
    )
    doc = sop(
        playbooks={
            "campaigns": [
                {
                    "id": "sale-618",
                    "name": "618 囤货节",
                    "kind": "限时限量",
                    "window": {
                        "anchor": {"month": 6, "day": 18},
                        "days_before": 2,
                        "days_after": 1,
                    },
                    "actions": [{"id": "push", "day": 2, "time": "12:00", "template": "offer"}],
                    "scarcity": [
                        {"kind": "前N名", "offer": "前 50 单加赠蓝莓 1 盒", "limit": 50},
                        {"kind": "截止时间", "offer": "618 价", "day": 3, "until": "24:00"},
                    ],
                    "coupon": {"name": "满 99 减 20 券"},
                }
            ]
        },
        templates=[{"id": "offer", "variables": names, "body": body}],
    )
    result = plan(
        doc=doc,
        version="2.0",
        groups=[G("g1", "一群", LONG_AGO)],
        start=date(2026, 6, 1),
        end=date(2026, 6, 30),
    )
    (push,) = result.actions
    assert push.at == local(2026, 6, 17, 12) and push.kind == "campaign"
    assert push.text == (
        "618 囤货节 第 2 天：前 50 单加赠蓝莓 1 盒（限 50 单），"
        "满 99 减 20 券 截止 2026-06-18 24:00，还剩 1 天"
    )
    assert push.key == "test-sop:2.0:g1:campaigns.sale-618.push:2026-06-17"


def test_a_per_member_limit_renders_in_a_campaign_action_text() -> None:
    body = "{{ first_n_offer }}，每人限购 {{ per_member_limit }} 份"
    doc = sop(
        playbooks={
            "campaigns": [
                {
                    "id": "chain",
                    "name": "周末接龙",
                    "kind": "限时限量",
                    "window": {"start": "2026-06-05", "end": "2026-06-06"},
                    "actions": [{"id": "open", "day": 1, "time": "10:00", "template": "offer"}],
                    "scarcity": [
                        {
                            "kind": "前N名",
                            "offer": "前 30 单 9.9 元",
                            "limit": 30,
                            "per_member_limit": 2,
                        },
                    ],
                }
            ]
        },
        templates=[
            {"id": "offer", "variables": ["first_n_offer", "per_member_limit"], "body": body}
        ],
    )
    result = plan(
        doc=doc,
        version="1.0",
        groups=[G("g1", "一群", LONG_AGO)],
        start=date(2026, 6, 1),
        end=date(2026, 6, 30),
    )
    (push,) = result.actions
    assert push.at == local(2026, 6, 5, 10) and push.text == "前 30 单 9.9 元，每人限购 2 份"
