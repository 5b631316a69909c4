"""A check's reasons read in Chinese by default, with the registry's metric names, and in
English with language = "en" (tests/unit/test_stats_decision.py pins the rule in English)."""

from __future__ import annotations

from engine.stats import Minimums, decide, srm_check, two_proportion_test
from sop_models.i18n import use_language

OPEN_WINS = two_proportion_test(1000, 5000, 1180, 5000, name="open_rate")
LEAVE_SAME = two_proportion_test(500, 50000, 480, 50000, name="leave_rate", direction="lower")
LEAVE_UNSURE = two_proportion_test(50, 5000, 57, 5000, name="leave_rate", direction="lower")
LEAVE_UP = two_proportion_test(50, 5000, 85, 5000, name="leave_rate", direction="lower")
SRM_OK = srm_check(5000, 5000)
ENOUGH = Minimums(units_per_arm=1000, days=7)


def test_a_promote_says_why_in_chinese_with_chinese_metric_names() -> None:
    d = decide(OPEN_WINS, [LEAVE_SAME], [], SRM_OK, ENOUGH, days_observed=14)
    assert d.decision == "PROMOTE"
    primary, guard, ratio, minimums = d.reasons
    assert primary.startswith("主指标 消息打开率：候选 23.6%，基线 20.0%（+18.0%，95% 置信区间 +")
    assert primary.endswith("） 显著更好")
    assert guard.startswith("护栏指标 退群率 守住了：置信区间排除了超过 10% 的上升（界限 ")
    assert ratio == "样本比例正常（p=1）"
    assert minimums == "最低要求已满足：每组至少 1000 个单位、至少 7 天"


def test_blocks_and_harms_read_in_chinese() -> None:
    unsure = decide(OPEN_WINS, [LEAVE_UNSURE], [], SRM_OK, ENOUGH, days_observed=14)
    assert unsure.reasons[-1] == (
        "护栏指标 退群率 尚无定论：置信区间允许最多上升 66.3%（容许幅度 10%），所以暂不 PROMOTE"
    )
    held = decide(OPEN_WINS, [LEAVE_UP], [], SRM_OK, Minimums(6000, 7), days_observed=3)
    assert held.decision == "CONTINUE"
    assert "退群率：候选 1.7%，基线 1.0%（+70.0%" in held.reasons[0]
    assert held.reasons[0].endswith(
        "，越低越好） 显著变差（Holm p=0.00273），但要等达到最低要求才能 REJECT"
    )
    assert held.reasons[1:] == (
        "未达到最小样本量：较小一组只有 5000 个单位，PROMOTE 或 REJECT 前每组需要 6000 个",
        "未达到最短时长：已运行 3 天，PROMOTE 或 REJECT 前需要 7 天",
    )
    mismatch = decide(OPEN_WINS, [], [], srm_check(5000, 4000), ENOUGH, days_observed=14)
    assert mismatch.reasons[0].startswith("样本比例不匹配：基线 5000 个单位，候选 4000 个单位")


def test_the_same_reasons_read_in_english_when_the_language_is_english() -> None:
    with use_language("en"):
        d = decide(OPEN_WINS, [LEAVE_SAME], [], SRM_OK, ENOUGH, days_observed=14)
    assert d.reasons[0].startswith("primary open_rate: candidate 23.6% vs baseline 20.0% (+18.0%")
    assert d.reasons[1].startswith("guardrail leave_rate holds: its CI rules out a rise of more")
    assert d.reasons[3] == "minimums met: at least 1000 units per arm, at least 7 days"
