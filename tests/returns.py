"""Statutory returns written for the readers' tests: SSDA903 CSV tables and CIN census XML, from hand-made rows or
from the standard tables of a synthetic authority (:mod:`kpi.synth`), each year's return holding what the DfE's
guidance asks of it (episodes open at any time in the April-March year, an end after the year end left blank)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd

from kpi.readers.ssda903 import TABLES

EPISODES, HEADER, OC3 = (TABLES[t] for t in ("Episodes", "Header", "OC3"))  # the DfE's columns, as the reader has them
COLUMNS = {"Episodes": EPISODES, "Header": HEADER, "OC3": OC3}


def write_table(path: Path, rows: list[dict], columns: list[str], encoding: str = "utf-8") -> Path:
    """One SSDA903 table as CSV: ``rows`` as dicts of its columns (absent ones empty)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding=encoding) as f:
        w = csv.writer(f)
        w.writerow(columns)
        w.writerows([[r.get(c, "") for c in columns] for r in rows])
    return path


def episode(child: str, decom: str, dec: str = "", rne: str = "S", **kw) -> dict:
    """A hand-made episode (full care order, foster placement with the council's own carer); keywords override."""
    row = {"CHILD": child, "DECOM": decom, "RNE": rne, "LS": "C2", "CIN": "N1", "PLACE": "U4", "PLACE_PROVIDER": "PR1"}
    row |= {"DEC": dec, "REC": "E13" if dec else "", "HOME_POST": "AB1 2", "PL_POST": "AB3 4"}
    return row | kw


def header(child: str, dob: str, sex: str = "1", ethnic: str = "WBRI") -> dict:
    return {"CHILD": child, "SEX": sex, "DOB": dob, "ETHNIC": ethnic}


def oc3(child: str, dob: str, in_touch: str = "YES", activ: str = "F2", accom: str = "D1") -> dict:
    return {"CHILD": child, "DOB": dob, "IN_TOUCH": in_touch, "ACTIV": activ, "ACCOM": accom}


def write_return(directory: Path, header=(), episodes=(), oc3_rows=None) -> Path:
    """A return of hand-made rows in ``directory``: header.csv, episodes.csv and (given rows) oc3.csv."""
    write_table(directory / "header.csv", list(header), HEADER)
    write_table(directory / "episodes.csv", list(episodes), EPISODES)
    if oc3_rows is not None:
        write_table(directory / "oc3.csv", list(oc3_rows), OC3)
    return directory


# ---------------------------------------------------------------------------------------------
# From a synthetic authority
# ---------------------------------------------------------------------------------------------


def year_bounds(year: int) -> tuple[dt.date, dt.date]:
    """The collection year ending 31 March ``year``: its first and last day."""
    return dt.date(year - 1, 4, 1), dt.date(year, 3, 31)


def frames(tables) -> dict[str, pd.DataFrame]:
    """kpi.synth's Arrow tables (or DataFrames) as DataFrames."""
    return {k: (v if isinstance(v, pd.DataFrame) else v.to_pandas()) for k, v in tables.items()}


def _d(v, layout: str) -> str:
    return "" if v is None or pd.isna(v) else pd.Timestamp(v).strftime(layout)


def birthday(dob: dt.date, age: int) -> dt.date:
    try:
        return dob.replace(year=dob.year + age)
    except ValueError:  # 29 February
        return dt.date(dob.year + age, 3, 1)


def oc3_of(t: dict[str, pd.DataFrame], year: int) -> pd.DataFrame:
    """The year's care leavers as OC3 records them: young people who had left care by their 17th to 21st birthday in
    the year, with their situation at the contact nearest that birthday (within 90 days; else not in touch).
    Columns: child_id, date_of_birth, birthday, left_care_date, in_touch, activity, accommodation, suitable."""
    first, last = year_bounds(year)
    dob = t["children"].set_index("child_id")["date_of_birth"]
    contacts = t["care_leaver_contacts"]
    rows = []
    for cl in t["care_leavers"].itertuples():
        born = dob[cl.child_id]
        for age in range(17, 22):
            b = birthday(born, age)
            if first <= b <= last and cl.left_care_date <= b:
                break
        else:
            continue
        mine = contacts[contacts["child_id"] == cl.child_id]
        gap = (pd.to_datetime(mine["contact_date"]) - pd.Timestamp(b)).abs()
        near = mine[gap <= pd.Timedelta(days=90)]
        k = near.loc[gap[near.index].idxmin()] if len(near) else None
        touch = k["in_touch"] if k is not None else "NO"
        rows.append(
            {
                "child_id": cl.child_id,
                "date_of_birth": born,
                "birthday": b,
                "left_care_date": cl.left_care_date,
                "in_touch": touch,
                "activity": k["activity"] if k is not None else None,
                "accommodation": k["accommodation"] if k is not None else None,
                "suitable": k["suitable"] if k is not None else None,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "child_id",
            "date_of_birth",
            "birthday",
            "left_care_date",
            "in_touch",
            "activity",
            "accommodation",
            "suitable",
        ],
    )


