"""Delivery KPIs of a team that only sends through sopflow: welcomes sent through the outbox
(real ledger rows), a tracked link in the welcome clicked, and welcome_open_rate / click_rate
read with the ledger's sends as their denominator, never counted twice when `delivered`
events for the same message are imported too."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from engine.channels.outbox import read_outbox
from engine.groups import add_group
from engine.kpi.compute import unit_sums
from engine.ledger import SENT, Delivery, list_deliveries
from engine.members import MemberJoin
from services import playbooks, sending
from services.done_marks import record_done
from services.kpis import event_store, kpi_table
from services.kpis_sends import kpi_source
from services.settings import load_settings
from services.tracked_links import click
from services.workspace import Workspace, init_workspace
from tests.support.examples import example_text, modified
from tests.support.planning import local
from tests.support.workspaces import Cli
from versions import services as version_services

SETUP = datetime(2026, 8, 1, 9, 0, tzinfo=UTC)
SOP = "mombaby-refined"
DAY = date(2026, 9, 3)
WELCOME = f"{SOP}:1.0:on_join.welcome:2026-09-03"  # the welcome's message key
GIFT = "https://shop.example.com/gift?id=3"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) wxwork/4.1 MicroMessenger"
BOT = "Mozilla/5.0 (compatible; bingbot/2.0)"


def _gift_in_welcome(data: dict[str, Any]) -> None:
    for template in data["templates"]:
        if template["id"] == "welcome":
            template["body"] += f"\n入群礼 👉 {GIFT}\n"
    data["track_links"] = True


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    """Mombaby 1.0 (its welcome links to a gift, tracked) in production, one outbox group of
    30 members, three joins on DAY, and that day's on-join run sent."""
    path = workspace.root / "sopflow.toml"
    path.write_text(
        path.read_text(encoding="utf-8") + 'console_url = "https://ops.example.com/"\n',
        encoding="utf-8",
    )
    workspace.settings = load_settings(workspace.root)
    version_services.save_version(
        workspace.uow(), text=modified(example_text(SOP), _gift_in_welcome),
        source=f"{SOP}.yaml", author="小王", message="首版", major=False, now=SETUP,
    )  # fmt: skip
    version_services.promote(
        workspace.uow(), sop_id=SOP, version="1.0", approver="李经理", policy=workspace.policy,
        now=SETUP,
    )  # fmt: skip
    with workspace.session() as session:
        add_group(
            session, id="g1", name="上海宝妈一群", sop_id=SOP, now=SETUP, channel="outbox",
            target="g1", start_date=date(2026, 9, 1), member_count=30,
        )  # fmt: skip
        for n, minute in enumerate((0, 10, 20), start=1):
            session.add(
                MemberJoin(
                    group_id="g1",
                    member_id=f"m{n}",
                    member_name=f"宝妈{n}",
                    joined_at=local(2026, 9, 3, 10, minute),
                )
            )
        session.commit()
    planned = playbooks.plan_day(workspace, playbook="welcome", day=DAY)
    for batch in sending.batches(planned.actions):
        report = sending.send_batch(workspace, batch, now=max(a.at for a in batch.actions))
        assert not report.needs_attention, report
    return workspace


def _welcomes_sent(ws: Workspace) -> int:
    """Ledger rows sent of on-join slots (the welcome and the self-intro after it)."""
    with ws.session() as session:
        rows = list_deliveries(session, sop_id=SOP, status=SENT)
    return sum(1 for row in rows if row.slot.startswith("on_join."))


def _gift_token(ws: Workspace) -> str:
    rows = [r for path in (ws.root / "outbox").glob("*.jsonl") for r in read_outbox(path)]
    [token] = {
        m for r in rows if ":on_join.welcome:" in str(r["key"])
        for m in re.findall(r"https://ops\.example\.com/r/([\w-]+)", str(r["text"]))
    }  # fmt: skip
    assert GIFT not in " ".join(str(r["text"]) for r in rows)
    return token


def _clicks(ws: Workspace) -> None:
    """m1 clicks the welcome's gift twice, m2 once, a robot once."""
    token = _gift_token(ws)
    for n, (member, agent) in enumerate((("m1", PHONE), ("m1", PHONE), ("m2", PHONE), (None, BOT))):
        click(
            ws, token=token, member=member, address=f"10.0.0.{n}", user_agent=agent,
            now=local(2026, 9, 3, 12, n),
        )  # fmt: skip


def _rates(ws: Workspace) -> dict[str, tuple[float, float, float]]:
    table = kpi_table(
        ws, sop_id=SOP, by=["version"], metrics=["welcome_open_rate", "click_rate"]
    ).to_pylist()
    return {
        r["metric"]: (r["num"], r["den"], r["value"]) for r in table if r["sop_version"] == "1.0"
    }


def test_a_welcome_sent_through_the_outbox_and_clicked_has_a_finite_open_and_click_rate(
    ws: Workspace,
) -> None:
    assert _welcomes_sent(ws) == 6  # 3 welcomes + 3 self-intros, no delivered event anywhere
    _clicks(ws)
    assert _rates(ws) == {
        "welcome_open_rate": (2, 6, pytest.approx(2 / 6)),
        "click_rate": (2, 6, pytest.approx(2 / 6)),
    }
    # what `sop check` tests when welcome_open_rate is the candidate's first KPI target
    sums = unit_sums(kpi_source(ws, sop_id=SOP), "welcome_open_rate", sop=SOP).to_pylist()
    assert [(r["group"], r["sop_version"], r["num"], r["den"]) for r in sums] == [
        ("g1", "1.0", 2, 6)
    ]
    shown = json.loads(Cli(ws.root)("kpi", SOP, "--metric", "welcome_open_rate", "--json").output)[
        "rows"
    ]
    assert [(r["num"], r["den"]) for r in shown] == [(2, 6)]


