"""Ofsted's Annex A lists (an xlsx workbook, one sheet per list), into the data model.

A sheet is recognised by its header row as a whole, whatever the sheet is called and wherever the header
lies in its first rows (councils put titles, dates and blank rows above it): the row with the most column
titles of one list (Ofsted's, compared without case, punctuation or bracketed asides such as ``(Y/N)``;
a few common variants such as ``Age`` or ``Contact Date`` too), at least three of them and one the list's
own. A sheet that is a list but lacks a column the reader needs, repeats a column, or is a second copy of a
list stops the load with what was expected. Rows are streamed from the workbook, so a large one holds only
the columns read, and progress is shown on stderr every few seconds.

Values are read as councils write them: ``a) WBRI``, ``q) 6: Police``, ``WBRI - White British``,
``White British``, ``b) Female``, ``1 - Male``, ``a) Yes``, ``Physical abuse`` all come to the model's codes;
dates as Excel dates, serial numbers or text (``05/02/2024``, ``5-Feb-2024``, ``2024-02-05``: day first);
``N/A``, ``#N/A`` and ``-`` are empty. A value that cannot be translated is passed on as written, so the load
rejects it and says what was expected. Each row is reported as ``workbook, sheet`` and its row in the sheet.

What the lists give (docs/assumptions.md A42, A55-A59):

- List 1 ``contacts`` (the date only: no time, no outcome, no screening RAG);
- List 3 ``referrals``; List 4 ``assessments``; List 5 ``strategy_discussions``, ``s47_enquiries``
  and ``icpcs``; List 7 ``cp_plans``; each linked to the child's latest referral on or before it;
- List 9 ``care_leavers`` and their latest contact (``care_leaver_contacts``);
- ``children`` from these lists, a child's first row kept and its gaps filled from later ones.

What they cannot give: List 2 (early help) and Lists 10 and 11 (adoption) have no table in the model, List 6
(children in need) has no plan dates, List 8 (children in care) only each child's current placement: their
rows are set aside, each listed with the reason, as are the rows of sheets that are not lists; nor teams or
localities as codes, visits, workforce, audits or population; nor reviews (a plan's latest review date only),
missing episodes (List 8's counts only), core groups, school moves, or whether a child was seen alone at
assessment (A199).
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from itertools import chain
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

from .. import model
from ..errors import LoadError
from .extract import REPLACED, Extract, Part, file_stat, not_covered, reject
from .xlsx import Formula, Sheet, Workbook, cell_ref, column_of

# ---------------------------------------------------------------------------------------------
# The lists: Ofsted's column titles (the template's), and those the reader reads
# ---------------------------------------------------------------------------------------------

CID = "Child Unique ID"
COMMON = [CID, "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)"]
DISABILITY = "Does the Child have a Disability"
ALLOCATED = ["Allocated Team", "Allocated Worker"]
HEADERS = {
    "List 1": COMMON + ["Date of Contact", "Contact Source"],
    "List 2": COMMON + ["Assessment start date", "Assessment completion date", "Organisation completing assessment"],
    "List 3": COMMON
    + ["Date of Referral", "Referral Source", "Referral NFA?", "Number of Referrals in Last 12 Months"]
    + ALLOCATED,
    "List 4": COMMON
    + [
        DISABILITY,
        "Continuous Assessment Start Date",
        "Child Seen During Continuous Assessment",
        "Continuous Assessment Date of Authorisation",
        "Was the child assessed as requiring LA children's social care support?",
    ]
    + ALLOCATED,
    "List 5": COMMON
    + [
        DISABILITY,
        "Strategy discussion initiating Section 47 Enquiry Start Date",
        "Was an Initial Child Protection Conference deemed unnecessary?",
        "Date of Initial Child Protection Conference",
        "Did the Initial Child Protection Conference Result in a Child Protection Plan",
        "Number of Section 47 Enquiries in the last 12 months",
        "Number of ICPCs in the last 12 months",
    ]
    + ALLOCATED,
    "List 6": COMMON
    + [
        DISABILITY,
        "CIN Start Date",
        "Primary Need Code",
        "Date Child Was Last Seen",
        "CIN Closure Date",
        "Reason for Closure",
        "Case Status",
    ]
    + ALLOCATED,
    "List 7": COMMON
    + [
        DISABILITY,
        "Child Protection Plan Start Date",
        "Initial Category of Abuse",
        "Latest Category of Abuse",
        "Date of the Last Statutory Visit",
        "Was the Child Seen Alone?",
        "Date of latest review conference",
        "Child Protection Plan End Date",
        "Subject to Emergency Protection Order or Protected Under Police Powers in Last Six Months (Y/N)",
        "Number of Previous Child Protection Plans",
    ]
    + ALLOCATED,
    "List 8": COMMON
    + [
        "Unaccompanied Asylum Seeking Child (UASC) within the Last 12 Months (Y/N)",
        DISABILITY,
        "Date Started to be Looked After",
        "Child's Category of Need",
        "Is this a second or subsequent period of being a Looked After Child within the last 12 months (Y/N)",
        "Start date of current legal status",
        "Child's Legal Status",
        "Date of Latest Statutory Review",
        "Date of Last Social Work Visit",
        "What is the permanence plan for this child?",
        "Date of Last IRO Visit / Contact to the Child",
        "Date of Last Health Assessment",
        "Date of Last Dental Check",
        "Number of Placements in the Last 12 months",
        "Date Ceased to be Looked After",
        "Reason Ceased to be Looked After",
        "Start Date of Most Recent Placement",
        "Placement Type",
        "Placement Provider",
        "Placement postcode",
        "URN of Placement",
        "Placement Location",
        "LA of Placement",
        "Number of Episodes the Child has been 'Missing' from their Placement in the last 12 months",
        "Number of Episodes the Child has been 'Absent' from their Placement in the last 12 months",
        "Was the child offered a Return Interview after their last missing episode (Y/N)?",
        "Did the child accept a Return Interview after their last missing episode (Y/N)?",
    ]
    + ALLOCATED,
    "List 9": COMMON
    + ["Unaccompanied Asylum Seeking Child (UASC), or formerly UASC if 18 or over (Y/N)", DISABILITY]
    + ALLOCATED
    + [
        "Allocated Personal Advisor",
        "Eligibility Category",
        "Latest Pathway Plan Review Date",
        "LA in Touch",
        "Latest Date of Contact",
        "Type of Accommodation",
        "Suitability of Accommodation",
        "Activity Status",
    ],
    "List 10": [
        CID,
        "Family identifier",
        *COMMON[1:],
        DISABILITY,
        "Date the Child Entered Care",
        "Date of Decision that Child Should be Placed for Adoption",
        "Date of Placement Order",
        "Date of Matching Child and Prospective Adopters",
        "Date Placed for Adoption",
        "Date of Adoption Order",
        "Date of Decision that Child Should No Longer be Placed for Adoption",
        "Reason Why Child No Longer Placed for Adoption",
        "Date the child was placed for fostering in FFA or concurrent planning placement",
    ],
    "List 11": [
        "Individual adopter identifier",
        "Family identifier",
        "Gender",
        "Ethnicity",
        "Disability",
        "Is the (prospective) adopter fostering for adoption?",
        "Date enquiry received",
        "Date Stage 1 started",
        "Date Stage 1 ended",
        "Date Stage 2 started",
        "Date Stage 2 ended",
        "Date application submitted",
        "Date application approved",
        "Date adopter matched with child(ren)",
        "Date child/children placed with adopter(s)",
        "No. of children placed",
        "Date of Adoption Order",
        "Date of leaving adoption process",
        "Reason for leaving adoption process",
    ],
}
CHILD = ["Gender", "Ethnicity", "Date of Birth"]  # a child's details, needed from each list that is loaded
NEEDS = {  # the columns a list must have to be read (a list set aside needs none)
    "List 1": [CID, *CHILD, "Date of Contact", "Contact Source"],
    "List 3": [CID, *CHILD, "Date of Referral", "Referral Source"],
    "List 4": [CID, *CHILD, "Continuous Assessment Start Date", "Continuous Assessment Date of Authorisation"],
    "List 5": [
        CID,
        *CHILD,
        "Strategy discussion initiating Section 47 Enquiry Start Date",
        "Date of Initial Child Protection Conference",
        "Did the Initial Child Protection Conference Result in a Child Protection Plan",
    ],
    "List 7": [
        CID,
        *CHILD,
        "Child Protection Plan Start Date",
        "Initial Category of Abuse",
        "Child Protection Plan End Date",
    ],
    "List 9": [
        CID,
        *CHILD,
        "Eligibility Category",
        "LA in Touch",
        "Type of Accommodation",
        "Suitability of Accommodation",
        "Activity Status",
    ],
}
MAY_READ = [DISABILITY, "Latest Date of Contact"]  # read where the list has them
NOT_LOADED = {
    "List 2": "List 2 (early help assessments) has no table in the data model",
    "List 6": "List 6 (children in need) has no child in need plan dates",
    "List 8": "List 8 holds each child's current placement, not the episodes of care (use SSDA903)",
    "List 10": "List 10 (adoption) has no table in the data model",
    "List 11": "List 11 (adopters) has no table in the data model",
}
SCAN = 30  # a sheet's header is looked for in its first rows with values


def _norm(s) -> str:
    """A column title compared: lower case, bracketed asides and punctuation dropped (``Referral NFA?``,
    ``Age of Child (Years)``, ``Child’s`` and ``Child's``), spaces and line breaks collapsed."""
    s = re.sub(r"\([^)]*\)", " ", str(s).lower().replace("&", " and "))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", s).split())


# Variants of the template's titles councils use (compared as _norm gives them)
ALIASES = {
    CID: ["child id", "unique child id", "child identifier", "child unique identifier", "la child id"],
    "Gender": ["sex"],
    "Date of Birth": ["dob", "birth date"],
    "Age of Child (Years)": ["age", "age of child in years", "child age"],
    "Date of Contact": ["contact date"],
    "Date of Referral": ["referral date"],
    DISABILITY: ["disability", "disabled"],
    "Latest Date of Contact": ["latest contact date", "date of latest contact"],
}
# each list's titles as compared (the template's and their variants) -> the template's
KEYS = {name: {_norm(a): t for t in ts for a in (t, *ALIASES.get(t, ()))} for name, ts in HEADERS.items()}
# the titles only one list has: a list's header has one of its own
OWN = {
    name: set(ts) - {t for other, us in HEADERS.items() if other != name for t in us} for name, ts in HEADERS.items()
}


def _header(cells: dict[int, object]) -> tuple[str, dict[int, str]] | None:
    """The list whose header the row is, and its titles in the row by column: the list with the most of its own
    titles in the row, then the most of all its titles (3 at least, one its own); None if the row is no list's
    header."""
    normed = {i: _norm(v) for i, v in cells.items() if isinstance(v, str)}
    scores = []
    for name, keys in KEYS.items():
        titles = {i: keys[n] for i, n in normed.items() if n in keys}
        got = set(titles.values())
        if len(got) >= 3 and got & OWN[name]:
            scores.append((len(got & OWN[name]), len(got), name, titles))
    if not scores:
        return None
    scores.sort(key=lambda s: s[:2], reverse=True)
    if len(scores) > 1 and scores[0][:2] == scores[1][:2]:
        raise _Ambiguous(scores[0][2], scores[1][2])
    return scores[0][2], scores[0][3]


class _Ambiguous(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Values as councils write them
# ---------------------------------------------------------------------------------------------

EMPTY = {"", "-", "–", "—", "n/a", "na", "#n/a"}  # what councils write for "nothing here"
EXCEL_ERRORS = {"#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!", "#GETTING_DATA"}
LETTER = re.compile(r"^[a-zA-Z]{1,2}\)\s*")  # the template's list letter before each choice: "a) "


def _blank(v) -> bool:
    return v is None or (isinstance(v, str) and v.strip().lower() in EMPTY)


def _text(v) -> str | None:
    """A cell as text: None where empty; whole numbers without a decimal point."""
    if _blank(v):
        return None
    if isinstance(v, bool):
        return "Y" if v else "N"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    return str(v).strip()


def _key(s: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", s.lower()).split())


def _coder(codes: dict[str, str], names: dict[str, str] | None = None) -> Callable[[object], str | None]:
    """A code column's values: the code itself (``WBRI``), the code before its name (``6: Police``,
    ``1B - Individual``, ``N1 Abuse``) or after it in brackets (``White British (WBRI)``), or the name alone
    (``Police``, the model's or Annex A's); the template's list letter dropped. Anything else as written."""
    by_name = {_key(n): c for c, n in codes.items()} | {_key(c): c for c in codes}
    by_name |= {_key(n): c for n, c in (names or {}).items()}

    def code(v):
        s = _text(v)
        if s is None:
            return None
        s = LETTER.sub("", s)
        if (k := _key(s)) in by_name:
            return by_name[k]
        m = re.match(r"^([0-9A-Za-z]{1,4})\s*(?::|-|–|\s)", s) or re.search(r"[(\[]\s*([0-9A-Za-z]{1,4})\s*[)\]]$", s)
        if m and (k := _key(m.group(1))) in by_name:
            return by_name[k]
        return s or None

    return code


SEX_NAMES = {
    "1": "M",
    "2": "F",
    "0": "U",
    "9": "U",
    "unknown": "U",
    "not known": "U",
    "not stated": "U",
    "not recorded": "U",
    "not stated recorded": "U",
    "not stated recorded or unborn": "U",
    "unborn": "U",
    "indeterminate": "U",
    "neither": "U",
}
YES_NO = {"yes": "Y", "no": "N", "true": "Y", "false": "N"}
ABUSE_NAMES = {"physical": "PHY", "emotional": "EMO", "sexual": "SAB", "mixed": "MUL", "multiple categories": "MUL"}
ELIGIBILITY_NAMES = {
    "relevant": "RELEVANT",
    "relevant child": "RELEVANT",
    "former relevant": "FORMER",
    "former relevant child": "FORMER",
    "qualifying": "QUALIFYING",
    "qualifying care leaver": "QUALIFYING",
}
IN_TOUCH_NAMES = {"yes": "YES", "no": "NO", "y": "YES", "n": "NO"}
# Annex A's names of the accommodation types, where they differ from the SSDA903's
ACCOMMODATION_NAMES = {
    "community home": "C",
    "ordinary lodgings": "K",
    "foyers": "T",
    "with former foster carer": "Z",
    "with former foster carers": "Z",
}
SUITABLE = {"Y": "Suitable", "N": "Not suitable"}
SUITABLE_NAMES = {"unsuitable": "N", "yes": "Y", "no": "N"}
SUITABLE_UNKNOWN = {"not in touch or not recorded", "exclude", "not recorded"}  # Annex A's: not known, so empty

MONTHS = {"sept": 9}  # a month by its name or first three letters
_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october")
for _i, _m in enumerate((*_NAMES, "november", "december")):
    MONTHS |= {_m: _i + 1, _m[:3]: _i + 1}
TIME = r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + TIME + "$")
DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})" + TIME + "$")
D_MON_Y = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?[- /]([A-Za-z]{3,9})[- /,]+(\d{4}|\d{2})" + TIME + "$")
# Excel's serial numbers taken for dates in a date column: 1 January 1950 to 31 December 2099 (in a workbook dated
# from 1904, whose serial numbers count from 1 January 1904, 1462 less)
SERIALS = (18264, 73050)


