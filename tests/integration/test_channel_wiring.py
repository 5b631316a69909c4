"""`build_channel` turns a group's channel name into a configured channel; robot and mass send
run against the local fake WeCom server, and `sop deliveries confirm` settles mass sends."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine.channels import (
    AWAITING,
    ConsoleChannel,
    DeliveryResult,
    OutboxChannel,
    RobotWebhookChannel,
    TaskListChannel,
    WeComMassSendChannel,
)
from engine.channels.shared_limit import DatabaseWindowLimiter
from engine.dispatch import dispatch
from engine.groups import add_group
from engine.ledger import claim, get_deliveries, mark_sending, record_results
from engine.wecom.groupmsg import ADD_MSG_TEMPLATE
from services.channels import ChannelNotConfigured, build_channel, close_channels
from services.settings import Settings, load_settings
from services.workspace import Workspace
from sop_models.errors import ChannelError
from sopflow.cli import deliveries_cmd, groups_cmd, main
from tests.support.wecom_fake import FakeWeCom, planned
from tests.support.workspaces import Cli

if "deliveries_cmd" not in main.COMMAND_MODULES:
    deliveries_cmd.register(main.app)
if "groups_cmd" not in main.COMMAND_MODULES:
    groups_cmd.register(main.app)

CST = timezone(timedelta(hours=8))
NOW = datetime(2025, 3, 8, 10, 1, tzinfo=CST)
SECRETS = ("fake-corp-secret-0001", "fake-robot-key-0001")


@pytest.fixture(autouse=True)
def fresh_channels() -> Iterator[None]:
    close_channels()
    yield
    close_channels()


@pytest.fixture
def wecom() -> Iterator[FakeWeCom]:
    with FakeWeCom(echo_request_in_errmsg=True) as fake:
        yield fake


def configure(ws: Workspace, text: str) -> None:
    """Append settings to the workspace's sopflow.toml and reload them."""
    path = ws.root / "sopflow.toml"
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")
    ws.settings = load_settings(ws.root)


def wire_fake(ws: Workspace, fake: FakeWeCom, *, secret: str | None = None) -> None:
    configure(
        ws,
        f'wecom_base_url = "{fake.base_url}"\nrobot_base_url = "{fake.base_url}"\n'
        f'wecom_corp_id = "{fake.corpid}"\n'
        f'wecom_corp_secret = "{secret or fake.corpsecret}"\n'
        f'[robot_keys]\nops = "{next(iter(fake.robot_keys))}"\n',
    )


