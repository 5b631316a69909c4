"""The headline KPI of each SOP for the console's SOP list: its primary metric (the first KPI
target of its production version, `open_rate` without targets, as `sop check` picks it) for
production over the last 7 local days, from services.kpis."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from services import console_cache
from services.workspace import Workspace
from sop_models.errors import VersionNotFound
from sop_models.kpis import METRICS

DAYS = 7
DEFAULT_METRIC = "open_rate"


@dataclass(frozen=True)
class Headline:
    """One SOP's primary KPI for production over `DAYS` days ending `last` (value None: no
    data in the window)."""

    metric: str
    version: str
    first: date
    last: date
    value: float | None

    @property
    def label(self) -> str:
        """The metric's Chinese label, e.g. 消息打开率."""
        return METRICS[self.metric].label

    @property
    def shown(self) -> str:
        """The value as a lead reads it: a rate in percent, else two decimals; — without data."""
        if self.value is None:
            return "—"
        if METRICS[self.metric].rate:
            return f"{self.value:.1%}"
        return f"{self.value:.2f}"


def headline(
    ws: Workspace, *, sop_id: str, today: date, production: str | None = None
) -> Headline | None:
    """The SOP's headline KPI, or None when it has no production version; `production`: its
    version number when the caller read the aliases already (resolving one costs a git scan)."""
    try:
        info = ws.store.resolve(sop_id, production or "production")
    except VersionNotFound:
        return None
    doc = console_cache.document(ws, info)
    metric = doc.kpis.targets[0].metric if doc.kpis.targets else DEFAULT_METRIC
    first = today - timedelta(days=DAYS - 1)
    rows = console_cache.kpi_rows(
        ws, sop_id=sop_id, by=["version"], metrics=[metric], start=first, end=today + timedelta(1)
    ).to_pylist()
    version = str(info.version)
    values = [r["value"] for r in rows if r["sop_version"] == version and r["value"] is not None]
    return Headline(metric, version, first, today, float(values[0]) if values else None)
