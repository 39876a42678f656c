"""Statistical process control as NHS England's Making Data Count does it: XmR charts and their verdicts.

The parameters (docs/assumptions.md A34) are those of the NHS-R community's "plot the dots" package, the
reference implementation of Making Data Count:

- the mean of the points, the moving ranges between consecutive points and their mean; moving ranges of
  3.267 x the mean moving range or more are screened out and the mean recomputed (``screen=False`` keeps
  them, as NHS England's spreadsheet tools do);
- process limits at mean +/- 2.66 x mean moving range; "near a limit" beyond mean +/- 2/3 of that distance
  but inside the limits;
- rules, each within a rebase group: a point outside the limits; a shift of 7 or more points in a row on
  one side of the mean (a point on the mean breaks it); a trend of 7 or more points in a row each higher
  (or each lower) than the one before (a tie breaks it); two of three consecutive points near a limit with
  all three on the same side of the mean (only the near points are flagged). Every point of a shift or
  trend is flagged;
- a flagged point is an improvement or a concern by the side of the mean it lies on and the measure's
  direction (a trend point lying exactly on the mean by the trend's direction);
- the variation verdict is the latest point's; assurance compares the target with the latest group's
  limits: a target beyond the limits on the good side is consistently met, on the bad side consistently
  missed, inside them hit and miss;
- limits come from every point of a group, or from its first ``baseline`` points only; ``rebase`` starts a
  new group (a new mean and limits) at each given period, e.g. when a definition changed. A group of fewer
  than 13 points has trial limits.

Month-end stocks (``autocorrelated=True``, docs/assumptions.md A121): consecutive points share most of their
children, so they are not independent and the moving ranges understate the spread. With r the lag-one
autocorrelation of a group's points (:func:`lag1`, corrected for its bias on few points; 0 to 0.9), the limits are widened by 1 / sqrt(1 - r) (for a first-order
autoregressive process the mean moving range is that much smaller than the spread it stands for) and a shift
needs as many points in a row as make it as unlikely as 7 independent ones: two consecutive points lie on one
side of the mean with chance p = 1/2 + arcsin(r)/pi, so 1 + 6 ln(1/2) / ln(p) points, rounded up (12 at r = 0.5);
a trend likewise (:func:`trend_length`: 9 at r = 0.5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

LIMIT = 2.66  # 3 / d2, d2 = 1.128 for moving ranges of two points
NEAR = 2 * LIMIT / 3  # two sigma
SCREEN = 3.267  # D4 for moving ranges of two points
RUN = 7  # points in a shift or a trend
MIN_POINTS = 13  # fewer: trial limits
MAX_R = 0.9  # autocorrelation beyond this is taken as 0.9 (limits 3.2 times as wide; a shift needs 28 points)
MONTHS = 24  # months behind a KPI's verdict, in the report and the explore notebooks alike (A35)

IMPROVEMENT = {"increase": 1, "decrease": -1, "higher": 1, "lower": -1, None: 0}  # None: a volume, neither

VARIATION_TEXT = {
    "common_cause": "Common cause variation: no significant change",
    "special_cause_improvement": "Special cause variation: improvement",
    "special_cause_concern": "Special cause variation: concern",
    "special_cause_neither": "Special cause variation: a significant change in a volume (neither better nor worse)",
    None: "No SPC verdict: too few figures",
}
ASSURANCE_TEXT = {
    "consistently_met": "the target will consistently be met",
    "consistently_missed": "the target will consistently be missed",
    "hit_and_miss": "the target will be met in some months and missed in others (hit and miss)",
    None: "no target to assure against",
}
PLAIN_BASIS = "the monthly figures"  # a flow judged month by month: nothing to say about what is plotted
RULES = ("outside_limits", "shift", "trend", "two_of_three")  # in the order they are listed


@dataclass
class SPC:
    """An XmR analysis: one row per point (``points``), and the verdicts on the latest point."""

    points: pd.DataFrame
    improvement: str
    target: float | None
    basis: str = PLAIN_BASIS  # what the points are, in words (the chart and the page say it)

    @property
    def latest(self) -> pd.Series | None:
        known = self.points.dropna(subset=["value"])
        return known.iloc[-1] if len(known) else None

    @property
    def variation(self) -> str | None:
        """The latest point's class; None without limits (fewer than two figures since the last change)."""
        last = self.latest
        return None if last is None or pd.isna(last["upl"]) else last["variation"]

    @property
    def assurance(self) -> str | None:
        last = self.latest
        if last is None or self.target is None or pd.isna(self.target) or pd.isna(last["upl"]):
            return None
        up = IMPROVEMENT[self.improvement] == 1
        if self.target > last["upl"]:
            return "consistently_missed" if up else "consistently_met"
        if self.target < last["lpl"]:
            return "consistently_met" if up else "consistently_missed"
        return "hit_and_miss"

    @property
    def trial(self) -> bool:
        """Limits from fewer than 13 points: to be read as provisional."""
        last = self.latest
        return last is not None and bool(last["trial"])

    def signal(self) -> pd.DataFrame:
        """The run of consecutive special-cause points of one class ending at the latest point (empty if none)."""
        known = self.points.dropna(subset=["value"])
        if known.empty or known["variation"].iloc[-1] == "common_cause":
            return known.iloc[0:0]
        cls = known["variation"].iloc[-1]
        n = 0
        for v in reversed(known["variation"].tolist()):
            if v != cls:
                break
            n += 1
        return known.iloc[-n:]

    def summary(self) -> dict:
        last = self.latest
        return {
            "variation": self.variation,
            "variation_text": VARIATION_TEXT[self.variation],
            "assurance": self.assurance,
            "assurance_text": ASSURANCE_TEXT[self.assurance],
            "rules": "" if last is None else last["rules"],
            "mean": None if last is None else float(last["mean"]),
            "lpl": None if last is None else float(last["lpl"]),
            "upl": None if last is None else float(last["upl"]),
            "trial_limits": self.trial,
        }


