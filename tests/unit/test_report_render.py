"""The report page: Chinese labels, charts per KPI, experiment CI plot, escaping, edge cases."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from report import (
    AlertDay,
    ExperimentView,
    KpiPoint,
    KpiSeries,
    MetricView,
    ReportData,
    ReportWriteError,
    VersionRow,
    render_report,
    write_report,
)
from report.svg import PALETTE
from report.times import local_time
from sop_models.i18n import use_language
from tests.support.report_samples import ADVICE, CHANGELOG, START, sample_report


def with_(data: ReportData, **changes: object) -> ReportData:
    """A copy of the report data with some fields replaced."""
    return ReportData(**{**data.__dict__, **changes})  # type: ignore[arg-type]


def svgs(html: str) -> list[str]:
    """Every inline SVG element of the page."""
    return re.findall(r"<svg\b.*?</svg>", html, flags=re.S)


def kpi_charts(html: str) -> list[str]:
    """The KPI line charts, in page order."""
    return [s for s in svgs(html) if s.startswith('<svg class="chart kpi-chart')]


def forest_chart(html: str) -> str:
    """The experiment's forest plot."""
    [chart] = [s for s in svgs(html) if s.startswith('<svg class="chart forest')]
    return chart


def test_report_shows_chinese_labels_decision_and_changelog() -> None:
    html = render_report(sample_report())
    assert '<meta charset="utf-8">' in html
    assert '"PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei"' in html
    for text in ("新人欢迎 SOP", "打开率", "open_rate", "实验结果", "预警日", "版本历史", ADVICE):
        assert text in html
    assert CHANGELOG in html
    assert 'class="badge badge-promote">推广 <small>PROMOTE</small>' in html
    assert "样本比例检验（SRM）：p = 0.620" in html
    assert "打开率 open_rate 显著提升 +18.0%" in html


def test_report_draws_one_chart_per_series_plus_the_experiment() -> None:
    data = sample_report()
    html = render_report(data)
    assert len(svgs(html)) == len(data.series) + 1
    open_chart, messages_chart = kpi_charts(html)
    forest = forest_chart(html)
    assert open_chart.count("<polyline") == 2
    assert PALETTE[0] in open_chart and PALETTE[1] in open_chart
    assert "版本 1.0" in open_chart and "版本 2.0" in open_chart
    assert open_chart.count('class="alert-dot"') == 2
    assert "阈值 20.0%" in open_chart
    assert "alert-dot" not in messages_chart
    assert re.search(r">\d+%</text>", open_chart), "rate ticks carry a percent sign"
    assert "<title>版本 1.0 · 2025-03-04 · 18.5%</title>" in open_chart
    assert "03-08" in open_chart or "03-15" in open_chart
    assert forest.count('class="ci"') == 3
    assert 'class="zero"' in forest
    assert "+18.0% [+9.0%, +27.0%]" in forest


def test_metrics_table_shows_values_lift_ci_and_p() -> None:
    html = render_report(sample_report())
    table = re.search(r'<table class="metrics">.*?</table>', html, flags=re.S)
    assert table is not None
    row = re.search(r"<tr><td>打开率.*?</tr>", table.group(0), flags=re.S)
    assert row is not None
    cells = re.findall(r'<td class="num">(?:<span[^>]*>)?([^<]*)', row.group(0))
    assert cells == ["22.0%", "26.0%", "+4.0pp", "+18.0%", "[+9.0%, +27.0%]", "&lt;0.001"]
    assert '<span class="good">+18.0%</span>' in row.group(0)
    leave = re.search(r"<tr><td>退群率.*?</tr>", table.group(0), flags=re.S)
    assert leave is not None and '<span class="good">-6.7%</span>' in leave.group(0)


def test_alert_table_lists_day_group_rule_and_advice() -> None:
    html = render_report(sample_report())
    assert "<td>2025-03-04</td><td>全部群</td>" in html
    assert "<td>宝妈福利群 3</td>" in html
    assert "19.2% &lt; 20.0%" in html


