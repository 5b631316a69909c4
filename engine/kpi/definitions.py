"""How the engine computes each domain KPI (sop_models.kpis.METRICS): measures and formulas.

A metric is `numerator / denominator`, two SQL expressions over *measures* of one cell:

- grain "day": the cell is one group on one local day. A unit (a version, a group, a day, ...)
  sums numerator and denominator over its group-days, so e.g. interaction_rate over a week is
  speaking member-days / member-days.
- grain "period": the cell is one group over the unit's days (first to last); distinct members
  are counted once per group, then numerator and denominator are summed over groups. With `day`
  in `by` the period is that day.

Members of a group on a day are those who joined on or before that day and had not left before
it (a member leaving that day still counts, so leave_rate <= 1). Membership comes from join/leave
events; a member seen in a group before joining it (or never joining: a message, a leave) was
there before the data began and counts from the group's first day. A leave and a rejoin on the
same day are one continuous stay. Silent members from before the data need a join event.

Versions: an event counts for its own `sop_version` (and `sop`). An event without one, and every
member-day, counts for the group-day's version: that of the group's latest event with a version
that day, carried forward over days without one. For count metrics `value` is the numerator and
the denominator is the number of group-days.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from sop_models.errors import CheckError
from sop_models.kpis import METRICS as DOMAIN_METRICS
from sop_models.kpis import STAGES as STAGES  # re-exported: engine.kpi.STAGES
from sop_models.kpis import Direction, Grain, Kind, MetricDefinition, Stage
from sop_models.messages import WELCOME_PREFIX

#: Member events that show a member is active (everything but joining and leaving).
ACTIVE_EVENTS: tuple[str, ...] = (
    "message", "open", "click", "participate", "order", "coupon_use", "referral", "ugc",
    "profile_complete",
)  # fmt: skip
_ACTIVE_SQL = ", ".join(f"'{e}'" for e in ACTIVE_EVENTS)
# domain.md: a welcome is opened when its member opens it or clicks its tracked link; a member
# doing both (or clicking two links) opened it once.
_WELCOME = f"e IN ('open', 'click') AND starts_with(slot, '{WELCOME_PREFIX}')"
_WELCOME_OPENS = (
    f"count(DISTINCT g || chr(31) || m || chr(31) || msg) "
    f"FILTER (WHERE {_WELCOME} AND m IS NOT NULL) "
    f"+ count(*) FILTER (WHERE {_WELCOME} AND m IS NULL AND e = 'open')"
)


@dataclass(frozen=True)
class Measure:
    """A named quantity of one cell. `sql` aggregates events (columns g m t e v day msg slot) or
    members."""

    name: str
    source: Literal["event", "event_distinct", "grid", "member_day", "period_member", "period_stay"]
    sql: str
    description: str


def _m(name: str, source: str, sql: str, description: str) -> Measure:
    return Measure(name, source, sql, description)  # type: ignore[arg-type]


# source "event": SQL aggregate over one group-day's events (also valid over any set of them).
# source "event_distinct": distinct members with an event of type `sql` on the group-day.
# source "grid": `sql` is the value per group-day in the window (from the group's first event).
# source "member_day": built from membership stays (see stays.py); `sql` names the construction.
# source "period_member": SQL aggregate over per-member rows of one period cell, whose columns
#     are n_orders, active, koc (see MEMBER_PERIOD_COLUMNS).
# source "period_stay": SQL aggregate over the stays i(d0, d1) overlapping the period p(p0, p1),
#     each joined to that member's row a (active) in the period. Only one stay of a member can
#     hold p0, so counts of start members need no DISTINCT.
MEASURES: dict[str, Measure] = {
    m.name: m
    for m in [
        _m("exposures", "event", "sum(coalesce(v, 1)) FILTER (WHERE e = 'exposure')",
           "channel exposures (value of exposure events, empty = 1)"),
        _m("joins", "event", "count(*) FILTER (WHERE e = 'join')", "join events"),
        _m("leaves", "event", "count(*) FILTER (WHERE e = 'leave')", "leave events"),
        _m("messages", "event", "count(*) FILTER (WHERE e = 'message')", "member messages"),
        _m("speakers", "event_distinct", "message", "distinct members with a message that day"),
        _m("delivered", "event", "sum(v) FILTER (WHERE e = 'delivered')",
           "members reached by pushes (value of delivered events)"),
        _m("opens", "event", "count(*) FILTER (WHERE e = 'open')", "open events"),
        _m("link_clicks", "event", "count(*) FILTER (WHERE e = 'click' AND msg IS NOT NULL)",
           "clicks on tracked links (click events naming their message)"),
        _m("welcome_delivered", "event",
           f"sum(v) FILTER (WHERE e = 'delivered' AND starts_with(slot, '{WELCOME_PREFIX}'))",
           "welcome messages delivered (delivered events of on_join slots)"),
        _m("welcome_opens", "event", _WELCOME_OPENS,
           "welcome messages opened: members with an open or a tracked-link click of an on_join "
           "message, once per member and message (and each open without a member)"),
        _m("participants", "event_distinct", "participate",
           "distinct members taking part in an activity that day"),
        _m("order_amount", "event", "sum(v) FILTER (WHERE e = 'order')", "sum of order amounts"),
        _m("cost", "event", "sum(v) FILTER (WHERE e = 'cost')", "money spent (cost events)"),
        _m("coupons_issued", "event", "sum(coalesce(v, 1)) FILTER (WHERE e = 'coupon_issued')",
           "coupons issued (value of coupon_issued events, empty = 1)"),
        _m("coupons_used", "event", "count(*) FILTER (WHERE e = 'coupon_use')", "coupons used"),
        _m("referrals", "event", "count(*) FILTER (WHERE e = 'referral')", "referral events"),
        _m("ugc", "event", "count(*) FILTER (WHERE e = 'ugc')", "user-generated content items"),
        _m("group_days", "grid", "1", "days the group existed (from its first event)"),
        _m("members", "member_day", "stays", "members in the group that day"),
        _m("profiled_members", "member_day", "profiled",
           "members that day who had completed their profile on or before it"),
        _m("weekly_active_members", "member_day", "weekly",
           "members that day with an active event in the 7 days ending that day"),
        _m("week1_joins", "member_day", "first_week",
           "joins that day that are at least 7 days before the end of the data window"),
        _m("week1_retained", "member_day", "first_week",
           "of week1_joins, those who had not left 7 days after joining"),
        _m("orderers", "period_member", "count(*) FILTER (WHERE n_orders >= 1)",
           "distinct members with at least one order in the period"),
        _m("repurchasers", "period_member", "count(*) FILTER (WHERE n_orders >= 2)",
           "distinct members with two or more orders in the period"),
        _m("koc_members", "period_member", "count(*) FILTER (WHERE koc)",
           "distinct members who posted UGC or referred someone in the period"),
        _m("unit_members", "period_stay", "count(DISTINCT i.m)",
           "distinct members in the group on any day of the period"),
        _m("start_members", "period_stay", "count(*) FILTER (WHERE i.d0 < p.p0)",
           "members already in the group when the period began"),
        _m("retained_members", "period_stay",
           "count(*) FILTER (WHERE i.d0 < p.p0 AND (i.d1 IS NULL OR i.d1 > p.p1))",
           "start members still in the group after the period's last day"),
        _m("churned_members", "period_stay",
           "count(*) FILTER (WHERE i.d0 < p.p0 AND (i.d1 <= p.p1 "
           "OR NOT coalesce(a.active, false)))",
           "start members who left during the period or stayed silent through all of it"),
    ]
}  # fmt: skip

#: Per-member columns of one period cell that period_member measures aggregate.
MEMBER_PERIOD_COLUMNS: dict[str, str] = {
    "n_orders": "count(*) FILTER (WHERE e = 'order')",
    "active": f"bool_or(e IN ({_ACTIVE_SQL}))",
    "koc": "bool_or(e IN ('ugc', 'referral'))",
}


@dataclass(frozen=True)
class Formula:
    """How the engine computes one domain metric: two expressions over measure names."""

    numerator: str
    denominator: str


#: The engine's formula for each domain metric (sop_models.kpis.METRICS), nothing else.
FORMULAS: dict[str, Formula] = {
    "join_rate": Formula("joins", "exposures"),
    "leave_rate": Formula("leaves", "members"),
    "profile_completion": Formula("profiled_members", "members"),
    "first_week_retention": Formula("week1_retained", "week1_joins"),
    "interaction_rate": Formula("speakers", "members"),
    "messages_per_member": Formula("messages", "members"),
    "open_rate": Formula("opens", "delivered"),
    "welcome_open_rate": Formula("welcome_opens", "welcome_delivered"),
    "click_rate": Formula("link_clicks", "delivered"),
    "activity_participation": Formula("participants", "members"),
    "retention": Formula("retained_members", "start_members"),
    "weekly_active": Formula("weekly_active_members", "members"),
    "repurchase_rate": Formula("repurchasers", "orderers"),
    "churn_rate": Formula("churned_members", "start_members"),
    "conversion_rate": Formula("orderers", "unit_members"),
    "average_order_value": Formula("order_amount", "orderers"),
    "roi": Formula("order_amount", "cost"),
    "coupon_use_rate": Formula("coupons_used", "coupons_issued"),
    "referral_rate": Formula("referrals", "unit_members"),
    "koc_share": Formula("koc_members", "unit_members"),
    "ugc_count": Formula("ugc", "group_days"),
}


@dataclass(frozen=True)
class Metric:
    """One KPI as the engine sees it: the domain definition plus its formula,
    `value = numerator / denominator` per unit (see the module docstring)."""

    definition: MetricDefinition
    formula: Formula
    measures: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        text = f"{self.formula.numerator} {self.formula.denominator}"
        object.__setattr__(self, "measures", frozenset(set(_WORD.findall(text)) & MEASURES.keys()))

    @property
    def name(self) -> str:
        """The metric name, e.g. open_rate."""
        return self.definition.name

    @property
    def stage(self) -> Stage:
        """Lifecycle stage, e.g. activation."""
        return self.definition.stage

    @property
    def stage_label(self) -> str:
        """The lifecycle stage in Chinese, e.g. 激活期."""
        return self.definition.stage_label

    @property
    def label(self) -> str:
        """The Chinese label, e.g. 消息打开率."""
        return self.definition.label

    @property
    def kind(self) -> Kind:
        """proportion, ratio, mean or count (count: `value` is the numerator)."""
        return self.definition.kind

    @property
    def direction(self) -> Direction:
        """Which way is better: higher or lower."""
        return self.definition.direction

    @property
    def grain(self) -> Grain:
        """day or period (see the module docstring)."""
        return self.definition.grain

    @property
    def description(self) -> str:
        """What the metric measures, in words."""
        return self.definition.description

    @property
    def numerator(self) -> str:
        """SQL expression over measure names."""
        return self.formula.numerator

    @property
    def denominator(self) -> str:
        """SQL expression over measure names."""
        return self.formula.denominator


_WORD = re.compile(r"[a-z_0-9]+")

METRICS: dict[str, Metric] = {
    name: Metric(definition, FORMULAS[name]) for name, definition in DOMAIN_METRICS.items()
}
"""The domain's metrics in its order, each with the engine's formula."""


def get_metric(name: str) -> Metric:
    """The metric called `name`; CheckError naming the known ones otherwise."""
    try:
        return METRICS[name]
    except KeyError:
        raise CheckError(f"unknown metric {name!r} (known: {', '.join(METRICS)})") from None


def resolve(names: Iterable[str] | None) -> list[Metric]:
    """Metrics by name in registry order (all when `names` is None)."""
    if names is None:
        return list(METRICS.values())
    wanted = {get_metric(n).name for n in names}
    return [m for m in METRICS.values() if m.name in wanted]
