"""The loader on hand-made bad files: each kind of problem, where it is reported, and what loads."""

import csv
import datetime as dt
from itertools import pairwise

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import minimal_extract, write_csv
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi import model
from kpi.checks import ascending, parsed, row_checks
from kpi.errors import LoadError
from kpi.load import load
from kpi.readers.standard import check_header, iso_timestamps, read_table
from kpi.store import connect, snapshots

CHILD_HEADER = ["child_id", "family_id", "date_of_birth", "sex", "ethnicity", "disability", "locality_id"]


def children(directory, *rows):
    write_csv(directory, "children", [list(r) for r in rows], header=CHILD_HEADER)


def population(directory, *rows):
    write_csv(directory, "population", [list(r) for r in rows], header=["year", "locality_id", "age", "sex", "count"])


def contacts(directory, *times):
    """One contact of child K1 for each (contact_at, completed_at), numbered C1, C2, ..."""
    header = ["contact_id", "child_id", "contact_at", "source", "screening_rag", "completed_at", "outcome"]
    rows = [[f"C{i}", "K1", at, "1A", "", done, ""] for i, (at, done) in enumerate(times, 1)]
    write_csv(directory, "contacts", rows, header=header)


def read_raw(directory, name):
    """A table's file as the loader reads it (its dates and numbers typed where they all parse)."""
    t = model.table(name)
    return read_table(t, check_header(directory, t)).data


def load_one(tmp_path, **options):
    res = load(tmp_path / "in", tmp_path / "w.duckdb", extract_date="2024-06-01", **options)
    acc = res.accounting.set_index("table_name")
    return res, acc


def only_reject(res):
    assert len(res.rejects) == 1, res.rejects.to_string()
    return res.rejects.iloc[0]


def test_a_clean_extract_loads_every_row(tmp_path):
    minimal_extract(tmp_path / "in")
    res, acc = load_one(tmp_path)
    assert res.snapshot_id == 1
    assert acc.loc["children", "rows_loaded"] == 3
    assert acc.loc["referrals", "rows_loaded"] == 3
    assert acc["rows_rejected"].sum() == 0
    assert any("contacts" in n and "not supplied" in n for n in res.notes)
    con, snap = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT count(*) FROM referrals WHERE closure_date IS NULL").fetchall() == [(2,)]
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'snap_1' AND table_name = 'children'"
        ).fetchall()
    )
    assert types["date_of_birth"] == "DATE" and types["disability"] == "BOOLEAN"


@pytest.mark.parametrize(
    "row, column, value, reason",
    [
        (("K1", "F1", "2015-02-30", "M", "WBRI", "N", "N"), "date_of_birth", "2015-02-30", "expected a date"),
        (("K1", "F1", "NA", "M", "WBRI", "N", "N"), "date_of_birth", "NA", "expected a date"),
        (("K1", "F1", "2015-03-01", "X", "WBRI", "N", "N"), "sex", "X", "expected one of the sex codes"),
        (("K1", "F1", "2015-03-01", "M", "WBRI", "maybe", "N"), "disability", "maybe", "expected Y or N"),
        (
            ("K1", "F1", "2015-03-01", "M", "WBRI", "N", "EAST"),
            "locality_id",
            "EAST",
            "expected a locality_id loaded in localities",
        ),
        (("K1", "F1", "", "M", "WBRI", "N", "N"), "date_of_birth", None, "required value is missing"),
        (
            ("K1", "F1", "2024-07-01", "M", "WBRI", "N", "N"),
            "date_of_birth",
            "2024-07-01",
            "expected a date before the extract date 2024-06-01",
        ),
    ],
)
def test_each_kind_of_bad_value_is_rejected_with_file_row_column_value_and_reason(tmp_path, row, column, value, reason):
    d = minimal_extract(tmp_path / "in")
    children(
        d, ("K2", "F1", "2018-07-15", "F", "WBRI", "N", "N"), row, ("K3", "F2", "2010-12-31", "F", "WBRI", "N", "S")
    )
    res, acc = load_one(tmp_path)
    kids = res.rejects[res.rejects.table_name == "children"]
    assert len(kids) == 1, kids.to_string()
    r = kids.iloc[0]
    assert (r.file, r.row, r.column_name) == ("children.csv", 3, column)
    assert (None if r.value is None or r.value != r.value else r.value) == value
    assert reason in r.reason
    assert acc.loc["children", "rows_read"] == 3
    assert acc.loc["children", "rows_loaded"] == 2
    assert acc.loc["children", "rows_rejected"] == 1
    # K1's referral now refers to a child that was not loaded: rejected too, nothing silently lost
    refs = res.rejects[res.rejects.table_name == "referrals"]
    assert list(refs["value"]) == ["K1"]
    assert acc.loc["referrals", "rows_loaded"] == 2


