"""The Annex A reader on small workbooks written by hand (openpyxl), as councils fill Ofsted's template: the
records that come out, every row of every sheet accounted for, and a clear refusal for a workbook that cannot
be read."""

import datetime as dt
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi.cli import main
from kpi.errors import LoadError
from kpi.load import load_sources
from kpi.readers import read
from kpi.readers.annex_a import read as read_annex_a
from kpi.store import connect

CID = "Child Unique ID"
COMMON = [CID, "Gender", "Ethnicity", "Date of Birth", "Age"]
L1 = COMMON + ["Date of Contact", "Contact Source"]
L3 = COMMON + [
    "Date of Referral",
    "Referral Source",
    "Referral NFA?",
    "Number of Referrals in Last 12 Months",
    "Allocated Team",
    "Allocated Worker",
]
L7 = COMMON + [
    "Does the Child have a Disability",
    "Child Protection Plan Start Date",
    "Initial Category of Abuse",
    "Latest Category of Abuse",
    "Child Protection Plan End Date",
]
L8 = COMMON + ["Date Started to be Looked After", "Child's Legal Status", "Placement Type", "Allocated Worker"]
DOB = dt.datetime(2015, 1, 25)


def contact(child, when, source="q) 6: Police", gender="b) Female", ethnicity="a) WBRI", dob=DOB):
    return [child, gender, ethnicity, dob, 9, when, source]


def referral(child, when, source="q) 6: Police"):
    return [child, "b) Female", "a) WBRI", DOB, 9, when, source, "No", 0, "Duty", "A N Other"]


def plan(child, start, category="Neglect", end=None):
    return [child, "b) Female", "a) WBRI", DOB, 9, "b) No", start, category, category, end]


