"""A full sample of report data: two versions' KPI series, a PROMOTE experiment, alert days."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

from report import (
    AlertDay,
    ExperimentView,
    KpiPoint,
    KpiSeries,
    MetricView,
    ReportData,
    VersionRow,
)

START = date(2025, 3, 1)
ADVICE = "调整推送时间和标题"
CHANGELOG = "V2.0: 新欢迎语, 打开率 +18%"


def sample_report() -> ReportData:
    """14 days of v1.0 then 14 of v2.0, a PROMOTE experiment, two alert days, three versions."""
    open_rate = [
        KpiPoint(START + timedelta(days=i), "1.0", 0.22 + 0.015 * math.sin(i)) for i in range(14)
    ] + [
        KpiPoint(START + timedelta(days=14 + i), "2.0", 0.27 + 0.012 * math.cos(i))
        for i in range(14)
    ]
    open_rate[3] = KpiPoint(open_rate[3].day, "1.0", 0.185)
    open_rate[8] = KpiPoint(open_rate[8].day, "1.0", 0.192)
    messages = [
        KpiPoint(START + timedelta(days=i), "1.0" if i < 14 else "2.0", 3.0 + 0.1 * i)
        for i in range(28)
    ]
    at = datetime(2025, 2, 20, 9, 30, tzinfo=UTC)
    diff_v2 = ["--- a/welcome.yaml", "+++ b/welcome.yaml", "@@ -1,2 +1,2 @@"]
    diff_v2 += ["-text: 欢迎入群", "+text: 欢迎加入宝妈福利群！先看群公告", " rules: 群规"]
    versions = [
        VersionRow("3.0", "welcome/v3.0", "李四", at + timedelta(days=30), "20:00 福利栏目",
                   [], ["-  at: '10:00'", "+  at: '20:00'"]),
        VersionRow("2.0", "welcome/v2.0", "王五", at + timedelta(days=14), "新欢迎语",
                   ["production"], diff_v2),
        VersionRow("1.0", "welcome/v1.0", "张三", at, "初版", ["previous"], ["+text: 欢迎入群"]),
    ]  # fmt: skip
    experiment = ExperimentView(
        decision="PROMOTE",
        reasons=["打开率 open_rate 显著提升 +18.0%", "护栏 leave_rate 未变差"],
        design="randomized",
        days=14,
        groups_per_arm=(4, 4),
        srm_p=0.62,
        metrics=[
            MetricView("open_rate", "打开率", "primary", 0.22, 0.26, 0.04, 0.18, 0.09, 0.27,
                       0.0004),
            MetricView("leave_rate", "退群率", "guardrail", 0.03, 0.028, -0.002, -0.067, -0.2,
                       0.07, 0.41, unit="%", direction="lower"),
            MetricView("messages_per_member", "人均消息量", "secondary", 3.1, 3.3, 0.2, 0.065,
                       -0.02, 0.15, 0.12),
        ],
        changelog=CHANGELOG,
    )  # fmt: skip
    alerts = [
        AlertDay(open_rate[3].day, None, "open_rate", 0.185, 0.20, "<", ADVICE),
        AlertDay(open_rate[8].day, "宝妈福利群 3", "open_rate", 0.192, 0.20, "<", ADVICE),
    ]
    return ReportData(
        sop_id="welcome",
        title="新人欢迎 SOP",
        generated_at=datetime(2025, 3, 29, 10, 0),
        versions=versions,
        series=[
            KpiSeries("open_rate", "打开率", "%", open_rate),
            KpiSeries("messages_per_member", "人均消息量", "", messages),
        ],
        experiment=experiment,
        alerts=alerts,
    )
