"""The decision rule: PROMOTE / REJECT / CONTINUE with reasons, from real metric results."""

from __future__ import annotations

import json

import pytest

from engine.stats import (
    Minimums,
    decide,
    describe,
    srm_check,
    two_proportion_test,
    welch_test,
)

OPEN_WINS = two_proportion_test(1000, 5000, 1180, 5000, name="open_rate")
OPEN_FLAT = two_proportion_test(1000, 5000, 1010, 5000, name="open_rate")
OPEN_LOSES = two_proportion_test(1000, 5000, 850, 5000, name="open_rate")
# Leave rate 1.0% -> 1.38%: two-sided p 0.08, one-sided 0.04: a guardrail fails one-sided.
LEAVE_UP = two_proportion_test(50, 5000, 69, 5000, name="leave_rate", direction="lower")
LEAVE_SAME = two_proportion_test(50, 5000, 48, 5000, name="leave_rate", direction="lower")
SRM_OK = srm_check(5000, 5000)
ENOUGH = Minimums(units_per_arm=1000, days=7)


def test_promotes_when_primary_wins_guardrails_hold_srm_ok_and_minimums_met() -> None:
    d = decide(OPEN_WINS, [LEAVE_SAME], [], SRM_OK, ENOUGH, days_observed=14)
    assert d.decision == "PROMOTE"
    text = " | ".join(d.reasons)
    assert "open_rate" in text and "significantly better" in text and "+18.0%" in text
    assert "leave_rate" in text and "sample ratio ok" in text and "minimums met" in text


def test_guardrail_fails_one_sided_even_when_two_sided_test_is_not_significant() -> None:
    assert LEAVE_UP.p_value > 0.05 > LEAVE_UP.p_worse
    d = decide(OPEN_WINS, [LEAVE_UP], [], SRM_OK, ENOUGH, days_observed=14)
    assert d.decision == "REJECT"
    assert any("guardrail leave_rate" in r and "one-sided" in r for r in d.reasons)


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


def test_minimums_never_delay_a_reject() -> None:
    d = decide(OPEN_LOSES, [], [], SRM_OK, Minimums(units_per_arm=10**6, days=30), days_observed=1)
    assert d.decision == "REJECT"


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
    assert any("guardrail messages_per_member cannot be tested" in r for r in d.reasons)


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
