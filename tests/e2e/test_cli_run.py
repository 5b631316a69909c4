"""`sop run`, `sop serve`, `sop paused` and `sop decline` through the real CLI.

Commands that run flows request `prefect_server`: PREFECT_API_URL then points at the session's
real server and `prefect_for` uses it. Ephemeral mode is never entered in this session (its
environment switch would redirect the session server's clients), so the tests that need no
server only exercise errors raised before any Prefect call.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect import flow, get_client

from engine.channels.outbox import read_outbox
from engine.ledger import list_deliveries
from flows.approval import decline_run, paused_runs, wait_for_approval
from flows.runtime import PrefectServer
from services import playbooks
from services.playbooks import SHANGHAI
from services.workspace import Workspace
from tests.support.waiting import wait_until
from tests.support.workspaces import EXAMPLES, Cli

SOP = "mombaby-refined"
DAY = date(2026, 9, 8)
GROUPS = ("sh-01", "hz-01")
DEPLOYMENTS = {
    "welcome/welcome-every-5-min": "*/5 * * * *",
    "campaign/campaign-1900": "0 19 * * *",
    "campaign/campaign-2000": "0 20 * * *",
    "campaign/campaign-2100": "0 21 * * *",
    "cold_start/cold_start-1900": "0 19 * * *",  # mombaby day2-member-perk
    "cold_start/cold_start-0930": "30 9 * * *",
    "cold_start/cold_start-2000": "0 20 * * *",
    "cold_start/cold_start-2030": "30 20 * * *",
    "mature_day/mature_day-1000": "0 10 * * *",
    "mature_day/mature_day-1500": "0 15 * * *",
    "mature_day/mature_day-1930": "30 19 * * *",
    "mature_day/mature_day-2000": "0 20 * * *",
    "mature_day/mature_day-2030": "30 20 * * *",
    "mature_day/mature_day-2100": "0 21 * * *",
}


@flow(name="e2e-cli-paused")
def waits_for_a_decision() -> bool:
    return wait_for_approval(
        description_md="## 新促活文案", timeout_s=60, poll_interval_s=1
    ).approved


@pytest.fixture
def ready(cli: Cli) -> Cli:
    """The example saved by one person, promoted by another, two mature groups on `outbox`."""
    cli("save", str(EXAMPLES / f"{SOP}.yaml"), "--author", "运营小王", "-m", "首版 SOP")
    cli("promote", SOP, "1.0", "--approver", "李经理")
    for group in GROUPS:
        cli(
            "groups",
            "add",
            group,
            "--name",
            f"宝妈成长营{group}群",
            "--sop",
            SOP,
            "--channel",
            "outbox",
            "--target",
            group,
            "--start-date",
            "2026-08-01",
            "--members",
            "150",
        )
    return cli


def outbox_lines(root: Path) -> list[dict[str, Any]]:
    return [r for path in sorted((root / "outbox").glob("*.jsonl")) for r in read_outbox(path)]


def day_ledger(ws: Workspace) -> list[tuple[str, str]]:
    start = datetime.combine(DAY, clock(0), SHANGHAI)
    with ws.session() as session:
        rows = list_deliveries(session, since=start, until=start + timedelta(days=1))
    return sorted((r.key, r.status) for r in rows)


def one_error_line(result: Any) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sop: error: "), result.stderr
    return lines[0]


def totals_line(output: str) -> str:
    """The `已发 …` (sent …) line of `sop run`'s text output."""
    return next(line.strip() for line in output.splitlines() if line.startswith("  已发 "))


@pytest.mark.e2e
def test_run_dry_run_lists_the_plan_and_sends_nothing(
    prefect_server: PrefectServer, ready: Cli, workspace: Workspace
) -> None:
    result = ready(
        "run", "mature_day", "--date", DAY.isoformat(), "--dry-run", "--catch-up", "--json"
    )

    summary = json.loads(result.stdout)
    planned = playbooks.plan_day(workspace, playbook="mature_day", day=DAY).actions
    assert summary["prefect"] == f"Prefect 服务器 {prefect_server.api_url}"
    assert (summary["dry_run"], summary["planned"], summary["batches"]) == (True, 6, 3)
    assert [a["key"] for a in summary["actions"]] == [a.key for a in planned]
    assert {(a["group"], a["at"][11:16]) for a in summary["actions"]} == {
        (g, t) for g in GROUPS for t in ("10:00", "15:00", "20:00")
    }
    assert all(a["due"] for a in summary["actions"])  # a past day caught up: everything was due
    assert summary["totals"]["sent"] == 0 and summary["attention"] == []
    assert summary["versions"] == {"1.0": len(GROUPS)}
    assert day_ledger(workspace) == []
    assert outbox_lines(workspace.root) == []