def book(path: Path, sheets: dict[str, list[list]], hidden=(), merged=(), epoch=None) -> Path:
    """A workbook of the sheets' rows as written (None an empty cell; "=..." a formula openpyxl saves without
    its value); ``merged``: (sheet, "A2:A4") ranges."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    if epoch is not None:
        wb.epoch = epoch
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
        if name in hidden:
            ws.sheet_state = "hidden"
    for name, rng in merged:
        wb[name].merge_cells(rng)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def calculated(path: Path, sheet: int, values: dict[str, str]) -> Path:
    """The workbook with the formulas of the given cells holding a value, as Excel saves them."""
    part = f"xl/worksheets/sheet{sheet}.xml"
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    xml = parts[part].decode()
    for ref, v in values.items():
        xml, n = re.subn(rf'(<c r="{ref}"[^>]*>)<f>(.*?)</f><v\s*/?>(</v>)?', rf"\1<f>\2</f><v>{v}</v>", xml)
        assert n == 1, ref
    parts[part] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            z.writestr(n, data)
    return path


def load(path: Path, tmp_path: Path, extract_date="2024-03-01", accept_losses: bool = False):
    res = load_sources(
        read([("annex-a", str(path))]), tmp_path / "w.duckdb", extract_date=extract_date, accept_losses=accept_losses
    )
    con, _ = connect(tmp_path / "w.duckdb")
    return res, con


def accounted(res, table: str, file: str) -> list[int]:
    a = res.accounting.set_index(["table_name", "file"])
    return a.loc[(table, file), ["rows_read", "rows_loaded", "rows_rejected", "rows_merged"]].tolist()


# ---------------------------------------------------------------------------------------------
# Lists as councils fill them
# ---------------------------------------------------------------------------------------------


def test_lists_in_councils_code_styles(tmp_path):
    f = book(
        tmp_path / "annex_a.xlsx",
        {
            "List 1": [
                L1,
                contact("P1", dt.datetime(2024, 2, 5)),
                contact("P2", dt.datetime(2024, 2, 6), gender="Martian"),
            ],
            "List 3": [L3, referral("P1", dt.datetime(2024, 2, 7))],
            "List 7": [L7, plan("P1", dt.datetime(2024, 2, 20))],
            "Sheet for notes": [["Notes"], ["not a list"]],
        },
    )
    res, con = load(f, tmp_path)
    rej = res.rejects
    # the unknown gender: reported against the sheet, its row and Ofsted's column title
    assert rej[["file", "row", "column_name", "value"]].values.tolist()[0] == [
        "annex_a.xlsx, List 1",
        3,
        "Gender",
        "Martian",
    ]
    # the child is not loaded, so their contact cannot be either: said, not dropped
    assert rej[rej.table_name == "contacts"].iloc[0]["reason"] == (
        "child P2 was rejected: annex_a.xlsx, List 1 row 3, column Gender: 'Martian': expected one of the sex codes "
        "(M, F, U)"
    )
    assert con.execute("SELECT child_id, sex, ethnicity, disability FROM children").fetchall() == [
        ("P1", "F", "WBRI", False)
    ]
    assert con.execute("SELECT child_id, source, CAST(contact_at AS DATE) FROM contacts").fetchall() == [
        ("P1", "6", dt.date(2024, 2, 5))
    ]
    assert con.execute("SELECT source FROM referrals").fetchall() == [("6",)]
    # the plan is linked to the child's latest referral on or before its start
    assert con.execute("SELECT referral_id, category FROM cp_plans").fetchall() == [("P1/2024-02-07", "NEG")]
    # the sheet that is not a list: its two rows set aside, each listed
    assert accounted(res, "not an Annex A list", "annex_a.xlsx, Sheet for notes") == [2, 0, 2, 0]
    assert any("Sheet for notes" in n and "not recognised" in n for n in res.notes)


def test_header_found_below_titles_dates_and_blank_rows(tmp_path):
    f = book(
        tmp_path / "a.xlsx",
        {
            "Contacts": [
                ["Annex A: List 1 - Contacts"],
                ["Period", dt.datetime(2023, 9, 1), "to", dt.datetime(2024, 2, 29)],
                [],
                [None, None, "Child's details"],
                L1,
                contact("P1", dt.datetime(2024, 2, 5)),
                [],
                contact("P2", dt.datetime(2024, 2, 6)),
            ],
            "List 3": [["Referrals"], L3, referral("P1", dt.datetime(2024, 2, 7))],
        },
    )
    res, con = load(f, tmp_path)
    # each record reported at its own row of the sheet; the blank row is no record
    assert con.execute("SELECT contact_id FROM contacts ORDER BY 1").fetchall() == [("P1/6",), ("P2/8",)]
    assert accounted(res, "contacts", "a.xlsx, Contacts") == [2, 2, 0, 0]
    assert accounted(res, "referrals", "a.xlsx, List 3") == [1, 1, 0, 0]
    assert any("header is row 5; the 3 row(s) above it are titles" in n for n in res.notes)


def test_headers_as_councils_write_them(tmp_path):
    """Case, spaces, line breaks, brackets and punctuation, and common variants of a title, are the template's."""
    header = ["child id", "GENDER ", "Ethnicity", "DOB", "Age of Child\n(Years)", "Contact  Date", "Contact source:"]
    f = book(tmp_path / "a.xlsx", {"Sheet1": [header, contact("P1", dt.datetime(2024, 2, 5))]})
    res, con = load(f, tmp_path)
    assert con.execute("SELECT child_id, source FROM contacts").fetchall() == [("P1", "6")]
    assert con.execute("SELECT sex, date_of_birth FROM children").fetchall() == [("F", dt.date(2015, 1, 25))]


def test_a_list_whose_column_is_renamed_is_refused_with_what_was_expected(tmp_path):
    """Recognised by its other titles, not skipped: the load stops, naming workbook, sheet and the column."""
    header = L1[:5] + ["When contacted", "Contact Source"]
    f = book(
        tmp_path / "a.xlsx",
        {
            "List 1": [header, contact("P1", dt.datetime(2024, 2, 5))],
            "List 3": [L3, referral("P1", dt.datetime(2024, 2, 7))],
        },
    )
    with pytest.raises(
        LoadError,
        match=r"a.xlsx, sheet 'List 1': its header \(row 1\) is Annex A List 1's but has no "
        r"column 'Date of Contact'",
    ):
        read([("annex-a", str(f))])


def test_a_list_missing_a_column_stops_the_load(tmp_path):
    header = COMMON + ["Date of Referral", "Source of referral", "x", "y", "z", "w"]
    f = book(tmp_path / "a.xlsx", {"List 3": [header, referral("P1", dt.datetime(2024, 2, 7))]})
    with pytest.raises(
        LoadError,
        match=r"sheet 'List 3': its header \(row 1\) is Annex A List 3's but has no column "
        "'Referral Source'",
    ):
        read([("annex-a", str(f))])


def test_a_duplicated_column_is_refused(tmp_path):
    f = book(
        tmp_path / "a.xlsx",
        {"List 1": [L1 + ["Date of Contact "], contact("P1", dt.datetime(2024, 2, 5)) + [dt.datetime(2024, 3, 1)]]},
    )
    with pytest.raises(
        LoadError,
        match=r"a.xlsx, sheet 'List 1' \(List 1\): column 'Date of Contact' appears 2 times "
        r"\(cells F1, H1\); keep one",
    ):
        read([("annex-a", str(f))])


