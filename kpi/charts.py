"""One chart style for every KPI: its 13-month trend (:func:`kpi_chart`) and its XmR chart (:func:`xmr_chart`).

Both are SVG (crisp at any zoom, on a phone and in print), 5 inches wide: at their own size, 480 CSS pixels,
as in half a printed page, their text is 9 pt and more, in the page's one font (DejaVu Sans, A128). Their
text is SVG text (searchable, read in the page's font), and each has alt text (:func:`alt_text`,
:func:`xmr_alt_text`).

Readable in greyscale: the series is a solid black line with markers (the previous definition of a changed one
a grey dashed line with open markers, labelled), the target a dashed line, the
tolerance a dotted one, comparators dash-dot and long-dash lines with a white edge (legible where they lie on
another line). Every horizontal line is labelled at its right end, in the margin, the labels pushed apart
where lines are close (no legend to decode). RAG colours only tint the latest marker, never carry meaning
alone. The y-axis (:func:`y_axis`) ticks at round values and does not blow a flat series up to fill it (A129).
"""

from __future__ import annotations

import io
import math
import textwrap
from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib import patheffects, ticker  # noqa: E402
from matplotlib.transforms import blended_transform_factory  # noqa: E402

from .catalogue import Measure  # noqa: E402
from .narrative import _fmt, _threshold  # noqa: E402

RAG_COLOURS = {"green": "#1b7837", "amber": "#b35806", "red": "#b2182b", None: "#444444"}
RAG_MARKERS = {"green": "o", "amber": "D", "red": "s", None: "o"}
UNIT_LABEL = {"percent": "%", "rate": "per 10,000", "count": "number", "average": "average"}  # the y-axis's

FONT = "DejaVu Sans"  # matplotlib's own font, and the page's (kpi/templates/report/index.html.j2)
WIDTH, HEIGHT = 5.0, 3.3  # inches: 360 x 238 pt, drawn at 480 CSS pixels wide at its own size
SIZE = 10  # pt: the smallest text of a chart (about 7 pt at half an A4 page)
STYLE = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT, "Verdana", "Arial"],
    "font.size": SIZE,
    "axes.labelsize": SIZE,
    "axes.titlesize": SIZE + 1,
    "xtick.labelsize": SIZE,
    "ytick.labelsize": SIZE,
    "svg.fonttype": "none",  # text as text: in the page's font, searchable, read by the tests
    "svg.hashsalt": "kpi-charts",  # the same chart is the same file
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "axes.axisbelow": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.8,
    "axes.edgecolor": "#444444",
    "axes.facecolor": "white",
    "figure.facecolor": "white",
    "text.color": "#111111",
    "axes.labelcolor": "#222222",
    "xtick.color": "#222222",
    "ytick.color": "#222222",
    "ytick.major.size": 0,
}
# the y-axis of a flat series (A129): at least MIN_SPAN of the largest value drawn (1 at least), a percentage's at
# least MIN_POINTS percentage points (of 100: 20% of 93% would flatten a real 3-point fall); a MARGIN of the span
# beyond the outermost line, so none sits on the axis
MIN_SPAN, MIN_POINTS, MARGIN = 0.2, 10.0, 0.06
TARGET = dict(color="#1b7837", linestyle="--", linewidth=1.5)
TOLERANCE = dict(color="#b2182b", linestyle=":", linewidth=1.8)
COMPARATORS = (  # attribute, label, colour, dashes, end marker
    ("england", "England", "#1f4e79", "-.", "v"),
    ("statistical_neighbours", "Neighbours", "#5e5e5e", (0, (6, 2)), "^"),
)
# the previous definition of a measure whose definition changed (kpi.catalogue.Change): grey, dashed, open markers
BEFORE = dict(color="#555555", linestyle=(0, (4, 2)), linewidth=1.6, marker="o", markersize=4, markerfacecolor="white")
HALO = [patheffects.Stroke(linewidth=3.6, foreground="white"), patheffects.Normal()]  # lines' white edge
BACKING = dict(boxstyle="square,pad=0.1", facecolor="white", edgecolor="none", alpha=0.8)  # text's: still SVG text


