"""The CIN census XML (``<Message>``: a header, then ``<Children>``), into the data model.

A source is one XML file or a directory of them (one census each; a child in several is taken from
each, so a directory should hold one year). Each record is reported by the line of its element.

What the census gives (docs/assumptions.md A41):

- ``children``: ``LAchildID``, birth date (the expected date for an unborn child), sex (``1``/``2``,
  or ``M``/``F``), ethnicity, and disability (any ``Disability`` other than ``NONE``);
- ``referrals``: each ``CINdetails`` (a child in need episode), identified by child and referral date;
- ``assessments``: the first assessment of an episode counts as the assessment after the referral,
  later ones as updated assessments;
- ``strategy_discussions`` and ``s47_enquiries``: each ``Section47`` (the census records the strategy
  discussion that starts the enquiry, not when the enquiry ended);
- ``icpcs``: each conference date (a plan was made when a child protection plan starts that day);
- ``cin_plans`` and ``cp_plans`` (initial category of abuse).

What it cannot give: contacts, early help, visits, children in care (SSDA903), teams, localities,
families, whether a young person presented as homeless, assessment outcomes, workforce, audits.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from lxml import etree

from ..errors import LoadError
from .extract import Extract, from_frames, not_covered

SEX = {"1": "M", "2": "F", "0": "U", "9": "U", "M": "M", "F": "F", "U": "U"}
CARE_TABLES = ("care_episodes", "permanence_plans", "health_assessments", "dental_checks", "sdq_scores")
CIN_TABLES = {
    "children",
    "referrals",
    "assessments",
    "strategy_discussions",
    "s47_enquiries",
    "icpcs",
    "cin_plans",
    "cp_plans",
}
MISSING_TABLES = not_covered(CIN_TABLES | set(CARE_TABLES), "the CIN census does not record it") | {
    t: "children in care come from the SSDA903 return, not the CIN census" for t in CARE_TABLES
}
NO_TEAM = "the CIN census has no team"
MISSING_COLUMNS = {
    "children": {
        "family_id": "the CIN census has no family identifier",
        "locality_id": "the CIN census has no locality",
    },
    "referrals": {
        "homeless": "the CIN census does not record homelessness",
        "team_id": NO_TEAM,
        "locality_id": "the CIN census has no locality",
        "contact_id": "the CIN census has no contacts",
    },
    "assessments": {"team_id": NO_TEAM, "outcome": "the CIN census has no assessment outcome"},
    "s47_enquiries": {"team_id": NO_TEAM, "end_date": "the CIN census does not record when an enquiry ended"},
    "cin_plans": {"team_id": NO_TEAM},
    "cp_plans": {"team_id": NO_TEAM, "assessment_team_id": NO_TEAM},
}


def _text(el, tag: str) -> str | None:
    x = el.find(tag)
    return x.text.strip() if x is not None and x.text and x.text.strip() else None


def _date(s: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(s) if s else None
    except ValueError:
        return None


def _parse(path: Path):
    try:
        return etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    except etree.XMLSyntaxError as e:
        raise LoadError(f"{path}: not well-formed XML: {e}") from None
    except OSError as e:
        raise LoadError(f"{path}: cannot be read: {e}") from None


def read(source: str | Path, **_) -> Extract:
    source = Path(source)
    if not source.exists():
        raise LoadError(f"{source}: no such file or directory")
    files = sorted(source.glob("*.xml")) if source.is_dir() else [source]
    if not files:
        raise LoadError(f"{source}: holds no .xml file")
    rows: dict[str, list[dict]] = {}
    refs, councils = [], []
    for f in files:
        root = _parse(f)
        if root.tag != "Message" or root.find("Children") is None:
            raise LoadError(
                f"{f}: not a CIN census: expected a <Message> with <Header> and <Children>, found <{root.tag}>"
            )
        ref = _date(_text(root, "Header/CollectionDetails/ReferenceDate"))
        if ref:
            refs.append(ref)
        if _text(root, "Header/Source/LEA"):
            councils.append(_text(root, "Header/Source/LEA"))
        _children(root, f.name, rows)
    parts = {}
    labels = {
        "children": {
            "child_id": "LAchildID",
            "date_of_birth": "PersonBirthDate",
            "sex": "Sex",
            "ethnicity": "Ethnicity",
            "disability": "Disability",
        },
        "referrals": {
            "referral_id": "LAchildID+CINreferralDate",
            "child_id": "LAchildID",
            "referral_date": "CINreferralDate",
            "source": "ReferralSource",
            "primary_need": "PrimaryNeedCode",
            "closure_date": "CINclosureDate",
            "closure_reason": "ReasonForClosure",
        },
        "assessments": {"start_date": "AssessmentActualStartDate", "authorised_date": "AssessmentAuthorisationDate"},
        "strategy_discussions": {"decision_date": "S47ActualStartDate", "held_date": "S47ActualStartDate"},
        "s47_enquiries": {"start_date": "S47ActualStartDate"},
        "icpcs": {"conference_date": "DateOfInitialCPC"},
        "cin_plans": {"start_date": "CINPlanStartDate", "end_date": "CINPlanEndDate"},
        "cp_plans": {"start_date": "CPPstartDate", "end_date": "CPPendDate", "category": "InitialCategoryOfAbuse"},
    }
    for table in ("assessments", "strategy_discussions", "s47_enquiries", "icpcs", "cin_plans", "cp_plans"):
        labels[table] |= {"child_id": "LAchildID", "referral_id": "CINdetails (its episode)"}
    for table, rs in rows.items():
        df = pd.DataFrame(rs)
        for f, g in df.groupby("_file", sort=False):
            path = next(x for x in files if x.name == f)
            frame = g.drop(columns="_file").reset_index(drop=True)
            parts.setdefault(table, []).append(from_frames(table, f, frame, labels.get(table, {}), path))
    latest = max(refs) if refs else None
    return Extract(
        "cin",
        str(source.resolve()),
        parts,
        set(parts),
        missing=MISSING_TABLES,
        missing_columns=MISSING_COLUMNS,
        extract_date=(latest + dt.timedelta(days=1)).isoformat() if latest else None,
        council=councils[0] if councils else None,
        latest_month=latest.strftime("%Y-%m") if latest else None,
    )


def _children(root, file: str, rows: dict[str, list[dict]]) -> None:
    def add(table: str, el, **values):
        rows.setdefault(table, []).append(values | {"_line": el.sourceline, "_file": file})

    for child in root.iterfind("Children/Child"):
        ids = child.find("ChildIdentifiers")
        ids = ids if ids is not None else child
        cid = _text(ids, "LAchildID")
        sex = _text(ids, "Sex") or _text(ids, "GenderCurrent")
        disabilities = [
            d.text.strip() for d in child.iterfind("ChildCharacteristics/Disabilities/Disability") if d.text
        ]
        add(
            "children",
            child,
            child_id=cid,
            date_of_birth=_text(ids, "PersonBirthDate") or _text(ids, "ExpectedPersonBirthDate"),
            sex=SEX.get(sex, sex) if sex else None,
            ethnicity=_text(child, "ChildCharacteristics/Ethnicity"),
            disability=("Y" if any(d != "NONE" for d in disabilities) else "N"),
        )
        for episode in child.iterfind("CINdetails"):
            ref_date = _text(episode, "CINreferralDate")
            rid = f"{cid}/{ref_date}"
            add(
                "referrals",
                episode,
                referral_id=rid,
                child_id=cid,
                referral_date=ref_date,
                source=_text(episode, "ReferralSource"),
                primary_need=_text(episode, "PrimaryNeedCode"),
                closure_date=_text(episode, "CINclosureDate"),
                closure_reason=_text(episode, "ReasonForClosure"),
            )
            assessments = sorted(
                episode.iterfind("Assessments"), key=lambda a: _text(a, "AssessmentActualStartDate") or ""
            )
            for i, a in enumerate(assessments, start=1):
                add(
                    "assessments",
                    a,
                    assessment_id=f"{rid}/A{i}",
                    child_id=cid,
                    referral_id=rid,
                    assessment_type="INITIAL" if i == 1 else "REVIEW",
                    start_date=_text(a, "AssessmentActualStartDate"),
                    authorised_date=_text(a, "AssessmentAuthorisationDate"),
                )
            for i, p in enumerate(episode.iterfind("CINPlanDates"), start=1):
                add(
                    "cin_plans",
                    p,
                    cin_plan_id=f"{rid}/CIN{i}",
                    child_id=cid,
                    referral_id=rid,
                    start_date=_text(p, "CINPlanStartDate"),
                    end_date=_text(p, "CINPlanEndDate"),
                )
            plan_starts = {_text(p, "CPPstartDate") for p in episode.iterfind("ChildProtectionPlans")}
            icpc_on: dict[str, str] = {}
            for i, s in enumerate(episode.iterfind("Section47"), start=1):
                sid = f"{rid}/S47-{i}"
                start = _text(s, "S47ActualStartDate")
                add(
                    "strategy_discussions",
                    s,
                    strategy_id=sid,
                    child_id=cid,
                    referral_id=rid,
                    decision_date=start,
                    held_date=start,
                    outcome="S47",
                )
                conf = _text(s, "DateOfInitialCPC")
                add(
                    "s47_enquiries",
                    s,
                    s47_id=sid,
                    child_id=cid,
                    referral_id=rid,
                    strategy_id=sid,
                    start_date=start,
                    outcome="ICPC" if conf else None,
                )
                if conf:
                    icpc_on.setdefault(conf, f"{sid}/ICPC")
                    add(
                        "icpcs",
                        s,
                        icpc_id=f"{sid}/ICPC",
                        child_id=cid,
                        s47_id=sid,
                        conference_date=conf,
                        plan_made="Y" if conf in plan_starts else "N",
                    )
            for i, p in enumerate(episode.iterfind("ChildProtectionPlans"), start=1):
                start = _text(p, "CPPstartDate")
                add(
                    "cp_plans",
                    p,
                    cp_plan_id=f"{rid}/CPP{i}",
                    child_id=cid,
                    referral_id=rid,
                    icpc_id=icpc_on.get(start),
                    start_date=start,
                    end_date=_text(p, "CPPendDate"),
                    category=_text(p, "InitialCategoryOfAbuse"),
                )
