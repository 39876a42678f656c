"""Drafted commentary: plain sentences from a measure's series, for managers to edit.

Deterministic (the same series gives the same words) and modest: it says what moved, how it stands
against target and tolerance, and for how long, never why. The report marks it as a draft wherever a
manager's own commentary has not been given.
"""

from __future__ import annotations

import pandas as pd

from .catalogue import Measure
from .engine import display

STANDING = {
    "green": "meets the target",
    "amber": "is within tolerance but short of the target",
    "red": "is outside tolerance",
}


def _fmt(measure: Measure, v, thresholds=()) -> str:
    """A value as the report shows it beside its thresholds (target, tolerance: decimals enough not to read as
    on their other side, :func:`kpi.status.figure`), counts with thousands separators in prose."""
    if v is None or pd.isna(v):
        return "n/a"
    return display(measure, v, thresholds, thousands=measure.unit == "count")


def _threshold(measure: Measure, v) -> str:
    """A target or tolerance as set, never rounded (85.5 is not "86%" beside a count of 85.6)."""
    return f"{v:g}%" if measure.unit == "percent" else f"{v:,g}"


def _month(m: str) -> str:
    return pd.Timestamp(m + "-01").strftime("%B %Y")


# what the assurance means, in Making Data Count's plain words
ASSURANCE_PLAIN = {
    "consistently_met": "the target will be met consistently",
    "consistently_missed": "the target will not be met without change",
    "hit_and_miss": "the target will be met in some months and missed in others",
}
CLASS_PLAIN = {
    "special_cause_improvement": "improvement",
    "special_cause_concern": "concern",
    "special_cause_neither": "a change in a volume, neither better nor worse",
}


def _months(k: int, what: str) -> str:
    return f"this month {what}" if k == 1 else f"the last {k} months {what}"


def _tail(flags) -> int:
    """How many of the flags, counted back from the last, are true in a row."""
    k = 0
    for f in reversed(list(flags)):
        if not f:
            break
        k += 1
    return k


def why_special(spc) -> str:
    """Why the latest point is special cause, in months ("the last 7 months above the average"), one phrase for
    each rule that flags it, in the order of :data:`kpi.spc.RULES`."""
    pts = spc.points.dropna(subset=["value"])
    pts = pts[pts["group"] == pts["group"].iloc[-1]]
    last = pts.iloc[-1]
    v, mean = pts["value"].to_numpy(), last["mean"]
    above = last["value"] > mean
    side, limit = ("above", "upper") if above else ("below", "lower")
    out = []
    for rule in last["rules"].split(", "):
        if rule == "outside_limits":
            beyond = v > last["upl"] if above else v < last["lpl"]
            out.append(_months(_tail(beyond), f"{side} the {limit} process limit"))
        elif rule == "shift":
            out.append(_months(_tail(v > mean if above else v < mean), f"{side} the average"))
        elif rule == "trend":
            d = pts["value"].diff().to_numpy()[1:]
            up = d[-1] > 0
            k = _tail(d > 0 if up else d < 0) + 1
            out.append(f"{'rising' if up else 'falling'} month on month for the last {k} months")
        elif rule == "two_of_three":
            out.append(f"two of the last three months close to the {limit} process limit")
    return " and ".join(out)


def spc_sentence(spc, measure: Measure | None = None, headline: bool = True) -> str:
    """The SPC verdict on the latest month in plain words, as Making Data Count puts it: "Special cause: concern,
    the last 7 months above the average; the target will not be met without change." ("" when there are too few
    figures). ``headline=False`` leaves out the variation class, for a page that states it already. What was
    judged is said where it is not the monthly figures themselves (:attr:`kpi.spc.SPC.basis`, A121, A122)."""
    last = spc.latest
    if last is None or spc.variation is None or pd.isna(last["mean"]):
        return ""
    pts = spc.points.dropna(subset=["value"])
    n = int((pts["group"] == last["group"]).sum())
    if spc.variation == "common_cause":
        parts = [f"common cause: no significant change over the last {n} months"] if headline else []
    else:
        why = why_special(spc)
        parts = [f"special cause: {CLASS_PLAIN[spc.variation]}, {why}" if headline else why]
    if spc.assurance:
        parts.append(ASSURANCE_PLAIN[spc.assurance])
    out = "; ".join(parts)
    out = f"{out[:1].upper()}{out[1:]}." if out else ""
    if spc.basis != "the monthly figures":
        out += f" Judged on {spc.basis}."
    if spc.trial:
        pts = spc.points
        start = str(pts.loc[pts["group"] == pts["group"].iloc[-1], "period"].iloc[0])
        since = (
            "of figures"
            if pts["group"].iloc[-1] == 0
            else "since the financial year started"
            if measure is not None and measure.yearly and start.endswith("-04")
            else "since the definition changed"
        )
        out += f" (Trial limits: fewer than 13 months {since}.)"
    return out.strip()