@contextmanager
def _style():
    with plt.rc_context(STYLE):
        yield


def _svg(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    return buf.getvalue()


def _png(fig, dpi: int = 200) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def y_axis(unit: str, values) -> tuple[float, float, list[float]]:
    """The y-axis of a chart of ``values`` (every line drawn: the series, targets, comparators, limits): its
    limits and its ticks. The ticks are round (steps of 1, 2 or 5 times a power of ten; whole for a count);
    the range is widened, about its middle, to at least MIN_SPAN of the largest value (a percentage's to
    MIN_POINTS points), so a flat series stays flat, and kept within 0 (and 100%) for figures that cannot pass them;
    the limits lie a MARGIN beyond it, so no line sits on the axis; ticks within the limits."""
    v = np.array([float(x) for x in values if x is not None and not pd.isna(x) and np.isfinite(x)])
    if not len(v):
        v = np.array([0.0])
    lo, hi = float(v.min()), float(v.max())
    need = MIN_POINTS if unit == "percent" else max(MIN_SPAN * max(abs(lo), abs(hi)), 1.0)
    if hi - lo < need:
        mid = (lo + hi) / 2
        lo, hi = mid - need / 2, mid + need / 2
    floor = 0.0 if v.min() >= 0 else -math.inf
    ceiling = 100.0 if unit == "percent" and v.max() <= 100 else math.inf
    if lo < floor:
        lo, hi = floor, hi + floor - lo
    if hi > ceiling:
        lo, hi = max(floor, lo - (hi - ceiling)), ceiling
    pad = MARGIN * (hi - lo)
    lo, hi = lo - pad, hi + pad
    ticks = ticker.MaxNLocator(nbins=6, steps=[1, 2, 5, 10], integer=unit == "count").tick_values(lo, hi)
    step = float(ticks[1] - ticks[0])
    digits = max(0, 1 - math.floor(math.log10(step))) + 2
    ticks = [round(float(t), digits) for t in ticks if lo - 1e-9 * step <= t <= hi + 1e-9 * step]
    return lo, hi, [0.0 if t == 0 else t for t in ticks]


def _set_y(ax, unit: str, values) -> None:
    lo, hi, ticks = y_axis(unit, values)
    ax.set_ylim(lo, hi)
    ax.set_yticks(ticks)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    suffix = "%" if unit == "percent" else ""
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:,.{decimals}f}{suffix}"))


def _label(month: str) -> str:
    return pd.Timestamp(month + "-01").strftime("%b-%y")


def _hidden(s: pd.DataFrame) -> pd.Series:
    """The public version's suppressed months of a series (none in the full version)."""
    if "suppressed" not in s:
        return pd.Series(False, index=s.index)
    return s["suppressed"].fillna(False).astype(bool)


def _breaks(measure: Measure, s: pd.DataFrame) -> dict[int, str]:
    """Where the line is broken (the index of the first point after the break, in ``s`` sorted by month and
    renumbered) and why: a change of definition, or April for a figure counted from April."""
    out = {}
    if measure.yearly:
        out |= {i: "new financial year" for i in range(1, len(s)) if s["month"].iloc[i].endswith("-04")}
    for h in measure.history:
        if s["month"].iloc[0] < h.start <= s["month"].iloc[-1]:
            out[int((s["month"] >= h.start).to_numpy().argmax())] = "definition changed"
    return out


def _basis(spc) -> str | None:
    """What an XmR chart plots, in words, when it is not simply the monthly figures (those need no note)."""
    from .spc import PLAIN_BASIS

    basis = getattr(spc, "basis", None)
    return None if basis == PLAIN_BASIS else basis


