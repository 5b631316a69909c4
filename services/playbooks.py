"""Playbook services: plan one day for every group of a playbook, dispatch per channel batch.

Flows call these; so do `sop run` (through a flow) and the demo. Each group follows an alias
(`production` or `candidate`) of its SOP, resolved here at run time, so promoting a version
changes what the next run sends without any redeploy.

A run never sends early: `plan_due` is the one rule for what a run at `now` sends. Actions
at or before `now` are due; today's later ones wait for their own run, and a future day's run
sends nothing. A due action older than the lateness window (setting `lateness_minutes`,
default 120) that is not in the ledger as sent or done is missed: reported, not sent, unless
the run catches up (`--catch-up`), so a 10:00 post never lands in a group at 20:00 unasked.
The scheduled runs go through the same rule. Sending what a run planned, batch by channel,
is `services.sending`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from itertools import product
from typing import Any, Literal
from zoneinfo import ZoneInfo

from engine import groups as group_registry
from engine import ledger, members
from engine.planner import Layer, join_window, plan_layers
from services.calendar import workspace_calendar
from services.planning import overlays_by_group
from services.triggers import trigger_actions
from services.workspace import Workspace
from sop_models import SopDocument, parse_document
from sop_models.actions import PlannedAction
from sop_models.errors import PlaybookError, SopflowError, VersionNotFound, one_line
from versions.store import VersionInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
Playbook = Literal["cold_start", "mature_day", "campaign", "welcome", "all"]
PLAYBOOK_KINDS: dict[str, set[str]] = {
    "cold_start": {"cold_start"},
    "mature_day": {"column", "flash_sale", "rfm", "task", "calendar"},
    "campaign": {"campaign"},
    "welcome": {"welcome"},
    "all": {"welcome", "cold_start", "column", "flash_sale", "rfm", "task", "calendar", "campaign"},
}
# Sent this long after its time, an action counts as late (the ledger's on-time default).
LATE_AFTER = ledger.ON_TIME_WINDOW
Timing = Literal["today", "catch_up", "future"]


@dataclass(frozen=True)
class RunFailure:
    """Part of a run that failed while the rest went on: an SOP's groups that could not be
    planned, or a channel batch that could not be sent."""

    stage: Literal["plan", "send"]
    sop_id: str
    groups: tuple[str, ...]
    error: str

    def as_dict(self) -> dict[str, object]:
        """Small, whatever the number of groups (the first ten are named)."""
        return {
            "stage": self.stage, "sop": self.sop_id, "groups": len(self.groups),
            "first_groups": list(self.groups[:10]), "error": self.error,
        }  # fmt: skip


def failure_text(err: BaseException) -> str:
    """One line for a run's summary: our errors as they read, others with their type."""
    text = one_line(err)
    return text if isinstance(err, SopflowError) else f"{type(err).__name__}: {text}"


@dataclass
class DayPlan:
    """Actions due on one day, plus planner warnings and groups that could not be planned."""

    day: date
    actions: list[PlannedAction] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)  # group id -> version used
    # Set by `plan_due`: the run's clock, and the day's actions after it (left to later runs).
    now: datetime | None = None
    later: list[PlannedAction] = field(default_factory=list)
    # Due longer ago than the lateness window, never sent: reported, not sent (no catch-up).
    missed: list[PlannedAction] = field(default_factory=list)
    lateness: timedelta | None = None
    failures: list[RunFailure] = field(default_factory=list)  # planned around, not stopped

    @property
    def timing(self) -> Timing | None:
        """Whether the run's day is today, a past day (catch-up) or a future day at `now`."""
        return None if self.now is None else timing(self.day, self.now)


def _document(ws: Workspace, info: VersionInfo, cache: dict[str, SopDocument]) -> SopDocument:
    if info.commit not in cache:
        cache[info.commit] = parse_document(ws.store.content(info), info.tag)
    return cache[info.commit]


Resolved = list[tuple[VersionInfo, SopDocument, list[group_registry.Group]]]


