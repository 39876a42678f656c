"""The KPI page's charts on hand-made series: round ticks, a flat series kept flat, every line labelled at its
end, comparators legible where they meet another line or the axis, the XmR chart's special causes drawn in
Making Data Count's colours and shapes, and said in its alt text."""

import dataclasses
import math
import re
import xml.etree.ElementTree as ET

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.markers import MarkerStyle

from kpi.catalogue import load
from kpi.charts import _trend_figure, _xmr_figure, alt_text, kpi_chart, xmr_alt_text, xmr_chart, y_axis
from kpi.spc import xmr

COUNTY = load("county")
SVG = "{http://www.w3.org/2000/svg}"


def series(values, target=18.0, tolerance=21.0, start="2025-10"):
    months = pd.period_range(start, periods=len(values), freq="M").strftime("%Y-%m")
    return pd.DataFrame({"month": months, "value": values, "target": target, "tolerance": tolerance, "rag": None})


def texts(svg: bytes) -> list[str]:
    return ["".join(t.itertext()) for t in ET.fromstring(svg).iter(f"{SVG}text")]


def round_step(ticks) -> float:
    step = ticks[1] - ticks[0]
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 9) in (1, 2, 5), ticks
    assert all(abs(t / step - round(t / step)) < 1e-9 for t in ticks), ticks  # each a multiple of the step
    return step


def test_ticks_are_round_values():
    # 376 to 433 (a count): 57 apart, less than 20% of 433 (86.6), so 361.2 to 447.8 about 404.5; a margin of
    # 6% of 86.6 (5.2) each side: 356.0 to 453.0, about six ticks: every 20
    lo, hi, ticks = y_axis("count", [376, 433, 401])
    assert (round(lo, 1), round(hi, 1)) == (356.0, 453.0)
    assert ticks == [360, 380, 400, 420, 440]
    for unit, values in (("percent", [0.3, 0.7]), ("rate", [312.4, 367.9]), ("percent", [84.6, 85, 90, 18.3])):
        _, _, ticks = y_axis(unit, values)
        round_step(ticks)
    # a count's ticks are whole: 6 to 8 (widened to 1.6, 20% of 8, it is 2 already; 0.12 each side) every 1,
    # not every 0.5
    assert y_axis("count", [6, 8, 7])[2] == [6, 7, 8]
    # and drawn so: the chart's y tick labels are those values
    fig = _trend_figure(COUNTY["1.7"], series([18.4, 21.3, 20.7, 19.9]))
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    plt.close(fig)
    assert labels and all(re.fullmatch(r"\d+%", t) for t in labels), labels
    round_step([float(t[:-1]) for t in labels])


def test_a_flat_series_is_not_blown_up_to_fill_the_axis():
    # 69.1% to 69.5%, no target: the axis spans at least 10 points (a percentage's least), not 0.4
    fig = _trend_figure(COUNTY["1.7"], series([69.2, 69.5, 69.1, 69.3], None, None))
    lo, hi = fig.axes[0].get_ylim()
    plt.close(fig)
    assert hi - lo >= 10 and lo < 69.1 and hi > 69.5
    # a count of about 100: at least 20% of 101 (20.2); a percentage of about 93: 10 points, not 20% of 95
    lo, hi, _ = y_axis("count", [100, 101, 100])
    assert hi - lo >= 20.2
    lo, hi, ticks = y_axis("percent", [91.9, 94.3, 95, 90])  # 90 to 95 about 92.5: 87.5 to 97.5, and 0.6 more
    assert (round(lo, 1), round(hi, 1)) == (86.9, 98.1) and ticks == [88, 90, 92, 94, 96, 98]
    # never below zero nor above 100% for figures that cannot be
    lo, hi, ticks = y_axis("percent", [99.5, 100, 100])
    assert hi - lo >= 10 and min(ticks) >= 0 and max(ticks) <= 100
    lo, hi, ticks = y_axis("count", [0, 0, 1])
    assert min(ticks) == 0 and lo < 0  # 0 drawn just above the axis, not on it


