"""The standard format's files as councils write them: rows named by the line they start on, values and lines that
cannot be read named by line and column, encodings, separators, Parquet's own types, files that are not files, and
a file changed while it is loaded. Each either loads as it should or stops the load with a message naming it."""

import datetime as dt
import decimal
import os
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import minimal_extract

from kpi.errors import LoadError
from kpi.load import load, load_sources
from kpi.readers.standard import read
from kpi.store import connect

HEADER = "child_id,family_id,date_of_birth,sex,ethnicity,disability,locality_id"


@pytest.fixture
def extract(tmp_path):
    return minimal_extract(tmp_path / "in")


def rejected(res, table: str) -> list[tuple]:
    r = res.rejects[res.rejects["table_name"] == table]
    return list(zip(r["row"], r["column_name"], r["value"], strict=True))


def no_snapshot(store) -> bool:
    if not store.exists():
        return True
    try:
        connect(store)
    except LookupError:
        return True
    return False


def loads(d, tmp_path, accept_losses: bool = False):
    return load(d, tmp_path / "w.duckdb", extract_date="2024-06-01", accept_losses=accept_losses)


def refused(d, tmp_path, match: str):
    with pytest.raises(LoadError, match=match):
        loads(d, tmp_path)
    assert no_snapshot(tmp_path / "w.duckdb")  # nothing loaded


def test_rows_are_numbered_by_the_line_their_record_starts_on(extract, tmp_path):
    """A quoted value over two lines, blank lines (CRLF too) and a malformed line: each problem is reported at the
    file's own line, counted by hand below."""
    (extract / "children.csv").write_bytes(
        (
            HEADER + "\r\n"  # line 1
            "\r\n"  # 2: blank
            'K1,"F1\r\nsecond line",2015-03-01,M,WBRI,N,N\r\n'  # 3-4: one record over two lines
            "\r\n"  # 5: blank
            "K2,F1,2018-07-15,Q,WBRI,N,N\r\n"  # 6: sex Q
            "K9,F9\r\n"  # 7: malformed
            "\r\n"  # 8: blank
            "K3,F2,2010-12-31,F,MWBC,Y,X\r\n"  # 9: no locality X
        ).encode()
    )
    res = loads(extract, tmp_path, accept_losses=True)  # every row rejected, on purpose
    # an id with a line break inside it is rejected (control characters inside an id, A88)
    assert rejected(res, "children") == [
        (3, "family_id", "F1\r\nsecond line"),
        (6, "sex", "Q"),
        (7, "", None),
        (9, "locality_id", "X"),
    ]
    acc = res.accounting.set_index("table_name").loc["children"]
    assert (acc.rows_read, acc.rows_loaded, acc.rows_rejected) == (4, 0, 4)


def test_a_malformed_record_over_several_lines_says_so(extract, tmp_path):
    (extract / "children.csv").write_text(HEADER + '\nK1,"F1\n\nF2",2015-03-01\nK2,F1,2018-07-15,F,WBRI,N,N\n')
    res = loads(extract, tmp_path, accept_losses=True)  # K1's referrals fall with it: most of the file
    r = res.rejects[res.rejects["table_name"] == "children"].iloc[0]
    assert (r["row"], r["reason"]) == (2, "malformed line: has 3 fields, expected 7 (lines 2 to 4)")


def test_a_plain_file_keeps_one_row_a_line(extract, tmp_path):
    text = (extract / "children.csv").read_text().replace("K3,F2,2010-12-31,F", "K3,F2,2010-12-31,Q")
    (extract / "children.csv").write_text(text)
    assert rejected(loads(extract, tmp_path), "children") == [(4, "sex", "Q")]


def test_a_value_longer_than_arrows_block_is_named_by_line_and_column(extract, tmp_path):
    lines = (extract / "children.csv").read_text().splitlines()
    lines[2] = lines[2].replace("F1", "F" * 10_000_000)
    (extract / "children.csv").write_text("\n".join(lines) + "\n")
    refused(extract, tmp_path, r"children.csv line 3, column family_id: a value of 10.0 MB; expected lines of at most")


def test_a_quote_left_open_is_refused_at_its_line(extract, tmp_path):
    """Read on, the rest of the file would have been one value of one malformed row (60000 rows gone)."""
    lines = (extract / "children.csv").read_text().splitlines()
    lines[2] = lines[2].replace("F1", '"F1')
    (extract / "children.csv").write_text("\n".join(lines) + "\n" + "K9,F9,2015-01-01,M,WBRI,N,N\n" * 60000)
    refused(extract, tmp_path, r"children.csv line 3: a quote opened in this line is never closed")