def test_a_row_whose_parent_was_rejected_is_rejected_too(tmp_path):
    d = minimal_extract(tmp_path / "in")
    children(
        d,
        ("K1", "F1", "2015-03-01", "Q", "WBRI", "N", "N"),
        ("K2", "F1", "2018-07-15", "F", "WBRI", "N", "N"),
        ("K3", "F2", "2010-12-31", "F", "WBRI", "N", "S"),
    )
    res, acc = load_one(tmp_path)
    rej = res.rejects.set_index("table_name")
    assert rej.loc["children", "column_name"] == "sex"
    assert rej.loc["referrals", "row"] == 2
    assert rej.loc["referrals", "column_name"] == "child_id"
    assert rej.loc["referrals", "value"] == "K1"
    assert (acc.rows_read == acc.rows_loaded + acc.rows_rejected).all()


@pytest.mark.parametrize("distinct", [True, False], ids=["among distinct values", "row by row"])
def test_each_row_of_an_unresolved_reference_is_rejected_and_only_those(tmp_path, monkeypatch, distinct):
    # K9 is in no children row: both its referrals go; " K2 " is K2 once trimmed, and an empty contact_id
    # refers to nothing, so those load. The same whether values are looked up among their distinct values or not.
    looked_up = []
    monkeypatch.setattr("kpi.load.distinct_first", lambda rows, parent: looked_up.append(parent) or distinct)
    d = minimal_extract(tmp_path / "in")
    base = {"contact_id": "", "source": "6", "primary_need": "N1", "homeless": "N", "team_id": "N-A"}
    base |= {"closure_date": "", "closure_reason": ""}
    rows = [
        {"referral_id": "R1", "child_id": "K9", "referral_date": "2024-01-10", "locality_id": "N"},
        {"referral_id": "R2", "child_id": " K2 ", "referral_date": "2024-02-10", "locality_id": "N"},
        {"referral_id": "R3", "child_id": "K9", "referral_date": "2024-02-20", "locality_id": "S"},
        {"referral_id": "R4", "child_id": "K3", "referral_date": "2024-03-20", "locality_id": "W"},
    ]
    write_csv(d, "referrals", [base | r for r in rows])
    res, acc = load_one(tmp_path, accept_losses=True)  # 3 of 4 referrals lost
    got = res.rejects[["row", "column_name", "value", "reason"]].values.tolist()
    assert got == [
        [2, "child_id", "K9", "expected a child_id loaded in children"],
        [4, "child_id", "K9", "expected a child_id loaded in children"],
        [5, "locality_id", "W", "expected a locality_id loaded in localities"],
    ]
    assert acc.loc["referrals", "rows_loaded"] == 1
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT referral_id, child_id, contact_id FROM referrals").fetchall() == [("R2", "K2", None)]
    assert 3 in looked_up  # the children's rows, for the referrals' child_id


def test_a_reference_is_looked_up_among_distinct_values_where_rows_are_twice_the_parents_or_more():
    from kpi.checks import distinct_first

    assert distinct_first(13_029_226, 4_544_126)  # the visits' children at scale 50
    assert not distinct_first(5_457_661, 4_544_126)  # the contacts'
    assert distinct_first(2, 1) and not distinct_first(1, 1) and distinct_first(0, 0)
    sql = row_checks(model.table("referrals"), "raw", "snap_1", "2024-06-01", by_row={"child_id"})
    assert 'SELECT "child_id" AS v FROM raw' in sql and 'SELECT DISTINCT "team_id" AS v FROM raw' in sql


def test_duplicate_ids_keep_the_first_and_name_it(tmp_path):
    d = minimal_extract(tmp_path / "in")
    children(
        d,
        ("K1", "F1", "2015-03-01", "M", "WBRI", "N", "N"),
        ("K2", "F1", "2018-07-15", "F", "WBRI", "N", "N"),
        ("K1", "F9", "2016-03-01", "F", "WBRI", "N", "S"),
        ("K3", "F2", "2010-12-31", "F", "WBRI", "N", "S"),
    )
    res, acc = load_one(tmp_path)
    r = only_reject(res)
    assert (r.row, r.column_name, r.value) == (4, "child_id", "K1")
    assert r.reason == "duplicate child_id, first at row 2"
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT family_id FROM children WHERE child_id = 'K1'").fetchall() == [("F1",)]