def _frame(labels: list[str], legend_rows: int = 0, note: int = 0, title_lines: int = 1):
    """A figure whose plot leaves room on the right for the end labels, below for the month ticks (and a legend,
    ``note`` lines of a note), above for its title: fixed margins, so where a label goes can be worked out before drawing."""
    extra = 0.22 * legend_rows + 0.2 * (title_lines - 1) + 0.2 * max(note - 1, 0)  # inches
    fig, ax = plt.subplots(figsize=(WIDTH, HEIGHT + extra))
    width = max([len(t) for t in labels] or [0]) * SIZE * 0.62 + 14  # pt
    h = (HEIGHT + extra) * 72
    bottom = 44 + 16 * legend_rows + 14 * note
    top = 22 + 14.4 * (title_lines - 1)
    fig.subplots_adjust(left=46 / (WIDTH * 72), right=1 - width / (WIDTH * 72), bottom=bottom / h, top=1 - top / h)
    return fig, ax


def _end_labels(ax, items: list[tuple[float, str, str]]) -> None:
    """Each line's label at its right end, in the margin, pushed apart so that none overlaps another and joined
    to its line by a thin leader where it had to move: ``items`` are (y, text, colour)."""
    items = [(y, t, c) for y, t, c in items if y is not None and not pd.isna(y)]
    lo, hi = ax.get_ylim()
    items = [i for i in items if lo <= i[0] <= hi]
    if not items:
        return
    fig = ax.figure
    gap = (SIZE + 2.5) * fig.dpi / 72  # display units between two labels' middles
    pos = sorted(((ax.transData.transform((0, y))[1], y, t, c) for y, t, c in items), key=lambda p: p[0])
    top = ax.transAxes.transform((0, 1))[1] + gap / 2
    bottom = ax.transAxes.transform((0, 0))[1] - gap / 2
    got = _spread([p[0] for p in pos], gap, bottom, top)
    at = blended_transform_factory(ax.transAxes, ax.transData)
    for (w, y, text, colour), g in zip(pos, got, strict=True):
        dy = (g - w) * 72 / fig.dpi
        moved = abs(dy) > 0.5
        ax.annotate(
            text,
            (1.0, y),
            xycoords=at,
            xytext=(10 if moved else 4, dy),
            textcoords="offset points",
            ha="left",
            va="center",
            color=colour,
            fontsize=SIZE,
            annotation_clip=False,
            arrowprops=dict(arrowstyle="-", color=colour, linewidth=0.8, shrinkA=0, shrinkB=1) if moved else None,
        )


def _spread(want: list[float], gap: float, bottom: float, top: float) -> list[float]:
    """Positions as near ``want`` (ascending) as can be with ``gap`` between neighbours: labels that would overlap
    form a block centred on where they want to be, within ``bottom`` and ``top`` where they fit."""
    blocks: list[list[int]] = []  # runs of indices placed gap apart
    start: list[float] = []
    for i, w in enumerate(want):
        blocks.append([i])
        start.append(w)
        while len(blocks) > 1 and start[-2] + len(blocks[-2]) * gap > start[-1]:
            merged = blocks[-2] + blocks.pop()
            start.pop()
            blocks[-1] = merged
            start[-1] = sum(want[j] for j in merged) / len(merged) - (len(merged) - 1) * gap / 2
    got = [start[b] + k * gap for b, block in enumerate(blocks) for k in range(len(block))]
    if got and got[-1] > top:
        got = [g - (got[-1] - top) for g in got]
    if got and got[0] < bottom:
        got = [g + (bottom - got[0]) for g in got]
    for i in range(len(got) - 1, 0, -1):  # pushed down past the top: keep the gap from the bottom up
        got[i - 1] = min(got[i - 1], got[i] - gap)
    return got


def _month_ticks(ax, months: list[str], hidden=None, step: int = 1) -> None:
    hidden = [False] * len(months) if hidden is None else list(hidden)
    ticks = [_label(m) + (" [c]" if h else "") for m, h in zip(months, hidden, strict=True)]
    x = list(range(len(months)))[::-1][::step][::-1]  # every ``step``-th month, ending at the latest
    ax.set_xticks(x, [ticks[i] for i in x], rotation=45, ha="right", rotation_mode="anchor")
    ax.tick_params(axis="x", length=3, pad=3)


