"""Number formatting and axis ticks shared by the charts and the tables."""

from __future__ import annotations

import math

from sop_models.i18n import is_chinese


def finite(x: float | None) -> float | None:
    """`x` when it is a finite number, else None (NaN and infinities show as "n/a")."""
    if x is None or not math.isfinite(x):
        return None
    return float(x)


def fmt_value(x: float | None, unit: str, decimals: int | None = None) -> str:
    """A metric value: a rate (unit "%") as a percentage, anything else as a plain number."""
    x = finite(x)
    if x is None:
        return "n/a"
    if unit == "%":
        return f"{x * 100:.{1 if decimals is None else decimals}f}%"
    if decimals is not None:
        return f"{x:,.{decimals}f}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


def fmt_abs_lift(x: float | None, unit: str) -> str:
    """Candidate minus baseline: percentage points for rates, signed plain numbers otherwise."""
    x = finite(x)
    if x is None:
        return "n/a"
    if unit == "%":
        return f"{x * 100:+.1f}pp"
    return ("+" if x >= 0 else "") + fmt_value(x, unit)


def fmt_pct(x: float | None, signed: bool = True) -> str:
    """A relative quantity (a lift or a CI bound) as a percentage."""
    x = finite(x)
    if x is None:
        return "n/a"
    return f"{x * 100:+.1f}%" if signed else f"{x * 100:.1f}%"


def fmt_p(p: float | None) -> str:
    """A p-value, with tiny values shown as "<0.001"."""
    p = finite(p)
    if p is None:
        return "n/a"
    if p < 0.001:
        return "<0.001"
    return f"{p:.3f}"


def nice_step(span: float, count: int = 5) -> float:
    """A step of 1, 2 or 5 times a power of ten giving about `count` intervals over `span`."""
    raw = span / max(count, 1)
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def nice_domain(lo: float, hi: float, count: int = 5) -> tuple[float, float, list[float]]:
    """Round `lo`/`hi` out to whole steps; returns the new bounds and the tick values."""
    step = nice_step(hi - lo, count)
    start = math.floor(lo / step + 1e-9)
    stop = math.ceil(hi / step - 1e-9)
    ticks = [round(k * step, 12) for k in range(start, stop + 1)]
    return ticks[0], ticks[-1], ticks


def padded_range(values: list[float], unit: str) -> tuple[float, float]:
    """The span of `values` with some air; all-equal values still get a visible range."""
    vmin, vmax = min(values), max(values)
    if vmax == vmin:
        pad = abs(vmin) * 0.1 or (0.05 if unit == "%" else 1.0)
    else:
        pad = (vmax - vmin) * 0.08
    lo, hi = vmin - pad, vmax + pad
    if vmin >= 0 > lo:
        lo = 0.0
    if unit == "%" and vmax <= 1 < hi:
        hi = 1.0
    return lo, hi


def tick_label(x: float, step: float, unit: str) -> str:
    """An axis tick with just enough decimals for `step` (percent for rates)."""
    scaled = step * 100 if unit == "%" else step
    decimals = max(0, -math.floor(math.log10(scaled) + 1e-9)) if scaled > 0 else 0
    if unit == "%":
        return f"{x * 100:.{decimals}f}%"
    if abs(x) >= 1000 and decimals == 0:
        return f"{x:,.0f}"
    return f"{x:.{decimals}f}"


def metric_label(label_zh: str, name: str) -> str:
    """A metric as the reader knows it: its Chinese label, or in English its name in words."""
    return label_zh if is_chinese() else name.replace("_", " ")