def _serials(epoch: dt.datetime) -> tuple[int, int]:
    shift = 1462 if epoch == CALENDAR_MAC_1904 else 0
    return SERIALS[0] - shift, SERIALS[1] - shift


def _year(y: str) -> int:
    """A year; two digits as Excel reads them: 00-29 are 2000-2029, 30-99 1930-1999."""
    n = int(y)
    return n if len(y) == 4 else n + (2000 if n < 30 else 1900)


def _when(v, with_time: bool, epoch: dt.datetime = CALENDAR_WINDOWS_1900) -> str | None:
    """A date (``YYYY-MM-DD``), or with its time where it has one (``YYYY-MM-DD HH:MM:SS``), from an Excel date,
    a serial number (counted from the workbook's ``epoch``: 1900, or 1904 for a workbook saved so) or text laid out
    day first; anything else as written."""
    lo, hi = _serials(epoch)
    if _blank(v):
        return None
    if isinstance(v, str):
        s = v.strip()
        if m := ISO.match(s):
            y, mo, d = int(m[1]), int(m[2]), int(m[3])
        elif m := DMY.match(s):
            y, mo, d = _year(m[3]), int(m[2]), int(m[1])
        elif (m := D_MON_Y.match(s)) and m[2].lower() in MONTHS:
            y, mo, d = _year(m[3]), MONTHS[m[2].lower()], int(m[1])
        elif re.fullmatch(r"\d{5}(\.\d+)?", s):
            return _when(float(s), with_time, epoch) if lo <= float(s) <= hi else s
        else:
            return s
        try:
            v = dt.datetime(y, mo, d, int(m[4] or 0), int(m[5] or 0), int(m[6] or 0))
        except ValueError:  # 31/02/2024, 25:00
            return s
    elif isinstance(v, bool):
        return _text(v)
    elif isinstance(v, int | float):
        if not lo <= v <= hi:
            return _text(v)
        v = from_excel(v, epoch)
    elif isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return v.isoformat()
    if not isinstance(v, dt.datetime):  # a time of day, a duration
        return _text(v)
    if with_time and v.time() != dt.time(0):
        return v.replace(microsecond=0).isoformat(sep=" ")
    return v.date().isoformat()