def _resolve(
    ws: Workspace,
    groups: Sequence[group_registry.Group],
    warnings: list[str],
    failures: list[RunFailure],
) -> Resolved:
    """Each (SOP, alias) of `groups` resolved to its version now; unresolvable ones warned."""
    by_ref: dict[tuple[str, str], list[group_registry.Group]] = defaultdict(list)
    for group in groups:
        by_ref[(group.sop_id, group.alias)].append(group)
    docs: dict[str, SopDocument] = {}
    resolved: Resolved = []
    for (group_sop, alias), members_of in sorted(by_ref.items()):
        try:
            info = ws.store.resolve(group_sop, alias)
        except VersionNotFound as err:
            warnings.append(f"{len(members_of)} group(s) not planned: {err}")
            continue
        try:
            resolved.append((info, _document(ws, info, docs), members_of))
        except Exception as err:  # a stored document that no longer parses stops only its SOP
            ids = tuple(g.id for g in members_of)
            failures.append(RunFailure("plan", group_sop, ids, failure_text(err)))
    return resolved


def plan_day(
    ws: Workspace,
    *,
    playbook: Playbook,
    day: date,
    sop_id: str | None = None,
    until: datetime | None = None,
) -> DayPlan:
    """Every action of `playbook` due on `day` (up to `until`, if given) for every group.

    On-join actions come from every join whose delay lands them on `day`, including joins of
    the days before (a 23:45 join's 30-minute self-intro is the next day's); their keys carry
    the join's date, so the day of the join never plans them again. A rolling run (`until`
    given: the on-join loop) also plans the day before's on-join actions, so a join after the
    day's last loop run (23:58) is welcomed by the first run after midnight; the ledger skips
    what an earlier run sent.
    """
    result = _plan(ws, playbook=playbook, day=day, sop_id=sop_id, rolling=until is not None)
    if until is not None:
        result.actions = [a for a in result.actions if a.at <= until]
    return result


def timing(day: date, now: datetime) -> Timing:
    """`day` seen from `now` (Asia/Shanghai): today, a past day or a future day."""
    today = now.astimezone(SHANGHAI).date()
    return "today" if day == today else "catch_up" if day < today else "future"


def plan_due(
    ws: Workspace,
    *,
    playbook: Playbook,
    now: datetime,
    day: date | None = None,
    sop_id: str | None = None,
    catch_up: bool = False,
    keep: Callable[[str], bool] | None = None,
) -> DayPlan:
    """What a run at `now` sends of `day` (default: today): the actions at or before `now`
    and, unless `catch_up`, not older than the lateness window.

    The rest of the day goes to `later`, for the runs at their own times: nothing is sent
    ahead of time. Due actions older than the window that the ledger has not seen sent or
    done go to `missed`. A future day has nothing due. A run of today also plans the day
    before's late on-join actions (see `plan_day`) and, for the welcome loop, the threshold
    triggers the live counts fire now (`services.triggers`). `keep(group_id)`, when given,
    picks the groups to plan (one shard of them, `services.shards`).
    """
    the_day = day or now.astimezone(SHANGHAI).date()
    rolling = timing(the_day, now) == "today"
    result = _plan(ws, playbook=playbook, day=the_day, sop_id=sop_id, rolling=rolling, keep=keep)
    if rolling and "welcome" in PLAYBOOK_KINDS[playbook]:  # the loop also fires live triggers
        fired = trigger_actions(ws, now=now, sop_id=sop_id)
        mine = [a for a in fired.actions if keep is None or keep(a.group_id)]
        result.actions, result.warnings = (
            [*result.actions, *mine],
            [*result.warnings, *fired.warnings],
        )
        result.failures += [RunFailure("plan", *failed) for failed in fired.failures]
    result.now = now.astimezone(SHANGHAI)  # shown beside the actions' own (plan) times
    result.later = [a for a in result.actions if a.at > now]
    due = [a for a in result.actions if a.at <= now]
    window = timedelta(minutes=ws.settings.lateness_minutes)
    result.lateness = window
    old = [] if catch_up else [a for a in due if a.at < now - window]
    if old:
        with ws.session() as session:
            view = ledger.read_ledger(session, old)
        settled = {
            k for k, state in view.states.items() if state.status in ledger.SETTLED
        } | view.posted_elsewhere
        result.missed = [a for a in old if a.key not in settled]
    missed = {a.key for a in result.missed}
    result.actions = [a for a in due if a.key not in missed]
    return result


