"""Experiment assignment: put each group of an SOP (or of an overlay's bases) on its candidate
or production (recorded)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from engine import groups as group_registry
from engine.experiment import assign_groups_balanced
from engine.stats.power import History, PlanRow, history, plan
from services.overlays import attachments, set_arms
from services.workspace import Workspace
from sop_models.errors import CheckError
from versions import audit


@dataclass(frozen=True)
class Assignment:
    """Which groups follow which alias in an experiment."""

    name: str
    candidate: list[str]
    production: list[str]


def start_experiment(
    ws: Workspace,
    *,
    sop_id: str,
    share: float,
    author: str,
    now: datetime,
    salt: str | None = None,
) -> Assignment:
    """Assign groups by a salted hash (share on candidate), move their aliases, audit it. On
    an overlay the units are the groups of the bases it is attached to, and each is put on
    the overlay's candidate or production (its arm, `services.overlays.arms`)."""
    candidate = ws.store.resolve(sop_id, "candidate")
    name = f"{sop_id}@{candidate.version.label}"
    groups = experiment_groups(ws, sop_id=sop_id)
    overlay = bool(groups) and groups[0].sop_id != sop_id
    with ws.session() as session:
        if not groups:
            raise CheckError(
                f"{sop_id}: no groups registered (sop groups add ...) and no base SOP's groups"
                " to lay it over (sop overlay attach ...)"
            )
        records = assign_groups_balanced(
            [(g.id, g.member_count, g.tag_list) for g in groups],
            experiment=name,
            share=share,
            now=now,
            salt=salt,
        )
        on_candidate = sorted(r.group_id for r in records if r.variant == "candidate")
        on_production = sorted(r.group_id for r in records if r.variant != "candidate")
        if overlay:  # the groups keep their base SOP's alias; they follow an arm of the overlay
            variants = {g: "candidate" for g in on_candidate} | {
                g: "production" for g in on_production
            }
            set_arms(session, overlay=sop_id, aliases=variants)
        else:
            group_registry.set_alias(session, on_candidate, "candidate")
            group_registry.set_alias(session, on_production, "production")
        audit.append(
            session,
            actor=author,
            action="experiment",
            sop_id=sop_id,
            version=str(candidate.version),
            before=None,
            after={
                "experiment": name,
                "share": share,
                "salt": records[0].salt,
                "assignment": {r.group_id: r.variant for r in records},
            },
            note=f"{len(on_candidate)} candidate / {len(on_production)} production",
            now=now,
        )
        session.commit()
    return Assignment(name, on_candidate, on_production)


def experiment_groups(ws: Workspace, *, sop_id: str) -> list[group_registry.Group]:
    """The units of an experiment on `sop_id`: its registered groups, or, for an overlay (no
    group follows it directly), the groups of every base SOP it is attached to."""
    with ws.session() as session:
        groups = group_registry.list_groups(session, sop_id=sop_id)
    if groups:
        return groups
    bases = sorted({a.base for a in attachments(ws) if a.overlay == sop_id})
    with ws.session() as session:
        return [g for base in bases for g in group_registry.list_groups(session, sop_id=base)]


@dataclass(frozen=True)
class ExperimentPlan:
    """How many groups and days the SOP's experiment needs, from the workspace's history."""

    sop_id: str
    metric: str
    mde: float
    alpha: float
    power: float
    history: History
    available_groups: int
    rows: list[PlanRow]

    @property
    def warning(self) -> str | None:
        """Set when no planned duration reaches the power with the groups available."""
        if any(r.groups_per_arm <= self.available_groups // 2 for r in self.rows):
            return None
        best = max(self.rows, key=lambda r: r.power_with_available)
        return (
            f"{self.available_groups} groups cannot reach {self.power:.0%} power for "
            f"{self.mde:+.0%} on {self.metric}: at most {best.power_with_available:.0%} "
            f"({best.days} days); add groups or aim for a larger change"
        )


def plan_experiment(
    ws: Workspace,
    *,
    sop_id: str,
    metric: str,
    mde: float,
    now: datetime,
    alpha: float = 0.05,
    power: float = 0.8,
    history_days: int = 28,
) -> ExperimentPlan:
    """Groups per arm and days needed to detect `mde` (relative) on `metric`, from the last
    `history_days` days with events of the SOP (between-group variance, events per group-day)."""
    from engine.kpi.compute import compute_kpis
    from engine.kpi.definitions import get_metric
    from services.kpis_sends import kpi_source  # events and the ledger's sends they lack

    get_metric(metric)  # an unknown metric name is an error, not an empty plan
    if not mde > 0:
        raise CheckError(f"--mde must be a positive relative change, got {mde}")
    end = now.astimezone(ws.settings.zone).date() + timedelta(days=1)
    source = kpi_source(ws, sop_id=sop_id, end=end, metrics=[metric])
    table = compute_kpis(source, metrics=[metric], by=("group", "day"), sop=sop_id, end=end)
    days = table["day"].to_pylist()
    since = max(days) - timedelta(days=history_days - 1) if days else end
    series: dict[str, list[tuple[float, float]]] = {}
    for group, day, num, den in zip(
        table["group"].to_pylist(),
        days,
        table["num"].to_pylist(),
        table["den"].to_pylist(),
        strict=True,
    ):
        if day >= since:
            series.setdefault(str(group), []).append((float(num or 0), float(den or 0)))
    found = history(series)
    if found.groups < 2 or not found.mean > 0:
        raise CheckError(
            f"{sop_id}: not enough {metric} history to plan (groups with 2+ days of data: "
            f"{found.groups}); import events first"
        )
    available = len(experiment_groups(ws, sop_id=sop_id))
    rows = plan(found, mde=mde, alpha=alpha, power=power, available_groups=available)
    return ExperimentPlan(sop_id, metric, mde, alpha, power, found, available, rows)