def test_version_history_has_aliases_and_collapsible_coloured_diffs() -> None:
    html = render_report(sample_report())
    assert html.count("<details>") == 3
    assert '<span class="alias">production</span>' in html
    assert '<span class="d-add">+text: 欢迎加入宝妈福利群！先看群公告</span>' in html
    assert '<span class="d-del">-text: 欢迎入群</span>' in html
    assert '<span class="d-file">+++ b/welcome.yaml</span>' in html
    assert "+1 / −1" in html
    assert f'style="background:{PALETTE[1]}"></span><strong>2.0</strong>' in html


def test_report_references_nothing_outside_the_file() -> None:
    html = render_report(sample_report())
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower()
    for ref in re.findall(r'(?:src|href)\s*=\s*["\']?([^"\'\s>]+)', html, flags=re.I):
        assert ref.startswith(("data:", "#")), ref
    assert "@import" not in html and "url(" not in html


def test_user_text_is_escaped_everywhere() -> None:
    evil = '<script>alert("x")</script>'
    data = sample_report()
    data = with_(
        data,
        title=evil,
        versions=[VersionRow("1.0", evil, evil, data.generated_at, evil, [evil], [f"+{evil}"])],
        series=[KpiSeries("open_rate", evil, "%", data.series[0].points)],
        alerts=[AlertDay(START, evil, "open_rate", 0.1, 0.2, "<", evil)],
        experiment=ExperimentView(
            "REJECT", [evil], evil, 3, (1, 1), None,
            [MetricView(evil, evil, "primary", 0.2, 0.1, -0.1, -0.5, -0.7, -0.3, 0.01)], evil,
        ),
    )  # fmt: skip
    html = render_report(data)
    assert "<script" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert 'class="badge badge-reject"' in html


@pytest.mark.parametrize(
    ("points", "expect_lines"),
    [
        ([KpiPoint(START, "1.0", 0.25)], 0),
        ([KpiPoint(START + timedelta(days=i), "1.0", 0.3) for i in range(5)], 1),
        (
            [
                KpiPoint(START + timedelta(days=i), "1.0", None if i in (2, 3) else 0.2 + i / 100)
                for i in range(7)
            ],
            2,
        ),
    ],
    ids=["one-point", "all-equal", "gap"],
)
def test_edge_case_series_still_draw_a_valid_chart(
    points: list[KpiPoint], expect_lines: int
) -> None:
    data = with_(sample_report(), series=[KpiSeries("open_rate", "打开率", "%", points)], alerts=[])
    chart = kpi_charts(render_report(data))[0]
    assert chart.count("<polyline") == expect_lines
    assert chart.count("<circle") == sum(p.value is not None for p in points)
    numbers = re.findall(r'\s(?:cx|cy|x|y|x1|x2|y1|y2)="([^"]+)"', chart)
    assert numbers and all(math.isfinite(float(n)) for n in numbers)
    assert "暂无数据" not in chart


def test_all_equal_values_get_a_visible_range_with_distinct_ticks() -> None:
    points = [KpiPoint(START + timedelta(days=i), "1.0", 0.3) for i in range(5)]
    data = with_(sample_report(), series=[KpiSeries("open_rate", "打开率", "%", points)], alerts=[])
    chart = kpi_charts(render_report(data))[0]
    ticks = re.findall(r'text-anchor="end" font-size="12" fill="#555555">([^<]+%)</text>', chart)
    assert len(ticks) >= 3 and len(set(ticks)) == len(ticks)
    assert "30%" in ticks


@pytest.mark.parametrize(
    "points", [[], [KpiPoint(START, "1.0", None)]], ids=["empty", "only-missing"]
)
def test_series_without_values_says_no_data(points: list[KpiPoint]) -> None:
    data = with_(sample_report(), series=[KpiSeries("open_rate", "打开率", "%", points)], alerts=[])
    chart = kpi_charts(render_report(data))[0]
    assert "暂无数据" in chart
    assert chart.endswith("</svg>") and "<polyline" not in chart