def record_missed(ws: Workspace, planned: DayPlan, *, now: datetime) -> None:
    """Leave a trace of what a run did not send because it was too late (`planned.missed`):
    pending ledger rows marked missed, counted by summaries and listed for attention."""
    if planned.missed:
        with ws.session() as session:
            ledger.add_missed(session, planned.missed, now)
            session.commit()


def _plan(
    ws: Workspace,
    *,
    playbook: Playbook,
    day: date,
    sop_id: str | None,
    rolling: bool,
    keep: Callable[[str], bool] | None = None,
) -> DayPlan:
    """The whole day's actions (with the day before's on-join ones when `rolling`)."""
    result = DayPlan(day=day)
    kinds = PLAYBOOK_KINDS[playbook]
    with ws.session() as session:
        groups = group_registry.list_groups(session, sop_id=sop_id)
    if keep is not None:
        groups = [g for g in groups if keep(g.id)]
    resolved = _resolve(ws, groups, result.warnings, result.failures)
    windows = [(day, day, kinds)]
    if rolling and "welcome" in kinds:
        windows.insert(0, (day - timedelta(1), day - timedelta(1), {"welcome"}))
    joins: list[members.MemberJoin] = []
    if "welcome" in kinds and resolved:
        low, high = join_window([doc for _, doc, _ in resolved], windows[0][0], day)
        with ws.session() as session:
            joins = members.joins_between(session, low, high)
    calendar = workspace_calendar(ws)  # official data + the days the workspace entered
    for info, doc, members_of in resolved:
        ids = {g.id for g in members_of}
        mine = [j for j in joins if j.group_id in ids]
        try:  # each group with the overlays it follows (its arm of an overlay experiment)
            parts = overlays_by_group(ws, base=doc.id, groups=members_of)
        except SopflowError as err:  # an overlay that cannot be read stops only itself
            result.failures.append(
                RunFailure("overlay", doc.id, tuple(sorted(ids)), failure_text(err))
            )
            parts = [([], members_of)]
        base = Layer(doc, str(info.version))
        for (overlays, part), (start, end, wanted) in product(parts, windows):
            plan_for = partial(
                plan_layers, base=base, overlays=overlays, start=start, end=end, joins=mine,
                kinds=wanted, calendar=calendar, cap_rule=ws.settings.wecom_mass_cap,
            )  # fmt: skip
            for planned in _isolated(plan_for, doc.id, part, result.failures):
                if start == day:  # the catch-up window's warnings are the day before's
                    result.warnings.extend(planned.warnings)
                result.actions.extend(planned.actions)
        failed = {g for f in result.failures if f.sop_id == doc.id for g in f.groups}
        for group_id in ids - failed:
            result.versions[group_id] = str(info.version)
    result.actions.sort(key=lambda a: (a.at, a.group_id, a.slot, a.key))
    return result


def _isolated(
    plan_for: Callable[..., Any],
    sop_id: str,
    groups: list[group_registry.Group],
    failures: list[RunFailure],
) -> list[Any]:
    """Plans of an SOP's groups; when planning them together fails, each group alone, so
    one group's failure (a template, a calendar year without data) stops only that group.
    Failures are appended to `failures`: one per SOP when every group fails alike."""
    try:
        return [plan_for(groups=groups)]
    except Exception:
        pass
    plans: list[Any] = []
    errors: dict[str, list[str]] = defaultdict(list)
    for group in groups:
        try:
            plans.append(plan_for(groups=[group]))
        except Exception as err:  # one group's failure is recorded, the others go on
            errors[failure_text(err)].append(group.id)
    failures.extend(RunFailure("plan", sop_id, tuple(ids), text) for text, ids in errors.items())
    return plans


def check_run_day(day: date | None, *, now: datetime, dry_run: bool) -> None:
    """Refuse a run of a future day (nothing would be due) unless it is a dry run."""
    if day is not None and not dry_run and timing(day, now) == "future":
        raise PlaybookError(
            f"{day.isoformat()} is a future day: a run sends only what is due, and nothing is "
            f"due yet; use --dry-run to see its plan"
        )


def check_playbook(name: str) -> Playbook:
    """Validate a playbook name from the CLI."""
    if name not in PLAYBOOK_KINDS:
        raise PlaybookError(
            f"unknown playbook {name!r}; choose one of {', '.join(sorted(PLAYBOOK_KINDS))}"
        )
    return name  # type: ignore[return-value]