def test_a_second_copy_of_a_list_is_refused(tmp_path):
    rows = [L1, contact("P1", dt.datetime(2024, 2, 5))]
    f = book(tmp_path / "a.xlsx", {"List 1": rows, "List 1 (2)": rows}, hidden=["List 1 (2)"])
    with pytest.raises(LoadError, match=r"sheets 'List 1' and 'List 1 \(2\)' are both Annex A List 1; keep one"):
        read([("annex-a", str(f))])


def test_a_second_header_inside_a_list_is_refused(tmp_path):
    rows = [L1, contact("P1", dt.datetime(2024, 2, 5)), [], L1, contact("P2", dt.datetime(2024, 2, 6))]
    with pytest.raises(LoadError, match=r"sheet 'List 1' row 4: a second header row inside the list"):
        read([("annex-a", str(book(tmp_path / "a.xlsx", {"List 1": rows})))])


def test_a_header_of_two_lists_is_refused(tmp_path):
    header = COMMON + ["Date of Contact", "Date of Referral"]
    with pytest.raises(LoadError, match=r"row 1: a header with the columns of both Annex A List 1 and List 3"):
        read([("annex-a", str(book(tmp_path / "a.xlsx", {"Mixed": [header, ["P1"]]})))])


def test_a_workbook_without_a_list_read_says_what_it_has(tmp_path):
    notes = [[f"note {i}"] for i in range(30)]  # the header lies below the first 30 rows with values
    f = book(tmp_path / "a.xlsx", {"List 1": [*notes, L1, contact("P1", dt.datetime(2024, 2, 5))], "List 8": [L8]})
    with pytest.raises(
        LoadError,
        match=r"a.xlsx: holds none of the Annex A lists the workbook reads \(Lists 1, 3, 4, 5, 7, 9\); it has List 8 "
        r"\(sheet 'List 8'\); sheet\(s\) 'List 1' are no list \(a list's header is looked for in the first 30 rows",
    ):
        read([("annex-a", str(f))])


def test_an_empty_list_is_supplied_with_no_rows(tmp_path):
    """A list with its header and no rows means none in the period: zero, not 'not available'."""
    f = book(tmp_path / "a.xlsx", {"List 1": [L1], "List 3": [L3, referral("P1", dt.datetime(2024, 2, 7))]})
    res, con = load(f, tmp_path)
    assert accounted(res, "contacts", "a.xlsx, List 1") == [0, 0, 0, 0]
    missing = con.execute("SELECT table_name FROM meta.availability WHERE column_name IS NULL").fetchall()
    assert ("contacts",) not in missing and ("cp_plans",) in missing


def test_extra_columns_are_noted_and_ignored(tmp_path):
    f = book(tmp_path / "a.xlsx", {"List 1": [L1 + ["Team notes"], contact("P1", dt.datetime(2024, 2, 5)) + ["x"]]})
    res, con = load(f, tmp_path)
    assert con.execute("SELECT count(*) FROM contacts").fetchall() == [(1,)]
    assert any("column(s) Team notes are not in Ofsted's List 1; ignored" in n for n in res.notes)


# ---------------------------------------------------------------------------------------------
# Every row accounted for
# ---------------------------------------------------------------------------------------------


