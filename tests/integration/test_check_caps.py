"""`sop check` caps the money of metrics with a declared cap (客单价): each member's order
amount in the window, at the pooled quantile of both versions' non-zero member amounts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from engine.events.store import EventStore
from engine.stats.winsor import pooled_cap
from services.check import Conclusion, Outcome, evaluate
from services.settings import load_settings
from services.workspace import Workspace, open_workspace
from sop_models.errors import WorkspaceError
from tests.support.workspaces import with_candidate

NOW = datetime(2026, 9, 20, 10, 0, tzinfo=UTC)
SOP = "mombaby-refined"
START = date(2026, 9, 1)
DAYS = 10
VERSIONS = {f"g{i}": "1.0" for i in range(8)} | {f"h{i}": "2.0" for i in range(8)}


def candidate_workspace(ws: Workspace) -> None:
    """V1.0 in production, V2.0 the candidate with 客单价 as its primary metric."""

    def aov_first(data: dict) -> None:
        data["title"] = "新版"
        data["kpis"]["targets"] = [
            {"metric": "average_order_value", "target": 80.0, "direction": "higher"}
        ]

    with_candidate(ws, SOP, aov_first, message="团购接龙", now=NOW)


def orders(seed: int, first: date, days: int) -> tuple[pa.Table, dict[tuple[str, str], float]]:
    """30 members per group; on each day each orders with 3%, lognormal(4, 1.5) yuan (a few
    团长 orders in the thousands). Returns the events and each (group, member)'s total."""
    rng = np.random.default_rng(seed)
    columns = ("group", "member", "time", "event", "value", "sop_version", "sop")
    rows: dict[str, list] = {k: [] for k in columns}
    totals: dict[tuple[str, str], float] = {}

    def add(group: str, member: str, when: datetime, event: str, value: float | None) -> None:
        items = (group, member, when.isoformat(), event, value, VERSIONS[group], SOP)
        for key, item in zip(columns, items, strict=True):
            rows[key].append(item)

    for group in VERSIONS:
        for day in range(days):
            when = datetime.combine(first, time(2, 0), tzinfo=UTC) + timedelta(days=day)
            for m in range(30):
                member = f"{group}-m{m}"
                if day == 0:
                    add(group, member, when, "join", None)
                if rng.random() < 0.03:
                    amount = round(float(rng.lognormal(4.0, 1.5)), 2)
                    add(group, member, when + timedelta(hours=1), "order", amount)
                    totals[(group, member)] = totals.get((group, member), 0.0) + amount
    return pa.table(rows), totals


def check_orders(ws: Workspace, seed: int) -> tuple[Outcome, dict[tuple[str, str], float]]:
    """V2.0 the candidate, `seed`'s orders in the window, one fixed-horizon check of it; the
    outcome and each (group, member)'s order total."""
    candidate_workspace(ws)
    table, totals = orders(seed, START, DAYS)
    EventStore(ws.dir("events")).import_rows(table, "orders")
    outcome = evaluate(
        ws, sop_id=SOP, now=NOW, start=START, end=START + timedelta(days=DAYS), sequential=False
    )
    return outcome, totals


def test_check_caps_each_members_order_amount_at_the_pooled_cap(workspace: Workspace) -> None:
    outcome, totals = check_orders(workspace, 3)
    primary = outcome.decision.primary
    assert primary.name == "average_order_value" and primary.capped is not None
    arm = {
        v: np.array([t for (g, _), t in totals.items() if VERSIONS[g] == v])
        for v in VERSIONS.values()
    }
    b, c = arm["1.0"], arm["2.0"]
    cap = float(pooled_cap(b, c, 0.9))
    assert primary.capped.cap == pytest.approx(cap) and primary.capped.level == "member"
    assert cap < max(b.max(), c.max())  # someone was capped
    assert primary.baseline.value == pytest.approx(np.minimum(b, cap).sum() / b.size)
    assert primary.candidate.value == pytest.approx(np.minimum(c, cap).sum() / c.size)
    assert f"客单价 封顶为 {cap:.6g}（两组合并后非零成员下单金额的第 90 百分位）" in (
        outcome.decision.reasons
    )
    found = Conclusion(outcome, "run-1").as_dict()
    assert found["capped"] == {
        "average_order_value": {"cap": pytest.approx(cap), "quantile": 0.9, "level": "member"}
    }
    check = outcome.evidence.as_json()["check"]
    assert check["metrics"][0]["capped"]["cap"] == pytest.approx(cap)