def _date(v, epoch: dt.datetime = CALENDAR_WINDOWS_1900) -> str | None:
    return _when(v, False, epoch)


def _datetime(v, epoch: dt.datetime = CALENDAR_WINDOWS_1900) -> str | None:
    return _when(v, True, epoch)


def _yes_no(v) -> str | None:
    s = _text(v)
    if s is None:
        return None
    s = LETTER.sub("", s)
    return YES_NO.get(_key(s), s)


_SUITABLE = _coder(SUITABLE, SUITABLE_NAMES)


def _suitable(v) -> str | None:
    s = _text(v)
    return None if s is None or _key(LETTER.sub("", s)) in SUITABLE_UNKNOWN else _SUITABLE(s)


READS = {  # how each column read is translated
    CID: _text,
    "Gender": _coder(model.SEX, SEX_NAMES),
    "Ethnicity": _coder(model.ETHNICITY),
    "Date of Birth": _date,
    DISABILITY: _yes_no,
    "Date of Contact": _datetime,
    "Contact Source": _coder(model.REFERRAL_SOURCE),
    "Date of Referral": _date,
    "Referral Source": _coder(model.REFERRAL_SOURCE),
    "Continuous Assessment Start Date": _date,
    "Continuous Assessment Date of Authorisation": _date,
    "Strategy discussion initiating Section 47 Enquiry Start Date": _date,
    "Date of Initial Child Protection Conference": _date,
    "Did the Initial Child Protection Conference Result in a Child Protection Plan": _yes_no,
    "Child Protection Plan Start Date": _date,
    "Child Protection Plan End Date": _date,
    "Initial Category of Abuse": _coder(model.CP_CATEGORY, ABUSE_NAMES),
    "Eligibility Category": _coder(model.CARE_LEAVER_STATUS, ELIGIBILITY_NAMES),
    "LA in Touch": _coder(model.IN_TOUCH, IN_TOUCH_NAMES),
    "Latest Date of Contact": _date,
    "Type of Accommodation": _coder(model.ACCOMMODATION, ACCOMMODATION_NAMES),
    "Suitability of Accommodation": _suitable,
    "Activity Status": _coder(model.ACTIVITY),
}