def test_rows_of_lists_not_loaded_and_of_other_sheets_are_accounted(tmp_path):
    f = book(
        tmp_path / "a.xlsx",
        {
            "List 1": [L1, contact("P1", dt.datetime(2024, 2, 5)), [], [None, " "], contact("P2", "not a date")],
            "List 8": [
                ["Children in care"],
                L8,
                ["P1", "b) Female", "a) WBRI", DOB, 9, dt.datetime(2020, 1, 1), "C2", "U4", "W"],
                [],
                ["P3", "a) Male", "a) WBRI", DOB, 9, dt.datetime(2021, 1, 1), "C2", "U4", "W"],
            ],
            "Lookups": [["Gender"], ["a) Male"], ["b) Female"]],
            "Hidden lookups": [["Codes"], ["x"]],
            "Empty": [],
        },
        hidden=["Hidden lookups"],
    )
    res, con = load(f, tmp_path)
    acc = res.accounting
    assert (acc.rows_read == acc.rows_loaded + acc.rows_rejected + acc.rows_merged).all()
    assert accounted(res, "contacts", "a.xlsx, List 1") == [2, 1, 1, 0]  # two records; blank rows are none
    assert accounted(res, "Annex A List 8", "a.xlsx, List 8") == [2, 0, 2, 0]
    assert accounted(res, "not an Annex A list", "a.xlsx, Lookups") == [3, 0, 3, 0]
    assert accounted(res, "not an Annex A list", "a.xlsx, Hidden lookups") == [2, 0, 2, 0]
    assert not acc.file.str.contains("Empty").any()
    rej = res.rejects.set_index(["file", "row"])
    assert rej.loc[("a.xlsx, List 8", 5), "value"] == "P3"
    assert rej.loc[("a.xlsx, List 8", 5), "reason"].startswith("List 8 holds each child's current placement")
    assert rej.loc[("a.xlsx, Lookups", 2), "value"] == "a) Male"
    assert "not recognised as an Annex A list" in rej.loc[("a.xlsx, Lookups", 2), "reason"]
    # a list set aside gives no children: P3, in List 8 only, is not one
    assert con.execute("SELECT child_id FROM children ORDER BY 1").fetchall() == [("P1",), ("P2",)]


ROW_OF = {  # a row of each kind of sheet, by the child
    "List 1": (L1, lambda c: contact(c, dt.datetime(2024, 2, 5))),
    "List 3": (L3, lambda c: referral(c, dt.datetime(2024, 2, 1))),
    "List 7": (L7, lambda c: plan(c, dt.datetime(2024, 2, 20))),
    "List 8": (L8, lambda c: [c, "a) Male", "a) WBRI", DOB, 9, dt.datetime(2020, 1, 1), "C2", "U4", "W"]),
    "Notes": (["Note", "By"], lambda c: [f"about {c}", "me"]),
}
FIRST_TABLE = {
    "List 1": "contacts",
    "List 3": "referrals",
    "List 7": "cp_plans",
    "List 8": "Annex A List 8",
    "Notes": "not an Annex A list",
}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sheets=st.lists(
        st.tuples(
            st.sampled_from(sorted(ROW_OF)),
            st.integers(0, 3),  # title rows above the header
            st.lists(st.sampled_from(["P1", "P2", "P3", None]), max_size=5),  # rows: a child, or a blank row
        ),
        min_size=1,
        max_size=5,
        unique_by=lambda s: s[0],
    )
)
def test_every_row_of_every_sheet_is_accounted(tmp_path_factory, sheets):
    """Whatever the sheets, each table's rows from a sheet are its rows with values (below the header of a
    list; every one of a sheet that is not a list): read = loaded + rejected + merged."""
    tmp = tmp_path_factory.mktemp("wb")
    content, expected = {}, {}
    for kind, titles, children in sheets:
        header, row = ROW_OF[kind]
        content[kind] = [[f"title {i}"] for i in range(titles)] + [header] + [row(c) if c else [] for c in children]
        n = sum(1 for c in children if c)
        expected[(FIRST_TABLE[kind], f"a.xlsx, {kind}")] = n + (titles + 1 if kind == "Notes" else 0)
    f = book(tmp / "a.xlsx", content)
    if not any(k in ("List 1", "List 3", "List 7") for k, _, _ in sheets):
        with pytest.raises(LoadError, match="holds none of the Annex A lists the workbook reads"):
            read([("annex-a", str(f))])
        return
    if not any(expected.values()):  # no row in any sheet: refused (A89)
        with pytest.raises(LoadError, match="^nothing to load: every file holds no rows$"):
            load(f, tmp, accept_losses=True)
        return
    res, _ = load(f, tmp, accept_losses=True)  # the accounting, whatever is lost
    acc = res.accounting
    assert (acc.rows_read == acc.rows_loaded + acc.rows_rejected + acc.rows_merged).all()
    got = acc.groupby(["table_name", "file"]).rows_read.sum()
    for key, n in expected.items():
        assert got.get(key, 0) == n, key
    assert len(res.rejects) >= acc.rows_rejected.sum()  # each rejected row listed (a row may have two reasons)


# ---------------------------------------------------------------------------------------------
# Values as councils write them
# ---------------------------------------------------------------------------------------------