@pytest.mark.parametrize(
    "ids, row, value, first",
    [
        (("K1", "K2", "K2", "K3"), 4, "K2", 3),  # rising but for a repeat next to it
        (("K1", "K2", "K3", "K10", "K2"), 6, "K2", 3),  # rising by length, not by text
        (("K1", "K2", "K3", " K3", "K10"), 5, "K3", 4),  # rising as written (the padded id is longer), not trimmed
    ],
)
def test_duplicate_ids_in_otherwise_rising_files_are_found(tmp_path, ids, row, value, first):
    d = minimal_extract(tmp_path / "in")
    children(d, *((k, "F1", "2015-03-01", "M", "WBRI", "N", "N") for k in ids))
    res, acc = load_one(tmp_path)
    r = only_reject(res)
    assert (r.row, r.column_name, r.value) == (row, "child_id", value)
    assert r.reason == f"duplicate child_id, first at row {first}"
    assert acc.loc["children", "rows_loaded"] == len(ids) - 1


@pytest.mark.parametrize(
    "chunks, rising",
    [
        ([["CH1", "CH2", "CH9", "CH10", "CH11", "CH100"]], True),
        ([["CH1", "CH2"], [], ["CH3"], ["CH10", "CH12"]], True),  # across chunks, an empty one skipped
        ([["CH1", "CH2"], ["CH2", "CH3"]], False),  # the repeat is where two chunks meet
        ([["CH2", "CH1"]], False),
        ([["CH1", "CH10", "CH9"]], False),
        ([["CH1", "CH1"]], False),
        ([["CH1", "CH2", None, "CH1", "CH2"]], False),
        ([["", "CH1"]], True),
        ([["é1", "é2", "éa"]], True),  # byte order beyond ASCII
        ([["Z9", "é1"]], True),  # é is two bytes: longer
        ([[]], True),
    ],
)
def test_ascending_ids_are_those_that_rise_by_length_then_text(chunks, rising):
    assert ascending(pa.chunked_array(chunks, pa.string())) is rising


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.text(alphabet="AB1é ", max_size=3), max_size=6), min_size=1, max_size=4))
def test_ids_found_ascending_are_all_different(chunks):
    ids = [v for c in chunks for v in c]
    if ascending(pa.chunked_array(chunks, pa.string())):
        assert len(set(ids)) == len(ids)
        assert all((len(a.encode()), a.encode()) < (len(b.encode()), b.encode()) for a, b in pairwise(ids))


def test_dates_out_of_order_are_rejected(tmp_path):
    d = minimal_extract(tmp_path / "in")
    rows = (tmp_path / "in" / "referrals.csv").read_text().replace("2024-03-01", "2023-12-01")
    (d / "referrals.csv").write_text(rows)
    res, _ = load_one(tmp_path)
    r = only_reject(res)
    assert (r.table_name, r.row, r.column_name, r.value) == ("referrals", 2, "closure_date", "2023-12-01")
    assert r.reason == "expected on or after referral_date (2024-01-10)"


def test_uk_dates_and_spaces_are_read(tmp_path):
    d = minimal_extract(tmp_path / "in")
    children(
        d,
        (" K1 ", "F1", "01/03/2015", "M", "WBRI", "y", "N"),
        ("K2", "F1", "2018-07-15", "F", "WBRI", "N", "N"),
        ("K3", "F2", "31/12/2010", "F", "WBRI", "true", "S"),
        # a no-break space (pasted from a spreadsheet) and spaces at one end only
        ("K4\u00a0", "F2", " 2012-05-05", "F ", "\u00a0WBRI", "N", "N"),
    )
    res, _ = load_one(tmp_path)
    assert res.rejects.empty
    con, _ = connect(tmp_path / "w.duckdb")
    got = con.execute(
        "SELECT child_id, date_of_birth::VARCHAR, disability, sex, ethnicity FROM children ORDER BY child_id"
    ).fetchall()
    assert got == [
        ("K1", "2015-03-01", True, "M", "WBRI"),
        ("K2", "2018-07-15", False, "F", "WBRI"),
        ("K3", "2010-12-31", True, "F", "WBRI"),
        ("K4", "2012-05-05", False, "F", "WBRI"),
    ]


def test_a_malformed_line_is_rejected_and_the_rest_loads(tmp_path):
    d = minimal_extract(tmp_path / "in")
    text = (d / "children.csv").read_text().splitlines()
    text.insert(2, "K9,F9,2015-03-01,M,WBRI,N,N,surplus,fields")
    text[-1] = text[-1].replace("MWBC", "BAD")  # K3, now on line 5
    (d / "children.csv").write_text("\n".join(text) + "\n")
    res, acc = load_one(tmp_path)
    got = [(r.table_name, r.row, r.column_name) for r in res.rejects.itertuples()]
    # K3 (line 5, after the malformed line 3) is rejected, and its referral (line 4) follows it out
    assert got == [("children", 3, ""), ("children", 5, "ethnicity"), ("referrals", 4, "child_id")], got
    assert "malformed line" in res.rejects.iloc[0].reason and "expected 7" in res.rejects.iloc[0].reason
    assert acc.loc["children", "rows_read"] == 4
    assert acc.loc["children", "rows_loaded"] == 2
    assert acc.loc["children", "rows_rejected"] == 2


