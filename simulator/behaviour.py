"""How members of one group behave on one day, given what the SOP sent and when.

Vectorised per push: one draw per recipient and behaviour, never a loop over members.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from simulator.clock import DAY_SECONDS, ActivityClock
from simulator.events import DayEvents, EventBuffer
from simulator.params import SimulationParams
from simulator.population import GroupState, JoinDraw
from sop_models.actions import PlannedAction
from sop_models.messages import message_key, message_of_delivery

_FLASH = "flash_sale"


@dataclass
class _GroupDay:
    """Everything the responses of one group-day need; arrays cover all members of the day."""

    params: SimulationParams
    clock: ActivityClock
    rng: np.random.Generator
    buf: EventBuffer
    version: str | None
    ordinal: int
    engagement: float
    types: np.ndarray
    start: np.ndarray  # second the member is there from (0, or the join time)
    leave: np.ndarray  # second the member leaves (inf: stays)
    welcomed_day: np.ndarray
    ordered: np.ndarray  # bool: ordered today

    def effect(self, kind: str, behaviour: str) -> float:
        return self.params.kind_effect(kind, behaviour) * self.params.version_effect(
            self.version, behaviour, kind=kind
        )

    def rate(self, name: str, idx: np.ndarray) -> np.ndarray:
        return self.params.rate_arrays[name][self.types[idx]]

    def bernoulli(self, p: np.ndarray) -> np.ndarray:
        return self.rng.random(p.shape) < np.clip(p, 0.0, 0.99)

    def later(self, seconds: np.ndarray, idx: np.ndarray, mean: float) -> np.ndarray:
        """Seconds after `seconds` (exponential delay), before the member leaves and midnight."""
        t = seconds + self.rng.exponential(mean, seconds.shape)
        t = np.minimum(np.minimum(t, self.leave[idx] - 1.0), DAY_SECONDS - 1.0)
        return np.maximum(np.floor(t), seconds)


def _label(action: PlannedAction) -> tuple[str | None, ...]:
    """The labels of the answers to one action: its version, SOP and message key (the one its
    delivery key holds, or built from its fields when the key has another shape)."""
    parts = action.key.split(":")
    if len(parts) >= 5 and parts[:2] == [action.sop_id, action.version]:
        message = message_of_delivery(action.key)
    else:
        message = message_key(action.sop_id, action.version, action.slot, action.at.date())
    return (action.version, action.sop_id, message)


def _respond(day: _GroupDay, idx: np.ndarray, sent: float, kind: str, label: int) -> None:
    """Opens, replies, clicks, participation, orders and coupons of recipients `idx`."""
    p, buf = day.params, day.buf
    # A welcome makes the following week's pushes more likely to be read (not itself).
    recent = (day.welcomed_day[idx] >= day.ordinal - 6) & (kind != "welcome")
    p_open = (
        day.rate("open", idx)
        * day.engagement
        * day.clock.hour_multiplier(sent)
        * day.effect(kind, "open")
        * np.where(recent, p.welcome_open_boost, 1.0)
    )
    opened = idx[day.bernoulli(p_open)]
    t_open = day.later(np.full(opened.size, sent), opened, p.open_delay_minutes * 60.0)
    buf.add("open", t_open, member=opened, label=label)

    replied = day.bernoulli(day.rate("reply", opened) * day.effect(kind, "message"))
    buf.add("message", day.later(t_open[replied], opened[replied], 300.0), member=opened[replied])

    part = day.bernoulli(day.rate("participate", opened) * day.effect(kind, "participate"))
    t_part = day.later(t_open[part], opened[part], 600.0)
    buf.add("participate", t_part, member=opened[part], label=label)

    clicked_mask = day.bernoulli(day.rate("click", opened) * day.effect(kind, "click"))
    clicked, t_click = (
        opened[clicked_mask],
        day.later(t_open[clicked_mask], opened[clicked_mask], 120.0),
    )
    buf.add("click", t_click, member=clicked, label=label)
    coupons = kind in p.coupon_kinds
    if coupons:
        buf.add("coupon_issued", t_click, member=clicked, label=label)

    p_order = day.rate("order", clicked) * day.effect(kind, "order")
    if kind == _FLASH:
        p_order = p_order * p.flash_lift_array[day.types[clicked]]
    bought = day.bernoulli(p_order)
    buyers, t_order = clicked[bought], day.later(t_click[bought], clicked[bought], 900.0)
    sigma = p.order_amount_sigma
    z = day.rng.standard_normal(buyers.size)
    amount = (
        day.rate("order_amount", buyers)
        * np.exp(sigma * z - sigma * sigma / 2.0)
        * day.effect(kind, "order_amount")
    )
    buf.add("order", t_order, member=buyers, value=np.round(amount, 2), label=label)
    day.ordered[buyers] = True
    if coupons:
        used = day.bernoulli(day.rate("coupon_use", buyers) * day.effect(kind, "coupon_use"))
        buf.add("coupon_use", t_order[used], member=buyers[used], label=label)
        if p.coupon_value > 0:
            buf.add("cost", t_order[used], value=p.coupon_value, label=label)


def _spontaneous(day: _GroupDay, joins: JoinDraw, n_before: int) -> None:
    """Daily behaviour not tied to a push: messages, user content, profiles, referrals."""
    p, buf, rng = day.params, day.buf, day.rng
    n = day.types.size
    everyone = np.arange(n)
    end = np.minimum(day.leave, DAY_SECONDS)
    presence = day.clock.mass(day.start, end)

    lam = day.rate("messages", everyone) * day.engagement * presence
    counts = rng.poisson(lam * p.version_effect(day.version, "message"))
    who = np.repeat(everyone, counts)
    buf.add("message", day.clock.sample(rng, day.start[who], end[who]), member=who)

    p_ugc = day.rate("ugc", everyone) * day.engagement * presence
    p_ugc = p_ugc * p.version_effect(day.version, "ugc") + day.ordered * p.ugc_after_order
    posted = everyone[day.bernoulli(p_ugc)]
    buf.add("ugc", day.clock.sample(rng, day.start[posted], end[posted]), member=posted)

    referred = joins.referrer >= 0
    join_sec = joins.seconds
    buf.add("referral", join_sec[referred], member=joins.referrer[referred])
    buf.add("join", join_sec, member=n_before + np.arange(join_sec.size))
    if joins.exposures:
        buf.add("exposure", 0.0, value=float(joins.exposures))


def _profiles(day: _GroupDay, state: GroupState) -> np.ndarray:
    """Profile completions of members who have not completed theirs; returns the new flags."""
    p = day.params
    todo = np.flatnonzero(~state.profile_done)
    welcomed = day.welcomed_day[todo] >= state.join_day[todo]
    p_done = (
        day.rate("profile_complete", todo)
        * np.where(welcomed, p.welcome_profile_boost, 1.0)
        * p.version_effect(day.version, "profile_complete")
        * day.clock.mass(day.start[todo], np.minimum(day.leave[todo], DAY_SECONDS))
    )
    done = todo[day.bernoulli(p_done)]
    end = np.minimum(day.leave[done], DAY_SECONDS)
    day.buf.add("profile_complete", day.clock.sample(day.rng, day.start[done], end), member=done)
    flags = state.profile_done.copy()
    flags[done] = True
    return flags


def _leaves(day: _GroupDay, state: GroupState, cold_start: bool) -> np.ndarray:
    """Draw who leaves today (daily hazard) and when; returns the leave mask."""
    p = day.params
    first_week = day.ordinal - state.join_day < 7
    welcomed = day.welcomed_day >= state.join_day
    week = np.where(welcomed, p.welcomed_first_week_churn, p.first_week_churn)
    hazard = (
        p.rate_arrays["churn"][day.types]
        * np.where(first_week, week, 1.0)
        * (p.cold_start_churn if cold_start else 1.0)
        * p.version_effect(day.version, "leave")
        / np.sqrt(state.effect)  # engaged groups keep their members better
    )
    # Someone who joins in the day's last seconds cannot also leave before midnight.
    can_leave = day.start <= DAY_SECONDS - 2
    leaving = (day.rng.random(hazard.shape) < -np.expm1(-hazard)) & can_leave
    idx = np.flatnonzero(leaving)
    day.leave[idx] = day.clock.sample(day.rng, day.start[idx] + 1.0, np.full(idx.size, DAY_SECONDS))
    day.buf.add("leave", day.leave[idx], member=idx)
    return leaving


def simulate_group_day(
    *,
    params: SimulationParams,
    clock: ActivityClock,
    rng: np.random.Generator,
    state: GroupState,
    joins: JoinDraw,
    day: date,
    day_start_us: int,
    version: str | None,
    pushes: Sequence[tuple[float, PlannedAction]],
    welcomes: Sequence[tuple[float, PlannedAction]],
) -> tuple[DayEvents, GroupState]:
    """Events of one group-day and the state after it. `state` already holds today's joiners.

    `pushes` and `welcomes` are (seconds after local midnight, action) in send order.
    """
    n_before = state.size - joins.ids.size
    ordinal = day.toordinal()
    labels: dict[tuple[str | None, ...], int] = {(version, state.spec.sop_id, None): 0}
    start = np.concatenate([np.zeros(n_before), joins.seconds])
    engagement = state.effect * float(np.exp(rng.normal(0.0, params.day_effect_sd)))
    g = _GroupDay(
        params=params,
        clock=clock,
        rng=rng,
        buf=EventBuffer(),
        version=version,
        ordinal=ordinal,
        engagement=engagement,
        types=state.types,
        start=start,
        leave=np.full(state.size, np.inf),
        welcomed_day=state.welcomed_day.copy(),
        ordered=np.zeros(state.size, dtype=bool),
    )
    position = {m: i for i, m in enumerate(state.ids)} if welcomes else {}
    delivered_welcomes = []
    for sent, action in welcomes:
        i = position.get(action.member_id or "")
        if i is not None:
            g.welcomed_day[i] = ordinal
            delivered_welcomes.append((max(sent, start[i]), i, action))
    cold_start = any(a.kind == "cold_start" for _, a in pushes)
    last_cold = ordinal if cold_start else state.last_cold_start
    leaving = _leaves(g, state, ordinal - last_cold < params.cold_start_window_days)

    for sent, i, action in delivered_welcomes:
        label = labels.setdefault(_label(action), len(labels))
        if g.leave[i] > sent:
            g.buf.add("delivered", sent, member=i, value=1.0, label=label)
            if params.cost_per_welcome > 0:
                g.buf.add("cost", sent, value=params.cost_per_welcome, label=label)
            _respond(g, np.array([i]), sent, "welcome", label)
    for sent, action in pushes:
        label = labels.setdefault(_label(action), len(labels))
        present = np.flatnonzero((start <= sent) & (g.leave > sent))
        g.buf.add("delivered", sent, value=float(present.size), label=label)
        if params.cost_per_push > 0:
            g.buf.add("cost", sent, value=params.cost_per_push, label=label)
        _respond(g, present, sent, action.kind, label)

    _spontaneous(g, joins, n_before)
    profile = _profiles(g, state)
    events = g.buf.finish(
        group=state.spec.id, member_ids=state.ids, labels=list(labels), day_start_us=day_start_us
    )
    stay = ~leaving
    after = replace(
        state,
        ids=state.ids[stay],
        types=state.types[stay],
        join_day=state.join_day[stay],
        welcomed_day=g.welcomed_day[stay],
        profile_done=profile[stay],
        last_cold_start=last_cold,
    )
    return events, after
