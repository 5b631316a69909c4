"""Command-line parameter parsers: the one place that turns typed text into dates and times.

Use as `start: date = date_option(None, "--from", help="First day.")`. A bad value is
a usage error naming the option (exit code 2). A time typed without a zone means the
workspace's timezone: commands pass the parsed value through `in_zone(value, ws.settings.zone)`.
Wherever a date is typed, `today`, `tomorrow` and `yesterday` (今天, 明天, 昨天) name the day in
the workspace's timezone; a date/time may also be such a word, or `HH:MM` alone (today).
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

import typer

DATE_METAVAR = "YYYY-MM-DD"
DATETIME_METAVAR = "YYYY-MM-DD[THH:MM[+08:00]]"


DAY_WORDS = {"today": 0, "tomorrow": 1, "yesterday": -1, "今天": 0, "明天": 1, "昨天": -1}

# The root `--workspace` option, set by the root callback before any subcommand parses its
# options (a context variable, not Click's context stack: Typer parses with its own copy of
# Click, whose current context the `click` package cannot see).
_named_workspace: ContextVar[Path | None] = ContextVar("named_workspace", default=None)


def remember_workspace(path: Path | None) -> None:
    """Record the workspace the command line names, for day words typed after it."""
    _named_workspace.set(path)


def workspace_today() -> date:
    """Today in the workspace's timezone (the workspace the command line names)."""
    # Imported here: only a command given a day word pays for the workspace wiring.
    from services.settings import find_root, load_settings

    zone = load_settings(find_root(_named_workspace.get())).zone
    return datetime.now(UTC).astimezone(zone).date()


def parse_date(text: str | date, *, today: date | None = None) -> date:
    """`2026-09-08`, `today`, `tomorrow`, `yesterday` -> date; anything else is a usage error."""
    if isinstance(text, date):
        return text
    word = text.strip().casefold()
    if word in DAY_WORDS:
        return (today or workspace_today()) + timedelta(days=DAY_WORDS[word])
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"not a date: {text!r} (YYYY-MM-DD)") from None


def parse_datetime(text: str | datetime, *, today: date | None = None) -> datetime:
    """An ISO date or date/time, a day word (its midnight), a day word and a time (`今天 10:05`)
    or `HH:MM` (today). May come back without a zone."""
    if isinstance(text, datetime):
        return text
    word = text.strip().casefold()
    try:
        if word in DAY_WORDS:
            return datetime.combine(parse_date(word, today=today), time())
        day_word = next((w for w in DAY_WORDS if word.startswith(w)), None)
        if day_word is not None:  # `今天 10:05`, `昨天21:30`, `yesterday 21:30`
            clock = time.fromisoformat(word.removeprefix(day_word).strip())
            return datetime.combine(parse_date(day_word, today=today), clock)
        if len(word) <= 8 and ":" in word and "-" not in word:
            return datetime.combine(today or workspace_today(), time.fromisoformat(word))
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