@pytest.mark.parametrize(
    "content, match",
    [
        ("locality_id,name\nN,N\xf3rth\nS,South\n".encode("cp1252"), r"localities.csv line 2, column name: byte 0xF3"),
        ("locality_id,name\nN,North\n".encode("utf-16"), r"localities.csv: UTF-16 text; expected a CSV file in UTF-8"),
        (b"locality_id,na\xefme\nN,North\n", r"localities.csv line 1: byte 0xEF is not UTF-8 text"),
        (b"locality_id;name\nN;North\n", r"localities.csv: the header's fields are separated by ';'; expected commas"),
        (b"locality_id\tname\nN\tNorth\n", r"localities.csv: the header's fields are separated by '\\t'"),
        (b"", r"localities.csv: an empty file; expected a header \(table localities expects locality_id, name\)"),
        (b"\nlocality_id,name\n", r"localities.csv: line 1 is blank; expected a header"),
        (b"locality_id,name," + b"x," * 600_000 + b"\n", r"localities.csv: line 1 is longer than 1 MB"),
        (random.Random(5).randbytes(3_000_000), r"localities.csv line 1: byte 0x[0-9A-F]{2} is not UTF-8 text"),
    ],
    ids=[
        "windows-1252",
        "utf-16",
        "bad-byte-in-header",
        "semicolons",
        "tabs",
        "empty",
        "blank-first",
        "huge-header",
        "random-bytes",
    ],
)
def test_a_file_in_another_encoding_or_layout_is_refused_by_line(extract, tmp_path, content, match):
    (extract / "localities.csv").write_bytes(content)
    refused(extract, tmp_path, match)


def test_utf8_with_a_byte_order_mark_and_crlf_loads(extract, tmp_path):
    text = (extract / "localities.csv").read_text().replace("North", "N\u00f3rth")
    (extract / "localities.csv").write_bytes(("\ufeff" + text.replace("\n", "\r\n")).encode())
    res = loads(extract, tmp_path)
    assert res.rejects.empty
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT locality_id, name FROM localities ORDER BY 1").fetchall() == [
        ("N", "N\u00f3rth"),
        ("S", "South"),
    ]
    con.close()


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: p.mkdir(), r"teams.csv: a folder; expected the CSV file of table teams"),
        (lambda p: os.symlink(p.name, p), r"teams.csv: a symbolic link to nothing \(or a loop of them\)"),
        (lambda p: os.symlink("gone.csv", p), r"teams.csv: a symbolic link to nothing"),
        (lambda p: os.mkfifo(p), r"teams.csv: not a regular file \(a pipe or a device\)"),
        (lambda p: p.with_suffix(".parquet").write_text("team_id\nN-A\n"), r"teams.parquet: cannot be read as PARQUET"),
    ],
    ids=["folder", "symlink-loop", "dangling-symlink", "fifo", "parquet-that-is-text"],
)
def test_a_name_that_is_not_a_readable_file_is_refused(extract, tmp_path, make, match):
    (extract / "teams.csv").unlink()
    make(extract / "teams.csv")
    refused(extract, tmp_path, match)


def test_a_table_given_twice_is_refused(extract, tmp_path):
    pq.write_table(pa.table({"locality_id": ["N"], "name": ["North"]}), extract / "localities.parquet")
    refused(extract, tmp_path, r"both localities.csv and localities.parquet give table localities: keep one")


def test_parquet_ids_stored_as_numbers_are_read_as_written_and_said(extract, tmp_path):
    """7 is "7", whatever the file's type: not "7.0", and not "007", which the other files write: said in a note and
    in each problem's column."""
    (extract / "localities.csv").unlink()
    pq.write_table(
        pa.table({"locality_id": pa.array([7, 8], pa.int32()), "name": ["North", "South"]}),
        extract / "localities.parquet",
    )
    for name, old, new in (
        ("children", ",N\n", ",7\n"),
        ("children", ",S\n", ",007\n"),
        ("referrals", "N-A,N,", "N-A,7,"),
        ("referrals", "N-A,S,", "N-A,8,"),
    ):
        p = extract / f"{name}.csv"
        p.write_text(p.read_text().replace(old, new))
    pq.write_table(
        pa.table(
            {
                "team_id": ["N-A", "LC"],
                "name": ["a", "b"],
                "service": ["ASSESSMENT", "LEAVING_CARE"],
                "locality_id": pa.array([7.0, None]),
                "frontline": [True, False],
            }
        ),
        extract / "teams.parquet",
    )
    (extract / "teams.csv").unlink()
    res = loads(extract, tmp_path)
    assert "localities.parquet stores locality_id as numbers: read as written (7, not 007)" in "\n".join(res.notes)
    assert "teams.parquet stores locality_id as numbers" in "\n".join(res.notes)
    assert rejected(res, "teams") == []
    assert rejected(res, "children") == [(4, "locality_id", "007")]  # K3's: 007 is not 7
    assert rejected(res, "referrals") == [(4, "child_id", "K3")]  # fell with K3
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT team_id, locality_id, frontline FROM teams ORDER BY 1").fetchall() == [
        ("LC", None, False),
        ("N-A", "7", True),
    ]
    con.close()


