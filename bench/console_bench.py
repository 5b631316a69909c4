"""The ops console at size: page render times vs a trivial page of the same app.

A workspace with SIZE["versions"] versions of one SOP (saved and promoted through the version
services, so each has its audit record), SIZE["groups"] groups, SIZE["ledger"]
delivery-ledger rows (30 days, a tenth of them hand posts), SIZE["audit"] audit records in
all (the saves, then group and delivery records) and SIZE["events"] events over the last 14
days (so the KPI page and the SOP list's headline KPI have data); every page is requested
through the app in this process (Starlette's TestClient, no network), logged in as a lead
(the phone page as an operator with 8 groups). The approvals inbox runs on Prefect's
ephemeral mode (the `sop init` default), with no PREFECT_API_URL. Baseline: the login page,
which renders a template and nothing else. Target (issue 15): under 200 ms median per page.
"""

from __future__ import annotations

import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from fastapi.testclient import TestClient
from sqlalchemy import insert

from bench.table import Row, median_ms
from engine.groups import Group
from engine.ledger import Delivery
from services.accounts import add_user
from services.event_imports import import_table
from services.workspace import Workspace, init_workspace
from simulator.synthetic import synthetic_events
from sopflow.web.app import create_app
from versions import audit, services

SOP = "mombaby-refined"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FULL = {
    "versions": 1000,
    "groups": 10_000,
    "ledger": 1_000_000,
    "audit": 10_000,
    "events": 1_000_000,
}
QUICK = {"versions": 100, "groups": 1000, "ledger": 50_000, "audit": 2000, "events": 100_000}
PASSWORD = "bench-password-1"


def _fill(ws: Workspace, size: dict[str, int], now: datetime) -> None:
    base = (EXAMPLES / f"{SOP}.yaml").read_text(encoding="utf-8")
    for n in range(size["versions"]):
        services.save_version(
            ws.uow(),
            text=base.replace("title: ", f"title: 第 {n} 版 ", 1),
            source=f"{SOP}.yaml",
            author="bench",
            message=f"v1.{n}: 第 {n} 版",
            major=False,
            now=now,
        )
    production = f"1.{size['versions'] // 2}"
    services.promote(
        ws.uow(), sop_id=SOP, version=production, approver="李经理", policy=ws.policy, now=now
    )
    groups = [
        {
            "id": f"g{i:05d}",
            "name": f"宝妈群 {i}",
            "owner": f"op{i // 8}",
            "sender": "",
            "channel": "tasklist" if i % 10 == 0 else "outbox",
            "target": "",
            "sop_id": SOP,
            "alias": "production",
            "member_count": 200,
            "tags": "[]",
            "created_at": now,
        }
        for i in range(size["groups"])
    ]
    with ws.engine.begin() as conn:
        conn.execute(insert(Group.__table__), groups)  # type: ignore[attr-defined]
    _fill_ledger(ws, size, groups, now)
    _fill_audit(ws, size["audit"] - size["versions"] - 1, now)
    _fill_events(ws, size["events"], len(groups), production, now)
    for name, role in (("李经理", "lead"), ("op0", "operator")):
        add_user(ws, name=name, role=role, password=PASSWORD, actor="bench", now=now)