def test_every_line_is_labelled_at_its_end():
    m = dataclasses.replace(COUNTY["1.7"], england=22.1, statistical_neighbours=20.5, comparator_year="2024-25")
    svg = kpi_chart(m, series([18.4, 21.3, 20.7]))
    words = texts(svg)
    for label in ("Target 18%", "Tolerance 21%", "England 22%", "Neighbours 20%"):
        assert label in words, (label, words)  # 22.1 and 20.5 shown as the measure's figures, whole percents
    assert any("2024-25" in w for w in words)  # the comparators' year
    assert "21%" in words  # the latest figure beside its point: text too, on a white backing, not glyph outlines
    # and said in the alt text
    assert alt_text(m, series([18.4, 21.3, 20.7])).endswith(
        "Target 18%, tolerance 21%. Comparators (2024-25): England 22%, statistical neighbours (their mean) 20%."
    )
    assert svg.startswith(b"<?xml") and b"<svg" in svg
    assert kpi_chart(m, series([18.4, 21.3, 20.7])) == svg  # the same chart is the same file


def test_one_font_and_nothing_smaller_than_9pt():
    m = dataclasses.replace(COUNTY["1.7"], england=22.1, statistical_neighbours=20.5, comparator_year="2024-25")
    s = series([18.4, 21.3, 20.7])
    spc = xmr([10, 12] * 6 + [11, 25], s["month"].tolist() + [f"2026-{i:02d}" for i in range(1, 12)],
              improvement="lower", target=18)  # fmt: skip
    for svg in (kpi_chart(m, s), xmr_chart(m, spc)):
        root = ET.fromstring(svg)
        assert root.get("width") == "360pt"  # 5 inches: 480 CSS pixels, as drawn at half an A4 page
        styles = [t.get("style") for t in root.iter(f"{SVG}text")]
        sizes = [float(x) for st in styles for x in re.findall(r"font-size: ([\d.]+)px", st)]
        assert sizes and min(sizes) >= 9  # 1 unit is 1 pt at 360 pt wide
        assert all("font-family: 'DejaVu Sans'" in st for st in styles)


def label_boxes(fig, words):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    found = {t.get_text(): t.get_window_extent(renderer) for t in fig.axes[0].texts if t.get_text() in words}
    assert set(found) == set(words), found
    return found


def test_a_comparator_on_the_tolerance_or_on_the_axis_stays_legible():
    # England exactly on the tolerance (21%): both lines drawn, England on top with a white edge, and the two
    # labels one above the other, not over each other
    m = dataclasses.replace(COUNTY["1.7"], england=21.0, statistical_neighbours=0.0, comparator_year="2024-25")
    fig = _trend_figure(m, series([0.0, 1.0, 0.5]))
    ax = fig.axes[0]
    boxes = label_boxes(fig, {"Tolerance 21%", "England 21%", "Neighbours 0%"})
    a, b = boxes["Tolerance 21%"], boxes["England 21%"]
    assert a.y1 <= b.y0 + 0.5 or b.y1 <= a.y0 + 0.5  # apart
    england = next(line for line in ax.lines if line.get_gid() == "comparator-england")
    tolerance = next(line for line in ax.lines if line.get_gid() == "tolerance")
    assert england.get_zorder() > tolerance.get_zorder() and england.get_path_effects()
    # neighbours at 0%, the lowest line: above the axis, not on it
    assert ax.get_ylim()[0] < 0
    plt.close(fig)


SPECIAL = [10, 12] * 6 + [11, 25]  # mean 12, limits 12 -/+ 2.66 x 23/12: 6.90 and 17.10; 25 is outside


def spc_of_hand(improvement="lower", target=18.0):
    months = pd.period_range("2025-01", periods=len(SPECIAL), freq="M").strftime("%Y-%m").tolist()
    return xmr(SPECIAL, months, improvement=improvement, target=target)


