"""A simulated community of groups: explicit membership state, simulated one day at a time.

Each (seed, group, day) has its own random streams, so simulating day 5 gives the same events
whether days 1-4 were simulated in the same call or in earlier ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import NamedTuple

import pyarrow as pa

from simulator.behaviour import simulate_group_day
from simulator.clock import DAY_SECONDS, ActivityClock, day_start, stream
from simulator.errors import ActionNotSimulable, SimulationError
from simulator.events import build_table
from simulator.params import MEMBER_TYPES, SimulationParams
from simulator.population import (
    GroupSpec,
    GroupState,
    draw_joins,
    initial_state,
    with_joiners,
)
from sop_models.actions import PlannedAction, is_internal

_Timed = list[tuple[float, PlannedAction]]


class Joiner(NamedTuple):
    """A member who joined a group: what a caller needs to plan the on-join welcome."""

    group: str
    member: str
    time: datetime  # Asia/Shanghai


@dataclass(frozen=True)
class DayResult:
    """The events of one simulated day and the members who joined during it."""

    events: pa.Table
    joined: list[Joiner]


class Community:
    """Groups and their members. Use `Community.create`, then `simulate_day` for each day."""

    def __init__(self, *, params: SimulationParams, states: Mapping[str, GroupState]) -> None:
        self._params = params
        self._clock = ActivityClock(params.hour_effect)
        self._states = dict(states)
        self._last_day: date | None = None

    @classmethod
    def create(cls, *, params: SimulationParams, groups: Sequence[GroupSpec]) -> Community:
        """A community with each group's initial members (ids and hidden member types)."""
        seen: set[str] = set()
        for spec in groups:
            if spec.id in seen:
                raise SimulationError(f"group {spec.id!r}: listed twice")
            if spec.size < 0:
                raise SimulationError(f"group {spec.id!r}: size must be >= 0, got {spec.size}")
            seen.add(spec.id)
        states = {spec.id: initial_state(params, spec) for spec in groups}
        return cls(params=params, states=states)

    @property
    def params(self) -> SimulationParams:
        """The parameters this community was created with."""
        return self._params

    @property
    def group_ids(self) -> tuple[str, ...]:
        """Group ids in creation order."""
        return tuple(self._states)

    @property
    def last_day(self) -> date | None:
        """The last simulated day (None before the first)."""
        return self._last_day

    def _state(self, group: str) -> GroupState:
        try:
            return self._states[group]
        except KeyError:
            raise SimulationError(f"unknown group {group!r}") from None

    def members(self, group: str) -> tuple[str, ...]:
        """Ids of the current members of `group`."""
        return tuple(self._state(group).ids)

    def member_types(self, group: str) -> dict[str, str]:
        """Ground truth member types (for tests and reports; decision code must not read it)."""
        state = self._state(group)
        return {m: MEMBER_TYPES[t] for m, t in zip(state.ids, state.types, strict=True)}

    def joiners(
        self, day: date, *, version_by_group: Mapping[str, str] | None = None
    ) -> list[Joiner]:
        """Who will join on `day` (same answer `simulate_day` gives), to plan on-time welcomes."""
        self._check_day(day)
        versions = version_by_group or {}
        start = day_start(day)
        out: list[Joiner] = []
        for gid, state in self._states.items():
            if state.spec.start_date <= day:
                joins = draw_joins(self._params, state, day, versions.get(gid), self._clock)
                out.extend(_joiners(gid, start, joins.ids, joins.seconds))
        return out

    def simulate_day(
        self,
        day: date,
        *,
        actions: Sequence[PlannedAction] = (),
        version_by_group: Mapping[str, str] | None = None,
    ) -> DayResult:
        """Simulate `day` for every started group: joins, responses to `actions`, leaves.

        Push actions must fall on `day` (local time); a welcome planned before `day` (for a
        member who joined earlier) is delivered at midnight, as a channel catching up would.
        """
        self._check_day(day)
        buckets = self._bucket(day, actions)
        versions = version_by_group or {}
        start = day_start(day)
        start_us = int(start.timestamp()) * 1_000_000
        parts, joined, after = [], [], {}
        for gid, state in self._states.items():
            if state.spec.start_date > day:
                continue
            version = versions.get(gid)
            joins = draw_joins(self._params, state, day, version, self._clock)
            pushes, welcomes = buckets.get(gid, ([], []))
            events, after[gid] = simulate_group_day(
                params=self._params,
                clock=self._clock,
                rng=stream(self._params.seed, gid, day, "day"),
                state=with_joiners(state, joins, day),
                joins=joins,
                day=day,
                day_start_us=start_us,
                version=version,
                pushes=pushes,
                welcomes=welcomes,
            )
            parts.append(events)
            joined.extend(_joiners(gid, start, joins.ids, joins.seconds))
        self._states.update(after)
        self._last_day = day
        return DayResult(events=build_table(parts), joined=joined)

    def _check_day(self, day: date) -> None:
        if self._last_day is not None and day <= self._last_day:
            raise SimulationError(f"day {day}: already simulated up to {self._last_day}")

    def _bucket(
        self, day: date, actions: Sequence[PlannedAction]
    ) -> dict[str, tuple[_Timed, _Timed]]:
        """Validate actions and sort them per group into (pushes, welcomes) in send order."""
        start = day_start(day)
        buckets: dict[str, tuple[_Timed, _Timed]] = {}
        for action in actions:
            where = f"action {action.key}"
            if action.group_id not in self._states:
                raise ActionNotSimulable(f"{where}: unknown group {action.group_id!r}")
            spec = self._states[action.group_id].spec
            if action.at.tzinfo is None:
                raise ActionNotSimulable(f"{where}: time {action.at.isoformat()} has no timezone")
            if is_internal(action.kind):  # an operator task, nothing reaches members
                continue
            if spec.start_date > day:
                raise ActionNotSimulable(f"{where}: group {spec.id!r} starts on {spec.start_date}")
            sec = (action.at - start).total_seconds()
            late_welcome = action.kind == "welcome" and sec < 0
            if sec >= DAY_SECONDS or (sec < 0 and not late_welcome):
                raise ActionNotSimulable(f"{where}: {action.at.isoformat()} is not on {day}")
            pushes, welcomes = buckets.setdefault(action.group_id, ([], []))
            if action.kind != "welcome":
                pushes.append((max(sec, 0.0), action))
                continue
            # a welcome merged out of the quiet hours (engine.planner.welcomes) reaches each
            # member it names in `extra.members`, like one welcome each at its time
            merged = [m for m in action.extra.get("members", "").split(",") if m]
            if not action.member_id and not merged:
                raise ActionNotSimulable(f"{where}: a welcome needs member_id")
            for member in [action.member_id] if action.member_id else merged:
                welcomes.append((max(sec, 0.0), replace(action, member_id=member)))
        for pushes, welcomes in buckets.values():
            pushes.sort(key=lambda item: (item[0], item[1].key))
            welcomes.sort(key=lambda item: (item[0], item[1].key))
        return buckets


