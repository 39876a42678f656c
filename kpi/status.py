"""Status of a measure's value: RAG against target and tolerance, changes, comparators.

RAG is judged on the value as displayed (rounded to the measure's decimals), because that is the
figure a reader checks against the target (docs/assumptions.md A21): green meets the target, amber is
within tolerance, red is beyond it; none where the target or tolerance is not set. Meeting a threshold
exactly counts as meeting it.
"""

from __future__ import annotations

import math

import pandas as pd

RAG_TEXT = {
    "green": "Green: meets target",
    "amber": "Amber: within tolerance",
    "red": "Red: outside tolerance",
    None: "No RAG: target or tolerance not set",
}
NO_FIGURE = "No RAG: no figure"


def rag(value: float | None, target: float | None, tolerance: float | None, direction: str) -> str | None:
    """'green', 'amber', 'red', or None where there is no value, target or tolerance."""
    if value is None or target is None or tolerance is None:
        return None
    if direction is None or any(isinstance(x, float) and math.isnan(x) for x in (value, target, tolerance)):
        return None
    if direction == "higher":
        return "green" if value >= target else "amber" if value >= tolerance else "red"
    if direction == "lower":
        return "green" if value <= target else "amber" if value <= tolerance else "red"
    raise ValueError(f"direction must be higher or lower, not {direction!r}")


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
