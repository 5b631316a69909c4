"""`sop content import`: a content calendar from CSV or XLSX into an SOP file (all rows or none,
bad rows by line), then `sop plan` posting and showing the scheduled content."""

from __future__ import annotations

import difflib
import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

from openpyxl import Workbook

from engine.groups import add_group
from services.workspace import Workspace
from sop_models import load_document
from tests.support.examples import EXAMPLES
from tests.support.workspaces import Cli

ROWS = [
    ("2026-09-14", "morning-knowledge", "202508 促活-亲子阅读-图文"),
    ("2026-09-15", "columns.afternoon-topic", "202504 转化-辅食工具-短视频"),
]


def _sop(tmp_path: Path) -> Path:
    target = tmp_path / "mombaby.yaml"
    shutil.copy(EXAMPLES / "mombaby-refined.yaml", target)
    return target


def test_a_csv_with_a_bad_row_is_refused_by_line_and_the_document_is_unchanged(
    cli: Cli, tmp_path: Path
) -> None:
    sop_file = _sop(tmp_path)
    before = sop_file.read_text(encoding="utf-8")
    lines = ["date,slot,tag", *(",".join(r) for r in ROWS)]
    lines += ["2026-09-31,morning-knowledge,202503 促活-育儿干货-图文", "2026-09-16,night,x"]
    csv_file = tmp_path / "排期表.csv"
    csv_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("content", "import", str(csv_file), "--into", str(sop_file), ok=False)
    assert result.exit_code == 2
    assert "line 4: date '2026-09-31' is not YYYY-MM-DD" in result.stderr
    assert "line 5: slot 'night' is not a column or campaign action of mombaby-refined" in (
        result.stderr
    )
    assert "'x' is not a content tag" in result.stderr
    assert sop_file.read_text(encoding="utf-8") == before


def test_an_xlsx_calendar_is_merged_and_sop_plan_shows_the_scheduled_titles(
    workspace: Workspace, cli: Cli, tmp_path: Path
) -> None:
    sop_file = _sop(tmp_path)
    book = Workbook()
    sheet = book.active
    sheet.append(["date", "slot", "tag"])
    sheet.append([datetime(2026, 9, 14), ROWS[0][1], ROWS[0][2]])  # a real Excel date cell
    sheet.append(list(ROWS[1]))
    xlsx = tmp_path / "排期表.xlsx"
    book.save(xlsx)
    out = cli("content", "import", str(xlsx), "--into", str(sop_file))
    assert "columns.afternoon-topic: 1, columns.morning-knowledge: 1" in out.stdout
    doc = load_document(sop_file)
    topic = next(c for c in doc.schedule.columns if c.id == "afternoon-topic")
    assert topic.content is not None
    assert [(e.date, e.tag) for e in topic.content.schedule] == [(date(2026, 9, 15), ROWS[1][2])]

    now = datetime(2026, 9, 1, tzinfo=UTC)
    cli("save", str(sop_file), "--author", "小王", "-m", "排期表")
    cli("promote", "mombaby-refined", "1.0", "--approver", "李经理")
    with workspace.session() as session:
        add_group(session, id="g1", name="一群", sop_id="mombaby-refined", now=now)
        session.commit()
    result = cli("plan", "mombaby-refined", "--from", "2026-09-14", "--to", "2026-09-18")
    morning = [line for line in result.stdout.splitlines() if "columns.morning-knowledge" in line]
    assert "[0-3 岁绘本怎么选：按月龄的 21 本书单]" in morning[0]  # the scheduled item on 09-14
    assert len({line.split("[")[1].split("]")[0] for line in morning}) == 5
    plan = json.loads(
        cli(
            "plan", "mombaby-refined", "--from", "2026-09-15", "--to", "2026-09-15", "--json"
        ).stdout
    )
    (topic_action,) = [a for a in plan if a["slot"] == "columns.afternoon-topic"]
    assert topic_action["content_title"] == "30 秒看懂辅食研磨碗怎么用"


def test_a_campaign_action_row_under_chinese_headers_is_imported_and_comments_stay(
    cli: Cli, tmp_path: Path
) -> None:
    sop_file = tmp_path / "jielong.yaml"
    shutil.copy(EXAMPLES / "mombaby-weekly-jielong.yaml", sop_file)
    before = sop_file.read_text(encoding="utf-8")
    csv_file = tmp_path / "接龙排期.csv"
    csv_file.write_text(
        "素材,日期,栏目/时段\n"  # any order, Chinese names
        "202511 转化-好物接龙-图文,2026-09-28,campaigns.jielong.open\n"
        "202509 转化-好物接龙-图文,2026-10-05,jielong.open\n",
        encoding="utf-8",
    )
    out = cli("content", "import", str(csv_file), "--into", str(sop_file))
    assert "campaigns.jielong.open: 2" in out.stdout
    (action,) = [
        a for a in load_document(sop_file).playbooks.campaigns[0].actions if a.id == "open"
    ]
    assert action.content is not None
    assert [(e.date, e.tag) for e in action.content.schedule] == [
        (date(2026, 9, 28), "202511 转化-好物接龙-图文"),
        (date(2026, 10, 5), "202509 转化-好物接龙-图文"),
    ]
    after = sop_file.read_text(encoding="utf-8")
    diff = [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="")
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
    ]
    assert diff and all(line.startswith("+") for line in diff)  # lines added, none changed
    assert "content:  # 每周轮换一件好物（每期接龙换下一件）" in after and "kind: 接龙" in after


def test_a_bad_xlsx_row_is_reported_by_its_line_and_nothing_is_written(
    cli: Cli, tmp_path: Path
) -> None:
    sop_file = _sop(tmp_path)
    before = sop_file.read_text(encoding="utf-8")
    book = Workbook()
    sheet = book.active
    sheet.append(["日期", "栏目", "标签"])
    sheet.append([datetime(2026, 9, 14), ROWS[0][1], ROWS[0][2]])
    sheet.append([])  # a blank row keeps its line number
    sheet.append(["2026-09-16", "campaigns.qixi.nope", ROWS[0][2]])
    sheet.append(["2026-09-17", "morning-knowledge", "202501 促活-不存在-图文"])
    xlsx = tmp_path / "排期表.xlsx"
    book.save(xlsx)
    result = cli("content", "import", str(xlsx), "--into", str(sop_file), ok=False)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "line 4: slot 'campaigns.qixi.nope' is not a column or campaign action" in result.stderr
    assert "campaigns.qixi.main" in result.stderr  # the slots it could have been
    assert "line 5: tag '202501 促活-不存在-图文' is not in the content library" in result.stderr
    assert "line 2" not in result.stderr
    assert sop_file.read_text(encoding="utf-8") == before
