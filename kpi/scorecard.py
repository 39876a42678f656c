"""The scorecard: every measure of a catalogue for a run of months, with its status.

The one entry point for the command line and the notebooks::

    from kpi.scorecard import scorecard
    df = scorecard("2026-10", months=13)                       # from the store
    df = scorecard("2025-01", aggregates="figures.csv")         # from monthly figures only
    df = scorecard("2026-10", months=6, by="locality")          # broken down

Returns one row per measure and month (and group), with numerator, denominator, value (unrounded,
percentages in percent), display, calculation, target, tolerance, RAG, changes since last month and
the same month last year, and comparison with statistical neighbours and England.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from . import aggregates as agg
from .calendar import month_end, months_back
from .catalogue import TARGETS, Catalogue, load, load_targets, targets_for
from .engine import RATE, Context, compute, finish
from .status import NO_FIGURE, PROVISIONAL, RAG_TEXT, compare, rag
from .store import connect

DEFAULT_TARGETS = TARGETS  # the project's params/targets.yaml (used if it exists)

# the previous definition's figure, in the months before a change of definition and its overlap after (A170)
BEFORE = ["before_numerator", "before_denominator", "before_value", "before_display"]
COLUMNS = [
    "measure",
    "kpi",
    "title",
    "section",
    "unit",
    "month",
    "numerator",
    "denominator",
    "value",
    "display",
    "calculation",
    "target",
    "tolerance",
    "direction",
    "rag",
    "rag_text",
    "change_month",
    "vs_last_month",
    "change_year",
    "vs_last_year",
    "statistical_neighbours",
    "vs_statistical_neighbours",
    "england",
    "vs_england",
    "not_available",
    "provisional",
    *RATE,  # why a rate per 10,000 shows its count only; the population estimate a rate divides by (kpi.engine)
    *BEFORE,
]


def scorecard(
    month: str,
    months: int = 1,
    *,
    store: Path | str | None = None,
    snapshot: int | None = None,
    context: Context | None = None,
    aggregates: Path | str | None = None,
    by: str | None = None,
    catalogue: Catalogue | str = "county",
    targets: Path | str | dict | None = DEFAULT_TARGETS,
    rejects: list | None = None,
    year_on_year: bool = True,
    measures: list[str] | None = None,
    monthly: bool = False,
) -> pd.DataFrame:
    """The scorecard for the ``months`` months ending with ``month``.

    Measures come from the store (``store``/``snapshot``, or an open ``context``; no store given: the default
    one, :func:`kpi.store.default_store`, unless an ``aggregates`` file is given and then from it alone) and,
    where an ``aggregates`` file gives a measure and month, from that file instead. Rows rejected from the
    aggregates file are appended to ``rejects`` when a list is given. ``year_on_year=False`` computes
    only the months shown (about half the time); the change on a year before is then given only where
    that month is among them. ``measures`` (references) limits it to those measures. ``monthly``: a measure
    counted over a window (year to date, 12 months) also gets the month's own figure, counted over the month
    alone (``month_numerator``, ``month_denominator``, ``month_value``; none for other measures): the flow
    behind it, which SPC judges (:func:`kpi.spc.spc_of`, A122).
    """
    cat = load(catalogue) if isinstance(catalogue, str) else catalogue
    refs = [cat[r].ref for r in measures] if measures else [m.ref for m in cat.measures]
    if isinstance(targets, dict):
        overrides = targets
    else:  # the default only if it exists; a file named must exist
        overrides = (
            None if targets is None or (targets == TARGETS and not TARGETS.exists()) else load_targets(targets, cat)
        )
    wanted = months_back(month, months)
    # a year more, so every month shown has its change on a year before; without, only the months
    # 12 or more after the first shown have it (with 13 months: the latest)
    span = months_back(month, months + 12 if year_on_year else months)
    frames = []
    if context is None and (store is not None or aggregates is None):
        con, snap = connect(store, snapshot)
        context = Context.prepare(con, snap)
    history = _history(context, cat, refs) if context is not None else {}
    if context is not None:
        frames.append(_before_history(compute(context, cat, span, by=by, refs=refs, finished=False), history))
    if aggregates is not None:
        if by:
            raise ValueError("aggregates have no breakdowns: --by needs record-level data")
        rows, rej = agg.read(aggregates, cat)
        if rejects is not None:
            rejects.extend(rej.to_dict("records"))
        if frames:
            base = frames.pop()
            keep = ~base.set_index(["measure", "month"]).index.isin(rows.set_index(["measure", "month"]).index)
            frames.append(base[keep])
        frames.append(rows[rows["measure"].isin(refs)])
    if not frames:
        raise ValueError("no data: give a store or an aggregates file")
    df = pd.concat(frames, ignore_index=True)
    if "grp" not in df:
        df["grp"] = None
    for c in RATE:  # none where no rate was computed (aggregates alone)
        if c not in df:
            df[c] = None
    if not by:  # every measure of the catalogue, for every month: "not available" where no figure exists
        full = pd.MultiIndex.from_product([refs, span], names=["measure", "month"])
        df = df.set_index(["measure", "month"]).reindex(full).reset_index()
    df = finish(df, cat)
    res = _status(df, cat, overrides, wanted, by)
    # why a measure has no figure: what the snapshot's sources could not supply
    why = {m.ref: context.unavailable(m) for m in cat.measures} if context is not None else {}
    given = set(rows["measure"]) if aggregates is not None else set()
    res.insert(
        len(res.columns) - len(RATE),
        "not_available",
        [
            None if r in given else _early(history, r, m) or why.get(r)
            for r, m in zip(res["measure"], res["month"], strict=True)
        ],
    )
    for c in RATE:
        res[c] = res[c].astype(object).where(res[c].notna(), None)
    res = _provisional(res, cat, (context.snapshot or {}).get("extract_date") if context is not None else None, given)
    res = _with_before(res, context, cat, refs, span, by)
    if monthly:
        res = _with_monthly(res, context, cat, refs, span, by)
    return res


MONTHLY = ["month_numerator", "month_denominator", "month_value"]


def _provisional(res: pd.DataFrame, cat: Catalogue, extract_date, given: set) -> pd.DataFrame:
    """The rows with ``provisional``: True where the measure's figure settles some days after the month's end
    (its ``settles``) and the extract was taken before then. A provisional figure is shown but not judged: no RAG,
    no better or worse than last month, last year or the comparators (A200). A figure from an aggregates file is
    the council's own, final (A201)."""
    res = res.copy()
    res.insert(len(res.columns) - len(RATE), "provisional", False)
    if extract_date is None or pd.isna(extract_date):
        return res
    extract = pd.Timestamp(extract_date).date()
    late = [
        bool(cat[r].settles)
        and r not in given
        and pd.notna(v)
        and month_end(m) + dt.timedelta(days=cat[r].settles) > extract
        for r, m, v in zip(res["measure"], res["month"], res["value"], strict=True)
    ]
    res["provisional"] = late
    judged = ["vs_last_month", "vs_last_year", "vs_statistical_neighbours", "vs_england"]
    res.loc[late, ["rag", *judged]] = None
    res.loc[late, "rag_text"] = PROVISIONAL
    return res


