"""Month-end RFM member lists: the SOP's segments over the event store, as operator work.

`segment_lists` scores every member of the SOP's groups as of a day (engine/rfm.py) with the
RFM task of the SOP's version (production by default); `write_csv` writes the lists for the
operators; `rfm_notes` is the count per segment `sop today` shows with the internal RFM task.
Never a customer post: the lists go to people, not to groups.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Protocol, TypeVar

import duckdb

from engine.groups import list_groups
from engine.rfm import MemberScore, score_members
from services.event_imports import event_store
from services.workspace import Workspace
from sop_models import RfmTask, parse_document
from sop_models.errors import PlaybookError, SopflowError, one_line
from sop_models.i18n import tr

UNSEGMENTED = "未分层"
CSV_COLUMNS = (
    *("group", "member", "segment", "segment_name", "recency_days", "orders", "amount"),
    "referrals",
)


@dataclass(frozen=True)
class SegmentLists:
    """Who is in which segment of an SOP's RFM task on a day."""

    sop_id: str
    version: str
    day: date
    task: RfmTask
    members: list[MemberScore]

    def names(self) -> dict[str | None, str]:
        """Segment id -> its name (None: unsegmented)."""
        return {None: UNSEGMENTED, **{s.id: s.name for s in self.task.segments}}

    def counts(self, group_id: str | None = None) -> dict[str, int]:
        """Members per segment name, every segment listed (of one group, or all)."""
        seen = Counter(m.segment for m in self.members if group_id in (None, m.group_id))
        names = self.names()
        found = {names[s.id]: seen.get(s.id, 0) for s in self.task.segments}
        if seen.get(None):
            found[UNSEGMENTED] = seen[None]
        return found


def segment_lists(
    ws: Workspace, *, sop_id: str, day: date, ref: str = "production"
) -> SegmentLists:
    """The member lists of `sop_id` (at `ref`) as of `day`, from every group following it."""
    info = ws.store.resolve(sop_id, ref)
    doc = parse_document(ws.store.content(info), info.tag)
    task = doc.playbooks.mature.rfm if doc.playbooks.mature is not None else None
    if task is None:
        raise PlaybookError(
            f"{sop_id} {info.version} has no playbooks.mature.rfm: no segments to list"
        )
    with ws.session() as session:
        groups = [g.id for g in list_groups(session, sop_id=sop_id)]
    con = duckdb.connect()
    try:
        members = score_members(con, event_store(ws).source_sql(), task, day=day, groups=groups)
    finally:
        con.close()
    return SegmentLists(sop_id, str(info.version), day, task, members)


def write_csv(lists: SegmentLists, path: Path) -> int:
    """Write the lists (UTF-8 with BOM, so Excel shows Chinese); the number of members."""
    names = lists.names()
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for m in lists.members:
            recency = "" if m.recency_days is None else m.recency_days
            writer.writerow(
                [m.group_id, m.member, m.segment or "", names[m.segment], recency, m.orders,
                 f"{m.amount:.2f}", m.referrals]
            )  # fmt: skip
    return len(lists.members)


def rfm_notes(
    ws: Workspace, tasks: Iterable[tuple[str, str, str]], day: date
) -> dict[tuple[str, str, str], str]:
    """For each (sop, version, group) RFM task of `day`: a line with its count per segment."""
    notes: dict[tuple[str, str, str], str] = {}
    wanted = sorted(set(tasks))
    for sop_id, version in sorted({(s, v) for s, v, _ in wanted}):
        lists = segment_lists(ws, sop_id=sop_id, day=day, ref=version)
        for _, _, group_id in (t for t in wanted if t[:2] == (sop_id, version)):
            scope = None if lists.task.scope == "sop" else group_id
            counts = " · ".join(f"{name} {n}" for name, n in lists.counts(scope).items())
            notes[(sop_id, version, group_id)] = tr(
                "segment lists: {counts} (sop members segments {sop} --date {day} --csv FILE)"
            ).format(counts=counts, sop=sop_id, day=day.isoformat())
    return notes


class _Task(Protocol):
    """An item of the day's work (services.today.DayItem): a frozen dataclass."""

    kind: str
    sop_id: str
    version: str
    group_id: str
    text: str


Item = TypeVar("Item", bound=_Task)


def with_segment_counts(
    ws: Workspace, items: list[Item], day: date
) -> tuple[list[Item], list[str]]:
    """`items` with each RFM task's text followed by its count per segment; warnings for the
    lists that could not be computed (the task stays, without counts)."""
    wanted = [(i.sop_id, i.version, i.group_id) for i in items if i.kind == "rfm"]
    if not wanted:
        return items, []
    try:
        notes = rfm_notes(ws, wanted, day)
    except SopflowError as err:
        return items, [f"RFM member lists not computed: {one_line(err)}"]
    found = []
    for item in items:
        note = notes.get((item.sop_id, item.version, item.group_id)) if item.kind == "rfm" else None
        found.append(item if note is None else replace(item, text=f"{item.text}\n{note}"))  # type: ignore[type-var]
    return found, []
