"""The customer-group mass send channel against the fake WeCom server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from engine.channels import (
    AWAITING,
    FAILED,
    SENT,
    SKIPPED,
    UNKNOWN,
    AwaitingSend,
    WeComMassSendChannel,
)
from engine.wecom.client import WeComClient
from engine.wecom.groupmsg import ADD_MSG_TEMPLATE, GET_SEND_RESULT, LIST_V2, group_msg_list
from engine.wecom.media import upload_permanent_image
from tests.support.wecom_fake import FakeClock, FakeWeCom, planned

SENDER = "zhangsan"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


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


def test_timeout_that_created_the_task_finds_it_instead_of_sending_again(wecom, clock) -> None:
    chats, actions = group_actions(2, "zhangsan", "早安")
    wecom.add_chats("zhangsan", chats)
    wecom.hang_next(ADD_MSG_TEMPLATE, 3.0)  # the answer is lost, the task was created
    results = make_channel(wecom, clock, timeout=0.3).send_batch(actions)
    [msgid] = wecom.templates
    assert [(r.status, r.response_id) for r in results] == [(AWAITING, msgid)] * 2
    assert len(wecom.calls(ADD_MSG_TEMPLATE)) == 1
    assert len(wecom.calls(LIST_V2)) >= 1


def test_minus_one_that_created_the_task_is_looked_up_not_sent_twice(wecom, clock) -> None:
    chats, actions = group_actions(2, "zhangsan", "早安")
    wecom.add_chats("zhangsan", chats)
    wecom.fail_after_effect(ADD_MSG_TEMPLATE, -1)
    results = make_channel(wecom, clock).send_batch(actions)
    assert len(wecom.templates) == 1, "a blind retry would have created a second task"
    assert [r.status for r in results] == [AWAITING, AWAITING]
    assert len(wecom.calls(ADD_MSG_TEMPLATE)) == 1


def test_minus_one_that_created_nothing_is_sent_again_once(wecom, clock) -> None:
    chats, actions = group_actions(1, "zhangsan", "早安")
    wecom.add_chats("zhangsan", chats)
    wecom.fail_next(ADD_MSG_TEMPLATE, -1)
    [result] = make_channel(wecom, clock).send_batch(actions)
    assert result.status == AWAITING
    assert len(wecom.calls(ADD_MSG_TEMPLATE)) == 2 and len(wecom.templates) == 1


def test_timeout_that_no_lookup_resolves_is_unknown_and_stops(wecom, clock) -> None:
    chats_a, first = group_actions(2, "zhangsan", "早安")
    chats_b, second = group_actions(2, "lisi", "早安")
    wecom.add_chats("zhangsan", chats_a)
    wecom.add_chats("lisi", chats_b)
    wecom.hang_next(ADD_MSG_TEMPLATE, 3.0)
    wecom.fail_next(LIST_V2, 40058, times=2)  # the cap count and the lookup both fail
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


def test_images_and_news_travel_as_attachments(wecom, channel, clock, tmp_path) -> None:
    wecom.add_chats(SENDER, ["wr-1"])
    poster = tmp_path / "poster.png"
    poster.write_bytes(PNG)
    channel.send_batch(
        [
            planned(
                "img",
                sender=SENDER,
                target="wr-1",
                msgtype="image",
                extra={"image_path": str(poster)},
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
    [media_id] = wecom.media
    assert image["attachments"] == [{"msgtype": "image", "image": {"media_id": media_id}}]
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


def test_a_four_day_old_media_id_is_never_sent(wecom, channel, clock, tmp_path) -> None:
    wecom.add_chats(SENDER, ["wr-1"])
    poster = tmp_path / "poster.png"
    poster.write_bytes(PNG)
    post = {"sender": SENDER, "target": "wr-1", "msgtype": "image"}
    extra = {"image_path": str(poster)}
    [first] = channel.send_batch([planned("day-1", **post, extra=extra)])
    clock.sleep(4 * 86400)
    [later] = channel.send_batch([planned("day-5", **post, extra=extra)])
    assert (first.status, later.status) == (AWAITING, AWAITING)
    sent = [c.body["attachments"][0]["image"]["media_id"] for c in wecom.calls(ADD_MSG_TEMPLATE)]
    assert len(set(sent)) == 2, "the second send uploaded the image again"
    assert wecom.media[sent[1]] >= wecom.unix_now() - 60
    assert len(wecom.calls("media/upload")) == 2


def test_the_same_image_is_uploaded_once_within_its_reuse_time(wecom, channel, tmp_path) -> None:
    wecom.add_chats(SENDER, ["wr-1", "wr-2"])
    poster = tmp_path / "poster.png"
    poster.write_bytes(PNG)
    actions = [
        planned(
            f"k{n}", sender=SENDER, target=chat, msgtype="image", extra={"image_path": str(poster)}
        )
        for n, chat in enumerate(["wr-1", "wr-2"])
    ]
    assert [r.status for r in channel.send_batch(actions)] == [AWAITING, AWAITING]
    assert len(wecom.calls("media/upload")) == 1


def test_a_stored_media_id_or_an_over_long_text_is_refused_before_any_call(wecom, channel) -> None:
    results = channel.send_batch(
        [
            planned(
                "stored",
                sender=SENDER,
                target="wr-1",
                msgtype="image",
                extra={"image_media_id": "3a-month-old-id"},
            ),
            planned("long", sender=SENDER, target="wr-1", text="好" * 1334),
        ]
    )
    assert [(r.status, r.attempts) for r in results] == [(FAILED, 0), (FAILED, 0)]
    assert "expires after 3 days" in (results[0].error or "")
    assert "4002 bytes" in (results[1].error or "") and "4000" in (results[1].error or "")
    assert wecom.calls(ADD_MSG_TEMPLATE) == []


def test_with_a_one_a_day_cap_a_second_post_that_day_is_skipped_and_reported(wecom, clock) -> None:
    wecom.cap_rule = "day"
    wecom.add_chats(SENDER, ["wr-1"])
    channel = WeComMassSendChannel(make_client(wecom, clock), now=clock.now, cap_rule="day")
    [morning] = channel.send_batch([planned("morning", sender=SENDER, target="wr-1")])
    wecom.confirm(morning.response_id or "")
    clock.sleep(5 * 3600)
    [evening] = channel.send_batch([planned("evening", sender=SENDER, target="wr-1", text="晚安")])
    assert morning.status == AWAITING
    assert (evening.status, evening.attempts) == (SKIPPED, 0)
    assert "cap 1 per day" in (evening.error or "") and "not sent" in (evening.error or "")
    assert len(wecom.calls(ADD_MSG_TEMPLATE)) == 1
    clock.sleep(24 * 3600)  # the next day the group may receive one again
    [tomorrow] = channel.send_batch([planned("next", sender=SENDER, target="wr-1")])
    assert tomorrow.status == AWAITING


def test_other_tools_sends_count_to_the_cap_before_sending(wecom, clock) -> None:
    wecom.cap_rule = "day"
    wecom.add_chats(SENDER, ["wr-1", "wr-2"])
    wecom.other_send("wr-1", wecom.unix_now() - 3600, creator="lisi")
    channel = WeComMassSendChannel(make_client(wecom, clock), now=clock.now, cap_rule="day")
    results = channel.send_batch(
        [planned(f"k{n}", sender=SENDER, target=c) for n, c in enumerate(["wr-1", "wr-2"])]
    )
    assert [r.status for r in results] == [SKIPPED, AWAITING]
    assert wecom.calls(ADD_MSG_TEMPLATE)[0].body["chat_id_list"] == ["wr-2"]


def test_two_posts_to_one_group_in_one_batch_keep_the_first_under_the_cap(wecom, clock) -> None:
    wecom.add_chats(SENDER, ["wr-1"])
    channel = WeComMassSendChannel(make_client(wecom, clock), now=clock.now, cap_rule="day")
    results = channel.send_batch(
        [
            planned(
                "late", sender=SENDER, target="wr-1", text="晚安", at=clock.now().replace(hour=20)
            ),
            planned("early", sender=SENDER, target="wr-1", text="早安"),
        ]
    )
    assert [r.status for r in results] == [SKIPPED, AWAITING]


def test_a_permanent_image_url_from_uploadimg_travels_as_pic_url(wecom, channel, clock) -> None:
    wecom.add_chats(SENDER, ["wr-1"])
    with make_client(wecom, clock) as client:
        url = upload_permanent_image(client, PNG)
    assert url.startswith("https://")
    extra = {"image_pic_url": url}
    [result] = channel.send_batch(
        [planned("pic", sender=SENDER, target="wr-1", msgtype="image", extra=extra)]
    )
    assert result.status == AWAITING
    body = wecom.calls(ADD_MSG_TEMPLATE)[0].body
    assert body["attachments"] == [{"msgtype": "image", "image": {"pic_url": url}}]


def test_a_group_wecom_refuses_past_its_cap_is_confirmed_as_failed(wecom, clock) -> None:
    wecom.cap_rule = "day"
    wecom.add_chats(SENDER, ["wr-1"])
    channel = WeComMassSendChannel(make_client(wecom, clock), now=clock.now, cap_rule=None)
    first, second = (
        channel.send_batch([planned(k, sender=SENDER, target="wr-1", text=k)])[0]
        for k in ("早安", "晚安")
    )
    assert (first.status, second.status) == (AWAITING, AWAITING)  # nothing counted: both queued
    for result in (first, second):
        wecom.confirm(result.response_id or "")
    fates = channel.confirm(
        [AwaitingSend(r.key, r.response_id or "", SENDER, "wr-1") for r in (first, second)]
    )
    assert [f.status for f in fates] == [SENT, FAILED]
    assert "quota" in (fates[1].error or "")


def test_an_hourly_45009_block_stops_the_batch_with_a_time_to_retry(wecom, clock) -> None:
    chats, actions = group_actions(2, "zhangsan", "早安")
    _, others = group_actions(1, "lisi", "晚安")
    wecom.add_chats("zhangsan", chats)
    wecom.block_seconds = 3600
    wecom.fail_next(ADD_MSG_TEMPLATE, 45009)
    channel = WeComMassSendChannel(make_client(wecom, clock), now=clock.now, cap_rule=None)
    results = channel.send_batch(actions + others)
    assert [r.status for r in results] == [FAILED] * 3
    assert results[0].retry_at == clock.now() + timedelta(hours=1)
    assert results[2].retry_at == results[0].retry_at  # kept from going out by the block
    assert "retry in 3600s" in (results[0].error or "")
    assert [r.attempts for r in results] == [2, 2, 0]
    assert len(wecom.calls(ADD_MSG_TEMPLATE)) == 2, "one wait of 60 s, then no more calls"
    assert clock.sleeps == [60.0]


def test_cap_counting_asks_only_about_the_senders_open_tasks(wecom, clock) -> None:
    wecom.add_chats(SENDER, ["wr-1"])
    wecom.add_chats("lisi", ["wr-9"])
    wecom.other_send("wr-9", wecom.unix_now() - 60, creator="admin")  # lisi's group
    channel = WeComMassSendChannel(make_client(wecom, clock), now=clock.now, cap_rule="month")
    [first] = channel.send_batch([planned("a", sender=SENDER, target="wr-1", text="一")])
    wecom.confirm(first.response_id or "")
    for n in range(3):
        clock.sleep(3600)
        channel.send_batch([planned(f"b{n}", sender=SENDER, target="wr-1", text=f"二{n}")])
    asked = [c.body for c in wecom.calls(GET_SEND_RESULT)]
    assert all(body["userid"] == SENDER for body in asked), "lisi's tasks are not fetched"
    about_first = [b for b in asked if b["msgid"] == first.response_id]
    assert len(about_first) == 1, "a task whose chats are final is fetched once"
