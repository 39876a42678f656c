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


def test_the_spc_verdict_ends_the_draft():
    from kpi.spc import spc_of

    m = load("county")["1.7"]  # lower is better
    # [5, 1] x 5, 7 months above the mean of 3, then 7 below it (tests/test_spc.py): a shift, and the limits
    # 3 +/- 2.66 x 47/23 (0 to 8.4) lie below the target of 18, which is therefore consistently met
    s = series([5, 1] * 5 + [4, 4.5, 4, 4.5, 4, 4.5, 4] + [2, 1.5, 2, 1.5, 2, 1.5, 2], start="2023-01")
    text = draft(m, s, spc_of(m, s))
    assert text.endswith(
        "Special cause: improvement, the last 7 months below the average; the target will be met consistently."
    )
    flat = series([20, 22] * 7, start="2023-01")
    assert draft(m, flat, spc_of(m, flat)).endswith(
        "Common cause: no significant change over the last 14 months; the target will be met in some months and "
        "missed in others."
    )


def test_the_statement_says_how_long_and_beyond_what_in_plain_words():
    from kpi.narrative import spc_sentence
    from kpi.spc import spc_of

    m = load("county")["1.7"]  # lower is better; target 18
    # [20, 22] x 7 then [24, 24.5] x 4, 24: mean (294 + 218) / 23 = 22.26; the last 9 months above it (the 22
    # before them below), a concern. Mean moving range: 13 x 2, then 2, 0.5 x 8: 32/22 = 1.4545; near the upper
    # limit from 22.26 + 1.7733 x 1.4545 = 24.84, above every point; the target 18 below the lower limit
    # 22.26 - 2.66 x 1.4545 = 18.39: never met without change
    s = series([20, 22] * 7 + [24, 24.5] * 4 + [24], start="2023-01")
    spc = spc_of(m, s)
    assert spc.points["lpl"].iloc[0] > 18
    assert spc_sentence(spc, m) == (
        "Special cause: concern, the last 9 months above the average; the target will not be met without change."
    )
    # a last point beyond the upper limit, and a rise of 7 months: each said in months
    s = series([20, 22] * 7 + [21, 21.5, 22, 22.5, 23, 23.5, 30], start="2023-01")
    said = spc_sentence(spc_of(m, s), m, headline=False)
    assert said.startswith("This month above the upper process limit and rising month on month for the last 7 months")


def test_a_stock_says_what_it_was_judged_on():
    from kpi.spc import spc_of

    cat = load("county")
    stock, flow = cat["6.5"], cat["1.7"]  # under-13s in residential care (month end); re-referrals (month)
    assert stock.kind == "stock" and flow.kind == "flow"
    s = series([5, 1] * 5 + [4, 4.5, 4, 4.5, 4, 4.5, 4] + [2, 1.5, 2, 1.5, 2, 1.5, 2], start="2023-01")
    assert draft(stock, s, spc_of(stock, s)).endswith(
        "Judged on the month-end figures, with limits allowing for their overlap from month to month."
    )
    assert "Judged on" not in draft(flow, s, spc_of(flow, s))


def test_the_spc_line_under_a_stated_verdict_does_not_repeat_it():
    from kpi.narrative import spc_sentence
    from kpi.spc import spc_of

    m = load("county")["1.7"]
    s = series([5, 1] * 5 + [4, 4.5, 4, 4.5, 4, 4.5, 4] + [2, 1.5, 2, 1.5, 2, 1.5, 2], start="2023-01")
    assert spc_sentence(spc_of(m, s), m, headline=False) == (
        "The last 7 months below the average; the target will be met consistently."
    )
    flat = series([20, 22] * 7, start="2023-01")
    assert spc_sentence(spc_of(m, flat), m, headline=False) == (
        "The target will be met in some months and missed in others."
    )


def test_a_volume_without_a_direction_is_described_neutrally():
    from kpi.spc import spc_of

    contacts = load("journey")["D1"]  # contacts: a volume, no direction in the journey set
    assert draft(contacts, series([1500, 1620], None, None)) == "Rose to 1,620 in August 2024 from 1,500 in July 2024."
    assert draft(contacts, series([1620, 1500], None, None)) == "Fell to 1,500 in August 2024 from 1,620 in July 2024."
    # the county set gives contacts a direction (fewer is better): its judgement stays
    county = load("county")["1.0"]
    assert draft(county, series([1500, 1620], 1600, 1700)).startswith(
        "Rose to 1,620 in August 2024 from 1,500 in July 2024 (a deterioration)."
    )
    # 7 months in a row below the average (the shift of test_the_spc_verdict_ends_the_draft, x 10): a change, no verdict
    s = series([50, 10] * 5 + [40, 45, 40, 45, 40, 45, 40] + [20, 15, 20, 15, 20, 15, 20], None, None, start="2023-01")
    spc = spc_of(contacts, s)
    assert spc.variation == "special_cause_neither"
    text = draft(contacts, s, spc)
    assert text.endswith(
        "Special cause: a change in a volume, neither better nor worse, the last 7 months below the average."
    )
    assert not {"improvement", "deterioration", "concern"} & set(text.replace(".", " ").replace(":", " ").split())
    assert spc_of(county, s).variation == "special_cause_improvement"  # fewer contacts, as the county reads them


def test_a_figure_beside_its_threshold_shows_the_decimal_that_misses_it():
    # 84.6% against a target of 85% (higher is better) is amber: never "85%" beside it (A103, A104)
    m = load("county")["2.2"]  # higher is better, whole percentages
    s = series([80, 84.6], 85, 80, "higher").assign(rag=[rag(v, 85, 80, "higher") for v in (80, 84.6)])
    assert draft(m, s) == (
        "Rose to 84.6% in August 2024 from 80% in July 2024 (an improvement). "
        "It is within tolerance but short of the target (target 85%, tolerance 80%)."  # 80% was amber too
    )


def test_the_chart_describes_its_points_as_the_report_shows_them():
    from kpi.charts import alt_text

    m = load("county")["1.7"]  # lower is better, whole percentages
    s = series([18.4, 21.3, 20.7], 18, 21).assign(rag=None)
    text = alt_text(m, s)
    assert "It went from 18.4% in Jul-24 to 21% in Sep-24;" in text  # 18% would meet the target of 18%
    assert "highest 21.3% (Aug-24), lowest 18.4% (Jul-24)." in text
    assert text.endswith(
        "Target 18%, tolerance 21%. Comparators (2023/24): England 21%, statistical neighbours (their mean) 19%."
    )


def test_a_provisional_figure_is_said_so_and_not_judged():
    """3.1 (lower is better) falls from 35% to 18% in a month not final yet: no "improvement", no RAG sentence."""
    s = series([35, 18], 30, 35).assign(provisional=[False, True])
    assert draft(load("county")["3.1"], s) == (
        "18% in August 2024 is provisional: it is not final until the outcomes of the month's cases are known, "
        "so it is not judged against the target, the month before or the comparators."
    )
    assert "an improvement" in draft(load("county")["3.1"], s.assign(provisional=False))