def _draw_breaks(ax, where: dict[int, str]) -> None:
    for c, why in where.items():
        ax.axvline(c - 0.5, color="#5e5e5e", linestyle=(0, (1, 3)), linewidth=1.2)
        ax.annotate(why, (c - 0.5, 0.98), xycoords=("data", "axes fraction"), xytext=(2, 0),
                    textcoords="offset points", rotation=90, ha="left", va="top", fontsize=SIZE,
                    color="#333333", bbox=BACKING)  # fmt: skip


def _trend_figure(measure: Measure, series: pd.DataFrame):
    """The matplotlib figure of :func:`kpi_chart`."""
    s = series.sort_values("month").reset_index(drop=True)
    n = len(s)
    x = list(range(n))
    right = n - 0.5  # the plot's right edge: horizontal lines run to it, to their labels
    target, tolerance = s["target"].iloc[-1], s["tolerance"].iloc[-1]
    ends = []  # (y, label, colour) at the right edge
    if pd.notna(target):
        ends.append((target, f"Target {_threshold(measure, target)}", TARGET["color"]))
    if pd.notna(tolerance):
        ends.append((tolerance, f"Tolerance {_threshold(measure, tolerance)}", TOLERANCE["color"]))
    comparators = [(getattr(measure, a), own, c, d, mk) for a, own, c, d, mk in COMPARATORS]
    comparators = [c for c in comparators if c[0] is not None]
    # of another definition: a short mark at the line's end ("England* 25%"), the definition in the note (A205)
    mark = "*" if measure.comparator_definition else ""
    ends += [(v, f"{own if own == 'Neighbours' else measure.national_name}{mark} {_fmt(measure, v)}", c)
             for v, own, c, _, _ in comparators]  # fmt: skip
    note = 2 if comparators and mark else int(bool(comparators and measure.comparator_year))
    before = _before(measure, s)
    keyed = bool(before.notna().any())  # the previous definition's line, named in a key under the months
    # (a row more under months marked [c], whose longer labels reach down into the first)
    rows = (2 if _hidden(s).any() else 1) if keyed else 0
    fig, ax = _frame([t for _, t, _ in ends], legend_rows=rows, note=note)
    ax.set_xlim(-0.5, right)
    values = [*s["value"], *s["target"], *s["tolerance"], *(c[0] for c in comparators), *before]
    _set_y(ax, measure.unit, values)
    # a change of definition (or a new financial year of a year-to-date figure) splits the line: the two
    # sides are not one series
    breaks = _breaks(measure, s)
    changes = sorted(breaks)
    for a, b in zip([0, *changes], [*changes, n], strict=True):
        ax.plot(x[a:b], s["value"].iloc[a:b], color="black", linewidth=2, marker="o", markersize=4, zorder=4)
    _draw_breaks(ax, breaks)
    if keyed:  # the previous definition: dashed, open markers, its key between the months and the note
        (line,) = ax.plot(x, before, gid="before-definition", zorder=3, **BEFORE)
        fig.legend([line], [before_label(measure)], loc="lower left", frameon=False, fontsize=SIZE, handlelength=3,
                   borderaxespad=0, bbox_to_anchor=(0.02, (3 + 14 * note) / (fig.get_figheight() * 72)))  # fmt: skip
    if s["target"].notna().any():
        ax.plot([*x, right], [*s["target"], target], zorder=2, gid="target", **TARGET)
    if s["tolerance"].notna().any():
        ax.plot([*x, right], [*s["tolerance"], tolerance], zorder=2, gid="tolerance", **TOLERANCE)
    for value, own, colour, dashes, marker in comparators:  # on top of the thresholds, with a white edge
        ax.plot([-0.5, right], [value, value], color=colour, linestyle=dashes, linewidth=1.4, zorder=3,
                path_effects=HALO, gid=f"comparator-{own.lower()}")  # fmt: skip
        ax.plot([right], [value], marker=marker, color=colour, markersize=6, clip_on=False, zorder=5)
    last = s.iloc[-1]
    if pd.notna(last["value"]):
        rag = last["rag"] if isinstance(last["rag"], str) else None
        ax.plot([x[-1]], [last["value"]], linestyle="none", marker=RAG_MARKERS[rag], markersize=9,
                color=RAG_COLOURS[rag], markeredgecolor="black", zorder=6)  # fmt: skip
        ax.annotate(
            _fmt(measure, last["value"], (last["target"], last["tolerance"])),
            (x[-1], last["value"]),
            textcoords="offset points",
            xytext=(-8, 9),
            ha="right",
            fontsize=SIZE + 1,
            fontweight="bold",
            bbox=BACKING,
            zorder=7,
        )
    _end_labels(ax, ends)
    _month_ticks(ax, list(s["month"]), _hidden(s))  # a suppressed month is a gap in the line, and says so
    ax.set_ylabel(UNIT_LABEL[measure.unit])
    ax.set_title(f"The last {n} months", loc="left")
    if note:
        other = f"\n* A different definition: {measure.comparator_definition}; not compared." if mark else ""
        names = " and ".join(
            {"england": measure.national_name, "statistical_neighbours": "statistical neighbours (their mean)"}[a]
            for a, *_ in COMPARATORS
            if getattr(measure, a) is not None
        )
        year = f": {measure.comparator_year}" if measure.comparator_year else ""
        fig.text(0.01, 0.01, f"{names}{year}{other}", fontsize=SIZE, color="#333333")
    return fig


