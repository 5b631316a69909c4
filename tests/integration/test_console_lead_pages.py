"""Lead pages: the headline KPI on the SOP list, the audit log's time filter, group edits and
CSV imports with their row errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from services import audit_trail
from services import groups as group_services
from services.groups import NewGroup
from services.headline import headline
from services.kpis import event_store
from services.workspace import Workspace
from tests.support.console import T0, client, csrf_of, log_in, with_accounts
from tests.support.examples import example_text, modified
from versions import services

SOP = "mombaby-refined"


def _open_rate_first(data: dict[str, Any]) -> None:
    targets = data["kpis"]["targets"]
    targets.sort(key=lambda t: t["metric"] != "open_rate")


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    """mombaby v1.0 (open_rate its first KPI target) in production, v1.1 saved beside it."""
    with_accounts(workspace)
    for n, title in enumerate(("一", "二")):
        text = modified(example_text(SOP), _open_rate_first)
        text = modified(text, lambda d, title=title: d.update(title=title))
        services.save_version(
            workspace.uow(), text=text, source="m.yaml", author="小王", message=title,
            major=False, now=T0 + timedelta(minutes=n),
        )  # fmt: skip
    services.promote(
        workspace.uow(), sop_id=SOP, version="1.0", approver="李经理", policy=workspace.policy,
        now=T0,
    )  # fmt: skip
    return workspace


@pytest.fixture
def web(ws: Workspace) -> Iterator[TestClient]:
    with client(ws) as c:
        log_in(c, "李经理")
        yield c


def _events(ws: Workspace, rows: list[tuple[date, str, str, float | None]]) -> None:
    """(local day, version, event, value) rows in group g-1, at noon Beijing time."""
    table = pa.table(
        {
            "group": ["g-1"] * len(rows),
            "member": [
                None if e == "delivered" else f"m-{i}" for i, (_, _, e, _) in enumerate(rows)
            ],
            "time": [f"{d.isoformat()}T12:00:00+08:00" for d, _, _, _ in rows],
            "event": [e for _, _, e, _ in rows],
            "value": [v for _, _, _, v in rows],
            "sop_version": [v for _, v, _, _ in rows],
            "sop": [SOP] * len(rows),
        }
    )
    event_store(ws).import_rows(table, "test events", now=datetime.now(UTC))


def test_headline_is_the_primary_kpi_of_production_over_the_last_7_days(ws: Workspace) -> None:
    today = datetime.now(UTC).astimezone(ws.settings.zone).date()  # the console's today
    _events(
        ws,
        [
            (today - timedelta(days=2), "1.0", "delivered", 10.0),
            *[(today - timedelta(days=2), "1.0", "open", None)] * 3,
            (today - timedelta(days=9), "1.0", "delivered", 10.0),  # before the window
            *[(today - timedelta(days=9), "1.0", "open", None)] * 9,
            (today - timedelta(days=1), "1.1", "delivered", 10.0),  # not production
            *[(today - timedelta(days=1), "1.1", "open", None)] * 8,
        ],
    )
    found = headline(ws, sop_id=SOP, today=today)
    assert found is not None
    assert (found.metric, found.version, found.shown) == ("open_rate", "1.0", "30.0%")
    assert (found.first, found.last) == (today - timedelta(days=6), today)


def test_the_sop_list_shows_the_headline_or_a_dash_without_data(
    ws: Workspace, web: TestClient
) -> None:
    assert "消息打开率 <strong>—</strong>" in web.get("/").text
    today = datetime.now(UTC).astimezone(ws.settings.zone).date()
    _events(ws, [(today, "1.0", "delivered", 4.0), (today, "1.0", "open", None)])
    assert "消息打开率 <strong>25.0%</strong>" in web.get("/").text


def test_the_audit_log_filters_by_local_days(web: TestClient) -> None:
    # 4 accounts, 2 saves and a promotion were recorded at T0: 2026-09-01 17:00 in Beijing.
    that_day = web.get("/audit", params={"since": "2026-09-01", "until": "2026-09-01"}).text
    assert "<p>7 / 7</p>" in that_day
    assert "<p>0 / 0</p>" in web.get("/audit", params={"since": "2026-09-02"}).text
    assert "<p>0 / 0</p>" in web.get("/audit", params={"until": "2026-08-31"}).text
    bad = web.get("/audit", params={"since": "09/01"})
    assert bad.status_code == 400 and "since" in bad.text


def _group(ws: Workspace) -> None:
    group_services.add_groups(
        ws, groups=[NewGroup(id="g-1", name="宝妈1群", sop_id=SOP, owner="阿芳")], now=T0
    )


def test_a_lead_edits_a_group_and_the_audit_names_them(ws: Workspace, web: TestClient) -> None:
    _group(ws)
    page = web.get("/groups/g-1")
    assert page.status_code == 200 and 'value="阿芳"' in page.text
    form = {"csrf": csrf_of(page.text), "name": "宝妈1群", "owner": "小李", "sop_id": SOP}
    form |= {
        "channel": "console",
        "alias": "production",
        "member_count": "120",
        "tags": "上海; VIP",
    }
    answer = web.post("/groups/g-1", data=form)
    assert answer.status_code == 303
    group, _ = group_services.show_group(ws, group_id="g-1")
    assert (group.owner, group.member_count, group.tag_list) == ("小李", 120, ["上海", "VIP"])
    [edit] = audit_trail.records(ws, action="group_edit")
    assert edit.actor == "李经理" and "owner" in edit.note


def test_a_bad_group_edit_shows_the_problem_and_changes_nothing(
    ws: Workspace, web: TestClient
) -> None:
    _group(ws)
    csrf = csrf_of(web.get("/groups/g-1").text)
    for field, value, named in (
        ("sop_id", "no-such-sop", "no-such-sop"),
        ("member_count", "many", "member_count"),
    ):
        form = {"csrf": csrf, "name": "宝妈1群", "owner": "小李", "sop_id": SOP, field: value}
        answer = web.post("/groups/g-1", data=form)
        assert answer.status_code == 400 and named in answer.text and 'role="alert"' in answer.text
    group, _ = group_services.show_group(ws, group_id="g-1")
    assert group.owner == "阿芳" and audit_trail.records(ws, action="group_edit") == []


def test_an_operator_cannot_edit_groups(ws: Workspace) -> None:
    _group(ws)
    with client(ws) as web:
        log_in(web, "阿芳")
        assert web.get("/groups/g-1").status_code == 403
        assert web.get("/groups/import").status_code == 403


CSV_HEAD = "id,name,owner,sop,member_count\n"


def test_a_csv_import_with_bad_rows_lists_each_row_and_imports_nothing(
    ws: Workspace, web: TestClient
) -> None:
    csrf = csrf_of(web.get("/groups/import").text)
    text = CSV_HEAD + f"g-a,甲群,阿芳,{SOP},10\ng-b,,阿芳,{SOP},10\ng-c,丙群,阿芳,{SOP},lots\n"
    answer = web.post("/groups/import", data={"csrf": csrf, "csv": text})
    assert answer.status_code == 400
    assert "<td>line 3</td><td>name: required</td>" in answer.text
    assert (
        "<td>line 4</td><td>member_count: &#39;lots&#39; is not a whole number</td>" in answer.text
    )
    assert group_services.list_groups(ws) == []


def test_an_uploaded_csv_imports_its_groups_as_the_lead(ws: Workspace, web: TestClient) -> None:
    csrf = csrf_of(web.get("/groups/import").text)
    text = CSV_HEAD + f"g-a,甲群,阿芳,{SOP},10\ng-b,乙群,小李,{SOP},\n"
    upload = {"file": ("groups.csv", text.encode("utf-8"), "text/csv")}
    answer = web.post("/groups/import", data={"csrf": csrf}, files=upload)
    assert answer.status_code == 200 and "已导入: 2" in answer.text
    assert sorted(g.id for g in group_services.list_groups(ws)) == ["g-a", "g-b"]
    assert {r.actor for r in audit_trail.records(ws, action="group_add")} == {"李经理"}


def test_a_csv_without_the_required_columns_names_them(web: TestClient) -> None:
    csrf = csrf_of(web.get("/groups/import").text)
    answer = web.post("/groups/import", data={"csrf": csrf, "csv": "id,owner\ng-a,阿芳\n"})
    assert answer.status_code == 400 and "groups.csv" in answer.text and "/tmp" not in answer.text