def test_out_of_range_values_are_rejected(tmp_path):
    d = minimal_extract(tmp_path / "in")
    write_csv(
        d,
        "population",
        [
            {"year": 2024, "locality_id": "N", "age": 18, "sex": "M", "count": 10},
            {"year": 2024, "locality_id": "N", "age": 3, "sex": "M", "count": -1},
            {"year": 2024, "locality_id": "N", "age": 4, "sex": "M", "count": "ten"},
        ],
    )
    res, acc = load_one(tmp_path, accept_losses=True)  # every row lost
    got = [(r.row, r.column_name, r.reason) for r in res.rejects.itertuples()]
    assert got == [
        (2, "age", "expected at most 17"),
        (3, "count", "expected at least 0"),
        (4, "count", "expected a whole number"),
    ]
    assert acc.loc["population", "rows_loaded"] == 0


def test_a_missing_column_stops_the_load_and_changes_nothing(tmp_path):
    d = minimal_extract(tmp_path / "in")
    load(d, tmp_path / "w.duckdb", extract_date="2024-06-01")
    write_csv(d, "children", [["K1", "F1", "2015-03-01", "M", "WBRI", "N"]], header=CHILD_HEADER[:-1])
    with pytest.raises(LoadError) as e:
        load(d, tmp_path / "w.duckdb", extract_date="2024-06-01")
    msg = str(e.value)
    assert "children.csv" in msg and "missing column(s) locality_id" in msg
    assert len(snapshots(tmp_path / "w.duckdb")) == 1  # still just the first load
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        schemas = {r[0] for r in con.execute("SELECT schema_name FROM information_schema.schemata").fetchall()}
    assert "snap_2" not in schemas


def test_an_unreadable_file_stops_the_load(tmp_path):
    d = minimal_extract(tmp_path / "in")
    (d / "teams.parquet").unlink(missing_ok=True)
    (d / "teams.csv").unlink()
    (d / "teams.parquet").write_bytes(b"this is not parquet")
    with pytest.raises(LoadError, match=r"teams.parquet: cannot be read as PARQUET"):
        load(d, tmp_path / "w.duckdb", extract_date="2024-06-01")
    assert not (tmp_path / "w.duckdb").exists() or snapshots(tmp_path / "w.duckdb").empty


def test_no_table_files_at_all_is_a_clear_error(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "notes.txt").write_text("hello")
    with pytest.raises(LoadError, match="holds no file named after a table"):
        load(tmp_path / "in", tmp_path / "w.duckdb")


def test_parquet_input_is_read_with_row_numbers(tmp_path):
    d = minimal_extract(tmp_path / "in")
    (d / "children.csv").unlink()
    import datetime as dt

    pq.write_table(
        pa.table(
            {
                "child_id": ["K1", "K2", "K3"],
                "family_id": ["F1", "F1", "F2"],
                "date_of_birth": [dt.date(2015, 3, 1), dt.date(2018, 7, 15), dt.date(2010, 12, 31)],
                "sex": ["M", "F", "Z"],
                "ethnicity": ["WBRI"] * 3,
                "disability": [False, False, True],
                "locality_id": ["N", "N", "S"],
            }
        ),
        d / "children.parquet",
    )
    res, acc = load_one(tmp_path)
    rej = res.rejects[res.rejects.table_name == "children"].iloc[0]
    assert (rej.file, rej.row, rej.column_name, rej.value) == ("children.parquet", 3, "sex", "Z")
    assert acc.loc["children", "rows_loaded"] == 2


def test_snapshots_keep_earlier_loads(tmp_path):
    d = minimal_extract(tmp_path / "in")
    load(d, tmp_path / "w.duckdb", extract_date="2024-06-01")
    children(
        d,
        ("K1", "F1", "2015-03-01", "M", "WBRI", "N", "N"),
        ("K2", "F1", "2018-07-15", "F", "WBRI", "N", "N"),
        ("K3", "F2", "2010-12-31", "F", "WBRI", "N", "S"),
        ("K4", "F3", "2012-01-01", "M", "WBRI", "N", "S"),
    )
    res = load(d, tmp_path / "w.duckdb", extract_date="2024-07-01")
    assert res.snapshot_id == 2
    snaps = snapshots(tmp_path / "w.duckdb")
    assert list(snaps.snapshot_id) == [1, 2]
    assert [str(x.date()) for x in snaps.extract_date] == ["2024-06-01", "2024-07-01"]
    con, snap = connect(tmp_path / "w.duckdb")
    assert snap["snapshot_id"] == 2
    assert con.execute("SELECT count(*) FROM children").fetchall() == [(4,)]
    con1, snap1 = connect(tmp_path / "w.duckdb", snapshot=1)
    assert con1.execute("SELECT count(*) FROM children").fetchall() == [(3,)]