def _memo(f: Callable) -> Callable:
    """``f`` remembered for each value (a list repeats its dates and codes), by type: True is not 1."""
    seen: dict = {}

    def g(v):
        k = (type(v), v)
        if k not in seen:
            seen[k] = f(v)
        return seen[k]

    return g


class _Progress:
    """A line on stderr every ``every`` seconds while sheets are read: the sheet, its rows so far."""

    def __init__(self, book: str, every: float):
        self.book, self.every = book, every
        self.last, self.shown = time.monotonic(), False

    def __call__(self, sheet: str, rows: int, done: bool = False) -> None:
        now = time.monotonic()
        if now - self.last >= self.every or (done and self.shown):
            end = " (all)" if done else ""
            print(f"{self.book}, sheet {sheet!r}: {rows:,} rows read{end}", file=sys.stderr, flush=True)
            self.last, self.shown = now, True


# ---------------------------------------------------------------------------------------------
# A sheet: a list, or a sheet that is not one
# ---------------------------------------------------------------------------------------------


@dataclass
class _List:
    name: str  # "List 1"
    label: str  # "annex_a.xlsx, List 1": as rows are reported
    columns: dict[str, int]  # the titles read -> their column
    table: pa.Table | None = None  # the rows: each title read, translated to text, and _line (the row in the sheet)


