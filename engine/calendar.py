"""Calendars the planner needs: mainland China workdays and lunar festival dates.

Workdays come from `chinese-calendar` (official State Council schedules, including adjusted
Saturday/Sunday workdays), overridden and extended by the days a workspace entered
(`WorkdayCalendar.entered`, see services.calendar); lunar dates from `lunardate` (1900-2099).
Neither is a hand table here. A year with neither official nor entered data is decided by the
workspace's fallback: `weekdays` (Monday-Friday) or `skip` (no workday at all), and the
planner warns about every such year it consulted instead of failing the whole plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib.metadata import version as package_version
from typing import Literal

import chinese_calendar
from lunardate import LunarDate

from sop_models import CalendarDate
from sop_models.errors import CalendarDataMissing
from sop_models.i18n import tr

WorkdayFallback = Literal["skip", "weekdays"]
FALLBACKS: tuple[str, ...] = ("weekdays", "skip")


def _holiday_years() -> tuple[int, int]:
    years = sorted({day.year for day in chinese_calendar.holidays})
    return years[0], years[-1]


HOLIDAY_YEARS = _holiday_years()


def library_note() -> str:
    """Which years the installed chinese-calendar covers, for messages."""
    first, last = HOLIDAY_YEARS
    return f"chinese-calendar {package_version('chinese-calendar')} covers {first}-{last}"


def is_workday(day: date) -> bool:
    """True on mainland China workdays by the library alone; raises beyond its data."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        raise CalendarDataMissing(
            f"no mainland China holiday data for {day.year}: {library_note()}; enter that "
            "year's schedule with `sop calendar import` once the State Council publishes it"
        ) from None


@dataclass(frozen=True)
class DayEntry:
    """One entered day: a holiday (休) or a workday (班, e.g. an adjusted Saturday)."""

    workday: bool
    name: str | None = None


FIXED_HOLIDAYS: Mapping[tuple[int, int], str] = {
    (1, 1): "New Year's Day",
    (5, 1): "Labour Day",
    (10, 1): "National Day",
    (10, 2): "National Day",
    (10, 3): "National Day",
}
"""Public holidays fixed by date in the State Council's rules (元旦, 劳动节, 国庆 1-3), known
in every year before its schedule is published; the fallback never plans them as workdays."""


def fixed_holiday(day: date) -> str | None:
    """The name of the date-fixed public holiday on `day`, or None."""
    return FIXED_HOLIDAYS.get((day.month, day.day))


@dataclass(frozen=True)
class WorkdayCalendar:
    """Mainland workdays: entered days over the library; other years follow `fallback`.

    A year counts as known only when the library has it or the workspace marked it complete
    (`complete_years`: a whole year's schedule imported, or `sop calendar complete`); its days
    not entered then follow the Monday-Friday rhythm (the State Council publishes only holidays
    and adjusted workdays). Days entered in a year not marked complete override that day only:
    the rest of the year follows the fallback, with its warning.
    """

    entered: Mapping[date, DayEntry] = field(default_factory=dict)
    fallback: WorkdayFallback = "weekdays"
    complete_years: frozenset[int] = frozenset()

    def known(self, year: int) -> bool:
        """True when the library has `year` or the workspace marked it complete."""
        return _official(year) or year in self.complete_years

    @property
    def entered_years(self) -> frozenset[int]:
        """Years with at least one entered day (complete or not)."""
        return frozenset(day.year for day in self.entered)

    def lookup(self, day: date) -> tuple[bool, bool]:
        """(is `day` a workday, was it guessed by the fallback because no data exists)."""
        hit = self.entered.get(day)
        if hit is not None:
            return hit.workday, False
        if _official(day.year):
            return bool(chinese_calendar.is_workday(day)), False
        if day.year in self.complete_years:
            return day.weekday() < 5, False
        if fixed_holiday(day) is not None:
            return False, False  # a date-fixed holiday is known without the year's schedule
        return (self.fallback == "weekdays" and day.weekday() < 5), True

    def is_workday(self, day: date) -> bool:
        """True on workdays (guessing by the fallback where no data exists)."""
        return self.lookup(day)[0]

    def is_holiday(self, day: date) -> bool:
        """True on an official (or entered) holiday; an ordinary weekend is no holiday."""
        return self.holiday_name(day) is not None or self._entered_holiday(day)

    def _entered_holiday(self, day: date) -> bool:
        hit = self.entered.get(day)
        return hit is not None and not hit.workday

    def holiday_name(self, day: date) -> str | None:
        """The holiday's name on `day` (entered name first, then the library's), or None."""
        hit = self.entered.get(day)
        if hit is not None:
            return hit.name if not hit.workday else None
        if _official(day.year):
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
            return str(name) if on_holiday and name else None
        if day.year in self.complete_years:
            return None  # the entered schedule is the whole truth for that year
        return fixed_holiday(day)

    def covered_until(self, today: date) -> date | None:
        """The last day of the run of known years from `today`'s; None if today's is unknown."""
        if not self.known(today.year):
            return None
        year = today.year
        while self.known(year + 1):
            year += 1
        return date(year, 12, 31)

    def horizon(self, today: date, *, days: int) -> DataHorizon:
        """The facts about workday data from `today` through the next `days` days."""
        # one day past the window: data ending on its last day still leaves nothing after it
        end = today + timedelta(days + 1)
        years = tuple(
            YearData(year, _official(year), year in self.complete_years)
            for year in range(today.year, end.year + 1)
        )
        return DataHorizon(today, days, years, self.covered_until(today), self.fallback)


