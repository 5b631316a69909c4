"""`sop report`: one self-contained HTML page (inline CSS and SVG) about one SOP.

The caller gathers a `ReportData` (plain values); `render_report` turns it into HTML and
`write_report` writes it as UTF-8.
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

__all__ = [
    "AlertDay",
    "ExperimentView",
    "KpiPoint",
    "KpiSeries",
    "MetricView",
    "ReportData",
    "ReportWriteError",
    "VersionRow",
    "render_report",
    "write_report",
]