def _read_sheet(book: Workbook, sheet: Sheet, progress: _Progress, rejects: list, notes: list) -> _List | None:
    """The sheet's list, or None for a sheet that is not a list. The rows of a sheet that is not a list, and of
    a list the model has no table for, are set aside: listed in ``rejects`` with the reason."""
    label = f"{book.path.name}, {sheet.name}"
    where = f"{book.path.name}, sheet {sheet.name!r}" + (" (hidden)" if sheet.hidden else "")
    merged: list[str] = []
    rows = book.rows(sheet, merged)
    seen, header = [], None  # the rows with values looked at for the header, and the header found
    for line, cells in rows:
        if all(_blank(v) for v in cells.values()):
            continue
        seen.append((line, cells))
        try:
            header = _header(cells)
        except _Ambiguous as e:
            raise LoadError(
                f"{where} row {line}: a header with the columns of both Annex A {e.args[0]} and {e.args[1]}; "
                "one list to a sheet"
            ) from None
        if header or len(seen) == SCAN:
            break
    set_aside = _SetAside(label, sheet.name, rejects, progress)
    if header is None:
        reason = (
            f"not recognised as an Annex A list: none of the sheet's first {SCAN} rows with values holds 3 or more "
            "of a list's column titles, one of them the list's own"
        )
        n = set_aside(chain(seen, rows), "not an Annex A list", None, reason)
        if n:
            notes.append(f"{where}: not recognised as an Annex A list; its {n} row(s) set aside")
        return None
    name, titles = header
    top, head = seen[-1]
    if sheet.hidden:
        notes.append(f"{where} ({name}): read like the others")
    if len(seen) > 1:
        notes.append(f"{where} ({name}): its header is row {top}; the {len(seen) - 1} row(s) above it are titles")
    by_title: dict[str, list[int]] = {}
    for i, t in sorted(titles.items()):
        by_title.setdefault(t, []).append(i)
    for t, cols in by_title.items():
        if len(cols) > 1:
            cells = ", ".join(cell_ref(c, top) for c in cols)
            raise LoadError(f"{where} ({name}): column {t!r} appears {len(cols)} times (cells {cells}); keep one")
    extra = [str(v).strip() for i, v in sorted(head.items()) if i not in titles and not _blank(v)]
    if extra:
        notes.append(f"{where} ({name}): column(s) {', '.join(extra)} are not in Ofsted's {name}; ignored")
    if name in NOT_LOADED:
        key = HEADERS[name][0]  # its rows shown by their child (an adopter in List 11)
        at = by_title[key][0] if key in by_title else None
        n = set_aside(rows, f"Annex A {name}", at, f"{NOT_LOADED[name]}: not loaded", key if at is not None else "")
        notes.append(f"{where} ({name}, {n} rows): {NOT_LOADED[name]}; set aside, not loaded")
        return _List(name, label, {})
    missing = [t for t in NEEDS[name] if t not in by_title]
    if missing:
        raise LoadError(
            f"{where}: its header (row {top}) is Annex A {name}'s but has no column "
            f"{', '.join(repr(t) for t in missing)} (Ofsted's column titles; the header has "
            f"{', '.join(repr(t) for t in by_title)})"
        )
    read = NEEDS[name] + [t for t in MAY_READ if t in by_title]
    lst = _List(name, label, {t: by_title[t][0] for t in read})
    _read_rows(lst, rows, where, rejects, progress, sheet.name, book.epoch)
    if merged:
        _fill_merged(lst, merged, where, notes)
    return lst


@dataclass
class _SetAside:
    """A sheet's rows set aside: listed as rejected with the reason (the load accounts for them)."""

    label: str
    sheet: str
    rejects: list
    progress: _Progress

    def __call__(self, rows: Iterator, table: str, key: int | None, reason: str, column: str = "") -> int:
        """Every row with a value, shown by its ``key`` column (else its first value); how many."""
        n = 0
        for line, cells in rows:
            if all(_blank(v) for v in cells.values()):
                continue
            n += 1
            if key is not None:
                value = _text(cells.get(key))
            else:
                value = next((_text(cells[i]) for i in sorted(cells) if not _blank(cells[i])), None)
            self.rejects.append(reject(table, self.label, line, column, value, reason))
            if n % 1024 == 0:
                self.progress(self.sheet, n)
        self.progress(self.sheet, n, done=True)
        return n


CID_TITLES = {_norm(a) for a in (CID, *ALIASES[CID])}


CHUNK = 1 << 16  # rows translated are kept as Arrow text in chunks of this many: compact, whatever the list's length


def _read_rows(
    lst: _List, rows: Iterator, where: str, rejects: list, progress: _Progress, sheet: str, epoch: dt.datetime
) -> None:
    """The list's rows below its header: the columns read, translated (a date's serial number counted from the
    workbook's ``epoch``); blank rows are not records. A row with Excel's error value (``#REF!``) in a column read is
    set aside; a formula saved without its value, or a second header, stops the load."""
    titles = list(lst.columns)
    at = list(lst.columns.values())
    reads = [partial(READS[t], epoch=epoch) if READS[t] in (_date, _datetime) else READS[t] for t in titles]
    convert = [f if t == CID else _memo(f) for t, f in zip(titles, reads, strict=True)]  # ids seldom repeat
    values: list[list] = [[] for _ in titles]
    lines: list[int] = []
    chunks: list[pa.RecordBatch] = []
    n = 0
    for line, cells in rows:
        if all(_blank(v) for v in cells.values()):
            continue
        row = [cells.get(i) for i in at]
        if isinstance(row[0], str) and len(row[0]) >= 8 and _norm(row[0]) in CID_TITLES:
            raise LoadError(f"{where} row {line}: a second header row inside the list; one list to a sheet")
        if any(isinstance(v, str) and v[:1] in ("#", "=") for v in row) and (bad := _odd(row, titles, at, line, where)):
            t, v = bad
            why = f"Excel's error {v} in place of a value (a formula that failed)"
            rejects.append(reject(LIST_TABLES[lst.name][0], lst.label, line, t, v, why))
            continue
        for k, v in enumerate(row):
            values[k].append(convert[k](v))
        lines.append(line)
        n += 1
        if len(lines) == CHUNK:
            chunks.append(_batch(titles, values, lines))
        if n % 1024 == 0:
            progress(sheet, n)
    chunks.append(_batch(titles, values, lines))
    progress(sheet, n, done=True)
    lst.table = pa.Table.from_batches(chunks)


def _batch(titles: list[str], values: list[list], lines: list[int]) -> pa.RecordBatch:
    """The rows translated so far as Arrow text (the lists emptied for the next)."""
    cols = [pa.array(v, pa.string()) for v in values] + [pa.array(lines, pa.int64())]
    for v in (*values, lines):
        v.clear()
    return pa.RecordBatch.from_arrays(cols, [*titles, "_line"])


def _odd(row: list, titles: list[str], at: list[int], line: int, where: str) -> tuple[str, str] | None:
    """A row's cell holding Excel's error value (its column and the error), if one does; a formula saved
    without its value stops the load."""
    for t, i, v in zip(titles, at, row, strict=True):
        if isinstance(v, Formula):
            raise LoadError(
                f"{where} cell {cell_ref(i, line)} ({t}): a formula ({v}) saved without its value: the workbook was "
                "written by a program and never calculated; open it in Excel, save it, and load it again"
            )
        if isinstance(v, str) and v.strip() in EXCEL_ERRORS:
            return t, v.strip()
    return None


