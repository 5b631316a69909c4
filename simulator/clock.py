"""Local days, seeded sub-streams and activity-shaped times of day."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np

TZ = ZoneInfo("Asia/Shanghai")
DAY_SECONDS = 86_400
_PURPOSES = {"init": 0, "effect": 1, "joins": 2, "day": 3}


def day_start(day: date) -> datetime:
    """Local midnight of `day` in Asia/Shanghai."""
    return datetime.combine(day, time(0), tzinfo=TZ)


def stream(seed: int, group: str, day: date | None, purpose: str) -> np.random.Generator:
    """A generator for one (seed, group, day, purpose): independent of what else was simulated.

    Hashing the group id (not its position) keeps a group's draws stable when groups are added.
    """
    digest = hashlib.blake2b(group.encode("utf-8"), digest_size=8).digest()
    key = (int.from_bytes(digest, "little"), day.toordinal() if day else 0, _PURPOSES[purpose])
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


class ActivityClock:
    """Samples times of day shaped by the hour curve (people post little at 3 am)."""

    def __init__(self, hour_effect: tuple[float, ...]) -> None:
        self.bounds = np.arange(25, dtype=np.float64) * 3600.0
        self.cdf = np.concatenate([[0.0], np.cumsum(np.asarray(hour_effect) * 3600.0)])
        self.hour_effect = np.asarray(hour_effect, dtype=np.float64)

    def mass(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Share of the day's activity between seconds `lo` and `hi` (0..1)."""
        lo_c = np.interp(lo, self.bounds, self.cdf)
        hi_c = np.interp(np.minimum(hi, DAY_SECONDS), self.bounds, self.cdf)
        return np.maximum(hi_c - lo_c, 0.0) / self.cdf[-1]

    def sample(self, rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """One time (whole seconds) per window [lo, hi), activity-weighted inside the window."""
        lo = np.asarray(lo, dtype=np.float64)
        hi = np.minimum(np.asarray(hi, dtype=np.float64), DAY_SECONDS)
        lo_c = np.interp(lo, self.bounds, self.cdf)
        hi_c = np.interp(hi, self.bounds, self.cdf)
        u = rng.random(lo.shape)
        t = np.interp(lo_c + u * (hi_c - lo_c), self.cdf, self.bounds)
        return np.clip(np.floor(t), np.ceil(lo), np.maximum(np.ceil(lo), hi - 1))

    def hour_multiplier(self, seconds: float) -> float:
        """The hour-curve multiplier at `seconds` after local midnight."""
        return float(self.hour_effect[min(int(seconds // 3600), 23)])