def xmr(
    values,
    periods=None,
    *,
    improvement: str = "increase",
    target: float | None = None,
    baseline: int | None = None,
    rebase=(),
    screen: bool = True,
    autocorrelated: bool = False,
) -> SPC:
    """The XmR analysis of a series (oldest first). Missing values are left out of every calculation.
    ``autocorrelated``: the points are month-end stocks; limits and the shift rule allow for their lag-one
    autocorrelation (column ``autocorrelation``, 0 otherwise)."""
    if improvement not in IMPROVEMENT:
        raise ValueError(f"improvement must be increase or decrease, not {improvement!r}")
    y = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").astype(float).to_numpy()
    periods = list(range(1, len(y) + 1)) if periods is None else list(periods)
    if len(periods) != len(y):
        raise ValueError("periods and values differ in length")
    unknown = [p for p in rebase if p not in periods]
    if unknown:
        raise ValueError(f"rebase period(s) not in the series: {', '.join(map(str, unknown))}")
    if baseline is not None and baseline < 2:
        raise ValueError("a baseline needs at least 2 points")
    starts = {periods.index(p) for p in rebase}
    group = np.cumsum([1 if i in starts else 0 for i in range(len(y))])
    out = pd.DataFrame({"period": periods, "value": y, "group": group})
    cols = {c: np.full(len(y), np.nan) for c in ("mean", "lpl", "upl", "near_lower", "near_upper")}
    flags = {r: np.zeros(len(y), dtype=bool) for r in RULES}
    side = np.zeros(len(y))
    trial = np.zeros(len(y), dtype=bool)
    trend_dir = np.zeros(len(y))
    auto = np.zeros(len(y))
    for g in np.unique(group):
        idx = np.flatnonzero((group == g) & ~np.isnan(y))
        if len(idx) == 0:
            continue
        v = y[idx]
        base = v[: baseline or len(v)]
        mean = base.mean()
        mr = np.abs(np.diff(base))
        amr = mr.mean() if len(mr) else np.nan
        if screen and len(mr):
            kept = mr[mr < SCREEN * amr]
            amr = kept.mean() if len(kept) else amr
        r = lag1(base) if autocorrelated else 0.0
        auto[idx] = r
        amr = amr / np.sqrt(1 - r)
        lpl, upl = mean - LIMIT * amr, mean + LIMIT * amr
        nl, nu = mean - NEAR * amr, mean + NEAR * amr
        for k, val in (("mean", mean), ("lpl", lpl), ("upl", upl), ("near_lower", nl), ("near_upper", nu)):
            cols[k][idx] = val
        trial[idx] = len(base) < MIN_POINTS
        s = np.sign(v - mean)
        side[idx] = s
        outside = (v > upl) | (v < lpl)
        near = ~outside & ((v < nl) | (v > nu))
        flags["outside_limits"][idx] = outside
        flags["shift"][idx] = _runs(s, lambda w: w[0] != 0 and np.all(w == w[0]), run_length(r))
        rises = np.sign(np.diff(v))
        trend = np.zeros(len(v), dtype=bool)
        tdir = np.zeros(len(v))
        tl = trend_length(r)
        for i in range(len(v) - tl + 1):
            d = rises[i : i + tl - 1]
            if d[0] != 0 and np.all(d == d[0]):
                trend[i : i + tl] = True
                tdir[i : i + tl] = d[0]
        flags["trend"][idx] = trend
        trend_dir[idx] = tdir
        two = np.zeros(len(v), dtype=bool)
        for i in range(len(v) - 2):
            w = slice(i, i + 3)
            if near[w].sum() >= 2 and abs(s[w].sum()) == 3:
                two[w] |= near[w]
        flags["two_of_three"][idx] = two
    for k, col in cols.items():
        out[k] = col
    for r in RULES:
        out[r] = flags[r]
    special = np.any([flags[r] for r in RULES], axis=0)
    up = IMPROVEMENT[improvement]
    direction = np.where(side != 0, side, trend_dir)
    out["variation"] = pd.Series(  # object: None where there is no value (pandas' str dtype would give NaN)
        [
            None
            if np.isnan(v)
            else "common_cause"
            if not sp
            else "special_cause_neither"
            if up == 0
            else "special_cause_improvement"
            if d == up
            else "special_cause_concern"
            for v, sp, d in zip(y, special, direction, strict=True)
        ],
        dtype=object,
    )
    out["rules"] = [", ".join(r for r in RULES if flags[r][i]) for i in range(len(y))]
    out["trial"] = trial
    out["autocorrelation"] = auto
    return SPC(out, improvement, target)