def _with_monthly(res: pd.DataFrame, context: Context | None, cat: Catalogue, refs, span, by) -> pd.DataFrame:
    """The rows with each windowed measure's own month (:func:`scorecard`'s ``monthly``): its parts counted over
    the month instead of their window."""
    from dataclasses import replace

    windowed = [
        cat[r]
        for r in refs
        if any(p.window != "month" for p in cat[r].parts) and context is not None and not context.unavailable(cat[r])
    ]
    res = res.assign(**{c: float("nan") for c in MONTHLY})
    if not windowed:
        return res
    own = [replace(m, parts=tuple(replace(p, window="month") for p in m.parts)) for m in windowed]
    sub = Catalogue(cat.name, cat.title, cat.council, own)
    df = compute(context, sub, span, by=by, refs=[m.ref for m in own])
    keys = ["measure", "month"] + (["group"] if by else [])
    df = df.rename(columns={"grp": "group", "numerator": MONTHLY[0], "denominator": MONTHLY[1], "value": MONTHLY[2]})[
        keys + MONTHLY
    ]
    out = res.drop(columns=MONTHLY).merge(df, on=keys, how="left")
    return out[list(res.columns)]


def _with_before(res: pd.DataFrame, context: Context | None, cat: Catalogue, refs, span, by) -> pd.DataFrame:
    """The rows with the previous definition's figure (``before_*``) where a measure's history gives one and the
    month is before the change or in its overlap (:func:`kpi.engine.compute_before`); empty elsewhere."""
    from .catalogue import previous
    from .engine import compute_before

    res = res.assign(**{c: float("nan") for c in BEFORE[:3]}, before_display=None)
    prev = previous(cat, refs)
    if context is None or not prev.measures:
        return res
    df = compute_before(context, cat, span, by=by, refs=[m.ref for m in prev.measures])
    if df.empty:
        return res
    df = finish(_before_history(df, _history(context, prev, [m.ref for m in prev.measures])), prev)
    df.loc[df["value"].isna(), "display"] = None
    keys = ["measure", "month"] + (["group"] if by else [])
    df = df.rename(
        columns={"grp": "group", **{c: f"before_{c}" for c in ("numerator", "denominator", "value", "display")}}
    )
    out = res.drop(columns=BEFORE).merge(df[keys + BEFORE], on=keys, how="left")
    out["before_display"] = out["before_display"].astype(object).where(out["before_display"].notna(), None)
    return out[list(res.columns)]


