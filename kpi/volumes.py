"""Headline volumes: flows in each month and stocks at each month end.

The figures the synthetic authority is calibrated against (contacts, referrals, assessments; children
in need, on plans, in care, care leavers). They are not defined here: each is the numerator (or the
denominator) of a measure of the county catalogue, computed by the engine, so a volume and the measure
built on it can never disagree.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from .calendar import months_back
from .catalogue import Catalogue, Measure, load
from .engine import Context, compute

# volume: (measure reference, the part of it that is this volume, flow or stock)
VOLUMES = {
    "Contacts": ("1.0", "numerator", "flow"),
    "Referrals": ("1.6", "numerator", "flow"),
    "Assessments completed": ("2.0", "numerator", "flow"),
    "Section 47 enquiries started": ("3.0", "numerator", "flow"),
    "Initial child protection conferences": ("3.2", "numerator", "flow"),
    "Children starting to be looked after": ("6.1", "numerator", "flow"),
    "Children in need (open episodes)": ("4.0", "numerator", "stock"),
    "Children on a child in need plan": ("4.1", "denominator", "stock"),
    "Children on a child protection plan": ("5.0", "numerator", "stock"),
    "Children in care": ("6.0", "numerator", "stock"),
    "Care leavers receiving a service": ("7.0", "denominator", "stock"),
    "Families in targeted early help": ("1.3", "numerator", "stock"),
}


def counted(m: Measure, part: str) -> Measure:
    """The volume a measure's numerator (or denominator) is, as a count measure of its own: the parts that feed
    that side, each row counted (a denominator's condition on the numerator dropped), and no population (the
    rate's divisor). So a volume needs only the records it counts: children in care from an SSDA903 return alone,
    which has no population to make the rate per 10,000 of."""
    side = part[:3]
    parts = tuple(p for p in m.parts if p.role in ("both", side))
    if side == "den":
        parts = tuple(replace(p, num=None, num_value=p.den_value, den_value=None, role="both") for p in parts)
    return replace(m, ref=f"{m.ref} {part}", unit="count", parts=parts, target=None, tolerance=None)


def volumes(con, month: str, months: int = 1, snapshot: dict | None = None) -> pd.DataFrame:
    """One row per volume and month: month, volume, kind, count; and why not, where the snapshot's sources could
    not supply the volume (its count then empty: not a count of nothing)."""
    county = load("county")
    measures = {name: counted(county[ref], part) for name, (ref, part, _) in VOLUMES.items()}
    cat = Catalogue("volumes", "Headline volumes", county.council, list(measures.values()))
    ctx = Context.prepare(con, snapshot)
    why = {name: ctx.unavailable(m) for name, m in measures.items()}
    refs = [m.ref for name, m in measures.items() if not why[name]]
    wanted = months_back(month, months)
    df = compute(ctx, cat, wanted, refs=refs).set_index(["measure", "month"]) if refs else None
    rows = [
        (m, name, kind, None if why[name] else df.loc[(measures[name].ref, m), "numerator"], why[name])
        for name, (_, _, kind) in VOLUMES.items()
        for m in wanted
    ]
    out = pd.DataFrame(rows, columns=["month", "volume", "kind", "count", "not_available"])
    out["count"] = pd.to_numeric(out["count"]).round().astype("Int64")
    return out


def wide(df: pd.DataFrame) -> pd.DataFrame:
    """Volumes as a table with one column per month, in declaration order ("not available" where so)."""
    shown = df.assign(count=df["count"].astype(object).where(df["count"].notna(), "not available"))
    out = shown.pivot(index="volume", columns="month", values="count")
    return out.loc[list(VOLUMES)]
