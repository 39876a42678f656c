"""One chart style for every KPI: the series, its target and tolerance, its comparators.

Readable in greyscale: the series is a solid black line with markers, the target a dashed line, the
tolerance a dotted one, comparators dash-dot lines with their own markers; each line is labelled in the
legend, and the latest value is written beside its point. RAG colours only tint the latest marker,
never carry meaning alone. Every chart has alt text (:func:`alt_text`).
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .catalogue import Measure  # noqa: E402
from .narrative import _fmt, _threshold  # noqa: E402

RAG_COLOURS = {"green": "#1b7837", "amber": "#b35806", "red": "#b2182b", None: "#444444"}
RAG_MARKERS = {"green": "o", "amber": "D", "red": "s", None: "o"}


def _percent_axis(ax) -> None:
    """Percent ticks with as many decimals as the range needs (a narrow range would repeat "20%")."""
    lo, hi = ax.get_ylim()
    decimals = 0 if hi - lo >= 4 else 1 if hi - lo >= 0.4 else 2
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:.{decimals}f}%"))


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
        if s["month"].iloc[0] < h["from"] <= s["month"].iloc[-1]:
            out[int((s["month"] >= h["from"]).to_numpy().argmax())] = "definition changed"
    return out


def kpi_chart(measure: Measure, series: pd.DataFrame) -> bytes:
    """PNG of a measure's series (rows with month, value, target, tolerance, rag), oldest first."""
    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.9)
    s = series.sort_values("month").reset_index(drop=True)
    x = list(range(len(s)))
    fig, ax = plt.subplots(figsize=(8.0, 3.6), dpi=100)
    # a change of definition (or a new financial year of a year-to-date figure) splits the line: the two
    # sides are not one series
    breaks = _breaks(measure, s)
    changes = sorted(breaks)
    for k, (a, b) in enumerate(zip([0, *changes], [*changes, len(s)], strict=True)):
        ax.plot(
            x[a:b],
            s["value"].iloc[a:b],
            color="black",
            linewidth=2,
            marker="o",
            markersize=4,
            label="Actual" if k == 0 else None,
        )
    for c in changes:
        ax.axvline(c - 0.5, color="#5e5e5e", linestyle=(0, (1, 3)), linewidth=1.2)
        ax.annotate(breaks[c], (c - 0.5, 0.5), xycoords=("data", "axes fraction"), xytext=(-3, 0),
                    textcoords="offset points", rotation=90, ha="right", va="center", fontsize=7,
                    color="#333333")  # fmt: skip
    target, tolerance = s["target"].iloc[-1], s["tolerance"].iloc[-1]
    if pd.notna(target):
        ax.plot(
            x,
            s["target"],
            color="#1b7837",
            linestyle="--",
            linewidth=1.5,
            label=f"Target ({_threshold(measure, target)})",
        )
    if pd.notna(tolerance):
        ax.plot(
            x,
            s["tolerance"],
            color="#b2182b",
            linestyle=":",
            linewidth=1.8,
            label=f"Tolerance ({_threshold(measure, tolerance)})",
        )
    for value, name, marker in (
        (measure.statistical_neighbours, "Statistical neighbours", "^"),
        (measure.england, "England", "v"),
    ):
        if value is not None:
            ax.plot(
                x,
                [value] * len(x),
                color="#5e5e5e",
                linestyle="-.",
                linewidth=1,
                marker=marker,
                markevery=[len(x) - 1],
                label=f"{name} {measure.comparator_year or ''} ({_fmt(measure, value)})",
            )
    last = s.iloc[-1]
    if pd.notna(last["value"]):
        rag = last["rag"] if isinstance(last["rag"], str) else None
        ax.plot(
            [x[-1]],
            [last["value"]],
            linestyle="none",
            marker=RAG_MARKERS[rag],
            markersize=9,
            color=RAG_COLOURS[rag],
            markeredgecolor="black",
        )
        ax.annotate(
            _fmt(measure, last["value"], (last["target"], last["tolerance"])),
            (x[-1], last["value"]),
            textcoords="offset points",
            xytext=(-8, 9),
            ha="right",
            fontsize=10,
            fontweight="bold",
        )
    # a suppressed month is a gap in the line (its value is not in the figures drawn) and says so on its label
    ticks = [_label(m) + (" [c]" if h else "") for m, h in zip(s["month"], _hidden(s), strict=True)]
    ax.set_xticks(x, ticks, rotation=45, ha="right", fontsize=8)
    ax.set_xlim(-0.5, len(x) - 0.3)
    unit = {"percent": "%", "rate": "per 10,000", "count": "number", "average": "average"}[measure.unit]
    ax.set_ylabel(unit)
    if measure.unit == "percent":
        _percent_axis(ax)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=3, fontsize=8, frameon=False)
    sns.despine(ax=ax)
    fig.tight_layout()
    return _png(fig)


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
    hidden = s.loc[_hidden(s), "month"]
    if len(hidden):
        months = ", ".join(_label(m) for m in hidden)
        parts.append(f"Suppressed ([c]): {months}; the line has a gap there.")
    t, tol = s["target"].iloc[-1], s["tolerance"].iloc[-1]
    if pd.notna(t):
        parts.append(
            f"Target {_threshold(measure, t)}" + (f", tolerance {_threshold(measure, tol)}." if pd.notna(tol) else ".")
        )
    return " ".join(parts)


