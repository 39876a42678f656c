"""Status of a measure's value: RAG against target and tolerance, changes, comparators.

RAG is judged on the unrounded value (docs/assumptions.md A103): green meets the target, amber is within
tolerance, red is beyond it; none where the target or tolerance is not set. Meeting a threshold exactly counts
as meeting it. A figure shown beside a RAG, target or tolerance carries as many decimals as it needs not to read
as meeting one it misses or the reverse (:func:`figure`, A104): 84.96% against a target of 85% (higher is
better) shows "84.96%", never "85.0%".
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import pandas as pd

RAG_TEXT = {
    "green": "Green: meets target",
    "amber": "Amber: within tolerance",
    "red": "Red: outside tolerance",
    None: "No RAG: target or tolerance not set",
}
NO_FIGURE = "No RAG: no figure"
PROVISIONAL = "Provisional: not yet final"  # a figure not final yet is not judged (kpi.scorecard, A200)
MAX_DECIMALS = 4  # a figure is never shown with more (A104)
NOISE = 9  # decimal places beyond which a difference is floating-point noise (7.000000000000001 is 7)


def _exact(x) -> Decimal:
    """x as the decimal it stands for: floating-point noise beyond NOISE places dropped."""
    return Decimal(repr(round(float(x), NOISE)))


def meets(value, threshold, direction: str) -> bool:
    """Whether value meets threshold: at or above it where higher is better, at or below where lower is."""
    if direction not in ("higher", "lower"):
        raise ValueError(f"direction must be higher or lower, not {direction!r}")
    return value >= threshold if direction == "higher" else value <= threshold


def figure(value: float, decimals: int, thresholds=(), direction: str = "higher", thousands: bool = False) -> str:
    """value as a number to show beside its thresholds (target, tolerance; None or NaN ignored): rounded to
    ``decimals`` places, or more, up to MAX_DECIMALS, until, read back, it meets each threshold exactly when the
    unrounded value does; where even MAX_DECIMALS is not enough, cut towards the value from the nearest
    threshold (84.99999 against 85 shows 84.9999). The one rule for every figure shown beside a RAG, target or
    tolerance (assumptions A104)."""
    sep = "," if thousands else ""
    ts = [_exact(t) for t in thresholds if t is not None and not pd.isna(t)]
    if not ts:
        return f"{value:{sep}.{decimals}f}"
    v = _exact(value)
    met = [meets(v, t, direction) for t in ts]
    top = max(decimals, MAX_DECIMALS)
    for k in range(decimals, top + 1):
        text = f"{value:{sep}.{k}f}"
        if [meets(Decimal(text.replace(",", "")), t, direction) for t in ts] == met:
            return text
    nearest = min(ts, key=lambda t: abs(v - t))
    cut = v.quantize(Decimal(1).scaleb(-top), rounding=ROUND_FLOOR if v < nearest else ROUND_CEILING)
    return f"{cut:{sep}.{top}f}"


def rag(value: float | None, target: float | None, tolerance: float | None, direction: str) -> str | None:
    """'green', 'amber', 'red', or None where there is no value, target or tolerance."""
    if value is None or target is None or tolerance is None:
        return None
    if direction is None or any(isinstance(x, float) and math.isnan(x) for x in (value, target, tolerance)):
        return None
    value, target, tolerance = (round(float(x), NOISE) for x in (value, target, tolerance))
    return "green" if meets(value, target, direction) else "amber" if meets(value, tolerance, direction) else "red"


def compare(value: float | None, other: float | None, direction: str) -> str | None:
    """'better', 'worse' or 'same' for value against other, as the direction reads them; without a direction (a
    volume), 'higher' or 'lower', no judgement."""
    if value is None or other is None or pd.isna(value) or pd.isna(other):
        return None
    if value == other:
        return "same"
    if direction is None:
        return "higher" if value > other else "lower"
    return "better" if (value > other) == (direction == "higher") else "worse"