def test_metrics_without_a_declared_cap_are_not_capped(workspace: Workspace) -> None:
    outcome, _ = check_orders(workspace, 4)
    leave = outcome.decision.guardrails[0]
    assert leave.name == "leave_rate" and leave.capped is None
    assert outcome.evidence.as_json()["check"]["metrics"][1]["capped"] is None


def test_uncapped_metrics_setting_tests_the_money_as_recorded(workspace: Workspace) -> None:
    settings = workspace.root / "sopflow.toml"
    settings.write_text(
        settings.read_text(encoding="utf-8") + 'uncapped_metrics = ["average_order_value"]\n',
        encoding="utf-8",
    )
    with open_workspace(workspace.root) as ws:  # with the setting
        outcome, totals = check_orders(ws, 3)
    primary = outcome.decision.primary
    b = np.array([t for (g, _), t in totals.items() if VERSIONS[g] == "1.0"])
    assert primary.capped is None
    assert primary.baseline.value == pytest.approx(b.sum() / b.size)
    assert "客单价 未封顶（工作区设置 uncapped_metrics）" in outcome.decision.reasons


def test_uncapped_metrics_names_only_metrics_with_a_cap(workspace: Workspace) -> None:
    (workspace.root / "sopflow.toml").write_text('uncapped_metrics = ["open_rate"]\n')
    with pytest.raises(WorkspaceError, match="open_rate: not a metric with a declared cap"):
        load_settings(workspace.root)


def test_the_pre_period_is_capped_at_the_windows_cap_and_cuped_still_applies(
    workspace: Workspace,
) -> None:
    candidate_workspace(workspace)
    store = EventStore(workspace.dir("events"))
    table, _ = orders(5, START, DAYS)
    store.import_rows(table, "orders")
    window = {"start": START, "end": START + timedelta(days=DAYS)}
    alone = evaluate(workspace, sop_id=SOP, now=NOW, sequential=False, **window)
    before, _ = orders(6, START - timedelta(days=DAYS), DAYS)
    store.import_rows(before.filter(pc.equal(before["event"], "order")), "before")
    both = evaluate(workspace, sop_id=SOP, now=NOW, sequential=False, **window)
    assert both.decision.primary.capped == alone.decision.primary.capped  # the window's pool
    assert "CUPED" in both.decision.primary.method


def test_a_before_after_check_pools_both_periods_members(workspace: Workspace) -> None:
    candidate_workspace(workspace)
    store = EventStore(workspace.dir("events"))
    window, totals_c = orders(7, START, DAYS)
    before, totals_b = orders(8, START - timedelta(days=DAYS), DAYS)
    # Before/after: production ran every group before the window, the candidate in it.
    store.import_rows(window.set_column(5, "sop_version", pa.array(["2.0"] * len(window))), "c")
    store.import_rows(before.set_column(5, "sop_version", pa.array(["1.0"] * len(before))), "b")
    outcome = evaluate(
        workspace, sop_id=SOP, now=NOW, start=START, end=START + timedelta(days=DAYS),
        sequential=False, before_after=True,
    )  # fmt: skip
    b, c = np.array(list(totals_b.values())), np.array(list(totals_c.values()))
    cap = float(pooled_cap(b, c, 0.9))
    primary = outcome.decision.primary
    assert primary.capped is not None and primary.capped.cap == pytest.approx(cap)
    assert primary.baseline.value == pytest.approx(np.minimum(b, cap).sum() / b.size)
