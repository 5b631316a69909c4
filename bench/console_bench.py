"""The ops console at size: page render times vs a trivial page of the same app.

A workspace with SIZE["versions"] versions of one SOP, SIZE["groups"] groups and
SIZE["ledger"] delivery-ledger rows (30 days, a tenth of them hand posts); every page is
requested through the app in this process (Starlette's TestClient, no network), logged in as
a lead (the phone page as an operator with 8 groups). Baseline: the login page, which renders
a template and nothing else. Target (issue 15): under 200 ms median per page.
"""

from __future__ import annotations

import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert

from bench.table import Row, median_ms
from engine.groups import Group
from engine.ledger import Delivery
from services.accounts import add_user
from services.workspace import Workspace, init_workspace
from sopflow.web.app import create_app
from versions.numbering import Version

SOP = "mombaby-refined"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FULL = {"versions": 1000, "groups": 10_000, "ledger": 1_000_000}
QUICK = {"versions": 100, "groups": 1000, "ledger": 50_000}
PASSWORD = "bench-password-1"


def _fill(ws: Workspace, size: dict[str, int], now: datetime) -> None:
    base = (EXAMPLES / f"{SOP}.yaml").read_text(encoding="utf-8")
    for n in range(size["versions"]):
        ws.store.write_version(
            sop_id=SOP,
            version=Version(1, n),
            content=base.replace("title: ", f"title: 第 {n} 版 ", 1),
            author="bench",
            message=f"v1.{n}: 第 {n} 版",
            at=now,
        )
    ws.store.set_alias(SOP, "production", ws.store.resolve(SOP, f"1.{size['versions'] // 2}"))
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
    }
    with tempfile.TemporaryDirectory() as tmp:
        ws = init_workspace(Path(tmp) / "ws")
        try:
            _fill(ws, size, now)
            lead, operator = _client(ws, "李经理"), _client(ws, "op0")
            baseline = median_ms(lambda: lead.get("/login"), 15)
            where = f"{size['groups']:,} groups, {size['ledger']:,} ledger rows"
            rows = []
            for name, path in [*pages.items(), ("operator phone page", "/tasks")]:
                web = operator if path == "/tasks" else lead
                assert web.get(path).status_code == 200, path
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