def _fill_ledger(ws: Workspace, size: dict[str, int], groups: list[dict], now: datetime) -> None:
    start = now - timedelta(days=15)
    per_group = max(1, size["ledger"] // len(groups))
    batch: list[dict] = []
    with ws.engine.begin() as conn:
        for g in groups:
            for n in range(per_group):
                due = start + timedelta(hours=n * 720 // per_group)
                key = f"{SOP}:1.0:{g['id']}:s{n}:{due.date()}"
                batch.append(
                    {
                        "key": key,
                        "slot_key": key,
                        "sop_id": SOP,
                        "version": "1.0",
                        "group_id": g["id"],
                        "kind": "column",
                        "slot": f"columns.s{n}",
                        "due_at": due,
                        "channel": g["channel"],
                        "status": "pending" if due > now else "sent",
                        "attempts": 0,
                        "updated_at": now,
                    }
                )
                if len(batch) >= 20_000:
                    conn.execute(insert(Delivery.__table__), batch)  # type: ignore[attr-defined]
                    batch.clear()
        if batch:
            conn.execute(insert(Delivery.__table__), batch)  # type: ignore[attr-defined]


def _fill_audit(ws: Workspace, count: int, now: datetime) -> None:
    """`count` more audit records of the everyday kinds: group edits and hand posts done."""
    with ws.session() as session:
        for n in range(count):
            group = f"g{n % 10_000:05d}"
            if n % 2:
                fields = {"action": "group_edit", "before": {"owner": "op1"}, "note": "owner"}
                fields["after"] = {"owner": f"op{n % 1250}"}
            else:
                key = f"{SOP}:1.0:{group}:s0:{now.date()}"
                fields = {"action": "delivery_done", "before": None, "after": {"key": key}}
                fields["note"] = key
            audit.append(
                session,
                actor="李经理",
                sop_id=SOP,
                version=None,
                now=now - timedelta(minutes=count - n),
                **fields,
            )
        session.commit()


def _fill_events(ws: Workspace, count: int, groups: int, version: str, now: datetime) -> None:
    """About `count` events of the last 14 days for the first groups, on production."""
    start = (now - timedelta(days=14)).date()
    shown = min(groups, 1000)
    table = synthetic_events(count, groups=shown, members=50, days=14, start=start, seed=7)
    named = pc.replace_substring_regex(table["group"], r"^\D*(\d+)\D*$", r"g0\1")
    table = table.set_column(table.schema.get_field_index("group"), "group", named)
    versions = pa.array([version] * table.num_rows, pa.string())
    table = table.set_column(table.schema.get_field_index("sop_version"), "sop_version", versions)
    table = table.append_column("sop", pa.array([SOP] * table.num_rows, pa.string()))
    import_table(ws, table, source="bench events", now=now, actor="bench")


def _client(ws: Workspace, name: str) -> TestClient:
    web = TestClient(create_app(ws), follow_redirects=False)
    found = re.search(r'name="pre" value="([^"]+)"', web.get("/login").text)
    assert found, "no login token in the login page"
    pre = found.group(1)
    answer = web.post("/login", data={"name": name, "password": PASSWORD, "pre": pre})
    assert answer.status_code == 303, answer.text
    return web


def run(quick: bool = False) -> list[Row]:
    """Fill a workspace, then time each page (median of 15) against the login page."""
    size = QUICK if quick else FULL
    now = datetime.now(UTC)
    last = size["versions"] - 1
    pages = {
        "SOP list": "/",
        f"history ({size['versions']} versions)": f"/sops/{SOP}",
        "one version as saved": f"/sops/{SOP}/v/1.{last // 2}",
        "diff of two versions": f"/sops/{SOP}/diff?a=1.0&b=1.{last}",
        "audit log + verify": "/audit",
        "groups (search, first 200 shown)": "/groups?q=宝妈群 99",
        "one group's edit form": "/groups/g00099",
        "groups CSV import form": "/groups/import",
        f"KPI trends + alert days (newest 20 of {size['versions']} versions)": f"/sops/{SOP}/kpis",
        "week of planned posts (10 groups)": f"/sops/{SOP}/week",
        "approvals inbox (Prefect ephemeral mode)": "/approvals",
    }
    with tempfile.TemporaryDirectory() as tmp:
        ws = init_workspace(Path(tmp) / "ws")
        try:
            began = time.perf_counter()
            _fill(ws, size, now)
            print(f"filled in {time.perf_counter() - began:.0f} s", flush=True)
            lead, operator = _client(ws, "李经理"), _client(ws, "op0")
            baseline = median_ms(lambda: lead.get("/login"), 15)
            where = f"{size['groups']:,} groups, {size['ledger']:,} ledger rows"
            rows = []
            for name, path in [*pages.items(), ("operator phone page", "/tasks")]:
                web = operator if path == "/tasks" else lead
                began = time.perf_counter()
                assert web.get(path).status_code == 200, path
                print(f"{name}: first load {(time.perf_counter() - began) * 1000:.0f} ms")
                rows.append(
                    Row(
                        f"console {name} ({where}; median of 15)",
                        median_ms(lambda web=web, path=path: web.get(path), 15),
                        "ms",
                        "login page, same app",
                        baseline,
                        "< 200 ms",
                    )
                )
        finally:
            ws.close()
    return rows


if __name__ == "__main__":
    from bench.table import render

    print(render(run(quick=True)))
