"""Pure helpers of the console: evidence blocks, the side-by-side diff, the words."""

from __future__ import annotations

from sopflow.web.diffview import side_by_side
from sopflow.web.evidence_view import blocks
from sopflow.web.i18n import WORDS, translator

EVIDENCE = """# Check mombaby-refined: v2.0 vs v1.0 — **PROMOTE**

| metric | role | production | candidate |
|---|---|---:|---:|
| open_rate | primary | 0.4132 | 0.6480 |
| leave_rate | guardrail | 0.0043 | 0.0051 |

**Reasons**

- primary open_rate: significantly better
- sample ratio ok (p=1)

SRM: p = 1.0000 (ok)
"""


def test_evidence_markdown_becomes_heading_table_list_and_text_blocks() -> None:
    found = blocks(EVIDENCE)
    assert [b.kind for b in found] == ["heading", "table", "text", "list", "text"]
    assert found[0].lines == ["Check mombaby-refined: v2.0 vs v1.0 — PROMOTE"]
    assert found[1].rows == [
        ["metric", "role", "production", "candidate"],
        ["open_rate", "primary", "0.4132", "0.6480"],
        ["leave_rate", "guardrail", "0.0043", "0.0051"],
    ]
    assert found[3].lines == ["primary open_rate: significantly better", "sample ratio ok (p=1)"]


def test_side_by_side_pairs_changed_lines_and_keeps_chinese() -> None:
    rows = side_by_side("欢迎\n规则\n结尾", "欢迎\n新规则\n新增\n结尾")
    assert [(r.kind, r.left, r.right) for r in rows] == [
        ("equal", "欢迎", "欢迎"),
        ("replace", "规则", "新规则"),
        ("replace", None, "新增"),
        ("equal", "结尾", "结尾"),
    ]
    assert [(r.left_no, r.right_no) for r in rows] == [(1, 1), (2, 2), (None, 3), (3, 4)]


def test_words_exist_in_chinese_and_english() -> None:
    zh, en = translator("zh"), translator("en")
    assert zh("approve") == "批准并升级" and en("approve") == "Approve and promote"
    assert all(pair[0] and pair[1] for pair in WORDS.values())
    assert zh("no-such-word") == "no-such-word"


def test_side_by_side_leaves_out_unchanged_lines_beyond_the_context() -> None:
    before = "\n".join(f"第 {n} 行" for n in range(1, 21))
    after = before.replace("第 10 行", "第十行")
    rows = side_by_side(before, after, context=2)
    assert [r.kind for r in rows] == ["skip", "equal", "equal", "replace", "equal", "equal", "skip"]
    assert [r.left_no for r in rows[1:-1]] == [8, 9, 10, 11, 12]
    assert rows[3].right == "第十行"
    assert side_by_side(before, before, context=2) == []
