"""`sop validate` plans each document for 28 days and prints what the plan warns about
(collisions, calendar gaps, items repeated too soon), one line each, without failing."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from services.validation import plan_warnings
from tests.support.planning import BASE, sop
from tests.support.workspaces import Cli

SALE = {"id": "wed", "weekday": "wed", "time": "20:10", "template": "t", "priority": 10}
WELFARE = {"id": "welfare", "name": "福利", "time": "20:00", "template": "t"}


def _write(tmp_path: Path, name: str, **sections: Any) -> str:
    data = {**BASE, **sections}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_a_collision_in_the_sop_itself_is_one_warning_line_naming_slots_date_and_winner(
    cli: Cli, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "clash",
        schedule={"columns": [WELFARE], "spacing": {"on_collision": "warn"}},
        playbooks={"mature": {"flash_sale": SALE}},
    )
    result = cli("validate", path, "--from", "2026-09-07")
    assert result.exit_code == 0
    warns = [line for line in result.output.splitlines() if line.startswith("warn")]
    (line,) = [w for w in warns if "撞车" in w]
    assert "columns.welfare 与 flash_sale.wed" in line
    assert "在 4 个群·日相距过近，首例 sample 2026-09-09 20:00/20:10（相隔 10 分钟）" in line
    assert "两条都保留（按优先级应保留 flash_sale.wed）" in line
    data = json.loads(cli("validate", path, "--from", "2026-09-07", "--json").output)
    assert data[0]["ok"] and any("撞车" in w for w in data[0]["warnings"])


def test_an_overlay_file_is_laid_over_the_base_and_its_priority_decides(
    cli: Cli, tmp_path: Path
) -> None:
    base = _write(tmp_path, "base", schedule={"columns": [WELFARE]})
    alone = cli("validate", base, "--from", "2026-09-07").output
    assert "collision" not in alone
    overlay = {k: v for k, v in BASE.items() if k in ("title", "templates")}
    overlay |= {
        "id": "promo",
        "overlay": {"priority": 5},
        "playbooks": {"mature": {"flash_sale": {**SALE, "priority": 0}}},
    }
    path = tmp_path / "promo.yaml"
    path.write_text(yaml.safe_dump(overlay, allow_unicode=True), encoding="utf-8")
    result = cli("validate", base, "--overlay", str(path), "--from", "2026-09-07")
    (line,) = [x for x in result.output.splitlines() if "撞车" in x]
    # no on_collision declared: the declared priority applies, the base's post gives way
    assert "首例 sample 2026-09-09 20:00/20:10（相隔 10 分钟）：columns.welfare 移至 20:40" in line


def test_posts_and_welcomes_at_night_without_declared_quiet_hours_are_one_line_each(
    cli: Cli, tmp_path: Path
) -> None:
    late = {"id": "late", "name": "夜读", "time": "22:30", "template": "t"}
    welcome = {"id": "hi", "template": "t"}
    path = _write(tmp_path, "night", schedule={"columns": [WELFARE, late], "on_join": [welcome]})
    result = cli("validate", path, "--from", "2026-09-07")
    assert result.exit_code == 0
    night = [x for x in result.output.splitlines() if "schedule.quiet_hours" in x]
    assert night == [
        f"warn  {path}: schedule.quiet_hours：未声明，而 columns.late 计划在 2026-09-07 22:30"
        "（22:00-08:00 之间）：请声明 quiet_hours 以顺延或取消",
        f"warn  {path}: schedule.quiet_hours：未声明，而 schedule.on_join 在成员入群时立即发出"
        "（23:58 也会发）：请声明 quiet_hours 把它顺延到早上",
    ]
    quiet = {"columns": [WELFARE, late], "on_join": [welcome], "quiet_hours": {}}
    declared = cli("validate", _write(tmp_path, "quiet", schedule=quiet), "--from", "2026-09-07")
    assert "schedule.quiet_hours" not in declared.output


def test_calendar_gaps_and_items_repeated_within_repeat_days_are_warned_about() -> None:
    kind = {"category": "activation", "form": "text_image", "style": "warm"}
    library = [
        {"tag": "202509 促活-育儿干货-图文", "title": "夜醒怎么办", **kind},
        {"tag": "202510 促活-育儿干货-图文", "title": "辅食第一口", **kind},
    ]
    content = {
        "schedule": [{"date": "2026-09-08", "tag": "202509 促活-育儿干货-图文"}],
        "rotate": {"category": "促活", "start": "2026-09-01"},
        "repeat_days": 3,
    }
    column = {"id": "knowledge", "name": "干货", "time": "10:00", "template": "t"}
    doc = sop(content_library=library, schedule={"columns": [{**column, "content": content}]})
    warnings = plan_warnings(doc, start=date(2026, 9, 7), days=7)
    (repeat,) = [w for w in warnings if "重复" in w]
    assert "columns.knowledge 在 3 天内重复使用同一内容" in repeat
    assert "202509 促活-育儿干货-图文 09-07/09-08" in repeat
    only_dated = {**column, "content": {"schedule": content["schedule"]}}
    gappy = sop(content_library=library, schedule={"columns": [only_dated]})
    (gap,) = plan_warnings(gappy, start=date(2026, 9, 7), days=3)
    assert gap == ("内容日历缺口：columns.knowledge 在 2026-09-07、2026-09-09 没有内容（不发送）")
