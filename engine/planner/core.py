"""The planner: a pure function from an SOP version, groups, joins and a date window to actions.

Phases (see `sop_models.playbooks`): a group's start date is day 1; days 1..cold_start.days
are the cold start, afterwards it is mature. Columns listed in `mature.columns`, the flash
sale and the RFM task run only in the mature phase; other columns, calendar columns and
campaigns run from day 1; on-join actions run for every join. Nothing is planned for a
group before its start date. A group without a start date counts as mature (no cold start).

Every action has a stable key `{sop}:{version}:{group}:{slot}:{YYYY-MM-DD}`, the date being
the local date of `at`; on-join actions add `:{member}` and use the join's local date, so a
join is one set of keys however its delays fall (on-join actions deferred out of quiet hours
are merged per group and morning instead: `engine.planner.welcomes`). Planning the same
window twice gives the same actions. The RFM task is an operator task: it goes to the
`tasklist` channel, never to customers.

The planner is a window function: it plans every action with `at` in [start 00:00,
end 24:00) Asia/Shanghai and reads no clock. An on-join action belongs to the window its `at`
falls in, not the join's: a 23:45 join's 30-minute self-intro is planned by the next day's
window (its key keeps the join's date, so both days' plans name it alike). Callers fetch
the joins `join_window` gives, which reaches back by the longest on-join delay. `now` is
accepted for symmetry with the other services and changes nothing: deciding what is already
due or past is the dispatcher's job (the ledger dedupes by key).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Protocol, get_args

from engine import render as rendering
from engine.calendar import LIBRARY_ONLY, WorkdayCalendar, fallback_warning
from engine.planner.slots import TZ, Slot, SlotBook
from engine.planner.spacing import POSTS, apply_quiet_hours, apply_spacing
from engine.planner.welcomes import MERGED, plan_welcomes
from engine.quota import CapRule, quota_warnings
from sop_models import SopDocument
from sop_models.actions import ActionKind, PlannedAction, action_key, is_internal
from sop_models.errors import PlanError
from sop_models.i18n import tr

ACTION_KINDS: frozenset[str] = frozenset(get_args(ActionKind))
OPERATOR_CHANNEL = "tasklist"
"""Where operator tasks (`sop_models.actions.is_internal`) go, whatever the group's channel."""


