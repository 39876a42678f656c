import pandas as pd

from kpi.catalogue import load
from kpi.narrative import draft
from kpi.status import rag


def series(values, target=18, tolerance=21, direction="lower", start="2024-07"):
    months = pd.period_range(start, periods=len(values), freq="M").strftime("%Y-%m")
    return pd.DataFrame(
        {
            "month": months,
            "value": values,
            "target": target,
            "tolerance": tolerance,
            "rag": [rag(round(v), target, tolerance, direction) if v is not None else None for v in values],
        }
    )


def test_the_seed_story_of_re_referrals():
    # like seed 003 KPI 3: a steady fall, then a rise back above the tolerance in January
    text = draft(load("county")["1.7"], series([24, 23, 22, 21, 20, 19, 23]))
    assert text == (
        "Rose to 23% in January 2025 from 19% in December 2024 (a deterioration). This follows 5 months of fall. "
        "The highest since August 2024. It is outside tolerance (target 18%, tolerance 21%), "
        "for the first time since September 2024."
    )


def test_improvement_and_unchanged():
    m = load("county")["2.2"]  # higher is better
    assert draft(m, series([80, 86], 95, 85, "higher")).startswith(
        "Rose to 86% in August 2024 from 80% in July 2024 (an improvement)."
    )
    assert draft(m, series([86, 86], 95, 85, "higher")).startswith("Unchanged at 86% in August 2024.")


def test_no_figure():
    assert draft(load("county")["1.7"], series([20, None])) == "No figure is available for August 2024."