def test_parquet_types_are_read_as_the_checks_read_text(extract, tmp_path):
    """Whole floats and decimals are whole numbers; a timestamp is its own zone's date and time to the second (a
    date where the model wants one and the time is midnight); booleans, dictionaries and nulls as they are."""
    london = pa.timestamp("ms", tz="Europe/London")
    children = pa.table(
        {
            "child_id": pa.array(["K1", "K2", "K3"]).dictionary_encode(),
            "family_id": ["F1", "F1", "F2"],
            # local midnights: 2018-07-15 00:00 in summer time is 2018-07-14 23:00 UTC
            "date_of_birth": pa.array(
                [dt.datetime(2015, 3, 1), dt.datetime(2018, 7, 14, 23), dt.datetime(2010, 12, 31)],
                pa.timestamp("ms", tz="UTC"),
            ).cast(london),
            "sex": ["M", "F", "F"],
            "ethnicity": pa.array(["WBRI", "WBRI", "MWBC"]).dictionary_encode(),
            "disability": [False, False, True],
            "locality_id": ["N", "N", "S"],
            "unused": pa.nulls(3),
        }
    )
    pq.write_table(children, extract / "children.parquet")
    (extract / "children.csv").unlink()
    pq.write_table(
        pa.table(
            {
                "year": [2024.0, 2024.0],
                "locality_id": ["N", "S"],
                "age": pa.array([decimal.Decimal("5.00"), decimal.Decimal("16.00")], pa.decimal128(5, 2)),
                "sex": ["M", "F"],
                "count": pa.array([100, 120], pa.int16()),
            }
        ),
        extract / "population.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "contact_id": ["C1"],
                "child_id": ["K1"],
                "contact_at": pa.array([dt.datetime(2024, 5, 1, 10, 30)], pa.timestamp("ns")),
                "source": ["1A"],
                "screening_rag": pa.nulls(1, pa.string()),
                "completed_at": pa.array([None], pa.timestamp("us")),
                "outcome": pa.nulls(1),
            }
        ),
        extract / "contacts.parquet",
    )
    res = loads(extract, tmp_path)
    assert res.rejects.empty, res.rejects
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT child_id, date_of_birth, ethnicity, disability FROM children ORDER BY 1").fetchall() == [
        ("K1", dt.date(2015, 3, 1), "WBRI", False),
        ("K2", dt.date(2018, 7, 15), "WBRI", False),
        ("K3", dt.date(2010, 12, 31), "MWBC", True),
    ]
    assert con.execute("SELECT year, age, count FROM population ORDER BY age").fetchall() == [
        (2024, 5, 100),
        (2024, 16, 120),
    ]
    assert con.execute("SELECT contact_at, completed_at FROM contacts").fetchall() == [
        (dt.datetime(2024, 5, 1, 10, 30), None)
    ]
    con.close()


def test_a_parquet_column_of_lists_is_refused(extract, tmp_path):
    pq.write_table(
        pa.table({"locality_id": [["N"], ["S"]], "name": ["North", "South"]}), extract / "localities.parquet"
    )
    (extract / "localities.csv").unlink()
    refused(extract, tmp_path, r"localities.parquet: column locality_id holds lists; expected one value a row")


@pytest.mark.parametrize("how", ["rewritten", "replaced"])
def test_a_file_changed_while_it_is_loaded_is_refused(extract, tmp_path, how):
    """Changed after it was read and before its checksum: what was loaded is neither version, and the load stops."""
    source = read(extract)
    parts = source.parts

    def parts_then_changed(name):
        got = parts(name)
        if name == "children":
            p = extract / "children.csv"
            text = p.read_text().replace("K3", "K4")
            if how == "rewritten":  # written again in place: the same size, a new time
                p.write_text(text)
                os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns + 1_000_000))
            else:  # a new file put in its place (a new inode)
                (extract / "new.csv").write_text(text)
                os.replace(extract / "new.csv", p)
        return got

    source.parts = parts_then_changed
    with pytest.raises(LoadError, match=r"children.csv: changed while it was being loaded; load again once it is"):
        load_sources([source], tmp_path / "w.duckdb", extract_date="2024-06-01")
    assert no_snapshot(tmp_path / "w.duckdb")


def test_a_parquet_column_given_twice_is_refused(extract, tmp_path):
    t = pa.Table.from_arrays(
        [pa.array(["N"]), pa.array(["North"]), pa.array(["South"])], ["locality_id", "name", "name "]
    )
    pq.write_table(t, extract / "localities.parquet")
    (extract / "localities.csv").unlink()
    refused(extract, tmp_path, r"localities.parquet: column\(s\) name appear more than once in the header")


