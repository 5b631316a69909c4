"""Every KPI sopflow knows, defined once, and the SOP's KPI targets and alert rules over them.

`METRICS` maps each metric name to its `MetricDefinition`: lifecycle stage, the Chinese label
ops leads read, kind, which direction is better, whether it is a rate, grain and meaning.
`Metric` (the names, for validation), `METRIC_STAGE`, `METRIC_LABELS` and `RATE_METRICS` are
derived from it; the KPI engine adds only its formulas (engine/kpi/definitions.py).

Rates (`RATE_METRICS`) are fractions 0..1 (open_rate 0.20 = 20%); their targets and
thresholds are checked to lie in that range. `messages_per_member` is messages per member,
`average_order_value` is yuan, `roi` is sales / cost, `ugc_count` a count.

`cap_quantile` marks the metrics built on heavy-tailed money (order amounts): a few big spenders
(a 团长 ordering for 20 people) dominate their mean, so checks cap each unit's amount at that
quantile of both arms' non-zero amounts together before testing (engine/stats/winsor.py;
`sop check-data --no-winsorize SPEC` turns it off, and for `sop check` the workspace
setting `uncapped_metrics`). `average_order_value` and `roi` have one:
both sum order amounts. Counts and 0/1 rates have no such tail.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from sop_models.i18n import is_chinese
from sop_models.values import Items, SopModel, Text

Stage = Literal["building", "activation", "retention", "monetisation", "spread"]
Kind = Literal["proportion", "ratio", "mean", "count"]
Direction = Literal["higher", "lower"]
"""Which way a metric (or a target) is better: the one vocabulary for it everywhere."""
Grain = Literal["day", "period"]
Operator = Literal["<", "<=", ">", ">="]

DEFAULT_CAP_QUANTILE = 0.90
"""The cap of a heavy-tailed money metric: the 90th percentile of the pooled non-zero values,
i.e. the top 10% of payers are capped (at 0.95 and 0.99 the early looks of a sequential check,
with a few dozen payers, still decided too often: STATISTICS.md)."""

STAGES: dict[str, str] = {
    "building": "初建期",
    "activation": "激活期",
    "retention": "留存期",
    "monetisation": "变现期",
    "spread": "传播期",
}
"""Lifecycle stages in order, with their Chinese names."""


@dataclass(frozen=True)
class MetricDefinition:
    """One KPI as ops leads know it. `rate`: a fraction in 0..1. `grain`: "day" sums over
    group-days, "period" counts distinct members over the unit's days (see engine/kpi)."""

    name: str
    stage: Stage
    label: str
    kind: Kind
    direction: Direction
    rate: bool
    grain: Grain
    description: str
    cap_quantile: float | None = None
    """Heavy-tailed money: checks cap each unit's value at this pooled quantile (None: never)."""

    @property
    def stage_label(self) -> str:
        """The lifecycle stage in Chinese, e.g. 激活期."""
        return STAGES[self.stage]


def _registry(*definitions: MetricDefinition) -> MappingProxyType[str, MetricDefinition]:
    names = [d.name for d in definitions]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"metrics defined more than once: {', '.join(twice)}")
    return MappingProxyType({d.name: d for d in definitions})


