"""The load as a whole on bad inputs: what stops it (and changes nothing), what a rejected row takes with it, and
what each type of the data model accepts. Each answer is worked out by hand from the few rows written."""

import datetime as dt

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import minimal_extract, write_csv

from kpi import model
from kpi.errors import LoadError
from kpi.load import load, load_sources
from kpi.readers.standard import read as read_standard
from kpi.store import connect, snapshots

CHILD = model.table("children").column_names
EXTRACT = "2024-06-01"


def kids(directory, *rows):
    """children rows (child_id, sex, date_of_birth), the rest filled in: family F1, WBRI, no disability, locality N."""
    write_csv(directory, "children", [[k, "F1", born, sex, "WBRI", "N", "N"] for k, sex, born in rows], header=CHILD)


def referrals(directory, *rows):
    """referrals rows (referral_id, child_id, referral_date), police, abuse or neglect, team N-A, locality N."""
    header = model.table("referrals").column_names
    body = [[r, k, "", d, "6", "N1", "N", "N-A", "N", "", ""] for r, k, d in rows]
    write_csv(directory, "referrals", body, header=header)


def assessments(directory, *rows):
    """assessments rows (assessment_id, child_id, referral_id, start_date), initial, team N-A, not authorised."""
    header = model.table("assessments").column_names
    write_csv(
        directory, "assessments", [[a, k, r, "INITIAL", d, "", "", "N-A", ""] for a, k, r, d in rows], header=header
    )


def population(directory, *rows):
    write_csv(directory, "population", [list(r) for r in rows], header=["year", "locality_id", "age", "sex", "count"])


def store_unchanged(store) -> bool:
    """No snapshot was made and no schema left behind."""
    if not store.exists():
        return True
    with duckdb.connect(str(store), read_only=True) as con:
        schemas = {r[0] for r in con.execute("SELECT schema_name FROM information_schema.schemata").fetchall()}
    return snapshots(store).empty and not any(s.startswith("snap_") for s in schemas)


def test_a_header_only_parent_file_stops_the_load_and_names_it(tmp_path):
    d = minimal_extract(tmp_path / "in")
    write_csv(d, "children", [], header=CHILD)
    with pytest.raises(LoadError) as e:
        load(d, tmp_path / "w.duckdb", extract_date=EXTRACT)
    first = str(e.value).splitlines()[0]
    assert first.startswith("children.csv has no rows, yet 3 row(s) of referrals.csv refer to it (child_id)")
    assert "--accept-losses" in str(e.value)
    assert store_unchanged(tmp_path / "w.duckdb")


