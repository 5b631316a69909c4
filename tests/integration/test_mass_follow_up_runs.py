"""A run follows up WeCom mass sends their senders never confirmed: reminded after
`wecom_remind_after_hours`, cancelled at `wecom_cancel_after_hours`, recorded in the ledger
and listed by `sop deliveries attention`. Against the strict fake WeCom server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from engine import ledger
from engine.channels import WeComMassSendChannel
from engine.dispatch import dispatch
from engine.wecom.client import WeComClient
from engine.wecom.groupmsg import ADD_MSG_TEMPLATE, CANCEL, REMIND
from services.channels import build_channel, close_channels
from services.playbooks import DayPlan
from services.run_summary import summarise, tally, totals
from services.settings import load_settings
from services.wecom_mass import before_sending
from services.workspace import Workspace
from sop_models.actions import PlannedAction
from sop_models.errors import WeComSetupError
from tests.support.wecom_fake import CST, FakeClock, FakeWeCom, planned
from tests.support.workspaces import Cli, in_production

SOP = "mombaby-refined"
SENDER = "zhangsan"
SAVED = datetime(2026, 9, 1, tzinfo=UTC)


@pytest.fixture
def wecom() -> Iterator[FakeWeCom]:
    with FakeWeCom() as fake:  # on real time, like the workspace's channel
        fake.add_chats(SENDER, ["wr-1", "wr-2", "wr-3"])
        yield fake


@pytest.fixture
def mass(workspace: Workspace, wecom: FakeWeCom, cli: Cli) -> Iterator[Workspace]:
    """Three groups on the WeCom mass channel of the fake (remind after 2 h, cancel at 24 h)."""
    path = workspace.root / "sopflow.toml"
    path.write_text(
        path.read_text(encoding="utf-8") + wecom.settings_toml(),
        encoding="utf-8",
    )
    workspace.settings = load_settings(workspace.root)
    in_production(workspace, SOP, now=SAVED)
    for n in (1, 2, 3):
        cli("groups", "add", f"g{n}", "--name", f"宝妈群{n}", "--sop", SOP, "--channel",
            "wecom_mass", "--sender", SENDER, "--target", f"wr-{n}")  # fmt: skip
    yield workspace
    close_channels()


def send(ws: Workspace, n: int, hours_ago: float) -> PlannedAction:
    """A post to group g{n}, due `hours_ago`, handed to WeCom now (awaiting its sender)."""
    now = datetime.now(CST)
    post = planned(f"post-g{n}", sop_id=SOP, version="1.0", group_id=f"g{n}",
                   channel="wecom_mass", sender=SENDER, target=f"wr-{n}",
                   at=now - timedelta(hours=hours_ago))  # fmt: skip
    report = dispatch(ws.session, build_channel("wecom_mass", ws), [post], now=now)
    assert report.awaiting_confirmation == [post.key], report
    return post


def rows(ws: Workspace, *posts: PlannedAction) -> list[ledger.Delivery]:
    with ws.session() as session:
        found = ledger.get_deliveries(session, [p.key for p in posts])
    return [found[p.key] for p in posts]


def test_a_run_reminds_and_cancels_unconfirmed_sends_and_attention_lists_what_it_did(
    mass: Workspace, wecom: FakeWeCom, cli: Cli
) -> None:
    fresh, stale, dead = send(mass, 1, 1), send(mass, 2, 3), send(mass, 3, 30)
    msgid = {r.key: r.response_id or "" for r in rows(mass, fresh, stale, dead)}

    report = before_sending(mass, [], now=datetime.now(CST))

    assert (report.waiting, report.reminded, report.cancelled) == (
        [fresh.key], [stale.key], [dead.key]
    )  # fmt: skip
    assert len(wecom.templates[msgid[stale.key]].reminders) == 1
    assert wecom.templates[msgid[dead.key]].cancelled
    assert not wecom.templates[msgid[fresh.key]].reminders
    kept, reminded, cancelled = rows(mass, fresh, stale, dead)
    assert (kept.status, kept.follow_up) == ("awaiting_confirmation", None)
    assert (reminded.status, reminded.follow_up, reminded.reminders) == (
        "awaiting_confirmation", "reminded", 1
    )  # fmt: skip
    assert (cancelled.status, cancelled.follow_up) == ("failed", "cancelled")
    assert "did not confirm" in (cancelled.error or "")

    listed = cli("deliveries", "attention", "--json", ok=False)
    assert listed.exit_code == 1
    items = {item["key"]: item for item in json.loads(listed.stdout)}
    assert items[fresh.key]["follow_up"] == ""
    assert items[stale.key]["follow_up"].startswith("已提醒（当天 1 次，最近 ")
    assert "到 wecom_cancel_after_hours 时下次运行会取消它" in items[stale.key]["action"]
    assert (items[dead.key]["status"], items[dead.key]["follow_up"]) == ("failed", "已取消")
    assert "请手动发布" in items[dead.key]["action"]
    table = cli("deliveries", "attention", ok=False).stdout
    assert " 已提醒（当天 1 次" in table and " 已取消 " in table

    again = before_sending(mass, [], now=datetime.now(CST))  # reminders are spaced
    assert again.reminded == [] and len(wecom.calls(REMIND)) == 1
    assert again.cancelled == [] and len(wecom.calls(CANCEL)) == 1
    calls = len(wecom.calls(ADD_MSG_TEMPLATE))
    redo = dispatch(mass.session, build_channel("wecom_mass", mass), [dead], now=datetime.now(CST))
    assert redo.sent == [] and len(wecom.calls(ADD_MSG_TEMPLATE)) == calls  # not sent blindly


def test_a_cancelled_send_settled_not_sent_leaves_attention_and_is_sent_again(
    mass: Workspace, wecom: FakeWeCom, cli: Cli
) -> None:
    dead = send(mass, 1, 30)
    assert before_sending(mass, [], now=datetime.now(CST)).cancelled == [dead.key]
    cli("deliveries", "settle", dead.key, "not-sent", "--by", "小王")
    assert cli("deliveries", "attention").stdout.strip() == "没有需要处理的投递"
    [row] = rows(mass, dead)
    assert (row.status, row.follow_up) == ("pending", None)
    send(mass, 1, 30)  # the next run hands it to WeCom again


def test_a_send_confirmed_meanwhile_is_recorded_sent_and_never_reminded(
    mass: Workspace, wecom: FakeWeCom
) -> None:
    post = send(mass, 1, 5)
    [row] = rows(mass, post)
    wecom.confirm(row.response_id or "")
    report = before_sending(mass, [], now=datetime.now(CST))
    assert (report.confirmed, report.reminded, report.cancelled) == ([post.key], [], [])
    assert rows(mass, post)[0].status == "sent" and wecom.calls(REMIND) == []


def test_with_nothing_awaiting_a_run_asks_wecom_nothing(mass: Workspace, wecom: FakeWeCom) -> None:
    assert before_sending(mass, [], now=datetime.now(CST)).as_dict() == {
        "confirmed": [], "reminded": [], "cancelled": [], "waiting": [], "error": ""
    }  # fmt: skip
    assert wecom.calls() == []


def test_a_run_with_mass_sends_stops_on_a_setup_error_before_following_up_or_sending(
    mass: Workspace, wecom: FakeWeCom
) -> None:
    waiting = send(mass, 1, 30)
    close_channels()  # a new run: the channel checks the setup afresh
    # 48002 (not 40001, which only gettoken answers): the new run reuses the shared token.
    wecom.misconfigure(48002)
    post = planned("post-g2", sop_id=SOP, group_id="g2", channel="wecom_mass", target="wr-2")
    with pytest.raises(WeComSetupError, match="wecom_corp_secret"):
        before_sending(mass, [post], now=datetime.now(CST))
    assert rows(mass, waiting)[0].follow_up is None and wecom.calls(CANCEL) == []
    without = before_sending(mass, [], now=datetime.now(CST))  # no mass sends in this run
    assert "wecom_corp_secret" in without.error and without.cancelled == []


def test_with_a_one_a_day_cap_the_second_post_of_a_day_is_skipped_reported_and_not_retried(
    mass: Workspace, wecom: FakeWeCom, cli: Cli
) -> None:
    config = mass.root / "sopflow.toml"
    config.write_text(config.read_text(encoding="utf-8") + 'wecom_mass_cap = "day"\n', "utf-8")
    mass.settings = load_settings(mass.root)
    wecom.cap_rule = "day"
    close_channels()
    first = send(mass, 1, 2)
    wecom.confirm(rows(mass, first)[0].response_id or "")
    now = datetime.now(CST)
    second = planned("second-g1", sop_id=SOP, version="1.0", group_id="g1",
                     channel="wecom_mass", sender=SENDER, target="wr-1",
                     at=now - timedelta(minutes=5), text="晚安")  # fmt: skip

    reports = [dispatch(mass.session, build_channel("wecom_mass", mass), [second], now=now)
               for _ in range(2)]  # fmt: skip

    assert [r.refused for r in reports] == [[second.key], [second.key]]
    assert len(wecom.calls(ADD_MSG_TEMPLATE)) == 1  # the first post only: never retried
    [row] = rows(mass, second)
    assert row.status == "skipped" and "cap 1 per day" in (row.error or "")
    assert totals(tally([second], reports[:1]))["refused"] == 1
    listed = json.loads(cli("deliveries", "--status", "skipped", "--json").stdout)
    assert [r["key"] for r in listed] == [second.key]


def test_a_45009_block_leaves_the_posts_pending_and_the_run_reports_when_to_retry(
    mass: Workspace, wecom: FakeWeCom
) -> None:
    clock = FakeClock()  # the client's waits pass at once; WeCom's block is on real time
    wecom.block_seconds = 3600
    wecom.fail_next(ADD_MSG_TEMPLATE, 45009)
    client = WeComClient(
        corpid=wecom.corpid, corpsecret=wecom.corpsecret, base_url=wecom.base_url,
        timeout=2.0, sleep=clock.sleep, clock=clock,
    )  # fmt: skip
    now = datetime.now(CST)
    posts = [planned(f"post-g{n}", sop_id=SOP, version="1.0", group_id=f"g{n}",
                     channel="wecom_mass", sender=SENDER, target=f"wr-{n}",
                     at=now - timedelta(minutes=5)) for n in (1, 2)]  # fmt: skip
    with client:
        channel = WeComMassSendChannel(client, now=clock.now, cap_rule=None)
        report = dispatch(mass.session, channel, posts, now=now)

    assert report.blocked == [p.key for p in posts] and report.failed == []
    assert report.retry_at == clock.now() + timedelta(hours=1)
    assert [(r.status, r.attempts) for r in rows(mass, *posts)] == [("pending", 0)] * 2
    day = DayPlan(day=now.date(), actions=posts)
    summary = summarise(
        name="mature_day", planned=day, batches=[], reports=[report], dry_run=False, sent_at=now
    ).summary
    assert summary["blocked"] == {"count": 2, "retry_at": report.retry_at.isoformat()}
