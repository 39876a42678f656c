"""Property: whatever is wrong with the rows, every row read is either loaded or listed as rejected."""

import csv

import duckdb
from helpers import minimal_extract
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi.load import load

CELLS = st.sampled_from(
    [
        "",
        "K1",
        "K2",
        "K9",
        "X",
        "N",
        "S",
        "2015-03-01",
        "01/03/2015",
        "2031-01-01",
        "31/02/2015",
        "WBRI",
        "Y",
        "RC8",
        "N-A",
        "0",
        "-3",
        "  ",
        "é",
    ]
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(["children", "referrals"]), st.integers(0, 2), st.integers(0, 10), CELLS), max_size=8
    )
)
def test_rows_read_equal_rows_loaded_plus_rows_rejected(tmp_path_factory, edits):
    d = minimal_extract(tmp_path_factory.mktemp("acc") / "in")
    for table, row, col, value in edits:
        path = d / f"{table}.csv"
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
        rows[1 + row][col % len(rows[0])] = value
        with open(path, "w", newline="") as f:
            csv.writer(f).writerows(rows)
    store = d.parent / "w.duckdb"
    res = load(d, store, extract_date="2024-06-01", accept_losses=True)
    acc = res.accounting.set_index("table_name")
    assert (acc.rows_read == acc.rows_loaded + acc.rows_rejected).all()
    for table in ("children", "referrals"):
        rejected_rows = set(res.rejects.loc[res.rejects.table_name == table, "row"])
        assert len(rejected_rows) == acc.loc[table, "rows_rejected"]
        with duckdb.connect(str(store), read_only=True) as con:
            loaded = con.execute(f"SELECT count(*) FROM snap_1.{table}").fetchall()[0][0]
        assert loaded + len(rejected_rows) == 3


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
    from kpi.load import sha256

    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "abc").write_bytes(b"abc")
    assert sha256(tmp_path / "empty") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert sha256(tmp_path / "abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
