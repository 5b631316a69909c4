"""`sop report`: one self-contained HTML page (inline CSS and SVG) about one SOP.

The caller gathers a `ReportData` (plain values); `render_report` turns it into HTML and
`write_report` writes it as UTF-8. `local_time` is how every stored time is shown to people
(the report, `sop log`, `sop audit`, `sop list`): in the workspace's timezone, with its offset.
"""

from report.html import ReportWriteError, render_report, write_report
from report.model import (
    AlertDay,
    ExperimentView,
    KpiPoint,
    KpiSeries,
    MetricView,
    ReportData,
    VersionRow,
)
from report.times import local_time

__all__ = [
    "AlertDay",
    "ExperimentView",
    "KpiPoint",
    "KpiSeries",
    "MetricView",
    "ReportData",
    "ReportWriteError",
    "VersionRow",
    "local_time",
    "render_report",
    "write_report",
]