@pytest.mark.e2e
def test_run_before_the_first_post_sends_nothing(
    prefect_server: PrefectServer, ready: Cli, workspace: Workspace
) -> None:
    result = ready("run", "mature_day", "--date", DAY.isoformat(), "--until", "07:33")
    summary = json.loads(
        ready("run", "mature_day", "--date", DAY.isoformat(), "--until", "07:33", "--json").stdout
    )

    assert result.stdout.splitlines()[0].endswith("：0 条，共 0 批")
    assert "  07:33 尚未到点：6 条，留给各自的定时运行" in result.stdout
    assert totals_line(result.stdout).startswith("已发 0，失败 0")
    assert (summary["planned"], summary["later"], summary["totals"]["sent"]) == (0, 6, 0)
    assert summary["now"].startswith(f"{DAY.isoformat()}T07:33")
    assert day_ledger(workspace) == []
    assert outbox_lines(workspace.root) == []


@pytest.mark.e2e
def test_the_run_summary_is_in_english_when_the_workspace_says_so(
    prefect_server: PrefectServer, ready: Cli, workspace: Workspace
) -> None:
    config = workspace.root / "sopflow.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\nlanguage = "en"\n', "utf-8")
    result = ready("run", "mature_day", "--date", DAY.isoformat(), "--until", "07:33")

    assert result.stdout.splitlines()[0].endswith(": 0 action(s) in 0 batch(es)")
    assert "  not due yet at 07:33: 6 action(s), left to their scheduled runs" in result.stdout
    assert "  sent 0, failed 0, unknown 0, awaiting confirmation 0, already sent before 0" in (
        result.stdout
    )


@pytest.mark.e2e
def test_run_until_1005_sends_the_1000_posts_only(
    prefect_server: PrefectServer, ready: Cli, workspace: Workspace
) -> None:
    ready("run", "mature_day", "--date", DAY.isoformat(), "--until", "10:05")

    assert sorted((line["group"], line["at"][11:16]) for line in outbox_lines(workspace.root)) == [
        (group, "10:00") for group in sorted(GROUPS)
    ]
    assert [status for _, status in day_ledger(workspace)] == ["sent"] * len(GROUPS)


@pytest.mark.e2e
def test_run_sends_the_day_once_and_a_rerun_sends_nothing_new(
    prefect_server: PrefectServer, ready: Cli, workspace: Workspace
) -> None:
    missed = ready("run", "mature_day", "--date", DAY.isoformat())
    assert outbox_lines(workspace.root) == []
    assert "  已错过：6 条在 " in missed.stdout and " 之前超过 120 分钟到点" in missed.stdout
    first = ready("run", "mature_day", "--date", DAY.isoformat(), "--catch-up")
    sent = outbox_lines(workspace.root)
    second = ready("run", "mature_day", "--date", DAY.isoformat(), "--catch-up")

    assert first.stdout.startswith(
        f"mature_day {DAY}（Prefect 服务器 {prefect_server.api_url}）：6 条，共 3 批"
    )
    assert totals_line(first.stdout) == "已发 6，失败 0，未知 0，待确认 0，此前已发 0"
    assert "需处理" not in first.stdout
    assert f"  迟发：6 条晚于计划时间发出（最早应发 {DAY} 10:00，实发 " in first.stdout
    planned = playbooks.plan_day(workspace, playbook="mature_day", day=DAY).actions
    assert sorted(line["key"] for line in sent) == sorted(a.key for a in planned)
    assert day_ledger(workspace) == sorted((a.key, "sent") for a in planned)
    assert totals_line(second.stdout) == "已发 0，失败 0，未知 0，待确认 0，此前已发 6"
    assert outbox_lines(workspace.root) == sent


def test_run_refuses_an_unknown_playbook_in_one_line(cli: Cli) -> None:
    line = one_error_line(cli("run", "weekly_magic", "--date", DAY.isoformat(), ok=False))

    assert line == (
        "sop: error: unknown playbook 'weekly_magic'; "
        "choose one of all, campaign, cold_start, mature_day, welcome"
    )