class GroupLike(Protocol):
    """What the planner reads from a group (engine.groups.Group has it)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def sender(self) -> str: ...
    @property
    def start_date(self) -> date | None: ...


class JoinLike(Protocol):
    """What the planner reads from a member join (engine.members.MemberJoin has it)."""

    @property
    def group_id(self) -> str: ...
    @property
    def member_id(self) -> str: ...
    @property
    def member_name(self) -> str: ...
    @property
    def joined_at(self) -> datetime: ...


@dataclass
class Plan:
    """Planned actions sorted by (at, group, slot, member) and warnings, one line each."""

    actions: list[PlannedAction] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    priorities: dict[str, int] = field(default_factory=dict)
    """Declared priority by action key (0 when absent), for spacing across layers."""


class _Builder:
    """Turns slots into actions for groups, rendering each distinct message once."""

    def __init__(self, doc: SopDocument, version: str) -> None:
        self.doc, self.version = doc, version
        self.reads = {t.id: frozenset(t.variables) for t in doc.templates}
        self.cache: dict[tuple[object, str | None], rendering.RenderedMessage] = {}
        self.actions: list[PlannedAction] = []
        self.priorities: dict[str, int] = {}

    def message(self, slot: Slot, group_name: str) -> rendering.RenderedMessage:
        name = group_name if "group_name" in self.reads[slot.template] else None
        found = self.cache.get((slot, name))
        if found is None:
            variables = {**slot.variables, "group_name": group_name}
            found = rendering.render(self.doc, slot.template, variables)
            self.cache[(slot, name)] = found
        return found

    def add(
        self,
        group: GroupLike,
        slot: Slot,
        message: rendering.RenderedMessage,
        key_day: date,
        member: str | None = None,
    ) -> None:
        parts = [self.doc.id, self.version, group.id, slot.name, key_day.isoformat()]
        channel = OPERATOR_CHANNEL if is_internal(slot.kind) else group.channel
        self.actions.append(
            PlannedAction(
                key=action_key(*parts, *([] if member is None else [member])),
                sop_id=self.doc.id,
                version=self.version,
                group_id=group.id,
                at=slot.at,
                kind=slot.kind,
                slot=slot.name,
                text=message.text,
                msgtype=message.msgtype,
                content_tag=slot.content_tag,
                member_id=None if member == MERGED else member,  # a merged welcome: extra
                channel=channel,
                target=group.target,
                sender=group.sender,
                extra=message.extra,  # shared by identical messages; never mutate
                content_title=_title(slot),
            )
        )
        if slot.priority:
            self.priorities[self.actions[-1].key] = slot.priority


def _title(slot: Slot) -> str | None:
    title = slot.variables.get("content_title")
    return title if isinstance(title, str) else None


def _group_slots(book: SlotBook, group: GroupLike, days: list[date]) -> list[Slot]:
    start = group.start_date
    cold = book.doc.playbooks.cold_start
    mature_from = start + timedelta(cold.days) if start and cold else start or date.min
    found = list(book.cold_start(start)) if start is not None else []
    for day in days:
        if start is not None and day < start:
            continue
        mature = day >= mature_from
        found.extend(slot for slot in book.on(day) if mature or not slot.mature_only)
    return found


def join_window(docs: Iterable[SopDocument], start: date, end: date) -> tuple[datetime, datetime]:
    """Join instants [low, high) whose on-join actions (of any of `docs`) can fall in the window.

    A run for `start`..`end` must look at joins from before `start` too, by the longest delay,
    or an action whose delay crosses midnight is planned by no day's run.
    """
    docs = list(docs)
    longest = max((a.delay_minutes for d in docs for a in d.schedule.on_join), default=0)
    if any(d.schedule.quiet_hours is not None for d in docs):
        longest += 24 * 60  # a welcome deferred out of the night before's quiet hours
    low = datetime.combine(start, time(), tzinfo=TZ) - timedelta(minutes=longest)
    return low, datetime.combine(end + timedelta(1), time(), tzinfo=TZ)


def plan(
    *,
    doc: SopDocument,
    version: str,
    groups: Sequence[GroupLike],
    start: date,
    end: date,
    joins: Sequence[JoinLike] = (),
    now: datetime | None = None,
    kinds: set[str] | None = None,
    calendar: WorkdayCalendar = LIBRARY_ONLY,
    cap_rule: CapRule = "month",
    recent_content: Mapping[date, Collection[str]] | None = None,
) -> Plan:
    """Every action of `doc` (version `version`) for `groups` with `at` in [start, end] local.

    `recent_content` (date -> content tags) is what else went or goes out on those days
    (other layers, other versions): rotations with `skip_recent_days` pass over it.

    Workdays come from `calendar` (the library alone by default); a workday rule in a year
    without data follows the calendar's fallback and the plan warns, naming the year.
    `cap_rule` is the workspace's WeCom mass-message cap the warnings check against. Raises
    PlanError for an empty window or unknown kinds, TemplateRenderError for a template the
    document checks should have refused.
    """
    del now  # a window function: see the module docstring
    if end < start:
        raise PlanError(f"the window ends {end} before it starts {start}")
    wanted = frozenset(ACTION_KINDS if kinds is None else kinds)
    unknown = sorted(wanted - ACTION_KINDS)
    if unknown:
        raise PlanError(
            f"unknown action kind(s) {', '.join(unknown)}: use {', '.join(sorted(ACTION_KINDS))}"
        )
    quiet = doc.schedule.quiet_hours
    # a post deferred out of the quiet hours lands on the next day: build the day before too
    back = timedelta(1) if quiet is not None and quiet.action == "defer" else timedelta(0)
    # posts of other kinds still take their place in the spacing: build them, filter at the end
    build = wanted | POSTS if wanted & POSTS else wanted
    book = SlotBook(doc, start - back, end, build, calendar, recent_content)
    days = book.days
    unique = {g.id: g for g in reversed(groups)}  # first of repeated ids wins
    builder = _Builder(doc, version)
    for group in groups:
        if unique.get(group.id) is not group:
            continue
        for slot in _group_slots(book, group, days):
            builder.add(group, slot, builder.message(slot, group.name), slot.at.date())
    if "welcome" in wanted:
        plan_welcomes(doc, unique, joins, builder.add)
    low = datetime.combine(start, time(), tzinfo=TZ)
    high = datetime.combine(end + timedelta(1), time(), tzinfo=TZ)
    planned, quiet_warnings = apply_quiet_hours(builder.actions, quiet)
    kept: dict[str, PlannedAction] = {}
    for action in planned:
        if low <= action.at < high and action.key not in kept:
            kept[action.key] = action
    spaced, collisions = apply_spacing(
        list(kept.values()), builder.priorities, doc.schedule.spacing, quiet
    )
    actions = sorted(
        (a for a in spaced if a.kind in wanted),
        key=lambda a: (a.at.timestamp(), a.group_id, a.slot, a.member_id or ""),
    )
    warnings = _start_warnings(doc, list(unique.values())) + quota_warnings(actions, rule=cap_rule)
    warnings += quiet_warnings + collisions + book.content.warnings(start, end)
    if book.guessed_years:
        warnings.insert(0, fallback_warning(book.guessed_years, calendar.fallback))
    return Plan(actions=actions, warnings=warnings, priorities=builder.priorities)


def _start_warnings(doc: SopDocument, groups: list[GroupLike]) -> list[str]:
    if doc.playbooks.cold_start is None:
        return []
    missing = sorted(g.id for g in groups if g.start_date is None)
    if not missing:
        return []
    more = tr(" and {count} more").format(count=len(missing) - 5) if len(missing) > 5 else ""
    shown = tr(", ").join(missing[:5]) + more
    return [
        tr(
            "{count} group(s) without start_date planned as mature (no cold start): {groups}"
        ).format(count=len(missing), groups=shown)
    ]
