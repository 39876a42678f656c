"""Ofsted's Annex A lists (an xlsx workbook, one sheet per list), into the data model.

Each sheet is recognised by its header (Ofsted's column titles, compared without case or extra
spaces), whatever the sheet is called. Values are read as councils write them: ``a) WBRI``,
``q) 6: Police``, ``b) Female``, ``a) Yes``, ``Physical abuse`` all come to the model's codes; a
value that cannot be translated is passed on as written, so the load rejects it and says what was
expected. Each row is reported as ``workbook, sheet`` and its row in the sheet.

What the lists give (docs/assumptions.md A42):

- List 1 ``contacts`` (the date only: no time, no outcome, no screening RAG);
- List 3 ``referrals``; List 4 ``assessments``; List 5 ``strategy_discussions``, ``s47_enquiries``
  and ``icpcs``; List 7 ``cp_plans``; each linked to the child's latest referral on or before it;
- List 9 ``care_leavers`` and their latest contact (``care_leaver_contacts``);
- ``children`` from every list, a child's first row kept and its gaps filled from later ones.

What they cannot give: List 6 (children in need) has no plan dates, List 8 (children in care) only
each child's current placement, Lists 10 and 11 (adoption) have no table in the model, so these are
counted and not loaded; nor teams or localities as codes, visits, workforce, audits or population.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ..errors import LoadError
from .extract import Extract, from_frames, not_covered

LISTS = {  # list -> (a column that identifies it, the columns the reader needs)
    "List 1": ("Date of Contact", ["Child Unique ID", "Date of Contact", "Contact Source"]),
    "List 2": ("Organisation completing assessment", []),
    "List 3": ("Date of Referral", ["Child Unique ID", "Date of Referral", "Referral Source"]),
    "List 4": (
        "Continuous Assessment Start Date",
        ["Child Unique ID", "Continuous Assessment Start Date", "Continuous Assessment Date of Authorisation"],
    ),
    "List 5": (
        "Strategy discussion initiating Section 47 Enquiry Start Date",
        [
            "Child Unique ID",
            "Strategy discussion initiating Section 47 Enquiry Start Date",
            "Date of Initial Child Protection Conference",
            "Did the Initial Child Protection Conference Result in a Child Protection Plan",
        ],
    ),
    "List 6": ("CIN Start Date", []),
    "List 7": (
        "Child Protection Plan Start Date",
        [
            "Child Unique ID",
            "Child Protection Plan Start Date",
            "Initial Category of Abuse",
            "Child Protection Plan End Date",
        ],
    ),
    "List 8": ("Date Started to be Looked After", []),
    "List 9": (
        "Eligibility Category",
        [
            "Child Unique ID",
            "Eligibility Category",
            "LA in Touch",
            "Type of Accommodation",
            "Suitability of Accommodation",
            "Activity Status",
        ],
    ),
    "List 10": ("Date of Decision that Child Should be Placed for Adoption", []),
    "List 11": ("Individual adopter identifier", []),
}
NOT_LOADED = {
    "List 2": "early help assessments have no table in the data model",
    "List 6": "List 6 has no child in need plan dates",
    "List 8": "List 8 holds each child's current placement, not the episodes of care (use SSDA903)",
    "List 10": "adoption has no table in the data model",
    "List 11": "adopters have no table in the data model",
}
SEX = {
    "male": "M",
    "female": "F",
    "unknown": "U",
    "not stated": "U",
    "not stated/recorded": "U",
    "indeterminate": "U",
    "1": "M",
    "2": "F",
}
# may be empty in what the reader gives: a child's disability is asked only in some lists; a plan or
# assessment of a child whose referral is older than List 3's period has no referral to link to
OPTIONAL = {"children": {"disability"}} | {
    t: {"referral_id"} for t in ("assessments", "strategy_discussions", "s47_enquiries", "cp_plans")
}
YES_NO = {"yes": "Y", "no": "N", "y": "Y", "n": "N"}
ABUSE = {
    "neglect": "NEG",
    "physical abuse": "PHY",
    "emotional abuse": "EMO",
    "sexual abuse": "SAB",
    "multiple": "MUL",
    "mixed": "MUL",
}
ELIGIBILITY = {"relevant child": "RELEVANT", "former relevant child": "FORMER", "qualifying care leaver": "QUALIFYING"}
IN_TOUCH = {"yes": "YES", "no": "NO"}
SUITABLE = {"suitable": "Y", "unsuitable": "N", "not suitable": "N"}

LIST_TABLES = {  # what each list read gives
    "List 1": ["contacts"],
    "List 3": ["referrals"],
    "List 4": ["assessments"],
    "List 5": ["strategy_discussions", "s47_enquiries", "icpcs"],
    "List 7": ["cp_plans"],
    "List 9": ["care_leavers", "care_leaver_contacts"],
}
MISSING_TABLES = not_covered({t for ts in LIST_TABLES.values() for t in ts} | {"children"}, "Annex A does not list it")
NO_TEAM = "Annex A names the allocated team as text, not a team code"
MISSING_COLUMNS = {
    "children": {"family_id": "Annex A has no family identifier", "locality_id": "Annex A has no locality"},
    "contacts": {
        "completed_at": "List 1 has no decision date",
        "outcome": "List 1 has no outcome",
        "screening_rag": "List 1 has no RAG",
    },
    "referrals": {
        "primary_need": "List 3 has no primary need",
        "homeless": "Annex A does not record homelessness",
        "team_id": NO_TEAM,
        "locality_id": "Annex A has no locality",
        "closure_date": "List 3 has no closure",
        "closure_reason": "List 3 has no closure",
    },
    "assessments": {"team_id": NO_TEAM, "outcome": "List 4 gives no assessment outcome code"},
    "s47_enquiries": {"team_id": NO_TEAM, "end_date": "List 5 has no enquiry end date"},
    "cp_plans": {"team_id": NO_TEAM, "assessment_team_id": NO_TEAM},
    "care_leavers": {"left_care_date": "List 9 has no date of leaving care"},
}


def _norm(s: str) -> str:
    return " ".join(str(s).split()).lower()


def _value(v) -> str | None:
    """A cell as text without the list letter Annex A templates put before each choice (``a) ``)."""
    if v is None or pd.isna(v):
        return None
    s = str(v).strip()
    if s in ("", "#N/A", "N/A", "nan"):
        return None
    return re.sub(r"^[a-z]{1,2}\)\s*", "", s)


def _code(v) -> str | None:
    """The code of a value written ``6: Police`` or ``1B - Individual`` or ``WBRI``."""
    s = _value(v)
    if s is None:
        return None
    m = re.match(r"^([0-9]{1,2}[A-F]?|[A-Z][0-9]?)\s*(:|-|$)", s)
    return m.group(1) if m else s


def _map(table: dict[str, str]):
    def f(v):
        s = _value(v)
        return None if s is None else table.get(_norm(s), s)

    return f


def _date(v) -> str | None:
    s = _value(v)
    return s[:10] if s and re.match(r"^\d{4}-\d{2}-\d{2}", s) else s


def read(source: str | Path, **_) -> Extract:
    source = Path(source)
    if not source.exists():
        raise LoadError(f"{source}: no such file")
    try:
        sheets = pd.read_excel(source, sheet_name=None, dtype=object)
    except Exception as e:  # noqa: BLE001 - openpyxl raises many kinds for a file that is not a workbook
        raise LoadError(f"{source}: cannot be read as an xlsx workbook: {e}") from None
    found: dict[str, tuple[str, pd.DataFrame]] = {}
    notes = []
    for sheet, df in sheets.items():
        cols = {_norm(c): c for c in df.columns}
        which = [name for name, (key, _) in LISTS.items() if _norm(key) in cols]
        if not which:
            notes.append(f"{source.name}, sheet {sheet!r}: not recognised as an Annex A list; not read")
            continue
        name = which[0]
        need = LISTS[name][1]
        missing = [c for c in need if _norm(c) not in cols]
        if missing:
            raise LoadError(f"{source.name}, sheet {sheet!r} ({name}): missing column(s) {', '.join(missing)}")
        df = df.rename(
            columns={cols[_norm(c)]: c for c in need + ["Gender", "Ethnicity", "Date of Birth"] if _norm(c) in cols}
        )
        df = df.assign(_line=range(2, len(df) + 2), _file=f"{source.name}, {sheet}")
        df = df[df.drop(columns=["_line", "_file"]).notna().any(axis=1)]  # trailing empty rows are not records
        found[name] = (sheet, df)
        if name in NOT_LOADED:
            notes.append(f"{source.name}, {sheet} ({name}, {len(df)} rows): {NOT_LOADED[name]}; not loaded")
    if not any(n not in NOT_LOADED for n in found):
        raise LoadError(f"{source}: holds none of the Annex A lists the workbook reads (Lists 1, 3, 4, 5, 7, 9)")

    frames: dict[str, list[tuple[pd.DataFrame, dict]]] = {}

    def add(table, df, columns):
        frames.setdefault(table, []).append((df, columns))

    cid = "Child Unique ID"
    referrals = None
    if "List 1" in found:
        d = found["List 1"][1]
        add(
            "contacts",
            pd.DataFrame(
                {
                    "contact_id": d[cid].map(_value) + "/" + d["_line"].astype(str),
                    "child_id": d[cid].map(_value),
                    "contact_at": d["Date of Contact"].map(_date),
                    "source": d["Contact Source"].map(_code),
                    "_line": d["_line"],
                    "_file": d["_file"],
                }
            ),
            {
                "contact_id": "Child Unique ID+row",
                "child_id": cid,
                "contact_at": "Date of Contact",
                "source": "Contact Source",
            },
        )
    if "List 3" in found:
        d = found["List 3"][1]
        referrals = pd.DataFrame(
            {
                "referral_id": d[cid].map(_value) + "/" + d["Date of Referral"].map(_date).fillna(""),
                "child_id": d[cid].map(_value),
                "referral_date": d["Date of Referral"].map(_date),
                "source": d["Referral Source"].map(_code),
                "_line": d["_line"],
                "_file": d["_file"],
            }
        )
        add(
            "referrals",
            referrals,
            {
                "referral_id": "Child Unique ID+Date of Referral",
                "child_id": cid,
                "referral_date": "Date of Referral",
                "source": "Referral Source",
            },
        )

    def referral_of(child: pd.Series, date: pd.Series) -> list[str | None]:
        """The child's latest referral (List 3) on or before the date."""
        if referrals is None:
            return [None] * len(child)
        r = referrals.dropna(subset=["referral_date"]).sort_values("referral_date")
        by_child = r.groupby("child_id")
        out = []
        for c, d in zip(child, date, strict=True):
            if c in by_child.groups and d:
                g = r.loc[by_child.groups[c]]
                g = g[g["referral_date"] <= d]
                out.append(g["referral_id"].iloc[-1] if len(g) else None)
            else:
                out.append(None)
        return out

    link = "Child Unique ID (the child's latest List 3 referral on or before)"
    if "List 4" in found:
        d = found["List 4"][1]
        child, start = d[cid].map(_value), d["Continuous Assessment Start Date"].map(_date)
        add(
            "assessments",
            pd.DataFrame(
                {
                    "assessment_id": child + "/" + start.fillna("") + "/A",
                    "child_id": child,
                    "referral_id": referral_of(child, start),
                    "assessment_type": "INITIAL",
                    "start_date": start,
                    "authorised_date": d["Continuous Assessment Date of Authorisation"].map(_date),
                    "_line": d["_line"],
                    "_file": d["_file"],
                }
            ),
            {
                "child_id": cid,
                "referral_id": link,
                "start_date": "Continuous Assessment Start Date",
                "authorised_date": "Continuous Assessment Date of Authorisation",
            },
        )
    if "List 5" in found:
        d = found["List 5"][1]
        child = d[cid].map(_value)
        start = d["Strategy discussion initiating Section 47 Enquiry Start Date"].map(_date)
        sid = child + "/" + start.fillna("") + "/S47"
        conf = d["Date of Initial Child Protection Conference"].map(_date)
        base = {"child_id": child, "referral_id": referral_of(child, start), "_line": d["_line"], "_file": d["_file"]}
        labels = {"child_id": cid, "referral_id": link}
        add(
            "strategy_discussions",
            pd.DataFrame(base | {"strategy_id": sid, "decision_date": start, "held_date": start, "outcome": "S47"}),
            labels | {"decision_date": "Strategy discussion initiating Section 47 Enquiry Start Date"},
        )
        add(
            "s47_enquiries",
            pd.DataFrame(
                base
                | {
                    "s47_id": sid,
                    "strategy_id": sid,
                    "start_date": start,
                    "outcome": conf.map(lambda x: "ICPC" if x else None),
                }
            ),
            labels | {"start_date": "Strategy discussion initiating Section 47 Enquiry Start Date"},
        )
        has = conf.notna()
        add(
            "icpcs",
            pd.DataFrame(
                {
                    "icpc_id": (sid + "/ICPC")[has],
                    "child_id": child[has],
                    "s47_id": sid[has],
                    "conference_date": conf[has],
                    "plan_made": d.loc[
                        has, "Did the Initial Child Protection Conference Result in a Child Protection Plan"
                    ].map(_map(YES_NO)),
                    "_line": d.loc[has, "_line"],
                    "_file": d.loc[has, "_file"],
                }
            ),
            {
                "child_id": cid,
                "conference_date": "Date of Initial Child Protection Conference",
                "plan_made": "Did the Initial Child Protection Conference Result in a Child Protection Plan",
            },
        )
    if "List 7" in found:
        d = found["List 7"][1]
        child, start = d[cid].map(_value), d["Child Protection Plan Start Date"].map(_date)
        add(
            "cp_plans",
            pd.DataFrame(
                {
                    "cp_plan_id": child + "/" + start.fillna("") + "/CPP",
                    "child_id": child,
                    "referral_id": referral_of(child, start),
                    "start_date": start,
                    "end_date": d["Child Protection Plan End Date"].map(_date),
                    "category": d["Initial Category of Abuse"].map(_map(ABUSE)),
                    "_line": d["_line"],
                    "_file": d["_file"],
                }
            ),
            {
                "child_id": cid,
                "referral_id": link,
                "start_date": "Child Protection Plan Start Date",
                "end_date": "Child Protection Plan End Date",
                "category": "Initial Category of Abuse",
            },
        )
    if "List 9" in found:
        d = found["List 9"][1]
        child = d[cid].map(_value)
        accom = d["Type of Accommodation"].map(_code)
        latest = (
            d["Latest Date of Contact"].map(_date) if "Latest Date of Contact" in d else pd.Series(None, index=d.index)
        )
        add(
            "care_leavers",
            pd.DataFrame(
                {
                    "child_id": child,
                    "status": d["Eligibility Category"].map(_map(ELIGIBILITY)),
                    "_line": d["_line"],
                    "_file": d["_file"],
                }
            ),
            {"child_id": cid, "status": "Eligibility Category"},
        )
        has = latest.notna()
        add(
            "care_leaver_contacts",
            pd.DataFrame(
                {
                    "contact_id": (child + "/" + latest.fillna(""))[has],
                    "child_id": child[has],
                    "contact_date": latest[has],
                    "in_touch": d.loc[has, "LA in Touch"].map(_map(IN_TOUCH)),
                    "activity": d.loc[has, "Activity Status"].map(_code),
                    "accommodation": accom[has],
                    "suitable": d.loc[has, "Suitability of Accommodation"].map(_map(SUITABLE)),
                    "_line": d.loc[has, "_line"],
                    "_file": d.loc[has, "_file"],
                }
            ),
            {
                "child_id": cid,
                "contact_date": "Latest Date of Contact",
                "in_touch": "LA in Touch",
                "activity": "Activity Status",
                "accommodation": "Type of Accommodation",
                "suitable": "Suitability of Accommodation",
            },
        )
        if not has.all():
            notes.append(
                f"{source.name} List 9: {int((~has).sum())} care leaver(s) without a Latest Date of Contact: "
                "loaded as care leavers, with no contact"
            )
    _children(found, frames, notes)

    parts = {}
    for table, fs in frames.items():
        for df, columns in fs:
            for f, g in df.groupby("_file", sort=False):
                frame = g.drop(columns="_file").reset_index(drop=True)
                part = from_frames(table, f, frame, columns, source, OPTIONAL.get(table))
                parts.setdefault(table, []).append(part)
    missing = dict(MISSING_TABLES)
    for name, tables in LIST_TABLES.items():
        if name not in found:
            missing |= {t: f"the workbook has no {name}" for t in tables}
    return Extract(
        "annex-a",
        str(source.resolve()),
        parts,
        set(parts),
        missing=missing,
        missing_columns=MISSING_COLUMNS,
        notes=notes,
    )


