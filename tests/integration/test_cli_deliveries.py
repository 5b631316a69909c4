"""`sop deliveries ...` through the real CLI over a ledger filled by real dispatches."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from engine.channels import DeliveryResult, OutboxChannel
from engine.dispatch import dispatch
from engine.groups import add_group
from services.channels import build_channel, close_channels
from services.checklist import CHECKLIST_COLUMNS
from services.workspace import Workspace
from sop_models.actions import PlannedAction
from sopflow.cli import deliveries_cmd, groups_cmd, main
from tests.support.wecom_fake import planned
from tests.support.workspaces import Cli

if "deliveries_cmd" not in main.COMMAND_MODULES:
    deliveries_cmd.register(main.app)
if "groups_cmd" not in main.COMMAND_MODULES:
    groups_cmd.register(main.app)

CST = timezone(timedelta(hours=8))
DAY = datetime(2025, 3, 8, tzinfo=CST)
CHECKIN = "=今天签到 第3天：晒出宝宝辅食照片，抽 3 位送湿巾"


def at(hour: int, minute: int = 0, days: int = 0) -> datetime:
    return DAY + timedelta(days=days, hours=hour, minutes=minute)


class Scripted:
    """A channel that answers every action with one fixed status (failed, unknown)."""

    name = "console"

    def __init__(self, status: str) -> None:
        self.status = status

    def send_batch(self, actions: Sequence[PlannedAction]) -> list[DeliveryResult]:
        error = f"scripted {self.status}"
        return [DeliveryResult(a.key, self.status, error=error) for a in actions]  # type: ignore[arg-type]


def action(key: str, group: str, when: datetime, channel: str, **fields: Any) -> PlannedAction:
    return planned(key, group_id=group, at=when, channel=channel, sop_id="mombaby", **fields)


@pytest.fixture
def filled(workspace: Workspace) -> Iterator[Workspace]:
    """Three groups and seven ledger rows of 8-9 March in every state an operator meets."""
    with workspace.session() as session:
        for gid, name, channel in (
            ("g1", "上海宝妈福利群", "outbox"),
            ("g2", "杭州福利群", "tasklist"),
            ("g3", "北京群", "console"),
        ):
            add_group(session, id=gid, name=name, sop_id="mombaby", channel=channel, now=DAY)
        session.commit()
    send = workspace.session
    outbox = workspace.dir("outbox") / "outbox.jsonl"
    on_time = OutboxChannel(outbox, now=lambda: at(10, 5))
    dispatch(send, on_time, [action("g1-0308-morning", "g1", at(10), "outbox")], now=at(10))
    late = OutboxChannel(outbox, now=lambda: at(22, 30))
    dispatch(send, late, [action("g1-0308-evening", "g1", at(20), "outbox")], now=at(22, 30))
    tasks = [
        action("g2-0308-morning", "g2", at(10), "tasklist", text=CHECKIN),
        action("g2-0309-morning", "g2", at(10, days=1), "tasklist"),
    ]
    dispatch(send, build_channel("tasklist", workspace), tasks, now=at(7))
    stuck = action("g3-0308-noon", "g3", at(12), "console")
    for attempt in range(3):
        dispatch(send, Scripted("failed"), [stuck], now=at(12, attempt))
    dispatch(send, Scripted("unknown"), [action("g3-0308-afternoon", "g3", at(15), "console")],
             now=at(15))  # fmt: skip
    dispatch(send, Scripted("failed"), [action("g3-0308-late", "g3", at(21), "console")],
             now=at(21))  # fmt: skip
    yield workspace
    close_channels()


@pytest.mark.parametrize(
    "path",
    [["deliveries"]]
    + [
        ["deliveries", c]
        for c in ("summary", "attention", "settle", "done", "confirm", "checklist")
    ],
)
def test_delivery_commands_have_help_with_an_example(path: list[str]) -> None:
    result = CliRunner().invoke(main.app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output


def keys(cli: Cli, *args: str) -> list[str]:
    return [row["key"] for row in json.loads(cli("deliveries", *args, "--json").output)]


def rows_by_key(cli: Cli) -> dict[str, dict[str, Any]]:
    return {row["key"]: row for row in json.loads(cli("deliveries", "--json").output)}


def test_listing_is_ordered_by_due_time_and_filters(filled: Workspace, cli: Cli) -> None:
    assert keys(cli) == [
        "g1-0308-morning",
        "g2-0308-morning",
        "g3-0308-noon",
        "g3-0308-afternoon",
        "g1-0308-evening",
        "g3-0308-late",
        "g2-0309-morning",
    ]
    assert keys(cli, "--status", "failed") == ["g3-0308-noon", "g3-0308-late"]
    assert keys(cli, "--group", "g2") == ["g2-0308-morning", "g2-0309-morning"]
    assert keys(cli, "--since", "2025-03-09") == ["g2-0309-morning"]
    assert keys(cli, "--until", "2025-03-08T12:00") == ["g1-0308-morning", "g2-0308-morning"]
    assert keys(cli, "--since", "2025-03-08T04:00Z", "--until", "2025-03-08T13:00+08:00") == [
        "g3-0308-noon"
    ]
    assert "没有投递记录" in cli("deliveries", "--sop", "other").output


def test_listing_table_shows_local_due_time_state_and_notes(filled: Workspace, cli: Cli) -> None:
    lines = cli("deliveries", "--group", "g3").output.splitlines()
    assert lines[0].split() == ["应发时间", "群", "渠道", "状态", "尝试", "键", "备注"]
    assert lines[1].split()[:7] == [
        *("2025-03-08", "12:00", "g3", "console", "failed", "3", "g3-0308-noon")
    ]
    assert lines[1].endswith("scripted failed")
    awaiting = cli("deliveries", "--status", "awaiting_confirmation").output
    assert "tasks-2025-03-08.csv" in awaiting


def test_bad_filters_are_one_line_errors(filled: Workspace, cli: Cli) -> None:
    status = cli("deliveries", "--status", "lost", ok=False)
    assert status.exit_code == 2
    assert status.stderr.strip().startswith("sop: error: --status: 'lost' is not one of pending")
    since = cli("deliveries", "--since", "三月八日", ok=False)
    assert since.stderr.strip().splitlines() == [
        "sop: error: --since: not a date/time: '三月八日'"
        " (e.g. 2026-11-01, 2026-11-01T09:00 or 2026-11-01T09:00+08:00)"
    ]


def test_a_missing_required_option_or_argument_is_named_in_one_line(
    filled: Workspace, cli: Cli
) -> None:
    checklist = cli("deliveries", "checklist", ok=False)
    assert checklist.exit_code == 2
    assert checklist.stderr.strip().splitlines() == ["sop: error: --date: 必填，未提供"]
    shown = cli("show", ok=False)
    assert shown.stderr.strip().splitlines() == ["sop: error: spec: 必填，未提供"]


def test_summary_counts_states_and_lateness_per_group(filled: Workspace, cli: Cli) -> None:
    raw = cli("deliveries", "summary", "--json").output
    assert "上海宝妈福利群" in raw and "\\u" not in raw
    summary = {row["group"]: row for row in json.loads(raw)}
    assert summary["g1"] == {
        **{"group": "g1", "name": "上海宝妈福利群", "planned": 2, "sent": 2, "done": 0},
        **{"failed": 0, "unknown": 0, "awaiting": 0, "pending": 0, "on_time": 1, "late": 1},
        "early": 0,
        "skipped": 0,
    }
    assert (summary["g2"]["planned"], summary["g2"]["awaiting"]) == (2, 2)
    g3 = summary["g3"]
    assert (g3["planned"], g3["failed"], g3["unknown"], g3["sent"]) == (3, 2, 1, 0)

    next_day = json.loads(cli("deliveries", "summary", "--since", "2025-03-09", "--json").output)
    assert [(row["group"], row["planned"]) for row in next_day] == [("g2", 1)]
    lenient = json.loads(cli("deliveries", "summary", "--late-after", "180", "--json").output)
    assert (lenient[0]["on_time"], lenient[0]["late"]) == (2, 0)
    table = cli("deliveries", "summary").output.splitlines()
    assert table[0].split()[:4] == ["群", "群名", "计划", "已发"]
    assert table[1].split()[:4] == ["g1", "上海宝妈福利群", "2", "2"]


def test_done_records_who_and_leaves_sent_rows_alone(filled: Workspace, cli: Cli) -> None:
    result = cli("deliveries", "done", "g3-0308-noon", "g1-0308-morning", "--by", "小王")
    assert "已标记 1 条完成：g3-0308-noon" in result.output
    assert "已发送或已完成，未改动：g1-0308-morning" in result.output
    rows = rows_by_key(cli)
    assert (rows["g3-0308-noon"]["status"], rows["g3-0308-noon"]["done_by"]) == ("done", "小王")
    assert rows["g1-0308-morning"]["status"] == "sent"
    assert rows["g1-0308-morning"]["done_by"] is None
    assert "小王 手动发" in cli("deliveries", "--status", "done").output


def test_done_with_unknown_keys_lists_them_and_changes_nothing(filled: Workspace, cli: Cli) -> None:
    result = cli("deliveries", "done", "g3-0308-afternoon", "nope-1", "nope-2", "--by", "小王",
                 ok=False)  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "sop: error: no delivery with key(s): nope-1, nope-2"
    ]
    assert rows_by_key(cli)["g3-0308-afternoon"]["status"] == "unknown"
    nothing = cli("deliveries", "done", "--by", "小王", ok=False)
    assert "give delivery keys or --from CHECKLIST.csv" in nothing.stderr


def test_done_from_a_ticked_task_list_uses_its_done_by(filled: Workspace, cli: Cli) -> None:
    path = filled.root / "tasks" / "tasks-2025-03-08.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    rows[0].update(done="✓", done_by="小李")
    ticked = filled.root / "ticked.csv"
    with ticked.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert (
        "已标记 1 条完成：g2-0308-morning"
        in cli("deliveries", "done", "--from", str(ticked), "--by", "组长").output
    )
    row = rows_by_key(cli)["g2-0308-morning"]
    assert (row["status"], row["done_by"]) == ("done", "小李")

    not_a_checklist = filled.root / "other.csv"
    not_a_checklist.write_text("a,b\n1,2\n", encoding="utf-8")
    bad = cli("deliveries", "done", "--from", str(not_a_checklist), "--by", "组长", ok=False)
    assert bad.exit_code == 2
    assert f"sop: error: {not_a_checklist}: not a checklist CSV" in bad.stderr


def test_checklist_lists_only_what_needs_a_person_that_day(filled: Workspace, cli: Cli) -> None:
    text = cli("deliveries", "checklist", "--date", "2025-03-08").output
    lines = text.splitlines()
    assert lines[0] == "# 待办清单 2025-03-08（3）"
    items = [line for line in lines if line.startswith("- [ ]")]
    assert [item.rsplit("`", 2)[1] for item in items] == [
        "g2-0308-morning",
        "g3-0308-noon",
        "g3-0308-afternoon",
    ]
    assert items[0].startswith("- [ ] **10:00** columns.morning · 杭州福利群 (g2) · 手动发送")
    assert f"  > {CHECKIN}" in lines  # the text comes from the task list, exactly
    assert "手动补发" in items[1] and "核实是否已发出" in items[2]

    cli("deliveries", "done", "g2-0308-morning", "--by", "小李")
    again = cli("deliveries", "checklist", "--date", "2025-03-08").output
    assert "g2-0308-morning" not in again and "（2）" in again
    empty = cli("deliveries", "checklist", "--date", "2025-03-10").output
    assert "今日无手动待办" in empty


def test_checklist_csv_file_opens_in_excel_with_chinese_and_no_formulas(
    filled: Workspace, cli: Cli, tmp_path: Path
) -> None:
    out = tmp_path / "待办-0308.csv"
    result = cli(
        "deliveries", "checklist", "--date", "2025-03-08", "--format", "csv", "-o", str(out)
    )
    assert f"已写入 3 项到 {out}" in result.output
    raw = out.read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert list(rows[0]) == list(CHECKLIST_COLUMNS)
    first = rows[0]
    assert (first["group"], first["group_name"], first["time"]) == ("g2", "杭州福利群", "10:00")
    assert first["text"] == "'" + CHECKIN  # Excel shows it as text, never runs it
    assert [row["key"] for row in rows] == ["g2-0308-morning", "g3-0308-noon", "g3-0308-afternoon"]
    printed = cli("deliveries", "checklist", "--date", "2025-03-08", "--format", "csv").output
    assert printed.splitlines()[0] == ",".join(CHECKLIST_COLUMNS)

    rows[1].update(done="x")  # the operator ticks one row and feeds the file back
    with out.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CHECKLIST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    cli("deliveries", "done", "--from", str(out), "--by", "小王")
    row = rows_by_key(cli)["g3-0308-noon"]
    assert (row["status"], row["done_by"]) == ("done", "小王")
    assert rows_by_key(cli)["g2-0308-morning"]["status"] == "awaiting_confirmation"


def test_checklist_refuses_bad_date_and_format(filled: Workspace, cli: Cli) -> None:
    bad_date = cli("deliveries", "checklist", "--date", "2025/03/08", ok=False)
    assert bad_date.stderr.strip() == "sop: error: --date: not a date: '2025/03/08' (YYYY-MM-DD)"
    bad_format = cli(
        "deliveries", "checklist", "--date", "2025-03-08", "--format", "xlsx", ok=False
    )
    assert bad_format.stderr.strip() == "sop: error: --format: 'xlsx' is not one of 'md', 'csv'."


def test_confirm_with_nothing_awaiting_needs_no_credentials(filled: Workspace, cli: Cli) -> None:
    assert "没有待确认的群发" in cli("deliveries", "confirm").output


def test_attention_lists_unclear_fates_with_the_step_to_take(filled: Workspace, cli: Cli) -> None:
    listed = cli("deliveries", "attention", "--json", ok=False)
    assert listed.exit_code == 1  # something needs a person
    items = {item["key"]: item for item in json.loads(listed.output)}
    assert sorted(items) == ["g2-0308-morning", "g2-0309-morning", "g3-0308-afternoon"]
    assert items["g3-0308-afternoon"]["status"] == "unknown"
    assert "sop deliveries settle KEY sent|not-sent" in items["g3-0308-afternoon"]["action"]
    assert "sop deliveries confirm" in items["g2-0308-morning"]["action"]
    table = cli("deliveries", "attention", ok=False).output
    assert "g3-0308-afternoon" in table and "待办" in table


def test_listing_summary_and_attention_are_in_english_when_the_language_is_english(
    filled: Workspace, cli: Cli
) -> None:
    config = filled.root / "sopflow.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\nlanguage = "en"\n', "utf-8")
    lines = cli("deliveries", "--group", "g3").output.splitlines()
    assert lines[0].split() == ["due", "group", "channel", "status", "tries", "key", "note"]
    assert cli("deliveries", "--sop", "other").output.strip() == "no deliveries"
    table = cli("deliveries", "summary").output.splitlines()
    assert table[0].split() == [
        *("group", "name", "planned", "sent", "done", "failed", "unknown", "awaiting"),
        *("pending", "skipped", "on", "time", "late", "early"),
    ]
    attention = cli("deliveries", "attention", ok=False).output
    assert attention.splitlines()[0].split()[-1] == "do"  # the "to do" column
    assert "check the channel, then: sop deliveries settle KEY sent|not-sent" in attention
    assert "no mass sends awaiting confirmation" in cli("deliveries", "confirm").output


def test_settle_records_the_operators_verdict_in_the_audit_chain(
    filled: Workspace, cli: Cli
) -> None:
    out = cli("deliveries", "settle", "g3-0308-afternoon", "sent", "--by", "小王").output
    assert "g3-0308-afternoon：sent（由 小王 核定，已记入审计链）" in out
    back = cli("deliveries", "settle", "g2-0309-morning", "not-sent", "--by", "小王").output
    assert "g2-0309-morning：pending（由 小王 核定" in back
    rows = rows_by_key(cli)
    assert rows["g3-0308-afternoon"]["status"] == "sent"
    assert rows["g2-0309-morning"]["status"] == "pending"  # the next run sends it
    records = json.loads(cli("audit", "--action", "delivery_settle", "--json").output)
    assert [(r["actor"], r["sop_id"], r["note"]) for r in records] == [
        ("小王", "mombaby", "g3-0308-afternoon: unknown -> sent (settled by hand)"),
        ("小王", "mombaby", "g2-0309-morning: awaiting_confirmation -> not-sent (settled by hand)"),
    ]
    assert "intact" in cli("audit", "verify").output
    left = json.loads(cli("deliveries", "attention", "--json", ok=False).output)
    assert [item["key"] for item in left] == ["g2-0308-morning"]


def test_settle_refuses_rows_whose_fate_is_known_in_one_line(filled: Workspace, cli: Cli) -> None:
    for args, expected in (
        (("g1-0308-morning", "sent"), "g1-0308-morning: is sent; only unknown"),
        (("g3-0308-afternoon", "maybe"), "OUTCOME: 'maybe' is not one of sent, not-sent"),
        (("ghost", "sent"), "ghost"),
    ):
        result = cli("deliveries", "settle", *args, "--by", "小王", ok=False)
        assert result.exit_code == 2
        assert result.stderr.startswith("sop: error: ") and expected in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert json.loads(cli("audit", "--action", "delivery_settle", "--json").output) == []
