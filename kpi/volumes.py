"""Headline volumes: flows in each month and stocks at each month end, from the store.

These are the figures the synthetic authority is calibrated against (contacts, referrals,
assessments; children in need, on plans, in care, care leavers), declared as data below.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .calendar import month_end, month_start, months_back


@dataclass(frozen=True)
class Volume:
    name: str
    kind: str  # "flow": events dated in the month; "stock": open at the month end
    table: str
    start: str  # the event date (flow) or the start of the open interval (stock)
    end: str | None = None  # the end of the open interval (stock)
    where: str = "TRUE"
    count: str = "child_id"  # counted distinct for stocks


VOLUMES = (
    Volume("Contacts", "flow", "contacts", "CAST(contact_at AS DATE)"),
    Volume("Referrals", "flow", "referrals", "referral_date"),
    Volume("Assessments completed", "flow", "assessments", "authorised_date", where="assessment_type = 'INITIAL'"),
    Volume("Section 47 enquiries started", "flow", "s47_enquiries", "start_date"),
    Volume("Initial child protection conferences", "flow", "icpcs", "conference_date"),
    Volume(
        "Children starting to be looked after", "flow", "care_episodes", "start_date", where="reason_new_episode = 'S'"
    ),
    Volume("Children in need (open episodes)", "stock", "referrals", "referral_date", "closure_date"),
    Volume("Children on a child in need plan", "stock", "cin_plans", "start_date", "end_date"),
    Volume("Children on a child protection plan", "stock", "cp_plans", "start_date", "end_date"),
    Volume("Children in care", "stock", "care_episodes", "start_date", "end_date"),
    Volume("Care leavers receiving a service", "stock", "care_leavers", "left_care_date", "service_end_date"),
    Volume(
        "Families in targeted early help", "stock", "early_help_episodes", "start_date", "end_date", count="family_id"
    ),
)


def volumes(con, month: str, months: int = 1) -> pd.DataFrame:
    """One row per volume and month: month, volume, kind, count."""
    labels = months_back(month, months)
    bounds = pd.DataFrame(
        {"month": labels, "m_start": [month_start(m) for m in labels], "m_end": [month_end(m) for m in labels]}
    )
    con.register("months_df", bounds)
    parts = []
    for i, v in enumerate(VOLUMES):
        if v.kind == "flow":
            cond = f"{v.start} BETWEEN m.m_start AND m.m_end"
            agg = f"count(t.{v.count})"
        else:
            cond = f"{v.start} <= m.m_end AND ({v.end} IS NULL OR {v.end} > m.m_end)"
            agg = f"count(DISTINCT t.{v.count})"
        parts.append(
            f"SELECT m.month, {i} AS i, {agg} AS n FROM months_df m "
            f"LEFT JOIN {v.table} t ON {cond} AND {v.where} GROUP BY m.month"
        )
    df = con.execute(" UNION ALL ".join(parts) + " ORDER BY i, month").df()
    con.unregister("months_df")
    df["volume"] = [VOLUMES[i].name for i in df["i"]]
    df["kind"] = [VOLUMES[i].kind for i in df["i"]]
    return df[["month", "volume", "kind", "n"]].rename(columns={"n": "count"})


def wide(df: pd.DataFrame) -> pd.DataFrame:
    """Volumes as a table with one column per month, in declaration order."""
    out = df.pivot(index="volume", columns="month", values="count")
    return out.loc[[v.name for v in VOLUMES]]