def test_dates_as_councils_write_them(tmp_path):
    rows = [
        plan("P1", "05/02/2024", end="N/A"),  # text, day first
        plan("P2", "5-Feb-2024", end="-"),
        plan("P3", "2024-02-05 00:00:00", end="#N/A"),
        plan("P4", 45327, end=" "),  # Excel's serial number of 5 February 2024, in a cell not shown as a date
        plan("P5", "05/02/24", end="20/02/24"),  # a two-digit year as Excel reads it
        plan("P6", "31/02/2024"),  # no such day: as written, so rejected
        plan("P7", "5th February 2024", end=dt.datetime(2024, 2, 27, 0, 0)),
    ]
    f = book(tmp_path / "a.xlsx", {"List 7": [L7, *rows]})
    res, con = load(f, tmp_path)
    got = con.execute("SELECT child_id, start_date, end_date FROM cp_plans ORDER BY 1").fetchall()
    feb5 = dt.date(2024, 2, 5)
    assert got == [
        ("P1", feb5, None),
        ("P2", feb5, None),
        ("P3", feb5, None),
        ("P4", feb5, None),
        ("P5", feb5, dt.date(2024, 2, 20)),
        ("P7", feb5, dt.date(2024, 2, 27)),
    ]
    bad = res.rejects[res.rejects.table_name == "cp_plans"]
    assert bad[["row", "column_name", "value"]].values.tolist() == [
        [7, "Child Protection Plan Start Date", "31/02/2024"]
    ]
    assert bad.reason.iloc[0].startswith("expected a date")


def test_a_contact_keeps_its_time(tmp_path):
    rows = [contact("P1", dt.datetime(2024, 2, 5, 14, 30)), contact("P2", "06/02/2024 09:15")]
    res, con = load(book(tmp_path / "a.xlsx", {"List 1": [L1, *rows]}), tmp_path)
    assert con.execute("SELECT contact_at FROM contacts ORDER BY 1").fetchall() == [
        (dt.datetime(2024, 2, 5, 14, 30),),
        (dt.datetime(2024, 2, 6, 9, 15),),
    ]


def test_a_workbook_dated_from_1904(tmp_path):
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    f = book(tmp_path / "a.xlsx", {"List 1": [L1, contact("P1", dt.datetime(2024, 2, 5))]}, epoch=CALENDAR_MAC_1904)
    res, con = load(f, tmp_path)
    assert con.execute("SELECT CAST(contact_at AS DATE) FROM contacts").fetchall() == [(dt.date(2024, 2, 5),)]


def test_a_serial_number_in_a_1904_workbook_counts_from_1904(tmp_path):
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    # 43865 days from 1 January 1904 is 5 February 2024 (from 1900 it would be 4 February 2020); in a cell not shown
    # as a date, as a number or as text
    rows = [plan("P1", 43865, end="43866"), plan("P2", "05/02/2024")]
    res, con = load(book(tmp_path / "a.xlsx", {"List 7": [L7, *rows]}, epoch=CALENDAR_MAC_1904), tmp_path)
    got = con.execute("SELECT child_id, start_date, end_date FROM cp_plans ORDER BY 1").fetchall()
    assert got == [("P1", dt.date(2024, 2, 5), dt.date(2024, 2, 6)), ("P2", dt.date(2024, 2, 5), None)]


def test_codes_in_other_styles(tmp_path):
    rows = [
        contact("P1", dt.datetime(2024, 2, 5), "6 - Police", gender="1 - Male", ethnicity="WBRI - White British"),
        contact("P2", dt.datetime(2024, 2, 5), "Police", gender="M", ethnicity="White British"),
        contact("P3", dt.datetime(2024, 2, 5), "e) 2A: Schools", gender="2", ethnicity="White - Irish [WIRI]"),
        contact("P4", dt.datetime(2024, 2, 5), "1B", gender="c) Not stated/recorded (or unborn)", ethnicity="APKN"),
        contact("P5", dt.datetime(2024, 2, 5), "Dog warden", gender="Female", ethnicity="Martian"),
    ]
    res, con = load(book(tmp_path / "a.xlsx", {"List 1": [L1, *rows]}), tmp_path)
    assert con.execute("SELECT child_id, sex, ethnicity FROM children ORDER BY 1").fetchall() == [
        ("P1", "M", "WBRI"),
        ("P2", "M", "WBRI"),
        ("P3", "F", "WIRI"),
        ("P4", "U", "APKN"),
    ]
    assert con.execute("SELECT child_id, source FROM contacts ORDER BY 1").fetchall() == [
        ("P1", "6"),
        ("P2", "6"),
        ("P3", "2A"),
        ("P4", "1B"),
    ]
    # what cannot be translated is passed on as written, and rejected with what was expected
    bad = res.rejects[res.rejects.row == 6].set_index("column_name")
    assert bad.loc["Ethnicity", "value"] == "Martian" and bad.loc["Ethnicity", "reason"].startswith("expected one of")
    assert bad.loc["Contact Source", "value"] == "Dog warden"


