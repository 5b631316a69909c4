"""Gather a workspace's facts into the report's plain input model, and write the report."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from engine.kpi.definitions import METRICS
from report import (
    AlertDay,
    ExperimentView,
    KpiPoint,
    KpiSeries,
    MetricView,
    ReportData,
    VersionRow,
    write_report,
)
from services import console_cache
from services.workspace import Workspace
from sop_models.errors import CheckError
from sop_models.evidence import Evidence, read_evidence
from versions import audit
from versions.store import VersionInfo

TREND_METRICS = (
    "open_rate",
    "interaction_rate",
    "activity_participation",
    "leave_rate",
    "conversion_rate",
)


def _versions(
    ws: Workspace, sop_id: str, infos: list[VersionInfo], newest: int | None
) -> list[VersionRow]:
    """`infos` (oldest first) newest first, each with its diff from the one before; only the
    `newest` (parsing and diffing is the cost: 1,000 versions took seconds), or all."""
    if newest is not None:
        infos = infos[-(newest + 1) :]  # one more: the oldest shown is diffed against it
    aliases: dict[str, list[str]] = {}
    for name, version in ws.store.aliases(sop_id).items():
        aliases.setdefault(str(version), []).append(name)
    rows, previous = [], None
    for info in infos:
        diff = console_cache.change_lines(ws, previous, info) if previous else []
        rows.append(
            VersionRow(
                str(info.version),
                info.tag,
                info.author,
                info.at,
                info.message,
                sorted(aliases.get(str(info.version), [])),
                diff,
            )
        )
        previous = info
    if newest is not None and len(rows) > newest:
        rows = rows[1:]
    return list(reversed(rows))


def _series(ws: Workspace, sop_id: str) -> list[KpiSeries]:
    table = console_cache.kpi_rows(
        ws, sop_id=sop_id, by=("version", "day"), metrics=list(TREND_METRICS)
    )
    found: list[KpiSeries] = []
    rows = table.to_pylist()
    for metric in TREND_METRICS:
        points = [
            KpiPoint(r["day"], str(r["sop_version"]), r["value"])
            for r in rows
            if r["metric"] == metric
        ]
        definition = METRICS[metric]
        unit = "%" if definition.kind == "proportion" else ""
        found.append(
            KpiSeries(
                metric, definition.label, unit, sorted(points, key=lambda p: (p.day, p.version))
            )
        )
    return found


def _latest_evidence(ws: Workspace, sop_id: str, infos: list[VersionInfo]) -> Evidence | None:
    """The last check evidence recorded on any version of the SOP (the highest version with
    check evidence, its last line). Every attachment is audited (action `evidence`), so only
    those versions' notes are read, not one per version."""
    with ws.session() as session:
        noted = {r.version for r in audit.query(session, sop_id=sop_id, action="evidence")}
    for info in reversed([info for info in infos if str(info.version) in noted]):
        latest = None
        for line in ws.store.evidence(info):
            latest = read_evidence(line) or latest
        if latest is not None:
            return latest
    return None


def _experiment(ws: Workspace, sop_id: str, infos: list[VersionInfo]) -> ExperimentView | None:
    evidence = _latest_evidence(ws, sop_id, infos)
    return None if evidence is None else experiment_view(evidence)


def experiment_view(evidence: Evidence) -> ExperimentView:
    """A check's evidence as the report's experiment (what the forest chart draws)."""
    check = evidence.check
    metrics = [
        MetricView(
            name=m.name,
            label_zh=METRICS[m.name].label if m.name in METRICS else "",
            role=m.role,
            baseline_value=m.baseline.value,
            candidate_value=m.candidate.value,
            abs_lift=m.abs_lift,
            rel_lift=m.rel_lift,
            ci_low=m.ci_rel[0],
            ci_high=m.ci_rel[1],
            p_value=m.p_value,
            direction=m.direction,
        )
        for m in check.metrics
    ]
    return ExperimentView(
        decision=check.decision,
        reasons=list(check.reasons),
        design=check.design,
        days=evidence.days,
        groups_per_arm=evidence.groups_per_arm,
        srm_p=check.srm.p_value if check.srm else None,
        metrics=metrics,
        changelog=evidence.summary,
    )


def report_data(
    ws: Workspace, sop_id: str, *, now: datetime | None = None, newest: int | None = None
) -> ReportData:
    """Everything the report shows for one SOP, its times in the workspace's timezone; the
    version history limited to the `newest` versions when given (the console's page)."""
    latest = ws.store.resolve(sop_id, "latest")
    infos = ws.store.versions(sop_id)
    doc = console_cache.document(ws, latest)
    try:
        hits = console_cache.alert_days(ws, latest)
    except CheckError:
        hits = []
    alerts = [
        AlertDay(h.day, h.group, h.metric, h.value, h.threshold, h.op, h.advice) for h in hits
    ]
    return ReportData(
        sop_id=sop_id,
        title=doc.title,
        generated_at=now or datetime.now(UTC),
        versions=_versions(ws, sop_id, infos, newest),
        series=_series(ws, sop_id),
        experiment=_experiment(ws, sop_id, infos),
        alerts=alerts,
        zone=ws.settings.zone,
        versions_total=None if newest is None else len(infos),
    )


def write_workspace_report(
    ws: Workspace, sop_id: str, path: Path, *, now: datetime | None = None
) -> Path:
    """Write the self-contained HTML report of one SOP to `path` (generated at `now`)."""
    return write_report(report_data(ws, sop_id, now=now), path)
