"""The changelog line a check writes: Chinese by default, English with language = "en"."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.stats.result import ArmEstimate, MetricResult
from services.check_summary import changelog_line
from sop_models.i18n import use_language
from versions.numbering import Version
from versions.store import VersionInfo

V2 = VersionInfo(
    sop_id="mombaby-refined",
    version=Version(2, 0),
    commit="0" * 40,
    tag="mombaby-refined/v2.0",
    author="小王",
    at=datetime(2026, 9, 1, tzinfo=UTC),
    message="新欢迎语",
)


def _result(
    name: str, before: float, after: float, ci: tuple[float, float], scale: str
) -> MetricResult:
    return MetricResult(
        name=name,
        kind="proportion",
        direction="higher",
        baseline=ArmEstimate(n=8, value=before),
        candidate=ArmEstimate(n=8, value=after),
        abs_lift=after - before,
        rel_lift=(after - before) / before if before else float("nan"),
        scale=scale,  # type: ignore[arg-type]
        ci=ci,
        p_value=0.001,
        p_worse=0.999,
        alpha=0.05,
        sequential=True,
        method="test",
    )


WELCOME = _result("welcome_open_rate", 0.200, 0.236, (0.091, 0.274), "relative")


def test_the_changelog_line_reads_in_chinese_by_default() -> None:
    line = changelog_line(V2, "新欢迎语", WELCOME, (8, 8), 14)
    assert line == (
        "v2.0：新欢迎语 — 欢迎语打开率 +18.0%（20.0% → 23.6%），95% 置信区间 [+9.1%, +27.4%]，"
        "8+8 个群，14 天"
    )


def test_the_changelog_line_reads_in_english_when_the_language_is_english() -> None:
    with use_language("en"):
        line = changelog_line(V2, "new welcome text", WELCOME, (8, 8), 14)
    assert line == (
        "v2.0: new welcome text — welcome open rate +18.0% (20.0% → 23.6%), "
        "95% CI [+9.1%, +27.4%], 8+8 groups, 14 days"
    )


def test_a_metric_tested_on_its_absolute_difference_says_so_in_both_languages() -> None:
    ugc = _result("ugc_count", 0.0, 1.5, (0.4, 2.6), "absolute")
    assert changelog_line(V2, "新话题", ugc, (6, 7), 10) == (
        "v2.0：新话题 — UGC 数量 绝对变化 +1.5（0 → 1.5），95% 置信区间 [+0.4, +2.6]，"
        "6+7 个群，10 天"
    )
    with use_language("en"):
        english = changelog_line(V2, "new topic", ugc, (6, 7), 10)
    assert english == (
        "v2.0: new topic — ugc count +1.5 absolute (0 → 1.5), 95% CI [+0.4, +2.6], "
        "6+7 groups, 10 days"
    )


def test_a_metric_outside_the_registry_keeps_its_own_name() -> None:
    opened = _result("opened", 0.5, 0.6, (0.05, 0.35), "relative")
    assert "— opened +20.0%（50.0% → 60.0%）" in changelog_line(V2, "x", opened, (3, 3), 7)