def _fill_merged(lst: _List, merged: list[str], where: str, notes: list) -> None:
    """A merged range's value (in its first cell) read into each of its rows, as the sheet shows it, where its
    first column is read and its first row is a record."""
    lines = lst.table["_line"].to_pylist()
    pos = {line: k for k, line in enumerate(lines)}
    title_at = {i: t for t, i in lst.columns.items()}
    filled: dict[str, list] = {}  # the columns changed, as lists
    n = 0
    for rng in merged:
        m = re.fullmatch(r"([A-Za-z]+)(\d+):([A-Za-z]+)(\d+)", rng)
        if not m or not lines or int(m[4]) < lines[0] or int(m[2]) > lines[-1]:
            continue  # a title's, the header's, or below the list
        n += 1
        c1, r1 = column_of(m[1]), int(m[2])
        if c1 in title_at and r1 in pos:
            t = title_at[c1]
            column = filled.setdefault(t, lst.table[t].to_pylist())
            for r in range(r1 + 1, int(m[4]) + 1):
                if r in pos:
                    column[pos[r]] = column[pos[r1]]
    for t, column in filled.items():
        lst.table = lst.table.set_column(lst.table.schema.get_field_index(t), t, pa.array(column, pa.string()))
    if n:
        notes.append(f"{where}: {n} merged cell range(s) in its rows; each row read with its range's value")


# ---------------------------------------------------------------------------------------------
# The lists into the data model
# ---------------------------------------------------------------------------------------------

# may be empty in what the reader gives: a child's disability is asked only in some lists; a plan or
# assessment of a child whose referral is older than List 3's period has no referral to link to
OPTIONAL = {"children": {"disability"}} | {
    t: {"referral_id"} for t in ("assessments", "strategy_discussions", "s47_enquiries", "cp_plans")
}
LIST_TABLES = {  # what each list read gives
    "List 1": ["contacts"],
    "List 3": ["referrals"],
    "List 4": ["assessments"],
    "List 5": ["strategy_discussions", "s47_enquiries", "icpcs"],
    "List 7": ["cp_plans"],
    "List 9": ["care_leavers", "care_leaver_contacts"],
}
MISSING_TABLES = not_covered({t for ts in LIST_TABLES.values() for t in ts} | {"children"}, "Annex A does not list it")
# the new records of issue 21 that Annex A carries only in part: why each cannot be loaded (A199)
MISSING_TABLES |= {
    "reviews": "Annex A gives each plan's latest review date only (List 7 review conference, List 8 statutory "
    "review, List 9 pathway plan review), not each review with the date it was due",
    "missing_episodes": "List 8 counts each child's missing and absent episodes in the last 12 months, without "
    "their dates",
    "core_groups": "Annex A does not list core group meetings",
    "school_moves": "Annex A does not list changes of school",
}
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
    "assessments": {
        "team_id": NO_TEAM,
        "outcome": "List 4 gives no assessment outcome code",
        "seen_alone": "List 4 records whether the child was seen during the assessment, not seen alone",
    },
    "s47_enquiries": {"team_id": NO_TEAM, "end_date": "List 5 has no enquiry end date"},
    "cp_plans": {"team_id": NO_TEAM, "assessment_team_id": NO_TEAM},
    "care_leavers": {"left_care_date": "List 9 has no date of leaving care"},
}