def test_rejects_are_written_beside_the_store(tmp_path):
    d = minimal_extract(tmp_path / "in")
    children(
        d,
        ("K1", "F1", "2015-03-01", "M", "WBRI", "N", "N"),
        ("K2", "F1", "2018-07-15", "F", "WBRI", "N", "N"),
        ("K3", "F2", "2010-12-31", "F", "XXXX", "N", "S"),
    )
    res, _ = load_one(tmp_path)
    assert res.rejects_csv == tmp_path / "w-rejects-1.csv"
    with open(res.rejects_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["table_name"], r["file"], r["row"], r["column_name"], r["value"]) for r in rows] == [
        ("children", "children.csv", "4", "ethnicity", "XXXX"),
        ("referrals", "referrals.csv", "4", "child_id", "K3"),
    ]
    assert rows[0]["reason"].startswith("expected one of the ethnicity codes (WBRI, WIRI")
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute('SELECT "row", reason FROM meta.rejects').fetchall()[0][0] == 4


def test_a_file_unreadable_after_its_header_rolls_the_whole_load_back(tmp_path):
    d = minimal_extract(tmp_path / "in")
    load(d, tmp_path / "w.duckdb", extract_date="2024-06-01")
    good = (d / "referrals.csv").read_bytes()
    (d / "referrals.csv").write_bytes(good + b"R4,K1,,2024-03-01,6,N1,N,N-A,N,\xff\xfe,\n")
    with pytest.raises(LoadError, match=r"referrals.csv line 5, column closure_date: byte 0xFF is not UTF-8"):
        load(d, tmp_path / "w.duckdb", extract_date="2024-06-01")
    assert len(snapshots(tmp_path / "w.duckdb")) == 1
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        schemas = {r[0] for r in con.execute("SELECT schema_name FROM information_schema.schemata").fetchall()}
        assert con.execute("SELECT count(*) FROM meta.load_accounting").fetchall() == [(len(model.TABLES),)]
    assert "snap_2" not in schemas


def test_a_load_that_died_half_way_is_invisible_and_cleared_by_the_next(tmp_path):
    d = minimal_extract(tmp_path / "in")
    load(d, tmp_path / "w.duckdb", extract_date="2024-06-01")
    # a load killed after writing some tables: a schema with no row in meta.snapshots
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("CREATE SCHEMA snap_2; CREATE TABLE snap_2.children AS SELECT 'half' AS child_id")
    assert connect(tmp_path / "w.duckdb")[1]["snapshot_id"] == 1
    res = load(d, tmp_path / "w.duckdb", extract_date="2024-06-01")
    assert res.snapshot_id == 2
    con, snap = connect(tmp_path / "w.duckdb")
    assert snap["snapshot_id"] == 2
    assert "half" not in {r[0] for r in con.execute("SELECT child_id FROM children").fetchall()}


def test_extra_columns_are_ignored_with_a_note(tmp_path):
    d = minimal_extract(tmp_path / "in")
    text = (d / "localities.csv").read_text().splitlines()
    text = [text[0] + ",colour"] + [line + ",blue" for line in text[1:]]
    (d / "localities.csv").write_text("\n".join(text) + "\n")
    res, acc = load_one(tmp_path)
    assert res.rejects.empty
    assert "localities.csv: column(s) colour are not in the data model and were ignored" in res.notes


def test_padding_is_found_in_the_bytes_of_any_chunk_and_slice():
    from kpi.checks import padded as scan

    def padded(*values, sliced=False):
        arr = pa.array(["pad", *values, "pad"])
        return scan(pa.chunked_array([arr.slice(1, len(values)) if sliced else arr]))

    for v in (" a", "a ", "\u00a0a", "a\u00a0", "\u00a0", " "):
        assert padded(v) and padded(v, sliced=True), repr(v)
    # inside a value, other characters whose UTF-8 starts C2 (a pound sign) or ends A0 (a Cyrillic letter),
    # empty values and NULLs are not padding
    for v in ("a b", "a\u00a0b", "£5", "\u0420", "é", "", None):
        assert not padded(v) and not padded(v, sliced=True), repr(v)
    # the slice's neighbours are not looked at
    assert not scan(pa.chunked_array([pa.array([" x", "ok", "y "]).slice(1, 1)]))