def _before(measure: Measure, s: pd.DataFrame) -> pd.Series:
    """The previous definition's figures of the months shown (NaN where none: after the overlap, or suppressed)."""
    if measure.before is None or "before_value" not in s:
        return pd.Series(np.nan, index=s.index)
    return pd.to_numeric(s["before_value"], errors="coerce")


def before_label(measure: Measure) -> str:
    """The previous definition's label: "before December 2024: ever had a plan"."""
    change = measure.before
    return f"before {pd.Timestamp(change.start + '-01'):%B %Y}: {change.label}"


def kpi_chart(measure: Measure, series: pd.DataFrame) -> bytes:
    """SVG of a measure's series (rows with month, value, target, tolerance, rag), oldest first."""
    with _style():
        return _svg(_trend_figure(measure, series))


def alt_text(measure: Measure, series: pd.DataFrame) -> str:
    """A sentence a screen reader can read in place of the chart."""
    s = series.sort_values("month")
    vals = s.dropna(subset=["value"])
    if vals.empty:
        if _hidden(s).any():
            return f"Chart of {measure.title}: every figure shown is suppressed ([c])."
        return f"Chart of {measure.title}: no figures available."
    first, last = vals.iloc[0], vals.iloc[-1]

    def _at(row) -> str:  # a month's figure beside that month's target and tolerance
        return _fmt(measure, row["value"], (row["target"], row["tolerance"]))

    if len(vals) == 1:
        parts = [f"Chart of {measure.title}: one figure, {_at(last)} in {_label(last['month'])}."]
    else:
        hi, lo = vals.loc[vals["value"].idxmax()], vals.loc[vals["value"].idxmin()]
        parts = [
            f"Line chart of {measure.title}, {_label(s['month'].iloc[0])} to {_label(s['month'].iloc[-1])}.",
            f"It went from {_at(first)} in {_label(first['month'])} to {_at(last)} in {_label(last['month'])};",
            f"highest {_at(hi)} ({_label(hi['month'])}), lowest {_at(lo)} ({_label(lo['month'])}).",
        ]
    for i, why in sorted(_breaks(measure, s.reset_index(drop=True)).items()):
        what = "The definition changed" if why == "definition changed" else "A new financial year starts"
        parts.append(f"{what} from {_label(s['month'].iloc[i])}: the line is broken there.")
    before = _before(measure, s)
    if before.notna().any():
        had = s[before.notna()]
        parts.append(
            f"A dashed line gives the previous definition ({before_label(measure)}) from {_label(had['month'].iloc[0])} "
            f"to {_label(had['month'].iloc[-1])}: {_fmt(measure, before[before.notna()].iloc[0])} to "
            f"{_fmt(measure, before[before.notna()].iloc[-1])}."
        )
    hidden = s.loc[_hidden(s), "month"]
    if len(hidden):
        months = ", ".join(_label(m) for m in hidden)
        parts.append(f"Suppressed ([c]): {months}; the line has a gap there.")
    t, tol = s["target"].iloc[-1], s["tolerance"].iloc[-1]
    if pd.notna(t):
        parts.append(
            f"Target {_threshold(measure, t)}" + (f", tolerance {_threshold(measure, tol)}." if pd.notna(tol) else ".")
        )
    shown = [(measure.comparator_name(a).replace("Neighbours", "statistical neighbours (their mean)"), getattr(measure, a))
             for a in ("england", "statistical_neighbours") if getattr(measure, a) is not None]  # fmt: skip
    if shown:
        year = f" ({measure.comparator_year})" if measure.comparator_year else ""
        other = ", of a different definition" if measure.comparator_definition else ""
        parts.append(f"Comparators{year}{other}: " + ", ".join(f"{n} {_fmt(measure, v)}" for n, v in shown) + ".")
    return " ".join(parts)


