"""`sop events wecom-stats` imports WeCom's per-message send results of our mass sends as
`delivered` events carrying the message key, so per-message KPIs use WeCom's own data; it
says that WeCom has no read data instead of inventing any. Against the fake WeCom server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from engine import ledger
from engine.dispatch import dispatch
from services.channels import build_channel, close_channels
from services.event_imports import event_store
from services.kpis import kpi_table
from services.settings import load_settings
from services.workspace import Workspace
from sop_models.actions import action_key
from sop_models.messages import message_key
from tests.support.wecom_fake import CST, FakeWeCom, planned
from tests.support.workspaces import Cli, in_production
from versions import audit

SOP, SENDER, SLOT = "mombaby-refined", "zhangsan", "columns.morning-knowledge"
MEMBERS = {"g1": 120, "g2": 80, "g3": 60}


@pytest.fixture
def wecom() -> Iterator[FakeWeCom]:
    with FakeWeCom() as fake:
        fake.add_chats(SENDER, [f"wr-{g}" for g in MEMBERS])
        yield fake


@pytest.fixture
def mass(workspace: Workspace, wecom: FakeWeCom, cli: Cli) -> Iterator[Workspace]:
    """Three groups of one owner on the fake's mass channel, with member counts."""
    path = workspace.root / "sopflow.toml"
    path.write_text(
        path.read_text(encoding="utf-8") + wecom.settings_toml(),
        encoding="utf-8",
    )
    workspace.settings = load_settings(workspace.root)
    in_production(workspace, SOP, now=datetime(2026, 9, 1, tzinfo=UTC))
    for g, members in MEMBERS.items():
        cli("groups", "add", g, "--name", f"宝妈群{g}", "--sop", SOP, "--channel", "wecom_mass",
            "--sender", SENDER, "--target", f"wr-{g}", "--members", str(members))  # fmt: skip
    yield workspace
    close_channels()


def post_to_all(ws: Workspace, due: datetime) -> str:
    """The morning post to every group, handed to WeCom as one mass-send task; its msgid."""
    day = due.date().isoformat()
    posts = [
        planned(action_key(SOP, "1.0", g, SLOT, day), sop_id=SOP, version="1.0", group_id=g,
                slot=SLOT, channel="wecom_mass", sender=SENDER, target=f"wr-{g}", at=due)
        for g in MEMBERS
    ]  # fmt: skip
    report = dispatch(ws.session, build_channel("wecom_mass", ws), posts, now=due)
    assert len(report.awaiting_confirmation) == len(MEMBERS), report
    with ws.session() as session:
        rows = ledger.get_deliveries(session, [p.key for p in posts])
    [msgid] = {row.response_id for row in rows.values()}
    return str(msgid)


def delivered(ws: Workspace) -> list[dict[str, object]]:
    """The stored `delivered` events, by group."""
    con = duckdb.connect()
    try:
        source = event_store(ws).source_sql()
        query = f"SELECT * FROM {source} WHERE event = 'delivered' ORDER BY \"group\""
        rel = con.sql(query)
        return [dict(zip(rel.columns, row, strict=True)) for row in rel.fetchall()]
    finally:
        con.close()


