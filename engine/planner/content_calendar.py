"""Which library item a column posts on a date (see `sop_models.content_plan`).

Shared by every group (content depends on the date, not the group), and remembers the gaps
(days with no item: the post is left out) and the repeats within `repeat_days` for warnings.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from engine.planner.day_rules import IsWorkday, selects
from sop_models import Column, SopDocument
from sop_models.checks_content import rotation_items

SHOWN = 5  # dates a warning lists before "and N more"


class ContentCalendar:
    """The content of each column with a `content` plan, date by date."""

    def __init__(self, doc: SopDocument, is_workday: IsWorkday) -> None:
        self.doc, self.is_workday = doc, is_workday
        self._library = [item.tag for item in doc.content_library]
        self._items: dict[str, list[str]] = {}
        self._counts: dict[str, dict[date, int]] = {}
        self.gaps: defaultdict[str, set[date]] = defaultdict(set)
        self._used: defaultdict[str, dict[date, str]] = defaultdict(dict)

    def tag_for(self, column: Column, when: date) -> str | None:
        """The tag `column` posts for its date `when`; None (a gap) when it has none."""
        plan = column.content
        if plan is None:
            return column.content_tag
        tag = next((e.tag for e in plan.schedule if e.date == when), None)
        if tag is None and plan.rotate is not None:
            items = self._rotation(column)
            if items:
                tag = items[self._post_number(column, when) % len(items)]
        tag = tag or column.content_tag
        if tag is None:
            self.gaps[column.id].add(when)
        else:
            self._used[column.id][when] = tag
        return tag

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
        for column_id, days in sorted(self.gaps.items()):
            shown = sorted(d for d in days if first <= d <= last)
            if shown:
                lines.append(
                    f"content calendar gap: columns.{column_id} has no content on "
                    f"{_dates(shown)} (not posted)"
                )
        repeat = {c.id: c.content.repeat_days for c in self.doc.schedule.columns if c.content}
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
                more = f" and {len(close) - SHOWN} more" if len(close) > SHOWN else ""
                lines.append(
                    f"columns.{column_id} repeats an item within {repeat[column_id]} days: "
                    f"{'; '.join(close[:SHOWN])}{more}"
                )
        return lines


def _dates(days: list[date]) -> str:
    more = f" and {len(days) - SHOWN} more" if len(days) > SHOWN else ""
    return ", ".join(d.isoformat() for d in days[:SHOWN]) + more
