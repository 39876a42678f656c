"""The CIN census XML (``<Message>``: a header, then ``<Children>``), into the data model.

A source is one XML file or a directory of them, one census each (a namespace on the elements is ignored). A
census's date is its header's ``ReferenceDate`` (31 March: the census of 2025-26), else 31 March of its
``Year``, else ``--year`` (a source of one census); a ReferenceDate outside ``--year`` stops the load, as do two
censuses of one year. Each record is reported by the line of its element.

Several years' censuses combine into one history, oldest first (docs/assumptions.md A52): a record (a child, an
episode keyed by child and referral date, an assessment, section 47, CIN or CP plan keyed by its episode and
start date) given again by a later census is taken from the latest, the earlier rows listed as restated; a
record open at an earlier census's reference date (no closure, authorisation or end) that the next year's
census, which holds everything open during its year, does not hold is listed as superseded. A record dated
after its census's reference date is rejected, listed with its file, row, element and value.

What the census gives (A41):

- ``children``: ``LAchildID``, birth date (the expected date for a child unborn, if by the census date), sex
  (``1``/``2``, or ``M``/``F``), ethnicity, and disability (any ``Disability`` other than ``NONE``; not known
  without one);
- ``referrals``: each ``CINdetails`` (a child in need episode), identified by child and referral date;
- ``assessments``: the first assessment of an episode counts as the assessment after the referral,
  later ones as updated assessments;
- ``strategy_discussions`` and ``s47_enquiries``: each ``Section47`` (the census records the strategy
  discussion that starts the enquiry, not when the enquiry ended);
- ``icpcs``: each conference date, a Section47's or a CINdetails's own (a conference whose enquiry is not in
  the episode, linked to the child's enquiry that led to it where a census holds it: A197); a plan was made when
  a child protection plan starts that day;
- ``cin_plans`` and ``cp_plans`` (initial category of abuse);
- ``reviews``: each CP plan review conference (``Reviews/CPPreviewDate``, plan type CP), with the date it was
  due (A196).

A child without ``LAchildID``, or an episode without ``CINreferralDate``, cannot be identified: it and every
record it holds are listed, not loaded. Records the model has no table for (pre-proceedings, any other element
holding elements of its own inside a ``CINdetails`` or ``Child``) are read and listed as set aside under
"CIN <element>" ("CIN PreProceedingsandFGDM"). Codes are read in any case, dates as YYYY-MM-DD or
DD/MM/YYYY (a midnight time allowed).

What it cannot give: contacts, early help, visits, children in care (SSDA903), teams, localities,
families, whether a young person presented as homeless, assessment outcomes, whether the child was seen alone,
CIN plan reviews, core groups, workforce, audits.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from lxml import etree

from .. import model
from ..errors import LoadError
from .extract import REPLACED, Extract, file_stat, from_frames, not_covered, reject, visible
from .statutory import canonical, label, option_year, parse_date, parse_dates, restated, set_aside, year_of

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
    "reviews",
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
    "assessments": {
        "team_id": NO_TEAM,
        "outcome": "the CIN census has no assessment outcome",
        "seen_alone": "the CIN census does not record whether the child was seen alone",
    },
    "s47_enquiries": {"team_id": NO_TEAM, "end_date": "the CIN census does not record when an enquiry ended"},
    "cin_plans": {"team_id": NO_TEAM},
    "cp_plans": {"team_id": NO_TEAM, "assessment_team_id": NO_TEAM},
}
ISO = "%Y-%m-%d"  # the census's own layout, which identifiers are written in

# the census's element for each column read, as problems name it
LABELS = {
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
    "assessments": {
        "assessment_id": "CINdetails+AssessmentActualStartDate",
        "start_date": "AssessmentActualStartDate",
        "authorised_date": "AssessmentAuthorisationDate",
    },
    "strategy_discussions": {
        "strategy_id": "CINdetails+S47ActualStartDate",
        "decision_date": "S47ActualStartDate",
        "held_date": "S47ActualStartDate",
    },
    "s47_enquiries": {"s47_id": "CINdetails+S47ActualStartDate", "start_date": "S47ActualStartDate"},
    "icpcs": {
        "icpc_id": "Section47 or CINdetails+DateOfInitialCPC",
        "conference_date": "DateOfInitialCPC",
        "s47_id": "Section47 (the enquiry that led to the conference)",
    },
    "cin_plans": {
        "cin_plan_id": "CINdetails+CINPlanStartDate",
        "start_date": "CINPlanStartDate",
        "end_date": "CINPlanEndDate",
    },
    "cp_plans": {
        "cp_plan_id": "CINdetails+CPPstartDate",
        "start_date": "CPPstartDate",
        "end_date": "CPPendDate",
        "category": "InitialCategoryOfAbuse",
    },
    "reviews": {
        "review_id": "ChildProtectionPlans+CPPreviewDate",
        "review_date": "CPPreviewDate",
        "due_date": "CPPstartDate/CPPreviewDate (due 3 months after the plan's start, then 6 after the last review)",
    },
}
for _t in ("assessments", "strategy_discussions", "s47_enquiries", "icpcs", "cin_plans", "cp_plans", "reviews"):
    LABELS[_t] |= {"child_id": "LAchildID", "referral_id": "CINdetails (its episode)"}
KEYS = {
    "children": "child_id",
    "referrals": "referral_id",
    "assessments": "assessment_id",
    "strategy_discussions": "strategy_id",
    "s47_enquiries": "s47_id",
    "icpcs": "icpc_id",
    "cin_plans": "cin_plan_id",
    "cp_plans": "cp_plan_id",
    "reviews": "review_id",
}
# dates that cannot lie after the census's reference date; and the one whose absence leaves a record open
DATES = {
    "referrals": ["referral_date", "closure_date"],
    "assessments": ["start_date", "authorised_date"],
    "strategy_discussions": ["decision_date"],
    "s47_enquiries": ["start_date"],
    "icpcs": ["conference_date"],
    "cin_plans": ["start_date", "end_date"],
    "cp_plans": ["start_date", "end_date"],
    "reviews": ["review_date"],
}
OPEN_UNTIL = {
    "referrals": ("closure_date", "episode", "CINclosureDate"),
    "assessments": ("authorised_date", "assessment", "AssessmentAuthorisationDate"),
    "cin_plans": ("end_date", "CIN plan", "CINPlanEndDate"),
    "cp_plans": ("end_date", "CP plan", "CPPendDate"),
}
# elements of a CINdetails or Child read as records of the model (others holding elements are set aside)
RECORDS = {"Assessments", "CINPlanDates", "Section47", "ChildProtectionPlans"}
CHILD_PARTS = {"ChildIdentifiers", "ChildCharacteristics", "CINdetails"}
SET_ASIDE = "the data model has no table for it: read and counted, not loaded"
# the columns the reader gives each table (icpcs also the episode, to find the plan a conference made)
COLUMNS = {
    "children": ["child_id", "date_of_birth", "sex", "ethnicity", "disability"],
    "referrals": [
        "referral_id",
        "child_id",
        "referral_date",
        "source",
        "primary_need",
        "closure_date",
        "closure_reason",
    ],
    "assessments": ["assessment_id", "child_id", "referral_id", "assessment_type", "start_date", "authorised_date"],
    "strategy_discussions": ["strategy_id", "child_id", "referral_id", "decision_date", "held_date", "outcome"],
    "s47_enquiries": ["s47_id", "child_id", "referral_id", "strategy_id", "start_date", "outcome"],
    "icpcs": ["icpc_id", "child_id", "s47_id", "referral_id", "conference_date", "plan_made"],
    "cin_plans": ["cin_plan_id", "child_id", "referral_id", "start_date", "end_date"],
    "cp_plans": ["cp_plan_id", "child_id", "referral_id", "icpc_id", "start_date", "end_date", "category"],
    # reviews also their plan and its start, for the date each was due
    "reviews": ["review_id", "child_id", "plan_type", "due_date", "review_date", "cp_plan_id", "plan_start"],
}


def _text(el, tag: str) -> str | None:
    x = el.find(tag)
    return _value(x) if x is not None else None


def _holds_elements(x) -> bool:
    return any(isinstance(c.tag, str) for c in x)


def _value(x) -> str | None:
    """An element's text, stripped (None if empty): around a comment or processing instruction too (<LAchildID>
    <!-- id -->A1</LAchildID> is A1); an element holding elements has none."""
    commented = len(x) and not _holds_elements(x)
    text = "".join(x.itertext()) if commented else x.text
    return text.strip() if text and text.strip() else None


def _upper(v: str | None) -> str | None:
    return v.upper() if v else None


def _fields(el, more=()) -> tuple[dict[str, str], tuple | None]:
    """An element's elements by name (and those of ``more``: the same element given again, a second
    ChildIdentifiers), as stripped text (those empty left out); and, where one is given twice with different values
    (two LAchildIDs), the problem that makes of the record: (element, value, reason). Which of the two holds cannot
    be told, so neither is taken."""
    out: dict[str, str] = {}
    clash = None
    for x in (x for block in (el, *more) for x in block):
        if isinstance(x.tag, str) and (v := _value(x)):
            if x.tag not in out:
                out[x.tag] = v
            elif out[x.tag] != v and clash is None:
                clash = (
                    x.tag,
                    v,
                    f"{x.tag} given twice with different values ({out[x.tag]!r} and {v!r}) in one "
                    f"{el.tag}: which holds cannot be told",
                )
    return out, clash


def _parse(path: Path):
    """The file's root element, namespaces dropped from every element's name."""
    try:
        root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    except etree.XMLSyntaxError as e:
        raise LoadError(f"{path}: not well-formed XML: {e}") from None
    except OSError as e:
        raise LoadError(f"{path}: cannot be read: {e}") from None
    return _local(root)


def _local(root):
    """The tree with every element's namespace dropped from its name (and the namespaces' declarations)."""
    if not root.nsmap and not root.tag.startswith("{"):  # none declared: none to drop
        return root
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{"):
            el.tag = etree.QName(el).localname
    etree.cleanup_namespaces(root)
    return root


def _laid_out(root):
    """The census laid out one element a line, read again (its elements' lines are then those of that layout)."""
    for el in root.iter():
        if el.text is not None and not el.text.strip() and len(el):
            el.text = None
        if el.tail is not None and not el.tail.strip():
            el.tail = None
    text = etree.tostring(root.getroottree(), pretty_print=True, xml_declaration=True, encoding="utf-8")
    return _local(etree.fromstring(text, etree.XMLParser(resolve_entities=False, no_network=True)))


def _shared_lines(rows: dict[str, list[dict]], rejects: list[dict]) -> bool:
    """Whether two records of one table are on one line."""
    lines = [(t, r["_line"]) for t, rs in rows.items() for r in rs] + [(r["table_name"], r["row"]) for r in rejects]
    return len(lines) != len(set(lines))


def _records(root, file: str, rank: int, ref: dt.date) -> tuple[dict[str, list[dict]], list[dict]]:
    """The census's records by table, and those the model has no table for (set aside)."""
    rows: dict[str, list[dict]] = {t: [] for t in KEYS}
    rejects: list[dict] = []
    _children(root, file, rank, ref, rows, rejects)
    return rows, rejects


def _header(root, path: str, file: str) -> str | None:
    """A Header element's value; LoadError where it is given twice with different values (two ReferenceDates):
    which holds cannot be told, and the whole census hangs on it."""
    values = {v for x in root.iterfind(f"Header/{path}") if (v := _value(x))}
    if len(values) > 1:
        raise LoadError(
            f"{file}: its Header gives {path.rsplit('/', 1)[-1]} {len(values)} times with different values "
            f"({', '.join(sorted(values))}): keep the right one"
        )
    return values.pop() if values else None


def _reference(root, file: str, given: int | None, notes: list[str]) -> dt.date:
    """The census's reference date: its header's ReferenceDate, else 31 March of its Year, else of --year."""
    text = _header(root, "CollectionDetails/ReferenceDate", file)
    if text:
        ref = parse_date(text)
        if ref is None:
            raise LoadError(f"{file}: its ReferenceDate {text!r} is not a date YYYY-MM-DD")
        if given and _year(ref) != given:
            raise LoadError(f"{file}: its ReferenceDate {ref} is not in --year {label(given)} (April to March)")
        year = _header(root, "CollectionDetails/Year", file)
        # the census of 2025-26 is Year 2026, dated 31 March 2026 (a reference date on another day: its year either)
        if year and year.isdigit() and int(year) not in (_year(ref), ref.year):
            raise LoadError(
                f"{file}: its Header's Year {year} and ReferenceDate {ref} disagree (the census of Year {year} is "
                f"dated 31 March {year}): correct the one that is wrong"
            )
        return ref
    year = _header(root, "CollectionDetails/Year", file)
    if year and year.isdigit() and not given:
        notes.append(f"{file}: no ReferenceDate in its Header: 31 March {year}, from its Year")
        return dt.date(int(year), 3, 31)
    if given:
        return dt.date(given, 3, 31)
    raise LoadError(f"{file}: its Header has no ReferenceDate (nor Year): give --year (e.g. 2026 for 31 March 2026)")


def read(source: str | Path, year=None, **_) -> Extract:
    source = Path(source)
    if not source.exists():
        raise LoadError(f"{source}: no such file or directory")
    given = option_year(year)
    notes: list[str] = []
    if source.is_dir():  # its folders too (a census a year, each in a folder of its own)
        files = visible(source, ".xml", "the CIN reader reads each census's XML file", notes)
        if not files:
            raise LoadError(f"{source}: holds no .xml file")
    else:
        files = [source]

    def shown(f: Path) -> str:
        return str(f.relative_to(source)) if source.is_dir() else f.name

    if given and len(files) > 1:
        raise LoadError(f"--year states the year of one census, but {source} holds {len(files)}")
    censuses, councils, stats = [], [], {}
    for f in files:
        try:
            stats[f] = file_stat(f)  # before it is read: its checksum is refused if it changed since
        except OSError as e:
            raise LoadError(f"{f}: cannot be read: {e.strerror or e}") from None
        root = _parse(f)
        collection = _header(root, "CollectionDetails/Collection", shown(f))
        if root.tag != "Message" or root.find("Children") is None or (collection or "CIN").upper() != "CIN":
            what = f"<{root.tag}>" + (f" of collection {collection}" if collection else "")
            raise LoadError(f"{f}: not a CIN census: expected a <Message> with <Header> and <Children>, found {what}")
        censuses.append((_reference(root, shown(f), given, notes), f, root))
        if lea := _header(root, "Source/LEA", shown(f)):
            councils.append(lea)
    censuses.sort(key=lambda c: c[0])
    years = [_year(ref) for ref, _, _ in censuses]
    for (a, fa, _), (b, fb, _), y, z in zip(censuses, censuses[1:], years, years[1:], strict=False):
        if y == z:
            raise LoadError(
                f"{shown(fa)} and {shown(fb)}: two censuses of {label(y)} (reference dates {a}, {b}): keep one"
            )

    rows: dict[str, list[dict]] = {t: [] for t in KEYS}
    rejects: list[dict] = []
    for rank, (ref, f, root) in enumerate(censuses):
        mine, aside = _records(root, shown(f), rank, ref)
        if _shared_lines(mine, aside):
            # records on one line (a census written without line breaks) would share a row: counted in the
            # file laid out one element a line instead
            mine, aside = _records(_laid_out(root), shown(f), rank, ref)
            notes.append(
                f"{shown(f)}: several records on one line: rows are counted in it laid out one element a line, "
                "after a line declaring it XML"
            )
        for t, rs in mine.items():
            rows[t] += rs
        rejects += aside
    # every table the census holds, supplied even where it has no rows (no S47 this year is none, not unknown)
    frames = {
        t: pd.DataFrame(rs, columns=[*COLUMNS[t], "_line", "_file", "_rank", "_unknown"]) for t, rs in rows.items()
    }
    refs = {rank: pd.Timestamp(ref) for rank, (ref, _, _) in enumerate(censuses)}
    _of_its_year(frames, refs, [shown(f) for _, f, _ in censuses], given)
    consecutive = {rank: rank + 1 < len(years) and years[rank + 1] == years[rank] + 1 for rank in refs}
    names = [shown(f) for _, f, _ in censuses]
    for table, df in frames.items():
        frames[table] = _settled(table, df, refs, consecutive, names, rejects)
    _derived(frames)
    parts = {}
    for table, df in frames.items():
        columns = [c for c in model.table(table).column_names if c in df.columns]
        for _, path, _ in censuses:
            # as Python objects: read value by value (Arrow-backed text is slow to walk)
            frame = df.loc[df["_file"] == shown(path), [*columns, "_line"]].reset_index(drop=True).astype(object)
            # a child's disability is not known without a Disability element (the census does not ask it of all),
            # nor the birth date of one not born by the census date
            optional = {"disability", "date_of_birth"} if table == "children" else set()
            if table == "icpcs":  # a CINdetails's conference whose enquiry no census loaded holds (A197)
                optional = {"s47_id"}
            parts.setdefault(table, []).append(
                from_frames(table, shown(path), frame, LABELS[table], path, optional=optional, stat=stats[path])
            )
    latest = censuses[-1][0]
    return Extract(
        "cin",
        str(source.resolve()),
        parts,
        set(parts),
        missing=MISSING_TABLES,
        missing_columns=_unlinked(frames["icpcs"]),
        rejects=rejects,
        notes=notes,
        extract_date=(latest + dt.timedelta(days=1)).isoformat(),
        council=councils[0] if councils else None,
        latest_month=latest.strftime("%Y-%m"),
        first_month=f"{_year(censuses[0][0]) - 1}-04",  # its first census's collection year's April
    )


def _unlinked(icpcs: pd.DataFrame) -> dict[str, dict[str, str]]:
    """What the census cannot supply (:data:`MISSING_COLUMNS`), and the conferences' enquiries where the census
    links none of its conferences to one (every conference recorded on its episode, no enquiry of it in a census
    read: the CIN validator's fake data): a measure of the time from the enquiry to the conference is then not
    available, not 0% in time (docs/assumptions.md A197)."""
    if icpcs.empty or icpcs["s47_id"].notna().any():
        return MISSING_COLUMNS
    why = "no conference of the census is linked to its section 47 enquiry (each recorded on its CINdetails)"
    return MISSING_COLUMNS | {"icpcs": {"s47_id": why}}


def _of_its_year(frames: dict[str, pd.DataFrame], refs: dict, names: list[str], given: int | None) -> None:
    """LoadError for a census most of whose dates fall after its reference date: a census of a later year (its
    ReferenceDate, or --year, a year early), every record of which would be rejected as dated after it."""
    dated = pd.Series(0, index=list(refs))
    late: list[pd.Series] = []
    for table, columns in DATES.items():
        df = frames[table]
        ref = df["_rank"].map(refs)
        for c in columns:
            d = parse_dates(df[c])
            dated = dated.add(df.loc[d.notna(), "_rank"].value_counts(), fill_value=0)
            late.append(pd.DataFrame({"rank": df["_rank"], "year": year_of(d)})[d > ref])
    late = pd.concat(late)
    for rank, n in dated.items():
        after = late[late["rank"] == rank]
        if n and 2 * len(after) > n:
            most = int(after["year"].value_counts().idxmax())
            said = f"--year {label(given)}" if given else "its ReferenceDate"
            raise LoadError(
                f"{names[rank]}: {len(after)} of its {int(n)} dates fall after the census date "
                f"{refs[rank].date()} ({said}), most in {label(most)}: a census of another year? Correct "
                + ("--year" if given else "its ReferenceDate")
            )


def _year(d: dt.date) -> int:
    """The collection year a date falls in (2026 for April 2025 to March 2026)."""
    return int(year_of(pd.Series([pd.Timestamp(d)])).iloc[0])


def _settled(table: str, df: pd.DataFrame, refs, consecutive, names: list[str], rejects: list) -> pd.DataFrame:
    """One table's rows over the censuses: those that cannot be identified, are dated after their census, were
    restated by a later census or superseded by the next listed (with why) and left out."""
    labels = LABELS[table]
    bad = df["_unknown"].notna()
    unknown = df.loc[bad, "_unknown"]
    key = df[KEYS[table]]  # a record set aside: the rows that refer to it fall with it
    rejects += set_aside(table, df[bad], unknown.str[0], unknown.str[1], unknown.str[2], key=key[bad])
    df = df[~bad]
    if table in DATES:
        ref = df["_rank"].map(refs)
        late = pd.Series(pd.NA, index=df.index, dtype="object")
        for c in reversed(DATES[table]):
            late = late.mask(parse_dates(df[c]) > ref, c)
        late = late.dropna()
        rows = df.loc[late.index]
        value = pd.Series([rows.at[i, c] for i, c in late.items()], index=late.index, dtype=object)
        reason = "expected a date on or before the census reference date " + ref[late.index].dt.strftime(ISO)
        rejects += set_aside(table, rows, late.map(lambda c: labels.get(c, c)), value, reason, key=key[late.index])
        df = df.drop(index=late.index)
    key = df[KEYS[table]]
    old, by = restated(key, df["_rank"])
    newer = df.loc[by.to_numpy()]
    reason = ("restated by the later census: " + newer["_file"] + " row " + newer["_line"].astype(str)).to_numpy()
    rejects += set_aside(table, df[old], labels[KEYS[table]], key[old], pd.Series(reason, index=by.index), REPLACED)
    gone = pd.Series(False, index=df.index)
    if table in OPEN_UNTIL:
        end, what, element = OPEN_UNTIL[table]
        gone = df[end].isna() & df["_rank"].map(consecutive) & ~old
        rank = df.loc[gone, "_rank"]
        reason = rank.map(
            lambda r: (
                f"open at {refs[r].date()} (no {element}) but not in the census of {refs[r + 1].date()} "
                f"({names[r + 1]}), which holds every {what} open during its year: superseded by it"
            )
        )
        rejects += set_aside(table, df[gone], element, None, reason, REPLACED)
    return df[~old & ~gone]


def _derived(frames: dict[str, pd.DataFrame]) -> None:
    """What depends on an episode's records over the censuses: its first assessment (by start date) the initial
    one; a conference made a plan where a CP plan of the episode starts that day, and that plan is the one it made
    (the earliest section 47's conference, where two are on one day)."""
    a = frames["assessments"]
    first = a.assign(_s=parse_dates(a["start_date"])).sort_values(["referral_id", "_s", "assessment_id"])
    a["assessment_type"] = "REVIEW"
    a.loc[first.groupby("referral_id").head(1).index, "assessment_type"] = "INITIAL"
    icpcs, plans = frames["icpcs"], frames["cp_plans"]
    conf = icpcs[["icpc_id", "referral_id"]].assign(
        _on=canonical(icpcs["conference_date"], parse_dates(icpcs["conference_date"]), ISO)
    )
    plan = plans[["referral_id"]].assign(_on=canonical(plans["start_date"], parse_dates(plans["start_date"]), ISO))
    on = ["referral_id", "_on"]
    made = conf.merge(plan.drop_duplicates(), on=on, how="left", indicator=True)["_merge"].eq("both")
    icpcs["plan_made"] = made.map({True: "Y", False: "N"}).to_numpy()
    which = conf.sort_values("icpc_id").drop_duplicates(on)
    plans["icpc_id"] = plan.merge(which, on=on, how="left")["icpc_id"].to_numpy()
    _enquiry_of(icpcs, frames["s47_enquiries"])
    _due(frames["reviews"])


LED_TO = pd.DateOffset(months=3)  # how long before its conference an enquiry may have started to have led to it


def _enquiry_of(icpcs: pd.DataFrame, s47: pd.DataFrame) -> None:
    """A CINdetails's conference (no s47_id yet) linked to the enquiry that led to it: the child's latest section 47
    started on or before the conference and at most 3 months before it, in any episode or census, that has no
    conference of its own; none found (the enquiry is in no census loaded), left empty (docs/assumptions.md A197)."""
    todo = icpcs["s47_id"].isna()
    if not todo.any() or s47.empty:
        return
    own = set(icpcs.loc[~todo, "s47_id"])
    e = s47.loc[~s47["s47_id"].isin(own), ["s47_id", "child_id"]].assign(_s=parse_dates(s47["start_date"]))
    e = e.dropna(subset=["_s"])
    c = icpcs.loc[todo, ["child_id"]].assign(_c=parse_dates(icpcs.loc[todo, "conference_date"]), _i=icpcs.index[todo])
    m = c.merge(e, on="child_id")
    m = m[(m["_s"] <= m["_c"]) & (m["_s"] >= m["_c"] - LED_TO)]
    latest = m.sort_values(["_i", "_s", "s47_id"]).drop_duplicates("_i", keep="last").set_index("_i")["s47_id"]
    icpcs.loc[latest.index, "s47_id"] = latest


def _due(reviews: pd.DataFrame) -> None:
    """The date each CP plan review was due, as Working Together sets the timescales: the first review conference
    within 3 months of the initial conference (the plan's start), each later one within 6 months of the review
    before it (by date, over every census). Where the plan's start does not read as a date, none: the review is
    rejected for it (docs/assumptions.md A196)."""
    if reviews.empty:
        return
    r = reviews.assign(_r=parse_dates(reviews["review_date"]), _p=parse_dates(reviews["plan_start"]))
    r = r.sort_values(["cp_plan_id", "_r"], na_position="last")
    previous = r.groupby("cp_plan_id")["_r"].transform(lambda x: x.ffill().shift())
    due = (previous + pd.DateOffset(months=6)).where(previous.notna(), r["_p"] + LED_TO)
    reviews["due_date"] = due.dt.strftime(ISO).astype(object).where(due.notna(), None).reindex(reviews.index)


def _children(root, file: str, rank: int, ref: dt.date, rows: dict[str, list[dict]], rejects: list) -> None:
    def add(table: str, el, unknown=None, **values):
        values |= {"_line": el.sourceline, "_file": file, "_rank": rank, "_unknown": unknown}
        rows.setdefault(table, []).append(values)

    def aside(parent):
        """Elements holding elements of their own that the model has no table for: listed, not loaded."""
        for x in parent:
            if x.tag == "Reviews" and parent.tag == "ChildProtectionPlans":  # a CP plan's reviews: read as reviews
                continue
            if isinstance(x.tag, str) and x.tag not in RECORDS | CHILD_PARTS and _holds_elements(x):
                # named by its first element, as the census writes it
                first = next((y for y in x if isinstance(y.tag, str)), None)
                what = (f"{x.tag}/{first.tag}", _value(first)) if first is not None else (x.tag, None)
                rejects.append(reject(f"CIN {x.tag}", file, x.sourceline, *what, SET_ASIDE))

    for child in root.iterfind("Children/Child"):
        # a Child's identifiers (and characteristics) given in two blocks are read as one: a value in both, as one
        ids = child.findall("ChildIdentifiers") or [child]
        ids, clash = _fields(ids[0], ids[1:])
        traits = child.findall("ChildCharacteristics")
        traits, clash2 = _fields(traits[0], traits[1:]) if traits else ({}, None)
        cid = ids.get("LAchildID")
        no_id = (
            None if cid else ("LAchildID", None, "a Child without LAchildID: it and its records cannot be identified")
        )
        if clash and clash[0] == "LAchildID":  # no one child: nor are its records anyone's
            no_id = (*clash[:2], clash[2] + ": it and its records cannot be identified")
        sex = _upper(ids.get("Sex") or ids.get("GenderCurrent"))
        disabilities = [
            (_value(d) or "").upper() for d in child.iterfind("ChildCharacteristics/Disabilities/Disability")
        ]
        disabilities = [d for d in disabilities if d]
        add(
            "children",
            child,
            no_id or clash or clash2,
            child_id=cid,
            date_of_birth=ids.get("PersonBirthDate") or _born_by(ids.get("ExpectedPersonBirthDate"), ref),
            sex=SEX.get(sex, sex) if sex else None,
            ethnicity=_upper(traits.get("Ethnicity")),
            disability=("Y" if any(d != "NONE" for d in disabilities) else "N") if disabilities else None,
        )
        aside(child)
        for episode in child.iterfind("CINdetails"):
            aside(episode)
            for p in episode.iterfind("ChildProtectionPlans"):
                aside(p)
            e, clash = _fields(episode)
            raw = e.get("CINreferralDate")
            if clash and clash[0] == "CINreferralDate":  # no one episode: nor are its records any episode's
                clash = (*clash[:2], clash[2] + ": it and its records cannot be identified")
            unknown = (
                no_id
                or (clash if clash and clash[0] == "CINreferralDate" else None)
                or (
                    None
                    if raw
                    else (
                        "CINreferralDate",
                        None,
                        "a CINdetails without CINreferralDate: it and its records cannot be identified",
                    )
                )
            )
            rid = f"{cid}/{_day(raw)}"
            add(
                "referrals",
                episode,
                unknown or clash,
                referral_id=rid,
                child_id=cid,
                referral_date=raw,
                source=_upper(e.get("ReferralSource")),
                primary_need=_upper(e.get("PrimaryNeedCode")),
                closure_date=e.get("CINclosureDate"),
                closure_reason=_upper(e.get("ReasonForClosure")),
            )
            ids_of = _ids(rid)
            _episode_conference(episode, e, file, cid, rid, unknown or clash, add, rejects)
            for a in episode.iterfind("Assessments"):
                f, clash = _fields(a)
                start = f.get("AssessmentActualStartDate")
                add(
                    "assessments",
                    a,
                    unknown or clash,
                    assessment_id=ids_of("A", start),
                    child_id=cid,
                    referral_id=rid,
                    assessment_type=None,
                    start_date=start,
                    authorised_date=f.get("AssessmentAuthorisationDate"),
                )
            for p in episode.iterfind("CINPlanDates"):
                f, clash = _fields(p)
                start = f.get("CINPlanStartDate")
                add(
                    "cin_plans",
                    p,
                    unknown or clash,
                    cin_plan_id=ids_of("CIN", start),
                    child_id=cid,
                    referral_id=rid,
                    start_date=start,
                    end_date=f.get("CINPlanEndDate"),
                )
            for s in episode.iterfind("Section47"):
                f, clash = _fields(s)
                start = f.get("S47ActualStartDate")
                sid = ids_of("S47", start)
                add(
                    "strategy_discussions",
                    s,
                    unknown or clash,
                    strategy_id=sid,
                    child_id=cid,
                    referral_id=rid,
                    decision_date=start,
                    held_date=start,
                    outcome="S47",
                )
                conf = f.get("DateOfInitialCPC")
                add(
                    "s47_enquiries",
                    s,
                    unknown or clash,
                    s47_id=sid,
                    child_id=cid,
                    referral_id=rid,
                    strategy_id=sid,
                    start_date=start,
                    outcome="ICPC" if conf else None,
                )
                if conf:
                    add(
                        "icpcs",
                        s,
                        unknown or clash,
                        icpc_id=f"{sid}/ICPC",
                        child_id=cid,
                        s47_id=sid,
                        referral_id=rid,
                        conference_date=conf,
                        plan_made=None,
                    )
            for p in episode.iterfind("ChildProtectionPlans"):
                f, clash = _fields(p)
                start = f.get("CPPstartDate")
                pid = ids_of("CPP", start)
                add(
                    "cp_plans",
                    p,
                    unknown or clash,
                    cp_plan_id=pid,
                    child_id=cid,
                    referral_id=rid,
                    icpc_id=None,
                    start_date=start,
                    end_date=f.get("CPPendDate"),
                    category=_upper(f.get("InitialCategoryOfAbuse")),
                )
                _plan_reviews(p, pid, start, cid, unknown or clash, add)


def _episode_conference(episode, e: dict, file: str, cid, rid: str, unknown, add, rejects: list) -> None:
    """A CINdetails's own DateOfInitialCPC: a conference whose section 47 enquiry is not in this episode (the
    census records it there, not under a Section47, rule 2884), one row of icpcs; its enquiry is found once every
    census is read (:func:`_derived`). The same date under one of the episode's Section47s is that conference,
    given twice: counted once, the CINdetails's listed as merged into it (docs/assumptions.md A197)."""
    x = next((x for x in episode if x.tag == "DateOfInitialCPC"), None)
    conf = e.get("DateOfInitialCPC")
    if x is None or not conf:
        return
    day = _day(conf)
    twin = next((s for s in episode.iterfind("Section47") if _day(_text(s, "DateOfInitialCPC")) == day and day), None)
    if twin is not None:
        rejects.append(
            reject(
                "icpcs",
                file,
                x.sourceline,
                "DateOfInitialCPC",
                conf,
                f"the same conference as the Section47's DateOfInitialCPC (row {twin.sourceline}): counted once",
                REPLACED,
            )
        )
        return
    add(
        "icpcs",
        x,
        unknown,
        icpc_id=f"{rid}/ICPC/{day}",
        child_id=cid,
        s47_id=None,
        referral_id=rid,
        conference_date=conf,
        plan_made=None,
    )


def _plan_reviews(plan, pid: str, start: str | None, cid, unknown, add) -> None:
    """A CP plan's review conferences (Reviews/CPPreviewDate), one row of reviews each (plan type CP): the date
    each was due is worked out once every census is read (:func:`_due`). A review before the plan's start is a
    problem of the review, named by its element."""
    began = parse_date(start)
    for r in plan.iterfind("Reviews/CPPreviewDate"):
        held = _value(r)
        d = parse_date(held)
        problem = None
        if d is not None and began is not None and d < began:
            problem = ("CPPreviewDate", held, f"expected a review on or after the plan's start (CPPstartDate {start})")
        add(
            "reviews",
            r,
            unknown or problem,
            review_id=f"{pid}/R/{_day(held)}",
            child_id=cid,
            plan_type="CP",
            due_date=None,
            review_date=held,
            cp_plan_id=pid,
            plan_start=start,
        )


def _born_by(expected: str | None, ref: dt.date) -> str | None:
    """An unborn child's expected birth date, as their birth date if it is by the census date (born since, or
    nearly); after it, none: the child is not born (A53)."""
    d = parse_date(expected)
    return expected if d is None or d <= ref else None


def _day(text: str | None) -> str:
    """A date as an identifier's part: YYYY-MM-DD whatever its layout; anything else as written."""
    d = parse_date(text)
    return d.isoformat() if d else (text or "")


def _ids(rid: str):
    """Identifiers of an episode's records: the episode, the kind and the start date, the second of a kind on one
    day numbered #2 (the same record in two censuses gets the same identifier, whatever its order)."""
    seen: dict[tuple[str, str], int] = {}

    def of(kind: str, start: str | None) -> str:
        day = _day(start)
        n = seen[kind, day] = seen.get((kind, day), 0) + 1
        return f"{rid}/{kind}/{day}" + (f"#{n}" if n > 1 else "")

    return of