def ssda903_from(tables, year: int, out: Path, layout: str = "%d/%m/%Y") -> Path:
    """The SSDA903 return for the year ending 31 March ``year`` (Header, Episodes, OC3) written from a synthetic
    authority's tables into ``out``; dates in ``layout``."""
    t = frames(tables)
    first, last = year_bounds(year)
    e = t["care_episodes"]
    e = e[(e["start_date"] <= last) & (e["end_date"].isna() | (e["end_date"] >= first))]
    episodes = []
    for r in e.itertuples():
        ended = r.end_date is not None and not pd.isna(r.end_date) and r.end_date <= last
        episodes.append(
            {
                "CHILD": r.child_id,
                "DECOM": _d(r.start_date, layout),
                "RNE": r.reason_new_episode,
                "LS": r.legal_status,
                "CIN": "N1",
                "PLACE": r.placement_type,
                "PLACE_PROVIDER": r.placement_provider,
                "DEC": _d(r.end_date, layout) if ended else "",
                "REC": r.reason_ceased if ended else "",
            }
        )
    leavers = oc3_of(t, year)
    oc3_rows = []
    for r in leavers.itertuples():
        touch = r.in_touch == "YES"
        accom = f"{r.accommodation}{'1' if r.suitable == 'Y' else '2'}" if touch and r.accommodation else ""
        oc3_rows.append(
            {
                "CHILD": r.child_id,
                "DOB": _d(r.date_of_birth, layout),
                "IN_TOUCH": r.in_touch,
                "ACTIV": (r.activity or "") if touch else "",
                "ACCOM": accom,
            }
        )
    who = set(e["child_id"]) | set(leavers["child_id"])
    ch = t["children"][t["children"]["child_id"].isin(who)]
    head = [
        {
            "CHILD": r.child_id,
            "SEX": {"M": "1", "F": "2"}.get(r.sex, r.sex),
            "DOB": _d(r.date_of_birth, layout),
            "ETHNIC": r.ethnicity,
        }
        for r in ch.itertuples()
    ]
    write_table(out / "header.csv", head, HEADER)
    write_table(out / "episodes.csv", episodes, EPISODES)
    write_table(out / "oc3.csv", oc3_rows, OC3)
    return out


# ---------------------------------------------------------------------------------------------
# CIN census
# ---------------------------------------------------------------------------------------------


def _el(tag: str, value) -> str:
    return "" if value is None or value == "" else f"<{tag}>{escape(str(value))}</{tag}>"


def _inner(record: dict) -> str:
    """A record's elements; ``Reviews``: a list of CP plan review dates."""
    return "".join(
        f"<{k}>" + "".join(_el("CPPreviewDate", d) for d in v) + f"</{k}>" if k == "Reviews" else _el(k, v)
        for k, v in record.items()
    )


def census_xml(children: list[dict], reference_date: str | None = "2026-03-31", namespace: str | None = None) -> str:
    """A CIN census of hand-made children: each a dict of ChildIdentifiers and ChildCharacteristics elements
    (LAchildID, PersonBirthDate, Sex, Ethnicity, Disabilities: a list) and ``episodes``: dicts of CINdetails
    elements, with lists ``Assessments``, ``CINPlanDates``, ``Section47``, ``ChildProtectionPlans`` of dicts (a CP
    plan's ``Reviews`` a list of dates) and any other dict as an element of elements. ``reference_date`` None: the
    header holds none."""
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    out = [
        f'<?xml version="1.0" encoding="utf-8"?>\n<Message{xmlns}>',
        "<Header><CollectionDetails><Collection>CIN</Collection>"
        f"{_el('Year', (reference_date or '')[:4])}{_el('ReferenceDate', reference_date)}</CollectionDetails>"
        "<Source><SourceLevel>L</SourceLevel><LEA>999</LEA></Source></Header>",
        "<Children>",
    ]
    for c in children:
        ids = "".join(_el(k, c.get(k)) for k in ("LAchildID", "PersonBirthDate", "ExpectedPersonBirthDate", "Sex"))
        dis = "".join(_el("Disability", d) for d in c.get("Disabilities", ["NONE"]))
        out.append(
            f"<Child>\n<ChildIdentifiers>{ids}</ChildIdentifiers>\n<ChildCharacteristics>"
            f"{_el('Ethnicity', c.get('Ethnicity', 'WBRI'))}<Disabilities>{dis}</Disabilities></ChildCharacteristics>"
        )
        for e in c.get("episodes", []):
            out.append("<CINdetails>")
            for k, v in e.items():
                if isinstance(v, list):  # records: Assessments, Section47, ...
                    out += [f"<{k}>{_inner(sub)}</{k}>" for sub in v]
                elif isinstance(v, dict):  # one element of elements (PreProceedingsandFGDM)
                    out.append(f"<{k}>{_inner(v)}</{k}>")
                else:
                    out.append(_el(k, v))
            out.append("</CINdetails>")
        out.append("</Child>")
    out.append("</Children>\n</Message>\n")
    return "\n".join(out)