def test_special_cause_points_are_drawn_in_their_colour_and_shape():
    m = COUNTY["1.7"]  # lower is better: 25 above the limit is a concern
    spc = spc_of_hand()
    fig = _xmr_figure(m, spc)
    ax = fig.axes[0]
    drawn = {c.get_gid(): c for c in ax.collections}
    concern, common = drawn["special_cause_concern"], drawn["common_cause"]
    assert [tuple(o) for o in concern.get_offsets()] == [(13, 25)]
    assert matplotlib_colour(concern.get_facecolor()[0]) == "#ed8b00"
    square = MarkerStyle("s")
    assert (concern.get_paths()[0].vertices == square.get_path().transformed(square.get_transform()).vertices).all()
    assert len(common.get_offsets()) == 13 and matplotlib_colour(common.get_facecolor()[0]) == "#a6a6a6"
    assert "special_cause_improvement" not in drawn
    plt.close(fig)
    # in the SVG: the group of concern points, filled orange, one marker
    root = ET.fromstring(xmr_chart(m, spc))
    group = next(g for g in root.iter(f"{SVG}g") if g.get("id") == "special_cause_concern")
    assert "#ed8b00" in ET.tostring(group).decode()
    assert len(list(group.iter(f"{SVG}use"))) == 1
    # higher is better: the same point is an improvement, a blue triangle
    fig = _xmr_figure(COUNTY["2.2"], spc_of_hand("higher", None))
    up = next(c for c in fig.axes[0].collections if c.get_gid() == "special_cause_improvement")
    assert matplotlib_colour(up.get_facecolor()[0]) == "#41b6e6"
    plt.close(fig)


def matplotlib_colour(rgba) -> str:
    from matplotlib.colors import to_hex

    return to_hex(rgba)


def test_the_xmr_chart_is_drawn_and_said_with_its_mean_limits_target_and_special_causes():
    m = COUNTY["1.7"]
    text = xmr_alt_text(m, spc_of_hand())
    assert text == (
        f"XmR chart of {m.title}, Jan-25 to Feb-26. Mean 12.0%; process limits 6.9% to 17.1%. Target 18%. "
        "Special cause: concern in Feb-26. Every other month common cause."
    )
    words = texts(xmr_chart(m, spc_of_hand()))
    for label in ("Mean 12.0%", "Upper limit 17.1%", "Lower limit 6.9%", "Target 18%", "Special cause: concern"):
        assert label in words, (label, words)


def test_the_xmr_chart_draws_each_rebase_group_and_names_runs_of_months():
    # new limits from the 8th month (a change of definition): the first group's 7 points at 10, then 7 at 20
    months = pd.period_range("2025-01", periods=14, freq="M").strftime("%Y-%m").tolist()
    spc = xmr([10, 11] * 3 + [10] + [20, 21] * 3 + [20], months, improvement="lower", rebase=["2025-08"])
    m = COUNTY["1.7"]
    fig = _xmr_figure(m, spc)
    gids = {line.get_gid() for line in fig.axes[0].lines}
    plt.close(fig)
    assert {"mean-0", "upl-0", "lpl-0", "mean-1", "upl-1", "lpl-1"} <= gids
    text = xmr_alt_text(m, spc)
    assert "Mean 20.4% (new limits from Aug-25); process limits" in text and "trial limits" in text
    # runs of special cause points are named as runs: the last two high (outside the limits: 30 and 31 against a
    # mean of 187/14 = 13.4 and, the moving range of 19 screened out, a limit of 13.4 + 2.66 = 16.0), and the
    # twelve before them all below the mean (a shift), so an improvement, lower being better
    spc = xmr([10, 11] * 6 + [30, 31], months, improvement="lower")
    assert "Special cause: concern in Jan-26 to Feb-26; improvement in Jan-25 to Dec-25." in xmr_alt_text(m, spc)


