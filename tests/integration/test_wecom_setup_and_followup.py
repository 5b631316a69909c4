"""Setup errors stop mass sends with the setting to fix; unconfirmed tasks are reminded, then
cancelled. Against the strict fake WeCom server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from engine.channels import AWAITING, FAILED, WeComMassSendChannel
from engine.channels.mass_followup import (
    FollowUpPolicy,
    UnconfirmedTask,
    follow_up_decision,
)
from engine.wecom.client import WeComClient
from engine.wecom.groupmsg import ADD_MSG_TEMPLATE, CANCEL, REMIND
from services.channels import build_channel, close_channels
from services.settings import load_settings
from services.wecom_mass import check_wecom_setup, follow_up_policy, mass_cap_warnings
from services.workspace import Workspace
from sop_models.errors import WeComSetupError
from tests.support.wecom_fake import CST, FakeClock, FakeWeCom, planned

SENDER = "zhangsan"
POLICY = FollowUpPolicy(
    remind_after=timedelta(hours=2),
    remind_every=timedelta(hours=2),
    cancel_after=timedelta(hours=24),
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def wecom(clock: FakeClock) -> Iterator[FakeWeCom]:
    with FakeWeCom(clock=clock) as fake:
        fake.add_chats(SENDER, ["wr-1", "wr-2"])
        yield fake


@pytest.fixture
def channel(wecom: FakeWeCom, clock: FakeClock) -> Iterator[WeComMassSendChannel]:
    client = WeComClient(
        corpid=wecom.corpid,
        corpsecret=wecom.corpsecret,
        base_url=wecom.base_url,
        timeout=2.0,
        sleep=clock.sleep,
        clock=clock,
    )
    with client:
        yield WeComMassSendChannel(client, now=clock.now)


def posts(*chats: str) -> list:
    return [planned(f"k-{chat}", sender=SENDER, target=chat) for chat in chats]


@pytest.mark.parametrize(
    ("errcode", "setting"),
    [
        (40001, "wecom_corp_secret"),
        (40013, "wecom_corp_id"),
        (48002, "客户联系"),
        (60020, "trusted IPs"),
    ],
)
def test_setup_error_stops_the_batch_with_the_setting_to_fix(
    wecom: FakeWeCom, channel: WeComMassSendChannel, errcode: int, setting: str
) -> None:
    wecom.misconfigure(errcode)
    results = channel.send_batch(posts("wr-1", "wr-2"))
    assert [(r.status, r.attempts) for r in results] == [(FAILED, 0), (FAILED, 0)]
    assert all(setting in (r.error or "") and "\n" not in (r.error or "") for r in results)
    assert wecom.corpsecret not in (results[0].error or "")
    calls = len(wecom.calls())
    again = channel.send_batch(posts("wr-1"))  # the next batch makes no call at all
    assert again[0].status == FAILED and len(wecom.calls()) == calls
    assert wecom.calls(ADD_MSG_TEMPLATE) == []
    with pytest.raises(WeComSetupError, match=setting):
        channel.check_setup()


def test_setup_checks_pass_for_a_well_configured_app(channel: WeComMassSendChannel) -> None:
    channel.check_setup()


def sent_task(channel: WeComMassSendChannel, clock: FakeClock) -> UnconfirmedTask:
    results = channel.send_batch(posts("wr-1", "wr-2"))
    msgid = results[0].response_id or ""
    return UnconfirmedTask(msgid, SENDER, clock.now(), tuple(r.key for r in results))


def test_an_unconfirmed_task_is_reminded_after_the_configured_time(
    wecom: FakeWeCom, channel: WeComMassSendChannel, clock: FakeClock
) -> None:
    task = sent_task(channel, clock)
    assert {f.action for f in channel.follow_up([task], POLICY)} == {"waiting"}
    clock.sleep(2 * 3600)
    done = channel.follow_up([task], POLICY)
    assert [(f.key, f.action) for f in done] == [(k, "reminded") for k in task.keys]
    assert all(f.result and f.result.status == AWAITING for f in done)
    assert len(wecom.calls(REMIND)) == 1 and wecom.templates[task.msgid].reminders


def test_an_unconfirmed_task_is_cancelled_at_the_deadline_and_marked_failed(
    wecom: FakeWeCom, channel: WeComMassSendChannel, clock: FakeClock
) -> None:
    task = sent_task(channel, clock)
    clock.sleep(24 * 3600)
    done = channel.follow_up([task], POLICY)
    assert {f.action for f in done} == {"cancelled"}
    assert all(f.result and (f.result.status, f.result.attempts) == (FAILED, 0) for f in done)
    assert "did not confirm" in (done[0].result.error or "")  # type: ignore[union-attr]
    assert wecom.templates[task.msgid].cancelled and len(wecom.calls(CANCEL)) == 1
    assert wecom.confirm(task.msgid) == {}, "a cancelled task can no longer go out"


def test_a_task_confirmed_meanwhile_is_neither_reminded_nor_cancelled(
    wecom: FakeWeCom, channel: WeComMassSendChannel, clock: FakeClock
) -> None:
    task = sent_task(channel, clock)
    wecom.confirm(task.msgid)
    clock.sleep(30 * 3600)
    assert {f.action for f in channel.follow_up([task], POLICY)} == {"sent"}
    assert wecom.calls(REMIND) == [] and wecom.calls(CANCEL) == []


def test_reminders_are_spaced_and_at_most_three_a_day(clock: FakeClock) -> None:
    created = clock.now()
    task = UnconfirmedTask("m", SENDER, created, ("k",))
    at = created + timedelta(hours=3)
    assert follow_up_decision(task, created + timedelta(hours=1), POLICY) == "wait"
    assert follow_up_decision(task, at, POLICY) == "remind"
    recent = UnconfirmedTask("m", SENDER, created, ("k",), at - timedelta(hours=1), 1)
    assert follow_up_decision(recent, at, POLICY) == "wait"
    spent = UnconfirmedTask("m", SENDER, created, ("k",), at - timedelta(hours=5), 3)
    assert follow_up_decision(spent, at, POLICY) == "wait"
    assert follow_up_decision(spent, created + timedelta(hours=24), POLICY) == "cancel"


def wire(ws: Workspace, fake: FakeWeCom, extra: str = "") -> None:
    path = ws.root / "sopflow.toml"
    path.write_text(
        path.read_text(encoding="utf-8")
        + f'wecom_base_url = "{fake.base_url}"\nwecom_corp_id = "{fake.corpid}"\n'
        + f'wecom_corp_secret = "{fake.corpsecret}"\n{extra}',
        encoding="utf-8",
    )
    ws.settings = load_settings(ws.root)


def test_workspace_setup_check_stops_with_one_line_naming_the_setting(
    workspace: Workspace, wecom: FakeWeCom
) -> None:
    wire(workspace, wecom)
    check_wecom_setup(workspace)
    wecom.misconfigure(60020)
    close_channels()
    with pytest.raises(WeComSetupError) as caught:
        check_wecom_setup(workspace)
    assert "trusted IPs" in str(caught.value) and "\n" not in str(caught.value)
    assert wecom.corpsecret not in str(caught.value)


def test_workspace_settings_choose_the_cap_rule_and_the_follow_up_times(
    workspace: Workspace, wecom: FakeWeCom, clock: FakeClock
) -> None:
    wire(workspace, wecom, 'wecom_mass_cap = "day"\nwecom_cancel_after_hours = 6\n')
    close_channels()
    wecom.other_send("wr-1", int(time.time()), creator="lisi")  # the channel runs on real time
    channel = build_channel("wecom_mass", workspace)
    [result] = channel.send_batch(posts("wr-1"))
    assert "cap 1 per day" in (result.error or "")
    policy = follow_up_policy(workspace.settings)
    assert (policy.remind_after, policy.cancel_after) == (timedelta(hours=2), timedelta(hours=6))
    close_channels()


def test_a_refused_reminder_leaves_the_task_waiting_with_the_reason(
    wecom: FakeWeCom, channel: WeComMassSendChannel, clock: FakeClock
) -> None:
    task = sent_task(channel, clock)
    clock.sleep(3 * 3600)
    wecom.fail_next(REMIND, 41063)
    done = channel.follow_up([task], POLICY)
    assert {f.action for f in done} == {"waiting"}
    assert "reminder refused" in done[0].detail and "41063" in done[0].detail


def test_cap_warning_counts_what_wecom_already_reports_this_period(
    workspace: Workspace, wecom: FakeWeCom
) -> None:
    wire(workspace, wecom, 'wecom_mass_cap = "day"\n')
    close_channels()
    now = datetime.now(CST)
    post = planned("today", channel="wecom_mass", group_id="g-1", target="wr-1", at=now)
    assert mass_cap_warnings(workspace, [post], now) == []
    wecom.other_send("wr-1", int(now.timestamp()), creator="lisi")
    assert mass_cap_warnings(workspace, [post], now) == [
        f"群 g-1：{now.date().isoformat()}：计划群发 1 条（已发 1 条），企业微信上限每天 1 条"
    ]
    close_channels()