def census_from(tables, year: int, out: Path) -> Path:
    """The CIN census for the year ending 31 March ``year`` written from a synthetic authority's tables as
    ``out`` (an XML file): every child in need episode open at any time in the year, with its assessments and
    plans open in the year and its section 47 enquiries started in the year; an end after 31 March left out."""
    t = frames(tables)
    first, last = year_bounds(year)

    def in_year(df, start, end):
        return df[(df[start] <= last) & (df[end].isna() | (df[end] >= first))] if end else df

    def upto(v):
        return None if v is None or pd.isna(v) or v > last else v.isoformat()

    refs = in_year(t["referrals"], "referral_date", "closure_date")
    subs = {
        "Assessments": in_year(t["assessments"], "start_date", "authorised_date"),
        "CINPlanDates": in_year(t["cin_plans"], "start_date", "end_date"),
        "ChildProtectionPlans": in_year(t["cp_plans"], "start_date", "end_date"),
    }
    s47 = t["s47_enquiries"]
    s47 = s47[(s47["start_date"] >= first) & (s47["start_date"] <= last)]
    icpc = t["icpcs"].set_index("s47_id")["conference_date"]
    by_ref = {k: df.groupby("referral_id") for k, df in subs.items()}
    s47_by = s47.groupby("referral_id")
    children = []
    kids = t["children"].set_index("child_id")
    for cid, eps in refs.groupby("child_id", sort=True):
        k = kids.loc[cid]
        child = {
            "LAchildID": cid,
            "PersonBirthDate": k["date_of_birth"].isoformat(),
            "Sex": {"M": "1", "F": "2"}.get(k["sex"], "0"),
            "Ethnicity": k["ethnicity"],
            "Disabilities": ["HAND"] if k["disability"] == "Y" else ["NONE"],
            "episodes": [],
        }
        for r in eps.itertuples():
            closed = upto(r.closure_date)
            e = {
                "CINreferralDate": r.referral_date.isoformat(),
                "ReferralSource": r.source,
                "PrimaryNeedCode": r.primary_need,
                "CINclosureDate": closed,
                "ReasonForClosure": r.closure_reason if closed else None,
            }

            def group(key, rid=r.referral_id):
                g = by_ref[key]
                return g.get_group(rid) if rid in g.groups else pd.DataFrame()

            e["Assessments"] = [
                {
                    "AssessmentActualStartDate": a.start_date.isoformat(),
                    "AssessmentAuthorisationDate": upto(a.authorised_date),
                }
                for a in group("Assessments").itertuples()
            ]
            e["CINPlanDates"] = [
                {"CINPlanStartDate": p.start_date.isoformat(), "CINPlanEndDate": upto(p.end_date)}
                for p in group("CINPlanDates").itertuples()
            ]
            e["Section47"] = [
                {
                    "S47ActualStartDate": s.start_date.isoformat(),
                    "DateOfInitialCPC": upto(icpc.get(s.s47_id)),
                    "ICPCnotRequired": "false",
                }
                for s in (
                    s47_by.get_group(r.referral_id) if r.referral_id in s47_by.groups else pd.DataFrame()
                ).itertuples()
            ]
            e["ChildProtectionPlans"] = [
                {
                    "CPPstartDate": p.start_date.isoformat(),
                    "CPPendDate": upto(p.end_date),
                    "InitialCategoryOfAbuse": p.category,
                }
                for p in group("ChildProtectionPlans").itertuples()
            ]
            child["episodes"].append(e)
        children.append(child)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(census_xml(children, last.isoformat()))
    return out
