"""`sop check` leaves out, and counts, groups seen under both versions in its window."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pyarrow as pa

from engine.events.store import EventStore
from services.check import evaluate
from services.workspace import Workspace
from tests.support.workspaces import with_candidate

NOW = datetime(2026, 9, 20, 10, 0, tzinfo=UTC)
SOP = "mombaby-refined"
START = date(2026, 9, 1)


def candidate_workspace(ws: Workspace) -> None:
    with_candidate(ws, SOP, lambda d: d.update(title="新版"), message="新欢迎语", now=NOW)


def events(
    groups: dict[str, list[str]], days: int, first: date = START, prefix: str = ""
) -> pa.Table:
    """20 members per group joining on day 1; each day 20 delivered and a seeded number of opens."""
    rng = np.random.default_rng(14)
    columns = ("group", "member", "time", "event", "value", "sop_version", "sop")
    rows: dict[str, list] = {k: [] for k in columns}

    def add(group: str, member: str, when: datetime, event: str, value: float | None) -> None:
        items = (group, member, when.isoformat(), event, value, version, SOP)
        for key, item in zip(columns, items, strict=True):
            rows[key].append(item)

    for group, versions in groups.items():
        for day in range(days):
            when = datetime.combine(first, time(2, 0), tzinfo=UTC) + timedelta(days=day)
            version = versions[day % len(versions)]
            if day == 0:
                for m in range(20):
                    add(group, f"{prefix}{group}-m{m}", when, "join", None)
            add(group, "", when, "delivered", 20.0)
            for m in range(int(rng.binomial(20, 0.3))):
                add(group, f"{prefix}{group}-m{m}", when + timedelta(hours=1), "open", None)
    return pa.table(rows)


def test_groups_seen_under_both_versions_are_excluded_and_counted(workspace: Workspace) -> None:
    candidate_workspace(workspace)
    groups = {f"g{i}": ["1.0"] for i in range(8)} | {f"h{i}": ["2.0"] for i in range(8)}
    groups["both"] = ["1.0", "2.0"]  # e.g. a window starting a day before the assignment
    EventStore(workspace.dir("events")).import_rows(events(groups, 10), "test")
    outcome = evaluate(
        workspace, sop_id=SOP, now=NOW, start=START, end=START + timedelta(days=10),
        sequential=False,
    )  # fmt: skip
    assert outcome.groups_per_arm == (8, 8)
    assert any(r.startswith("排除了 1 个在窗口内同时出现在两个版本下的群（")
               for r in outcome.decision.reasons)  # fmt: skip
    assert outcome.evidence.groups_per_arm == (8, 8)
    # The evidence keeps what decided: each guardrail's state and the scale of each CI.
    (leave,) = [m for m in outcome.evidence.check.metrics if m.role == "guardrail"]
    assert leave.name == "leave_rate" and leave.state in ("passes", "inconclusive")
    assert {m.scale for m in outcome.evidence.check.metrics} <= {"relative", "absolute"}


def test_check_uses_cuped_when_every_group_has_a_pre_period(workspace: Workspace) -> None:
    candidate_workspace(workspace)
    groups = {f"g{i}": ["1.0"] for i in range(8)} | {f"h{i}": ["2.0"] for i in range(8)}
    store = EventStore(workspace.dir("events"))
    store.import_rows(events(groups, 10), "experiment")
    window = {"start": START, "end": START + timedelta(days=10)}
    plain = evaluate(workspace, sop_id=SOP, now=NOW, sequential=False, **window)
    assert "CUPED" not in plain.decision.primary.method  # no data before the window: plain
    earlier = events({g: ["1.0"] for g in groups}, 7, START - timedelta(days=7), "pre-")
    store.import_rows(earlier, "pre-period")
    adjusted = evaluate(workspace, sop_id=SOP, now=NOW, sequential=False, **window)
    opens = [m for m in adjusted.decision.secondaries if m.name == "open_rate"]
    assert opens and "CUPED with the pre-period: variance" in opens[0].method
