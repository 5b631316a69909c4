"""Month-end RFM member lists: the SOP's segment thresholds applied to the event store.

Per member (per group, or across all the SOP's groups when the task's `scope` is `sop`):
recency = days from the member's last order to the task's day (no order ever: none, which
meets every `min_recency_days` and no `max_recency_days`); frequency = orders and monetary =
the sum of their values within `lookback_days` up to the day; referrals likewise. A member
belongs to the first segment whose bounds it meets (none: unsegmented). Members are everyone
with a member event in the groups up to the day, except those whose last join/leave is a leave.
One DuckDB query; the segment rule is compiled into a CASE expression.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from sop_models import RfmSegment, RfmTask


@dataclass(frozen=True)
class MemberScore:
    """One member's R, F, M (and referrals) and the segment they fall in (None: no segment)."""

    group_id: str  # "" when the task's scope is the whole SOP
    member: str
    segment: str | None
    recency_days: int | None
    orders: int
    amount: float
    referrals: int


def _bounds(segment: RfmSegment) -> str:
    """The segment's bounds as one SQL condition (numbers from the validated model only)."""
    conds = ["true"]
    if segment.min_recency_days is not None:
        conds.append(f"(recency IS NULL OR recency >= {int(segment.min_recency_days)})")
    if segment.max_recency_days is not None:
        conds.append(f"(recency IS NOT NULL AND recency <= {int(segment.max_recency_days)})")
    for column, low, high in (
        ("orders", segment.min_orders, segment.max_orders),
        ("amount", segment.min_amount, segment.max_amount),
        ("referrals", segment.min_referrals, None),
    ):
        if low is not None:
            conds.append(f"{column} >= {float(low)!r}")
        if high is not None:
            conds.append(f"{column} <= {float(high)!r}")
    return " AND ".join(conds)


def segment_sql(task: RfmTask) -> str:
    """CASE giving the index of the first segment a member meets, NULL for none."""
    whens = " ".join(f"WHEN {_bounds(s)} THEN {i}" for i, s in enumerate(task.segments))
    return f"CASE {whens} END"


def score_members(
    con: duckdb.DuckDBPyConnection,
    source_sql: str,
    task: RfmTask,
    *,
    day: date,
    groups: Sequence[str],
) -> list[MemberScore]:
    """Every member of `groups` scored and segmented as of `day` (events read from
    `source_sql`, a FROM item over the event store), sorted by segment, group, member."""
    group_by = "g" if task.scope == "group" else "''"
    since = day - timedelta(task.lookback_days - 1)
    rows = con.execute(
        f"""WITH ev AS (
              SELECT "group" AS g, member AS m, event AS e, value AS v, day, time AS t
              FROM {source_sql}
              WHERE member IS NOT NULL AND day <= $day AND list_contains($groups, "group")),
            stays AS (
              SELECT g, m FROM ev WHERE e IN ('join', 'leave') GROUP BY g, m
              HAVING arg_max(e, t) = 'leave'),
            per AS (
              SELECT {group_by} AS g, m,
                date_diff('day', max(day) FILTER (WHERE e = 'order'), $day) AS recency,
                count(*) FILTER (WHERE e = 'order' AND day >= $since) AS orders,
                coalesce(sum(v) FILTER (WHERE e = 'order' AND day >= $since), 0) AS amount,
                count(*) FILTER (WHERE e = 'referral' AND day >= $since) AS referrals
              FROM ev ANTI JOIN stays USING (g, m)
              GROUP BY ALL)
            SELECT g, m, {segment_sql(task)} AS seg, recency, orders, amount, referrals
            FROM per ORDER BY seg NULLS LAST, g, m""",
        {"day": day, "since": since, "groups": list(groups)},
    ).fetchall()
    ids = [s.id for s in task.segments]
    return [
        MemberScore(g, m, None if seg is None else ids[seg], r, int(o), float(a), int(ref))
        for g, m, seg, r, o, a, ref in rows
    ]
