"""The CLI's one parser for dates and times, and the one rule for times without a zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
import typer

from services.settings import Settings
from sop_models.errors import WorkspaceError
from sopflow.cli.params import in_zone, parse_clock, parse_date, parse_datetime


def test_an_iso_date_parses_and_anything_else_is_a_usage_error() -> None:
    assert parse_date(" 2026-09-08 ") == date(2026, 9, 8)
    with pytest.raises(typer.BadParameter, match="not a date: '2026/09/08'"):
        parse_date("2026/09/08")


def test_a_date_alone_is_midnight_and_an_offset_is_kept() -> None:
    assert parse_datetime("2026-11-01") == datetime(2026, 11, 1)
    kept = parse_datetime("2026-11-01T09:00+00:00")
    assert kept.utcoffset() == timedelta(0)
    with pytest.raises(typer.BadParameter, match="not a date/time"):
        parse_datetime("yesterday-ish")


def test_times_without_a_zone_are_read_in_the_workspace_timezone() -> None:
    local = in_zone(parse_datetime("2026-11-01T09:00"), Settings().zone)
    assert local is not None and local.utcoffset() == timedelta(hours=8)
    utc = in_zone(parse_datetime("2026-11-01T09:00+00:00"), Settings().zone)
    assert utc is not None and utc.utcoffset() == timedelta(0)
    assert in_zone(None, Settings().zone) is None


def test_an_unknown_workspace_timezone_is_a_one_line_error() -> None:
    with pytest.raises(WorkspaceError, match="unknown time zone 'Mars/Base'"):
        in_zone(datetime(2026, 1, 1), Settings(timezone="Mars/Base").zone)


def test_a_clock_time_parses_and_anything_else_is_a_usage_error() -> None:
    assert parse_clock(" 07:33 ") == time(7, 33)
    with pytest.raises(typer.BadParameter, match="not a time: '7点半'"):
        parse_clock("7点半")


@pytest.mark.parametrize(
    ("word", "days"), [("today", 0), ("Tomorrow", 1), ("yesterday", -1), ("明天", 1)]
)
def test_day_words_name_days_from_today(word: str, days: int) -> None:
    today = date(2026, 12, 31)
    assert parse_date(word, today=today) == today + timedelta(days=days)
    assert parse_datetime(word, today=today) == datetime.combine(
        today + timedelta(days=days), time()
    )


def test_a_clock_time_alone_is_today_at_that_time() -> None:
    assert parse_datetime("10:05", today=date(2026, 9, 30)) == datetime(2026, 9, 30, 10, 5)
    with pytest.raises(typer.BadParameter, match="not a date/time: '25:00'"):
        parse_datetime("25:00", today=date(2026, 9, 30))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("今天 10:05", datetime(2026, 9, 30, 10, 5)),
        ("昨天21:30", datetime(2026, 9, 29, 21, 30)),
        ("Yesterday 21:30", datetime(2026, 9, 29, 21, 30)),
    ],
)
def test_a_day_word_and_a_clock_time_name_that_time_of_that_day(
    text: str, expected: datetime
) -> None:
    assert parse_datetime(text, today=date(2026, 9, 30)) == expected
    with pytest.raises(typer.BadParameter, match="not a date/time"):
        parse_datetime("今天 十点", today=date(2026, 9, 30))
