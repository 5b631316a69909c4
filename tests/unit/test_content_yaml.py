"""`merge_schedules`: content-calendar rows go into the document's own text, nothing else moves."""

from __future__ import annotations

from datetime import date

from services.content_yaml import merge_schedules

TEXT = """\
# 排期示例
schedule:
    columns:
      - id: news        # 行业快讯
        days: 工作日
        time: "10:00"
        content: {schedule: [{date: 2026-09-14, tag: 202503 促活-育儿干货-图文}]}
      - id: talk
        time: 15:00
"""


def test_a_scheduled_date_takes_the_new_tag_and_a_slot_without_content_gets_one() -> None:
    rows = {
        "columns.news": {date(2026, 9, 14): "202508 促活-亲子阅读-图文"},
        "columns.talk": {date(2026, 9, 15): "202503 促活-妈妈话题-图文"},
    }
    out = merge_schedules(TEXT, rows)
    assert out.splitlines()[:6] == TEXT.splitlines()[:6]  # comments, 工作日, quoting, indents
    assert "content: {schedule: [{date: 2026-09-14, tag: 202508 促活-亲子阅读-图文}]}" in out
    assert out.endswith(
        "        time: 15:00\n"
        "        content:\n"
        "            schedule:\n"
        "              - date: 2026-09-15\n"
        "                tag: 202503 促活-妈妈话题-图文\n"
    )