def _official(year: int) -> bool:
    first, last = HOLIDAY_YEARS
    return first <= year <= last


@dataclass(frozen=True)
class YearData:
    """Where one year's workday data comes from: the official library, the workspace, both."""

    year: int
    official: bool
    entered: bool
    """The workspace marked the year complete (a whole year's schedule entered)."""

    @property
    def covered(self) -> bool:
        """True when workdays of this year are known, not guessed by the fallback."""
        return self.official or self.entered


@dataclass(frozen=True)
class DataHorizon:
    """How far workday data reaches from `today`: the one rule behind the coverage warnings
    of `sop serve` and the calendar line of `sop doctor` (each renders these facts)."""

    today: date
    days: int
    """The warning distance: data must reach past `today + days`."""
    years: tuple[YearData, ...]
    """Every year from `today`'s through the one after the window, oldest first."""
    covered_until: date | None
    """The last day of the run of known years from `today`'s; None if today's is unknown."""
    fallback: WorkdayFallback

    @property
    def missing(self) -> tuple[int, ...]:
        """The years in reach that have neither official nor entered data."""
        return tuple(y.year for y in self.years if not y.covered)

    @property
    def entered(self) -> tuple[int, ...]:
        """The years in reach the workspace entered beyond the official data."""
        return tuple(y.year for y in self.years if y.entered and not y.official)

    @property
    def ok(self) -> bool:
        """True when no year in reach lacks data (nothing for an ops lead to do yet)."""
        return not self.missing

    @property
    def days_left(self) -> int | None:
        """Days from `today` to the last covered day (None when today is not covered)."""
        return None if self.covered_until is None else (self.covered_until - self.today).days


LIBRARY_ONLY = WorkdayCalendar()
"""No entered days, the default fallback: what the planner uses when given no calendar."""


def fallback_warning(years: set[int], fallback: WorkdayFallback) -> str:
    """One line naming the years whose workday slots the fallback decided."""
    shown = tr(", ").join(str(y) for y in sorted(years))
    how = (
        tr("planned Monday-Friday (fallback `weekdays`)")
        if fallback == "weekdays"
        else tr("not planned (fallback `skip`)")
    )
    return tr(
        "no holiday schedule for {years} ({library}, none entered): workday slots "
        "{how}; enter it with `sop calendar import FILE` (or set its days, then `sop calendar "
        "complete YEAR`)"
    ).format(years=shown, library=library_note(), how=how)


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


def occurrences(when: CalendarDate, first: date, last: date) -> list[date]:
    """Dates in [first, last] that are the yearly date `when` (Gregorian or lunar)."""
    find = lunar_occurrences if when.calendar == "lunar" else gregorian_occurrences
    return find(when.month, when.day, first, last)


def days(start: date, end: date) -> list[date]:
    """Every date from start to end inclusive."""
    return [start + timedelta(n) for n in range((end - start).days + 1)]


def is_month_end(day: date) -> bool:
    """True on the last day of a month."""
    return (day + timedelta(1)).day == 1
