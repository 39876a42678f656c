"""Making Data Count SPC: each rule on hand-made series (limits worked out by hand in the comments), the
verdicts, and a published example."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi.spc import MAX_R, lag1, read_series, run_length, trend_length, xmr

# The NHS-R community's "plot the dots" package publishes, for R's set.seed(123); rnorm(20), a mean of
# 0.142 and process limits of -3.01 and 3.29 (tests/testthat/_snaps/ptd_spc_standard.md), every point
# common cause.
RNORM_123 = [
    -0.56047565, -0.23017749, 1.55870831, 0.07050839, 0.12928774, 1.71506499, 0.46091621, -1.26506123,
    -0.68685285, -0.44566197, 1.22408180, 0.35981383, 0.40077145, 0.11068272, -0.55584113, 1.78691314,
    0.49785048, -1.96661716, 0.70135590, -0.47279141,
]  # fmt: skip


def flagged(spc, rule):
    return [i for i, f in enumerate(spc.points[rule]) if f]


def test_published_plot_the_dots_example():
    s = xmr(RNORM_123)
    p = s.points.iloc[0]
    assert (round(p["mean"], 3), round(p["lpl"], 2), round(p["upl"], 2)) == (0.142, -3.01, 3.29)
    assert set(s.points["variation"]) == {"common_cause"}
    assert s.variation == "common_cause" and s.assurance is None and not s.trial


def test_point_outside_the_limits_and_screening_of_large_moving_ranges():
    # [10, 12] x 6, 11, 25: mean 168/14 = 12; moving ranges 2 (x11), 1, 14. Screened: 14 >= 3.267 x 37/13,
    # so the mean moving range is 23/12 and the upper limit 12 + 2.66 x 23/12 = 17.098; unscreened
    # 12 + 2.66 x 37/13 = 19.571. 25 is outside either way; nothing else is flagged.
    y = [10, 12] * 6 + [11, 25]
    s = xmr(y)
    assert s.points["mean"].iloc[0] == pytest.approx(12)
    assert s.points["upl"].iloc[0] == pytest.approx(12 + 2.66 * 23 / 12)
    assert xmr(y, screen=False).points["upl"].iloc[0] == pytest.approx(12 + 2.66 * 37 / 13)
    assert flagged(s, "outside_limits") == [13]
    assert s.points["rules"].iloc[13] == "outside_limits"
    assert (s.points["variation"].iloc[:13] == "common_cause").all()
    assert s.variation == "special_cause_improvement"  # above the mean, higher is better
    assert xmr(y, improvement="decrease").variation == "special_cause_concern"


def test_shift_of_seven_points_on_one_side_of_the_mean():
    # [5, 1] x 5, then 7 points above the mean (4, 4.5, ...) and 7 below (2, 1.5, ...): the sum is 72 over 24
    # points, a mean of exactly 3. Limits 3 +/- 2.66 x 47/23 are far away and no point is near them.
    above = [4, 4.5, 4, 4.5, 4, 4.5, 4]
    below = [2, 1.5, 2, 1.5, 2, 1.5, 2]
    s = xmr([5, 1] * 5 + above + below)
    assert s.points["mean"].iloc[0] == pytest.approx(3)
    assert flagged(s, "shift") == list(range(10, 24))
    assert flagged(s, "outside_limits") == flagged(s, "trend") == flagged(s, "two_of_three") == []
    assert (s.points["variation"].iloc[10:17] == "special_cause_improvement").all()
    assert (s.points["variation"].iloc[17:] == "special_cause_concern").all()
    assert len(s.signal()) == 7 and s.signal()["period"].tolist() == list(range(18, 25))


def test_six_points_on_one_side_are_not_a_shift():
    # [5, 1] x 5, 6 points above and 6 below: the mean is (30 + 25 + 10.5) / 22 = 2.977; runs of 6 only.
    s = xmr([5, 1] * 5 + [4, 4.5] * 3 + [2, 1.5] * 3)
    assert flagged(s, "shift") == []
    assert s.variation == "common_cause"


def test_trend_of_seven_points_rising():
    # [1, 5] x 4, then 2, 2.5, 3, 3.5, 4, 4.5, 4.9: seven points each higher than the one before. Mean
    # 48.4 / 15 = 3.227; the last four are above it, so no shift; limits +/- 2.66 x 33.9/14.
    s = xmr([1, 5] * 4 + [2, 2.5, 3, 3.5, 4, 4.5, 4.9])
    assert flagged(s, "trend") == list(range(8, 15))
    assert flagged(s, "shift") == flagged(s, "outside_limits") == []
    # points of a rising trend below the mean are a concern where higher is better, above it improvement
    assert s.points["variation"].iloc[8:11].tolist() == ["special_cause_concern"] * 3
    assert s.points["variation"].iloc[11:15].tolist() == ["special_cause_improvement"] * 4


def test_a_tie_breaks_a_trend_and_six_points_are_not_one():
    assert flagged(xmr([1, 5] * 4 + [2, 2.5, 3, 3, 4, 4.5, 4.9]), "trend") == []
    assert flagged(xmr([1, 5] * 4 + [2, 2.5, 3, 3.5, 4, 4.5]), "trend") == []


def test_two_of_three_points_near_a_limit_on_one_side():
    # [10, 11] x 6, 13.3, 11, 13.3: mean 163.6 / 15 = 10.907, mean moving range 17.9 / 14 = 1.2786;
    # near the upper limit from 10.907 + 1.7733 x 1.2786 = 13.174 to 10.907 + 2.66 x 1.2786 = 14.308.
    # The two 13.3s are near; with the 11 between them (above the mean) all three are on one side: only
    # the two near points are flagged.
    s = xmr([10, 11] * 6 + [13.3, 11, 13.3])
    assert flagged(s, "two_of_three") == [12, 14]
    assert flagged(s, "outside_limits") == flagged(s, "shift") == flagged(s, "trend") == []


def test_two_near_points_with_one_across_the_mean_are_not_a_signal():
    # [10, 11] x 6, 13.6, 10, 13.6: mean 10.88, near from 13.515 to 14.832; 10 is below the mean.
    s = xmr([10, 11] * 6 + [13.6, 10, 13.6])
    assert s.points["near_upper"].iloc[0] < 13.6 < s.points["upl"].iloc[0]
    assert flagged(s, "two_of_three") == []
    assert s.variation == "common_cause"


@pytest.mark.parametrize(
    "improvement, target, expected",
    [
        ("increase", 20, "consistently_missed"),  # above the upper limit
        ("increase", 0, "consistently_met"),  # below the lower limit
        ("increase", 11, "hit_and_miss"),
        ("decrease", 20, "consistently_met"),
        ("decrease", 0, "consistently_missed"),
        ("decrease", 11, "hit_and_miss"),
    ],
)
def test_assurance(improvement, target, expected):
    # [10, 12] x 7: mean 11, limits 11 +/- 5.32
    assert xmr([10, 12] * 7, improvement=improvement, target=target).assurance == expected


def test_rebase_starts_new_limits_after_a_known_change():
    y = [10, 12] * 7 + [20, 22] * 7
    plain = xmr(y)
    assert plain.variation != "common_cause"  # the step is a shift on one set of limits
    s = xmr(y, periods=[f"p{i}" for i in range(28)], rebase=["p14"])
    assert s.points["group"].tolist() == [0] * 14 + [1] * 14
    assert s.points["mean"].iloc[0] == pytest.approx(11) and s.points["mean"].iloc[-1] == pytest.approx(21)
    assert set(s.points["variation"]) == {"common_cause"}
    with pytest.raises(ValueError, match="not in the series"):
        xmr(y, rebase=["nope"])


def test_baseline_fixes_the_limits_on_the_first_points():
    # limits from the first 10 points, [10, 12] x 5: mean 11, mean moving range 2, upper limit 16.32. The
    # seven 14s after them are inside it but above the mean, as is the 12 before them: a shift of 8 points.
    # Ten points give trial limits.
    s = xmr([10, 12] * 5 + [14] * 7, baseline=10)
    assert s.points["mean"].iloc[-1] == pytest.approx(11)
    assert s.points["upl"].iloc[-1] == pytest.approx(11 + 2.66 * 2)
    assert flagged(s, "shift") == list(range(9, 17))
    assert flagged(s, "outside_limits") == []
    assert s.trial
    # without a baseline the mean is (110 + 98) / 17 = 12.24: the first ten points are all below it and the
    # 14s above it, two shifts
    assert flagged(xmr([10, 12] * 5 + [14] * 7), "shift") == list(range(17))


def test_trial_limits_with_fewer_than_13_points():
    assert xmr([10, 12] * 6).trial
    assert not xmr([10, 12] * 6 + [11]).trial


def test_missing_values_are_left_out():
    s = xmr([10, 12, np.nan, 10, 12, 10, 12])
    assert s.points["variation"].iloc[2] is None
    assert s.points["mean"].iloc[0] == pytest.approx(11)


def test_lag_one_autocorrelation_by_hand():
    # [1, 1, 3, 3] x 2: mean 2, deviations -1, -1, 1, 1, ...: products of neighbours +1 (x4) and -1 (x3), over
    # the sum of squares 8: r = 1/8; less biased, (8 x 1/8 + 1) / (8 - 3) = 2/5. x 4: r = 1/16, (1 + 1) / 13.
    # 1 to 10: deviations -4.5 to 4.5, squares 82.5, products 57.75: r = 0.7, (7 + 1) / 7 > 0.9, taken as 0.9.
    # Alternating points are negatively correlated (r = -11/12): taken as 0; so is a flat series, or 3 points.
    assert lag1([1, 1, 3, 3] * 2) == pytest.approx(2 / 5)
    assert lag1([1, 1, 3, 3] * 4) == pytest.approx(2 / 13)
    assert lag1(range(1, 11)) == MAX_R == 0.9
    assert lag1([1, 3] * 6) == 0 and lag1([5] * 6) == 0 and lag1([1, 2, 3]) == 0


def test_run_length_of_a_shift_grows_with_autocorrelation():
    # two neighbours lie on one side of the mean with chance p = 1/2 + arcsin(r)/pi; a shift is as unlikely as
    # 7 independent points (p^(n-1) = (1/2)^6). r = 0: 7. r = 0.5: p = 1/2 + 1/6 = 2/3, n - 1 = 6 ln 2 / ln 1.5 =
    # 10.26, so 11 and n = 12. r = 0.9: p = 0.8564, n - 1 = 4.159 / 0.1550 = 26.8, so n = 28.
    assert run_length(0) == 7
    assert run_length(0.5) == 12
    assert run_length(0.9) == 28


def test_a_month_end_stock_has_limits_and_shifts_allowing_for_autocorrelation():
    # [1, 1, 2, 2] x 4, then eight 3s: mean 48/24 = 2; deviations [-1, -1, 0, 0] x 4 and eight 1s: squares 16,
    # products of neighbours 4 + 7 = 11: r = 11/16. Moving ranges: seven 1s in the first 16 points, 1 at the
    # step, 7 zeros: mean 8/23 (1 < 3.267 x 8/23, none screened).
    y = [1, 1, 2, 2] * 4 + [3] * 8
    plain = xmr(y)
    assert plain.points["upl"].iloc[0] == pytest.approx(2 + 2.66 * 8 / 23)  # 2.925: the 3s are outside
    assert plain.variation == "special_cause_improvement" and plain.latest["rules"] == "outside_limits, shift"
    # as a stock: r = 11/16 from 24 points is (24 x 11/16 + 1) / 21 = 5/6 less biased; the limits widen by
    # 1 / sqrt(1 - 5/6) = sqrt(6), to 2 + 2.66 x 8/23 x sqrt(6) = 4.266, near from 2 + 2/3 x 2.266 = 3.511;
    # a shift needs run_length(5/6) = 22 points (p = 0.8136, 1 + 20.2 rounded up): 8 are not one
    s = xmr(y, autocorrelated=True)
    assert s.points["autocorrelation"].iloc[0] == pytest.approx(5 / 6)
    assert s.points["upl"].iloc[0] == pytest.approx(2 + 2.66 * 8 / 23 * 6**0.5)
    assert s.points["near_upper"].iloc[0] == pytest.approx(2 + 2 / 3 * 2.66 * 8 / 23 * 6**0.5)
    assert run_length(5 / 6) == 22
    assert s.variation == "common_cause" and flagged(s, "shift") == []
    assert (plain.points["autocorrelation"] == 0).all()
    # a larger step is still found: eight 6s, mean 3, r = 94/112 (less biased above 0.9, so 0.9); the step's
    # moving range of 4 is screened (4 >= 3.267 x 11/23), so the mean moving range is 7/22 and the upper
    # limit 3 + 2.66 x 7/22 / sqrt(0.1) = 5.68, below 6
    big = xmr([1, 1, 2, 2] * 4 + [6] * 8, autocorrelated=True)
    assert big.points["autocorrelation"].iloc[0] == pytest.approx(0.9)
    assert big.points["upl"].iloc[0] == pytest.approx(3 + 2.66 * 7 / 22 / 0.1**0.5)
    assert big.variation == "special_cause_improvement" and big.latest["rules"] == "outside_limits"


def test_trend_length_grows_with_autocorrelation():
    # moves between points of autocorrelation r correlate at -(1 - r)/2; two go the same way with chance
    # q = 1/2 + arcsin(-(1 - r)/2)/pi, 1/3 at r = 0; a trend of n points is as unlikely as 7 independent ones when
    # q^(n-2) = (1/3)^5. r = 0.5: q = 1/2 - arcsin(1/4)/pi = 0.4196, n - 2 = 5 x 1.0986 / 0.8684 = 6.3, so 9.
    # r = 0.9: q = 0.4841, n - 2 = 7.6, so 10.
    assert trend_length(0) == 7
    assert trend_length(0.5) == 9
    assert trend_length(0.9) == 10
    # 8 points each higher than the one before, after [1, 5] x 8: r = 0 (alternation), so a trend of 7 or more
    s = xmr([1, 5] * 8 + [1.5, 2, 2.5, 3, 3.5, 4, 4.5, 4.8], autocorrelated=True)
    assert s.points["autocorrelation"].iloc[0] == 0 and flagged(s, "trend") == list(range(16, 24))


def test_a_stock_without_autocorrelation_is_judged_as_a_flow():
    # the shift of test_shift_of_seven_points_on_one_side_of_the_mean: neighbours' products sum to
    # -36 - 2 + 9 - 1 + 9 = -21 < 0, so r is taken as 0 and the same 14 points are flagged
    y = [5, 1] * 5 + [4, 4.5, 4, 4.5, 4, 4.5, 4] + [2, 1.5, 2, 1.5, 2, 1.5, 2]
    s = xmr(y, autocorrelated=True)
    assert flagged(s, "shift") == list(range(10, 24))
    assert s.points[["mean", "upl"]].equals(xmr(y).points[["mean", "upl"]])


def test_spc_of_judges_each_kind_on_its_own_basis():
    import pandas as pd

    from kpi.catalogue import load
    from kpi.spc import spc_of

    cat = load("county")
    y = [1, 1, 2, 2] * 4 + [3] * 8
    card = pd.DataFrame(
        {"month": pd.period_range("2024-11", periods=24, freq="M").strftime("%Y-%m"), "value": y, "target": 1.0}
    )
    flow, stock = spc_of(cat["1.7"], card), spc_of(cat["6.5"], card)  # re-referrals; under-13s in residential
    assert flow.basis == "the monthly figures" and flow.variation == "special_cause_concern"  # lower is better
    assert stock.basis == "the month-end figures, with limits allowing for their overlap from month to month"
    assert stock.variation == "common_cause" and stock.points["autocorrelation"].iloc[0] == pytest.approx(5 / 6)
    # a year-to-date figure (SDQ scores, from April) whose rows carry the month's own figure is judged on it:
    # [1, 2] x 12 is common cause, with no new limits in April; without it, on its own figures, rebased in April
    sdq = cat["6.14"]
    assert sdq.yearly
    ytd = card.assign(month_value=[1, 2] * 12)
    s = spc_of(sdq, ytd)
    assert s.basis == "the month's own figures, behind the year-to-date figure"
    assert s.points["value"].tolist() == [1, 2] * 12 and set(s.points["group"]) == {0}
    assert s.variation == "common_cause" and s.target == 1.0
    alone = spc_of(sdq, card)
    assert alone.points["value"].tolist() == y and alone.points["group"].iloc[-1] == 2  # Aprils 2025 and 2026


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-1000, 1000), min_size=2, max_size=40),
    st.integers(-10_000, 10_000),
    st.integers(1, 50),
)
def test_flags_do_not_depend_on_units_or_origin(values, shift, scale):
    """Adding a constant or multiplying by a positive one moves the limits with the data and flags nothing new;
    turning the direction round swaps improvement and concern."""
    a = xmr(values)
    b = xmr([v * scale + shift for v in values])
    assert a.points["rules"].tolist() == b.points["rules"].tolist()
    assert b.points["mean"].iloc[0] == pytest.approx(a.points["mean"].iloc[0] * scale + shift)
    assert np.allclose(a.points["upl"] - a.points["mean"], a.points["mean"] - a.points["lpl"])
    swap = {"special_cause_improvement": "special_cause_concern", "special_cause_concern": "special_cause_improvement"}
    down = xmr(values, improvement="decrease").points["variation"].tolist()
    assert down == [swap.get(v, v) for v in a.points["variation"]]


def test_read_series_lists_each_bad_row(tmp_path):
    f = tmp_path / "s.csv"
    f.write_text("period,value\n2025-01,20\n2025-02,abc\n2025-01,21\n,3\n2025-03,19.5\n")
    df, rejects = read_series(f)
    assert df.to_dict("list") == {"period": ["2025-01", "2025-03"], "value": [20.0, 19.5]}
    assert [(r["row"], r["column_name"]) for r in rejects] == [(3, "value"), (4, "period"), (5, "period")]
    assert "already on row 2" in rejects[1]["reason"]
    (tmp_path / "bad.csv").write_text("month,figure\n2025-01,1\n")
    with pytest.raises(ValueError, match="bad.csv: row 1 .*missing period, value"):
        read_series(tmp_path / "bad.csv")


def test_a_latest_first_series_is_read_in_time_order(tmp_path):
    # 15 months rising 10, 11, ... 24: a trend up to the latest month, 2026-03, an improvement when higher is better
    months = [f"{2025 + (m - 1) // 12}-{(m - 1) % 12 + 1:02d}" for m in range(1, 16)]
    text = "".join(f"{p},{10 + k}\n" for k, p in reversed(list(enumerate(months))))  # latest first
    f = tmp_path / "s.csv"
    f.write_text("period,value\n" + text)
    df, rejects = read_series(f)
    assert rejects == [] and df["period"].tolist() == months and df["value"].tolist() == list(range(10, 25))
    s = xmr(df["value"], df["period"], improvement="increase")
    assert (s.latest["period"], s.variation) == ("2026-03", "special_cause_improvement")
    # dates in other forms sort too; the same month twice is a duplicate
    f.write_text("period,value\n\nMar 2025,3\n01/01/2025,1\n2025-02-15,2\n2025-03,4\n")
    df, rejects = read_series(f)
    assert df["period"].tolist() == ["01/01/2025", "2025-02-15", "Mar 2025"]
    assert [(r["row"], r["value"], r["reason"]) for r in rejects] == [
        (6, "2025-03", "expected each period once; already on row 3")
    ]


def test_labels_out_of_time_order_are_refused(tmp_path):
    f = tmp_path / "s.csv"
    f.write_text("period,value\nbaseline,5\n2025-02,1\n2025-01,2\n")
    with pytest.raises(ValueError, match="row 4: period 2025-01 comes after row 3's 2025-02; expected periods in time"):
        read_series(f)
    f.write_text("period,value\nwinter,5\nspring,1\nsummer,2\n")  # labels alone: the file's order
    assert read_series(f)[0]["period"].tolist() == ["winter", "spring", "summer"]


def test_a_period_shaped_as_a_date_must_be_one_and_columns_are_named_once(tmp_path):
    f = tmp_path / "s.csv"
    f.write_text("period,value\n2025-02-30,1\n2025-13,2\n2025-03,3\n")
    df, rejects = read_series(f)
    assert df["period"].tolist() == ["2025-03"]
    assert [(r["row"], r["value"]) for r in rejects] == [(2, "2025-02-30"), (3, "2025-13")]
    f.write_text("period,value,period\n2025-01,1,x\n")
    with pytest.raises(ValueError, match="row 1 .*period named twice"):
        read_series(f)


def test_a_provisional_figure_is_no_signal():
    """3.1 (lower is better) at 30-32% for a year, then 10% in a month not final yet: left out of the limits and
    rules, it is no special cause; the same 10% settled is one (below the lower limit: improvement)."""
    import pandas as pd

    from kpi.catalogue import load
    from kpi.spc import spc_of

    m = load("county")["3.1"]
    y = [30.0, 31.0, 32.0, 31.0] * 3 + [10.0]
    card = pd.DataFrame(
        {"month": pd.period_range("2025-10", periods=13, freq="M").strftime("%Y-%m"), "value": y, "target": 30.0}
    )
    settled = spc_of(m, card.assign(provisional=False))
    assert settled.variation == "special_cause_improvement"
    late = spc_of(m, card.assign(provisional=[False] * 12 + [True]))
    assert late.variation == "common_cause"
    assert pd.isna(late.points["value"].iloc[-1])
