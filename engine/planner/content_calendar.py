"""Which library item a column posts on a date (see `sop_models.content_plan`).

Shared by every group (content depends on the date, not the group), and remembers the gaps
(days with no item: the post is left out) and the repeats within `repeat_days` for warnings.

A rotation with `skip_recent_days` depends on what was posted before, so the calendar walks
every day from the earliest such rotation's `start` (not from the window's first day): the
item of a date is the same whichever window plans it. The walk knows what this document's
columns post; what others posted (the layers planned before this one, or history the caller
knows) comes in as `recent` (date -> tags). The walk replays the history with this version's
library: a version's document never changes, so within one version that replay is exactly
what went out; across a version change the caller's `recent` fills the difference.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import date, timedelta

from engine.planner.day_rules import IsWorkday, selects
from sop_models import Column, SopDocument
from sop_models.checks_content import rotation_items
from sop_models.content_plan import ContentPlan
from sop_models.i18n import tr

SHOWN = 5  # dates a warning lists before "and N more"


class ContentCalendar:
    """The content of each column with a `content` plan, date by date."""

    def __init__(
        self,
        doc: SopDocument,
        is_workday: IsWorkday,
        recent: Mapping[date, Collection[str]] | None = None,
    ) -> None:
        self.doc, self.is_workday = doc, is_workday
        self.recent = recent or {}
        self._library = [item.tag for item in doc.content_library]
        self._items: dict[str, list[str]] = {}
        self._counts: dict[str, dict[date, int]] = {}
        self.gaps: defaultdict[str, set[date]] = defaultdict(set)  # by slot name
        self._used: defaultdict[str, dict[date, str]] = defaultdict(dict)
        self._repeat: dict[str, int] = {}
        skipping = [
            c.content.rotate.start
            for c in doc.schedule.columns
            if c.content and c.content.rotate and c.content.rotate.skip_recent_days
        ]
        self._walked = min(skipping, default=None)  # the next day the walk decides
        self._walk_start = self._walked
        self._pointer: dict[str, int] = {}
        self._picked: dict[tuple[str, date], str | None] = {}
        self._day_tags: defaultdict[date, set[str]] = defaultdict(set)

    def tag_for(self, column: Column, when: date) -> str | None:
        """The tag `column` posts for its date `when`; None (a gap) when it has none."""
        if column.content is None:
            return column.content_tag
        if self._walk_start is not None and when >= self._walk_start:
            self._walk(when)
            tag = self._picked.get((column.id, when))
        else:
            tag = self._fixed_rule(column, when)
        return self._note(f"columns.{column.id}", column.content, when, tag)

    def tag_for_run(
        self, name: str, plan: ContentPlan | None, fallback: str | None, when: date, run: int
    ) -> str | None:
        """The tag of a campaign action (slot `name`) posted on `when` in its campaign's run
        number `run` (counted from the rotation's start): the scheduled item, else the
        rotation's item for that run, else `fallback`; None (a gap) when none."""
        if plan is None:
            return fallback
        tag = next((e.tag for e in plan.schedule if e.date == when), None)
        if tag is None and plan.rotate is not None:
            items = self._items.get(name)
            if items is None:
                rotate = plan.rotate.model_dump(exclude_none=True)
                items = self._items[name] = rotation_items(rotate, self._library)
            tag = items[run % len(items)] if items else None
        return self._note(name, plan, when, tag or fallback)

    def _note(self, name: str, plan: ContentPlan, when: date, tag: str | None) -> str | None:
        """Remember a gap or a use of slot `name` for the warnings."""
        self._repeat[name] = plan.repeat_days
        if tag is None:
            self.gaps[name].add(when)
        else:
            self._used[name][when] = tag
        return tag

    def _fixed_rule(self, column: Column, when: date) -> str | None:
        """The item by the rule alone: the schedule, the post count into the rotation, the tag."""
        plan = column.content
        assert plan is not None
        tag = next((e.tag for e in plan.schedule if e.date == when), None)
        if tag is None and plan.rotate is not None:
            items = self._rotation(column)
            if items:
                tag = items[self._post_number(column, when) % len(items)]
        return tag or column.content_tag

    def _walk(self, until: date) -> None:
        """Decide every column's item day by day up to `until` (see the module docstring)."""
        assert self._walked is not None
        while self._walked <= until:
            day = self._walked
            for column in self.doc.schedule.columns:
                plan = column.content
                if not selects(column, day, self.is_workday):
                    continue
                rotate = plan.rotate if plan is not None else None
                if plan is None:
                    tag = column.content_tag  # a fixed item is used too
                elif rotate is None or not rotate.skip_recent_days or day < rotate.start:
                    tag = self._fixed_rule(column, day)
                else:
                    tag = self._next_item(column, day, rotate.skip_recent_days)
                self._picked[(column.id, day)] = tag
                if tag is not None:
                    self._day_tags[day].add(tag)
            self._walked = day + timedelta(1)

    def _next_item(self, column: Column, day: date, skip_days: int) -> str | None:
        """The scheduled item, else the rotation's next item not used in `skip_days` days."""
        assert column.content is not None
        pointer = self._pointer.get(column.id, 0)
        self._pointer[column.id] = pointer + 1  # a scheduled day counts as a post too
        scheduled = next((e.tag for e in column.content.schedule if e.date == day), None)
        items = self._rotation(column)
        if scheduled is not None or not items:
            return scheduled or column.content_tag
        recent: set[str] = set()
        for back in range(skip_days):
            earlier = day - timedelta(back)
            recent |= self._day_tags.get(earlier, set()) | set(self.recent.get(earlier, ()))
        for step in range(len(items)):
            tag = items[(pointer + step) % len(items)]
            if tag not in recent:
                self._pointer[column.id] = pointer + step + 1
                return tag
        return items[pointer % len(items)]  # every item is recent: the repeat is warned about

    def _rotation(self, column: Column) -> list[str]:
        found = self._items.get(column.id)
        if found is None:
            assert column.content is not None and column.content.rotate is not None
            rotate = column.content.rotate.model_dump(exclude_none=True)
            found = self._items[column.id] = rotation_items(rotate, self._library)
        return found

    def _post_number(self, column: Column, when: date) -> int:
        """Posts of `column` from the rotation's start up to (not including) `when`."""
        assert column.content is not None and column.content.rotate is not None
        start = column.content.rotate.start
        counts = self._counts.setdefault(column.id, {})
        if when in counts:
            return counts[when]
        step, low, high, sign = timedelta(1), min(start, when), max(start, when), 1
        if when < start:
            sign = -1
        number, day = 0, low
        while day < high:
            number += selects(column, day, self.is_workday)
            day += step
        counts[when] = sign * number
        return counts[when]

    def warnings(self, first: date, last: date) -> list[str]:
        """Gaps and repeats of the dates in [first, last], one line per column."""
        lines = []
        for name, days in sorted(self.gaps.items()):
            shown = sorted(d for d in days if first <= d <= last)
            if shown:
                lines.append(
                    tr(
                        "content calendar gap: {slot} has no content on {dates} (not posted)"
                    ).format(slot=name, dates=_dates(shown))
                )
        repeat = self._repeat
        for column_id, used in sorted(self._used.items()):
            last_seen: dict[str, date] = {}
            close: list[str] = []
            for day in sorted(d for d in used if first <= d <= last):
                tag = used[day]
                before = last_seen.get(tag)
                if before is not None and (day - before).days < repeat[column_id]:
                    close.append(f"{tag} {before:%m-%d}/{day:%m-%d}")
                last_seen[tag] = day
            if close:
                more = _more(len(close))
                lines.append(
                    tr("{column} repeats an item within {days} days: {cases}").format(
                        column=column_id, days=repeat[column_id], cases=tr("; ").join(close[:SHOWN])
                    )
                    + more
                )
        return lines


def _more(count: int) -> str:
    return tr(" and {count} more").format(count=count - SHOWN) if count > SHOWN else ""


def _dates(days: list[date]) -> str:
    return tr(", ").join(d.isoformat() for d in days[:SHOWN]) + _more(len(days))