def lag1(v) -> float:
    """The lag-one autocorrelation of a series of n points: r = sum of (x_t - mean)(x_t-1 - mean) over sum of
    (x_t - mean)^2, less biased as (n r + 1) / (n - 3) (from n points r falls short of the true value by about
    (1 + 3 r) / n: 0.15 at r = 0.7 and 24 points); taken as 0 below 0 (or with fewer than 4 points or no spread)
    and as MAX_R above it."""
    v = np.asarray(v, dtype=float)
    d = v - v.mean()
    ss = float((d * d).sum())
    n = len(v)
    if n < 4 or ss == 0:
        return 0.0
    r = (d[1:] * d[:-1]).sum() / ss
    return float(min(max((n * r + 1) / (n - 3), 0.0), MAX_R))


def run_length(r: float) -> int:
    """Points in a row on one side of the mean that make a shift, for points of lag-one autocorrelation r:
    as unlikely as RUN independent ones (7 at r = 0)."""
    if r <= 0:
        return RUN
    p = 0.5 + np.arcsin(r) / np.pi  # chance that two consecutive points lie on the same side of the mean
    return 1 + int(np.ceil((RUN - 1) * np.log(0.5) / np.log(p) - 1e-9))


def spc_of(measure, card: pd.DataFrame) -> SPC:
    """SPC of one catalogue measure from its scorecard rows (month, value, target), with new limits from
    each change of its definition within the months given. The one entry point of the report, the narrative,
    the explore notebooks and the benchmark: the verdict is on what suits the measure's kind (A121, A122):

    - a flow in the month: its monthly figures, as they are;
    - a figure over a window (year to date, 12 months) whose rows carry the month's own figure
      (``month_value``, :func:`kpi.scorecard.scorecard`): that monthly flow behind it, as Making Data Count
      advises against SPC on rolling or cumulative figures;
    - a month-end stock (or a rolling figure without its month's own): its figures, with limits and the shift
      rule allowing for their overlap from month to month (``autocorrelated``).

    ``SPC.basis`` says which, in words."""
    card = card.sort_values("month")
    if "provisional" in card:  # a figure not final yet is no signal: a gap, out of the limits and rules (A202)
        late = card["provisional"].fillna(False).astype(bool)
        card = card.assign(**{c: card[c].where(~late) for c in ("value", "month_value") if c in card})
    months = card["month"].tolist()
    rebase = [h.start for h in measure.history if months and months[0] < h.start <= months[-1]]
    windowed = any(p.window != "month" for p in measure.parts)
    monthly = windowed and "month_value" in card and card["month_value"].notna().any()
    if measure.yearly and not monthly:  # a year-to-date figure starts again each April: new limits for each year
        rebase += [m for m in months[1:] if m.endswith("-04")]
    rebase = sorted(set(rebase))
    target = card["target"].iloc[-1] if len(card) else None
    out = xmr(
        (card["month_value"] if monthly else card["value"]).tolist(),
        months,
        improvement=measure.direction,
        # a target for a window's figure holds for its month's own where it is a proportion or an average
        target=None if target is None or pd.isna(target) or (monthly and measure.unit == "count") else float(target),
        rebase=[r for r in rebase if r in months],
        autocorrelated=not monthly and measure.kind != "flow",
    )
    out.basis = basis(measure, monthly)
    return out