def test_report_without_experiment_or_data_renders_empty_states() -> None:
    data = with_(sample_report(), experiment=None, series=[], alerts=[], versions=[])
    html = render_report(data)
    assert svgs(html) == []
    for text in ("无实验", "暂无实验", "暂无 KPI 数据", "无预警", "尚无保存的版本"):
        assert text in html


def test_experiment_with_uncomputable_metric_and_srm_mismatch() -> None:
    data = sample_report()
    assert data.experiment is not None
    broken = MetricView("conversion_rate", "转化率", "secondary", 0.0, 0.0, 0.0,
                        math.nan, None, None, math.nan)  # fmt: skip
    ex = ExperimentView("CONTINUE", [], "before_after", 6.5, (3, 2), 0.0001,
                        [*data.experiment.metrics, broken], None)  # fmt: skip
    html = render_report(with_(data, experiment=ex))
    forest = forest_chart(html)
    assert "无法计算" in forest and forest.count('class="ci"') == 3
    assert 'p &lt;0.001 <span class="srm-bad">分组比例异常' in html
    assert "6.5" in html and "前后对比" in html
    assert 'class="badge badge-continue"' in html and 'class="changelog"' not in html


def test_write_report_writes_utf8_and_reports_unwritable_path(tmp_path: Path) -> None:
    out = write_report(sample_report(), tmp_path / "reports" / "welcome.html")
    assert out.read_text(encoding="utf-8") == render_report(sample_report())
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ReportWriteError, match="cannot write report"):
        write_report(sample_report(), blocker / "report.html")


def test_local_time_shows_the_instant_in_the_zone_with_its_offset() -> None:
    at = datetime(2026, 11, 26, 23, 31, 5, tzinfo=UTC)
    assert local_time(at, ZoneInfo("Asia/Shanghai")) == "2026-11-27 07:31 +08:00"
    assert local_time(at, ZoneInfo("Asia/Shanghai"), seconds=True) == "2026-11-27 07:31:05 +08:00"
    assert local_time(at, ZoneInfo("America/New_York")) == "2026-11-26 18:31 -05:00"
    assert local_time(at.replace(tzinfo=None), UTC) == "2026-11-26 23:31 +00:00"  # naive = UTC


def test_report_prints_generated_and_saved_times_in_its_zone() -> None:
    data = sample_report()
    saved = datetime(2026, 11, 26, 23, 31, tzinfo=UTC)
    row = VersionRow("1.0", "s/v1.0", "小王", saved, "首版", [], [])
    html = render_report(
        with_(
            data,
            versions=[row],
            generated_at=datetime(2026, 11, 27, 1, 0, tzinfo=UTC),
            zone=ZoneInfo("Asia/Shanghai"),
        )
    )
    assert "2026-11-27 07:31 +08:00" in html and "2026-11-27 09:00 +08:00" in html
    assert "23:31" not in html


def test_the_report_is_in_english_when_the_language_is_english() -> None:
    with use_language("en"):
        html = render_report(sample_report())
    assert '<html lang="en">' in html
    for text in ("SOP operations report", "Experiment", "Alert days", "Version history"):
        assert f">{text}<" in html
    assert 'class="badge badge-promote">promote <small>PROMOTE</small>' in html
    assert "Sample ratio check (SRM): p = 0.620" in html
    assert f"Changelog: <strong>{CHANGELOG}</strong>" in html
    [open_chart, *_] = kpi_charts(html)
    assert "threshold 20.0%" in open_chart and "<title>version 1.0 · 2025-03-04" in open_chart
    assert "<strong>open rate</strong> <small>open_rate</small>" in html
    assert "<td>2025-03-04</td><td>all groups</td>" in html
    for chinese in ("实验结果", "预警日", "版本历史", "样本比例检验", "生成于", "全部群", "主指标"):
        assert chinese not in html
