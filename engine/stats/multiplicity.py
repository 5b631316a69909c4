"""Holm's step-down adjustment: several guardrails (or secondaries) tested at one family alpha.

One guardrail at alpha adds about alpha of false REJECTs to an A/A test; two add nearly twice
that. Holm (1979) keeps the family-wise error at alpha and is uniformly more powerful than
Bonferroni. The primary metric is not in any family and keeps its alpha.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (same order); NaN stays NaN and counts towards the family size."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: (math.isnan(p_values[i]), p_values[i]))
    adjusted = [math.nan] * m
    running = 0.0
    for rank, i in enumerate(order):
        p = p_values[i]
        if math.isnan(p):
            continue
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted
