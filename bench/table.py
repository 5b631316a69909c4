"""One row per measured figure, with its baseline from the same process and the ratio."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """A benchmark figure next to its baseline."""

    name: str
    figure: float
    unit: str
    baseline_name: str
    baseline: float
    target: str = ""
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.figure / self.baseline if self.baseline else float("nan")


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of `fn` in milliseconds over `repeat` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def render(rows: list[Row]) -> str:
    """A Markdown table of every row."""
    head = "| benchmark | figure | baseline (same process) | ratio | target | note |"
    lines = [head, "|---|---:|---|---:|---|---|"]
    for row in rows:
        lines.append(
            f"| {row.name} | {row.figure:,.2f} {row.unit} | {row.baseline_name}: "
            f"{row.baseline:,.2f} {row.unit} | {row.ratio:.2f}x | {row.target} | {row.note} |"
        )
    return "\n".join(lines)