SPC_MARKERS = {  # shape and fill carry the class, not colour alone
    "common_cause": ("o", "#9a9a9a", "Common cause"),
    "special_cause_improvement": ("^", "#1f5fa8", "Special cause: improvement"),
    "special_cause_concern": ("s", "#d46a00", "Special cause: concern"),
    "special_cause_neither": ("D", "#6a3d9a", "Special cause: a volume's change"),
}


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def spc_chart(measure: Measure, series: pd.DataFrame, group: str | None = None) -> bytes:
    """PNG of a Making Data Count XmR chart: rows with month, value, mean, lpl, upl, variation (and target);
    ``group`` names the group whose series it is, if not the whole authority's."""
    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.9)
    s = series.sort_values("month").reset_index(drop=True)
    x = list(range(len(s)))
    fig, ax = plt.subplots(figsize=(9.0, 3.8), dpi=100)
    ax.plot(x, s["value"], color="#5e5e5e", linewidth=1.2, zorder=1)
    ax.plot(x, s["mean"], color="black", linewidth=1.2, label="Mean")
    ax.plot(x, s["upl"], color="black", linestyle="--", linewidth=1, label="Process limits")
    ax.plot(x, s["lpl"], color="black", linestyle="--", linewidth=1)
    if "target" in s and s["target"].notna().any():
        ax.plot(x, s["target"], color="#1b7837", linestyle=":", linewidth=1.8, label="Target")
    for cls, (marker, colour, label) in SPC_MARKERS.items():
        pts = s[s["variation"] == cls]
        if len(pts):
            ax.scatter(
                pts.index, pts["value"], marker=marker, s=36, color=colour, edgecolor="black", zorder=2, label=label
            )
    step = max(1, len(x) // 18)
    ax.set_xticks(x[::step], [_label(m) for m in s["month"]][::step], rotation=45, ha="right", fontsize=8)
    if measure.unit == "percent":
        _percent_axis(ax)
    ax.set_title(f"{measure.ref} {measure.title}{f' ({group})' if group else ''}: XmR chart", fontsize=10, loc="left")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=4, fontsize=8, frameon=False)
    sns.despine(ax=ax)
    fig.tight_layout()
    return _png(fig)


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
    ax.set_ylabel({"percent": "%", "rate": "per 10,000", "count": "number", "average": "average"}[measure.unit])
    ax.set_title(
        f"{measure.ref} {measure.title}" + (f" ({highlight} in bold)" if highlight else ""), fontsize=10, loc="left"
    )
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    sns.despine(ax=ax)
    fig.tight_layout()
    return _png(fig)