def basis(measure, monthly: bool) -> str:
    """What the verdict on a measure is on, in words (:func:`spc_of`)."""
    if monthly:
        windows = {p.window for p in measure.parts}
        over = "projected year-end" if "fy" in windows else "year-to-date" if "ytd" in windows else "rolling 12-month"
        return f"the month's own figures, behind the {over} figure"
    if measure.kind == "flow":
        return PLAIN_BASIS
    what = "month-end" if measure.kind == "stock" else "rolling 12-month"
    return f"the {what} figures, with limits allowing for their overlap from month to month"


def trend_length(r: float) -> int:
    """Points in a row each higher (or lower) than the one before that make a trend, for points of lag-one
    autocorrelation r: as unlikely as RUN independent ones. The moves between first-order autoregressive points
    have lag-one autocorrelation -(1 - r)/2, so two consecutive moves go the same way with chance
    q = 1/2 + arcsin(-(1 - r)/2)/pi (1/3 for independent points); RUN points are RUN - 2 such continuations."""
    if r <= 0:
        return RUN
    q0 = 1 / 3
    q = 0.5 + np.arcsin(-(1 - r) / 2) / np.pi
    return 2 + int(np.ceil((RUN - 2) * np.log(q0) / np.log(q) - 1e-9))


def _runs(s: np.ndarray, same, run: int = RUN) -> np.ndarray:
    """Points belonging to any window of ``run`` consecutive points for which ``same(window)`` holds."""
    hit = np.zeros(len(s), dtype=bool)
    for i in range(len(s) - run + 1):
        if same(s[i : i + run]):
            hit[i : i + run] = True
    return hit


