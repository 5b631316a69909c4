"""The group robot channel against the fake WeCom webhook, on a fake clock."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.channels import FAILED, SENT, UNKNOWN, RobotWebhookChannel, SlidingWindowLimiter
from engine.wecom.robot import RobotWebhook
from tests.support.wecom_fake import FakeClock, FakeWeCom, planned

KEY_A, KEY_B = "robot-key-aaaa-1111", "robot-key-bbbb-2222"
SEND = "webhook/send"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def wecom(clock: FakeClock) -> Iterator[FakeWeCom]:
    with FakeWeCom(clock=clock, robot_keys=(KEY_A, KEY_B)) as fake:
        yield fake


def make_channel(wecom: FakeWeCom, clock: FakeClock, **kwargs: object) -> RobotWebhookChannel:
    options: dict = {"clock": clock, "sleep": clock.sleep, "now": clock.now, "timeout": 2.0}
    options.update(kwargs)
    return RobotWebhookChannel(
        {"宝妈群机器人": KEY_A, "福利群机器人": KEY_B}, base_url=wecom.base_url, **options
    )


def test_45_messages_are_paced_to_20_a_minute_and_none_is_refused(wecom, clock) -> None:
    actions = [planned(f"k{n:02d}", target="宝妈群机器人", text=f"第 {n} 条") for n in range(45)]
    results = make_channel(wecom, clock).send_batch(actions)
    received = wecom.robot_messages(KEY_A)
    times = [at for at, _ in received]
    assert [r.status for r in results] == [SENT] * 45
    assert [body["text"]["content"] for _, body in received] == [a.text for a in actions]
    assert wecom.webhook_rejections == 0
    assert all(times[i + 20] - times[i] >= 60 for i in range(len(times) - 20))
    assert clock() - clock.start >= 120, "two full windows had to pass"


def test_robots_are_paced_independently(wecom, clock) -> None:
    actions = [
        planned(f"k{n:02d}", target="宝妈群机器人" if n % 2 else "福利群机器人") for n in range(40)
    ]
    make_channel(wecom, clock).send_batch(actions)
    assert len(wecom.robot_messages(KEY_A)) == len(wecom.robot_messages(KEY_B)) == 20
    assert clock.sleeps == [], "20 per robot fit in one window"


def test_45009_backs_off_and_retries_the_same_message(wecom, clock) -> None:
    wecom.fail_next(SEND, 45009)  # blocks the robot for 60 s: retrying sooner only adds calls
    [result] = make_channel(wecom, clock).send_batch([planned("k1", target="宝妈群机器人")])
    assert (result.status, result.attempts) == (SENT, 2)
    assert clock.sleeps == [60.0]
    assert len(wecom.robot_messages(KEY_A)) == 1


def test_a_robot_that_stays_limited_fails_its_rest_but_others_still_send(wecom, clock) -> None:
    wecom.block_seconds = 3600  # the robot stays blocked past the one 60 s wait
    wecom.fail_next(SEND, 45009)
    actions = [
        planned("a1", target="宝妈群机器人"),
        planned("b1", target="福利群机器人"),
        planned("a2", target="宝妈群机器人"),
    ]
    results = make_channel(wecom, clock).send_batch(actions)
    assert [(r.key, r.status, r.attempts) for r in results] == [
        ("a1", FAILED, 2),
        ("b1", SENT, 1),
        ("a2", FAILED, 0),
    ]
    assert "45009" in (results[0].error or "") and "not sent" in (results[2].error or "")
    assert results[0].retry_at is not None and results[1].retry_at is None
    assert wecom.robot_messages(KEY_A) == []


def test_timeout_is_unknown_not_resent_and_stops_the_batch(wecom, clock) -> None:
    wecom.hang_next(SEND, 3.0)
    channel = make_channel(wecom, clock, timeout=0.3)
    results = channel.send_batch([planned("k1", target="宝妈群机器人"), planned("k2")])
    assert [(r.status, r.attempts) for r in results] == [(UNKNOWN, 1), (FAILED, 0)]
    assert len(wecom.calls(SEND)) == 1


def test_msgtypes_map_to_robot_payloads(wecom, clock, tmp_path: Path) -> None:
    image = tmp_path / "poster.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n fake poster")
    actions = [
        planned("t", target="宝妈群机器人", extra={"mentioned_list": "@all"}),
        planned("m", target="宝妈群机器人", msgtype="markdown", text="**周三秒杀** 今晚 20:00"),
        planned("i", target="宝妈群机器人", msgtype="image", extra={"image_path": str(image)}),
        planned(
            "n",
            target="宝妈群机器人",
            msgtype="news",
            text="618 大促\n全场满 200 减 30",
            extra={
                "news_url": "https://example.com/618",
                "news_picurl": "https://example.com/p.png",
            },
        ),
    ]
    results = make_channel(wecom, clock).send_batch(actions)
    assert [r.status for r in results] == [SENT] * 4
    bodies = [body for _, body in wecom.robot_messages(KEY_A)]
    assert bodies[0]["text"] == {"content": actions[0].text, "mentioned_list": ["@all"]}
    assert bodies[1] == {"msgtype": "markdown", "markdown": {"content": "**周三秒杀** 今晚 20:00"}}
    assert bodies[2]["image"] == {
        "base64": base64.b64encode(image.read_bytes()).decode(),
        "md5": hashlib.md5(image.read_bytes()).hexdigest(),
    }
    assert bodies[3]["news"]["articles"] == [
        {
            "title": "618 大促",
            "description": "全场满 200 减 30",
            "url": "https://example.com/618",
            "picurl": "https://example.com/p.png",
        }
    ]


def test_incomplete_actions_fail_without_a_request(wecom, clock) -> None:
    actions = [
        planned("n", target="宝妈群机器人", msgtype="news"),
        planned("u", target="没配置的机器人"),
        planned("e", target="宝妈群机器人", text="  "),
        planned("big", target="宝妈群机器人", text="长" * 700),
    ]
    results = make_channel(wecom, clock).send_batch(actions)
    assert [(r.status, r.attempts) for r in results] == [(FAILED, 0)] * 4
    assert "news_url" in (results[0].error or "") and "没配置的机器人" in (results[1].error or "")
    assert "2100 bytes" in (results[3].error or "")
    assert wecom.calls(SEND) == []


def test_robot_key_never_appears_in_results_or_repr(clock) -> None:
    with FakeWeCom(clock=clock, robot_keys=(KEY_A,), echo_request_in_errmsg=True) as wecom:
        wecom.fail_next(SEND, 40058)
        channel = make_channel(wecom, clock)
        [result] = channel.send_batch([planned("k1", target="宝妈群机器人")])
    assert result.status == FAILED
    assert "request /cgi-bin/webhook/send" in (result.error or "")
    assert KEY_A not in str(result) and KEY_A not in repr(channel)


def test_limiter_waits_instead_of_dropping(clock) -> None:
    limiter = SlidingWindowLimiter(2, 10.0, clock=clock, sleep=clock.sleep, margin=0.0)
    waits = [limiter.acquire("r") for _ in range(5)]
    assert waits == [0.0, 0.0, 10.0, 0.0, 10.0]


def test_fake_webhook_refuses_the_21st_message_within_a_minute(wecom, clock) -> None:
    webhook = RobotWebhook(wecom.base_url, timeout=2.0)
    message = {"msgtype": "text", "text": {"content": "限时福利"}}
    answers = [webhook.send_once(KEY_A, message)["errcode"] for _ in range(21)]
    clock.sleep(60)
    answers.append(webhook.send_once(KEY_A, message)["errcode"])
    webhook.close()
    assert answers == [0] * 20 + [45009, 0]
    assert wecom.webhook_rejections == 1


def test_robot_images_and_news_outside_wecom_rules_fail_before_any_call(
    wecom, clock, tmp_path: Path
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    gif, big = tmp_path / "a.gif", tmp_path / "big.png"
    gif.write_bytes(b"GIF89a" + b"\x00" * 32)
    big.write_bytes(png + b"\x00" * (2 * 1024 * 1024))
    encoded = base64.b64encode(png).decode()
    robot = {"target": "宝妈群机器人"}
    actions = [
        planned("gif", **robot, msgtype="image", extra={"image_path": str(gif)}),
        planned("big", **robot, msgtype="image", extra={"image_path": str(big)}),
        planned(
            "md5",
            **robot,
            msgtype="image",
            extra={"image_base64": encoded, "image_md5": "0" * 32},
        ),
        planned(
            "title",
            **robot,
            msgtype="news",
            text="标" * 43,  # the first line becomes the title: 129 bytes
            extra={"news_url": "https://example.com/a"},
        ),
        planned("ok", **robot, msgtype="image", extra={"image_base64": encoded}),
    ]
    results = make_channel(wecom, clock).send_batch(actions)
    assert [(r.status, r.attempts) for r in results] == [(FAILED, 0)] * 4 + [(SENT, 1)]
    errors = [r.error or "" for r in results]
    assert "JPG or PNG" in errors[0] and "at most 2097152" in errors[1]
    assert "md5" in errors[2] and "news title is 129 bytes" in errors[3]
    [(_, body)] = wecom.robot_messages(KEY_A)
    assert body["image"]["md5"] == hashlib.md5(png).hexdigest()
