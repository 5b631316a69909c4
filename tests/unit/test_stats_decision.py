"""The decision rule: PROMOTE / REJECT / CONTINUE with reasons, from real metric results."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from engine.stats import (
    Minimums,
    Practical,
    decide,
    describe,
    srm_check,
    two_proportion_test,
    welch_test,
)
from sop_models.i18n import use_language

OPEN_WINS = two_proportion_test(1000, 5000, 1180, 5000, name="open_rate")
OPEN_FLAT = two_proportion_test(1000, 5000, 1010, 5000, name="open_rate")
OPEN_LOSES = two_proportion_test(1000, 5000, 850, 5000, name="open_rate")
# Leave rate 1.0% -> 1.7%: significantly worse (two-sided p ~ 0.01).
LEAVE_UP = two_proportion_test(50, 5000, 85, 5000, name="leave_rate", direction="lower")
# 1.0% -> 0.96% on 50,000 members per arm: the CI rules out a rise of more than 10%.
LEAVE_SAME = two_proportion_test(500, 50000, 480, 50000, name="leave_rate", direction="lower")
# 1.0% -> 1.15% on 5,000 per arm: not significant, but the CI still allows +40%: inconclusive.
LEAVE_UNSURE = two_proportion_test(50, 5000, 57, 5000, name="leave_rate", direction="lower")
SRM_OK = srm_check(5000, 5000)
ENOUGH = Minimums(units_per_arm=1000, days=7)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The reasons' wording in English (tests/unit/test_check_reasons_language.py: Chinese)."""
    with use_language("en"):
        yield


def test_promotes_when_primary_wins_guardrails_hold_srm_ok_and_minimums_met() -> None:
    d = decide(OPEN_WINS, [LEAVE_SAME], [], SRM_OK, ENOUGH, days_observed=14)
    assert d.decision == "PROMOTE"
    text = " | ".join(d.reasons)
    assert "open_rate" in text and "significantly better" in text and "+18.0%" in text
    assert "leave_rate holds" in text and "sample ratio ok" in text and "minimums met" in text


def test_significantly_worse_guardrail_rejects() -> None:
    assert LEAVE_UP.p_value < 0.05 and LEAVE_UP.worse
    d = decide(OPEN_WINS, [LEAVE_UP], [], SRM_OK, ENOUGH, days_observed=14)
    assert d.decision == "REJECT"
    assert any("guardrail leave_rate" in r and "Holm p=" in r for r in d.reasons)


def test_underpowered_guardrail_is_inconclusive_and_blocks_promote() -> None:
    assert not LEAVE_UNSURE.worse and LEAVE_UNSURE.harm_bound > 0.10
    d = decide(OPEN_WINS, [LEAVE_UNSURE], [], SRM_OK, ENOUGH, days_observed=14)
    assert d.decision == "CONTINUE"
    assert any("guardrail leave_rate is inconclusive" in r for r in d.reasons)
    assert d.as_dict()["metrics"][1]["state"] == "inconclusive"
    wide = decide(
        OPEN_WINS, [LEAVE_UNSURE], [], SRM_OK, ENOUGH, days_observed=14,
        practical=Practical(guardrail_margin=1.0),
    )  # fmt: skip
    assert wide.decision == "PROMOTE"


def test_holm_adjusts_across_guardrails_but_not_the_primary() -> None:
    # Two guardrails each at p ~ 0.03-0.04: alone either would REJECT; together Holm keeps
    # the family at alpha and neither does.
    a = two_proportion_test(500, 20000, 570, 20000, name="leave_rate", direction="lower")
    b = two_proportion_test(500, 20000, 572, 20000, name="complaints", direction="lower")
    assert 0.025 < a.p_value < 0.05 and 0.025 < b.p_value < 0.05
    assert decide(OPEN_WINS, [a], [], SRM_OK, ENOUGH, days_observed=14).decision == "REJECT"
    both = decide(OPEN_WINS, [a, b], [], SRM_OK, ENOUGH, days_observed=14)
    assert both.decision == "CONTINUE"
    assert any("Holm" in r for r in both.reasons)
    assert [g.p_holm for g in both.guardrail_states] == pytest.approx(
        [2 * min(a.p_value, b.p_value)] * 2
    )


def test_sample_ratio_mismatch_rejects_even_a_winning_candidate() -> None:
    d = decide(OPEN_WINS, [LEAVE_SAME], [], srm_check(5000, 5400), ENOUGH, days_observed=14)
    assert d.decision == "REJECT"
    assert any("sample ratio mismatch" in r for r in d.reasons)


def test_rejects_when_primary_is_significantly_worse() -> None:
    d = decide(OPEN_LOSES, [], [], SRM_OK, ENOUGH, days_observed=14)
    assert d.decision == "REJECT"
    assert d.reasons == (f"primary {describe(OPEN_LOSES)} is significantly worse",)