def _history(context: Context, cat: Catalogue, refs: list[str]) -> dict[str, tuple[str, str]]:
    """Each measure's history start: the latest month in which the records of a table it reads start, and that
    table (:func:`kpi.store.record_starts`). Before it a month would count records not yet kept as none: its
    figure is not given (docs/assumptions.md A85)."""
    from .engine import needs
    from .store import record_starts

    reads = {r: {t for t, _ in needs(cat[r])} for r in refs}
    starts = record_starts(context.con, context.snapshot, set().union(*reads.values()) if reads else set())
    out = {}
    for r, tables in reads.items():
        known = [(starts[t], t) for t in tables if t in starts]
        if known:
            out[r] = max(known)
    return out


def _early(history: dict, ref: str, month: str) -> str | None:
    """Why the measure has no figure in a month before its history starts (None: the month is not)."""
    start = history.get(ref)
    if start and month < start[0]:
        return f"before the data's history: the records of {start[1]} start in {start[0]}"
    return None


def _before_history(df: pd.DataFrame, history: dict) -> pd.DataFrame:
    """Computed rows of months before their measure's history with no figure (counts of records not yet kept)."""
    early = [_early(history, r, m) is not None for r, m in zip(df["measure"], df["month"], strict=True)]
    if not any(early):
        return df
    df = df.copy()
    figures = [c for c in ("numerator", "denominator", "value") if c in df]
    df.loc[early, figures] = float("nan")
    for c in RATE:
        if c in df:
            df[c] = df[c].astype(object)
            df.loc[early, c] = None
    return df


def _status(df: pd.DataFrame, cat: Catalogue, overrides, wanted: list[str], by: str | None) -> pd.DataFrame:
    """RAG, changes and comparisons for every row at once (a loop per measure costs more than the engine)."""
    from .calendar import add_months, month_label, month_start
    from .engine import calculation, display

    meta = pd.DataFrame(
        [
            (m.ref, m.kpi, m.title, m.section, m.unit, m.direction, m.statistical_neighbours, m.england)
            for m in cat.measures
        ],
        columns=["measure", "kpi", "title", "section", "unit", "direction", "statistical_neighbours", "england"],
        dtype=object,  # None where a measure has no KPI number or comparator, as the catalogue says
    )
    df = df.merge(meta, on="measure", how="left")
    pairs = df[["measure", "month"]].drop_duplicates()
    tt = [targets_for(cat[r], m, overrides) for r, m in zip(pairs["measure"], pairs["month"], strict=True)]
    pairs = pairs.assign(target=[t for t, _ in tt], tolerance=[t for _, t in tt])
    df = df.merge(pairs, on=["measure", "month"], how="left")
    # shown beside its target and tolerance: decimals enough not to read as on their other side (A104)
    near = df["value"].notna() & (df["target"].notna() | df["tolerance"].notna())
    df.loc[near, "display"] = [
        display(cat[r], v, (t, tol))
        for r, v, t, tol in zip(*(df.loc[near, c] for c in ("measure", "value", "target", "tolerance")), strict=True)
    ]
    work = near & (df["calculation"] != "")
    df.loc[work, "calculation"] = [
        calculation(cat[r], n, d, v, thresholds=(t, tol))
        for r, n, d, v, t, tol in zip(
            *(df.loc[work, c] for c in ("measure", "numerator", "denominator", "value", "target", "tolerance")),
            strict=True,
        )
    ]
    df["shown"] = pd.to_numeric(df["display"].str.rstrip("%"), errors="coerce")
    df["rag"] = pd.Series(
        [
            rag(v, t, tol, d)
            for v, t, tol, d in zip(df["value"], df["target"], df["tolerance"], df["direction"], strict=True)
        ],
        index=df.index,
        dtype=object,
    )
    df["rag_text"] = [RAG_TEXT[r] if pd.notna(v) else NO_FIGURE for r, v in zip(df["rag"], df["value"], strict=True)]
    months = df["month"].unique()
    keys = df[["measure", "month", "grp"]].copy()
    for n, name in ((1, "month"), (12, "year")):
        earlier = {m: month_label(add_months(month_start(m), -n)) for m in months}
        then = df[["measure", "month", "grp", "value", "shown"]].drop_duplicates(["measure", "month", "grp"])
        then = then.rename(columns={"value": "value_then", "shown": "shown_then"})
        got = keys.assign(month=keys["month"].map(earlier)).merge(then, on=["measure", "month", "grp"], how="left")
        df[f"change_{name}"] = df["value"].to_numpy() - got["value_then"].to_numpy()
        df[f"vs_last_{name}"] = _compare(df["shown"].to_numpy(), got["shown_then"].to_numpy(), df["direction"])
    # a comparator of another definition is shown, labelled, but the figure is not judged against it (A205)
    other_definition = df["measure"].isin([m.ref for m in cat.measures if m.comparator_definition])
    for comp in ("statistical_neighbours", "england"):
        other = pd.to_numeric(df[comp], errors="coerce").to_numpy()
        df[f"vs_{comp}"] = _compare(df["shown"].to_numpy(), other, df["direction"])
        df.loc[other_definition, f"vs_{comp}"] = None
    res = df[df["month"].isin(wanted)].rename(columns={"grp": "group"})
    cols = COLUMNS[:6] + (["group"] if by else []) + COLUMNS[6:]
    order = {m.ref: i for i, m in enumerate(cat.measures)}
    res = res.sort_values(
        ["measure", "month"] + (["group"] if by else []),
        key=lambda s: s.map(order) if s.name == "measure" else s,
        kind="stable",
    )
    return res[[c for c in cols if c not in ("not_available", "provisional") and c not in BEFORE]].reset_index(
        drop=True
    )


