"""Tracked links at send time: an SOP's `track_links` turns its links into `/r/TOKEN` links in
the sent message, each click is a `click` event with the message key, and click_rate is a KPI
computed per version."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import duckdb
import pyarrow as pa
import pytest

from engine.channels.outbox import read_outbox
from engine.groups import add_group
from engine.kpi.compute import unit_sums
from services import playbooks, sending
from services.kpis import event_store, kpi_table
from services.settings import load_settings
from services.tracked_links import click, clicks_by_message, rewrite_links, track_action_links
from services.workspace import Workspace
from sop_models.errors import ChannelNotConfigured
from tests.support.console import client
from tests.support.examples import example_text, modified
from tests.support.planning import local
from tests.support.wecom_fake import FakeWeCom
from versions import services as version_services

SETUP = datetime(2026, 8, 1, 9, 0, tzinfo=UTC)
SOP = "mombaby-refined"
AT_1005 = local(2026, 9, 8, 10, 5)  # a Tuesday: the 10:00 knowledge column is due
MESSAGE = f"{SOP}:1.0:columns.morning-knowledge:2026-09-08"
SHOP = "https://shop.example.com/guide?id=1"
OTHER = "https://other.example.com/x"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) wxwork/4.1 MicroMessenger"


def _with_links(track: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        for template in data["templates"]:
            if template["id"] == "knowledge":
                template["body"] += f"详情 {SHOP} 另见 {OTHER}\n"
        if track is not None:
            data["track_links"] = track

    return change


def _workspace(ws: Workspace, track: Any, *, console_url: bool = True) -> Workspace:
    if console_url:
        path = ws.root / "sopflow.toml"
        path.write_text(
            path.read_text(encoding="utf-8") + 'console_url = "https://ops.example.com/"\n',
            encoding="utf-8",
        )
        ws.settings = load_settings(ws.root)
    text = modified(example_text(SOP), _with_links(track))
    version_services.save_version(
        ws.uow(), text=text, source=f"{SOP}.yaml", author="小王", message="首版",
        major=False, now=SETUP,
    )  # fmt: skip
    version_services.promote(
        ws.uow(), sop_id=SOP, version="1.0", approver="李经理", policy=ws.policy, now=SETUP
    )
    with ws.session() as session:
        add_group(
            session, id="sh-01", name="宝妈成长营sh-01群", sop_id=SOP, now=SETUP,
            channel="outbox", target="sh-01", start_date=date(2026, 8, 1),
        )  # fmt: skip
        session.commit()
    return ws


def _send(ws: Workspace) -> str:
    """Run the 10:05 mature-day posts; the one outbox line's text."""
    planned = playbooks.plan_due(ws, playbook="mature_day", day=date(2026, 9, 8), now=AT_1005)
    for batch in sending.batches(planned.actions):
        report = sending.send_batch(ws, batch, now=AT_1005)
        assert not report.needs_attention, report
    [row] = [r for path in (ws.root / "outbox").glob("*.jsonl") for r in read_outbox(path)]
    return str(row["text"])


def test_a_sent_message_carries_tracked_links_where_the_sop_tracks_all(
    workspace: Workspace,
) -> None:
    text = _send(_workspace(workspace, True))
    tokens = re.findall(r"https://ops\.example\.com/r/([\w-]+)", text)
    assert len(tokens) == 2
    assert SHOP not in text and OTHER not in text and "今日育儿干货" in text


def test_per_link_tracking_rewrites_only_the_declared_links(workspace: Workspace) -> None:
    text = _send(_workspace(workspace, {"links": ["https://shop.example.com/"]}))
    assert len(re.findall(r"https://ops\.example\.com/r/", text)) == 1
    assert SHOP not in text and OTHER in text


def test_an_sop_without_track_links_is_sent_as_written(workspace: Workspace) -> None:
    text = _send(_workspace(workspace, None))
    assert SHOP in text and "/r/" not in text


def test_tracking_without_a_console_url_refuses_to_send_and_names_the_setting(
    workspace: Workspace,
) -> None:
    ws = _workspace(workspace, True, console_url=False)
    planned = playbooks.plan_due(ws, playbook="mature_day", day=date(2026, 9, 8), now=AT_1005)
    [batch] = sending.batches(planned.actions)
    with pytest.raises(ChannelNotConfigured, match="console_url"):
        sending.send_batch(ws, batch, now=AT_1005)
    assert [r for p in (ws.root / "outbox").glob("*.jsonl") for r in read_outbox(p)] == []


def _click_events(ws: Workspace) -> list[tuple[Any, ...]]:
    con = duckdb.connect()
    try:
        rel = event_store(ws).relation(con)
        return con.execute(
            f'SELECT "group", event, sop_version, message FROM ({rel.sql_query()})'
            " WHERE event = 'click'"
        ).fetchall()
    finally:
        con.close()