SPC_MARKERS = {  # Making Data Count's colours, and a shape and size of their own: not colour alone
    "common_cause": ("o", "#a6a6a6", 22, "Common cause"),
    "special_cause_improvement": ("^", "#41b6e6", 48, "Special cause: improvement"),
    "special_cause_concern": ("s", "#ed8b00", 40, "Special cause: concern"),
    "special_cause_neither": ("D", "#7030a0", 34, "Special cause: a volume's change"),
}
LIMITS = dict(color="#333333", linestyle="--", linewidth=1.1)
LINES = ("mean", "lpl", "upl")


def _line(measure: Measure, v: float) -> str:
    """A mean or process limit: with a decimal, if the measure's figures have none (a limit is not a figure to
    round to whole numbers), else with the figures' decimals."""
    return f"{v:,.{max(measure.decimals, 1)}f}" + ("%" if measure.unit == "percent" else "")


def _runs(months: list[str]) -> str:
    """Months as runs: 'Mar-26 to Jun-26, Aug-26' (consecutive in the chart's order)."""
    return ", ".join(
        _label(r[0]) if len(r) == 1 else f"{_label(r[0])} to {_label(r[-1])}" for r in _consecutive(months)
    )


def _consecutive(months: list[str]) -> list[list[str]]:
    out: list[list[str]] = []
    for m in months:
        prev = out[-1][-1] if out else None
        if prev is not None and (pd.Period(m, "M") - pd.Period(prev, "M")).n == 1:
            out[-1].append(m)
        else:
            out.append([m])
    return out


