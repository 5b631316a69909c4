"""`sop show` gives back the document exactly as saved: comments, order and the author's words."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.workspaces import Cli, example_text


def test_show_returns_the_saved_bytes_with_comments_and_chinese_words(
    cli: Cli, tmp_path: Path
) -> None:
    text = example_text("mombaby-refined").replace(
        "days: workdays", "days: 工作日   # 节假日休息，调休上班日照常", 1
    )
    assert text.startswith("# 母婴品牌")
    src = tmp_path / "sop.yaml"
    src.write_text(text, encoding="utf-8")
    cli("save", str(src), "--author", "小王", "-m", "首版")
    shown = cli("show", "mombaby-refined@1.0")
    assert shown.stdout == text
    assert "mombaby-refined/v1.0" in shown.stderr  # the version line stays out of the document
    # The typed document is derived from the saved text.
    doc = json.loads(cli("show", "mombaby-refined", "--json").stdout)["document"]
    assert doc["id"] == "mombaby-refined"


def test_a_respelled_but_equal_document_is_still_nothing_to_save(cli: Cli, tmp_path: Path) -> None:
    text = example_text("mombaby-refined")
    src = tmp_path / "sop.yaml"
    src.write_text(text, encoding="utf-8")
    cli("save", str(src), "--author", "小王", "-m", "首版")
    src.write_text("# 只改了注释\n" + text, encoding="utf-8")
    again = cli("save", str(src), "--author", "小王", "-m", "注释", ok=False)
    assert again.exit_code == 2 and "nothing saved" in again.stderr
