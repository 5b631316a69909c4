"""What the console reads cheaply at size still says the same: the SOP list's followers and
last change from SQL, the KPI page's newest versions with their diffs, the report's evidence
found through the audit trail."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import insert

from engine.ledger import Delivery
from report.html import render_report
from services import groups as group_services
from services.groups import NewGroup
from services.history import list_sops
from services.report_data import report_data
from services.workspace import Workspace
from sop_models.evidence import CheckEvidence, Evidence
from tests.support.console import T0
from tests.support.examples import example_text, modified
from tests.support.workspaces import in_production
from versions import services

SOP = "mombaby-refined"


def _save(ws: Workspace, title: str, minutes: int) -> None:
    services.save_version(
        ws.uow(),
        text=modified(example_text(SOP), lambda d: d.update(title=title)),
        source="m.yaml",
        author="小王",
        message=f"标题 {title}",
        major=False,
        now=T0 + timedelta(minutes=minutes),
    )


def _evidence(summary: str) -> Evidence:
    check = CheckEvidence(decision="PROMOTE", reasons=("primary open_rate better",), metrics=())
    return Evidence(
        summary=summary,
        decision="PROMOTE",
        window=(date(2026, 8, 1), date(2026, 8, 15)),
        groups_per_arm=(12, 12),
        check=check,
        production="1.0",
        candidate="1.1",
    )


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    """mombaby v1.0 in production, then v1.1 and v1.2 saved with other titles."""
    in_production(workspace, SOP, now=T0)
    _save(workspace, "第二版", 1)
    _save(workspace, "第三版", 2)
    return workspace


def test_the_sop_list_counts_followers_per_alias_without_archived_groups(ws: Workspace) -> None:
    new = [NewGroup(id=f"g{n}", name=f"群{n}", sop_id=SOP) for n in range(3)]
    group_services.add_groups(ws, groups=new, now=T0, by="李经理")
    with ws.engine.begin() as conn:  # g0 has a delivery, so removing it archives it
        conn.execute(
            insert(Delivery.__table__),  # type: ignore[attr-defined]
            [{"key": "k0", "slot_key": "k0", "sop_id": SOP, "version": "1.0", "group_id": "g0",
              "kind": "column", "slot": "columns.a", "due_at": T0, "channel": "console",
              "status": "sent", "attempts": 1, "updated_at": T0}],
        )  # fmt: skip
    assert group_services.remove_group(ws, group_id="g0", by="李经理", now=T0) is True

    [summary] = list_sops(ws)

    assert summary.groups == {"production": 2, "candidate": 0}
    assert summary.last_change is not None
    assert (summary.last_change.action, summary.last_change.actor) == ("group_archive", "李经理")


def test_the_sop_list_names_each_sops_own_newest_change(ws: Workspace) -> None:
    in_production(ws, "jewelry-service", now=T0 + timedelta(hours=1))

    found = {s.latest.sop_id: s.last_change for s in list_sops(ws)}

    mombaby, jewelry = found[SOP], found["jewelry-service"]
    assert mombaby is not None and jewelry is not None
    assert (mombaby.action, mombaby.at) == ("save", T0 + timedelta(minutes=2))
    assert (jewelry.action, jewelry.at) == ("promote", T0 + timedelta(hours=1))


def test_the_kpi_page_lists_the_newest_versions_each_diffed_against_the_one_before(
    ws: Workspace,
) -> None:
    data = report_data(ws, SOP, newest=2)

    assert [v.version for v in data.versions] == ["1.2", "1.1"]
    assert data.versions_total == 3
    oldest_shown = data.versions[-1]
    assert any("title" in line and "第二版" in line for line in oldest_shown.diff_lines)
    assert data.versions[0].aliases == [] and "(2 / 3)" in render_report(data)
    assert [v.version for v in report_data(ws, SOP).versions] == ["1.2", "1.1", "1.0"]


def test_the_report_shows_the_check_evidence_of_the_highest_version_that_has_one(
    ws: Workspace,
) -> None:
    for version, evidence in (
        ("1.0", _evidence("v1.0: 旧的结论")),
        ("1.1", _evidence("v1.1: 新标题 — 打开率 +18.0%")),
        ("1.2", {"note": "手工附上的材料"}),  # not a check's evidence
    ):
        services.attach_evidence(
            ws.uow(), sop_id=SOP, version=version, actor="李经理", evidence=evidence, now=T0
        )

    experiment = report_data(ws, SOP).experiment

    assert experiment is not None and experiment.changelog == "v1.1: 新标题 — 打开率 +18.0%"


def test_the_kpi_page_follows_imports_and_removals_of_events(ws: Workspace) -> None:
    from datetime import UTC, datetime

    import pyarrow as pa

    from services.event_imports import import_table, remove_batch

    def opens() -> list[float]:
        [series] = [s for s in report_data(ws, SOP).series if s.metric == "open_rate"]
        return [p.value for p in series.points if p.value is not None]

    table = pa.table(
        {
            "group": ["g-1"] * 3,
            "member": [None, "m-1", "m-2"],
            "time": ["2026-09-02T12:00:00+08:00"] * 3,
            "event": ["delivered", "open", "open"],
            "value": [4.0, None, None],
            "sop_version": ["1.0"] * 3,
            "sop": [SOP] * 3,
        }
    )
    group_services.add_groups(ws, groups=[NewGroup(id="g-1", name="群", sop_id=SOP)], now=T0)
    assert opens() == []
    batch = import_table(ws, table, source="t.csv", now=datetime.now(UTC), actor="小王")
    assert opens() == [0.5]
    remove_batch(ws, batch.sha256, now=datetime.now(UTC), actor="小王")
    assert opens() == []