def test_continues_without_enough_evidence_and_says_why() -> None:
    d = decide(OPEN_FLAT, [LEAVE_SAME], [], SRM_OK, ENOUGH, days_observed=14)
    assert d.decision == "CONTINUE"
    assert "not significant yet" in d.reasons[0]


def test_minimum_sample_size_and_duration_block_promote_with_reasons() -> None:
    small = decide(OPEN_WINS, [], [], SRM_OK, Minimums(units_per_arm=6000), days_observed=14)
    assert small.decision == "CONTINUE"
    assert any("minimum sample size not met: 5000" in r and "6000" in r for r in small.reasons)
    early = decide(OPEN_WINS, [], [], SRM_OK, ENOUGH, days_observed=3)
    assert early.decision == "CONTINUE"
    assert any("minimum duration not met: 3 days" in r for r in early.reasons)
    unknown = decide(OPEN_WINS, [], [], SRM_OK, ENOUGH)
    assert unknown.decision == "CONTINUE"
    assert any("duration unknown" in r for r in unknown.reasons)


def test_minimums_gate_reject_as_well_as_promote() -> None:
    d = decide(OPEN_LOSES, [], [], SRM_OK, Minimums(units_per_arm=10**6, days=30), days_observed=1)
    assert d.decision == "CONTINUE"
    assert any("REJECT waits for the minimums" in r for r in d.reasons)
    assert decide(OPEN_LOSES, [], [], SRM_OK, ENOUGH, days_observed=14).decision == "REJECT"


def test_a_significant_lift_below_the_practical_minimum_is_too_small_to_matter() -> None:
    d = decide(
        OPEN_WINS, [LEAVE_SAME], [], SRM_OK, ENOUGH, days_observed=14,
        practical=Practical(min_effect=0.25),
    )  # fmt: skip
    assert d.decision == "CONTINUE"
    assert any("too small to matter" in r for r in d.reasons)


def test_a_suspiciously_large_lift_asks_for_a_human_look() -> None:
    huge = two_proportion_test(1000, 5000, 1600, 5000, name="open_rate")
    d = decide(huge, [LEAVE_SAME], [], SRM_OK, ENOUGH, days_observed=14)
    assert d.decision == "PROMOTE"
    assert d.flags and "suspicious uplift +60.0%" in d.flags[0]
    assert not decide(OPEN_WINS, [LEAVE_SAME], [], SRM_OK, ENOUGH, days_observed=14).flags


def test_before_after_comparison_is_labelled_weaker_evidence() -> None:
    d = decide(OPEN_WINS, [LEAVE_SAME], [], None, ENOUGH, days_observed=14, design="before_after")
    assert d.decision == "PROMOTE"
    assert d.design == "before_after"
    assert "weaker evidence" in d.reasons[0]
    assert d.as_dict()["srm"] is None


def test_randomized_design_requires_a_sample_ratio_check() -> None:
    with pytest.raises(ValueError, match="sample ratio"):
        decide(OPEN_WINS, minimums=ENOUGH, days_observed=14)


def test_untestable_guardrail_holds_back_promote() -> None:
    no_data = welch_test([3.0], [2.0, 4.0], name="messages_per_member")
    d = decide(OPEN_WINS, [no_data], [], SRM_OK, ENOUGH, days_observed=14)
    assert d.decision == "CONTINUE"
    assert any("guardrail messages_per_member is inconclusive" in r for r in d.reasons)


def test_untestable_primary_continues() -> None:
    empty = two_proportion_test(0, 0, 3, 10, name="open_rate")
    d = decide(empty, [], [], SRM_OK, Minimums())
    assert d.decision == "CONTINUE"
    assert "cannot be tested yet" in d.reasons[0]


def test_worse_secondary_is_noted_but_does_not_reject() -> None:
    orders = two_proportion_test(500, 5000, 400, 5000, name="下单率")
    d = decide(OPEN_WINS, [], [orders], SRM_OK, ENOUGH, days_observed=14)
    assert d.decision == "PROMOTE"
    assert any(r.startswith("note: secondary 下单率") for r in d.reasons)


def test_decision_as_dict_lists_roles_and_keeps_chinese() -> None:
    orders = two_proportion_test(500, 5000, 520, 5000, name="下单率")
    d = decide(OPEN_WINS, [LEAVE_SAME], [orders], SRM_OK, ENOUGH, days_observed=14)
    data = d.as_dict()
    assert [(m["name"], m["role"]) for m in data["metrics"]] == [
        ("open_rate", "primary"),
        ("下单率", "secondary"),
        ("leave_rate", "guardrail"),
    ]
    assert data["srm"]["ok"] is True
    text = json.dumps(data, ensure_ascii=False)
    assert "下单率" in text and "NaN" not in text
