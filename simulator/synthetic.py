"""Synthetic event tables: many valid events, fast, for KPI tests and benchmarks.

Unlike the community simulator, nothing here responds to planned actions; the table only has
the shape real data has, built with NumPy (no Python loop over rows):

- group `n` is `门店{n:04d}群` and runs one version: "1.0" for even `n`, "2.0" for odd `n`;
- every member joins once (up to 3 days before `start`, at the latest mid-window) and about
  15% leave once, some time after joining;
- members act (message, open, participate, order, coupon_use, referral, ugc) at random times
  in the window, never before they joined;
- each group gets one `delivered` push (value = members) and one `cost` every day at 10:00.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simulator.events import TIMEZONE

ACTIVITY = np.array(["message", "open", "participate", "order", "coupon_use", "referral", "ugc"])
ACTIVITY_WEIGHTS = np.array([0.6, 0.2, 0.05, 0.06, 0.03, 0.03, 0.03])
LEAVE_SHARE = 0.15
_HOUR_US = 3_600_000_000
_DAY_US = 24 * _HOUR_US


def synthetic_events(
    n_events: int,
    *,
    groups: int = 6,
    members: int = 30,
    days: int = 14,
    start: date = date(2026, 8, 1),
    seed: int = 7,
    first_group: int = 0,
) -> pa.Table:
    """About `n_events` valid events (never more) for `groups` groups numbered from `first_group`.

    Columns: group, member, time (timestamp, Asia/Shanghai), event, value, sop_version. The same
    arguments give the same table; `first_group` lets several calls build one larger data set.
    """
    rng = np.random.default_rng(seed)
    t0 = int(datetime(start.year, start.month, start.day, tzinfo=ZoneInfo(TIMEZONE)).timestamp())
    t0 *= 1_000_000
    n_members = groups * members
    member_group = np.repeat(np.arange(groups), members)
    join_t = t0 + rng.integers(-3 * _DAY_US, days * _DAY_US // 2, n_members)
    leaves = rng.random(n_members) < LEAVE_SHARE
    leave_t = (join_t + rng.integers(_DAY_US // 24, days * _DAY_US, n_members))[leaves]
    push_group = np.repeat(np.arange(groups), days)
    push_t = t0 + np.tile(np.arange(days), groups) * _DAY_US + 10 * _HOUR_US
    n_acts = max(n_events - n_members - leaves.sum() - 2 * push_group.size, 0)
    who = rng.integers(0, n_members, n_acts)
    act = ACTIVITY[rng.choice(ACTIVITY.size, n_acts, p=ACTIVITY_WEIGHTS)]
    acted_t = _after(join_t[who], t0, t0 + days * _DAY_US, rng)

    group = np.concatenate(
        [member_group, member_group[leaves], member_group[who], push_group, push_group]
    )
    member = np.concatenate(
        [np.arange(n_members), np.arange(n_members)[leaves], who, np.full(2 * push_group.size, -1)]
    )
    time = np.concatenate([join_t, leave_t, acted_t, push_t, push_t + 1])
    event = np.concatenate(
        [
            np.full(n_members, "join"),
            np.full(leaves.sum(), "leave"),
            act,
            np.full(push_group.size, "delivered"),
            np.full(push_group.size, "cost"),
        ]
    )
    value = np.full(event.size, np.nan)
    value[event == "order"] = rng.integers(1, 500, (event == "order").sum())
    value[event == "delivered"] = members
    value[event == "cost"] = rng.integers(10, 100, (event == "cost").sum())

    names = pa.array([f"门店{first_group + i:04d}群" for i in range(groups)])
    member_ids = pc.binary_join_element_wise("会员", pa.array(member.astype(str)), "")
    return pa.table(
        {
            "group": names.take(pa.array(group)),
            "member": pc.if_else(pa.array(member < 0), None, member_ids),
            "time": pa.array(time, pa.timestamp("us", tz=TIMEZONE)),
            "event": pa.array(event),
            "value": pa.array(value, from_pandas=True),
            "sop_version": pa.array(np.where((first_group + group) % 2 == 0, "1.0", "2.0")),
        }
    )


def _after(joined: np.ndarray, lo: int, hi: int, rng: np.random.Generator) -> np.ndarray:
    """Random times in [lo, hi), none before the member joined."""
    first = np.maximum(joined, lo)
    return first + (rng.random(joined.size) * (hi - first)).astype(np.int64)