def draft(measure: Measure, series: pd.DataFrame, spc=None) -> str:
    """Sentences about the latest month of a series (rows with month, value, target, tolerance, rag),
    ending with the SPC verdict when ``spc`` (:func:`kpi.spc.spc_of`) is given."""
    s = series.sort_values("month").reset_index(drop=True)
    hidden = s["suppressed"].fillna(False).astype(bool) if "suppressed" in s else pd.Series(False, index=s.index)
    if hidden.iloc[-1]:  # the public version: nothing is said of a suppressed figure, nor of how it moved
        return f"The figure for {_month(s['month'].iloc[-1])} is suppressed ([c])."
    known = s.dropna(subset=["value"])
    if known.empty or pd.isna(s["value"].iloc[-1]):
        return f"No figure is available for {_month(s['month'].iloc[-1])}."
    last = s.iloc[-1]
    now = _fmt(measure, last["value"], (last["target"], last["tolerance"]))
    out = []
    if len(known) >= 2:
        prev = known.iloc[-2]
        before = _fmt(measure, prev["value"], (prev["target"], prev["tolerance"]))
        if before == now:
            out.append(f"Unchanged at {now} in {_month(last['month'])}.")
        else:
            verb = "Rose" if last["value"] > prev["value"] else "Fell"
            better = (last["value"] > prev["value"]) == (measure.direction == "higher")
            judged = "" if measure.direction is None else f" ({'an improvement' if better else 'a deterioration'})"
            out.append(f"{verb} to {now} in {_month(last['month'])} from {before} in {_month(prev['month'])}{judged}.")
        # runs and extremes only over the months since the last suppressed one, so they speak of no hidden month
        if hidden.any():
            known = known[known.index > hidden[hidden].index[-1]]
        run = _run_before(known) if len(known) >= 2 else 0
        if run >= 3:
            trend = "rise" if known["value"].iloc[-2] > known["value"].iloc[-2 - run] else "fall"
            turned = (known["value"].iloc[-1] > known["value"].iloc[-2]) != (trend == "rise")
            if turned:
                out.append(f"This follows {run} months of {trend}.")
        extreme = _extreme(known)
        if extreme:
            out.append(extreme)
    else:
        out.append(f"{now} in {_month(last['month'])}.")
    rag = last["rag"] if isinstance(last["rag"], str) else None
    if rag:
        t, tol = _threshold(measure, last["target"]), _threshold(measure, last["tolerance"])
        sentence = f"It {STANDING[rag]} (target {t}, tolerance {tol})"
        since = None if hidden.any() else _first_since(s, rag)  # "first since" would speak of hidden months
        out.append(sentence + (f", {since}." if since else "."))
    said = spc_sentence(spc, measure) if spc is not None else ""
    if said:
        out.append(said)
    return " ".join(out)


def _run_before(known: pd.DataFrame) -> int:
    """How many consecutive moves in one direction ended at the month before the latest."""
    v = known["value"].tolist()[:-1]
    if len(v) < 2:
        return 0
    up = v[-1] > v[-2]
    n = 0
    for a, b in zip(reversed(v[:-1]), reversed(v[1:]), strict=True):
        if (b > a) == up and b != a:
            n += 1
        else:
            break
    return n


def _extreme(known: pd.DataFrame) -> str | None:
    """'the highest since ...' when the latest value tops the months before it."""
    v = known["value"].tolist()
    last = v[-1]
    for word, beats in (("highest", lambda x: x >= last), ("lowest", lambda x: x <= last)):
        earlier = [i for i, x in enumerate(v[:-1]) if beats(x)]
        if len(v) >= 6 and (not earlier or earlier[-1] < len(v) - 4):
            when = f"since {_month(known['month'].iloc[earlier[-1]])}" if earlier else f"in the {len(v)} months shown"
            return f"The {word} {when}."
    return None


def _first_since(s: pd.DataFrame, rag: str) -> str | None:
    """'for the first time since September 2024' when the RAG changed into rag this month."""
    rags = [r if isinstance(r, str) else None for r in s["rag"]]
    if len(rags) < 2 or rags[-2] == rag or rags[-2] is None:
        return None
    for i in range(len(rags) - 2, -1, -1):
        if rags[i] == rag:
            gap = len(rags) - 1 - i
            return f"for the first time since {_month(s['month'].iloc[i])}" if gap >= 3 else None
    return f"for the first time in the {len(rags)} months shown"