def read(source: str | Path, progress_every: float = 5.0, **_) -> Extract:
    """The workbook's lists as the data model's tables. ``progress_every``: seconds between progress lines."""
    source = Path(source)
    try:
        stat = file_stat(source)  # before it is read: its checksum is refused if it changed since
    except OSError:
        stat = None  # Workbook says what is wrong with the path
    book = Workbook(source)
    progress = _Progress(source.name, progress_every)
    found: dict[str, _List] = {}
    others: list[str] = []  # the sheets that are no list
    rejects: list[dict] = []
    notes = [f"{source.name}, sheet {s!r}: not a worksheet (a chart?); not read" for s in book.not_worksheets]
    for sheet in book.sheets:
        lst = _read_sheet(book, sheet, progress, rejects, notes)
        if lst is None:
            others.append(repr(sheet.name))
            continue
        if lst.name in found and lst.name not in NOT_LOADED:
            first = found[lst.name].label.split(", ", 1)[1]
            raise LoadError(
                f"{source.name}: sheets {first!r} and {sheet.name!r} are both Annex A {lst.name}; keep one "
                "(a second copy would count its records twice)"
            )
        found[lst.name] = lst
    lists = {n: lst for n, lst in found.items() if n not in NOT_LOADED}
    if not lists:
        has = [f"{n} (sheet {lst.label.split(', ', 1)[1]!r})" for n, lst in found.items()]
        raise LoadError(
            f"{source}: holds none of the Annex A lists the workbook reads (Lists 1, 3, 4, 5, 7, 9)"
            + (f"; it has {', '.join(has)}" if has else "")
            + (
                f"; sheet(s) {', '.join(others)} are no list (a list's header is looked for in the first {SCAN} "
                "rows with values)"
                if others
                else ""
            )
        )
    parts: dict[str, list[Part]] = {}

    def add(table: str, name: str, cols: dict[str, pa.Array], columns: dict[str, str]) -> None:
        part = Part(table, lists[name].label, pa.table(cols), columns, source, optional=OPTIONAL.get(table, set()))
        parts.setdefault(table, []).append(part)

    referrals = None
    if "List 1" in lists:
        d = lists["List 1"].table
        add(
            "contacts",
            "List 1",
            {
                "contact_id": _join(d[CID], pc.cast(d["_line"], pa.string())),
                "child_id": d[CID],
                "contact_at": d["Date of Contact"],
                "source": d["Contact Source"],
                "_line": d["_line"],
            },
            {
                "contact_id": "Child Unique ID+row",
                "child_id": CID,
                "contact_at": "Date of Contact",
                "source": "Contact Source",
            },
        )
    if "List 3" in lists:
        d = lists["List 3"].table
        referrals = pa.table(
            {
                "referral_id": _join(d[CID], pc.fill_null(d["Date of Referral"], "")),
                "child_id": d[CID],
                "referral_date": d["Date of Referral"],
                "source": d["Referral Source"],
                "_line": d["_line"],
            }
        )
        add(
            "referrals",
            "List 3",
            dict(zip(referrals.column_names, referrals.columns, strict=True)),
            {
                "referral_id": "Child Unique ID+Date of Referral",
                "child_id": CID,
                "referral_date": "Date of Referral",
                "source": "Referral Source",
            },
        )

    def referral_of(child, date) -> pa.Array:
        """The child's latest referral (List 3) on or before the date."""
        out = pd.Series(None, index=range(len(child)), dtype=object)
        if referrals is not None:
            left = pd.DataFrame({"child": child.to_pandas(), "d": _as_date(date)}).dropna()
            right = pd.DataFrame(
                {
                    "child": referrals["child_id"].to_pandas(),
                    "d": _as_date(referrals["referral_date"]),
                    "id": referrals["referral_id"].to_pandas(),
                }
            ).dropna()
            if len(left) and len(right):
                got = pd.merge_asof(
                    left.reset_index().sort_values("d"),
                    right.sort_values("d"),
                    on="d",
                    by="child",
                    direction="backward",
                )
                out[got["index"].to_numpy()] = got["id"].to_numpy()
        return pa.array(out, pa.string())

    link = "Child Unique ID (the child's latest List 3 referral on or before)"
    if "List 4" in lists:
        d = lists["List 4"].table
        child, start = d[CID], d["Continuous Assessment Start Date"]
        add(
            "assessments",
            "List 4",
            {
                "assessment_id": _join(child, pc.fill_null(start, ""), "A"),
                "child_id": child,
                "referral_id": referral_of(child, start),
                "assessment_type": pa.repeat("INITIAL", len(d)),
                "start_date": start,
                "authorised_date": d["Continuous Assessment Date of Authorisation"],
                "_line": d["_line"],
            },
            {
                "child_id": CID,
                "referral_id": link,
                "start_date": "Continuous Assessment Start Date",
                "authorised_date": "Continuous Assessment Date of Authorisation",
            },
        )
    if "List 5" in lists:
        d = lists["List 5"].table
        child = d[CID]
        start = d["Strategy discussion initiating Section 47 Enquiry Start Date"]
        sid = _join(child, pc.fill_null(start, ""), "S47")
        conf = d["Date of Initial Child Protection Conference"]
        base = {"child_id": child, "referral_id": referral_of(child, start), "_line": d["_line"]}
        labels = {"child_id": CID, "referral_id": link}
        add(
            "strategy_discussions",
            "List 5",
            base
            | {"strategy_id": sid, "decision_date": start, "held_date": start, "outcome": pa.repeat("S47", len(d))},
            labels | {"decision_date": "Strategy discussion initiating Section 47 Enquiry Start Date"},
        )
        add(
            "s47_enquiries",
            "List 5",
            base
            | {
                "s47_id": sid,
                "strategy_id": sid,
                "start_date": start,
                "outcome": pc.if_else(pc.is_valid(conf), "ICPC", pa.scalar(None, pa.string())),
            },
            labels | {"start_date": "Strategy discussion initiating Section 47 Enquiry Start Date"},
        )
        has = pc.is_valid(conf)
        plan = "Did the Initial Child Protection Conference Result in a Child Protection Plan"
        add(
            "icpcs",
            "List 5",
            {
                "icpc_id": pc.filter(_join(sid, pa.repeat("ICPC", len(d))), has),
                "child_id": pc.filter(child, has),
                "s47_id": pc.filter(sid, has),
                "conference_date": pc.filter(conf, has),
                "plan_made": pc.filter(d[plan], has),
                "_line": pc.filter(d["_line"], has),
            },
            {"child_id": CID, "conference_date": "Date of Initial Child Protection Conference", "plan_made": plan},
        )
    if "List 7" in lists:
        d = lists["List 7"].table
        child, start = d[CID], d["Child Protection Plan Start Date"]
        add(
            "cp_plans",
            "List 7",
            {
                "cp_plan_id": _join(child, pc.fill_null(start, ""), "CPP"),
                "child_id": child,
                "referral_id": referral_of(child, start),
                "start_date": start,
                "end_date": d["Child Protection Plan End Date"],
                "category": d["Initial Category of Abuse"],
                "_line": d["_line"],
            },
            {
                "child_id": CID,
                "referral_id": link,
                "start_date": "Child Protection Plan Start Date",
                "end_date": "Child Protection Plan End Date",
                "category": "Initial Category of Abuse",
            },
        )
    missing = dict(MISSING_TABLES)
    if "List 9" in lists:
        d = lists["List 9"].table
        child = d[CID]
        add(
            "care_leavers",
            "List 9",
            {"child_id": child, "status": d["Eligibility Category"], "_line": d["_line"]},
            {"child_id": CID, "status": "Eligibility Category"},
        )
        if "Latest Date of Contact" not in d.column_names:
            missing["care_leaver_contacts"] = f"{lists['List 9'].label} has no Latest Date of Contact column"
        else:
            latest = d["Latest Date of Contact"]
            has = pc.is_valid(latest)
            add(
                "care_leaver_contacts",
                "List 9",
                {
                    "contact_id": pc.filter(_join(child, latest), has),
                    "child_id": pc.filter(child, has),
                    "contact_date": pc.filter(latest, has),
                    "in_touch": pc.filter(d["LA in Touch"], has),
                    "activity": pc.filter(d["Activity Status"], has),
                    "accommodation": pc.filter(d["Type of Accommodation"], has),
                    "suitable": pc.filter(d["Suitability of Accommodation"], has),
                    "_line": pc.filter(d["_line"], has),
                },
                {
                    "child_id": CID,
                    "contact_date": "Latest Date of Contact",
                    "in_touch": "LA in Touch",
                    "activity": "Activity Status",
                    "accommodation": "Type of Accommodation",
                    "suitable": "Suitability of Accommodation",
                },
            )
            if (without := len(d) - pc.sum(has).as_py() if len(d) else 0) > 0:
                notes.append(
                    f"{lists['List 9'].label}: {without} care leaver(s) without a Latest Date of Contact: "
                    "loaded as care leavers, with no contact"
                )
    _children(lists, parts, source, notes, rejects)
    for name, tables in LIST_TABLES.items():
        if name not in lists:
            missing |= {t: f"the workbook has no {name}" for t in tables}
    for part in (p for ps in parts.values() for p in ps):  # every part is of the one workbook
        part.stat = stat
    return Extract(
        "annex-a",
        str(source.resolve()),
        parts,
        set(parts),
        missing=missing,
        missing_columns=MISSING_COLUMNS,
        rejects=rejects,
        notes=notes,
    )


