"""Calendars the planner needs: mainland China workdays and lunar festival dates.

Workdays come from `chinese-calendar` (official State Council schedules, including adjusted
Saturday/Sunday workdays); lunar dates from `lunardate` (1900-2099). Neither is a hand
table here. When a year is beyond the holiday data we raise `CalendarDataMissing` instead of
guessing weekends.
"""

from __future__ import annotations

from datetime import date, timedelta
from importlib.metadata import version as package_version

import chinese_calendar
from lunardate import LunarDate

from sop_models.errors import CalendarDataMissing


def _holiday_years() -> tuple[int, int]:
    years = sorted({day.year for day in chinese_calendar.holidays})
    return years[0], years[-1]


HOLIDAY_YEARS = _holiday_years()


def is_workday(day: date) -> bool:
    """True on mainland China workdays (adjusted weekend workdays count, holidays do not)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        first, last = HOLIDAY_YEARS
        raise CalendarDataMissing(
            f"no mainland China holiday data for {day.year}: chinese-calendar "
            f"{package_version('chinese-calendar')} covers {first}-{last}; upgrade it once the "
            "State Council publishes that year's schedule"
        ) from None


def holiday_name(day: date) -> str | None:
    """The official holiday's English name on `day`, or None."""
    is_workday(day)  # raises for years without data
    on_holiday, name = chinese_calendar.get_holiday_detail(day)
    return str(name) if on_holiday and name else None


def lunar_to_gregorian(year: int, month: int, day: int, *, leap: bool = False) -> date | None:
    """The Gregorian date of lunar `month/day` in lunar `year`; None if that day is missing.

    A lunar month has 29 or 30 days, so lunar day 30 does not exist in every year.
    """
    try:
        return LunarDate(year, month, day, leap).to_solar_date()
    except ValueError:
        return None


def lunar_occurrences(month: int, day: int, start: date, end: date) -> list[date]:
    """Every Gregorian date in [start, end] that is lunar `month/day` (non-leap month)."""
    found: list[date] = []
    for lunar_year in range(start.year - 1, end.year + 1):
        solar = lunar_to_gregorian(lunar_year, month, day)
        if solar is not None and start <= solar <= end:
            found.append(solar)
    return found


def gregorian_occurrences(month: int, day: int, start: date, end: date) -> list[date]:
    """Every date in [start, end] with this month/day (2/29 only in leap years)."""
    found: list[date] = []
    for year in range(start.year, end.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if start <= candidate <= end:
            found.append(candidate)
    return found


def days(start: date, end: date) -> list[date]:
    """Every date from start to end inclusive."""
    return [start + timedelta(n) for n in range((end - start).days + 1)]


def is_month_end(day: date) -> bool:
    """True on the last day of a month."""
    return (day + timedelta(1)).day == 1
