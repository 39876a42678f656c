"""Headline volumes: flows in each month and stocks at each month end.

The figures the synthetic authority is calibrated against (contacts, referrals, assessments; children
in need, on plans, in care, care leavers). They are not defined here: each is the numerator (or the
denominator) of a measure of the county catalogue, computed by the engine, so a volume and the measure
built on it can never disagree.
"""

from __future__ import annotations

import pandas as pd

from .calendar import months_back
from .catalogue import load
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


def volumes(con, month: str, months: int = 1, snapshot: dict | None = None) -> pd.DataFrame:
    """One row per volume and month: month, volume, kind, count."""
    refs = sorted({ref for ref, _, _ in VOLUMES.values()})
    df = compute(Context.prepare(con, snapshot), load("county"), months_back(month, months), refs=refs)
    df = df.set_index(["measure", "month"])
    rows = [
        (m, name, kind, int(df.loc[(ref, m), part]))
        for name, (ref, part, kind) in VOLUMES.items()
        for m in months_back(month, months)
    ]
    return pd.DataFrame(rows, columns=["month", "volume", "kind", "count"])


def wide(df: pd.DataFrame) -> pd.DataFrame:
    """Volumes as a table with one column per month, in declaration order."""
    out = df.pivot(index="volume", columns="month", values="count")
    return out.loc[list(VOLUMES)]