_D = MetricDefinition
METRICS = _registry(
    _D("join_rate", "building", "进群率", "ratio", "higher", True, "day",
       "joins / channel exposures"),
    _D("leave_rate", "building", "退群率", "proportion", "lower", True, "day",
       "leaves / members, summed over group-days"),
    _D("profile_completion", "building", "群资料完善率", "proportion", "higher", True, "day",
       "members with a completed profile / members, summed over group-days"),
    _D("first_week_retention", "building", "首周留存率", "proportion", "higher", True, "day",
       "joiners still in the group 7 days after joining / joiners; only joins made at least "
       "7 days before the window end count; units use the join day"),
    _D("interaction_rate", "activation", "互动率", "proportion", "higher", True, "day",
       "members who sent a message that day / members, summed over group-days"),
    _D("messages_per_member", "activation", "人均消息量", "ratio", "higher", False, "day",
       "messages / members, summed over group-days"),
    _D("open_rate", "activation", "消息打开率", "proportion", "higher", True, "day",
       "open events / members reached by pushes"),
    _D("welcome_open_rate", "activation", "欢迎语打开率", "proportion", "higher", True, "day",
       "opens of welcome messages / welcomes delivered (events whose `message` is an on_join "
       "slot: one message's own opens, not every open that day)"),
    _D("click_rate", "activation", "链接点击率", "proportion", "higher", True, "day",
       "clicks on tracked links (click events with a message key, one per member and link) / "
       "members reached by pushes; `track_links` in the SOP turns its links into tracked ones"),
    _D("activity_participation", "activation", "活动参与率", "proportion", "higher", True, "day",
       "members taking part in an activity that day / members, summed over group-days"),
    _D("retention", "retention", "留存率", "proportion", "higher", True, "period",
       "members at the period start still in the group at its end / members at start"),
    _D("weekly_active", "retention", "周活跃率", "proportion", "higher", True, "day",
       "members active in the 7 days ending that day / members, summed over group-days"),
    _D("repurchase_rate", "retention", "复购率", "proportion", "higher", True, "period",
       "members with >= 2 orders in the period / members with >= 1 order"),
    _D("churn_rate", "retention", "流失率", "proportion", "lower", True, "period",
       "members at the period start who left or stayed silent all period / members at start "
       "(meant for periods of a week or more)"),
    _D("conversion_rate", "monetisation", "转化率", "proportion", "higher", True, "period",
       "members who ordered in the period / members in the group during it"),
    _D("average_order_value", "monetisation", "客单价", "mean", "higher", False, "period",
       "order amount (yuan) / members who ordered in the period",
       cap_quantile=DEFAULT_CAP_QUANTILE),
    _D("roi", "monetisation", "ROI", "ratio", "higher", False, "day",
       "order amount / cost", cap_quantile=DEFAULT_CAP_QUANTILE),
    _D("coupon_use_rate", "monetisation", "优惠券使用率", "proportion", "higher", True, "day",
       "coupons used / coupons issued"),
    _D("referral_rate", "spread", "裂变率", "ratio", "higher", True, "period",
       "referrals in the period / members in the group during it"),
    _D("koc_share", "spread", "KOC 占比", "proportion", "higher", True, "period",
       "members who posted UGC or referred someone / members during the period"),
    _D("ugc_count", "spread", "UGC 数量", "count", "higher", False, "day",
       "user-generated content items; the denominator counts group-days"),
)  # fmt: skip
"""Every metric, in display order (by stage)."""

Metric = Literal[tuple(METRICS)]  # type: ignore[valid-type]
"""A metric name: validates and documents (JSON Schema enum) exactly the registry's names."""

METRIC_STAGE: dict[str, Stage] = {n: d.stage for n, d in METRICS.items()}
"""Lifecycle stage (初建/激活/留存/变现/传播) of each metric."""

METRIC_LABELS: dict[str, str] = {n: d.label for n, d in METRICS.items()}
"""The Chinese label of each metric (ROI stays ROI: the word ops leads use)."""


def metric_title(name: str) -> str:
    """A metric as people read it in the current language (sop_models.i18n): the registry's
    Chinese label (欢迎语打开率), or in English its name in words (welcome open rate); a name
    outside the registry (a `sop check-data` column) shows as itself, in words."""
    if is_chinese() and name in METRIC_LABELS:
        return METRIC_LABELS[name]
    return name.replace("_", " ")


CAPPED_METRICS: dict[str, float] = {
    n: d.cap_quantile for n, d in METRICS.items() if d.cap_quantile is not None
}
"""Metrics whose per-unit values checks cap by default, with the quantile of the cap."""

RATE_METRICS: frozenset[str] = frozenset(n for n, d in METRICS.items() if d.rate)
"""Metrics that are fractions in 0..1 (weekly_active = share of members active that week)."""


class KpiTarget(SopModel):
    """A target for one metric; `direction` says which side is better."""

    metric: Metric
    target: float
    direction: Direction = "higher"
    """higher: the value should reach at least `target`; lower: at most `target`."""

    def met(self, value: float) -> bool:
        """True when `value` meets the target."""
        return value >= self.target if self.direction == "higher" else value <= self.target


class AlertRule(SopModel):
    """Raise `advice` when `metric operator threshold` holds, e.g. open_rate < 0.20."""

    metric: Metric
    operator: Operator
    threshold: float
    advice: Text
    """e.g. 调整推送时间和标题."""

    def triggered(self, value: float) -> bool:
        """True when `value` breaks the rule."""
        compare = {
            "<": value < self.threshold,
            "<=": value <= self.threshold,
            ">": value > self.threshold,
            ">=": value >= self.threshold,
        }
        return compare[self.operator]


class Kpis(SopModel):
    """The KPI dashboard of the SOP: targets and alert rules."""

    targets: Items[KpiTarget] = ()
    alerts: Items[AlertRule] = ()