def _children(found: dict, frames: dict, notes: list[str]) -> None:
    """One row per child from every list read: the first row's values, gaps filled from later lists."""
    rows = []
    for name, (_, d) in found.items():
        if name in ("List 11",) or "Child Unique ID" not in d:
            continue
        g = pd.DataFrame(
            {
                "child_id": d["Child Unique ID"].map(_value),
                "date_of_birth": d["Date of Birth"].map(_date) if "Date of Birth" in d else None,
                "sex": d["Gender"].map(_map(SEX)) if "Gender" in d else None,
                "ethnicity": d["Ethnicity"].map(_code) if "Ethnicity" in d else None,
                "disability": (
                    d["Does the Child have a Disability"].map(_map(YES_NO))
                    if "Does the Child have a Disability" in d
                    else None
                ),
                "_line": d["_line"],
                "_file": d["_file"],
            }
        )
        rows.append(g)
    if not rows:
        return
    allr = pd.concat(rows, ignore_index=True)
    first = allr.groupby("child_id", sort=False, dropna=False).first()  # first non-empty value of each column
    lines = allr.groupby("child_id", sort=False, dropna=False)[["_line", "_file"]].nth(0).set_index(first.index)
    children = first.drop(columns=["_line", "_file"]).join(lines).reset_index()
    notes.append(
        f"children: {len(children)} children from {len(allr)} rows of the lists (a child's first row, gaps filled from later lists)"
    )
    frames.setdefault("children", []).append(
        (
            children,
            {
                "child_id": "Child Unique ID",
                "date_of_birth": "Date of Birth",
                "sex": "Gender",
                "ethnicity": "Ethnicity",
                "disability": "Does the Child have a Disability",
            },
        )
    )
