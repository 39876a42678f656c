"""Why a figure moved: each group's part in the change, and which groups are worth naming.

One place for it, used by the analysts' :class:`kpi.explore.Explorer` and by the report (``prepare_data``): all of it
from aggregates (numerator and denominator by month and group), never from records.

How a change is split between groups (:func:`decompose`): a ratio over all groups is the groups' ratios weighted by
their share of the denominator, R = sum(w_g * r_g), so between two periods
dR = sum(mean(w_g) * d(r_g)) + sum(mean(r_g) * d(w_g)): each group's *rate effect* (its own figure moved) plus its
*mix effect* (its share of the denominator moved, by how far its figure lies from the whole's:
(mean(r_g) - mean(R)) * d(w_g), which sums to nothing over the groups). The two add up exactly to the change overall. A count (or a rate
by a breakdown without a population) is split by each group's change in its count. Each period is a month or a run of
months whose numerators and denominators are averaged.

Which groups are named (:func:`informative`): a group explaining at least :data:`SHARE` of the change, and at least
:data:`LIFT` times its share of the cases, and not most of the cases: a group that is most of the cases and moves
with the whole (White British, 107% of the change while 80% of the children) says nothing the figure did not. The change looked at
(:func:`periods`): from the 12 months before to the latest months (the latest signal's special-cause points, 3 to 6
months). A KPI is looked at in the report when it shows special cause or changed notably (:func:`notable`,
docs/assumptions.md A116-A120).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from . import model
from .calendar import add_months, month_label, month_start, months_back
from .catalogue import Catalogue, Measure
from .engine import BREAKDOWNS, POPULATION_BREAKDOWNS, value_of
from .spc import MONTHS as SPC_MONTHS
from .spc import SPC, spc_of

log = logging.getLogger(__name__)

# code lists of the data model, for breakdowns by a coded column
CODE_LABELS = {
    "sex": model.SEX,
    "ethnicity": model.ETHNICITY,
    "source": model.REFERRAL_SOURCE,
    "primary_need": model.PRIMARY_NEED,
    "placement_type": model.PLACEMENT_TYPE,
}
STORY_BREAKDOWNS = ("locality", "team", "source", "age_band", "sex", "ethnicity", "primary_need")
BEFORE = 12  # months of the period compared with
RECENT = 3  # the latest months looked at, with no longer signal (at most MOST_RECENT)
MOST_RECENT = 6
SHARE = 0.25  # a group named explains at least a quarter of the change ...
LIFT = 1.5  # ... and at least 1.5 times its share of the cases (A117) ...
Z = 2  # ... and departs from the whole's movement by 2 standard errors of chance or more (A117)
MAJORITY = 0.5  # ... and is not most of the cases: a majority's more than all the change is the others moving back
PER_BREAKDOWN = 2  # groups named of one breakdown
BREAKDOWNS_NAMED = 2  # breakdowns named for one KPI
NAMED = 3  # groups named for one KPI
SMALLEST = 0.05  # a group ranked is at least this share of the cases: a ranking tries every group (A141)
WITHIN = 0.75  # a locality's team that holds this much of its contribution is named with it (A118)
COLUMNS = [
    "measure",
    "breakdown",
    "group",
    "label",
    "within",
    "share_of_change",
    "weight",
    "contribution",
    "change",
    "value_before",
    "value_after",
    "before",
    "after",
    "group_variation",
    "group_since",
    "smallest",
]


def months_of(spec) -> list[str]:
    """'2026-10', '2026-05..2026-10' or a list of months, as a list of months."""
    if isinstance(spec, list | tuple):
        return [month_label(month_start(m)) for m in spec]
    spec = str(spec)
    if ".." in spec:
        first, last = (month_start(x) for x in spec.split(".."))
        n = (last.year - first.year) * 12 + last.month - first.month
        if n < 0:
            raise ValueError(f"{spec!r} ends before it starts")
        return months_back(month_label(last), n + 1)
    return [month_label(month_start(spec))]


def periods(spc: SPC, month: str, window: int | None = None) -> tuple[list[str], list[str]]:
    """The months compared: the latest signal's special-cause points (3 to 6 months; ``window``: that many) to
    ``month``, and the 12 months before them."""
    n = window or min(max(len(spc.signal()), RECENT), MOST_RECENT)
    after = months_back(month, n)
    before = months_back(month_label(add_months(month_start(after[0]), -1)), BEFORE)
    return before, after


def period_value(m: Measure, total: pd.DataFrame, months: list[str]) -> float:
    """The measure's figure over a period: its months' numerators and denominators averaged."""
    sel = total[total["month"].isin(months)][["numerator", "denominator"]].sum(min_count=1) / len(months)
    return value_of(m.unit, m.kind, pd.Series([sel["numerator"]]), pd.Series([sel["denominator"]])).iloc[0]


def notable(values, change: float) -> bool:
    """A change of the figure at least its typical month-to-month movement (the mean moving range of ``values``),
    about two standard errors of a 3-month mean (A116)."""
    v = pd.Series(values, dtype=float).dropna()
    if len(v) < 3 or change is None or pd.isna(change) or not change:
        return False
    return abs(change) >= v.diff().abs().mean()


def decompose(m: Measure, groups: pd.DataFrame, total: pd.DataFrame, a: list[str], b: list[str], by: str):
    """The rate and mix effects of each group between periods a and b (see the module's docstring), largest in the
    direction of the change first. ``groups``: month, grp, numerator, denominator; ``total``: month, numerator,
    denominator."""

    def mean_of(df, months):
        sel = df[df["month"].isin(months)]
        keys = ["grp"] if "grp" in df else []
        if keys:
            return sel.groupby(keys, dropna=False)[["numerator", "denominator"]].sum(min_count=1) / len(months)
        return sel[["numerator", "denominator"]].sum(min_count=1) / len(months)

    ga, gb = mean_of(groups, a), mean_of(groups, b)
    g = (
        ga.add_suffix("_before")
        .join(gb.add_suffix("_after"), how="outer")
        .fillna({"numerator_before": 0, "numerator_after": 0})
    )
    ta, tb = mean_of(total, a), mean_of(total, b)
    value = lambda n, d: value_of(m.unit, m.kind, pd.Series([n]), pd.Series([d])).iloc[0]  # noqa: E731
    v_a, v_b = value(ta["numerator"], ta["denominator"]), value(tb["numerator"], tb["denominator"])
    g["value_before"] = value_of(m.unit, m.kind, g["numerator_before"], g["denominator_before"])
    g["value_after"] = value_of(m.unit, m.kind, g["numerator_after"], g["denominator_after"])
    ratio = m.unit in ("percent", "average") or (m.unit == "rate" and by in POPULATION_BREAKDOWNS)
    if ratio:
        da, db = g["denominator_before"].fillna(0), g["denominator_after"].fillna(0)
        g["share_before"] = da / da.sum() if da.sum() else 0.0
        g["share_after"] = db / db.sum() if db.sum() else 0.0
        ra = g["value_before"].where(da > 0, g["value_after"]).fillna(0)
        rb = g["value_after"].where(db > 0, g["value_before"]).fillna(0)
        g["rate_effect"] = (g["share_before"] + g["share_after"]) / 2 * (rb - ra)
        # centred on the whole's figure: a group that grew in share gains only by how far its figure is from the
        # whole's (uncentred, a half of the cases 1 point larger at 90% would get 0.9 points of a change it is not)
        g["mix_effect"] = ((ra + rb) / 2 - (v_a + v_b) / 2) * (g["share_after"] - g["share_before"])
        g["contribution"] = g["rate_effect"] + g["mix_effect"]
    else:  # counts, and rates by a breakdown without a population: each group's numerator on the whole

        def scale(n, d):
            return n if m.unit == "count" else value_of(m.unit, m.kind, n, pd.Series(d, index=n.index))

        g["share_before"] = g["share_after"] = np.nan
        g["rate_effect"] = g["mix_effect"] = np.nan
        g["contribution"] = scale(g["numerator_after"], tb["denominator"]) - scale(
            g["numerator_before"], ta["denominator"]
        )
    change = v_b - v_a
    g["share_of_change"] = g["contribution"] / change if change else np.nan
    order = np.sign(change) * g["contribution"] if change else g["contribution"].abs()
    g = g.assign(_order=order.to_numpy()).sort_values("_order", ascending=False, kind="stable").drop(columns="_order")
    g = g.reset_index().rename(columns={"grp": "group"})
    g.attrs.update({"value_before": v_a, "value_after": v_b, "change": change, "before": a, "after": b})
    cols = [
        "group",
        "numerator_before",
        "denominator_before",
        "value_before",
        "numerator_after",
        "denominator_after",
        "value_after",
        "share_before",
        "share_after",
        "rate_effect",
        "mix_effect",
        "contribution",
        "share_of_change",
    ]
    return g[cols]


def weight(d: pd.DataFrame) -> pd.Series:
    """Each group's share of the cases over the two periods: of the denominator for a ratio, else of the count."""
    if d["share_before"].notna().any():
        return (d["share_before"].fillna(0) + d["share_after"].fillna(0)) / 2
    n = d["numerator_before"].fillna(0) + d["numerator_after"].fillna(0)
    return n / n.sum() if n.sum() else n * 0.0


def beyond_chance(d: pd.DataFrame, m: Measure) -> pd.Series:
    """How far each group's part in the change lies from what it would be had it moved with the whole, in standard
    errors of chance (z): its own change against the whole's for a ratio (binomial for a percentage, its numerator a
    Poisson count for a rate, its cases' spread as large as their mean for an average), its count's change against its share of the whole's for a count. The periods' months
    (``d.attrs``) turn the averaged counts back into counts."""
    na, nb = len(d.attrs["before"]), len(d.attrs["after"])
    change = d.attrs["change"]
    if d["share_before"].notna().any():  # a ratio
        own = d["value_after"] - d["value_before"]
        if m.unit == "percent":
            pa, pb = d["value_before"] / 100, d["value_after"] / 100
            var = 100**2 * (
                pa * (1 - pa) / (d["denominator_before"] * na) + pb * (1 - pb) / (d["denominator_after"] * nb)
            )
        else:  # a rate: its numerator a Poisson count; an average: its cases' spread taken as their mean (CV of 1)
            n = "denominator" if m.unit == "average" else "numerator"
            var = d["value_before"] ** 2 / (d[f"{n}_before"] * na) + d["value_after"] ** 2 / (d[f"{n}_after"] * nb)
        return (own - change) / np.sqrt(var.where(var > 0))  # none (NaN) where no spread can be worked out
    var = d["numerator_before"] / na + d["numerator_after"] / nb  # the variances of two means of Poisson counts
    scale = d["contribution"] / (d["numerator_after"] - d["numerator_before"])  # a rate's, per count (1 for a count)
    return (d["contribution"] - weight(d) * change) / (np.sqrt(var.where(var > 0)) * scale.abs())


def informative(d: pd.DataFrame, m: Measure | None = None, most: int = PER_BREAKDOWN) -> pd.DataFrame:
    """The groups of a decomposition worth naming, largest share first (at most ``most``): each explains at least
    :data:`SHARE` of the change and at least :data:`LIFT` times its share of the cases (column ``weight``), which is
    less than :data:`MAJORITY`; with the measure ``m``, also :data:`Z` standard errors or more beyond chance
    (:func:`beyond_chance`). None if nothing changed."""
    if not d.attrs.get("change"):
        return d.iloc[0:0]
    d = d.assign(weight=weight(d))
    share, w = d["share_of_change"], d["weight"]
    keep = (share >= SHARE) & (share >= LIFT * w) & (w < MAJORITY)
    if m is not None:  # and beyond chance: a small group's large share of a small change can be noise
        d = d.assign(z=beyond_chance(d, m))
        keep &= d["z"].abs().fillna(np.inf) >= Z
    return d[keep].sort_values("share_of_change", ascending=False, kind="stable").head(most)


def since(spc: SPC) -> tuple[str | None, str | None]:
    """A group's own SPC on its latest month: its variation, and the month its run of special-cause points began
    (None for common cause)."""
    signal = spc.signal()
    if signal.empty:
        return spc.variation, None
    return spc.variation, str(signal["period"].iloc[0])


def labels(con, by: str):
    """A function naming a group of the breakdown ``by``: the store's locality and team names, the data model's
    code lists, "Not recorded" for none."""
    if by not in BREAKDOWNS:
        raise ValueError(f"cannot break down by {by!r}: choose one of {', '.join(BREAKDOWNS)}")
    names = dict(CODE_LABELS.get(by, {}))
    if by in ("locality", "team"):
        table = "localities" if by == "locality" else "teams"
        names = dict(con.execute(f"SELECT {BREAKDOWNS[by]}, name FROM {table}").fetchall())
    return lambda g: "Not recorded" if g is None or (isinstance(g, float) and np.isnan(g)) else names.get(g, g)


def _smallest(rows: pd.DataFrame) -> float:
    """The smallest count above 0 behind a group's statement: its numerators and denominators of the months
    compared (NaN if none): what the public version checks (:func:`kpi.privacy.publish_drivers`)."""
    v = pd.concat([rows["numerator"], rows["denominator"]]).astype(float)
    v = v[v > 0]
    return float(v.min()) if len(v) else np.nan


def for_report(ctx, cat: Catalogue, card: pd.DataFrame, month: str, by=STORY_BREAKDOWNS) -> pd.DataFrame:
    """The drivers of each KPI that shows special cause or changed notably in ``month`` (:func:`notable`), from the
    scorecard ``card`` (its SPC_MONTHS to the month): one row per group named (:data:`COLUMNS`), aggregates only."""
    from .engine import compute

    chosen = {}
    for m in cat.kpis():
        rows = card[card["measure"] == m.ref].sort_values("month")
        rows = rows[rows["month"] <= month].tail(SPC_MONTHS)
        if rows.empty or ctx.unavailable(m) or rows["numerator"].isna().all() or pd.isna(rows["value"].iloc[-1]):
            continue
        spc = spc_of(m, rows)
        before, after = periods(spc, month)
        total = rows[["month", "numerator", "denominator"]]
        change = period_value(m, total, after) - period_value(m, total, before)
        special = (spc.variation or "").startswith("special")
        if special or notable(rows["value"], change):
            chosen[m.ref] = (before, after, total)
            log.info("drivers of %s: %s, change %.3g", m.ref, spc.variation if special else "a notable change", change)
    if not chosen:
        return pd.DataFrame(columns=COLUMNS)
    months = months_back(month, SPC_MONTHS)
    found = {}  # measure -> breakdown -> its informative groups
    by_group = {}
    for b in by:
        groups = compute(ctx, cat, months, by=b, refs=list(chosen))
        name = labels(ctx.con, b)
        for ref, (before, after, total) in chosen.items():
            g = groups[groups["measure"] == ref]
            if g.empty or g["grp"].isna().all():  # a breakdown the measure has not (a referral's source of a visit)
                continue
            m = cat[ref]
            d = decompose(m, g, total, before, after, b)
            d.insert(1, "label", d["group"].map(name))
            by_group[(ref, b)] = (g, d)
            telling = informative(d, m)
            if len(telling):
                found.setdefault(ref, {})[b] = telling
    rows = _rows(ctx, cat, chosen, found, by_group)
    return pd.DataFrame(rows, columns=COLUMNS)


def choose(
    found: dict[str, pd.DataFrame], team_locality: dict | None = None
) -> list[tuple[str, pd.Series, str | None]]:
    """The statements worth making about one measure, from its informative groups by breakdown (``found``: breakdown
    -> :func:`informative` rows, with ``label``): the breakdowns whose group explains most for its size (at most
    :data:`BREAKDOWNS_NAMED`), the one explaining most of the change first, at most :data:`NAMED` groups. A team of a
    locality named (``team_locality``: team -> locality) repeats it: it is not a second cause, but named with it
    ("mostly ...") when it holds :data:`WITHIN` of its contribution (A118). Each: (breakdown, row, team within)."""
    team_locality = team_locality or {}
    localities = {r["group"]: r for _, r in found.get("locality", pd.DataFrame(columns=["group"])).iterrows()}
    within, kept = {}, {}
    for b, rows in found.items():
        for _, r in rows.iterrows():
            loc = team_locality.get(r["group"]) if b == "team" else None
            if loc is not None and loc in localities:  # the team repeats its locality
                if r["contribution"] / localities[loc]["contribution"] >= WITHIN:
                    within.setdefault(loc, r["label"])
                continue
            kept.setdefault(b, []).append(r)
    telling = {
        b: max(r["share_of_change"] / r["weight"] if r["weight"] else np.inf for r in rs) for b, rs in kept.items()
    }
    named = sorted(telling, key=lambda b: -telling[b])[:BREAKDOWNS_NAMED]
    named.sort(key=lambda b: -max(r["share_of_change"] for r in kept[b]))
    said = [(b, r, within.get(r["group"]) if b == "locality" else None) for b in named for r in kept[b]]
    return said[:NAMED]


def _rows(ctx, cat: Catalogue, chosen, found, by_group) -> list[dict]:
    """The table's rows: each statement chosen, with the group's own SPC and its smallest count."""
    team_locality = dict(ctx.con.execute("SELECT team_id, locality_id FROM teams").fetchall())
    out = []
    for ref, (before, after, _) in chosen.items():
        for b, r, within in choose(found.get(ref, {}), team_locality):
            g, d = by_group[(ref, b)]
            own = g[g["grp"].isna()] if pd.isna(r["group"]) else g[g["grp"] == r["group"]]
            variation, first = since(spc_of(cat[ref], own.assign(target=np.nan)))
            out.append(
                {
                    "measure": ref,
                    "breakdown": b,
                    "group": None if pd.isna(r["group"]) else str(r["group"]),
                    "label": str(r["label"]),
                    "within": within,
                    "share_of_change": float(r["share_of_change"]),
                    "weight": float(r["weight"]),
                    "contribution": float(r["contribution"]),
                    "change": float(d.attrs["change"]),
                    "value_before": float(d.attrs["value_before"]),
                    "value_after": float(d.attrs["value_after"]),
                    "before": f"{before[0]}..{before[-1]}",
                    "after": f"{after[0]}..{after[-1]}",
                    "group_variation": variation,
                    "group_since": first,
                    "smallest": _smallest(own[own["month"].isin(before + after)]),
                }
            )
    return out


RANK_COLUMNS = [
    "rank",
    "breakdown",
    "score",
    "group",
    "label",
    "within",
    "share_of_change",
    "weight",
    "contribution",
    "z",
    "groups_named",
    "group_variation",
    "group_since",
    "note",
]


def _denominator_unrecorded(m: Measure, g: pd.DataFrame) -> bool:
    """A ratio whose denominator has no group of the breakdown (social workers' caseloads by the children's age
    band: the workers have none): its groups' figures cannot be had."""
    if m.unit not in ("percent", "average"):
        return False
    return not (g.loc[g["grp"].notna(), "denominator"].fillna(0) != 0).any()


def own_spc(m: Measure, groups: pd.DataFrame, group) -> SPC:
    """A group's own SPC from the breakdown's rows (month, grp, numerator, denominator[, value]), as the report
    judges it (no target)."""
    own = groups[groups["grp"].isna()] if pd.isna(group) else groups[groups["grp"] == group]
    if "value" not in own:
        own = own.assign(value=value_of(m.unit, m.kind, own["numerator"], own["denominator"]))
    return spc_of(m, own.assign(target=np.nan))


def rank_breakdowns(
    m: Measure,
    by_groups: dict[str, pd.DataFrame | None],
    total: pd.DataFrame,
    before: list[str],
    after: list[str],
    team_locality: dict | None = None,
    names: dict | None = None,
) -> pd.DataFrame:
    """Where is it? Each breakdown tried (``by_groups``: breakdown -> month, grp, numerator, denominator[, value]),
    ranked by how much of the change its informative groups (:func:`informative`, of at least :data:`SMALLEST` of
    the cases, A141) explain beyond their share of the cases: its score is the sum of their share of the change less
    their weight. A row per breakdown (:data:`RANK_COLUMNS`), with its top group and that group's own SPC
    (``group_variation``, ``group_since``).

    Not ranked, and said why in ``note``: a breakdown whose groups explain nothing beyond their size (no group
    named, so a majority moving with the whole never leads); one that repeats another (a team and its locality
    naming the same change, A140: the locality is kept, the team its ``within``, unless the team holds
    :data:`WITHIN` of its locality's contribution with under :data:`WITHIN` of its cases, the sharper answer); one
    the measure's records have not (a visit's referral source; a caseload's age band, whose denominator, the
    workers, has none). ``names``: breakdown -> function labelling a group. The decompositions are in
    ``attrs["drivers"]`` (breakdown -> :func:`decompose` with ``label``, ``weight``, ``z`` and each group's own
    SPC)."""
    change_of, rows = {}, {}
    for b, g in by_groups.items():
        row = dict.fromkeys(RANK_COLUMNS)
        row.update(breakdown=b, score=0.0, groups_named=0)
        rows[b] = row
        if g is None or g.empty or g["grp"].isna().all() or _denominator_unrecorded(m, g):
            row["note"] = "not recorded for this measure"
            continue
        d = decompose(m, g, total, before, after, b)
        d.insert(1, "label", d["group"].map(names[b]) if names and b in names else d["group"])
        d = d.assign(weight=weight(d), z=beyond_chance(d, m) if d.attrs["change"] else np.nan)
        spcs = [since(own_spc(m, g, grp)) for grp in d["group"]]
        d["group_variation"], d["group_since"] = [v for v, _ in spcs], [f for _, f in spcs]
        change_of[b] = d
        telling = informative(d, m, most=len(d))
        # not a small group (a twentieth of the cases or less rests on a handful), nor one whose chance is unknown
        telling = telling[(telling["weight"] >= SMALLEST) & telling["z"].notna()]
        if telling.empty:
            row["note"] = "no group beyond its size"
            continue
        top = telling.iloc[0]
        row.update(
            score=float((telling["share_of_change"] - telling["weight"]).sum()),
            groups_named=len(telling),
            **{k: top[k] for k in ("group", "label", "share_of_change", "weight", "contribution", "z")},
            **{k: top[k] for k in ("group_variation", "group_since")},
        )
    team, loc = rows.get("team"), rows.get("locality")
    if team and loc and team["group"] is not None and loc["group"] is not None:
        inside = (team_locality or {}).get(team["group"]) == loc["group"]
        if inside and team["contribution"] / loc["contribution"] >= WITHIN:
            sharper = team["weight"] / loc["weight"] < WITHIN
            dropped, kept = (loc, team) if sharper else (team, loc)
            dropped["note"] = f"repeats {kept['breakdown']}: {team['label']} is in {loc['label']}"
            if not sharper:  # named with its locality, as the report names it (A118)
                loc["within"] = team["label"]
    out = pd.DataFrame(list(rows.values()), columns=RANK_COLUMNS)
    note = out["note"].fillna("")
    order = note.map(lambda n: 0 if not n else 1 if n.startswith("repeats") else 3 if n.startswith("not") else 2)
    out = out.assign(note=note, _o=order, _s=-out["score"]).sort_values(["_o", "_s"], kind="stable")
    ranked = (out["_o"] == 0).to_numpy()
    out = out.drop(columns=["_o", "_s"]).reset_index(drop=True)
    out["rank"] = pd.array([i + 1 if r else None for i, r in enumerate(ranked)], dtype="Int64")
    out.attrs.update({"drivers": change_of, "before": before, "after": after})
    if change_of:
        out.attrs.update(
            {k: next(iter(change_of.values())).attrs[k] for k in ("value_before", "value_after", "change")}
        )
    return out