def test_sent_chats_become_delivered_events_of_their_message_and_failures_are_only_counted(
    mass: Workspace, wecom: FakeWeCom, cli: Cli
) -> None:
    due = datetime.now(CST).replace(microsecond=0) - timedelta(days=1)
    msgid = post_to_all(mass, due)
    sent_at = int((due + timedelta(minutes=7)).timestamp())
    wecom.confirm(msgid, at=sent_at)
    wecom.set_chat_status(msgid, "wr-g3", 2)  # WeCom could not deliver to g3
    day = due.date().isoformat()
    message = message_key(SOP, "1.0", SLOT, day)

    out = cli("events", "wecom-stats", "--from", day, "--to", day).output

    assert f"{message}：已发 2，失败 1，超出月上限 0，未确认 0" in out
    assert "新增送达事件 2 条" in out and "已存过 0 条" in out
    assert "注意：企业微信不提供客户群群发的阅读数据" in out
    rows = delivered(mass)
    assert [(r["group"], r["value"], r["message"], r["sop_version"]) for r in rows] == [
        ("g1", 120.0, message, "1.0"),
        ("g2", 80.0, message, "1.0"),
    ]
    assert {r["time"].timestamp() for r in rows} == {sent_at}  # WeCom's send_time
    assert {r["event_id"] for r in rows} == {f"wecom:{msgid}:wr-g1", f"wecom:{msgid}:wr-g2"}
    with mass.session() as session:
        [record] = [r for r in audit.query(session) if r.action == "events-import"]
    assert json.loads(record.after)["rows"] == 2


def test_per_message_open_rate_divides_by_what_wecom_says_was_sent(
    mass: Workspace, wecom: FakeWeCom, cli: Cli, tmp_path: object
) -> None:
    due = datetime.now(CST).replace(microsecond=0) - timedelta(days=1)
    msgid = post_to_all(mass, due)
    wecom.confirm(msgid, at=int(due.timestamp()) + 60)
    wecom.set_chat_status(msgid, "wr-g3", 3)  # over the monthly cap: reached nobody
    day = due.date().isoformat()
    message = message_key(SOP, "1.0", SLOT, day)
    opens = mass.root / "opens.csv"
    lines = [
        f"g1,m{n},{(due + timedelta(minutes=30)).isoformat()},open,,{message}" for n in range(40)
    ]
    opens.write_text("group,member,time,event,value,message\n" + "\n".join(lines) + "\n")
    cli("events", "import", str(opens))

    out = cli("events", "wecom-stats", "--from", day, "--to", day).output

    assert "超出月上限 1" in out
    [row] = kpi_table(mass, sop_id=SOP, by=["message"], metrics=["open_rate"]).to_pylist()
    assert (row["message"], row["num"], row["den"]) == (message, 40, 120 + 80)


def test_fetching_again_adds_only_chats_sent_since(
    mass: Workspace, wecom: FakeWeCom, cli: Cli
) -> None:
    due = datetime.now(CST).replace(microsecond=0) - timedelta(days=1, hours=1)
    msgid = post_to_all(mass, due)
    wecom.confirm(msgid, at=int(due.timestamp()) + 60)
    wecom.set_chat_status(msgid, "wr-g3", 0)  # g3's sender has not confirmed yet
    day = due.date().isoformat()
    first = cli("events", "wecom-stats", "--from", day, "--to", day).output
    wecom.set_chat_status(msgid, "wr-g3", 1, int(due.timestamp()) + 3600)

    again = cli("events", "wecom-stats", "--from", day, "--to", day, "--json").stdout

    assert "未确认 1" in first
    sends = json.loads(again)["send_results"]
    assert (sends["new_events"], sends["already_stored"], sends["read_data"]) == (1, 2, None)
    assert [m["sent"] for m in sends["messages"]] == [3]
    assert sorted(r["group"] for r in delivered(mass)) == ["g1", "g2", "g3"]


def test_groups_without_a_member_count_are_named_not_given_invented_reach(
    mass: Workspace, wecom: FakeWeCom, cli: Cli
) -> None:
    cli("groups", "edit", "g2", "--members", "0", "--by", "李经理")
    due = datetime.now(CST).replace(microsecond=0) - timedelta(days=1)
    msgid = post_to_all(mass, due)
    wecom.confirm(msgid, at=int(due.timestamp()) + 60)
    day = due.date().isoformat()

    out = cli("events", "wecom-stats", "--from", day, "--to", day).output

    assert "注意：g2 没有 member_count：" in out
    assert [(r["group"], r["value"]) for r in delivered(mass)] == [
        ("g1", 120.0),
        ("g2", 0.0),
        ("g3", 60.0),
    ]
