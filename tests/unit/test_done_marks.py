"""The tick marks people type and how a hand post's time is judged (pure rules)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.done_marks import judge, mark_means_done
from tests.support.planning import local

DUE = local(2026, 9, 30, 10, 0)


@pytest.mark.parametrize(
    "mark", ["√", "✓", "✔", "x", "X", "ｘ", "是", "已完成", "done", "OK", "1", " ok "]
)
def test_marks_people_type_mean_done(mark: str) -> None:
    assert mark_means_done(mark) is True


@pytest.mark.parametrize("mark", ["", "  ", "0", "否", "no", "未完成"])
def test_empty_or_negative_marks_mean_not_done(mark: str) -> None:
    assert mark_means_done(mark) is False


@pytest.mark.parametrize("mark", ["maybe", "?", "明天", "xx"])
def test_other_marks_are_unclear_not_silently_not_done(mark: str) -> None:
    assert mark_means_done(mark) is None


def test_a_post_is_on_time_from_its_time_to_thirty_minutes_after_early_and_late_are_not() -> None:
    assert judge(DUE, DUE) == "on_time"
    assert judge(DUE, DUE + timedelta(minutes=30)) == "on_time"
    assert judge(DUE, DUE + timedelta(minutes=31)) == "late"
    assert judge(DUE, DUE - timedelta(minutes=1)) == "early"