def test_what_the_xmr_chart_plots_is_said_when_the_spc_says():
    spc = spc_of_hand()
    assert not any("Plotted" in w for w in texts(xmr_chart(COUNTY["1.7"], spc)))
    spc.basis = "the monthly flow behind the rolling 12 months"  # an SPC of the flow behind a rolling figure
    assert "Plotted: the monthly flow behind the rolling 12 months" in texts(xmr_chart(COUNTY["1.7"], spc))
    assert "(the monthly flow behind the rolling 12 months)" in xmr_alt_text(COUNTY["1.7"], spc)


def test_a_limit_no_figure_can_pass_is_said_so():
    # 1, 3, ... (a count): mean 2, moving ranges 2, limits 2 -/+ 5.32: the lower one, -3.32, cannot be reached
    spc = xmr([1, 3] * 7, pd.period_range("2025-01", periods=14, freq="M").strftime("%Y-%m").tolist())
    m = COUNTY["1.3"]
    assert m.unit == "count"
    assert "Mean 2.0; upper process limit 7.3 (the lower one is below 0)." in xmr_alt_text(m, spc)
    assert "Lower limit" not in " ".join(texts(xmr_chart(m, spc)))  # not labelled off the chart
    # a figure with decimals (an average caseload, 2): its mean and limits with as many, not more
    m = COUNTY["8.3"]
    assert (m.unit, m.decimals) == ("average", 2)
    assert xmr_alt_text(m, spc).startswith(
        f"XmR chart of {m.title}, Jan-25 to Feb-26. Mean 2.00; upper process limit 7.32"
    )


def test_the_explore_notebooks_xmr_chart_is_the_same_drawing_as_png_at_2x():
    import struct

    from kpi.charts import spc_chart

    png = spc_chart(COUNTY["1.7"], spc_of_hand(), group="East")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width == 1000  # 5 inches at 200 dpi: twice the 480 pixels of the report's SVG
    # its title, the measure's and group's, is too long for one line: wrapped, the figure taller by a line
    fig = _xmr_figure(
        COUNTY["1.7"], spc_of_hand(), title="1.7 % of referrals which are repeat referrals (East): XmR chart"
    )
    assert fig.axes[0].get_title(loc="left").count("\n") == 1 and fig.get_size_inches()[1] > 3.3 + 0.22
    plt.close(fig)


def test_months_without_a_figure_are_named_as_gaps():
    # the public version's suppressed months are missing values: gaps in the line, left out of the limits
    values = [10, 12] * 6 + [11, 25]
    values[2] = values[3] = values[7] = None
    months = pd.period_range("2025-01", periods=14, freq="M").strftime("%Y-%m").tolist()
    text = xmr_alt_text(COUNTY["1.7"], xmr(values, months, improvement="lower"))
    assert "No figure (a gap, left out of the mean and limits): Mar-25 to Apr-25, Aug-25." in text


def test_a_comparator_of_another_definition_is_labelled_on_the_chart_and_in_its_alt_text():
    m = dataclasses.replace(COUNTY["5.2"], england=23.0, statistical_neighbours=None, comparator_year="2025 (DfE)")
    fig = _trend_figure(m, series([12.0, 14.0, 13.0], target=10.0, tolerance=15.0))
    texts = [t.get_text() for t in fig.axes[0].texts] + [t.get_text() for t in fig.texts]
    assert "England* 23%" in texts and "England 23%" not in texts  # marked at the line's end, said in the note
    assert any("* A different definition: any previous plan; not compared." in t for t in texts)
    assert any(line.get_gid() == "comparator-england" for line in fig.axes[0].lines)
    plt.close(fig)
    text = alt_text(m, series([12.0, 14.0, 13.0], target=10.0, tolerance=15.0))
    assert "Comparators (2025 (DfE)), of a different definition: England, any previous plan 23%." in text
    assert "England 23%" not in text