def test_padding_is_found_in_whichever_chunk_holds_it():
    """A chunk with no space and no 0xA0 byte is passed over whole; one holding either is looked at value by value."""
    from kpi.checks import padded

    def chunks(*lists):
        return pa.chunked_array([pa.array(x, pa.string()) for x in lists], pa.string())

    assert padded(chunks(["a", "b"], [], [None, None], ["", "c "], ["d"]))
    assert padded(chunks(["a", "b"], ["\u00a0c"]))
    assert not padded(chunks(["a", "b"], [], [None], ["", "c"]))
    # spaces and A0 bytes inside values only: the chunk is looked at, and nothing found
    assert not padded(chunks(["a b", "\u0420\u0420"], ["2024-01-05 10:00:00"]))
    assert not padded(chunks([None, ""]))


def _snapshot_tables(store) -> dict:
    con, _ = connect(store)
    out = {}
    for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'snap_1'"
    ).fetchall():
        types = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'snap_1' "
            "AND table_name = ? ORDER BY ordinal_position",
            [name],
        ).fetchall()
        out[name] = (types, sorted(con.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr))
    con.close()
    return out


def test_dates_and_numbers_read_typed_load_as_they_do_read_as_text(tmp_path, monkeypatch):
    """A CSV file whose dates and numbers all parse is read with them typed (the checks need not parse them); the
    snapshot is the one the same files give read as text, and so are the rejects."""
    d = minimal_extract(tmp_path / "in")
    population(d, ("2024", "N", " 7", "F", "0120"), ("2024", "S", "17", "M", "5"), ("2024", "S", "3", "X", "1"))
    contacts(d, ("2024-02-29 23:59:59", ""), ("2024-03-01 00:00:00", "2024-03-04 09:30:05"))
    assert read_raw(d, "children")["date_of_birth"].type == pa.date32()
    pop = read_raw(d, "population")  # whole numbers are read as text: Arrow reads 0x1F as 31
    assert pop["count"].type == pa.string() and pop["sex"].type == pa.string()
    assert (
        read_raw(d, "contacts")["contact_at"].type == read_raw(d, "contacts")["completed_at"].type == pa.timestamp("us")
    )
    typed = load(d, tmp_path / "typed.duckdb", extract_date="2024-06-01")
    monkeypatch.setattr("kpi.readers.standard.ARROW_TYPES", {})
    assert read_raw(d, "children")["date_of_birth"].type == pa.string()
    text = load(d, tmp_path / "text.duckdb", extract_date="2024-06-01")
    assert _snapshot_tables(tmp_path / "typed.duckdb") == _snapshot_tables(tmp_path / "text.duckdb")
    assert typed.rejects.to_dict("records") == text.rejects.to_dict("records")
    assert list(typed.rejects["value"]) == ["X"]


def test_a_file_with_a_value_arrow_does_not_parse_is_read_as_text(tmp_path):
    d = minimal_extract(tmp_path / "in")
    children(d, ("K1", "F1", "01/03/2015", "M", "WBRI", "N", "N"), ("K2", "F1", "2018-07-15", "F", "WBRI", "N", "N"))
    assert read_raw(d, "children")["date_of_birth"].type == pa.string()
    res, acc = load_one(tmp_path)
    assert acc.loc["children", "rows_loaded"] == 2
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT child_id, date_of_birth FROM children ORDER BY 1").fetchall() == [
        ("K1", dt.date(2015, 3, 1)),
        ("K2", dt.date(2018, 7, 15)),
    ]


def staff(directory, *fte):
    """One social worker of team N-A for each FTE written, numbered W1, W2, ..."""
    header = model.table("staff").column_names
    rows = [[f"W{i}", "SW", "N-A", "PERM", f, "N", "2020-01-01", ""] for i, f in enumerate(fte, 1)]
    write_csv(directory, "staff", rows, header=header)


def test_a_problem_shows_a_typed_value_as_the_file_wrote_it(tmp_path):
    """Read typed, -0.50 would be shown as -0.5: a problem in a typed column has the table checked as text."""
    d = minimal_extract(tmp_path / "in")
    staff(d, "1.0", "-0.50", "01.50", "0.5")
    assert read_raw(d, "staff")["fte"].type == pa.float64()
    res, acc = load_one(tmp_path)
    got = res.rejects[["row", "column_name", "value", "reason"]].values.tolist()
    assert got == [[3, "fte", "-0.50", "expected at least 0"], [4, "fte", "01.50", "expected at most 1"]]
    assert acc.loc["staff", "rows_loaded"] == 2