def _compare(a, b, direction) -> pd.Series:
    """:func:`kpi.status.compare` of each pair, as an object column (None where either is missing)."""
    return pd.Series([compare(x, y, d) for x, y, d in zip(a, b, direction, strict=True)], dtype=object)


def over_periods(
    month: str, periods: int = 4, period: str = "quarter", catalogue: Catalogue | str = "county", **kw
) -> pd.DataFrame:
    """The scorecard by quarter or financial year: the ``periods`` periods ending with the one ``month`` is in.

    A flow's figure over a period sums its months' numerators and denominators (a rate per 10,000 is annualised
    by 12 over the months counted); a month-end stock, a rolling-12-month figure and a year-to-date or
    projected figure is the one at the period's last month. ``months`` says how many of the period's months had
    figures: fewer than the period's length means the period is not over (or the data starts within it)."""
    from .calendar import period_months, period_of
    from .engine import calculation, count_only, display, value_of

    cat = load(catalogue) if isinstance(catalogue, str) else catalogue
    length = period_months(month, period)
    span = months_back(month, length * periods + 11)  # enough months to cover the periods asked
    card = scorecard(month, len(span), catalogue=cat, year_on_year=False, **kw)
    card["period"] = [period_of(m, period) for m in card["month"]]
    wanted = list(dict.fromkeys(card.sort_values("month")["period"]))[-periods:]
    card = card[card["period"].isin(wanted)].sort_values("month")
    rows = []
    for (ref, per), g in card.groupby(["measure", "period"], sort=False):
        m = cat[ref]
        last = g.iloc[-1]
        known = g.dropna(subset=["value"])
        # a rate without a population: its count over the period, as a count would be
        by_count = m.unit == "rate" and known.empty and g["rate_not_available"].notna().any()
        if by_count:
            known = g[g["rate_not_available"].notna()].dropna(subset=["numerator"])
        summed = m.kind == "flow" and all(p.window == "month" for p in m.parts)
        if summed and len(known):
            num = known["numerator"].sum()
            den = known["denominator"].iloc[-1] if m.unit == "rate" else known["denominator"].sum(min_count=1)
            val = float(value_of(m.unit, m.kind, pd.Series([num]), pd.Series([den]), len(known)).iloc[0])
            work = calculation(m, num, den, val, len(known), (last["target"], last["tolerance"]))
        else:
            num, den, val, work = last["numerator"], last["denominator"], last["value"], last["calculation"]
        shown = count_only(num) if by_count and len(known) else display(m, val, (last["target"], last["tolerance"]))
        rows.append(
            {
                "measure": ref,
                "title": m.title,
                "period": per,
                "months": len(known),
                "as_at": last["month"],
                "how": "" if known.empty else "sum of the months" if summed else "at the period's last month",
                "numerator": num,
                "denominator": den,
                "value": val,
                "display": shown,
                "calculation": work,
                "target": last["target"],
                "tolerance": last["tolerance"],
                "rag": rag(None if by_count else val, last["target"], last["tolerance"], m.direction),
                "not_available": last["not_available"],
                "rate_not_available": last["rate_not_available"],
                "population_used": last["population_used"],
            }
        )
    order = {m.ref: i for i, m in enumerate(cat.measures)}
    out = pd.DataFrame(rows)
    return out.sort_values(["measure", "period"], key=lambda s: s.map(order) if s.name == "measure" else s).reset_index(
        drop=True
    )