def test_care_leavers_in_annex_a_names(tmp_path):
    header = COMMON + [
        "Eligibility Category",
        "LA in Touch",
        "Latest Date of Contact",
        "Type of Accommodation",
        "Suitability of Accommodation",
        "Activity Status",
    ]
    young = ["b) Female", "a) WBRI", dt.datetime(2005, 1, 1), 19]
    rows = [
        [
            "Y1",
            *young,
            "b) Former relevant",
            "a) In touch",
            dt.datetime(2024, 1, 10),
            "a) With parents or relatives",
            "a) Suitable",
            "F1: Full time in higher education",
        ],
        [
            "Y2",
            *young,
            "a) Relevant",
            "b) Not in touch",
            dt.datetime(2024, 1, 11),
            "g) Ordinary lodgings",
            "c) Not in touch or not recorded",
            "G5",
        ],
    ]
    res, con = load(book(tmp_path / "a.xlsx", {"List 9": [header, *rows]}), tmp_path)
    assert con.execute("SELECT child_id, status FROM care_leavers ORDER BY 1").fetchall() == [
        ("Y1", "FORMER"),
        ("Y2", "RELEVANT"),
    ]
    got = con.execute(
        "SELECT child_id, in_touch, accommodation, suitable, activity FROM care_leaver_contacts ORDER BY 1"
    ).fetchall()
    assert got == [("Y1", "YES", "B", True, "F1"), ("Y2", "NO", "K", None, "G5")]


def test_merged_cells_read_as_the_sheet_shows_them(tmp_path):
    rows = [
        ["List 1: contacts"],
        L1,
        contact("P1", dt.datetime(2024, 2, 5)),
        [None, None, None, None, None, dt.datetime(2024, 2, 6), "q) 6: Police"],
        [None, None, None, None, None, dt.datetime(2024, 2, 7), "q) 6: Police"],
    ]
    merged = [("List 1", "A1:G1")] + [("List 1", f"{c}3:{c}5") for c in "ABCDE"]
    res, con = load(book(tmp_path / "a.xlsx", {"List 1": rows}, merged=merged), tmp_path)
    assert con.execute("SELECT contact_id, child_id FROM contacts ORDER BY 1").fetchall() == [
        ("P1/3", "P1"),
        ("P1/4", "P1"),
        ("P1/5", "P1"),
    ]
    assert any("5 merged cell range(s) in its rows" in n for n in res.notes)


def test_formulas(tmp_path):
    """A formula's value as Excel saved it is read; one saved without its value stops the load where the column
    is read, and does not matter where it is not."""
    rows = [L1 + ["Check"], contact("P1", "=DATE(2024,2,5)") + ["=A2"]]
    f = calculated(book(tmp_path / "a.xlsx", {"List 1": rows}), 1, {"F2": "45327"})
    res, con = load(f, tmp_path)
    assert con.execute("SELECT CAST(contact_at AS DATE) FROM contacts").fetchall() == [(dt.date(2024, 2, 5),)]
    f = book(tmp_path / "b.xlsx", {"List 1": rows})
    with pytest.raises(
        LoadError,
        match=r"b.xlsx, sheet 'List 1' cell F2 \(Date of Contact\): a formula "
        r"\(=DATE\(2024,2,5\)\) saved without its value",
    ):
        read([("annex-a", str(f))])


def test_excel_errors_set_a_row_aside(tmp_path):
    rows = [L1, contact("#REF!", dt.datetime(2024, 2, 5)), contact("P2", "#VALUE!"), contact("P3", "#N/A")]
    res, con = load(book(tmp_path / "a.xlsx", {"List 1": rows}), tmp_path, accept_losses=True)  # every row: on purpose
    rej = res.rejects[res.rejects.table_name == "contacts"].set_index("row")
    assert rej.loc[2, ["column_name", "value"]].tolist() == [CID, "#REF!"]
    assert rej.loc[2, "reason"] == "Excel's error #REF! in place of a value (a formula that failed)"
    assert rej.loc[3, ["column_name", "value"]].tolist() == ["Date of Contact", "#VALUE!"]
    assert rej.loc[4, "reason"] == "required value is missing"  # #N/A: nothing there
    assert accounted(res, "contacts", "a.xlsx, List 1") == [3, 0, 3, 0]


