"""YAML and JSON in and out: Chinese intact, field order, times and dates that survive."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml

from sop_models import (
    DocumentInvalid,
    SopDocument,
    dump_document,
    dumps_json,
    load_document,
    parse_document,
    read_data,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MOMBABY = EXAMPLES / "mombaby-refined.yaml"


@pytest.fixture(scope="module")
def doc() -> SopDocument:
    return load_document(MOMBABY)


def test_unquoted_clock_times_load_as_text_not_base_60_numbers() -> None:
    data = read_data("a: 10:00\nb: 25:00\nc: 9:30\nd: 600\ne: 1:2:3\n")
    assert data == {"a": "10:00", "b": "25:00", "c": "9:30", "d": 600, "e": "1:2:3"}


def test_a_time_read_as_a_number_by_another_loader_gets_a_hint(doc: SopDocument) -> None:
    data = doc.model_dump(mode="json")
    data["schedule"]["columns"][0]["time"] = 600  # what yaml.safe_load makes of 10:00
    with pytest.raises(DocumentInvalid, match=r"schedule\.columns\[0\]\.time: .*quotes"):
        parse_document(json.dumps(data, ensure_ascii=False), "x.json")


def test_one_digit_hours_are_stored_as_two_digits() -> None:
    text = MOMBABY.read_text(encoding="utf-8").replace("time: 09:30", "time: 9:30", 1)
    assert parse_document(text).playbooks.cold_start.actions[0].time == "09:30"  # type: ignore[union-attr]


def test_load_dump_load_gives_an_equal_document(doc: SopDocument) -> None:
    text = dump_document(doc)
    assert parse_document(text) == doc
    assert dump_document(parse_document(text)) == text


def test_dump_keeps_chinese_and_writes_no_escapes(doc: SopDocument) -> None:
    text = dump_document(doc)
    assert "\\u" not in text and "\\x" not in text
    assert "宝妈成长营" in text and "202503 促活-育儿干货-图文" in text
    assert "\\u" not in dumps_json(doc)


def test_dump_follows_model_field_order(doc: SopDocument) -> None:
    keys = [line.split(":")[0] for line in dump_document(doc).splitlines() if line[:1].isalpha()]
    assert keys == [name for name in SopDocument.model_fields if name in keys]
    assert keys[:3] == ["id", "title", "positioning"]


def test_dumped_times_and_dates_read_back_as_strings_and_dates_with_plain_pyyaml(
    doc: SopDocument,
) -> None:
    plain = yaml.safe_load(dump_document(doc))
    assert plain["schedule"]["columns"][0]["time"] == "10:00"
    assert plain["playbooks"]["campaigns"][1]["window"]["start"] == date(2026, 9, 1)


def test_dates_may_be_iso_strings_and_json_input_works(doc: SopDocument) -> None:
    as_json = json.dumps(doc.model_dump(mode="json"), ensure_ascii=False)
    assert '"2026-09-01"' in as_json
    assert parse_document(as_json, "mombaby.json") == doc


def test_a_plain_pyyaml_dump_of_json_data_parses_back_equal(doc: SopDocument) -> None:
    text = yaml.safe_dump(doc.model_dump(mode="json", exclude_none=True), allow_unicode=True)
    assert parse_document(text) == doc


def test_multi_line_texts_are_written_as_literal_blocks(doc: SopDocument) -> None:
    assert "announcement: |\n    【宝妈成长营 群公告】\n" in dump_document(doc)


def test_a_bad_date_string_is_reported_at_its_path(doc: SopDocument) -> None:
    data = doc.model_dump(mode="json")
    data["playbooks"]["campaigns"][1]["window"]["start"] = "2026-02-30"
    with pytest.raises(DocumentInvalid) as info:
        parse_document(json.dumps(data), "x.json")
    assert str(info.value) == (
        "x.json: playbooks.campaigns[1].window.start: '2026-02-30' is not a date (YYYY-MM-DD)"
    )


def test_a_json_syntax_error_has_line_and_column() -> None:
    with pytest.raises(DocumentInvalid) as info:
        parse_document('{"id": "x",\n "title": }', "x.json")
    [problem] = info.value.problems
    assert (problem.file, problem.path) == ("x.json", "")
    assert problem.message.startswith("JSON syntax error at line 2, column 11")


def test_an_empty_or_unreadable_file_is_one_problem(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DocumentInvalid, match=r"empty\.yaml: .*empty"):
        load_document(empty)
    with pytest.raises(DocumentInvalid, match=r"missing\.yaml: .*cannot read"):
        load_document(tmp_path / "missing.yaml")


def test_duplicate_json_keys_are_refused() -> None:
    with pytest.raises(DocumentInvalid, match="duplicate key 'title'"):
        parse_document('{"id": "x", "title": "一", "title": "二"}', "x.json")