@pytest.mark.parametrize("fmt", ["ssda903", "cin", "annex-a"])
def test_a_statutory_file_changed_after_it_was_read_is_refused(tmp_path, fmt):
    """Every reader takes a file's stat before reading it: a return, census or workbook written again between its
    reading and its checksum is refused, as the standard files are (A79)."""
    from bad_inputs import LIST3, census_xml, list3_rows, ssda903, workbook

    from kpi.readers import read as read_sources

    if fmt == "ssda903":
        src = ssda903(tmp_path)
        changed = src / "2023-24" / "header.csv"
    elif fmt == "cin":
        src = changed = tmp_path / "census.xml"
        src.write_text(census_xml())
    else:
        src = changed = workbook(tmp_path / "annex.xlsx", {"List 3": [LIST3, *list3_rows()]})
    extracts = read_sources([(fmt, str(src))])
    changed.write_bytes(changed.read_bytes() + b"\n")  # written again after it was read
    with pytest.raises(LoadError, match=rf"{changed.name}: changed while it was being loaded"):
        load_sources(extracts, tmp_path / "w.duckdb", extract_date="2024-06-01", accept_losses=True)
    assert no_snapshot(tmp_path / "w.duckdb")


def test_a_parquet_timestamp_in_utc_is_the_time_in_england(extract, tmp_path):
    """2024-04-30 23:30 UTC is 1 May 00:30 in England (summer time), as a database's timestamptz is read; a
    timestamp with no zone is as written."""
    pq.write_table(
        pa.table(
            {
                "contact_id": ["C1", "C2"],
                "child_id": ["K1", "K1"],
                "contact_at": pa.array(
                    [dt.datetime(2024, 4, 30, 23, 30), dt.datetime(2024, 1, 10, 9)], pa.timestamp("us", tz="UTC")
                ),
                "source": ["1A", "1A"],
                "screening_rag": pa.nulls(2, pa.string()),
                "completed_at": pa.array([dt.datetime(2024, 5, 1, 10), None], pa.timestamp("us")),
                "outcome": pa.nulls(2),
            }
        ),
        extract / "contacts.parquet",
    )
    res = loads(extract, tmp_path)
    assert res.rejects.empty, res.rejects
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT contact_at, completed_at FROM contacts ORDER BY 1").fetchall() == [
        (dt.datetime(2024, 1, 10, 9), None),  # winter: England is UTC
        (dt.datetime(2024, 5, 1, 0, 30), dt.datetime(2024, 5, 1, 10)),
    ]
    con.close()


def test_files_not_read_are_noted_with_the_table_they_look_like(extract, tmp_path):
    """The standard format reads <table>.csv or <table>.parquet only: every other file in the folder is noted, one
    whose name differs only in case or extension with the table it looks like, so "no source supplies localities"
    is not all the user reads while Localities.CSV sits in the folder."""
    (extract / "Localities.CSV").write_text((extract / "localities.csv").read_text())
    (extract / "referrals.csv.gz").write_bytes(b"")
    (extract / "children_old.csv").write_text(HEADER + "\n")
    (extract / "notes.txt").write_text("read me\n")
    (extract / "2023").mkdir()
    (extract / ".~lock.children.csv#").write_text("")
    # a spreadsheet's trailing comma on every line of teams.csv: an empty column name
    teams = extract / "teams.csv"
    teams.write_text("".join(line + ",\n" for line in teams.read_text().splitlines()))
    ex = read(extract)
    notes = [n for n in ex.notes if "not read" in n or "trailing" in n]
    like = (
        "not read: named like table {0}, whose file is read only as {0}.csv or {0}.parquet (lower case, not compressed)"
    )
    other = "not read: not named after a table of the data model (e.g. children.csv; see docs/data-model.md)"
    assert notes == [
        ".~lock.children.csv#: a hidden or lock file: not read",
        "2023: a folder: not read (the standard format reads the files in the folder given, not its folders)",
        "Localities.CSV: " + like.format("localities") + ": rename it to load it",
        "children_old.csv: " + other,
        "notes.txt: " + other,
        "referrals.csv.gz: " + like.format("referrals") + ": rename it to load it",
        "teams.csv: column(s) an empty column name (a trailing comma?) are not in the data model and were ignored",
    ]
    assert {"localities", "referrals"} <= ex.supplies
    # the table's only file, named so: the table would be missing while its file is in the folder
    (extract / "localities.csv").unlink()
    with pytest.raises(LoadError, match=r"Localities.CSV: not read: named like table localities, whose file is read"):
        read(extract)
