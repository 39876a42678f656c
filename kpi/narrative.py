"""Drafted commentary: plain sentences from a measure's series, for managers to edit.

Deterministic (the same series gives the same words) and modest: it says what moved, how it stands
against target and tolerance, and for how long; why only as the breakdowns show it (:mod:`kpi.drivers`). The report marks it as a draft wherever a
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


BY_NAME = {"sex": "sex", "ethnicity": "ethnicity", "source": "referral source", "primary_need": "primary need"}
OWN_KIND = {
    "special_cause_improvement": "improvement",
    "special_cause_concern": "concern",
    "special_cause_neither": "a volume's change",
}


def group_name(by: str, label: str, within: str | None = None) -> str:
    """'East locality (mostly East Assessment Team)', 'North Assessment Team', 'Aged 10-15', 'Police (referral
    source)', a label with a colon in quotes."""
    if by == "locality":
        return f"{label} locality" + (f" (mostly {within})" if isinstance(within, str) and within else "")
    if by == "team":
        return label
    if by == "age_band":
        return "Aged 18 or over" if label == "18+" else f"Aged {label}" if label[:1].isdigit() else label
    label = f"“{label}”" if ":" in label else label  # "“Individual: family member, ...” (referral source): 29%"
    return f"{label} ({BY_NAME.get(by, by.replace('_', ' '))})"


def driver_statements(drivers: pd.DataFrame | None) -> list[str]:
    """One statement per group that moved a measure (rows of :func:`kpi.drivers.for_report` for one measure):
    "East locality: 59% of the rise, special cause on its own limits (concern) since May 2026"."""
    if drivers is None or drivers.empty:
        return []
    out = []
    for r in drivers.itertuples():
        word = "rise" if r.change > 0 else "fall"
        text = f"{group_name(r.breakdown, r.label, r.within)}: {r.share_of_change:.0%} of the {word}"
        if isinstance(r.group_since, str) and r.group_variation in OWN_KIND:
            text += f", special cause on its own limits ({OWN_KIND[r.group_variation]}) since {_month(r.group_since)}"
        elif r.group_variation == "common_cause":
            text += ", common cause on its own limits"
        out.append(text)
    return out


def driver_sentence(measure: Measure, drivers: pd.DataFrame | None) -> str:
    """What moved the measure ("" if nothing is worth naming): its figure over the two periods compared, then each
    group's statement (:func:`driver_statements`)."""
    said = driver_statements(drivers)
    if not said:
        return ""
    r = drivers.iloc[0]
    (b0, b1), (a0, a1) = r["before"].split(".."), r["after"].split("..")
    before, after = _apart(measure, r["value_before"], r["value_after"])
    return f"It moved from {before} ({_span(b0, b1)}) to {after} ({_span(a0, a1)}). {'; '.join(said)}."


def _apart(measure: Measure, a: float, b: float) -> tuple[str, str]:
    """Two figures of the measure with decimals enough to tell them apart (up to 2 more than its own): "2.1% to
    1.6%", not "2% to 2%"."""
    import dataclasses

    for more in range(3 if measure.unit != "count" else 1):
        m = dataclasses.replace(measure, decimals=measure.decimals + more)
        x, y = _fmt(m, a), _fmt(m, b)
        if x != y:
            break
    return x, y


def _span(first: str, last: str) -> str:
    """'May to October 2026', 'November 2025 to April 2026'."""
    a, b = (pd.Timestamp(m + "-01") for m in (first, last))
    return f"{b:%B %Y}" if a == b else f"{a:%B}{'' if a.year == b.year else f' {a.year}'} to {b:%B %Y}"


def draft(measure: Measure, series: pd.DataFrame, spc=None, drivers: pd.DataFrame | None = None) -> str:
    """Sentences about the latest month of a series (rows with month, value, target, tolerance, rag),
    ending with the SPC verdict when ``spc`` (:func:`kpi.spc.spc_of`) is given and with what moved it when
    ``drivers`` (the measure's rows of :func:`kpi.drivers.for_report`) are."""
    s = series.sort_values("month").reset_index(drop=True)
    hidden = s["suppressed"].fillna(False).astype(bool) if "suppressed" in s else pd.Series(False, index=s.index)
    if hidden.iloc[-1]:  # the public version: nothing is said of a suppressed figure, nor of how it moved
        return f"The figure for {_month(s['month'].iloc[-1])} is suppressed ([c])."
    known = s.dropna(subset=["value"])
    if known.empty or pd.isna(s["value"].iloc[-1]):
        return f"No figure is available for {_month(s['month'].iloc[-1])}."
    last = s.iloc[-1]
    now = _fmt(measure, last["value"], (last["target"], last["tolerance"]))
    if bool(last.get("provisional", False)):  # not final yet: said so, not judged (kpi.scorecard, A200)
        return (
            f"{now} in {_month(last['month'])} is provisional: it is not final until the outcomes of the month's "
            "cases are known, so it is not judged against the target, the month before or the comparators."
        )
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
    moved = driver_sentence(measure, drivers)
    if moved:
        out.append(moved)
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
