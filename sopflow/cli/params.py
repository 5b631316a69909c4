"""Command-line parameter parsers: the one place that turns typed text into dates and times.

Use as `start: date = date_option(None, "--from", help="First day.")`. A bad value is
a usage error naming the option (exit code 2). A time typed without a zone means the
workspace's timezone: commands pass the parsed value through `in_zone(value, ws.settings.zone)`.
"""

from __future__ import annotations

from datetime import date, datetime, time, tzinfo
from typing import Any

import typer

DATE_METAVAR = "YYYY-MM-DD"
DATETIME_METAVAR = "YYYY-MM-DD[THH:MM[+08:00]]"


def parse_date(text: str | date) -> date:
    """`2026-09-08` -> date; anything else is a usage error."""
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"not a date: {text!r} (YYYY-MM-DD)") from None


def parse_datetime(text: str | datetime) -> datetime:
    """An ISO date or date/time; a date alone means its midnight. May come back without a zone."""
    if isinstance(text, datetime):
        return text
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"not a date/time: {text!r} (e.g. 2026-11-01, 2026-11-01T09:00 or "
            "2026-11-01T09:00+08:00)"
        ) from None


def parse_clock(text: str | time) -> time:
    """`07:33` -> a time of day; anything else is a usage error."""
    if isinstance(text, time):
        return text
    try:
        return time.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"not a time: {text!r} (HH:MM)") from None


def in_zone(value: datetime | None, zone: tzinfo) -> datetime | None:
    """The one rule for times typed without a zone: they are in the workspace's timezone
    (`ws.settings.zone`)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=zone)


def date_option(default: Any, *names: str, help: str) -> Any:
    """A `typer.Option` whose value is a date (see `parse_date`)."""
    return typer.Option(default, *names, parser=parse_date, metavar=DATE_METAVAR, help=help)


def datetime_option(default: Any, *names: str, help: str) -> Any:
    """A `typer.Option` whose value is a date/time, maybe without a zone (see `in_zone`)."""
    return typer.Option(default, *names, parser=parse_datetime, metavar=DATETIME_METAVAR, help=help)


def clock_option(default: Any, *names: str, help: str) -> Any:
    """A `typer.Option` whose value is a time of day (see `parse_clock`)."""
    return typer.Option(default, *names, parser=parse_clock, metavar="HH:MM", help=help)
