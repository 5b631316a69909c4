"""A playbook run's outcome: the per-group table (the run's artifact), totals, what needs
attention, what was sent late, and (for dry runs) the day's plan marked due or later."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.dispatch import DispatchReport
from services.playbooks import LATE_AFTER, DayPlan, RunFailure
from services.sending import Batch
from sop_models.actions import PlannedAction
from sop_models.i18n import tr


@dataclass
class GroupTally:
    """Per-group counts for the run's table artifact."""

    planned: int = 0
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    awaiting: int = 0
    skipped: int = 0
    refused: int = 0  # skipped by the channel's rule (WeCom's mass-message cap): not sent


def tally(
    actions: Sequence[PlannedAction], reports: Sequence[DispatchReport]
) -> dict[str, GroupTally]:
    """Group -> planned/sent/failed/unknown/awaiting counts from dispatch reports."""
    by_key = {a.key: a.group_id for a in actions}
    table: dict[str, GroupTally] = defaultdict(GroupTally)
    for action in actions:
        table[action.group_id].planned += 1
    for report in reports:
        for attr, keys in (
            ("sent", report.sent),
            ("failed", report.failed),
            ("unknown", report.unknown),
            ("awaiting", report.awaiting_confirmation),
            ("skipped", report.skipped_already_done),
            ("refused", report.refused),
        ):
            for key in keys:
                if key in by_key:
                    tally_row = table[by_key[key]]
                    setattr(tally_row, attr, getattr(tally_row, attr) + 1)
    return dict(sorted(table.items()))


TALLY_FIELDS = ("planned", "sent", "failed", "unknown", "awaiting", "skipped", "refused")


def totals(table: dict[str, GroupTally]) -> dict[str, int]:
    """Counts over all groups of a tally."""
    return {name: sum(getattr(row, name) for row in table.values()) for name in TALLY_FIELDS}


def needs_attention(counts: GroupTally) -> bool:
    """A group with a failed or unknown action, or one neither sent nor skipped."""
    unsettled = counts.planned - counts.sent - counts.skipped - counts.awaiting - counts.refused
    return bool(counts.failed or counts.unknown or unsettled)


@dataclass(frozen=True)
class RunSummary:
    """A playbook day's outcome: the per-group table (the run's artifact) and a small summary."""

    table: list[dict[str, Any]]
    summary: dict[str, Any]


def summarise(
    *,
    name: str,
    planned: DayPlan,
    batches: Sequence[Batch],
    reports: Sequence[DispatchReport],
    dry_run: bool,
    sent_at: datetime | None = None,
    failures: Sequence[RunFailure] = (),
) -> RunSummary:
    """The per-group table, and a summary whose size does not grow with the number of groups.

    `sent_at` is when the run sent (None: each batch at its own time, as the simulations do);
    actions it sent more than `LATE_AFTER` after their time are counted as late. A dry run
    lists the whole day, each action marked due (sent by a run now) or not.
    """
    table = tally(planned.actions, reports)
    errors = {g: f"{f.stage}: {f.error}" for f in failures for g in f.groups}
    for group in errors:
        table.setdefault(group, GroupTally())
    table = dict(sorted(table.items()))
    rows = [
        {"group": group, **vars(counts), "error": errors.get(group, "")}
        for group, counts in table.items()
    ]
    attention = [
        row
        for row, counts in zip(rows, table.values(), strict=True)
        if (not dry_run and needs_attention(counts)) or row["error"]
    ]
    missed = {a.key for a in planned.missed}
    listed = sorted(
        [(a, True) for a in planned.actions]
        + [(a, False) for a in [*planned.later, *planned.missed]],
        key=lambda item: (item[0].at, item[0].group_id, item[0].slot, item[0].key),
    )
    return RunSummary(
        rows,
        {
            "playbook": name,
            "day": planned.day.isoformat(),
            "now": planned.now.isoformat() if planned.now else None,
            "timing": planned.timing,
            "dry_run": dry_run,
            "status": "partial" if failures else "ok",
            "failures": [f.as_dict() for f in failures],
            "planned": len(planned.actions),
            "later": len(planned.later),
            "missed": {
                "count": len(planned.missed),
                "earliest_due": min(a.at for a in planned.missed).isoformat()
                if planned.missed
                else None,
                "window_minutes": int(planned.lateness.total_seconds() // 60)
                if planned.lateness is not None
                else None,
            },
            "batches": len(batches),
            "warnings": planned.warnings,
            "totals": totals(table),
            "late": _late(planned.actions, reports, sent_at),
            "blocked": _blocked(reports),
            "attention": attention,
            "versions": dict(sorted(Counter(planned.versions.values()).items())),
            "actions": [_action_row(a, due, a.key in missed) for a, due in listed]
            if dry_run
            else [],
        },
    )


def _blocked(reports: Sequence[DispatchReport]) -> dict[str, Any]:
    """Actions left pending because the service blocked (WeCom 45009), and until when."""
    until = [r.retry_at for r in reports if r.retry_at is not None]
    return {
        "count": sum(len(r.blocked) for r in reports),
        "retry_at": max(until).isoformat() if until else None,
    }


def _late(
    actions: Sequence[PlannedAction], reports: Sequence[DispatchReport], sent_at: datetime | None
) -> dict[str, Any]:
    """How many actions this run sent late, and the earliest time one of them was due."""
    if sent_at is None:
        return {"count": 0, "earliest_due": None, "sent_at": None}
    sent = {key for report in reports for key in report.sent}
    late = [a.at for a in actions if a.key in sent and a.at + LATE_AFTER < sent_at]
    return {
        "count": len(late),
        "earliest_due": min(late).isoformat() if late else None,
        "sent_at": sent_at.isoformat(),
    }


def _action_row(action: PlannedAction, due: bool, missed: bool = False) -> dict[str, Any]:
    return {
        "key": action.key,
        "group": action.group_id,
        "at": action.at.isoformat(),
        "kind": action.kind,
        "text": action.text,
        "due": due,
        "missed": missed,
    }


def failure_line(summary: dict[str, Any]) -> str:
    """One line for a partly failed run: how many groups failed where, and the first error."""
    failures = summary["failures"]
    groups = sum(f["groups"] for f in failures)
    first = failures[0]
    return tr(
        "{playbook} {day}: {groups} group(s) failed in {places} place(s), the others were "
        "planned and sent; first: {stage} {sop}: {error}"
    ).format(
        playbook=summary["playbook"],
        day=summary["day"],
        groups=groups,
        places=len(failures),
        stage=first["stage"],
        sop=first["sop"],
        error=first["error"],
    )
