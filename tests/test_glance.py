"""The month at a glance: the trend line and Making Data Count icons (kpi.glance), and the KPI table's cells."""

import math
import re

import pandas as pd

from kpi import glance as gl
from kpi import params as pm
from kpi.catalogue import load
from kpi.report import Report


def test_a_trend_lines_points_span_the_box_lowest_at_the_bottom():
    # 112 x 28 px, 3 px kept clear: x from 3 to 109, y from 25 (the lowest) to 3 (the highest)
    assert gl.points([0, 5, 10]) == [(3, 25), (56, 14), (109, 3)]
    assert gl.points([10, 0]) == [(3, 3), (109, 25)]
    assert gl.points([4, 4]) == [(3, 14), (109, 14)]  # flat: along the middle
    assert gl.points([7]) == [(56, 14)]
    assert gl.points([None, math.nan]) == [None, None]


def test_a_missing_month_leaves_a_gap_in_the_line():
    pts = gl.points([1, None, 3, 4])  # x every 106/3 px; y from 25 (1) to 3 (4): 3 + 22 * (4 - v) / 3
    assert pts == [(3, 25), None, (73.67, 10.33), (109, 3)]
    assert gl.segments(pts) == [[(3, 25)], [(73.67, 10.33), (109, 3)]]
    svg = gl.sparkline([1, None, 3, 4], "Trend")
    assert re.findall(r'<path d="([^"]+)"', svg) == ["M73.67 10.33 L109 3"]  # one line, from the third month
    assert '<circle cx="3" cy="25" r="1.6"' in svg  # the first month alone: a dot
    assert '<circle class="latest" cx="109" cy="3"' in svg
    assert re.findall(r'<path d="([^"]+)"', gl.sparkline([2, 3, math.nan, 5, 6], "T")) == [
        "M3 25 L29.5 19.5",
        "M82.5 8.5 L109 3",
    ]


def test_a_trend_line_is_an_image_named_by_its_months_figures():
    label = gl.trend_label("Trend of KPI 3", ["Sep 2026", "Oct 2026"], ["21.3%", "[c]"])
    assert label == "Trend of KPI 3, 2 months, Sep 2026 to Oct 2026: Sep 2026: 21.3%; Oct 2026: [c]"
    svg = gl.sparkline([21.3, None], 'A "quoted" <label>')
    assert svg.startswith('<svg class="spark" role="img" aria-label="A &quot;quoted&quot; &lt;label&gt;"')
    assert "<title>A &quot;quoted&quot; &lt;label&gt;</title>" in svg
    empty = gl.sparkline([None, None], "Nothing")
    assert 'role="img"' in empty and "<path" not in empty and "<circle" not in empty


def test_the_icons_carry_a_mark_besides_their_colour_and_the_words_are_read():
    up, down = gl.variation_icon("special_cause_concern", "high"), gl.variation_icon("special_cause_concern", "low")
    assert 'aria-hidden="true"' in up and "M11 16.5V5.5" in up and "M11 5.5V16.5" in down  # arrow up, arrow down
    assert gl._MARKS["wave"] in gl.variation_icon("common_cause")
    assert gl.variation_icon(None) == "" and gl.assurance_icon(None) == ""
    # improvement and concern differ by more than colour only when the words say so: the words are always beside
    assert gl.variation_words("special_cause_improvement", "low") == "Special cause: improvement (low)"
    assert gl.variation_words("common_cause", "high") == "Common cause"
    assert gl.variation_words(None) == "Too few figures"
    marks = {a: gl.assurance_icon(a) for a in ("consistently_met", "consistently_missed", "hit_and_miss")}
    assert gl._MARKS["tick"] in marks["consistently_met"] and gl._MARKS["cross"] in marks["consistently_missed"]
    assert gl._MARKS["query"] in marks["hit_and_miss"]
    cell = gl.with_words(marks["hit_and_miss"], gl.ASSURANCE_WORDS["hit_and_miss"])
    assert cell.endswith("<span>Hit and miss</span></span>")


def _report(values, suppressed=(), public=False) -> Report:
    """A report of KPI 3 (measure 1.7, re-referrals) over 13 months to 2026-10 with the given percentages."""
    months = [f"{m:%Y-%m}" for m in pd.date_range("2025-10-01", periods=13, freq="MS")]
    rows = []
    for i, (month, v) in enumerate(zip(months, values, strict=True)):
        hidden = i in suppressed
        rows.append(
            {
                "measure": "1.7",
                "month": month,
                "numerator": float(v),
                "denominator": 100.0,
                "value": float(v),
                "display": "[c]" if hidden else f"{v}%",
                "calculation": f"{v}/100 = {v / 100}",
                "target": 18.0,
                "tolerance": 21.0,
                "rag": None,
                "suppressed": hidden,
            }
        )
    return Report("2026-10", pd.DataFrame(rows), load("county"), pm.MonthParams(month="2026-10"), {}, public)


def test_the_trend_of_a_kpi_names_its_13_months_and_leaves_out_a_suppressed_one():
    values = [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32]
    r = _report(values, suppressed={6})  # April 2026 suppressed: its value is still in the row, not drawn
    svg = r._trend(r.catalogue["1.7"])
    label = re.search(r'aria-label="([^"]+)"', svg).group(1)
    assert label.startswith("Trend of KPI 3, 13 months, Oct 2025 to Oct 2026: Oct 2025: 20%; Nov 2025: 21%;")
    assert "Apr 2026: [c]; May 2026: 27%" in label and label.endswith("Oct 2026: 32%")
    paths = re.findall(r'<path d="([^"]+)"', svg)
    assert [p.count("M") + p.count("L") for p in paths] == [6, 6]  # six months, a gap, six months
    step = 106 / 12
    assert f"L{3 + 5 * step:.2f}" in paths[0] and paths[1].startswith(f"M{3 + 7 * step:.2f}")
    assert r._trend(r.catalogue["1.7"]) == svg  # the same page each time


def test_the_kpi_tables_figure_cell_shows_its_working_and_thresholds_their_side():
    r = _report([20] * 12 + [25])
    m = r.catalogue["1.7"]
    assert r._counts(m, r.latest("1.7")) == "25/100"
    assert r._target_cell(m, r.latest("1.7")) == "Target &le;18%<br>Tolerance &le;21%"  # lower is better
    assert r._figure_at("1.7", "2026-09") == "20%" and r._figure_at("1.7", "2025-10") == "20%"
    assert r._figure_at("1.7", "2024-10") == "not available"
    hidden = _report([20] * 12 + [25], suppressed={12})
    assert hidden._counts(m, hidden.latest("1.7")) == ""  # no working beside a suppressed figure
