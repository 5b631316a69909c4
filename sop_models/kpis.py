"""KPI targets and alert rules over a fixed set of metric names.

Rates (`RATE_METRICS`) are fractions 0..1 (open_rate 0.20 = 20%); their targets and
thresholds are checked to lie in that range. `messages_per_member` is messages per member,
`average_order_value` is yuan, `roi` is sales / cost, `ugc_count` a count.
"""

from __future__ import annotations

from typing import Literal, get_args

from sop_models.values import Items, SopModel, Text

Metric = Literal[
    "join_rate",
    "leave_rate",
    "profile_completion",
    "first_week_retention",
    "interaction_rate",
    "messages_per_member",
    "open_rate",
    "activity_participation",
    "retention",
    "weekly_active",
    "repurchase_rate",
    "churn_rate",
    "conversion_rate",
    "average_order_value",
    "roi",
    "coupon_use_rate",
    "referral_rate",
    "koc_share",
    "ugc_count",
]
METRICS: tuple[str, ...] = get_args(Metric)

Stage = Literal["building", "activation", "retention", "monetisation", "spread"]
METRIC_STAGE: dict[str, Stage] = {
    "join_rate": "building",
    "leave_rate": "building",
    "profile_completion": "building",
    "first_week_retention": "building",
    "interaction_rate": "activation",
    "messages_per_member": "activation",
    "open_rate": "activation",
    "activity_participation": "activation",
    "retention": "retention",
    "weekly_active": "retention",
    "repurchase_rate": "retention",
    "churn_rate": "retention",
    "conversion_rate": "monetisation",
    "average_order_value": "monetisation",
    "roi": "monetisation",
    "coupon_use_rate": "monetisation",
    "referral_rate": "spread",
    "koc_share": "spread",
    "ugc_count": "spread",
}
"""Lifecycle stage (初建/激活/留存/变现/传播) of each metric."""

METRIC_LABELS: dict[str, str] = {
    "join_rate": "进群率",
    "leave_rate": "退群率",
    "profile_completion": "群资料完善率",
    "first_week_retention": "首周留存率",
    "interaction_rate": "互动率",
    "messages_per_member": "人均消息量",
    "open_rate": "消息打开率",
    "activity_participation": "活动参与率",
    "retention": "留存率",
    "weekly_active": "周活跃率",
    "repurchase_rate": "复购率",
    "churn_rate": "流失率",
    "conversion_rate": "转化率",
    "average_order_value": "客单价",
    "roi": "ROI",
    "coupon_use_rate": "优惠券使用率",
    "referral_rate": "裂变率",
    "koc_share": "KOC 占比",
    "ugc_count": "UGC 数量",
}

RATE_METRICS: frozenset[str] = frozenset(
    set(METRICS) - {"messages_per_member", "average_order_value", "roi", "ugc_count"}
)
"""Metrics that are fractions in 0..1 (weekly_active = share of members active that week)."""

Direction = Literal["higher", "lower"]
Operator = Literal["<", "<=", ">", ">="]


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
