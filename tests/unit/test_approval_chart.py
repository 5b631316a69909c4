"""A paused check's structured evidence drawn for the approvals inbox: the report's forest
chart with every metric, and the same numbers as text for screen readers."""

from __future__ import annotations

from typing import Any

from engine.kpi.definitions import METRICS
from sop_models.i18n import use_language
from sopflow.web.evidence_view import chart


def metric(name: str, role: str, rel: float | None, ci: list[float | None]) -> dict[str, Any]:
    return {
        "name": name,
        "role": role,
        "baseline": {"n": 8, "value": 0.2},
        "candidate": {"n": 8, "value": 0.236},
        "abs_lift": 0.036,
        "rel_lift": rel,
        "ci_rel": ci,
        "p_value": 0.01,
    }


EVIDENCE: dict[str, Any] = {
    "summary": "v2.0：新欢迎语 — 欢迎语打开率 +18.0%",
    "decision": "PROMOTE",
    "window": ["2026-09-01", "2026-09-15"],
    "groups_per_arm": [8, 8],
    "production": "1.0",
    "candidate": "2.0",
    "check": {
        "decision": "PROMOTE",
        "reasons": ["primary open_rate is significantly better"],
        "metrics": [
            metric("open_rate", "primary", 0.18, [0.091, 0.274]),
            metric("leave_rate", "guardrail", -0.05, [-0.2, 0.1]),
            metric("conversion_rate", "secondary", None, [None, None]),
        ],
    },
}


def test_the_chart_draws_every_metric_of_the_paused_check_with_its_ci() -> None:
    drawn = chart(EVIDENCE)

    assert drawn is not None
    svg = str(drawn.svg)
    assert svg.startswith('<svg class="chart forest"') and 'role="img"' in svg
    for name in ("open_rate", "leave_rate", "conversion_rate"):
        assert f"{name} · " in svg
    assert "+18.0% [+9.1%, +27.4%]" in svg
    assert svg.count('class="ci"') == 2  # the metric without a CI draws no bar


def test_the_text_alternative_says_each_metric_lift_and_ci_in_words() -> None:
    drawn = chart(EVIDENCE)

    assert drawn is not None
    label = {name: METRICS[name].label for name in ("open_rate", "leave_rate", "conversion_rate")}
    assert drawn.text == [
        f"{label['open_rate']} open_rate（主指标）：+18.0%，95% 置信区间 [+9.1%, +27.4%]",
        f"{label['leave_rate']} leave_rate（护栏）：-5.0%，95% 置信区间 [-20.0%, +10.0%]",
        f"{label['conversion_rate']} conversion_rate（次要）：n/a，95% 置信区间 [n/a, n/a]",
    ]


def test_the_text_alternative_follows_the_language_setting() -> None:
    with use_language("en"):
        drawn = chart(EVIDENCE)

    assert drawn is not None
    assert drawn.text[0].endswith("open_rate (primary): +18.0%, 95% CI [+9.1%, +27.4%]")


def test_a_pause_without_check_evidence_has_no_chart() -> None:
    assert chart(None) is None
    assert chart({"note": "attached by hand"}) is None
