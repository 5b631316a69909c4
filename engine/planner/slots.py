"""What an SOP schedules on each date, worked out once per SOP and shared by every group.

A `Slot` is one scheduled message on one date, before it is tied to a group: its name (the
action's slot, e.g. `columns.morning-knowledge`), local time, template and the variables
that do not depend on the group. `SlotBook` builds the slots of a date lazily and caches
them; only cold-start slots depend on the group (on its start date) and are cached per start
date. When a campaign's runs fall is `engine.planner.campaign_runs`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from engine.calendar import LIBRARY_ONLY, WorkdayCalendar, occurrences
from engine.planner.campaign_runs import campaign_runs, lead_reach, run_number
from engine.planner.content_calendar import ContentCalendar
from engine.planner.day_rules import after_holiday, posts_for, posts_on
from engine.planner.variables import (
    Variables,
    campaign_variables,
    content_variables,
    flash_sale_variables,
    rfm_variables,
)
from sop_models import WEEKDAY_NUMBERS, Campaign, FlashSale, SopDocument, parse_time
from sop_models.actions import ActionKind
from sop_models.day_rules import lead_list

TZ = ZoneInfo("Asia/Shanghai")


class Scheduled(Protocol):
    """Anything that schedules a template (columns, actions, the flash sale, ...)."""

    @property
    def template(self) -> str: ...


@dataclass(frozen=True, eq=False)
class Slot:
    """One scheduled message on one date, for any group (hashed by identity)."""

    name: str
    kind: ActionKind
    on: date  # the date whose phase decides (for a countdown: the sale's date)
    at: datetime
    template: str
    content_tag: str | None
    mature_only: bool
    variables: Variables
    priority: int = 0


def local_at(day: date, clock: str) -> datetime:
    """`day` at "HH:MM" in Asia/Shanghai."""
    hour, minute = parse_time(clock)
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


class SlotBook:
    """Slots of an SOP per date for the window [start, end]; `kinds` limits what is built.

    The book also looks at `end + 1`: a countdown may fall on the evening before its sale.
    Only slots that can land before their own date are built for that day, so a window that
    ends on 12-31 never asks the holiday calendar about the next year.
    """

    def __init__(
        self,
        doc: SopDocument,
        start: date,
        end: date,
        kinds: frozenset[str],
        calendar: WorkdayCalendar = LIBRARY_ONLY,
        recent: Mapping[date, Collection[str]] | None = None,
    ) -> None:
        self.doc, self.kinds, self.calendar = doc, kinds, calendar
        self.guessed_years: set[int] = set()  # years the calendar's fallback decided
        self.content = ContentCalendar(doc, self.is_workday, recent)
        self.first, self.end, self.last = start, end, end + timedelta(1)
        self._base = doc.document_variables()
        mature = doc.playbooks.mature
        self._mature_columns = set(mature.columns) if mature is not None else set()
        self._by_day: dict[date, list[Slot]] = {}
        self._cold: dict[date, list[Slot]] = {}
        self._fixed: defaultdict[date, list[Slot]] = defaultdict(list)
        if "calendar" in kinds:
            self._add_calendar_columns()
        if "campaign" in kinds:
            for campaign in doc.playbooks.campaigns:
                self._add_campaign(campaign)

    def _slot(
        self,
        name: str,
        kind: ActionKind,
        day: date,
        source: Scheduled,
        extra: Variables,
        *,
        at: datetime | None = None,
        mature_only: bool = False,
        tag: str | None = None,
    ) -> Slot:
        """A slot of `source` (a column, action, ...) on `day` at its time (or at `at`), with
        its own content_tag unless `tag` is given."""
        tag = tag or getattr(source, "content_tag", None)
        when = at or local_at(day, getattr(source, "time"))  # noqa: B009
        variables = {**self._base, **content_variables(self.doc, tag), **extra}
        variables["date"] = when.date().isoformat()
        priority = getattr(source, "priority", 0)
        return Slot(name, kind, day, when, source.template, tag, mature_only, variables, priority)

    @property
    def days(self) -> list[date]:
        """Every date the book covers, the look-ahead day included."""
        return [self.first + timedelta(n) for n in range((self.last - self.first).days + 1)]

    def on(self, day: date) -> list[Slot]:
        """Slots whose phase date is `day` (cold-start slots excepted)."""
        slots = self._by_day.get(day)
        if slots is None:
            slots = [*self._columns(day), *self._mature_extras(day), *self._fixed.get(day, ())]
            self._by_day[day] = slots
        return slots

    def cold_start(self, start: date) -> list[Slot]:
        """Cold-start slots of a group that starts on `start` (only those in the book's range)."""
        slots = self._cold.get(start)
        if slots is None:
            slots = []
            cold = self.doc.playbooks.cold_start
            if cold is not None and "cold_start" in self.kinds:
                for act in cold.actions:
                    day = start + timedelta(act.day - 1)
                    if cold.holiday_policy == "shift":
                        day = after_holiday(day, self.calendar.is_holiday)
                    first = max(start, self.first)  # never before the group starts
                    for lead, post in posts_for(act, day, self.is_workday, first, self.end):
                        name = f"cold_start.{act.id}" + (f".d{lead}" if lead else "")
                        extra = {"day": act.day, "days_left": lead}
                        slots.append(self._slot(name, "cold_start", post, act, extra))
            slots += self._sign_in(start)
            self._cold[start] = slots
        return slots

    def _sign_in(self, start: date) -> list[Slot]:
        """The cold-start hook's day-N sign-in prompts (when it has a time and template)."""
        cold = self.doc.playbooks.cold_start
        hook = cold.hook if cold is not None and "cold_start" in self.kinds else None
        if hook is None or hook.time is None or hook.template is None:
            return []
        extra = {"streak_days": hook.streak_days, "reward": hook.reward}
        found = []
        for number in range(1, hook.streak_days + 1):
            day = start + timedelta(number - 1)
            if self.first <= day <= self.last:
                values = {**extra, "day": number}
                found.append(self._slot("cold_start.sign-in", "cold_start", day, hook, values))  # type: ignore[arg-type]
        return found

    def is_workday(self, day: date) -> bool:
        """The calendar's answer, remembering the years only its fallback could decide."""
        workday, guessed = self.calendar.lookup(day)
        if guessed:
            self.guessed_years.add(day.year)
        return workday

    def _columns(self, day: date) -> Iterable[Slot]:
        if "column" not in self.kinds or day > self.end:
            return
        for column in self.doc.schedule.columns:
            mature_only = column.id in self._mature_columns
            for lead in posts_on(column, day, self.is_workday):
                tag = self.content.tag_for(column, day + timedelta(lead))
                if column.content is not None and tag is None:
                    continue  # a calendar gap: warned about, not posted
                name = f"columns.{column.id}" + (f".d{lead}" if lead else "")
                extra = {"days_left": lead}
                kind: ActionKind = "task" if column.audience == "internal" else "column"
                yield self._slot(name, kind, day, column, extra, mature_only=mature_only, tag=tag)

    def _mature_extras(self, day: date) -> Iterable[Slot]:
        mature = self.doc.playbooks.mature
        if mature is None:
            return
        sale = mature.flash_sale
        if sale is not None and "flash_sale" in self.kinds:
            yield from self._flash_sale(sale, day)
        rfm = mature.rfm
        if rfm is not None and "rfm" in self.kinds and day <= self.end:
            month_end = (day.replace(day=28) + timedelta(4)).replace(day=1) - timedelta(1)
            if day == month_end - timedelta(rfm.days_before_month_end):
                extra = {**rfm_variables(rfm), "month": f"{day:%Y-%m}"}
                yield self._slot(f"rfm.{rfm.id}", "rfm", day, rfm, extra, mature_only=True)

    def _flash_sale(self, sale: FlashSale, day: date) -> Iterable[Slot]:
        weekday = WEEKDAY_NUMBERS[sale.weekday]
        for lead in posts_on(sale, day, self.is_workday, weekday):
            name = f"flash_sale.{sale.id}" + (f".d{lead}" if lead else "")
            extra = {**flash_sale_variables(sale), "days_left": lead}
            main = self._slot(name, "flash_sale", day, sale, extra, mature_only=True)
            yield main
            down = sale.countdown
            if down is not None and lead == 0:
                before = main.at - timedelta(minutes=down.minutes_before)
                extra = {**extra, "minutes_left": down.minutes_before}
                name = f"{name}.countdown"
                yield self._slot(name, "flash_sale", day, down, extra, at=before, mature_only=True)

    def _add_calendar_columns(self) -> None:
        for column in self.doc.schedule.calendar_columns:
            # one name for every lead: leads of one yearly date fall on different dates
            for lead_days in lead_list(column.lead_days):
                lead = timedelta(lead_days)
                for when in occurrences(column.date, self.first + lead, self.last + lead):
                    day = when - lead
                    extra = {"days_left": lead_days, "calendar_date": when.isoformat()}
                    slot = self._slot(f"calendar.{column.id}", "calendar", day, column, extra)
                    self._fixed[day].append(slot)

    def _add_campaign(self, campaign: Campaign) -> None:
        window = campaign.window
        # lead days reach back from a run's day: runs up to `ahead` after the book count too
        ahead = lead_reach(campaign)
        runs = campaign_runs(campaign, self.first, self.last + ahead)
        static = campaign_variables(campaign)
        deadline = next((r for r in campaign.scarcity if r.kind == "deadline"), None)
        for first_day, goal in runs:
            extra = dict(static)
            if deadline is not None and deadline.day is not None:
                ends = first_day + timedelta(deadline.day - 1)
                extra["deadline"] = f"{ends.isoformat()} {deadline.until}"
            for number in range(1, window.length + 1):
                day = first_day + timedelta(number - 1)
                if self.first <= day <= self.last + ahead:
                    self._campaign_day(campaign, number, day, extra, (first_day, goal))

    def _campaign_day(
        self,
        campaign: Campaign,
        number: int,
        day: date,
        extra: Variables,
        run_days: tuple[date, date],
    ) -> None:
        """Slots of campaign day `number` (on `day`) of the run (first day, goal date)."""
        prefix, (first_day, goal) = f"campaigns.{campaign.id}", run_days
        for act in campaign.actions:
            if act.day not in (None, number):
                continue
            posts = posts_for(act, day, self.is_workday, self.first, self.end)
            if not posts:
                continue
            name = f"{prefix}.{act.id}"
            rotate = act.content.rotate if act.content is not None else None
            run = run_number(campaign, first_day, rotate.start) if rotate else 0
            tag = self.content.tag_for_run(name, act.content, act.content_tag, day, run)
            if act.content is not None and tag is None:
                continue  # a calendar gap: warned about, not posted
            for lead, post in posts:
                values = {**extra, "days_left": max(0, (goal - post).days), "day": number}
                slot_name = name + (f".d{lead}" if lead else "")
                slot = self._slot(slot_name, "campaign", post, act, values, tag=tag)
                self._fixed[post].append(slot)
        if not self.first <= day <= self.last:
            return
        extra = {**extra, "days_left": max(0, (goal - day).days)}
        check = campaign.check_in
        if check is not None and check.start_day <= number < check.start_day + check.days:
            values = {**extra, "day": number - check.start_day + 1}
            slot = self._slot(f"{prefix}.check_in", "campaign", day, check, values)
            self._fixed[day].append(slot)