def no_secret_in(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_local_channels_are_built_under_the_workspace(workspace: Workspace) -> None:
    stream = io.StringIO()
    console = build_channel("console", workspace, stream=stream)
    assert isinstance(console, ConsoleChannel)
    other = io.StringIO()
    build_channel("console", workspace, stream=other).send_batch([planned("k2")])
    console.send_batch([planned("k1")])
    assert "k1" in stream.getvalue() and "k1" not in other.getvalue()
    assert "宝宝辅食" in stream.getvalue() and "k2" in other.getvalue()
    assert build_channel("console", workspace) is build_channel("console", workspace)

    daily = build_channel("outbox", workspace, day=date(2025, 3, 8))
    single = build_channel("outbox", workspace)
    assert isinstance(daily, OutboxChannel) and isinstance(single, OutboxChannel)
    assert daily.path == workspace.root / "outbox" / "outbox-2025-03-08.jsonl"
    assert single.path == workspace.root / "outbox" / "outbox.jsonl"

    tasks = build_channel("tasklist", workspace)
    assert isinstance(tasks, TaskListChannel)
    assert tasks.directory == workspace.root / "tasks"


def test_unknown_channel_name_is_a_one_line_error(workspace: Workspace) -> None:
    with pytest.raises(ChannelError, match=r"unknown channel 'sms': use one of console, outbox"):
        build_channel("sms", workspace)


def test_missing_mass_send_secret_names_the_setting_and_not_the_corp_id_value(
    workspace: Workspace,
) -> None:
    configure(workspace, 'wecom_corp_id = "ww-corp-123"\n')
    with pytest.raises(ChannelNotConfigured) as caught:
        build_channel("wecom_mass", workspace)
    message = str(caught.value)
    assert "\n" not in message
    assert "SOPFLOW_WECOM_CORP_SECRET" in message and "wecom_corp_secret" in message
    assert "SOPFLOW_WECOM_CORP_ID" not in message
    assert str(workspace.root / "sopflow.toml") in message


def test_missing_robot_keys_say_where_to_put_them(workspace: Workspace) -> None:
    with pytest.raises(ChannelNotConfigured, match=r"\[robot_keys\].*SOPFLOW_ROBOT_KEYS"):
        build_channel("robot", workspace)


def test_credentials_from_the_environment_are_used(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPFLOW_WECOM_CORP_ID", "ww-env")
    monkeypatch.setenv("SOPFLOW_WECOM_CORP_SECRET", "env-secret-value")
    monkeypatch.setenv("SOPFLOW_ROBOT_KEYS", '{"ops": "env-robot-key"}')
    workspace.settings = load_settings(workspace.root)
    mass = build_channel("wecom_mass", workspace)
    robot = build_channel("robot", workspace)
    assert isinstance(mass, WeComMassSendChannel) and isinstance(robot, RobotWebhookChannel)
    assert "env-secret-value" not in repr(mass) and "env-robot-key" not in repr(robot)


def test_one_robot_channel_per_configuration_pacing_in_its_database(
    workspace: Workspace, tmp_path: Path
) -> None:
    configure(workspace, '[robot_keys]\nops = "key-aaaa"\n')
    first = build_channel("robot", workspace)
    assert build_channel("robot", workspace) is first
    assert isinstance(first, RobotWebhookChannel)
    assert isinstance(first.limiter, DatabaseWindowLimiter)  # shared by every process
    (tmp_path / "other").mkdir()
    other = Workspace(tmp_path / "other", workspace.settings.model_copy())
    assert build_channel("robot", other) is not first  # another database, another window
    other.settings = Settings.model_validate({"robot_keys": {"ops": "key-bbbb"}})
    assert build_channel("robot", other) is not first
    close_channels()
    assert build_channel("robot", workspace) is not first


def test_robot_dispatch_reaches_the_fake_and_the_ledger_says_sent(
    workspace: Workspace, wecom: FakeWeCom
) -> None:
    wire_fake(workspace, wecom)
    actions = [
        planned(f"robot-{n}", channel="robot", target="ops", text=f"第 {n} 条：今晚 20:00 福利")
        for n in range(3)
    ]
    report = dispatch(workspace.session, build_channel("robot", workspace), actions, now=NOW)
    assert sorted(report.sent) == ["robot-0", "robot-1", "robot-2"]
    received = [body["text"]["content"] for _, body in wecom.robot_messages(SECRETS[1])]
    assert received == [a.text for a in actions]
    with workspace.session() as session:
        rows = get_deliveries(session, [a.key for a in actions])
    assert {row.status for row in rows.values()} == {"sent"}
    no_secret_in(*(json.dumps(row.model_dump(mode="json")) for row in rows.values()))


def add_mass_groups(ws: Workspace, sender: str, chats: list[str]) -> None:
    with ws.session() as session:
        for n, chat in enumerate(chats):
            add_group(
                session,
                id=f"g{n}",
                name=f"上海宝妈{n}群",
                sop_id="mom-baby",
                channel="wecom_mass",
                sender=sender,
                target=chat,
                now=NOW,
            )
        session.commit()


def test_mass_sends_await_then_confirm_settles_them_through_the_cli(
    workspace: Workspace, wecom: FakeWeCom, cli: Cli
) -> None:
    wire_fake(workspace, wecom)
    chats = ["wrOgA", "wrOgB", "wrOgC"]
    wecom.add_chats("zhangsan", chats)
    add_mass_groups(workspace, "zhangsan", chats)
    actions = [
        planned(f"mass-{n}", group_id=f"g{n}", channel="wecom_mass", target=chat, sender="zhangsan")
        for n, chat in enumerate(chats)
    ]
    report = dispatch(workspace.session, build_channel("wecom_mass", workspace), actions, now=NOW)
    assert sorted(report.awaiting_confirmation) == ["mass-0", "mass-1", "mass-2"]
    assert len(wecom.calls(ADD_MSG_TEMPLATE)) == 1
    with workspace.session() as session:
        msgids = {row.response_id for row in get_deliveries(session, ["mass-0"]).values()}
    (msgid,) = msgids
    sent_at = int(datetime(2025, 3, 8, 10, 5, tzinfo=CST).timestamp())
    wecom.set_chat_status(msgid, "wrOgA", 1, sent_at)
    wecom.set_chat_status(msgid, "wrOgB", 3)

    close_channels()  # a later process: nothing remembered in memory, only the ledger
    result = cli("deliveries", "confirm")
    assert "查询了 3 条群发：已发 1，失败 1，仍待确认 1" in result.output
    with workspace.session() as session:
        rows = get_deliveries(session, ["mass-0", "mass-1", "mass-2"])
    assert [rows[k].status for k in ("mass-0", "mass-1", "mass-2")] == [
        "sent",
        "failed",
        "awaiting_confirmation",
    ]
    assert rows["mass-0"].sent_at == datetime(2025, 3, 8, 10, 5, tzinfo=CST)
    assert "quota" in (rows["mass-1"].error or "")
    assert "mass-2" in cli("deliveries", "--status", "awaiting_confirmation").output
    no_secret_in(result.output)


def test_confirm_with_a_wrong_secret_fails_in_one_line_without_echoing_it(
    workspace: Workspace, wecom: FakeWeCom, cli: Cli
) -> None:
    wire_fake(workspace, wecom)
    wecom.add_chats("zs", ["wrOgA"])
    add_mass_groups(workspace, "zs", ["wrOgA"])
    action = planned("mass-0", group_id="g0", channel="wecom_mass", target="wrOgA", sender="zs")
    dispatch(workspace.session, build_channel("wecom_mass", workspace), [action], now=NOW)
    close_channels()
    wrong = "wrong-secret-value-9876"
    path = workspace.root / "sopflow.toml"
    path.write_text(path.read_text(encoding="utf-8").replace(wecom.corpsecret, wrong), "utf-8")

    result = cli("deliveries", "confirm", ok=False)
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("sop: error:")]
    assert len(errors) == 1 and "gettoken" in errors[0] and "40001" in errors[0]
    assert wrong not in result.output and wrong not in result.stderr
    no_secret_in(result.output, result.stderr)


def test_confirm_without_credentials_names_the_setting(workspace: Workspace, cli: Cli) -> None:
    add_mass_groups(workspace, "zhangsan", ["wrOgA"])
    with workspace.session() as session:
        action = planned("mass-0", group_id="g0", channel="wecom_mass", target="wrOgA")
        claim(session, [action], NOW)
        mark_sending(session, ["mass-0"], NOW)
        record_results(session, [DeliveryResult("mass-0", AWAITING, "msgGAAAA1")], NOW)
        session.commit()
    result = cli("deliveries", "confirm", ok=False)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"sop: error: channel wecom_mass: missing wecom_corp_id, wecom_corp_secret: set"
        f" SOPFLOW_WECOM_CORP_ID or wecom_corp_id and SOPFLOW_WECOM_CORP_SECRET or"
        f" wecom_corp_secret in {workspace.root / 'sopflow.toml'}"
    ]
