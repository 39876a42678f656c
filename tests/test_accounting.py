"""Property: whatever is wrong with the rows, every row read is either loaded or listed as rejected."""

import csv

import duckdb
from helpers import minimal_extract, write_csv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi.load import load, load_sources
from kpi.readers.standard import read as read_standard

CELLS = st.sampled_from(
    [
        "",
        "K1",
        "K2",
        "K9",
        "R1",
        "R3",
        "X",
        "N",
        "S",
        "2015-03-01",
        "01/03/2015",
        "2015-03-01 00:00",
        "2015-03-01 10:30",
        "2031-01-01",
        "31/02/2015",
        "WBRI",
        "Y",
        "RC8",
        "N-A",
        "0",
        "-3",
        "5.5",
        "0x1F",
        "nan",
        "  ",
        "é",
        '"',
        "a,b",
    ]
)
TABLES = ["children", "referrals", "assessments", "population"]
# damage to a row: a cell changed, the row given twice, a field too many, a blank line after it
DAMAGE = st.tuples(st.sampled_from(TABLES), st.integers(0, 2), st.integers(0, 10), CELLS) | st.tuples(
    st.sampled_from(TABLES), st.integers(0, 2), st.sampled_from(["twice", "surplus", "blank"]), st.just("")
)


def _extract(directory):
    """The minimal extract, with three assessments (one of each referral) and two population cells."""
    d = minimal_extract(directory)
    header = ["assessment_id", "child_id", "referral_id", "assessment_type", "start_date", "authorised_date"]
    rows = [[f"A{i}", f"K{i}", f"R{i}", "INITIAL", "2024-03-02", ""] for i in (1, 2, 3)]
    # the header of an extract older than assessments.seen_alone (an optional column: it may be absent)
    write_csv(d, "assessments", [r + ["", "N-A"] for r in rows], header=header + ["outcome", "team_id"])
    pop = [[2024, "N", 5, "M", 6000], [2024, "S", 12, "F", 4000]]
    write_csv(d, "population", pop, header=["year", "locality_id", "age", "sex", "count"])
    return d


def _second_source(directory):
    """A second source as Parquet (its own file names): K1 again and K7, the North cell again and another."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory.mkdir(parents=True)
    kids = {"child_id": ["K1", "K7"], "family_id": ["F1", "F7"], "date_of_birth": ["2015-03-01", "2016-01-01"]}
    kids |= {"sex": ["M", "F"], "ethnicity": ["WBRI", "WBRI"], "disability": ["N", "N"], "locality_id": ["N", "S"]}
    pq.write_table(pa.table(kids), directory / "children.parquet")
    pop = {"year": ["2024", "2024"], "locality_id": ["N", "N"], "age": ["5", "6"], "sex": ["M", "M"]}
    pq.write_table(pa.table(pop | {"count": ["6000", "10"]}), directory / "population.parquet")
    return directory


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(DAMAGE, max_size=8), two_sources=st.booleans())
def test_rows_read_equal_rows_loaded_plus_rows_rejected_plus_rows_merged(tmp_path_factory, edits, two_sources):
    """Whatever is wrong with the rows (bad values of every type, repeats, malformed and blank lines, cascades
    through three levels of references, records merged from a second source), every row read is loaded, rejected
    or merged, once; each rejected row is listed, and one that fell with its parent names a root that is listed."""
    root = tmp_path_factory.mktemp("acc")
    d = _extract(root / "in")
    for table, row, col, value in edits:
        path = d / f"{table}.csv"
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
        body = [r for r in rows[1:] if r]
        if not body:
            continue
        at = 1 + rows[1:].index(body[row % len(body)])
        if col == "twice":
            rows.insert(at, list(rows[at]))
        elif col == "surplus":
            rows[at] = rows[at] + ["surplus"]
        elif col == "blank":
            rows.insert(at + 1, [])
        else:
            rows[at][col % len(rows[0])] = value
        with open(path, "w", newline="") as f:
            csv.writer(f).writerows(rows)
    extracts = [read_standard(d)] + ([read_standard(_second_source(root / "b"))] if two_sources else [])
    store = root / "w.duckdb"
    res = load_sources(extracts, store, extract_date="2024-06-01", accept_losses=True)
    acc = res.accounting.set_index(["table_name", "file"])
    assert (acc.rows_read == acc.rows_loaded + acc.rows_rejected + acc.rows_merged).all()
    rej = res.rejects
    merged = rej["reason"].str.startswith("same ")
    for table in TABLES:
        with open(d / f"{table}.csv", newline="") as f:
            lines = [r for r in list(csv.reader(f))[1:] if r]  # a blank line is no row
        assert acc.loc[(table, f"{table}.csv"), "rows_read"] == len(lines)
        with duckdb.connect(str(store), read_only=True) as con:
            loaded = con.execute(f"SELECT count(*) FROM snap_1.{table}").fetchall()[0][0]
        assert loaded == acc.loc[table, "rows_loaded"].sum()
        for file, a in acc.loc[table].iterrows():
            mine = rej[(rej.table_name == table) & (rej.file == file)]
            assert mine.loc[~merged, "row"].nunique() == a.rows_rejected, (table, file)
            assert merged[mine.index].sum() == a.rows_merged, (table, file)
    fell = rej[rej["root_table"].notna()]
    listed = set(zip(rej.table_name, rej.file, rej.row, strict=True))
    assert all((r.root_table, r.root_file, r.root_row) in listed for r in fell.itertuples())


def test_each_file_is_recorded_with_its_checksum(tmp_path):
    import hashlib

    from kpi.store import accounting_of, connect

    d = minimal_extract(tmp_path / "in")
    load(d, tmp_path / "w.duckdb", extract_date="2024-06-01")
    con, snap = connect(tmp_path / "w.duckdb")
    acc = accounting_of(con, snap["snapshot_id"]).dropna(subset=["file"])
    assert len(acc) >= 4  # the minimal extract: localities, teams, children, referrals
    for r in acc.itertuples():
        assert r.sha256 == hashlib.sha256((d / r.file).read_bytes()).hexdigest(), r.file


def test_a_checksum_is_read_through_a_map_and_of_an_empty_file_without_one(tmp_path):
    from kpi.files import sha256

    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "abc").write_bytes(b"abc")
    assert sha256(tmp_path / "empty") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert sha256(tmp_path / "abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