def test_standard_sources_of_one_table_are_combined_as_text(tmp_path):
    """Two sources' parts of a table are combined as text: one typed, one with a date Arrow does not parse."""
    from kpi.load import load_sources
    from kpi.readers.standard import read as read_standard

    first = minimal_extract(tmp_path / "a")
    second = tmp_path / "b"
    children(
        second, ("K1", "F1", "2015-03-01", "M", "WBRI", "N", "N"), ("K7", "F9", "01/02/2016", "F", "WBRI", "Y", "S")
    )
    res = load_sources([read_standard(first), read_standard(second)], tmp_path / "w.duckdb", extract_date="2024-06-01")
    acc = res.accounting.set_index(["table_name", "file"])
    assert acc.loc[("children", "children.csv"), "rows_merged"].tolist() == [0, 1]
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT date_of_birth FROM children WHERE child_id IN ('K1', 'K7') ORDER BY 1").fetchall() == [
        (dt.date(2015, 3, 1),),
        (dt.date(2016, 2, 1),),
    ]


_PARSE = duckdb.connect()


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["date", "float"]),
    st.text(alphabet="0123456789-+./:eET \tnaifx_,\u00a0", max_size=13)
    | st.sampled_from(["NA", "N/A", "nan", "NaN", "-nan", "NULL", "null", "#N/A", "1.#IND", "inf", "-inf", "Infinity"])
    | st.sampled_from([" ", '""', "0x1F", "1e400", "1_0", "1,5", "+1.5", ".5", "5.", "2024-01-05 00:00:00"])
    | st.dates().map(str)
    | st.integers().map(str)
    | st.floats().map(str),
)
def test_a_value_arrow_reads_typed_is_one_the_checks_read_the_same(tmp_path_factory, kind, value):
    """The load takes a value Arrow reads typed only if the checks, reading it as text, take it too, as the same
    value, and it is empty (NULL) only where the checks find it empty (else the file is read as text and the checks
    judge it): whatever text a date or number column holds. Arrow reads inf and nan as numbers: a typed number that
    is not finite is rejected by the checks (and the file then checked as text)."""
    import math

    from kpi.checks import parsed
    from kpi.model import TYPES, Column
    from kpi.readers.standard import ARROW_TYPES, _read_csv

    assert set(ARROW_TYPES) == {"date", "float"}  # whole numbers stay text: Arrow reads 0x1F as 31
    path = tmp_path_factory.mktemp("v") / "t.csv"
    path.write_text(f"x\n{value}\n", encoding="utf-8")
    try:
        data, bad = _read_csv(path, ["x"], {"x": ARROW_TYPES[kind]})
    except pa.ArrowInvalid:
        return
    if not data.num_rows:  # an empty line is no row, typed or not
        return
    got = data.column(0)[0].as_py()
    raw = data.column(0)[0]
    text = next(csv.reader([value]))[0] if value else ""  # the value as the file's one field holds it
    empty, want = _PARSE.execute(
        f"SELECT x IS NULL, CAST({parsed(Column('x', kind, ''), 'x')} AS {TYPES[kind]}) "
        "FROM (SELECT NULLIF(trim(?), '') AS x)",
        [text],
    ).fetchall()[0]
    assert (not raw.is_valid) == empty, (value, got)
    if isinstance(got, float) and not math.isfinite(got):  # rejected when checked typed: so as text
        assert want is None, (value, got, want)
    else:
        assert got == want, (value, got, want)


def test_a_number_arrow_reads_typed_that_is_not_finite_is_rejected_as_written(tmp_path):
    d = minimal_extract(tmp_path / "in")
    staff(d, "1.0", "nan", "inf", "-Infinity", "1e400", "0.5", ".25", "1.", "0", "1e-1")
    assert read_raw(d, "staff")["fte"].type == pa.float64()
    res, acc = load_one(tmp_path)
    got = res.rejects[["row", "column_name", "value", "reason"]].values.tolist()
    assert got == [
        [r, "fte", v, "expected a number"] for r, v in ((3, "nan"), (4, "inf"), (5, "-Infinity"), (6, "1e400"))
    ]
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT fte FROM staff ORDER BY staff_id").fetchall() == [
        (1.0,),
        (0.1,),
        (0.5,),
        (0.25,),
        (1.0,),
        (0.0,),
    ]


