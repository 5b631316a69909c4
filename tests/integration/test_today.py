"""`sop today` and `sop deliveries checklist|done` built from the plan, before any run."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from engine.channels import DeliveryResult
from engine.dispatch import dispatch
from services.today import day_actions
from services.workspace import Workspace
from sop_models.actions import PlannedAction
from sopflow.cli import main
from tests.support.workspaces import Cli, in_production

DAY = "2026-09-30"  # a workday and the month's end (the RFM task's day); nothing was run
AHEAD = "2026-12-31"  # the same, still ahead when this was written
SAVED = datetime(2026, 9, 1, tzinfo=UTC)
MORNING = "g1:columns.morning-knowledge:2026-09-30"


@pytest.fixture
def planned(workspace: Workspace, cli: Cli) -> Workspace:
    """mombaby-refined in production; g1 is posted by hand (小王), g2 by the console (小李)."""
    in_production(workspace, "mombaby-refined", now=SAVED)
    cli("groups", "add", "g1", "--name", "上海宝妈福利群", "--sop", "mombaby-refined",
        "--channel", "tasklist", "--owner", "小王")  # fmt: skip
    cli("groups", "add", "g2", "--name", "杭州群", "--sop", "mombaby-refined", "--owner", "小李")
    return workspace


def today(cli: Cli, *args: str) -> dict[str, Any]:
    return json.loads(cli("today", "--date", DAY, *args, "--json").output)


def test_today_lists_a_future_days_hand_posts_with_names_and_texts_and_tasks_apart(
    planned: Workspace, cli: Cli
) -> None:
    day = today(cli)
    posts = [(p["post"], p["group_name"], p["owner"], p["short_key"]) for p in day["posts"]]
    assert posts == [
        ("育儿干货", "上海宝妈福利群", "小王", MORNING),
        ("妈妈话题", "上海宝妈福利群", "小王", "g1:columns.afternoon-topic:2026-09-30"),
        ("晚间福利", "上海宝妈福利群", "小王", "g1:columns.evening-welfare:2026-09-30"),
    ]
    # mombaby's content calendar rotates the 10:00 article: 09-30 gets the eczema piece
    assert day["posts"][0]["text"].startswith("**今日育儿干货｜宝宝湿疹护理的 3 个误区**")
    assert all(p["status"] == "open" for p in day["posts"])
    internal = [(t["post"], t["group_id"], t["kind"]) for t in day["internal"]]
    assert internal == [("月末 RFM 分层", "g1", "rfm"), ("月末 RFM 分层", "g2", "rfm")]
    assert not any(p["kind"] == "rfm" for p in day["posts"])
    assert day["automatic"] == 3  # g2's three columns go out through its console channel
    assert [t["group_id"] for t in today(cli, "--owner", "小李")["internal"]] == ["g2"]
    assert today(cli, "--owner", "小李")["posts"] == []

    text = cli("today", "--date", DAY).output
    posts_at, tasks_at = text.index("## 手动发送"), text.index("## 内部任务")
    assert posts_at < text.index("育儿干货 · 上海宝妈福利群 (g1) · 群主 小王") < tasks_at
    assert text.index("月末 RFM 分层 · 杭州群 (g2)") > tasks_at


def test_checklist_needs_no_run_and_keeps_internal_tasks_out_of_the_posts(
    planned: Workspace, cli: Cli
) -> None:
    text = cli("deliveries", "checklist", "--date", AHEAD).output
    assert text.splitlines()[0] == f"# 待办清单 {AHEAD}（5）"
    posts, internal = text.split("## 内部任务")
    assert "**10:00** 育儿干货 · 上海宝妈福利群 (g1) · 群主 小王" in posts
    assert "  > 今天聊聊：你家宝宝第一口辅食吃的是什么？ 欢迎在群里分享你的经验～" in posts
    assert "RFM" not in posts and internal.count("月末 RFM 分层") == 2
    rows = list(csv.DictReader(io.StringIO(cli("deliveries", "checklist", "--date", AHEAD,
                                                "--format", "csv").output)))  # fmt: skip
    assert [r["section"] for r in rows] == ["post"] * 3 + ["internal"] * 2
    assert rows[0]["key"] == "mombaby-refined:1.0:g1:columns.morning-knowledge:2026-12-31"


def test_done_takes_short_slot_and_full_keys_and_judges_on_the_time_given(
    planned: Workspace, cli: Cli
) -> None:
    on_time = cli("deliveries", "done", MORNING, "--by", "小王", "--at", f"{DAY}T10:20")
    assert "（准时）" in on_time.output
    early = cli("deliveries", "done", "mombaby-refined:g1:columns.afternoon-topic:2026-09-30",
                "--by", "小王", "--at", f"{DAY}T14:50")  # fmt: skip
    assert "（提前，不算准时）" in early.output
    late = cli("deliveries", "done", "mombaby-refined:1.0:g1:columns.evening-welfare:2026-09-30",
               "--by", "小王", "--at", f"{DAY}T21:10+08:00")  # fmt: skip
    assert "（迟了）" in late.output
    rows = {r["slot"]: r for r in json.loads(cli("deliveries", "--json").output)}
    assert rows["columns.morning-knowledge"]["sent_at"] == "2026-09-30T02:20:00Z"  # UTC
    assert {r["status"] for r in rows.values()} == {"done"}
    assert [p["status"] for p in today(cli)["posts"]] == ["done"] * 3
    again = cli("deliveries", "done", MORNING, "--by", "小王", "--at", f"{DAY}T10:30")
    assert "已发送或已完成，未改动" in again.output
    (g1,) = json.loads(cli("deliveries", "summary", "--json").output)
    assert (g1["done"], g1["on_time"], g1["late"], g1["early"]) == (3, 1, 1, 1)
    assert (
        cli("deliveries", "checklist", "--date", DAY).output.splitlines()[0]
        == f"# 待办清单 {DAY}（2）"  # only the two RFM tasks are left
    )


def test_done_refuses_unknown_keys_and_a_time_in_the_future(planned: Workspace, cli: Cli) -> None:
    typo = "g1:columns.mornin-knowledge:2026-09-30"
    unknown = cli("deliveries", "done", MORNING, typo, "--by", "小王", "--at", f"{DAY}T10:00",
                  ok=False)  # fmt: skip
    assert unknown.stderr.startswith(  # the closest of the day's keys first
        f"sop: error: no delivery with key(s): {typo} (did you mean: {MORNING}, "
    )
    future = cli("deliveries", "done", MORNING, "--by", "小王", "--at", "2999-01-01T10:00",
                 ok=False)  # fmt: skip
    assert "is in the future" in future.stderr
    assert json.loads(cli("deliveries", "--json").output) == []


def _tick(path: Path, marks: dict[int, str]) -> None:
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    for index, mark in marks.items():
        rows[index]["done"] = mark
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize("mark", ["√", "✓", "x", "是", "已完成", "done", "OK", "1", "ｘ"])
def test_a_ticked_checklist_takes_the_marks_people_type(
    planned: Workspace, cli: Cli, tmp_path: Path, mark: str
) -> None:
    sheet = tmp_path / "待办.csv"
    cli("deliveries", "checklist", "--date", DAY, "--format", "csv", "-o", str(sheet))
    _tick(sheet, {0: mark})
    result = cli("deliveries", "done", "--from", str(sheet), "--by", "小王", "--at", f"{DAY}T10:05")
    assert "已标记 1 条完成：mombaby-refined:1.0:g1:columns.morning-knowledge" in result.output


def test_an_unclear_mark_refuses_the_file_by_line_and_records_nothing(
    planned: Workspace, cli: Cli, tmp_path: Path
) -> None:
    sheet = tmp_path / "待办.csv"
    cli("deliveries", "checklist", "--date", DAY, "--format", "csv", "-o", str(sheet))
    _tick(sheet, {0: "已完成", 1: "maybe"})
    result = cli("deliveries", "done", "--from", str(sheet), "--by", "小王", ok=False)
    assert result.exit_code == 2
    # line 5: the header, then the first post's three-line text
    assert result.stderr.startswith(f"sop: error: {sheet}: line 5: done: 'maybe' is not a mark")
    assert json.loads(cli("deliveries", "--json").output) == []


def test_today_has_help_with_an_example() -> None:
    result = CliRunner().invoke(main.app, ["today", "--help"])
    assert result.exit_code == 0 and "Example: sop today" in result.output


def test_day_words_are_days_in_the_workspace_timezone(workspace: Workspace, cli: Cli) -> None:
    # A zone whose day is not UTC's at this hour: UTC+14 from 10:00 UTC, UTC-11 before 11:00.
    name = "Pacific/Kiritimati" if datetime.now(UTC).hour >= 10 else "Pacific/Pago_Pago"
    (workspace.root / "sopflow.toml").write_text(f'timezone = "{name}"\n')

    def local_day() -> date:
        return datetime.now(ZoneInfo(name)).date()

    # Each command reads the clock itself: at the zone's midnight its day may follow ours.
    before = local_day()
    header = cli("deliveries", "checklist", "--date", "tomorrow").output.splitlines()[0]
    days = {before, local_day()}
    assert any(header.startswith(f"# 待办清单 {d + timedelta(days=1)}（") for d in days), header
    before = local_day()
    shown = json.loads(cli("today", "--date", "today", "--json").output)["date"]
    assert shown in {str(before), str(local_day())}
    assert cli("deliveries", "--since", "yesterday", "--until", "23:59").exit_code == 0


class Failing:
    """A console channel whose every send fails."""

    name = "console"

    def send_batch(self, actions: Sequence[PlannedAction]) -> list[DeliveryResult]:
        return [DeliveryResult(a.key, "failed", error="scripted failure") for a in actions]


def test_a_machine_send_that_failed_for_good_is_a_check_under_its_post_name(
    planned: Workspace, cli: Cli
) -> None:
    actions, _ = day_actions(planned, date.fromisoformat(DAY))
    [morning] = [a for a, _ in actions if (a.group_id, a.slot) == ("g2", MORNING.split(":")[1])]
    for minute in range(3):  # every attempt fails
        dispatch(planned.session, Failing(), [morning], now=morning.at + timedelta(minutes=minute))
    day = today(cli)
    assert [(c["post"], c["group_id"], c["status"]) for c in day["checks"]] == [
        ("育儿干货", "g2", "failed")
    ]
    assert "手动补发" in day["checks"][0]["todo"]
    assert day["automatic"] == 2


def test_the_checklist_for_one_owner_lists_only_their_groups(planned: Workspace, cli: Cli) -> None:
    rows = list(csv.DictReader(io.StringIO(cli("deliveries", "checklist", "--date", DAY,
                "--owner", "小李", "--format", "csv").output)))  # fmt: skip
    assert [(r["group"], r["section"], r["owner"]) for r in rows] == [("g2", "internal", "小李")]


def test_today_checklist_and_done_speak_chinese_by_default_and_english_when_set(
    planned: Workspace, cli: Cli
) -> None:
    chinese = cli("today", "--date", DAY).output
    assert chinese.splitlines()[0] == f"# 今日 {DAY}"
    assert "## 手动发送（3）" in chinese and "## 内部任务 — 勿发到客户群（2）" in chinese
    assert "月末 RFM 分层 · 杭州群 (g2) · 群主 小李" in chinese
    assert "\n自动发送：3\n" in chinese
    config = planned.root / "sopflow.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\nlanguage = "en"\n', "utf-8")
    english = cli("today", "--date", DAY).output
    assert english.splitlines()[0] == f"# Today {DAY}"
    assert "## Posts by hand (3)" in english
    assert "## Internal tasks — never paste into a customer group (2)" in english
    assert "**10:00** 育儿干货 · 上海宝妈福利群 (g1) · owner 小王" in english  # names as typed
    assert "month-end RFM segmentation · 杭州群 (g2) · owner 小李" in english
    assert "\nsent by machines: 3\n" in english
    checklist = cli("deliveries", "checklist", "--date", AHEAD).output
    assert checklist.splitlines()[0] == f"# Checklist {AHEAD} (5)"
    assert "· owner 小王 · post by hand · `g1:columns.morning-knowledge:2026-12-31`" in checklist
    done = cli("deliveries", "done", MORNING, "--by", "小王", "--at", f"{DAY}T10:20").output
    assert done.strip() == f"marked 1 done: mombaby-refined:1.0:{MORNING} (on time)"
    assert "Nothing to do by hand." in cli("deliveries", "checklist", "--date", "2026-10-01").output


OVERLAY = "mombaby-weekly-jielong"
MONDAY = "2026-11-23"  # in the overlay's weekly window (Monday to Wednesday), and past


def test_an_attached_overlay_posts_under_its_name_even_with_a_version_the_base_lacks(
    planned: Workspace, cli: Cli
) -> None:
    from tests.support.examples import example_text, modified
    from versions import services

    in_production(planned, OVERLAY, now=SAVED)

    def renamed(data: dict[str, Any]) -> None:
        data["playbooks"]["campaigns"][0]["actions"][0]["name"] = "开团啦"

    services.save_version(
        planned.uow(), text=modified(example_text(OVERLAY), renamed), source="v2.yaml",
        author="小王", message="改名", major=True, now=SAVED,
    )  # fmt: skip
    services.promote(
        planned.uow(), sop_id=OVERLAY, version="2.0", approver="李经理", policy=planned.policy,
        now=SAVED,
    )  # fmt: skip
    cli("overlay", "attach", OVERLAY, "--base", "mombaby-refined", "--from", "2026-09-21")

    day = json.loads(cli("today", "--date", MONDAY, "--json").output)
    [jielong] = [p for p in day["posts"] if p["sop_id"] == OVERLAY]
    assert (jielong["post"], jielong["version"]) == ("每周好物接龙 · 开团啦", "2.0")
    assert jielong["text"] and "campaigns.jielong.open" not in jielong["post"]
    checklist = cli("deliveries", "checklist", "--date", MONDAY).output
    assert "每周好物接龙 · 开团啦 · 上海宝妈福利群 (g1)" in checklist
    done = cli("deliveries", "done", jielong["short_key"], "--by", "小王",
               "--at", f"{MONDAY}T20:05")  # fmt: skip
    assert "（准时）" in done.output


def test_a_column_declared_internal_is_an_operator_task_never_a_post(
    workspace: Workspace, cli: Cli, tmp_path: Path
) -> None:
    from tests.support.examples import example_text, modified

    def weekly_review(data: dict[str, Any]) -> None:
        data["schedule"]["columns"].append(
            {"id": "weekly-review", "name": "周复盘：删掉效果最差的 20% 内容", "time": "17:00",
             "days": "weekly", "weekdays": ["周三"], "template": "review", "audience": "内部"}
        )  # fmt: skip
        data["templates"].append({"id": "review", "body": "按打开率给本周内容排序，删掉最差的 20%"})

    sop = tmp_path / "mombaby.yaml"
    sop.write_text(modified(example_text("mombaby-refined"), weekly_review), encoding="utf-8")
    cli("save", str(sop), "--author", "小王", "-m", "加周复盘")
    cli("promote", "mombaby-refined", "1.0", "--approver", "李经理")
    cli("groups", "add", "g1", "--name", "上海宝妈福利群", "--sop", "mombaby-refined",
        "--channel", "tasklist", "--owner", "小王")  # fmt: skip
    cli("groups", "add", "g2", "--name", "杭州群", "--sop", "mombaby-refined", "--owner", "小李")

    day = today(cli)  # 09-30 is a Wednesday
    reviews = [(t["post"], t["group_id"], t["kind"], t["channel"]) for t in day["internal"]
               if t["slot"] == "columns.weekly-review"]  # fmt: skip
    assert reviews == [
        ("周复盘：删掉效果最差的 20% 内容", "g1", "task", "tasklist"),
        ("周复盘：删掉效果最差的 20% 内容", "g2", "task", "tasklist"),  # never g2's console
    ]
    assert day["internal"][0]["text"] == "按打开率给本周内容排序，删掉最差的 20%"
    assert not any(p["slot"] == "columns.weekly-review" for p in day["posts"])
    assert day["automatic"] == 3  # g2's three posts only

    from services import playbooks  # the day's run hands the task to the operators' list

    run = playbooks.plan_due(
        workspace,
        playbook="mature_day",
        day=date(2026, 9, 30),
        now=datetime(2026, 9, 30, 17, 5, tzinfo=ZoneInfo("Asia/Shanghai")),
    )
    tasks = sorted((a.group_id, a.channel) for a in run.actions if a.kind == "task")
    assert tasks == [("g1", "tasklist"), ("g2", "tasklist")]
