"""SQL for membership: who was in which group on which day, from join and leave events.

A *spell* runs from a join to the next leave (duplicate joins or leaves in a row are one
change). A member seen in a group before joining it (or never joining: a message, a leave) was
there before the data began: such a member gets a join on the group's first day. Spells of one
member that touch the same day merge into one *stay* `isl(g, m, d0, d1)` (d1 NULL = still in),
so a leave and a rejoin on the same day never count a member twice. Per-day counts come from
+1/-1 deltas summed along the calendar, never from joining stays against every day.

Every CTE here reads `ev` (events with g m t e v day) and `span` (g, d_first).
"""

from __future__ import annotations

from engine.kpi.definitions import ACTIVE_EVENTS

_ROWS = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
_ACTIVE = ", ".join(f"'{e}'" for e in ACTIVE_EVENTS)

STAYS = f"""
seen AS (SELECT g, m, min(t) AS first_t, min(t) FILTER (WHERE e = 'join') AS join_t
         FROM ev WHERE m IS NOT NULL GROUP BY g, m),
jl AS (SELECT g, m, t, e, day FROM ev WHERE e IN ('join', 'leave')
       UNION ALL
       SELECT seen.g, seen.m, NULL, 'join', span.d_first FROM seen JOIN span ON seen.g = span.g
       WHERE seen.join_t IS NULL OR seen.first_t < seen.join_t),
st AS (SELECT * FROM (SELECT *, lag(e) OVER (PARTITION BY g, m ORDER BY t NULLS FIRST, e) AS pe
                      FROM jl)
       WHERE pe IS NULL OR pe <> e),
spells AS (SELECT g, m, t AS t0, day AS d0, nt AS t1, nday AS d1 FROM (
             SELECT *, lead(t) OVER w AS nt, lead(day) OVER w AS nday FROM st
             WINDOW w AS (PARTITION BY g, m ORDER BY t NULLS FIRST, e))
           WHERE e = 'join'),
isl AS (
  SELECT g, m, min(d0) AS d0, CASE WHEN bool_or(d1 IS NULL) THEN NULL ELSE max(d1) END AS d1
  FROM (SELECT *, sum(CASE WHEN pd1 IS NULL OR d0 > pd1 THEN 1 ELSE 0 END)
                    OVER (PARTITION BY g, m ORDER BY t0 NULLS FIRST {_ROWS}) AS island
        FROM (SELECT *, lag(d1) OVER (PARTITION BY g, m ORDER BY t0 NULLS FIRST) AS pd1
              FROM spells))
  GROUP BY g, m, island)"""

PROFILED = """
pday AS (SELECT g, m, min(day) AS pd FROM ev WHERE e = 'profile_complete' GROUP BY g, m),
profiled AS (SELECT i.g, greatest(i.d0, p.pd) AS d0, i.d1
             FROM isl i JOIN pday p ON i.g = p.g AND i.m = p.m
             WHERE i.d1 IS NULL OR p.pd <= i.d1)"""

# A member is weekly active on day d when active on one of d-6..d: each active day covers
# itself and the next 6, runs closer than 8 days merge, and the result is cut to the stays.
WEEKLY = f"""
act AS (SELECT DISTINCT g, m, day FROM ev WHERE e IN ({_ACTIVE})),
awin AS (
  SELECT g, m, min(day) AS a0, max(day) + 6 AS a1
  FROM (SELECT *, sum(CASE WHEN pa IS NULL OR day > pa + 7 THEN 1 ELSE 0 END)
                    OVER (PARTITION BY g, m ORDER BY day {_ROWS}) AS k
        FROM (SELECT *, lag(day) OVER (PARTITION BY g, m ORDER BY day) AS pa FROM act))
  GROUP BY g, m, k),
weekly AS (
  SELECT i.g, greatest(i.d0, a.a0) AS d0, least(coalesce(i.d1, a.a1), a.a1) AS d1
  FROM isl i JOIN awin a ON i.g = a.g AND i.m = a.m
  WHERE greatest(i.d0, a.a0) <= least(coalesce(i.d1, a.a1), a.a1))"""

FIRST_WEEK = """
first_week AS (
  SELECT g, d0 AS day, count(*) AS week1_joins,
         count(*) FILTER (WHERE t1 IS NULL OR t1 > t0 + INTERVAL 7 DAY) AS week1_retained
  FROM spells WHERE t0 IS NOT NULL AND t0 + INTERVAL 7 DAY <= $horizon GROUP BY g, d0)"""

#: member_day measure -> (table of stays to count per day, CTEs that build it)
COUNTED = {
    "members": ("isl", ""),
    "profiled_members": ("profiled", PROFILED),
    "weekly_active_members": ("weekly", WEEKLY),
}


def delta(table: str, name: str) -> str:
    """Per-day change in how many stays of `table` are open: +1 on d0, -1 the day after d1."""
    return f"""
{name}_d AS (SELECT g, day, sum(dn) AS dn FROM (
    SELECT g, d0 AS day, 1 AS dn FROM {table}
    UNION ALL SELECT g, d1 + 1, -1 FROM {table} WHERE d1 IS NOT NULL) GROUP BY g, day)"""