def test_a_date_and_time_arrow_reads_but_the_checks_do_not_is_read_as_text():
    """Why ARROW_TYPES has no datetime: Arrow's ISO reader takes '2024-01-05 10' (10:00), which the checks reject.
    A column of them stays text (iso_timestamps), and so is judged by the checks."""
    import io

    import pyarrow.csv as pacsv

    from kpi.checks import parsed
    from kpi.model import Column
    from kpi.readers.standard import ARROW_TYPES

    assert "datetime" not in ARROW_TYPES
    arrow = pacsv.read_csv(
        io.BytesIO(b"x\n2024-01-05 10\n"), convert_options=pacsv.ConvertOptions(column_types={"x": pa.timestamp("us")})
    )
    assert arrow.column(0)[0].as_py() == dt.datetime(2024, 1, 5, 10)
    checks = f"SELECT {parsed(Column('x', 'datetime', ''), 'x')} FROM (SELECT '2024-01-05 10' AS x)"
    assert _PARSE.execute(checks).fetchall() == [(None,)]
    assert iso_timestamps(pa.chunked_array([["2024-01-05 10:00:00", "2024-01-05 10"]])) is None


@pytest.mark.parametrize(
    "written, loaded",
    [
        ("2024-01-05T10:00:00", dt.datetime(2024, 1, 5, 10)),  # another layout
        ("2024-01-05 10:00", dt.datetime(2024, 1, 5, 10)),
        ("05/01/2024 10:00:00", dt.datetime(2024, 1, 5, 10)),
        ("2024-01-05 24:00:00", dt.datetime(2024, 1, 6)),  # Arrow rejects it; the checks read the next midnight
        (" 2024-01-05 10:00:00", dt.datetime(2024, 1, 5, 10)),  # padded
        ("2024-01-05 10", None),  # rejected
        ("2024-02-30 10:00:00", None),
    ],
)
def test_a_date_and_time_not_read_typed_is_judged_by_the_checks(tmp_path, written, loaded):
    """A contacts file with one value of another layout, or not a real date and time, keeps its dates and times as
    text, and each value loads (or is rejected) as the checks read it; the other contact loads as typed."""
    d = minimal_extract(tmp_path / "in")
    contacts(d, ("2024-01-04 09:00:00", "2024-01-04 09:05:00"), (written, "2024-02-01 12:00:00"))
    assert read_raw(d, "contacts")["contact_at"].type == pa.string()
    assert read_raw(d, "contacts")["completed_at"].type == pa.timestamp("us")
    res, acc = load_one(tmp_path)
    con, _ = connect(tmp_path / "w.duckdb")
    got = con.execute("SELECT contact_id, contact_at FROM contacts ORDER BY 1").fetchall()
    assert got == [("C1", dt.datetime(2024, 1, 4, 9))] + ([("C2", loaded)] if loaded else [])
    if loaded is None:
        assert only_reject(res)[["row", "column_name", "value"]].tolist() == [3, "contact_at", written]


def test_a_date_order_problem_shows_a_typed_date_and_time_as_the_file_wrote_it(tmp_path):
    d = minimal_extract(tmp_path / "in")
    contacts(d, ("2024-01-04 09:00:00", "2024-01-04 08:59:59"), ("2024-01-05 10:00:00", ""))
    assert read_raw(d, "contacts")["completed_at"].type == pa.timestamp("us")
    res, acc = load_one(tmp_path)
    assert only_reject(res)[["row", "column_name", "value", "reason"]].tolist() == [
        2,
        "completed_at",
        "2024-01-04 08:59:59",
        "expected on or after contact_at (2024-01-04 09:00:00)",
    ]
    assert acc.loc["contacts", "rows_loaded"] == 1


_DIGIT = st.sampled_from("0123456789")


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.datetimes().map(str)
        | st.lists(_DIGIT, min_size=14, max_size=14).map(
            lambda d: "{}{}{}{}-{}{}-{}{} {}{}:{}{}:{}{}".format(*d)  # the layout, any digits: 2024-13-45 25:61:99
        )
        | st.text(alphabet="0123456789-: T/.\u00a0x", max_size=21)
        | st.just(""),
        min_size=1,
        max_size=4,
    )
)
def test_a_date_and_time_converted_is_one_the_checks_read_the_same(values):
    """iso_timestamps converts a column only if the checks read each value to the same timestamp (or find it empty),
    and the database writes each back as the file wrote it (a problem shows it so); else the checks judge it."""
    from kpi.model import Column

    got = iso_timestamps(pa.chunked_array([values[:2], values[2:]], pa.string()))
    if got is None:
        return
    for value, stamp in zip(values, got.to_pylist(), strict=True):
        want, shown = _PARSE.execute(
            f"SELECT {parsed(Column('x', 'datetime', ''), 'x')}, CAST(CAST($2 AS TIMESTAMP) AS VARCHAR) "
            "FROM (SELECT NULLIF(trim($1), '') AS x)",
            [value, stamp],
        ).fetchall()[0]
        assert stamp == want, (value, stamp, want)
        assert shown == (value or None), (value, shown)