def period_key(text: str) -> pd.Timestamp | None:
    """When a period is, if it says: a month (2025-01), a date (2025-01-31, 31/01/2025), a month by name (Jan 2025,
    January 2025), a year (2025) or a financial year (2024-25, from April); None for any other label. A ValueError
    for one shaped as a month or date that is none (2025-02-30, 2025-13)."""
    forms = [
        (r"\d{4}-\d{2}-\d{2}", "%Y-%m-%d"),
        (r"\d{4}-\d{2}", "%Y-%m"),
        (r"\d{1,2}/\d{1,2}/\d{4}", "%d/%m/%Y"),
        (r"[A-Za-z]{3} \d{4}", "%b %Y"),
        (r"[A-Za-z]{4,} \d{4}", "%B %Y"),
        (r"\d{4}", "%Y"),
    ]
    if re.fullmatch(r"\d{4}-\d{2}", text) and (int(text[:4]) + 1) % 100 == int(text[5:]):
        return pd.Timestamp(int(text[:4]), 4, 1)
    for pattern, form in forms:
        if re.fullmatch(pattern, text):
            return pd.to_datetime(text, format=form)  # a ValueError if not a real month or date
    return None


def read_series(path) -> tuple[pd.DataFrame, list[dict]]:
    """A CSV of ``period,value``: the rows that load, in time order, and each other row with its reason. Rows are
    numbered by the file's own lines. Periods that are all months or dates (:func:`period_key`) are sorted; other
    labels are taken in the file's order, refused if those among them that are dates are out of order."""
    from .aggregates import csv_records
    from .errors import LoadError

    path = Path(path)
    try:
        header, records = csv_records(path)
    except LoadError as e:
        raise ValueError(str(e)) from None
    twice = sorted({c for c in header if c and header.count(c) > 1})
    if twice:
        raise ValueError(f"{path}: row 1 (header): column(s) {', '.join(twice)} named twice; expected each once")
    missing = [c for c in ("period", "value") if c not in header]
    if missing:
        raise ValueError(f"{path}: row 1 (header): expected columns period,value; missing {', '.join(missing)}")
    at = {c: header.index(c) for c in ("period", "value")}
    rows, rejects = [], []
    seen: dict[object, int] = {}

    def reject(i, col, value, reason):
        rejects.append({"file": str(path), "row": i, "column_name": col, "value": value, "reason": reason})

    for i, fields in records:
        r = {c: (fields[k] if k < len(fields) else "") for c, k in at.items()}
        period, raw = r["period"].strip(), r["value"].strip()
        if not period:
            reject(i, "period", r["period"], "expected a period")
            continue
        try:
            key = period_key(period)
        except ValueError:
            reject(i, "period", period, "expected a real month or date (or a label that is neither)")
            continue
        same = seen.get(period, seen.get(key) if key is not None else None)
        if same is not None:
            reject(i, "period", period, f"expected each period once; already on row {same}")
            continue
        try:
            value = float(raw)
            if not np.isfinite(value):
                raise ValueError
        except ValueError:
            reject(i, "value", raw, "expected a number")
            continue
        seen[period] = i
        if key is not None:
            seen[key] = i
        rows.append({"period": period, "value": value, "key": key, "row": i})
    df = pd.DataFrame(rows, columns=["period", "value", "key", "row"])
    dated = df.dropna(subset=["key"])
    if len(df) and len(dated) == len(df):
        df = df.sort_values("key", kind="stable")
    elif len(dated) > 1 and not dated["key"].is_monotonic_increasing:
        k = int(np.argmax(dated["key"].to_numpy()[1:] < dated["key"].to_numpy()[:-1]))
        a, b = dated.iloc[k], dated.iloc[k + 1]
        raise ValueError(
            f"{path}: row {b['row']}: period {b['period']} comes after row {a['row']}'s {a['period']}; expected "
            f"periods in time order (or every period a month YYYY-MM or a date, to be sorted)"
        )
    return df[["period", "value"]].reset_index(drop=True), rejects
