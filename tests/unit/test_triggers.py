"""Threshold triggers (engine/triggers.py): pure, from counts and what the ledger holds."""

from __future__ import annotations

from datetime import date

import pytest

from engine.ledger.model import slot_key
from engine.triggers import fired_actions, window_on
from sop_models import DocumentInvalid, SopDocument, parse_document
from tests.support.examples import example, example_text, modified
from tests.support.planning import G, local

SOP = "seeds-group-buy"
MONDAY, WEDNESDAY, THURSDAY = date(2026, 9, 7), date(2026, 9, 9), date(2026, 9, 10)
GROUPS = [G("g1", "一号楼团购群"), G("g2", "二号楼团购群")]


@pytest.fixture(scope="module")
def doc() -> SopDocument:
    return example("seeds/group-buy-jielong")


def fire(
    doc: SopDocument, counts: dict[str, int], fired: set[str] = frozenset(), day: date = MONDAY
) -> list[tuple[str, str, str]]:
    found = fired_actions(
        doc=doc, version="1.0", groups=GROUPS, day=day, now=local(2026, 9, 7, 12, 30),
        counts={("weekly-chain", "order", g): n for g, n in counts.items()}, fired=fired,
    )  # fmt: skip
    return [(a.group_id, a.slot, a.text) for a in found]


def test_the_tenth_order_fires_the_formed_post_once_per_group_and_window(
    doc: SopDocument,
) -> None:
    assert fire(doc, {"g1": 9}) == []
    found = fired_actions(
        doc=doc, version="1.0", groups=GROUPS, day=MONDAY, now=local(2026, 9, 7, 12, 30),
        counts={("weekly-chain", "order", "g1"): 10},
    )  # fmt: skip
    assert [(a.key, a.kind, a.at) for a in found] == [
        (f"{SOP}:1.0:g1:triggers.weekly-chain.formed.10:2026-09-07", "trigger",
         local(2026, 9, 7, 12, 30)),
    ]  # fmt: skip
    assert found[0].text == "成团啦！产地直发水果箱 已接龙 10 单，满单发货，明天统一配送。"
    fired = {slot_key(a) for a in found}
    assert fire(doc, {"g1": 11}, fired) == []  # never again in this window, whatever the version
    assert fire(doc, {"g1": 11, "g2": 10}, fired) == [
        ("g2", "triggers.weekly-chain.formed.10", found[0].text)
    ]


def test_every_twenty_fires_at_twenty_and_forty_and_one_post_when_both_are_reached_at_once(
    doc: SopDocument,
) -> None:
    fired: set[str] = set()
    progress: list[int] = []
    for count in range(1, 46):
        for group, slot, _ in fire(doc, {"g1": count}, fired):
            fired.add(f"{SOP}:{group}:{slot}:2026-09-07")
            if ".progress." in slot:
                progress.append(count)
    assert progress == [20, 40]
    assert fire(doc, {"g2": 45}) == [
        ("g2", "triggers.weekly-chain.formed.10",
         "成团啦！产地直发水果箱 已接龙 45 单，满单发货，明天统一配送。"),
        ("g2", "triggers.weekly-chain.progress.40",
         "已接龙 45 单，离 200 单还差一点，邻居们冲！"),
    ]  # fmt: skip


def test_triggers_count_only_inside_the_campaign_window(doc: SopDocument) -> None:
    campaign = doc.playbooks.campaigns[0]  # weekly, Monday to Wednesday
    assert window_on(campaign, WEDNESDAY) == (MONDAY, WEDNESDAY)
    assert window_on(campaign, THURSDAY) is None
    assert fire(doc, {"g1": 30}, day=THURSDAY) == []


def test_a_trigger_needs_exactly_one_of_at_or_every_named_by_its_path() -> None:
    def both(data: dict) -> None:
        data["playbooks"]["campaigns"][0]["triggers"][0]["every"] = 5

    with pytest.raises(DocumentInvalid) as caught:
        parse_document(modified(example_text("seeds/group-buy-jielong"), both))
    assert "playbooks.campaigns[0].triggers[0]: a trigger needs exactly one of at" in str(
        caught.value
    )


def test_nothing_fires_in_quiet_hours_and_the_first_evaluation_after_them_posts_it(
    doc: SopDocument,
) -> None:
    def quiet(data: dict) -> None:
        data["schedule"]["quiet_hours"] = {"start": "22:00", "end": "08:00"}

    calm = parse_document(modified(example_text("seeds/group-buy-jielong"), quiet))
    counts = {("weekly-chain", "order", "g1"): 10}
    late = dict(doc=calm, version="1.0", groups=GROUPS, counts=counts)
    assert fired_actions(**late, day=MONDAY, now=local(2026, 9, 7, 23, 30)) == []
    morning = fired_actions(**late, day=date(2026, 9, 8), now=local(2026, 9, 8, 8, 0))
    assert [a.slot for a in morning] == ["triggers.weekly-chain.formed.10"]
