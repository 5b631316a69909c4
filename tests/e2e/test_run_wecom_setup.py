"""`sop run` with WeCom mass sends checks WeCom's setup first: a setup error stops the run in
one line naming the setting, before anything is claimed. Against the strict fake WeCom."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from engine.ledger import list_deliveries
from engine.wecom.groupmsg import ADD_MSG_TEMPLATE
from flows.runtime import PrefectServer
from services.channels import close_channels
from services.workspace import Workspace
from tests.support.wecom_fake import FakeWeCom
from tests.support.workspaces import EXAMPLES, Cli

SOP = "mombaby-refined"
DAY = date(2026, 9, 8)  # a Tuesday, a workday: three posts per group


@pytest.fixture
def wecom() -> Iterator[FakeWeCom]:
    with FakeWeCom() as fake:
        fake.add_chats("zhangsan", ["wr-1"])
        yield fake
    close_channels()


@pytest.mark.e2e
def test_a_wecom_setup_error_stops_the_run_in_one_line_and_nothing_is_sent(
    prefect_server: PrefectServer, cli: Cli, workspace: Workspace, wecom: FakeWeCom
) -> None:
    path = workspace.root / "sopflow.toml"
    path.write_text(
        path.read_text(encoding="utf-8") + wecom.settings_toml(),
        encoding="utf-8",
    )
    cli("save", str(EXAMPLES / f"{SOP}.yaml"), "--author", "运营小王", "-m", "首版 SOP")
    cli("promote", SOP, "1.0", "--approver", "李经理")
    cli("groups", "add", "sh-01", "--name", "宝妈成长营上海群", "--sop", SOP,
        "--channel", "wecom_mass", "--sender", "zhangsan", "--target", "wr-1",
        "--start-date", "2026-08-01")  # fmt: skip
    wecom.misconfigure(40001)  # the secret is wrong

    result = cli("run", "mature_day", "--date", DAY.isoformat(), "--catch-up", ok=False)

    assert result.exit_code != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sop: error: "), result.stderr
    assert "wecom_corp_secret" in lines[0] and wecom.corpsecret not in lines[0]
    assert wecom.calls(ADD_MSG_TEMPLATE) == []
    with workspace.session() as session:
        assert list_deliveries(session) == []  # nothing claimed, nothing marked sent
