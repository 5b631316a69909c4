"""KPI services for the CLI, report and demo: compute per version/group/day, evaluate alerts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pyarrow as pa

from engine.events.store import EventStore
from engine.kpi.alerts import AlertHit, evaluate_alerts
from engine.kpi.compute import compute_kpis
from engine.kpi.coverage import Coverage, coverage
from engine.kpi.messages import message_kpis
from services.kpis_sends import kpi_source
from services.workspace import Workspace
from sop_models import SopDocument, parse_document


@dataclass(frozen=True)
class Rule:
    """An SOP alert rule in the shape the KPI engine expects (`op`, not `operator`)."""

    metric: str
    op: str
    threshold: float
    advice: str


def event_store(ws: Workspace) -> EventStore:
    """The workspace's event store."""
    return EventStore(ws.events_dir)


def event_coverage(
    ws: Workspace, *, sop_id: str, start: date | None = None, end: date | None = None
) -> Coverage:
    """How many events the SOP's KPIs used, and how many no SOP version could be given."""
    return coverage(event_store(ws), sop=sop_id, start=start, end=end)


def kpi_table(
    ws: Workspace,
    *,
    sop_id: str,
    by: Sequence[str],
    metrics: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> pa.Table:
    """KPI rows (metric, by-columns, num, den, value) for one SOP; `by` message or slot gives
    each message's own open rate (engine/kpi/messages.py). Sends without `delivered` events
    count from the ledger (services/kpis_sends.py)."""
    source = kpi_source(ws, sop_id=sop_id, start=start, end=end, metrics=metrics)
    if {"message", "slot"} & set(by):
        return message_kpis(source, sop=sop_id, by=by, metrics=metrics, start=start, end=end)
    return compute_kpis(
        source,
        metrics=metrics,
        by=tuple(by),
        sop=sop_id,  # type: ignore[arg-type]
        start=start,
        end=end,
    )


def alert_hits(
    ws: Workspace,
    doc: SopDocument,
    *,
    by_group: bool = False,
    start: date | None = None,
    end: date | None = None,
) -> list[AlertHit]:
    """Days (and groups) on which the SOP's alert rules fire."""
    rules = [Rule(a.metric, a.operator, a.threshold, a.advice) for a in doc.kpis.alerts]
    if not rules:
        return []
    by = ("group", "day") if by_group else ("day",)
    table = kpi_table(
        ws, sop_id=doc.id, by=by, metrics=sorted({r.metric for r in rules}), start=start, end=end
    )
    return evaluate_alerts(table, rules)


def kpis_with_alerts(
    ws: Workspace,
    *,
    sop_id: str,
    by: Sequence[str],
    metrics: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> tuple[pa.Table, list[AlertHit]]:
    """KPI rows of one SOP, and the days the alert rules of its latest version fire."""
    table = kpi_table(ws, sop_id=sop_id, by=by, metrics=metrics, start=start, end=end)
    info = ws.store.resolve(sop_id, "latest")
    doc = parse_document(ws.store.content(info), info.tag)
    return table, alert_hits(ws, doc, start=start, end=end)
