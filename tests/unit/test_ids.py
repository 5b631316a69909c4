"""The one id rule (`sop_models.ids`): what an SOP, alias, group or member id may be."""

from __future__ import annotations

import pytest

from sop_models.ids import MAX_ID_LENGTH, check_id, id_problem, is_valid_id

VALID = [
    "a",
    "mombaby-refined",
    "wrOgAAA1",
    "g_01",
    "v1.0",
    "a.b.c",
    "宝妈群",
    "上海-宝妈_01",
    "9",
    "x" * MAX_ID_LENGTH,
]
INVALID = [
    "",
    "*",
    "a*",
    "a?",
    "[ab]",
    "a:b",
    "g:on_join.welcome:2026-09-08:x",
    "a/b",
    "a\\b",
    "a@b",
    "*@1.0",
    "a b",
    " a",
    "a\n",
    "a\tb",
    "a\x00b",
    "a\x7fb",
    "a\u3000b",  # ideographic space
    "..",
    "a..b",
    ".a",
    "a.",
    "-a",
    "_a",
    "x.lock",
    "x" * (MAX_ID_LENGTH + 1),
    "x" * 100_000,
    "e\u0301",  # not NFC
]


@pytest.mark.parametrize("value", VALID)
def test_valid_ids_pass_unchanged(value: str) -> None:
    assert check_id(value) == value
    assert is_valid_id(value)


@pytest.mark.parametrize("value", INVALID)
def test_invalid_ids_are_refused_with_one_line_naming_what(value: str) -> None:
    with pytest.raises(ValueError) as info:
        check_id(value, "group id")
    message = str(info.value)
    assert message.startswith("group id ")
    assert "\n" not in message and len(message) < 300
    assert not is_valid_id(value)


def test_a_long_id_is_cut_short_in_the_message() -> None:
    problem = id_problem("y" * 100_000, "SOP id")
    assert problem is not None and "100000 characters" in problem and len(problem) < 120


def test_non_text_is_refused() -> None:
    assert id_problem(12, "member id") == "member id must be text, not int"