def _xmr_figure(measure: Measure, spc, title: str | None = None):
    """The matplotlib figure of :func:`xmr_chart`."""
    p = spc.points.reset_index(drop=True)
    n = len(p)
    x = np.arange(n)
    known = p.dropna(subset=["value"])
    last = known.iloc[-1] if len(known) else None
    latest_group = last["group"] if last is not None else None
    ends = []
    if last is not None and pd.notna(last["mean"]):
        ends += [(last["mean"], f"Mean {_line(measure, last['mean'])}", "#111111")]
        ends += [(last["upl"], f"Upper limit {_line(measure, last['upl'])}", "#333333")]
        ends += [(last["lpl"], f"Lower limit {_line(measure, last['lpl'])}", "#333333")]
    if spc.target is not None:
        ends.append((spc.target, f"Target {_threshold(measure, spc.target)}", TARGET["color"]))
    classes = [c for c in SPC_MARKERS if (p["variation"] == c).any()]
    basis = _basis(spc)
    trial = " (trial limits)" if spc.trial else ""
    title = textwrap.fill(title or f"XmR chart, {n} months{trial}", 48)  # a long title on two lines (10 pt)
    note = textwrap.fill(f"Plotted: {basis}", 66) if basis else ""  # within the figure's width
    fig, ax = _frame(
        [t for _, t, _ in ends],
        (len(classes) + 1) // 2,
        note=note.count("\n") + 1 if note else 0,
        title_lines=title.count("\n") + 1,
    )
    right = n - 0.5
    ax.set_xlim(-0.5, right)
    floor = {"lpl": 0.0}  # a limit below zero, or above 100%, is drawn at the edge of what the figure can be
    values = [*p["value"], *p["mean"], *p["upl"].clip(upper=100 if measure.unit == "percent" else None)]
    values += [*p["lpl"].clip(lower=floor["lpl"]), spc.target]
    _set_y(ax, measure.unit, values)
    ax.plot(x, p["value"], color="#7f7f7f", linewidth=1.2, zorder=2)
    for g, part in p.groupby("group", sort=True):  # each rebase group its own mean and limits
        idx = part.index
        a, b = idx.min() - 0.4, idx.max() + 0.4
        if g == latest_group:  # the latest limits run on to their labels
            b = right
        if part["mean"].notna().any():
            mean, lpl, upl = (part[c].dropna().iloc[0] if part[c].notna().any() else None for c in LINES)
            ax.plot([a, b], [mean, mean], color="#111111", linewidth=1.3, zorder=3, gid=f"mean-{g}")
            style = dict(LIMITS, alpha=0.6) if part["trial"].any() else LIMITS
            for name, v in (("upl", upl), ("lpl", lpl)):
                if v is not None:  # a group of one point has a mean and no limits
                    ax.plot([a, b], [v, v], zorder=3, gid=f"{name}-{g}", **style)
        if idx.min() > 0:
            ax.axvline(idx.min() - 0.5, color="#5e5e5e", linestyle=(0, (1, 3)), linewidth=1.2)
            ax.annotate("new limits", (idx.min() - 0.5, 0.98), xycoords=("data", "axes fraction"), xytext=(2, 0),
                        textcoords="offset points", rotation=90, ha="left", va="top", fontsize=SIZE,
                        color="#333333", bbox=BACKING)  # fmt: skip
    if spc.target is not None:
        ax.plot([-0.5, right], [spc.target, spc.target], zorder=3, gid="target", path_effects=HALO, **TARGET)
    for cls in classes:
        marker, colour, size, label = SPC_MARKERS[cls]
        pts = p[p["variation"] == cls]
        ax.scatter(pts.index, pts["value"], marker=marker, s=size, color=colour, edgecolor="#222222",
                   linewidth=0.6, zorder=5, label=label, gid=cls)  # fmt: skip
    _end_labels(ax, ends)
    step = 1 if n <= 13 else 2
    _month_ticks(ax, list(p["period"]), step=step)
    ax.set_ylabel(UNIT_LABEL[measure.unit])
    ax.set_title(title, loc="left")
    if classes:
        ax.legend(loc="upper left", bbox_to_anchor=(-0.12, -0.2), ncol=2, frameon=False, fontsize=SIZE,
                  handletextpad=0.3, columnspacing=1.0, borderaxespad=0)  # fmt: skip
    if note:
        fig.text(0.01, 0.01, note, fontsize=SIZE, color="#333333", va="bottom")
    return fig


def xmr_chart(measure: Measure, spc, title: str | None = None, fmt: str = "svg") -> bytes:
    """A Making Data Count XmR chart of ``spc`` (:class:`kpi.spc.SPC`: whatever its points hold): the points
    coloured and shaped by their variation, each rebase group's mean and process limits, the target; SVG, or
    with ``fmt="png"`` PNG at 200 dpi (the explore notebooks' ``Image``)."""
    with _style():
        fig = _xmr_figure(measure, spc, title)
        return _svg(fig) if fmt == "svg" else _png(fig)


