"""Semantic diff: field paths, id-matched lists, line diffs for long texts."""

from __future__ import annotations

from versions.diff import diff_documents, format_changes


def test_changed_scalar_is_reported_by_field_path() -> None:
    before = {"schedule": {"columns": [{"id": "a", "time": "10:00"}, {"id": "b", "time": "15:00"}]}}
    after = {"schedule": {"columns": [{"id": "a", "time": "10:00"}, {"id": "b", "time": "16:00"}]}}
    [change] = diff_documents(before, after)
    assert change.path == "schedule.columns[1].time"
    assert (change.kind, change.before, change.after) == ("changed", "15:00", "16:00")


def test_inserted_list_item_matched_by_id_does_not_shift_later_items() -> None:
    before = {"columns": [{"id": "a", "t": 1}, {"id": "b", "t": 2}]}
    after = {"columns": [{"id": "new", "t": 0}, {"id": "a", "t": 1}, {"id": "b", "t": 2}]}
    changes = diff_documents(before, after)
    assert [(c.path, c.kind) for c in changes] == [("columns[0]", "added")]


def test_added_and_removed_keys() -> None:
    changes = diff_documents({"a": 1, "b": 2}, {"a": 1, "c": 3})
    assert {(c.path, c.kind) for c in changes} == {("b", "removed"), ("c", "added")}


def test_long_chinese_text_gets_a_line_diff() -> None:
    before = {"welcome": "欢迎加入宝妈成长营！\n每天10点育儿干货\n请先阅读群公告"}
    after = {"welcome": "欢迎加入宝妈成长营！\n每天10点和20点育儿干货\n请先阅读群公告"}
    [change] = diff_documents(before, after)
    assert "-每天10点育儿干货" in change.text_diff
    assert "+每天10点和20点育儿干货" in change.text_diff
    text = format_changes([change])
    assert "~ welcome:" in text and "+每天10点和20点育儿干货" in text


def test_identical_documents_have_no_differences() -> None:
    doc = {"id": "x", "items": [1, 2, {"k": "值"}]}
    assert diff_documents(doc, doc) == []
    assert format_changes([]) == "no differences"