def _join(*parts) -> pa.ChunkedArray:
    """Text joined with "/" (an id made of its record's values); null where any part is."""
    return pc.binary_join_element_wise(*parts, "/")


def _as_date(a) -> pd.Series:
    return pd.to_datetime(a.to_pandas(), format="%Y-%m-%d", errors="coerce")


def _merged_children(allr: pa.Table, child, rows: pa.Array, children: pa.Table, labels: list, details: dict) -> list:
    """A child's rows after its first (in the lists' order), merged into it: each listed as merged (REPLACED) for
    the children table, its reason naming the first row, and each value that differs from the one kept (A87)."""
    first = rows.to_numpy(zero_copy_only=False)
    ids = allr["child_id"].to_pylist()
    later = [i for i in range(len(allr)) if first[child[i]] != i and ids[i] is not None]
    if not later:
        return []
    lines, lists = allr["_line"].to_pylist(), allr["_list"].to_pylist()
    values = {c: allr[c].to_pylist() for c in details}
    kept = {c: children[c].to_pylist() for c in details}
    out = []
    for i in later:
        j, k = int(first[child[i]]), child[i]
        where = f"{labels[lists[j]]} row {lines[j]}"
        differ = [
            f"{c} {values[c][i]} here, {kept[c][k]} in {where}"
            for c in details
            if values[c][i] is not None and kept[c][k] is not None and values[c][i] != kept[c][k]
        ]
        why = f"same child_id as {where} (an earlier list): merged into it, its values kept and its gaps filled"
        why += "; " + "; ".join(differ) + ": the earlier source's values kept" if differ else ""
        out.append(reject("children", labels[lists[i]], lines[i], CID, ids[i], why, REPLACED))
    return out


def _children(lists: dict[str, _List], parts: dict, source: Path, notes: list[str], rejects: list) -> None:
    """One row per child from the lists loaded: the first row's values, gaps filled from later lists. Children are
    numbered in order of their first row (a dictionary of their ids), and each first is found among those numbers."""
    details = {"date_of_birth": "Date of Birth", "sex": "Gender", "ethnicity": "Ethnicity", "disability": DISABILITY}
    tables = [lst.table for lst in lists.values()]
    allr = pa.concat_tables(
        pa.table(
            {"child_id": d[CID]}
            | {c: d[t] if t in d.column_names else pa.nulls(len(d), pa.string()) for c, t in details.items()}
            | {"_line": d["_line"], "_list": pa.repeat(k, len(d)).cast(pa.int8())}
        )
        for k, d in enumerate(tables)
    )
    ids = pc.dictionary_encode(allr["child_id"].combine_chunks(), null_encoding="encode")
    child = ids.indices.to_numpy(zero_copy_only=False)

    def first(rows: np.ndarray) -> pa.Array:
        """Of the rows given (in order), each child's first: its row number, or null where it has none."""
        at = np.full(len(ids.dictionary), -1)
        found, i = np.unique(child[rows], return_index=True)
        at[found] = rows[i]
        return pa.array(at, mask=at < 0)

    rows = first(np.arange(len(allr)))
    children = pa.table(
        {"child_id": ids.dictionary}
        | {c: allr[c].take(first(np.flatnonzero(pc.is_valid(allr[c]).to_numpy(zero_copy_only=False)))) for c in details}
        | {"_line": allr["_line"].take(rows)}
    )
    notes.append(
        f"children: {len(children)} children from {len(allr)} rows of the lists (a child's first row, gaps filled "
        "from later lists)"
    )
    seen = allr["_list"].take(rows)
    columns = {"child_id": CID} | details
    rejects += _merged_children(allr, child, rows, children, [lst.label for lst in lists.values()], details)
    for k, lst in enumerate(lists.values()):  # a part for each list, empty where none of its children is first seen
        parts.setdefault("children", []).append(
            Part(
                "children",
                lst.label,
                children.filter(pc.equal(seen, k)),
                columns,
                source,
                optional=OPTIONAL["children"],
            )
        )