def test_an_empty_parent_stops_the_load_even_if_few_rows_refer_to_it(tmp_path):
    """Two of the three referrals came from no contact: one row refers to the empty contacts file."""
    d = minimal_extract(tmp_path / "in")
    header = model.table("contacts").column_names
    write_csv(d, "contacts", [], header=header)
    rows = (d / "referrals.csv").read_text().splitlines()
    rows[1] = rows[1].replace("R1,K1,,", "R1,K1,C1,")
    (d / "referrals.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(LoadError, match=r"^contacts.csv has no rows, yet 1 row\(s\) of referrals.csv refer to it"):
        load(d, tmp_path / "w.duckdb", extract_date=EXTRACT)
    assert store_unchanged(tmp_path / "w.duckdb")


def test_a_cascade_that_takes_most_of_a_table_stops_the_load_and_names_the_row_that_started_it(tmp_path):
    """One child of three is rejected (sex X), but three of the four referrals are hers."""
    d = minimal_extract(tmp_path / "in")
    kids(d, ("K1", "X", "2015-03-01"), ("K2", "F", "2018-07-15"), ("K3", "F", "2010-12-31"))
    referrals(
        d,
        ("R1", "K1", "2024-01-10"),
        ("R2", "K1", "2024-02-10"),
        ("R3", "K1", "2024-03-10"),
        ("R4", "K2", "2024-01-05"),
    )
    with pytest.raises(LoadError) as e:
        load(d, tmp_path / "w.duckdb", extract_date=EXTRACT)
    lines = str(e.value).splitlines()
    assert lines[0] == "referrals.csv: 3 of 4 rows rejected, more than half"
    assert lines[1] == (
        "  3 row(s): child_id: fell with 1 rejected row(s) of children, e.g. children.csv row 2, column sex: 'X': "
        "expected one of the sex codes (M, F, U)"
    )
    assert store_unchanged(tmp_path / "w.duckdb")


def test_more_than_half_of_a_file_rejected_stops_the_load_with_its_reasons(tmp_path):
    """Dates in a layout the checks do not read: every child is rejected, the most common reasons are given."""
    d = minimal_extract(tmp_path / "in")
    kids(d, ("K1", "M", "2015.03.01"), ("K2", "F", "2018.07.15"), ("K3", "F", "31-12-2010"))
    with pytest.raises(LoadError) as e:
        load(d, tmp_path / "w.duckdb", extract_date=EXTRACT)
    lines = str(e.value).splitlines()
    assert lines[0] == "children.csv: 3 of 3 rows rejected, more than half"
    assert lines[1].startswith("  3 row(s): date_of_birth: expected a date YYYY-MM-DD or DD/MM/YYYY")
    assert lines[1].endswith("e.g. row 2 '2015.03.01'")
    assert store_unchanged(tmp_path / "w.duckdb")


def test_ids_that_lost_their_leading_zeros_stop_the_load_showing_both_shapes(tmp_path):
    """children.csv holds 007, 008, 009; a referrals file written from a spreadsheet holds them as numbers."""
    d = minimal_extract(tmp_path / "in")
    kids(d, ("007", "M", "2015-03-01"), ("008", "F", "2018-07-15"), ("009", "F", "2010-12-31"))
    (d / "referrals.csv").unlink()
    header = model.table("referrals").column_names
    cols = {c: pa.array(["R1", "R2", "R3"]) for c in header}
    cols |= {"child_id": pa.array([7, 8, 9]), "contact_id": pa.nulls(3, pa.string())}
    cols |= {"referral_date": pa.array(["2024-01-10"] * 3), "source": pa.array(["6"] * 3)}
    cols |= {"primary_need": pa.array(["N1"] * 3), "homeless": pa.array(["N"] * 3), "team_id": pa.array(["N-A"] * 3)}
    cols |= {"locality_id": pa.array(["N"] * 3), "closure_date": pa.nulls(3, pa.string())}
    cols |= {"closure_reason": pa.nulls(3, pa.string())}
    pq.write_table(pa.table(cols), d / "referrals.parquet")
    with pytest.raises(LoadError) as e:
        load(d, tmp_path / "w.duckdb", extract_date=EXTRACT)
    lines = str(e.value).splitlines()
    assert lines[0] == "referrals.parquet: 3 of 3 rows rejected, more than half"
    assert lines[1] == (
        "  3 row(s): child_id (stored as numbers): expected a child_id loaded in children, e.g. row 1 '7' "
        "(children holds e.g. '007', '008', '009')"
    )


def test_accept_losses_loads_the_rows_that_pass_and_notes_what_was_lost(tmp_path):
    d = minimal_extract(tmp_path / "in")
    kids(d, ("K1", "X", "2015-03-01"), ("K2", "F", "2018-07-15"), ("K3", "F", "2010-12-31"))
    referrals(
        d,
        ("R1", "K1", "2024-01-10"),
        ("R2", "K1", "2024-02-10"),
        ("R3", "K1", "2024-03-10"),
        ("R4", "K2", "2024-01-05"),
    )
    res = load(d, tmp_path / "w.duckdb", extract_date=EXTRACT, accept_losses=True)
    acc = res.accounting.set_index("table_name")
    assert acc.loc["referrals", ["rows_read", "rows_loaded", "rows_rejected"]].tolist() == [4, 1, 3]
    assert any(n.startswith("loaded with --accept-losses: referrals.csv: 3 of 4 rows rejected") for n in res.notes)
    assert not any("the load stops" in n for n in res.notes)


def test_a_file_of_mostly_malformed_lines_stops_the_load(tmp_path):
    """Two of the three children have a field too many (a comma in a name, unquoted)."""
    d = minimal_extract(tmp_path / "in")
    lines = (d / "children.csv").read_text().splitlines()
    lines[1:3] = [line.replace("F1,", "F1,Smith,") for line in lines[1:3]]
    (d / "children.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(LoadError) as e:
        load(d, tmp_path / "w.duckdb", extract_date=EXTRACT)
    assert str(e.value).splitlines()[:2] == [
        "children.csv: 2 of 3 rows rejected, more than half",
        "  2 row(s): malformed line: has 8 fields, expected 7, e.g. row 2",
    ]


def test_half_a_file_rejected_is_not_more_than_half(tmp_path):
    d = minimal_extract(tmp_path / "in")
    kids(d, ("K1", "M", "2015-03-01"), ("K2", "F", "2018-07-15"), ("K3", "Q", "2010-12-31"), ("K4", "Q", "2010-12-31"))
    referrals(d, ("R1", "K1", "2024-01-10"), ("R2", "K2", "2024-02-10"))
    res = load(d, tmp_path / "w.duckdb", extract_date=EXTRACT)
    assert res.accounting.set_index("table_name").loc["children", "rows_rejected"] == 2


def test_a_rejected_parent_is_named_in_each_row_that_fell_with_it_and_once_in_the_summary(tmp_path):
    """K1 is rejected (sex X): her two referrals fall with her, and the assessment of R1 falls with both (its child
    and its referral). K3's referral refers to a child never given (K9): that referral is a root of its own, and
    its assessment falls with it."""
    d = minimal_extract(tmp_path / "in")
    kids(d, ("K1", "X", "2015-03-01"), ("K2", "F", "2018-07-15"), ("K3", "F", "2010-12-31"), ("K4", "M", "2012-01-01"))
    referrals(
        d,
        ("R1", "K1", "2024-01-10"),
        ("R2", "K1", "2024-02-10"),
        ("R3", "K2", "2024-02-20"),
        ("R4", "K9", "2024-03-01"),
        ("R5", "K3", "2024-03-02"),
        ("R6", "K4", "2024-03-02"),
    )
    assessments(
        d,
        ("A1", "K1", "R1", "2024-01-11"),
        ("A2", "K2", "R3", "2024-02-21"),
        ("A3", "K3", "R4", "2024-03-02"),
        ("A4", "K3", "R5", "2024-03-03"),
        ("A5", "K4", "R6", "2024-03-03"),
    )
    res = load(d, tmp_path / "w.duckdb", extract_date=EXTRACT)
    sex = "children.csv row 2, column sex: 'X': expected one of the sex codes (M, F, U)"
    k9 = "referrals.csv row 5, column child_id: 'K9': expected a child_id loaded in children"
    got = res.rejects[["table_name", "row", "column_name", "reason", "root_file", "root_row"]].values.tolist()
    assert got == [
        ["children", 2, "sex", "expected one of the sex codes (M, F, U)", None, None],
        ["referrals", 2, "child_id", f"child K1 was rejected: {sex}", "children.csv", 2],
        ["referrals", 3, "child_id", f"child K1 was rejected: {sex}", "children.csv", 2],
        ["referrals", 5, "child_id", "expected a child_id loaded in children", None, None],
        ["assessments", 2, "child_id", f"child K1 was rejected: {sex}", "children.csv", 2],
        ["assessments", 2, "referral_id", f"referral R1 fell with child K1, rejected: {sex}", "children.csv", 2],
        ["assessments", 4, "referral_id", f"referral R4 was rejected: {k9}", "referrals.csv", 5],
    ]
    acc = res.accounting.set_index("table_name")
    assert acc.loc[["children", "referrals", "assessments"], "rows_rejected"].tolist() == [1, 3, 2]
    summary = res.summary().splitlines()
    at = summary.index(f"  {sex}")
    assert summary[at + 1] == "    3 row(s) of referrals, assessments fell with it"
    assert summary[at + 2] == f"  {k9}"
    assert summary[at + 3] == "    1 row(s) of assessments fell with it"
    assert "6 rejected row(s), listed in" in summary[at - 1] and "4 of them fell with a rejected row" in summary[at - 1]


def test_a_row_that_fell_names_the_root_even_when_the_parent_was_a_duplicate(tmp_path):
    """K1 is given twice, both bad (the second a duplicate of the first): her referral names the first row."""
    d = minimal_extract(tmp_path / "in")
    kids(d, ("K1", "X", "2015-03-01"), ("K2", "F", "2018-07-15"), ("K3", "F", "2010-12-31"), ("K1", "M", "2015-03-01"))
    res = load(d, tmp_path / "w.duckdb", extract_date=EXTRACT)
    r = res.rejects[res.rejects.table_name == "referrals"].iloc[0]
    assert (
        r.reason
        == "child K1 was rejected: children.csv row 2, column sex: 'X': expected one of the sex codes (M, F, U)"
    )


def test_a_population_given_by_two_sources_is_counted_once(tmp_path):
    """The same population in two extracts merges (a CP rate would otherwise be halved); a cell only the second
    gives is loaded."""
    first = minimal_extract(tmp_path / "a")
    population(first, (2024, "N", 5, "M", 6000), (2024, "S", 12, "F", 4000))
    second = tmp_path / "b"
    population(second, (2024, "N", 5, "M", 6000), (2024, "S", 12, "F", "4000"), (2024, "S", 13, "F", 300))
    res = load_sources([read_standard(first), read_standard(second)], tmp_path / "w.duckdb", extract_date=EXTRACT)
    acc = res.accounting.set_index(["table_name", "file"]).loc[("population", "population.csv")]
    assert acc[["rows_read", "rows_loaded", "rows_merged"]].values.tolist() == [[2, 2, 0], [3, 1, 2]]
    merged = res.rejects[res.rejects.table_name == "population"]
    assert merged[["row", "column_name", "value"]].values.tolist() == [
        [2, "year, locality_id, age, sex", "2024, N, 5, M"],
        [3, "year, locality_id, age, sex", "2024, S, 12, F"],
    ]
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT sum(count), count(*) FROM population").fetchall() == [(10300, 3)]


def test_a_population_cell_given_twice_in_one_file_is_rejected(tmp_path):
    """Read as the same cell: 05 is 5, and the year and the sex with spaces around."""
    d = minimal_extract(tmp_path / "in")
    population(
        d, (2024, "N", 5, "M", 6000), (2024, "S", 5, "M", 10), (" 2024", "N", "05", "M ", 6000), (2024, "N", 6, "M", 1)
    )
    res = load(d, tmp_path / "w.duckdb", extract_date=EXTRACT)
    r = res.rejects.iloc[0]
    assert (r.table_name, r.row, r.column_name, r.value) == (
        "population",
        4,
        "year, locality_id, age, sex",
        "2024, N, 05, M",
    )
    assert r.reason == "duplicate year, locality_id, age, sex, first at row 2"
    assert len(res.rejects) == 1
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT sum(count) FROM population").fetchall() == [(6011,)]


WHOLE = ["5.5", "0x1F", "1e2", "1_000", "1,000", "0X10", "five", "5 5", "9223372036854775808", "--5", "5-"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_whole_number_is_digits_and_nothing_a_cast_would_round_or_reinterpret(tmp_path, fmt):
    """Each bad count is rejected, written as the file has it; 5.0, +7, 007 and -0 are whole numbers."""
    d = minimal_extract(tmp_path / "in")
    good = ["5.0", "+7", "007", "-0", "12"]
    rows = [(2024, "N", age, "M", v) for age, v in enumerate(WHOLE + good)]
    if fmt == "csv":
        population(d, *rows)
    else:
        names = ["year", "locality_id", "age", "sex", "count"]
        pq.write_table(
            pa.table({n: pa.array([str(r[i]) for r in rows]) for i, n in enumerate(names)}), d / "population.parquet"
        )
    res = load(d, tmp_path / "w.duckdb", extract_date=EXTRACT, accept_losses=True)
    first = 2 if fmt == "csv" else 1
    got = res.rejects[["row", "column_name", "value", "reason"]].values.tolist()
    assert got == [[first + i, "count", v, "expected a whole number"] for i, v in enumerate(WHOLE)]
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT count FROM population ORDER BY age").fetchall() == [(5,), (7,), (7,), (0,), (12,)]


NOT_NUMBERS = ["inf", "nan", "-inf", "Infinity", "1_0", "0x10", "1,5", "1e400", "1.2.3", "e5", "."]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_number_is_decimal_with_an_optional_exponent(tmp_path, fmt):
    d = minimal_extract(tmp_path / "in")
    good = ["0.5", ".25", "1.", "1e-1", "+0.75", "2.5E-1"]
    header = model.table("staff").column_names
    rows = [[f"W{i:02}", "SW", "N-A", "PERM", v, "N", "", "2020-01-01", ""] for i, v in enumerate(NOT_NUMBERS + good)]
    if fmt == "csv":
        write_csv(d, "staff", rows, header=header)
    else:
        pq.write_table(pa.table({n: pa.array([r[i] for r in rows]) for i, n in enumerate(header)}), d / "staff.parquet")
    res = load(d, tmp_path / "w.duckdb", extract_date=EXTRACT, accept_losses=True)
    first = 2 if fmt == "csv" else 1
    got = res.rejects[["row", "column_name", "value", "reason"]].values.tolist()
    assert got == [[first + i, "fte", v, "expected a number"] for i, v in enumerate(NOT_NUMBERS)]
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT fte FROM staff ORDER BY staff_id").fetchall() == [
        (0.5,),
        (0.25,),
        (1.0,),
        (0.1,),
        (0.75,),
        (0.25,),
    ]


NOT_DATES = ["-infinity", "infinity", "epoch", "2015/03/01", "2015-3-1", "01/03/15", "2015-03-01 (BC)", "20150301"]


def test_a_date_is_one_of_the_documented_layouts_and_nothing_else_a_cast_takes(tmp_path):
    d = minimal_extract(tmp_path / "in")
    rows = [(f"K{i:02}", "M", v) for i, v in enumerate(NOT_DATES)]
    kids(d, *rows, ("K1", "M", "2015-03-01"), ("K2", "F", "1/3/2015"), ("K3", "F", "01/03/2015"))
    res = load(d, tmp_path / "w.duckdb", extract_date=EXTRACT, accept_losses=True)
    got = res.rejects.loc[res.rejects.table_name == "children", ["row", "value"]].values.tolist()
    assert got == [[2 + i, v] for i, v in enumerate(NOT_DATES)]
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT DISTINCT date_of_birth FROM children").fetchall() == [(dt.date(2015, 3, 1),)]


MIDNIGHT = ["2015-03-01 00:00", "2015-03-01 00:00:00", "2015-03-01T00:00:00", "2015-03-01 00:00:00.000"]
MIDNIGHT_UK = ["01/03/2015 00:00", "01/03/2015 00:00:00", "1/3/2015 00:00"]


def test_a_date_written_with_a_midnight_time_is_that_date_and_another_time_is_not_a_date(tmp_path):
    """As spreadsheets export dates; a time other than midnight is rejected, the reason saying so."""
    d = minimal_extract(tmp_path / "in")
    good = [(f"K{i}", "M", v) for i, v in enumerate(MIDNIGHT + MIDNIGHT_UK, 1)]
    kids(d, *good, ("K8", "M", "2015-03-01 10:30"), ("K9", "M", "01/03/2015 00:01"))
    res = load(d, tmp_path / "w.duckdb", extract_date=EXTRACT)
    kids_rejected = res.rejects[res.rejects.table_name == "children"]
    assert kids_rejected[["row", "value"]].values.tolist() == [[9, "2015-03-01 10:30"], [10, "01/03/2015 00:01"]]
    assert set(kids_rejected["reason"]) == {"expected a date YYYY-MM-DD or DD/MM/YYYY (with no time, or midnight)"}
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT DISTINCT date_of_birth FROM children").fetchall() == [(dt.date(2015, 3, 1),)]
    assert con.execute("SELECT count(*) FROM children").fetchall() == [(7,)]


@pytest.mark.parametrize(
    "written, loaded",
    [
        ("2024-01-05 10:00:00+01", None),  # a time zone
        ("2024-01-05T10:00:00Z", None),
        ("infinity", None),
        ("05/01/2024 9:30", dt.datetime(2024, 1, 5, 9, 30)),
        ("2024-01-05 10:00:00.250", dt.datetime(2024, 1, 5, 10, 0, 0, 250000)),
        ("05/01/2024", dt.datetime(2024, 1, 5)),  # a date alone: its midnight
        ("2024/01/05 10:00", None),
    ],
)
def test_a_date_and_time_is_one_of_the_documented_layouts(tmp_path, written, loaded):
    d = minimal_extract(tmp_path / "in")
    header = model.table("contacts").column_names
    rows = [["C1", "K1", "2024-01-04 09:00:00", "1A", "", "", ""], ["C2", "K2", written, "1A", "", "", ""]]
    rows.append(["C3", "K3", "2024-01-04 09:00:00", "1A", "", "", ""])
    write_csv(d, "contacts", rows, header=header)
    res = load(d, tmp_path / "w.duckdb", extract_date=EXTRACT)
    con, _ = connect(tmp_path / "w.duckdb")
    got = con.execute("SELECT contact_at FROM contacts WHERE contact_id = 'C2'").fetchall()
    assert got == ([(loaded,)] if loaded else [])
    if not loaded:
        assert res.rejects[["row", "column_name", "value"]].values.tolist() == [[3, "contact_at", written]]


def test_no_extract_date_is_refused_not_taken_as_today(tmp_path):
    d = minimal_extract(tmp_path / "in")
    with pytest.raises(LoadError, match=r"no extract date.*give --extract-date YYYY-MM-DD"):
        load(d, tmp_path / "w.duckdb")
    assert store_unchanged(tmp_path / "w.duckdb")
    (d / "extract.json").write_text('{"extract_date": "2024-06-01"}')
    assert load(d, tmp_path / "w.duckdb").extract_date == dt.date(2024, 6, 1)


@pytest.mark.parametrize("given", ["20240601", "2024-W22-6", "2024-06-31", "01/06/2024", " 2024-06-01"])
def test_an_extract_date_not_written_yyyy_mm_dd_is_refused(tmp_path, given):
    d = minimal_extract(tmp_path / "in")
    with pytest.raises(LoadError, match="is not a date YYYY-MM-DD"):
        load(d, tmp_path / "w.duckdb", extract_date=given)


def test_an_optional_reference_to_a_table_no_source_supplies_is_loaded_with_a_note(tmp_path):
    """R1 came from contact C1, but no contacts file was given: the referral loads, its contact_id as written."""
    d = minimal_extract(tmp_path / "in")
    rows = (d / "referrals.csv").read_text().splitlines()
    rows[1] = rows[1].replace("R1,K1,,", "R1,K1,C1,")
    (d / "referrals.csv").write_text("\n".join(rows) + "\n")
    res = load(d, tmp_path / "w.duckdb", extract_date=EXTRACT)
    assert res.rejects.empty
    assert (
        "referrals.contact_id: 1 value(s) refer to contacts, which no source supplies: loaded as written, "
        "not looked up" in res.notes
    )
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT contact_id FROM referrals WHERE referral_id = 'R1'").fetchall() == [("C1",)]


def test_a_required_reference_to_a_table_no_source_supplies_stops_the_load_saying_so(tmp_path):
    d = minimal_extract(tmp_path / "in")
    (d / "teams.csv").unlink()
    with pytest.raises(LoadError) as e:
        load(d, tmp_path / "w.duckdb", extract_date=EXTRACT)
    assert str(e.value).splitlines()[1] == (
        "  3 row(s): team_id: expected a team_id loaded in teams; no source supplies teams, e.g. row 2 'N-A'"
    )


def test_a_row_rejected_for_two_reasons_lists_both_and_counts_once(tmp_path):
    d = minimal_extract(tmp_path / "in")
    kids(d, ("K1", "M", "2015-03-01"), ("K2", "Z", "2030-01-01"), ("K3", "F", "2010-12-31"), ("K4", "F", "2011-01-01"))
    referrals(d, ("R1", "K1", "2024-01-10"), ("R3", "K3", "2024-02-20"))
    res = load(d, tmp_path / "w.duckdb", extract_date=EXTRACT)
    assert res.rejects[["row", "column_name", "reason"]].values.tolist() == [
        [3, "date_of_birth", "expected a date before the extract date 2024-06-01"],
        [3, "sex", "expected one of the sex codes (M, F, U)"],
    ]
    acc = res.accounting.set_index("table_name")
    assert acc.loc["children", ["rows_read", "rows_loaded", "rows_rejected"]].tolist() == [4, 3, 1]
    summary = res.summary()
    assert "1 rejected row(s)" in summary and "0 of them fell" in summary


def test_the_command_stops_on_losses_and_loads_with_accept_losses(tmp_path, capsys):
    from kpi.cli import main

    d = minimal_extract(tmp_path / "in")
    kids(d, ("K1", "M", "2015.03.01"), ("K2", "F", "2018.07.15"), ("K3", "F", "2010-12-31"))
    args = ["load", str(d), "--store", str(tmp_path / "w.duckdb")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "no extract date" in err and "--extract-date YYYY-MM-DD" in err
    assert main([*args, "--extract-date", EXTRACT]) == 2
    err = capsys.readouterr().err
    assert err.startswith("load stopped, nothing changed: children.csv: 2 of 3 rows rejected, more than half")
    assert store_unchanged(tmp_path / "w.duckdb")
    assert main([*args, "--extract-date", EXTRACT, "--accept-losses"]) == 0
    out = capsys.readouterr().out
    assert "note: loaded with --accept-losses: children.csv: 2 of 3 rows rejected" in out


def _documented(kind: str, text: str):
    """What docs/data-model.md says a value of the type is, read in Python: the value, or None if it is not one."""
    import math
    import re

    pad = "[ \t]*"
    midnight = r"(?:{}00:00(?::00(?:\.0+)?)?)?"
    if kind == "int":
        m = re.fullmatch(pad + r"([+-]?[0-9]+)(?:\.0*)?" + pad, text)
        return int(m[1]) if m and -(2**63) <= int(m[1]) < 2**63 else None
    if kind == "float":
        m = re.fullmatch(pad + r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?" + pad, text)
        return float(text) if m and math.isfinite(float(text)) else None
    iso = re.fullmatch(pad + r"([0-9]{4})-([0-9]{2})-([0-9]{2})" + midnight.format("[ T]") + pad, text)
    uk = re.fullmatch(pad + r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})" + midnight.format(" ") + pad, text)
    y, m, d = (iso[1], iso[2], iso[3]) if iso else (uk[3], uk[2], uk[1]) if uk else (0, 0, 0)
    try:
        return dt.date(int(y), int(m), int(d))
    except ValueError:
        return None


_PARSE = duckdb.connect()


@pytest.mark.parametrize("kind", ["int", "float", "date"])
def test_the_checks_read_each_type_exactly_as_documented(kind):
    """Whatever text a column holds, the checks read it as the documented grammar does (tests/test_load.py
    _documented): here over a sample of near misses built from the characters such values are written with."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from kpi.checks import parsed
    from kpi.model import TYPES, Column

    near = {
        "int": st.text(alphabet="0123456789+-.eExX_, \t", max_size=8),
        "float": st.text(alphabet="0123456789+-.eEinfa_, \t", max_size=9),
        "date": st.text(alphabet="0123456789-/:T .\t", max_size=24)
        | st.builds(
            lambda d, sep, t: d.strftime(sep) + t,
            st.dates(min_value=dt.date(1000, 1, 1)),
            st.sampled_from(["%Y-%m-%d", "%d/%m/%Y", "%-d/%-m/%Y", "%Y/%m/%d"]),
            st.sampled_from(["", " 00:00", "T00:00:00", " 00:00:00.000", " 00:01", " 12:00:00", "\t", " 00:00:00.5"]),
        ),
    }

    @settings(max_examples=500, deadline=None)
    @given(near[kind])
    def check(text):
        got = _PARSE.execute(
            f"SELECT CAST({parsed(Column('x', kind, ''), 'x')} AS {TYPES[kind]}) FROM (SELECT NULLIF(trim(?), '') AS x)",
            [text],
        ).fetchall()[0][0]
        want = _documented(kind, text.strip(" ")) if text.strip(" ") else None
        if kind == "date" and want is None and got is not None:
            assert got.year == 0 or not text, (text, got)  # year 0 is no Python date; the database reads it
        else:
            assert got == want, (text, got, want)

    check()


def test_an_extract_date_after_today_is_loaded_with_a_note(tmp_path):
    d = minimal_extract(tmp_path / "in")
    ahead = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    res = load(d, tmp_path / "w.duckdb", extract_date=ahead)
    assert (
        f"the extract date {ahead} is after today ({dt.date.today()}): is it the day the data was taken?" in res.notes
    )
    res = load(d, tmp_path / "w.duckdb", extract_date=dt.date.today().isoformat())
    assert not any("after today" in n for n in res.notes)


def test_a_child_in_two_sources_with_different_values_says_so(tmp_path):
    """K1 in a second extract born on another day and of another sex: merged (the first source's values kept), its
    reason naming each difference, and the summary counting it; K2's date written DD/MM/YYYY and its ethnicity left
    empty are no difference."""
    first = minimal_extract(tmp_path / "a")
    second = tmp_path / "b"
    write_csv(
        second,
        "children",
        [["K1", "F1", "2012-01-01", "F", "WBRI", "N", "N"], ["K2", "F1", "15/07/2018", "F", "", "N", "N"]],
        header=CHILD,
    )
    res = load_sources([read_standard(first), read_standard(second)], tmp_path / "w.duckdb", extract_date=EXTRACT)
    merged = res.rejects[res.rejects.table_name == "children"].set_index("row")["reason"]
    assert merged[2] == (
        "same child_id as children.csv row 2 (an earlier source): merged into it, its values kept and its gaps filled "
        "from this row; date_of_birth 2012-01-01 here, 2015-03-01 in children.csv row 2; sex F here, M in "
        "children.csv row 2: the earlier source's values kept"
    )
    assert merged[3].endswith("its gaps filled from this row")
    assert "2 merged row(s) (1 with values differing from the row kept)" in res.summary()
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT date_of_birth, sex FROM children WHERE child_id = 'K1'").fetchall() == [
        (dt.date(2015, 3, 1), "M")
    ]


def test_a_load_with_no_rows_at_all_is_refused(tmp_path):
    """Every file with its header only: nothing to load, refused, and no snapshot made."""
    d = minimal_extract(tmp_path / "in")
    for f in d.glob("*.csv"):
        f.write_text(f.read_text().splitlines()[0] + "\n")
    with pytest.raises(LoadError, match=r"^nothing to load: every file holds no rows$"):
        load(d, tmp_path / "w.duckdb", extract_date=EXTRACT)
    assert store_unchanged(tmp_path / "w.duckdb")


def test_a_rejects_list_that_cannot_be_written_makes_no_snapshot(tmp_path):
    """The rejects file's place taken by a folder (as a full disk would refuse it): the load stops, saying so, and
    no snapshot is made, so loading again after freeing it makes one, not a second."""
    d = minimal_extract(tmp_path / "in")
    kids(d, ("K1", "M", "2015-03-01"), ("K2", "F", "2018-07-15"), ("K3", "F", "2010-12-31"), ("K4", "X", "2011-01-01"))
    (tmp_path / "w-rejects-1.csv").mkdir()
    with pytest.raises(LoadError, match=r"w-rejects-1.csv: the list of rejected rows cannot be written"):
        load(d, tmp_path / "w.duckdb", extract_date=EXTRACT)
    assert store_unchanged(tmp_path / "w.duckdb")
    (tmp_path / "w-rejects-1.csv").rmdir()
    assert load(d, tmp_path / "w.duckdb", extract_date=EXTRACT).snapshot_id == 1


def test_invisible_characters_around_an_id_are_padding_inside_it_a_rejection(tmp_path):
    """A zero-width space after K1 makes no second K1 (a duplicate, rejected); a byte order mark before K2 and a
    control character after K3 are trimmed (both load); one inside K4 is rejected; a child born in year 0001 too."""
    d = minimal_extract(tmp_path / "in")
    kids(
        d,
        ("K1", "M", "2015-03-01"),
        ("K1\u200b", "F", "2016-03-01"),
        ("\ufeffK2", "F", "2018-07-15"),
        ("K3\x07", "F", "2010-12-31"),
        ("K\u200b4", "F", "2011-01-01"),
        ("K5", "F", "0001-01-01"),
        ("K6", "M", "2012-02-02"),
    )
    res = load(d, tmp_path / "w.duckdb", extract_date=EXTRACT)
    rej = res.rejects[res.rejects.table_name == "children"].set_index("row")
    assert rej.loc[3, "reason"] == "duplicate child_id, first at row 2"
    assert rej.loc[6, "reason"] == (
        "expected an id without invisible characters (zero-width space, byte order mark, control) in it"
    )
    assert rej.loc[7, ["column_name", "reason"]].tolist() == ["date_of_birth", "expected a date from 1900"]
    assert len(rej) == 3
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT child_id FROM children ORDER BY 1").fetchall() == [("K1",), ("K2",), ("K3",), ("K6",)]


def test_a_bad_date_in_a_typed_column_is_not_checked_again_as_text(tmp_path, monkeypatch):
    """referrals.csv's dates all parse (read typed): one after the extract date is shown as written from the typed
    value, without reading and checking the file again as text."""
    import kpi.load

    d = minimal_extract(tmp_path / "in")
    referrals(d, ("R1", "K1", "2024-01-10"), ("R2", "K2", "2030-01-01"), ("R3", "K3", "2024-02-01"))
    checked = []
    check = kpi.load._check
    monkeypatch.setattr(
        kpi.load, "_check", lambda con, schema, t, *a: checked.append(t.name) or check(con, schema, t, *a)
    )
    res = load(d, tmp_path / "w.duckdb", extract_date=EXTRACT)
    r = res.rejects[res.rejects.table_name == "referrals"].iloc[0]
    assert (r.row, r.column_name, r.value) == (3, "referral_date", "2030-01-01")
    assert r.reason == f"expected a date before the extract date {EXTRACT}"
    assert checked.count("referrals") == 1


def test_a_malformed_line_before_a_blank_line_is_one_line(tmp_path):
    """K9's line (line 4) has two fields and a blank line follows it: it is reported as line 4 alone, and the
    summary names no column for it; a record over lines 7 and 8 (a quoted newline) is reported as both."""
    d = minimal_extract(tmp_path / "in")
    text = ",".join(CHILD) + "\n" + "K1,F1,2015-03-01,M,WBRI,N,N\nK2,F1,2018-07-15,F,WBRI,N,N\nK9,F9\n\n"
    text += 'K3,F2,2010-12-31,F,MWBC,Y,S\nK8,"F\n8"\n'
    (d / "children.csv").write_text(text)
    res = load(d, tmp_path / "w.duckdb", extract_date=EXTRACT, accept_losses=True)
    rej = res.rejects[res.rejects.table_name == "children"].set_index("row")["reason"]
    assert rej.to_dict() == {
        4: "malformed line: has 2 fields, expected 7",
        7: "malformed line: has 2 fields, expected 7 (lines 7 to 8)",
    }
    assert "children.csv row 4: malformed line: has 2 fields, expected 7" in res.summary()