def xmr_alt_text(measure: Measure, spc) -> str:
    """The XmR chart in words: its months, the latest mean and process limits, the target, and the months of
    special cause, by class."""
    p = spc.points
    known = p.dropna(subset=["value"])
    if known.empty:
        return f"XmR chart of {measure.title}: no figures."
    months = list(p["period"])
    basis = _basis(spc)
    parts = [
        f"XmR chart of {measure.title}" + (f" ({basis})" if basis else "") + f", {_label(months[0])} to "
        f"{_label(months[-1])}."
    ]
    last = known.iloc[-1]
    if pd.notna(last["mean"]):
        since = p.loc[p["group"] == last["group"], "period"].iloc[0]
        new = f" (new limits from {_label(since)})" if since != months[0] else ""
        trial = "; trial limits, from fewer than 13 months" if spc.trial else ""
        lpl, upl = last["lpl"], last["upl"]
        low, high = 0, 100 if measure.unit == "percent" else math.inf  # where no figure can be beyond
        if pd.isna(upl):
            limits = "no process limits (one figure)"
        elif lpl < low and upl > high:
            limits = "process limits beyond every figure it can be"
        elif lpl < low:
            limits = f"upper process limit {_line(measure, upl)} (the lower one is below {_threshold(measure, low)})"
        elif upl > high:
            limits = f"lower process limit {_line(measure, lpl)} (the upper one is above 100%)"
        else:
            limits = f"process limits {_line(measure, lpl)} to {_line(measure, upl)}"
        parts.append(f"Mean {_line(measure, last['mean'])}{new}; {limits}{trial}.")
    if spc.target is not None:
        parts.append(f"Target {_threshold(measure, spc.target)}.")
    gaps = p.loc[p["value"].isna(), "period"].tolist()
    if gaps:  # the public version's suppressed months, or months with no figure: left out of the mean and limits
        parts.append(f"No figure (a gap, left out of the mean and limits): {_runs(gaps)}.")
    special = []
    for cls in ("special_cause_concern", "special_cause_improvement", "special_cause_neither"):
        at = p.loc[p["variation"] == cls, "period"].tolist()
        if at:
            special.append(f"{SPC_MARKERS[cls][3].lower()} in {_runs(at)}")
    if special:
        parts.append("Special cause: " + "; ".join(s.removeprefix("special cause: ") for s in special) + ".")
        parts.append("Every other month common cause.")
    else:
        parts.append("Every month common cause: no special cause.")
    return " ".join(parts)


def spc_chart(measure: Measure, spc, group: str | None = None) -> bytes:
    """PNG of the XmR chart (:func:`xmr_chart`) for the explore notebooks, titled by the measure (and ``group``,
    the group whose series it is, if not the whole authority's)."""
    title = f"{measure.ref} {measure.title}{f' ({group})' if group else ''}: XmR chart"
    return xmr_chart(measure, spc, title, fmt="png")


def breakdown_chart(measure: Measure, df: pd.DataFrame, highlight: str | None = None) -> bytes:
    """PNG of a measure by group (rows with month, label, value): one line per group, ``highlight`` in black."""
    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.9)
    d = df.dropna(subset=["value"]).copy()
    d["when"] = d["month"].map(_label)
    order = list(dict.fromkeys(d.sort_values("month")["when"]))
    d["x"] = d["when"].map(order.index)
    fig, ax = plt.subplots(figsize=(9.0, 3.8), dpi=100)
    groups = sorted(d["label"].unique(), key=str)
    palette = {
        g: ("black" if g == highlight else c)
        for g, c in zip(groups, sns.color_palette("Greys", len(groups) + 2)[2:], strict=True)
    }
    sns.lineplot(
        data=d, x="x", y="value", hue="label", style="label", markers=True, dashes=True, palette=palette, ax=ax
    )
    if highlight is not None:
        h = d[d["label"] == highlight]
        ax.plot(h["x"], h["value"], color="black", linewidth=3, zorder=3)
    ax.set_xticks(range(len(order)), order, rotation=45, ha="right", fontsize=8)
    ax.set_xlabel("")
    ax.set_ylabel(UNIT_LABEL[measure.unit])
    ax.set_title(
        f"{measure.ref} {measure.title}" + (f" ({highlight} in bold)" if highlight else ""), fontsize=10, loc="left"
    )
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    sns.despine(ax=ax)
    fig.tight_layout()
    return _png(fig)
