"""Month-end RFM member lists from imported events: `sop members segments` and `sop today`."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from services.workspace import Workspace
from tests.support.workspaces import Cli, in_production

SOP = "mombaby-refined"
DAY = date(2026, 9, 30)  # the month's end: the RFM task's day


def generated(tmp_path: Path) -> Path:
    """Per group: 2 loyal members (3 recent orders + a referral), 1 lapsed (orders 4 months
    ago), n_low who ordered once; g2 has more of each so the counts differ by group."""
    rows = ["group,member,time,event,value"]

    def add(group: str, member: str, day: date, event: str, value: str = "") -> None:
        rows.append(f"{group},{member},{day.isoformat()}T10:00:00+08:00,{event},{value}")

    for group, n_low in (("g1", 1), ("g2", 3)):
        for k in range(2):
            for back in (3, 12, 25):
                add(group, f"{group}-loyal-{k}", DAY - timedelta(back), "order", "99")
            add(group, f"{group}-loyal-{k}", DAY - timedelta(5), "referral")
        for back in (120, 130):
            add(group, f"{group}-lapsed", DAY - timedelta(back), "order", "59")
        for k in range(n_low):
            add(group, f"{group}-once-{k}", DAY - timedelta(40), "order", "19.9")
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def loaded(workspace: Workspace, cli: Cli, tmp_path: Path) -> Workspace:
    in_production(workspace, SOP, now=datetime(2026, 9, 1, tzinfo=UTC))
    cli("groups", "add", "g1", "--name", "上海宝妈福利群", "--sop", SOP,
        "--channel", "tasklist", "--owner", "小王")  # fmt: skip
    cli("groups", "add", "g2", "--name", "杭州群", "--sop", SOP, "--owner", "小李")
    cli("events", "import", str(generated(tmp_path)))
    return workspace


def test_segments_writes_the_member_lists_with_known_members_per_segment(
    loaded: Workspace, cli: Cli, tmp_path: Path
) -> None:
    out = tmp_path / "名单.csv"
    text = cli("members", "segments", SOP, "--date", DAY.isoformat(), "--csv", str(out)).output
    assert "忠诚用户: 4\n需求型用户: 2\n低需求用户: 4\n" in text
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_segment: dict[str, set[str]] = {}
    for row in rows:
        by_segment.setdefault(row["segment_name"], set()).add(row["member"])
    assert by_segment == {
        "忠诚用户": {"g1-loyal-0", "g1-loyal-1", "g2-loyal-0", "g2-loyal-1"},
        "需求型用户": {"g1-lapsed", "g2-lapsed"},
        "低需求用户": {"g1-once-0", "g2-once-0", "g2-once-1", "g2-once-2"},
    }
    loyal = next(r for r in rows if r["member"] == "g1-loyal-0")
    assert (loyal["group"], loyal["recency_days"], loyal["orders"], loyal["amount"]) == (
        "g1", "3", "3", "297.00",
    )  # fmt: skip


def test_today_shows_the_rfm_task_with_counts_apart_from_the_posts(
    loaded: Workspace, cli: Cli
) -> None:
    day = json.loads(cli("today", "--date", DAY.isoformat(), "--json").output)
    tasks = {t["group_id"]: t["text"] for t in day["internal"] if t["kind"] == "rfm"}
    assert "分层名单：忠诚用户 2 · 需求型用户 1 · 低需求用户 1" in tasks["g1"]
    assert "分层名单：忠诚用户 2 · 需求型用户 1 · 低需求用户 3" in tasks["g2"]
    assert not any("分层名单" in p["text"] or p["kind"] == "rfm" for p in day["posts"])
    text = cli("today", "--date", DAY.isoformat()).output
    assert text.index("## 内部任务") < text.index("忠诚用户 2 · 需求型用户 1 · 低需求用户 3")


def test_segments_of_an_sop_without_an_rfm_task_is_one_line(loaded: Workspace, cli: Cli) -> None:
    in_production(loaded, "flash-sale-promo", now=datetime(2026, 9, 1, tzinfo=UTC))
    result = cli("members", "segments", "flash-sale-promo", "--date", "2026-09-30", ok=False)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "sop: error: flash-sale-promo 1.0 has no playbooks.mature.rfm: no segments to list"
    ]
