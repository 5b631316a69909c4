"""The WeCom client against the local fake server: tokens, retries, timeouts, secrets."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest

from engine.wecom.client import WeComClient
from engine.wecom.errors import (
    WeComApiError,
    WeComRateLimited,
    WeComTokenRejected,
    WeComUnreachable,
    redact,
)
from engine.wecom.groupmsg import ADD_MSG_TEMPLATE, add_group_msg_template
from sop_models.errors import ChannelError, DeliveryOutcomeUnknown
from tests.support.wecom_fake import FakeClock, FakeWeCom

TASK = "externalcontact/get_groupmsg_task"
BY_DAY = "externalcontact/groupchat/statistic_group_by_day"
DAY_BODY = {  # 2025-03-08 CST; owner_filter is required (81017 without it)
    "day_begin_time": 1741363200,
    "day_end_time": 1741363200,
    "owner_filter": {"userid_list": ["zhangsan"]},
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def wecom(clock: FakeClock) -> Iterator[FakeWeCom]:
    with FakeWeCom(clock=clock) as fake:
        yield fake


def make_client(fake: FakeWeCom, clock: FakeClock, **kwargs: object) -> WeComClient:
    options: dict = {"timeout": 2.0, "sleep": clock.sleep, "clock": clock}
    options.update(kwargs)
    return WeComClient(
        corpid=fake.corpid, corpsecret=fake.corpsecret, base_url=fake.base_url, **options
    )


@pytest.fixture
def client(wecom: FakeWeCom, clock: FakeClock) -> Iterator[WeComClient]:
    with make_client(wecom, clock) as c:
        yield c


def test_token_is_fetched_once_and_reused_across_calls(wecom, client) -> None:
    for _ in range(3):
        client.call(BY_DAY, DAY_BODY, idempotent=True)
    assert len(wecom.calls("gettoken")) == 1
    tokens = {c.query["access_token"] for c in wecom.calls(BY_DAY)}
    assert len(tokens) == 1


def test_token_is_renewed_shortly_before_its_7200_second_lifetime(wecom, client, clock) -> None:
    client.call(BY_DAY, DAY_BODY, idempotent=True)
    clock.sleep(7200 - 300 - 1)
    client.call(BY_DAY, DAY_BODY, idempotent=True)
    assert len(wecom.calls("gettoken")) == 1
    clock.sleep(2)
    client.call(BY_DAY, DAY_BODY, idempotent=True)
    assert len(wecom.calls("gettoken")) == 2


@pytest.mark.parametrize("errcode", [40014, 42001])
def test_rejected_token_is_refetched_and_the_call_retried_once(wecom, client, errcode) -> None:
    client.call(BY_DAY, DAY_BODY, idempotent=True)
    wecom.fail_next(BY_DAY, errcode)
    reply = client.call(BY_DAY, DAY_BODY, idempotent=True)
    assert reply.payload["errcode"] == 0
    assert reply.attempts == 2
    assert len(wecom.calls("gettoken")) == 2
    first, second = (c.query["access_token"] for c in wecom.calls(BY_DAY)[1:])
    assert first != second


def test_expired_token_on_the_server_is_replaced_without_an_error(wecom, client) -> None:
    client.call(BY_DAY, DAY_BODY, idempotent=True)
    wecom.expire_tokens()
    assert client.call(BY_DAY, DAY_BODY, idempotent=True).payload["errcode"] == 0
    assert len(wecom.calls("gettoken")) == 2


def test_second_consecutive_token_rejection_surfaces_as_an_error(wecom, client) -> None:
    wecom.fail_next(BY_DAY, 42001, times=2)
    with pytest.raises(WeComTokenRejected) as caught:
        client.call(BY_DAY, DAY_BODY, idempotent=True)
    assert caught.value.errcode == 42001
    assert len(wecom.calls(BY_DAY)) == 2
    assert len(wecom.calls("gettoken")) == 2


@pytest.mark.parametrize("errcode", [45033, -1])
def test_busy_errcodes_back_off_exponentially_then_succeed(wecom, client, clock, errcode) -> None:
    wecom.fail_next(TASK, errcode, times=2)
    msgid = _template(wecom, client)
    reply = client.call(TASK, {"msgid": msgid, "limit": 10, "cursor": ""}, idempotent=True)
    assert reply.attempts == 3
    assert clock.sleeps == [1.0, 2.0]
    assert len(wecom.calls(TASK)) == 3


def test_busy_errcode_gives_up_after_a_bounded_number_of_attempts(wecom, client, clock) -> None:
    wecom.fail_next(BY_DAY, 45033, times=10)
    with pytest.raises(WeComRateLimited) as caught:
        client.call(BY_DAY, DAY_BODY, idempotent=True)
    assert caught.value.attempts == 4
    assert len(wecom.calls(BY_DAY)) == 4
    assert clock.sleeps == [1.0, 2.0, 4.0]


def test_45009_is_waited_out_for_the_60_second_block_not_retried_in_seconds(
    wecom, client, clock
) -> None:
    wecom.fail_next(BY_DAY, 45009)
    assert client.call(BY_DAY, DAY_BODY, idempotent=True).attempts == 2
    assert clock.sleeps == [60.0]
    assert len(wecom.calls(BY_DAY)) == 2


def test_45009_block_that_outlasts_the_wait_stops_with_retry_after(wecom, client, clock) -> None:
    wecom.block_seconds = 3600  # the hourly limit
    wecom.fail_next(BY_DAY, 45009)
    with pytest.raises(WeComRateLimited) as caught:
        client.call(BY_DAY, DAY_BODY, idempotent=True)
    assert caught.value.retry_after == 3600
    assert len(wecom.calls(BY_DAY)) == 2, "no calls into a block that has not ended"
    assert clock.sleeps == [60.0]


def test_minus_one_on_a_mass_send_is_not_resent_blindly(wecom, client, clock) -> None:
    wecom.add_chats("zhangsan", ["wr-chat-1"])
    wecom.fail_after_effect(ADD_MSG_TEMPLATE, -1)
    with pytest.raises(DeliveryOutcomeUnknown):
        add_group_msg_template(client, sender="zhangsan", chat_ids=["wr-chat-1"], text="福利")
    assert len(wecom.calls(ADD_MSG_TEMPLATE)) == 1
    assert len(wecom.templates) == 1


def test_other_errcodes_raise_at_once_without_retry(wecom, client, clock) -> None:
    with pytest.raises(WeComApiError) as caught:
        client.call(
            ADD_MSG_TEMPLATE, {"chat_type": "group", "text": {"content": "hi"}}, idempotent=False
        )
    assert caught.value.errcode == 40058
    assert "sender" in str(caught.value)
    assert len(wecom.calls(ADD_MSG_TEMPLATE)) == 1
    assert clock.sleeps == []


def test_timeout_after_sending_a_mass_send_is_unknown_and_not_resent(wecom, clock) -> None:
    wecom.add_chats("zhangsan", ["wr-chat-1"])
    wecom.hang_next(ADD_MSG_TEMPLATE, 3.0)
    with make_client(wecom, clock, timeout=0.3) as client, pytest.raises(DeliveryOutcomeUnknown):
        add_group_msg_template(client, sender="zhangsan", chat_ids=["wr-chat-1"], text="福利")
    assert len(wecom.calls(ADD_MSG_TEMPLATE)) == 1
    assert len(wecom.templates) == 1, "the request took effect on the server"


def test_timeout_on_a_read_is_retried(wecom, clock) -> None:
    wecom.hang_next(BY_DAY, 3.0)
    with make_client(wecom, clock, timeout=0.3) as client:
        assert client.call(BY_DAY, DAY_BODY, idempotent=True).attempts == 2
    assert len(wecom.calls(BY_DAY)) == 2


def test_refused_connection_is_retried_and_reported_as_not_sent(clock) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = WeComClient(
        corpid="ww",
        corpsecret="s3cret-value",
        sleep=clock.sleep,
        clock=clock,
        base_url=f"http://127.0.0.1:{port}/cgi-bin/",
    )
    with client, pytest.raises(WeComUnreachable) as caught:
        client.call(BY_DAY, DAY_BODY, idempotent=False)
    assert not isinstance(caught.value, DeliveryOutcomeUnknown)
    assert caught.value.attempts == 4
    assert clock.sleeps == [1.0, 2.0, 4.0]


def test_credentials_never_appear_in_errors_reprs_or_logs(clock, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeWeCom(clock=clock, echo_request_in_errmsg=True) as wecom:
        with make_client(wecom, clock) as client:
            client.call(BY_DAY, DAY_BODY, idempotent=True)
            token = next(iter(wecom.tokens))
            wecom.fail_next(BY_DAY, 40058)
            with pytest.raises(WeComApiError) as api_error:
                client.call(BY_DAY, DAY_BODY, idempotent=True)
            shown = [str(api_error.value), repr(client), api_error.value.errmsg]
        wrong = WeComClient(
            corpid=wecom.corpid,
            corpsecret="wrong-secret-xyz",
            base_url=wecom.base_url,
            sleep=clock.sleep,
            clock=clock,
        )
        with wrong, pytest.raises(ChannelError) as secret_error:
            wrong.access_token()
        shown += [str(secret_error.value), repr(wrong)]
    assert "request /cgi-bin/" in shown[0], "the fake echoed the URL, so redaction was needed"
    for text in [*shown, caplog.text]:
        for secret in (token, wecom.corpsecret, "wrong-secret-xyz"):
            assert secret not in text
    assert "access_token=***" in shown[0]
    assert "HTTP Request" in caplog.text, "httpx logged its requests (redacted)"


def test_redact_masks_credential_parameters_and_known_secrets() -> None:
    url = "https://x/cgi-bin/gettoken?corpid=ww1&corpsecret=S3CRET&access_token=T0K&key=K3Y9"
    assert redact(url) == (
        "https://x/cgi-bin/gettoken?corpid=ww1&corpsecret=***&access_token=***&key=***"
    )
    assert redact("token abcdef leaked", ["abcdef"]) == "token *** leaked"


def _template(wecom: FakeWeCom, client: WeComClient) -> str:
    wecom.add_chats("zhangsan", ["wr-chat-1"])
    ticket = add_group_msg_template(client, sender="zhangsan", chat_ids=["wr-chat-1"], text="早安")
    return ticket.msgid