def test_run_refuses_a_bad_date_in_one_line(cli: Cli) -> None:
    line = one_error_line(cli("run", "mature_day", "--date", "2026-13-01", ok=False))

    assert line == "sop: error: --date: not a date: '2026-13-01' (YYYY-MM-DD)"


def test_run_refuses_a_future_day_in_one_line_suggesting_a_dry_run(cli: Cli) -> None:
    line = one_error_line(cli("run", "mature_day", "--date", "2099-01-01", ok=False))

    assert line == (
        "sop: error: 2099-01-01 is a future day: a run sends only what is due, and nothing is "
        "due yet; use --dry-run to see its plan"
    )


def test_run_refuses_a_bad_until_in_one_line(cli: Cli) -> None:
    line = one_error_line(cli("run", "mature_day", "--until", "7h33", ok=False))

    assert line == "sop: error: --until: not a time: '7h33' (HH:MM)"


def test_serve_without_a_server_refuses_in_one_line(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only os.environ changes (monkeypatch restores it after this test); Prefect's global
    # settings are not refreshed and `sop serve` refuses before any Prefect call, so this
    # cannot redirect the session server's clients.
    monkeypatch.delenv("PREFECT_API_URL", raising=False)

    line = one_error_line(cli("serve", ok=False))

    assert "schedules do not fire in Prefect's ephemeral mode" in line
    assert "PREFECT_API_URL" in line


@pytest.mark.e2e
def test_serve_register_only_creates_shanghai_cron_deployments(
    prefect_server: PrefectServer, ready: Cli, workspace: Workspace
) -> None:
    result = ready("serve", "--register-only")

    printed = dict(re.findall(r"^registered (\S+)\s.*\bid (\S+)$", result.stdout, re.MULTILINE))
    assert set(printed) == set(DEPLOYMENTS)
    with get_client(sync_client=True) as client:
        for name, cron in DEPLOYMENTS.items():
            stored = client.read_deployment_by_name(name)
            [schedule] = stored.schedules
            assert str(stored.id) == printed[name]
            assert (schedule.schedule.cron, schedule.schedule.timezone) == (cron, "Asia/Shanghai")
            assert stored.parameters["workspace"] == str(workspace.root)


@pytest.mark.e2e
def test_paused_lists_a_waiting_run_until_it_is_declined(
    prefect_server: PrefectServer, cli: Cli
) -> None:
    def listed() -> list[str]:
        return [r["id"] for r in json.loads(cli("paused", "--json").stdout)]

    before = listed()
    assert set(before) == {str(r.id) for r in paused_runs()}
    assert ("no paused runs" in cli("paused").stdout) == (not before)
    outcome: list[Any] = []
    worker = threading.Thread(target=lambda: outcome.append(waits_for_a_decision()))
    worker.start()
    try:
        run_id = wait_until(
            lambda: next((i for i in listed() if i not in before), None),
            what="`sop paused` to list the waiting run",
        )
        text = cli("paused").stdout
        assert re.search(rf"^{run_id}  e2e-cli-paused  \S+  paused since ", text, re.MULTILINE)
        # `sop decline` is for check runs: this one is refused before it is resumed ...
        refused = cli("decline", run_id, "--approver", "李经理", "--reason", "文案太长", ok=False)
        assert one_error_line(refused) == (
            f"sop: error: flow run {run_id} is a 'e2e-cli-paused' run, not a check run"
        )
        assert run_id in listed() and not outcome
        decline_run(run_id, "李经理", "文案太长")  # ... and declined through the flows API
    finally:
        worker.join(60)

    assert outcome == [False]
    after = listed()
    assert run_id not in after
    assert ("no paused runs" in cli("paused").stdout) == (not after)
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(UUID(run_id)).state_type.value == "COMPLETED"


@pytest.mark.e2e
def test_approve_refuses_a_malformed_run_id_in_one_line(
    prefect_server: PrefectServer, cli: Cli
) -> None:
    line = one_error_line(cli("approve", "run-42", "--approver", "李经理", ok=False))

    assert line == "sop: error: 'run-42' is not a flow run id"


@pytest.mark.e2e
def test_approve_refuses_a_run_that_does_not_exist_in_one_line(
    prefect_server: PrefectServer, cli: Cli
) -> None:
    missing = "0b6c7c3e-0000-4000-8000-000000000000"

    line = one_error_line(cli("approve", missing, "--approver", "李经理", ok=False))

    assert line == f"sop: error: flow run {missing} does not exist"
