"""Who is in each group: member state per group and the day's joiners."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from simulator.clock import DAY_SECONDS, ActivityClock, stream
from simulator.params import MEMBER_TYPES, SimulationParams

NEVER = -(10**9)  # ordinal for "never" / "long before the simulation"


@dataclass(frozen=True)
class GroupSpec:
    """One simulated group. `new_group`: its `size` members join on the first simulated day
    (join events, first-week churn, welcomes apply); otherwise they are established members."""

    id: str
    size: int
    start_date: date
    sop_id: str
    new_group: bool = False


@dataclass(frozen=True)
class GroupState:
    """Current members of one group as parallel arrays, plus what the group remembers."""

    spec: GroupSpec
    effect: float  # engagement multiplier of the group (log-normal random effect)
    ids: np.ndarray  # object: member ids
    types: np.ndarray  # int8: index into MEMBER_TYPES
    join_day: np.ndarray  # int64 ordinal of the join day (NEVER: established member)
    welcomed_day: np.ndarray  # int64 ordinal of the last welcome (NEVER: none)
    profile_done: np.ndarray  # bool
    next_seq: int  # sequence number of the next member id
    last_cold_start: int = NEVER  # ordinal of the last cold-start push
    pending_initial: int = 0  # members of a new group still to join

    @property
    def size(self) -> int:
        """Number of current members."""
        return int(self.ids.size)


@dataclass(frozen=True)
class JoinDraw:
    """The joiners of one group on one day (members in join-time order)."""

    exposures: int
    seconds: np.ndarray  # float64 join times after local midnight
    types: np.ndarray  # int8
    ids: np.ndarray  # object
    referrer: np.ndarray  # int64 index into the day-start members, -1 for organic joins


def member_id(group: str, seq: int) -> str:
    """The id of the `seq`-th member ever created in `group`."""
    return f"{group}-m{seq:05d}"


def initial_state(params: SimulationParams, spec: GroupSpec) -> GroupState:
    """The group before its first simulated day: group effect and (unless new) its members."""
    effect = float(
        np.exp(stream(params.seed, spec.id, None, "effect").normal(0.0, params.group_effect_sd))
    )
    size = 0 if spec.new_group else spec.size
    rng = stream(params.seed, spec.id, None, "init")
    types = rng.choice(len(MEMBER_TYPES), size=size, p=params.type_shares).astype(np.int8)
    return GroupState(
        spec=spec,
        effect=effect,
        ids=np.array([member_id(spec.id, s) for s in range(size)], dtype=object),
        types=types,
        join_day=np.full(size, NEVER, dtype=np.int64),
        welcomed_day=np.full(size, NEVER, dtype=np.int64),
        profile_done=np.ones(size, dtype=bool),  # established members did it long ago
        next_seq=size,
        pending_initial=spec.size if spec.new_group else 0,
    )


def draw_joins(
    params: SimulationParams,
    state: GroupState,
    day: date,
    version: str | None,
    clock: ActivityClock,
) -> JoinDraw:
    """Exposures, organic joins and referred joins of one group-day (pure: state is unchanged)."""
    rng = stream(params.seed, state.spec.id, day, "joins")
    mean_exposures = params.joins_per_day / params.join_rate
    exposures = int(rng.poisson(mean_exposures)) if mean_exposures > 0 else 0
    organic = int(rng.binomial(exposures, params.join_rate)) + state.pending_initial
    p_ref = params.rate_arrays["referral"][state.types] * params.version_effect(version, "referral")
    referrers = np.flatnonzero(rng.random(state.size) < np.clip(p_ref, 0.0, 1.0))
    count = organic + referrers.size
    seconds = clock.sample(rng, np.zeros(count), np.full(count, float(DAY_SECONDS)))
    types = rng.choice(len(MEMBER_TYPES), size=count, p=params.type_shares).astype(np.int8)
    referrer = np.concatenate([np.full(organic, -1, dtype=np.int64), referrers.astype(np.int64)])
    order = np.argsort(seconds, kind="stable")
    seqs = range(state.next_seq, state.next_seq + count)
    return JoinDraw(
        exposures=exposures,
        seconds=seconds[order],
        types=types[order],
        ids=np.array([member_id(state.spec.id, s) for s in seqs], dtype=object),
        referrer=referrer[order],
    )


def with_joiners(state: GroupState, joins: JoinDraw, day: date) -> GroupState:
    """The state with the day's joiners appended (they are members from their join time)."""
    k = joins.ids.size
    return replace(
        state,
        ids=np.concatenate([state.ids, joins.ids]),
        types=np.concatenate([state.types, joins.types]),
        join_day=np.concatenate([state.join_day, np.full(k, day.toordinal(), dtype=np.int64)]),
        welcomed_day=np.concatenate([state.welcomed_day, np.full(k, NEVER, dtype=np.int64)]),
        profile_done=np.concatenate([state.profile_done, np.zeros(k, dtype=bool)]),
        next_seq=state.next_seq + k,
        pending_initial=0,
    )