def test_a_hidden_list_is_read_and_said(tmp_path):
    f = book(
        tmp_path / "a.xlsx", {"Front": [["Annex A"]], "L1": [L1, contact("P1", dt.datetime(2024, 2, 5))]}, hidden=["L1"]
    )
    res, con = load(f, tmp_path)
    assert con.execute("SELECT count(*) FROM contacts").fetchall() == [(1,)]
    assert any("sheet 'L1' (hidden)" in n for n in res.notes)


# ---------------------------------------------------------------------------------------------
# Large workbooks
# ---------------------------------------------------------------------------------------------


def test_progress_on_stderr_while_a_sheet_is_read(tmp_path, capsys):
    rows = [L1] + [contact(f"P{i}", dt.datetime(2024, 2, 5)) for i in range(2100)]
    f = book(tmp_path / "a.xlsx", {"List 1": rows})
    ext = read_annex_a(f, progress_every=0)  # a line at each check, rather than every few seconds
    assert ext.parts["contacts"][0].data.num_rows == 2100
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "a.xlsx, sheet 'List 1': 1,024 rows read",
        "a.xlsx, sheet 'List 1': 2,048 rows read",
        "a.xlsx, sheet 'List 1': 2,100 rows read (all)",
    ]
    read_annex_a(f)  # every few seconds: a small workbook is read before the first
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------------------------------------
# Files that are not workbooks
# ---------------------------------------------------------------------------------------------


def ole(*streams: str) -> bytes:
    """The start of an OLE2 compound file naming its streams, as an .xls or an encrypted xlsx does."""
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + b"".join(s.encode("utf-16-le") for s in streams)


def zipped(names: dict[str, str]) -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, text in names.items():
            z.writestr(n, text)
    return buf.getvalue()


