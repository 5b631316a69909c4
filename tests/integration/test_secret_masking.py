"""Configured secrets (corp secret, robot keys, access tokens) never leave the WeCom channels.

The fake WeCom server echoes them in errmsg as free text ("secret: ... token: ... key: ..."),
which no `name=value` pattern catches: only masking the values themselves keeps them out of
raised errors, the delivery ledger, the workspace's files and the logs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine.dispatch import dispatch
from engine.groups import add_group
from engine.ledger import get_deliveries
from engine.wecom.client import WeComClient
from engine.wecom.errors import MASK, Secrets, WeComApiError, WeComRateLimited
from engine.wecom.groupmsg import ADD_MSG_TEMPLATE, GET_SEND_RESULT
from engine.wecom.robot import WEBHOOK_SEND
from engine.wecom.statistics import BY_DAY
from engine.wecom.transport import RetryPolicy
from services.channels import build_channel, close_channels, confirm_mass_sends
from services.settings import load_settings
from services.workspace import Workspace
from sop_models.errors import ChannelError
from tests.support.wecom_fake import FakeClock, FakeWeCom, planned

CST = timezone(timedelta(hours=8))
NOW = datetime(2025, 3, 8, 10, 1, tzinfo=CST)
DAY_BODY = {  # owner_filter is required (81017 without it)
    "day_begin_time": 1741363200,
    "day_end_time": 1741363200,
    "owner_filter": {"userid_list": ["zhangsan"]},
}
SENDER, CHAT = "zhangsan", "wrOgA"


@pytest.fixture(autouse=True)
def fresh_channels() -> Iterator[None]:
    close_channels()
    yield
    close_channels()


@pytest.fixture
def wecom() -> Iterator[FakeWeCom]:
    with FakeWeCom(echo_secrets_in_errmsg=True) as fake:
        yield fake


@pytest.fixture
def wired(workspace: Workspace, wecom: FakeWeCom) -> Workspace:
    """The workspace configured for the fake: corp secret and robot key in sopflow.toml."""
    path = workspace.root / "sopflow.toml"
    path.write_text(
        path.read_text(encoding="utf-8")
        + f'wecom_base_url = "{wecom.base_url}"\nrobot_base_url = "{wecom.base_url}"\n'
        f'wecom_corp_id = "{wecom.corpid}"\nwecom_corp_secret = "{wecom.corpsecret}"\n'
        f'[robot_keys]\nops = "{next(iter(wecom.robot_keys))}"\n',
        encoding="utf-8",
    )
    workspace.settings = load_settings(workspace.root)
    return workspace


def secrets_of(wecom: FakeWeCom) -> list[str]:
    """Everything the fake could have echoed: corp secret, robot keys, tokens it issued."""
    return [wecom.corpsecret, *wecom.robot_keys, *wecom.tokens]


def assert_hidden(wecom: FakeWeCom, *texts: str) -> None:
    for text in texts:
        for secret in secrets_of(wecom):
            assert secret not in text, f"{secret!r} leaked into {text!r}"


def workspace_files(ws: Workspace) -> str:
    """Every file of the workspace but its settings (database and WAL, outbox, tasks)."""
    found = [
        p.read_bytes().decode("utf-8", "replace")
        for p in sorted(Path(ws.root).rglob("*"))
        if p.is_file() and p.name != "sopflow.toml" and ".git" not in p.parts
    ]
    return "\n".join(found)


def ledger_rows(ws: Workspace, keys: list[str]) -> dict[str, dict[str, object]]:
    with ws.session() as session:
        rows = get_deliveries(session, keys)
    return {key: row.model_dump(mode="json") for key, row in rows.items()}


def add_mass_group(ws: Workspace) -> None:
    with ws.session() as session:
        add_group(
            session,
            id="g0",
            name="上海宝妈0群",
            sop_id="mom-baby",
            channel="wecom_mass",
            sender=SENDER,
            target=CHAT,
            now=NOW,
        )
        session.commit()


def mass_action(key: str = "mass-0") -> object:
    return planned(key, group_id="g0", channel="wecom_mass", target=CHAT, sender=SENDER)


def test_client_masks_corp_secret_and_token_echoed_in_errmsg_free_text(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    with FakeWeCom(clock=clock, echo_secrets_in_errmsg=True) as wecom:
        client = WeComClient(
            corpid=wecom.corpid,
            corpsecret=wecom.corpsecret,
            base_url=wecom.base_url,
            sleep=clock.sleep,
            clock=clock,
            retry=RetryPolicy(max_attempts=2, base_delay=1.0),
        )
        with client:
            client.call(BY_DAY, DAY_BODY, idempotent=True)
            wecom.fail_next(BY_DAY, 48002)
            with pytest.raises(WeComApiError) as refused:
                client.call(BY_DAY, DAY_BODY, idempotent=True)
            wecom.fail_next(BY_DAY, 45009, times=2)
            with pytest.raises(WeComRateLimited) as limited:
                client.call(BY_DAY, DAY_BODY, idempotent=True)
            wecom.invalidate_tokens()
            wecom.fail_next("gettoken", 40001)
            with pytest.raises(ChannelError) as no_token:
                client.call(BY_DAY, DAY_BODY, idempotent=True)
    shown = [str(refused.value), refused.value.errmsg, str(limited.value), str(no_token.value)]
    assert all("invalid credential, secret: " + MASK in text for text in shown)
    assert "token: " + MASK in shown[0], "the token was echoed, then masked"
    assert "gettoken" in shown[3] and "40001" in shown[3]
    assert_hidden(wecom, *shown, repr(client), caplog.text)


def test_robot_dispatch_keeps_the_echoed_key_and_secret_out_of_the_ledger_and_logs(
    wired: Workspace, wecom: FakeWeCom, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    wecom.fail_next(WEBHOOK_SEND, 40058)
    actions = [planned(f"robot-{n}", channel="robot", target="ops") for n in range(2)]
    report = dispatch(wired.session, build_channel("robot", wired), actions, now=NOW)
    assert report.sent == ["robot-1"]
    rows = ledger_rows(wired, ["robot-0", "robot-1"])
    error = str(rows["robot-0"]["error"])
    assert rows["robot-0"]["status"] == "failed"
    assert "errcode 40058" in error and f"secret: {MASK}" in error and f"key: {MASK}" in error
    assert_hidden(wecom, json.dumps(rows), workspace_files(wired), caplog.text)


def test_mass_send_dispatch_keeps_the_echoed_secret_and_token_out_of_the_ledger(
    wired: Workspace, wecom: FakeWeCom, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    wecom.add_chats(SENDER, [CHAT])
    add_mass_group(wired)
    wecom.fail_next(ADD_MSG_TEMPLATE, 48002)
    report = dispatch(wired.session, build_channel("wecom_mass", wired), [mass_action()], now=NOW)
    assert report.failed == ["mass-0"]
    assert wecom.tokens, "a token was issued and echoed"
    rows = ledger_rows(wired, ["mass-0"])
    error = str(rows["mass-0"]["error"])
    assert "errcode 48002" in error and f"secret: {MASK} token: {MASK}" in error
    assert_hidden(wecom, json.dumps(rows), workspace_files(wired), caplog.text)


def test_a_refused_gettoken_echoing_the_secret_is_masked_in_the_ledger(
    wired: Workspace, wecom: FakeWeCom, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    wecom.add_chats(SENDER, [CHAT])
    add_mass_group(wired)
    wecom.fail_next("gettoken", 40001)
    dispatch(wired.session, build_channel("wecom_mass", wired), [mass_action()], now=NOW)
    rows = ledger_rows(wired, ["mass-0"])
    assert rows["mass-0"]["status"] == "failed"
    assert "gettoken" in str(rows["mass-0"]["error"])
    assert_hidden(wecom, json.dumps(rows), workspace_files(wired), caplog.text)


def test_confirm_failing_with_an_echoed_secret_raises_a_masked_error(
    wired: Workspace, wecom: FakeWeCom
) -> None:
    wecom.add_chats(SENDER, [CHAT])
    add_mass_group(wired)
    dispatch(wired.session, build_channel("wecom_mass", wired), [mass_action()], now=NOW)
    assert ledger_rows(wired, ["mass-0"])["mass-0"]["status"] == "awaiting_confirmation"
    close_channels()  # a later process: a new client, a new token
    wecom.fail_next(GET_SEND_RESULT, 48002)
    with wired.session() as session, pytest.raises(ChannelError) as caught:
        confirm_mass_sends(wired, session, NOW)
    assert "48002" in str(caught.value)
    assert_hidden(wecom, str(caught.value), workspace_files(wired))


def test_a_robot_error_echoing_the_corp_secret_is_masked_too(
    wired: Workspace, wecom: FakeWeCom
) -> None:
    # The robot channel knows every configured secret, not only its own keys.
    wecom.fail_next(WEBHOOK_SEND, 93000)
    action = planned("robot-0", channel="robot", target="ops")
    (result,) = build_channel("robot", wired).send_batch([action])
    assert result.error and wecom.corpsecret not in result.error
    assert_hidden(wecom, result.error)


def test_secrets_mask_the_longest_value_first_and_never_show_in_repr() -> None:
    secrets = Secrets(["abcd", "abcdefgh", ""])
    secrets.add("token-1234")
    assert secrets.redact("abcdefgh / abcd / token-1234") == f"{MASK} / {MASK} / {MASK}"
    assert repr(secrets) == "Secrets(3 value(s))"


def test_log_records_of_wecom_loggers_mask_known_secrets(caplog) -> None:
    from engine.wecom.errors import install_log_redaction

    caplog.set_level(logging.DEBUG)
    install_log_redaction()
    Secrets(["log-secret-5678"])
    logging.getLogger("engine.wecom").warning("answer said %s after %d tries", "log-secret-5678", 2)
    logging.getLogger("httpx").info("free text log-secret-5678 here")
    assert "log-secret-5678" not in caplog.text
    assert f"answer said {MASK} after 2 tries" in caplog.text