def test_clicking_a_sent_link_twice_records_one_click_with_the_message_key(
    workspace: Workspace,
) -> None:
    text = _send(_workspace(workspace, True))
    token = re.findall(r"/r/([\w-]+)", text)[0]
    with client(workspace) as web:
        for _ in range(2):
            answer = web.get(f"/r/{token}", headers={"user-agent": PHONE})
            assert (answer.status_code, answer.headers["location"]) == (302, SHOP)
        bot = web.get(f"/r/{token}", headers={"user-agent": "Mozilla/5.0 (compatible; bingbot)"})
        assert bot.status_code == 302
    assert clicks_by_message(workspace) == {MESSAGE: 1}
    assert _click_events(workspace) == [("sh-01", "click", "1.0", MESSAGE)]


def test_sending_again_reuses_the_message_tokens(workspace: Workspace) -> None:
    ws = _workspace(workspace, True)
    first = _send(ws)
    planned = playbooks.plan_due(ws, playbook="mature_day", day=date(2026, 9, 8), now=AT_1005)
    again = track_action_links(ws, planned.actions, now=AT_1005)
    assert [a.text for a in again] == [first]


def _delivered(ws: Workspace, rows: list[tuple[str, str, int]]) -> None:
    """`delivered` events: (version, message key, members reached) in group sh-01."""
    table = pa.table(
        {
            "group": ["sh-01"] * len(rows),
            "member": [None] * len(rows),
            "time": ["2026-09-08T10:00:00+08:00"] * len(rows),
            "event": ["delivered"] * len(rows),
            "value": [float(n) for _, _, n in rows],
            "sop_version": [v for v, _, _ in rows],
            "sop": [SOP] * len(rows),
            "message": [m for _, m, _ in rows],
        }
    )
    event_store(ws).import_rows(table, "delivered", now=AT_1005)


def test_click_rate_is_clicks_over_members_reached_per_version(workspace: Workspace) -> None:
    m1, m2 = MESSAGE, MESSAGE.replace(":1.0:", ":2.0:")
    _delivered(workspace, [("1.0", m1, 10), ("2.0", m2, 4)])
    for version, message, members in (("1.0", m1, ["a", "b", "a"]), ("2.0", m2, ["c"])):
        linked = rewrite_links(
            workspace, text=SHOP, message_key=message, group_id="sh-01", sop_id=SOP,
            version=version, base_url="https://ops.example.com", now=AT_1005,
        )  # fmt: skip
        token = linked.rsplit("/", 1)[1]
        for member in members:
            click(
                workspace, token=token, member=member, address="10.0.0.9", user_agent=PHONE,
                now=AT_1005,
            )  # fmt: skip
    table = kpi_table(workspace, sop_id=SOP, by=["version"], metrics=["click_rate"]).to_pylist()
    rates = {row["sop_version"]: (row["num"], row["den"], row["value"]) for row in table}
    assert rates == {"1.0": (2, 10, pytest.approx(0.2)), "2.0": (1, 4, pytest.approx(0.25))}
    # what `sop check` tests when click_rate is the candidate's first KPI target
    sums = unit_sums(event_store(workspace), "click_rate", sop=SOP).to_pylist()
    assert {(r["sop_version"], r["num"], r["den"]) for r in sums} == {("1.0", 2, 10), ("2.0", 1, 4)}


def test_inside_wecom_a_customer_clicking_twice_is_identified_and_counted_once(
    workspace: Workspace,
) -> None:
    with FakeWeCom() as fake:
        ws = _workspace(workspace, True)
        path = ws.root / "sopflow.toml"
        path.write_text(
            path.read_text(encoding="utf-8")
            + f'wecom_corp_id = "{fake.corpid}"\nwecom_corp_secret = "{fake.corpsecret}"\n'
            + f'wecom_base_url = "{fake.base_url}"\n',
            encoding="utf-8",
        )
        ws.settings = load_settings(ws.root)
        token = re.findall(r"/r/([\w-]+)", _send(ws))[0]
        with client(ws) as web:
            for code in ("code-1", "code-2"):  # WeCom's codes are single-use: one per visit
                first = web.get(f"/r/{token}", headers={"user-agent": PHONE})
                assert first.status_code == 302
                target = urlsplit(first.headers["location"])
                query = parse_qs(target.query)
                assert target.netloc == "open.weixin.qq.com"
                assert query["redirect_uri"] == [f"http://testserver/r/{token}"]
                assert query["state"] == [token] and query["scope"] == ["snsapi_base"]
                fake.visitor_codes[code] = "wmCustomer-1"
                back = web.get(
                    f"/r/{token}", params={"code": code, "state": token},
                    headers={"user-agent": PHONE},
                )  # fmt: skip
                assert (back.status_code, back.headers["location"]) == (302, SHOP)
    assert clicks_by_message(ws) == {MESSAGE: 1}
    con = duckdb.connect()
    try:
        rel = event_store(ws).relation(con)
        members = con.execute(
            f"SELECT member FROM ({rel.sql_query()}) WHERE event = 'click'"
        ).fetchall()
    finally:
        con.close()
    assert members == [("wmCustomer-1",)]