def _joiners(
    group: str, start: datetime, ids: Sequence[str], seconds: Sequence[float]
) -> list[Joiner]:
    return [
        Joiner(group, m, start + timedelta(seconds=float(s)))
        for m, s in zip(ids, seconds, strict=True)
    ]


PlanFn = Callable[[date, Sequence[Joiner]], Sequence[PlannedAction]]


@dataclass(frozen=True)
class SimulationRun:
    """Result of `simulate`: all events, all joiners, and the community after the last day."""

    events: pa.Table
    joined: list[Joiner]
    community: Community


def simulate(
    *,
    params: SimulationParams,
    groups: Sequence[GroupSpec],
    days: Sequence[date],
    plan_fn: PlanFn,
    version_by_group: Mapping[str, str] | Callable[[date], Mapping[str, str]] | None = None,
) -> SimulationRun:
    """Simulate `days` in order; `plan_fn(day, joiners)` gives that day's actions.

    `joiners` are the day's joiners before they join, so welcomes can be planned on time.
    """
    community = Community.create(params=params, groups=groups)
    tables, joined = [], []
    for day in days:
        versions = version_by_group(day) if callable(version_by_group) else version_by_group
        actions = plan_fn(day, community.joiners(day, version_by_group=versions))
        result = community.simulate_day(day, actions=actions, version_by_group=versions)
        tables.append(result.events)
        joined.extend(result.joined)
    events = pa.concat_tables(tables) if tables else build_table([])
    return SimulationRun(events=events, joined=joined, community=community)
