"""Overlays: a base SOP plus a campaign SOP laid over it for a window; the declared layer
priority wins a collision, keys stay per SOP, the monthly mass-message cap counts both."""

from __future__ import annotations

import copy
from datetime import date

from engine.planner import Layer, plan_layers
from sop_models import DocumentInvalid, validate_data
from tests.support.examples import example
from tests.support.planning import BASE, G, by_slot, dates, local

GROUP = [G("g1", "一群", date(2025, 1, 1), channel="wecom_mass")]
SEPTEMBER = (date(2026, 9, 1), date(2026, 9, 30))


def base_doc():
    welfare = {"id": "welfare", "name": "福利", "time": "20:00", "template": "t"}
    return validate_data(
        copy.deepcopy(BASE)
        | {"schedule": {"columns": [welfare], "spacing": {"on_collision": "drop"}}}
    )


def jielong_doc():
    campaign = {
        "id": "jielong",
        "name": "周接龙",
        "kind": "group_buy",
        "window": {"weekly": {"first_weekday": "mon", "last_weekday": "wed"}},
        "actions": [{"id": "open", "day": 1, "time": "20:10", "template": "t"}],
        "group_buy": {"product": "水果箱", "ships_at_orders": 10},
    }
    data = copy.deepcopy(BASE) | {"id": "weekly-jielong", "playbooks": {"campaigns": [campaign]}}
    return validate_data(data)


def layered(priority: int, **window: date):
    overlay = Layer(jielong_doc(), "1.2", priority=priority, **window)
    return plan_layers(
        base=Layer(base_doc(), "3.0"),
        overlays=[overlay],
        groups=GROUP,
        start=SEPTEMBER[0],
        end=SEPTEMBER[1],
    )


def test_the_higher_priority_overlay_wins_the_collision_and_keeps_its_own_sop_and_version() -> None:
    result = layered(10, start=date(2026, 9, 7), end=date(2026, 9, 20))
    opened = by_slot(result.actions, "campaigns.jielong.open")
    assert dates(opened) == [date(2026, 9, 7), date(2026, 9, 14)]  # Mondays inside the window
    assert opened[0].key == "weekly-jielong:1.2:g1:campaigns.jielong.open:2026-09-07"
    assert (opened[0].sop_id, opened[0].version) == ("weekly-jielong", "1.2")
    welfare = dates(by_slot(result.actions, "columns.welfare"))
    assert date(2026, 9, 7) not in welfare and date(2026, 9, 14) not in welfare
    assert date(2026, 9, 21) in welfare and len(welfare) == 28
    assert any("丢弃 columns.welfare" in w for w in result.warnings)
    assert opened[0].at == local(2026, 9, 7, 20, 10)


def test_a_lower_priority_overlay_gives_way_to_the_base() -> None:
    result = layered(-1)
    assert not by_slot(result.actions, "campaigns.jielong.open")
    assert len(by_slot(result.actions, "columns.welfare")) == 30


def test_the_monthly_mass_message_cap_counts_the_overlay_too() -> None:
    result = layered(10)  # 30 welfare posts, 4 replaced by openings, + the openings = 30
    assert not [w for w in result.warnings if "计划群发" in w]
    quiet = Layer(jielong_doc(), "1.2", priority=10)
    spread = plan_layers(
        base=Layer(
            validate_data(
                copy.deepcopy(BASE)
                | {
                    "schedule": {
                        "columns": [
                            {"id": "welfare", "name": "福利", "time": "09:00", "template": "t"}
                        ]
                    }
                }
            ),
            "3.0",
        ),
        overlays=[quiet],
        groups=GROUP,
        start=SEPTEMBER[0],
        end=SEPTEMBER[1],
    )
    (cap,) = [w for w in spread.warnings if "计划群发" in w]
    assert "2026-09：计划群发 34 条，企业微信上限每月 30 条" in cap


def test_an_overlay_document_needs_no_boilerplate_but_a_base_sop_does() -> None:
    overlay = example("mombaby-weekly-jielong")
    assert overlay.overlay is not None and overlay.positioning is None
    assert overlay.document_variables() == {"sop_title": overlay.title}
    data = copy.deepcopy(BASE)
    del data["roles"]
    try:
        validate_data(data)
    except DocumentInvalid as err:
        assert [(p.path, p.message) for p in err.problems] == [("roles", "is required")]
    else:
        raise AssertionError("a base SOP without roles was accepted")


def test_the_mombaby_jielong_overlay_takes_mondays_welfare_slot() -> None:
    result = plan_layers(
        base=Layer(example("mombaby-refined"), "1.0"),
        overlays=[Layer(example("mombaby-weekly-jielong"), "1.0", priority=10)],
        groups=[G("g1", "宝妈一群", date(2025, 1, 1))],
        start=date(2026, 9, 21),
        end=date(2026, 9, 23),
    )
    at_20 = [(a.sop_id, a.slot) for a in result.actions if a.at.hour == 20 and a.at.minute == 0]
    assert at_20 == [
        ("mombaby-weekly-jielong", "campaigns.jielong.open"),
        ("mombaby-refined", "columns.evening-welfare"),
        ("mombaby-refined", "columns.evening-welfare"),
    ]
    assert result.actions[-1].slot == "campaigns.jielong.close"
