"""The customer-group mass send channel against the fake WeCom server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.channels import (
    AWAITING,
    FAILED,
    SENT,
    UNKNOWN,
    AwaitingSend,
    WeComMassSendChannel,
)
from engine.wecom.client import WeComClient
from engine.wecom.groupmsg import ADD_MSG_TEMPLATE, GET_SEND_RESULT, group_msg_list
from tests.support.wecom_fake import FakeClock, FakeWeCom, planned

SENDER = "zhangsan"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def wecom(clock: FakeClock) -> Iterator[FakeWeCom]:
    with FakeWeCom(clock=clock) as fake:
        yield fake


def make_client(wecom: FakeWeCom, clock: FakeClock, timeout: float = 2.0) -> WeComClient:
    return WeComClient(
        corpid=wecom.corpid,
        corpsecret=wecom.corpsecret,
        base_url=wecom.base_url,
        timeout=timeout,
        sleep=clock.sleep,
        clock=clock,
    )


def make_channel(wecom: FakeWeCom, clock: FakeClock, timeout: float = 2.0) -> WeComMassSendChannel:
    return WeComMassSendChannel(make_client(wecom, clock, timeout), now=clock.now)


@pytest.fixture
def channel(wecom: FakeWeCom, clock: FakeClock) -> WeComMassSendChannel:
    return make_channel(wecom, clock)


def group_actions(count: int, sender: str = SENDER, text: str = "周三秒杀，今晚 20:00 开抢！"):
    chats = [f"wr-{sender}-{n:05d}" for n in range(count)]
    return chats, [
        planned(f"{sender}-{n}", group_id=f"g-{n}", target=chat, sender=sender, text=text)
        for n, chat in enumerate(chats)
    ]


def test_4500_chats_of_one_sender_and_text_go_out_in_3_calls(wecom, channel) -> None:
    chats, actions = group_actions(4500)
    wecom.add_chats(SENDER, chats)
    results = channel.send_batch(actions)
    calls = wecom.calls(ADD_MSG_TEMPLATE)
    assert [len(c.body["chat_id_list"]) for c in calls] == [2000, 2000, 500]
    assert all(c.body["chat_type"] == "group" and c.body["sender"] == SENDER for c in calls)
    assert calls[0].body["text"] == {"content": actions[0].text}
    assert [r.key for r in results] == [a.key for a in actions]
    assert {r.status for r in results} == {AWAITING}
    msgids = [results[0].response_id, results[2000].response_id, results[4000].response_id]
    assert len(set(msgids)) == 3 and set(msgids) == set(wecom.templates)
    assert all(r.sent_at is None for r in results)


def test_actions_are_grouped_by_sender_and_text(wecom, channel) -> None:
    batch = []
    for sender in ("zhangsan", "lisi"):
        for text in ("早安", "晚安"):
            chats, actions = group_actions(3, sender, text)
            wecom.add_chats(sender, chats)
            batch += actions
    channel.send_batch(batch)
    calls = wecom.calls(ADD_MSG_TEMPLATE)
    assert sorted((c.body["sender"], c.body["text"]["content"]) for c in calls) == [
        ("lisi", "早安"),
        ("lisi", "晚安"),
        ("zhangsan", "早安"),
        ("zhangsan", "晚安"),
    ]
    assert all(len(c.body["chat_id_list"]) == 3 for c in calls)


def test_chats_in_the_fail_list_fail_and_the_others_await(wecom, channel) -> None:
    chats, actions = group_actions(4)
    wecom.add_chats(SENDER, chats[:2])
    results = channel.send_batch(actions)
    assert [r.status for r in results] == [AWAITING, AWAITING, FAILED, FAILED]
    assert chats[2] in (results[2].error or "") and "fail_list" in (results[2].error or "")
    assert results[2].response_id == results[0].response_id


def test_awaiting_sends_settle_when_polled(wecom, channel) -> None:
    chats, actions = group_actions(4)
    wecom.add_chats(SENDER, chats)
    results = channel.send_batch(actions)
    msgid = results[0].response_id
    wecom.set_chat_status(msgid, chats[0], 1, send_time=1741399200)  # 2025-03-08 10:00 CST
    wecom.set_chat_status(msgid, chats[1], 2)
    wecom.set_chat_status(msgid, chats[2], 3)
    polled = channel.poll_results(msgid, SENDER)
    assert [polled[c].status for c in chats] == [SENT, FAILED, FAILED, AWAITING]
    assert polled[chats[0]].sent_at.isoformat() == "2025-03-08T10:00:00+08:00"
    pending = [AwaitingSend(a.key, msgid, SENDER, a.target) for a in actions]
    confirmed = channel.confirm(pending)
    assert [(r.key, r.status) for r in confirmed] == [
        (actions[0].key, SENT),
        (actions[1].key, FAILED),
        (actions[2].key, FAILED),
        (actions[3].key, AWAITING),
    ]
    assert "quota" in (confirmed[2].error or "")
    wecom.set_chat_status(msgid, chats[3], 1, send_time=1741399800)
    assert {k: r.status for k, r in channel.reconcile([actions[3].key, "other"]).items()} == {
        actions[3].key: SENT
    }


def test_results_of_large_sends_are_read_across_cursor_pages(wecom, channel) -> None:
    chats, actions = group_actions(1500)
    wecom.add_chats(SENDER, chats)
    msgid = channel.send_batch(actions)[0].response_id
    for chat in chats:
        wecom.set_chat_status(msgid, chat, 1, send_time=1741399200)
    polled = channel.poll_results(msgid, SENDER)
    assert len(polled) == 1500 and {o.status for o in polled.values()} == {SENT}
    assert len(wecom.calls(GET_SEND_RESULT)) == 2


def test_timeout_makes_keys_unknown_sends_nothing_again_and_stops(wecom, clock) -> None:
    chats_a, first = group_actions(2, "zhangsan", "早安")
    chats_b, second = group_actions(2, "lisi", "早安")
    wecom.add_chats("zhangsan", chats_a)
    wecom.add_chats("lisi", chats_b)
    wecom.hang_next(ADD_MSG_TEMPLATE, 3.0)
    results = make_channel(wecom, clock, timeout=0.3).send_batch(first + second)
    assert [(r.status, r.attempts) for r in results] == [
        (UNKNOWN, 1),
        (UNKNOWN, 1),
        (FAILED, 0),
        (FAILED, 0),
    ]
    assert "not sent" in (results[2].error or "")
    assert len(wecom.calls(ADD_MSG_TEMPLATE)) == 1


def test_actions_without_sender_chat_or_content_fail_without_a_call(wecom, channel) -> None:
    results = channel.send_batch(
        [
            planned("no-sender", target="wr-1"),
            planned("no-chat", sender=SENDER),
            planned("no-image", sender=SENDER, target="wr-1", msgtype="image"),
        ]
    )
    assert [(r.status, r.attempts) for r in results] == [(FAILED, 0)] * 3
    assert wecom.calls(ADD_MSG_TEMPLATE) == []


def test_images_and_news_travel_as_attachments(wecom, channel, clock) -> None:
    wecom.add_chats(SENDER, ["wr-1"])
    wecom.unix_now = lambda: 1741399200
    channel.send_batch(
        [
            planned(
                "img",
                sender=SENDER,
                target="wr-1",
                msgtype="image",
                extra={"image_media_id": "MEDIA_1"},
            ),
            planned(
                "news",
                sender=SENDER,
                target="wr-1",
                msgtype="news",
                text="中秋礼盒\n限量 50 份",
                extra={"news_url": "https://example.com/moon"},
            ),
        ]
    )
    image, news = (c.body for c in wecom.calls(ADD_MSG_TEMPLATE))
    assert image["attachments"] == [{"msgtype": "image", "image": {"media_id": "MEDIA_1"}}]
    assert "text" not in image
    assert news["attachments"] == [
        {
            "msgtype": "link",
            "link": {"title": "中秋礼盒", "desc": "限量 50 份", "url": "https://example.com/moon"},
        }
    ]
    with make_client(wecom, clock) as client:
        listed = group_msg_list(client, start_time=1741392000, end_time=1741478400, creator=SENDER)
    assert len(listed) == 2 and listed[0]["creator"] == SENDER