NOT_WORKBOOKS = {
    "empty": (b"", "an empty file"),
    "csv": (b"Child Unique ID,Gender\nP1,F\n", "a text file \\(a CSV named .xlsx\\?\\)"),
    "html": (b"<html><table><tr><td>P1</td></tr></table></html>", "an HTML or XML file"),
    "xls": (
        ole("Root Entry", "Workbook"),
        r"an Excel 97-2003 workbook \(.xls\): open it in Excel and save it as .xlsx",
    ),
    "encrypted": (ole("Root Entry", "EncryptionInfo", "EncryptedPackage"), "a password-protected \\(encrypted\\)"),
    "zip": (zipped({"notes.txt": "hello"}), "a zip archive, not an xlsx workbook"),
    "xlsb": (zipped({"xl/workbook.bin": "x"}), r"an Excel binary workbook \(.xlsb\)"),
    "ods": (
        zipped({"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "content.xml": "<x/>"}),
        "an OpenDocument file",
    ),
    "binary": (b"\x00\x01\x02\xff\xfe", "not an xlsx workbook, nor a kind of file the reader knows"),
}


@pytest.mark.parametrize("kind", sorted(NOT_WORKBOOKS))
def test_a_file_that_is_not_a_workbook_is_refused_clearly(tmp_path, capsys, kind):
    data, message = NOT_WORKBOOKS[kind]
    f = tmp_path / "annex.xlsx"
    f.write_bytes(data)
    with pytest.raises(LoadError, match=f"annex.xlsx: {message}"):
        read([("annex-a", str(f))])
    code = main(
        ["load", "--format", "annex-a", str(f), "--store", str(tmp_path / "w.duckdb"), "--extract-date", "2024-03-01"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "annex.xlsx" in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_a_damaged_workbook_is_refused_clearly(tmp_path):
    good = book(tmp_path / "good.xlsx", {"List 1": [L1, contact("P1", dt.datetime(2024, 2, 5))]})
    data = good.read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(data[: len(data) // 2])
    with pytest.raises(LoadError, match="cut.xlsx: a damaged xlsx workbook: not a complete zip file"):
        read([("annex-a", str(tmp_path / "cut.xlsx"))])
    with zipfile.ZipFile(good) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"][:-40]  # the sheet's XML cut short
    with zipfile.ZipFile(tmp_path / "bad.xlsx", "w") as z:
        for n, d in parts.items():
            z.writestr(n, d)
    with pytest.raises(LoadError, match=r"bad.xlsx, sheet 'List 1': damaged \(XMLSyntaxError"):
        read([("annex-a", str(tmp_path / "bad.xlsx"))])
    del parts["xl/worksheets/sheet1.xml"]
    with zipfile.ZipFile(tmp_path / "part.xlsx", "w") as z:
        for n, d in parts.items():
            z.writestr(n, d)
    with pytest.raises(LoadError, match="part.xlsx: a damaged xlsx workbook: sheet 'List 1' has no xl/worksheets/"):
        read([("annex-a", str(tmp_path / "part.xlsx"))])
    with pytest.raises(LoadError, match=r"a directory; give the workbook \(.xlsx\) itself"):
        read([("annex-a", str(tmp_path))])
    with pytest.raises(LoadError, match="no such file"):
        read([("annex-a", str(tmp_path / "none.xlsx"))])


def test_any_name_will_do(tmp_path):
    """A workbook is read by what it holds, not its name (Excel's templates, a name without .xlsx)."""
    f = book(tmp_path / "a.xlsx", {"List 1": [L1, contact("P1", dt.datetime(2024, 2, 5))]})
    f = f.rename(tmp_path / "annex A return")
    assert read_annex_a(f).parts["contacts"][0].data.num_rows == 1


def test_a_child_in_two_lists_is_merged_and_accounted_with_its_differences(tmp_path):
    """C1 in List 1 and List 3, born on another day in List 3; C2 in both, alike; C3 in List 3 only: the children
    table reads 5 rows (one a list row with a child), loads 3 and merges 2, each merged row listed, C1's naming its
    different date of birth."""
    later = referral("C1", dt.datetime(2024, 1, 7))
    later[3] = dt.datetime(2016, 2, 2)  # Date of Birth
    f = book(
        tmp_path / "a.xlsx",
        {
            "List 1": [L1, contact("C1", dt.datetime(2024, 1, 5)), contact("C2", dt.datetime(2024, 1, 6))],
            "List 3": [L3, later, referral("C2", dt.datetime(2024, 1, 8)), referral("C3", dt.datetime(2024, 1, 9))],
        },
    )
    res, con = load(f, tmp_path)
    assert accounted(res, "children", "a.xlsx, List 1") == [2, 2, 0, 0]
    assert accounted(res, "children", "a.xlsx, List 3") == [3, 1, 0, 2]
    merged = res.rejects[res.rejects.table_name == "children"].set_index("row")["reason"]
    assert merged[2] == (
        "same child_id as a.xlsx, List 1 row 2 (an earlier list): merged into it, its values kept and its gaps filled; "
        "date_of_birth 2016-02-02 here, 2015-01-25 in a.xlsx, List 1 row 2: the earlier source's values kept"
    )
    assert merged[3].endswith("its gaps filled")
    assert "(1 with values differing from the row kept)" in res.summary()
    assert con.execute("SELECT date_of_birth FROM children WHERE child_id = 'C1'").fetchall() == [
        (dt.date(2015, 1, 25),)
    ]


def test_what_annex_a_carries_of_the_new_records_is_said_not_loaded(tmp_path):
    """Annex A gives a plan's latest review date, List 8's counts of missing episodes and whether a child was seen
    during an assessment: none of them the records the model holds (reviews due and held, missing episodes, seen
    alone). The availability record says why for each, so their measures are not available rather than 0."""
    from kpi.engine import Context

    l4 = COMMON + ["Continuous Assessment Start Date", "Continuous Assessment Date of Authorisation"]
    l4 += ["Child Seen During Continuous Assessment"]
    a = ["P1", "b) Female", "a) WBRI", DOB, 9, dt.datetime(2024, 2, 8), dt.datetime(2024, 2, 20), "a) Yes"]
    f = book(tmp_path / "a.xlsx", {"List 3": [L3, referral("P1", dt.datetime(2024, 2, 7))], "List 4": [l4, a]})
    res, con = load(f, tmp_path)
    assert con.execute("SELECT count(*), count(seen_alone) FROM assessments").fetchall() == [(1, 0)]
    avail = con.execute("SELECT table_name, column_name, reason FROM meta.availability").fetchall()
    why = {(t, c): r for t, c, r in avail}
    assert why[("reviews", None)].startswith("Annex A gives each plan's latest review date only")
    assert why[("missing_episodes", None)].startswith("List 8 counts each child's missing and absent episodes")
    assert why[("core_groups", None)] == "Annex A does not list core group meetings"
    assert why[("school_moves", None)] == "Annex A does not list changes of school"
    ctx = Context(con=None, snapshot={}, missing=why)
    from test_optional_columns import MEASURES

    assert ctx.unavailable(MEASURES["SEEN"]) == (
        "assessments.seen_alone: List 4 records whether the child was seen during the assessment, not seen alone"
    )
