"""Channels without a server: console, outbox file, hand-posted task lists."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

from engine.channels import (
    AWAITING,
    SENT,
    UNKNOWN,
    Channel,
    ConsoleChannel,
    OutboxChannel,
    RobotWebhookChannel,
    TaskListChannel,
    WeComMassSendChannel,
)
from engine.channels.outbox import read_outbox
from engine.channels.tasklist import CSV_COLUMNS, done_keys
from engine.wecom.client import WeComClient
from tests.support.wecom_fake import CST, planned

NOW = datetime(2025, 3, 8, 9, 30, tzinfo=CST)
WELCOME = "欢迎加入宝妈福利群！\n群公告在置顶，每天 20:00 发福利。"


def clock() -> datetime:
    return NOW


def test_every_channel_implements_the_channel_protocol(tmp_path: Path) -> None:
    client = WeComClient(corpid="ww", corpsecret="secret-value", base_url="http://127.0.0.1:9/")
    channels = [
        ConsoleChannel(io.StringIO()),
        OutboxChannel(tmp_path / "outbox.jsonl"),
        TaskListChannel(tmp_path),
        RobotWebhookChannel({"r": "robot-key-value"}),
        WeComMassSendChannel(client),
    ]
    assert all(isinstance(c, Channel) for c in channels)
    assert [c.name for c in channels] == ["console", "outbox", "tasklist", "robot", "wecom_mass"]


def test_console_prints_chinese_text_intact_and_reports_sent() -> None:
    stream = io.StringIO()
    actions = [planned("k1"), planned("k2", text=WELCOME, kind="welcome", member_id="m-9")]
    results = ConsoleChannel(stream, now=clock).send_batch(actions)
    out = stream.getvalue()
    assert "早上好！今天的育儿干货" in out
    assert "   群公告在置顶，每天 20:00 发福利。" in out
    assert "2025-03-08 10:00 +0800" in out and "member m-9" in out
    assert [(r.key, r.status, r.sent_at) for r in results] == [("k1", SENT, NOW), ("k2", SENT, NOW)]


def test_outbox_lines_are_json_with_chinese_intact_and_shanghai_times(tmp_path: Path) -> None:
    path = tmp_path / "out" / "outbox.jsonl"
    utc_time = datetime(2025, 3, 8, 12, 0, tzinfo=UTC)
    actions = [planned("k1"), planned("k2", text=WELCOME, at=utc_time, extra={"note": "备注"})]
    results = OutboxChannel(path, now=clock).send_batch(actions)
    raw = path.read_text(encoding="utf-8")
    assert "\\u" not in raw and "早上好" in raw
    lines = [json.loads(line) for line in raw.splitlines()]
    assert [line["key"] for line in lines] == ["k1", "k2"]
    assert lines[0]["at"] == "2025-03-08T10:00:00+08:00"
    assert lines[1]["at"] == "2025-03-08T20:00:00+08:00"
    assert lines[1]["text"] == WELCOME and lines[1]["extra"] == {"note": "备注"}
    assert lines[0]["group"] == "g-001" and lines[0]["kind"] == "column"
    assert [(r.status, r.response_id) for r in results] == [(SENT, "outbox.jsonl")] * 2


def test_outbox_reconcile_tells_written_from_lost_keys_after_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "outbox.jsonl"
    channel = OutboxChannel(path, now=clock)
    channel.send_batch([planned("k1")])
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"key": "k2", "text": "写到一半')  # a crash mid-line
    channel.send_batch([planned("k3")])
    assert [r["key"] for r in read_outbox(path)] == ["k1", "k3"]
    assert channel.reconcile(["k1", "k2", "k3"]) == {"k1": SENT, "k2": "not_sent", "k3": SENT}


def test_outbox_write_failure_reports_unknown_not_sent(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    results = OutboxChannel(blocker / "outbox.jsonl").send_batch([planned("k1")])
    assert results[0].status == UNKNOWN and "outbox" in (results[0].error or "")


def test_task_list_writes_excel_friendly_csv_and_markdown_checklists(tmp_path: Path) -> None:
    channel = TaskListChannel(tmp_path, now=clock)
    first = [planned("k2", at=datetime(2025, 3, 8, 20, 0, tzinfo=CST)), planned("k1")]
    results = channel.send_batch(first)
    channel.send_batch([planned("k3", text=WELCOME, group_id="g-002", target="宝妈2群")])
    csv_path, md_path = channel.paths_for(datetime(2025, 3, 8).date())
    assert [(r.key, r.status, r.response_id) for r in results] == [
        ("k2", AWAITING, "tasks-2025-03-08.csv"),
        ("k1", AWAITING, "tasks-2025-03-08.csv"),
    ]
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["key"], r["time"]) for r in rows] == [
        ("k1", "10:00"),
        ("k2", "20:00"),
        ("k3", "10:00"),
    ]
    assert rows[2]["text"] == WELCOME and rows[2]["target"] == "宝妈2群"
    markdown = md_path.read_text(encoding="utf-8")
    assert markdown.count("# 待办清单 2025-03-08") == 1
    assert "- [ ] **10:00** 群 g-002 → 宝妈2群 · column / columns.morning · `k3`" in markdown
    assert "  > 欢迎加入宝妈福利群！\n  > 群公告在置顶，每天 20:00 发福利。" in markdown


def test_task_list_keeps_internal_tasks_out_of_the_posts_in_their_own_files(
    tmp_path: Path,
) -> None:
    channel = TaskListChannel(tmp_path, now=clock)
    rfm = planned("k-rfm", kind="rfm", slot="rfm.month_end", text="导出本月 RFM 分层名单")
    results = channel.send_batch([planned("k1"), rfm])
    day = datetime(2025, 3, 8).date()
    posts_csv, posts_md = channel.paths_for(day)
    tasks_csv, tasks_md = channel.paths_for(day, internal=True)
    assert [(r.key, r.response_id) for r in results] == [
        ("k1", "tasks-2025-03-08.csv"),
        ("k-rfm", "tasks-2025-03-08-internal.csv"),
    ]
    assert "k-rfm" not in posts_csv.read_text(encoding="utf-8-sig")
    assert "RFM" not in posts_md.read_text(encoding="utf-8")
    with tasks_csv.open(encoding="utf-8-sig", newline="") as handle:
        assert [r["key"] for r in csv.DictReader(handle)] == ["k-rfm"]
    internal = tasks_md.read_text(encoding="utf-8")
    assert "## 内部任务 — 勿发到客户群" in internal and "导出本月 RFM 分层名单" in internal


def test_task_list_done_marks_are_read_back_by_key(tmp_path: Path) -> None:
    channel = TaskListChannel(tmp_path, now=clock)
    channel.send_batch([planned("k1"), planned("k2")])
    csv_path, _ = channel.paths_for(datetime(2025, 3, 8).date())
    text = csv_path.read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    rows[1].update(done="✓", done_by="小王")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    csv_path.write_text(buffer.getvalue(), encoding="utf-8-sig")  # as Excel saves it
    assert done_keys(csv_path) == {"k2": "小王"}


def test_task_list_csv_cells_cannot_run_as_excel_formulas(tmp_path: Path) -> None:
    channel = TaskListChannel(tmp_path, now=clock)
    channel.send_batch(
        [planned("k1", text='=HYPERLINK("http://x")'), planned("k2", text="-满200减30")]
    )
    csv_path, md_path = channel.paths_for(datetime(2025, 3, 8).date())
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    assert texts == ['\'=HYPERLINK("http://x")', "'-满200减30"]
    assert "  > -满200减30" in md_path.read_text(encoding="utf-8")