def _import(ws: Workspace, rows: list[tuple[str | None, str, float | None, str]]) -> None:
    """Events of g1 on DAY: (member, event, value, message)."""
    table = pa.table(
        {
            "group": ["g1"] * len(rows),
            "member": [m for m, _, _, _ in rows],
            "time": ["2026-09-03T11:00:00+08:00"] * len(rows),
            "event": [e for _, e, _, _ in rows],
            "value": [v for _, _, v, _ in rows],
            "sop_version": ["1.0"] * len(rows),
            "sop": [SOP] * len(rows),
            "message": [msg for _, _, _, msg in rows],
        }
    )
    event_store(ws).import_rows(table, "imported by the team", now=SETUP)


def test_imported_delivered_events_of_the_welcome_replace_its_ledger_rows_not_add_to_them(
    ws: Workspace,
) -> None:
    _clicks(ws)
    # The team's file: the welcome delivered to 3 members, and m1 opening it (m1 also clicked).
    _import(ws, [(f"m{n}", "delivered", 1.0, WELCOME) for n in (1, 2, 3)])
    _import(ws, [("m1", "open", None, WELCOME)])
    rates = _rates(ws)
    assert rates["welcome_open_rate"][:2] == (2, 6)  # not 2 / 9, not 3 / 6
    assert rates["click_rate"][:2] == (2, 6)


def test_a_group_counted_by_imported_per_day_totals_keeps_its_own_figures(
    ws: Workspace,
) -> None:
    _clicks(ws)
    _import(ws, [(None, "delivered", 25.0, None)])  # the team's own count, no message named
    assert _rates(ws)["click_rate"][:2] == (2, 25)


def test_a_hand_post_counts_as_delivered_once_marked_done_on_its_done_day(ws: Workspace) -> None:
    with ws.session() as session:
        add_group(
            session, id="g2", name="上海宝妈二群", sop_id=SOP, now=SETUP, channel="tasklist",
            start_date=date(2026, 9, 1), member_count=40,
        )  # fmt: skip
        session.commit()
    at_1005 = local(2026, 9, 8, 10, 5)  # a Tuesday: the 10:00 knowledge column is due
    planned = playbooks.plan_due(ws, playbook="mature_day", day=date(2026, 9, 8), now=at_1005)
    [action] = [a for a in planned.actions if a.group_id == "g2"]
    for batch in sending.batches([action]):
        sending.send_batch(ws, batch, now=at_1005)  # handed to a person: not delivered yet
    column = f"{SOP}:1.0:columns.morning-knowledge:2026-09-08"

    def reached() -> list[tuple[str, str, float]]:
        rows = kpi_table(ws, sop_id=SOP, by=["message", "day"], metrics=["open_rate"])
        return [
            (r["message"], str(r["day"]), r["den"])
            for r in rows.to_pylist()
            if r["message"] == column
        ]

    assert reached() == []
    done_at = local(2026, 9, 9, 0, 20)  # posted late, after midnight
    record_done(ws, keys=[action.key], by="小李", at=done_at, now=done_at)
    assert reached() == [(column, "2026-09-09", 40)]


def test_per_message_the_welcome_has_its_own_click_rate_over_its_own_sends(ws: Workspace) -> None:
    _clicks(ws)
    rows = kpi_table(ws, sop_id=SOP, by=["message"], metrics=["open_rate", "click_rate"])
    got = {(r["metric"], r["message"]): (r["num"], r["den"]) for r in rows.to_pylist()}
    intro = WELCOME.replace("on_join.welcome", "on_join.self-intro")
    assert got == {
        ("click_rate", WELCOME): (2, 3),
        ("open_rate", WELCOME): (0, 3),
        ("click_rate", intro): (0, 3),
        ("open_rate", intro): (0, 3),
    }


def test_ledger_sends_read_alike_on_sqlite_and_postgresql(db_url: str, tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "db-ws", database_url=db_url)
    try:
        post, welcome = f"{SOP}:1.0:g1:columns.morning-knowledge:2026-09-08", WELCOME
        rows = [  # (key, member, status, sent_at, updated_at)
            (post, None, "done", None, local(2026, 9, 8, 23, 50)),  # a hand post, done late
            (welcome.replace(":on_join.welcome:", ":g1:on_join.welcome:") + ":m1", "m1",
             "sent", local(2026, 9, 3, 10, 0), local(2026, 9, 3, 10, 0)),
            (post.replace("2026-09-08", "2026-09-09"), None, "pending", None, SETUP),
        ]  # fmt: skip
        with ws.session() as session:
            add_group(session, id="g1", name="一群", sop_id=SOP, now=SETUP, member_count=30)
            for key, member, status, sent_at, updated_at in rows:
                session.add(
                    Delivery(
                        key=key,
                        slot_key=key,
                        sop_id=SOP,
                        version="1.0",
                        group_id="g1",
                        member_id=member,
                        kind="post",
                        slot=key.split(":")[3],
                        due_at=updated_at,
                        channel="tasklist",
                        status=status,
                        sent_at=sent_at,
                        updated_at=updated_at,
                    )
                )
            session.commit()
        table = kpi_table(ws, sop_id=SOP, by=["message", "day"], metrics=["open_rate"])
        got = [(r["message"], str(r["day"]), r["den"]) for r in table.to_pylist()]
        assert got == [
            (post.replace(":g1:", ":"), "2026-09-08", 30),
            (WELCOME, "2026-09-03", 1),
        ]
    finally:
        ws.close()
