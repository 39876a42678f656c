"""An extract written before the data model gained an optional column (``assessments.seen_alone``, issue 21)
still loads: the column is empty, the availability record says it was not supplied, and a measure reading it is
"not available", never 0% (docs/assumptions.md A195)."""

import pandas as pd
import pytest
import yaml
from helpers import minimal_extract, write_csv

from kpi.catalogue import load as load_catalogue
from kpi.catalogue import parse
from kpi.engine import Context, compute
from kpi.errors import LoadError
from kpi.load import load, load_sources
from kpi.readers import read
from kpi.readers.standard import check_header
from kpi.store import availability_of, connect

OLD_HEADER = ["assessment_id", "child_id", "referral_id", "assessment_type", "start_date", "authorised_date"]
OLD_HEADER += ["outcome", "team_id"]  # the assessments' header before seen_alone was added (ddbfd7c)
# three initial assessments authorised in March 2024; A1 and A2 saw the child alone, A3 did not
ROWS = [
    ["A1", "K1", "R1", "INITIAL", "2024-02-01", "2024-03-05", "", "N-A"],
    ["A2", "K2", "R2", "INITIAL", "2024-02-12", "2024-03-12", "", "N-A"],
    ["A3", "K3", "R3", "INITIAL", "2024-02-21", "2024-03-20", "", "N-A"],
]
SEEN = ["Y", "Y", "N"]

MEASURES = parse(
    yaml.safe_dump(
        {
            "sections": [{"key": "assessment", "title": "Assessment"}],
            "measures": [
                {
                    "ref": "SEEN",
                    "title": "Initial assessments where the child was seen alone",
                    "section": "assessment",
                    "unit": "percent",
                    "kind": "flow",
                    "direction": "higher",
                    "definition": "Initial assessments authorised in the month with the child seen alone, over those.",
                    "parts": [
                        {
                            "events": "assessments",
                            "date": "authorised_date",
                            "where": "t.assessment_type = 'INITIAL'",
                            "num": "t.seen_alone",
                        }
                    ],
                },
                {
                    "ref": "IA",
                    "title": "Initial assessments authorised",
                    "section": "assessment",
                    "unit": "count",
                    "kind": "flow",
                    "direction": "higher",
                    "definition": "Initial assessments authorised in the month.",
                    "parts": [
                        {"events": "assessments", "date": "authorised_date", "where": "t.assessment_type = 'INITIAL'"}
                    ],
                },
            ],
        }
    )
)


def extract(directory, seen: bool):
    d = minimal_extract(directory)
    if seen:
        write_csv(
            d, "assessments", [r + [s] for r, s in zip(ROWS, SEEN, strict=True)], header=OLD_HEADER + ["seen_alone"]
        )
    else:
        write_csv(d, "assessments", ROWS, header=OLD_HEADER)
    return d


def figures(store) -> dict:
    con, snap = connect(store)
    try:
        ctx = Context.prepare(con, snap)
        df = compute(ctx, MEASURES, ["2024-03"]).set_index("measure")
        return (
            {r: (df.loc[r, "numerator"], df.loc[r, "denominator"]) for r in df.index},
            ctx.unavailable(MEASURES["SEEN"]),
            availability_of(con, int(snap["snapshot_id"])),
        )
    finally:
        con.close()


def compute_county(store):
    con, snap = connect(store)
    try:
        return compute(Context.prepare(con, snap), load_catalogue("county"), ["2024-03"])
    finally:
        con.close()


def test_an_extract_without_an_optional_column_loads_and_its_measure_is_not_available(tmp_path):
    res = load(extract(tmp_path / "old", seen=False), tmp_path / "old.duckdb", extract_date="2024-04-10")
    assert res.rejects.empty
    assert res.accounting.set_index("table_name").loc["assessments", "rows_loaded"] == 3
    assert "assessments.seen_alone: no column seen_alone in assessments.csv" in res.notes
    got, why, avail = figures(tmp_path / "old.duckdb")
    assert why == "assessments.seen_alone: no column seen_alone in assessments.csv"
    assert "SEEN" not in got  # not a figure of 0 of 3: none at all
    assert got["IA"][0] == 3
    row = avail[avail["column_name"] == "seen_alone"]
    assert row[["table_name", "reason"]].values.tolist() == [["assessments", "no column seen_alone in assessments.csv"]]

    # the same records with the column: 2 of 3 seen alone, and the other measure unchanged
    load(extract(tmp_path / "new", seen=True), tmp_path / "new.duckdb", extract_date="2024-04-10")
    got_new, why_new, avail_new = figures(tmp_path / "new.duckdb")
    assert why_new is None and "seen_alone" not in set(avail_new["column_name"].dropna())
    assert got_new["SEEN"] == (2, 3)
    assert got_new["IA"][0] == got["IA"][0] == 3
    # and every measure of the county set is the same on both (none of them reads seen_alone)
    county = [compute_county(tmp_path / f"{n}.duckdb") for n in ("old", "new")]
    assert {"2.0", "2.1", "2.2"} <= set(county[0]["measure"])  # the assessments' own
    pd.testing.assert_frame_equal(county[0], county[1])


def test_a_required_column_absent_still_stops_the_load(tmp_path):
    d = extract(tmp_path / "x", seen=False)
    write_csv(d, "assessments", [r[:4] + r[5:] for r in ROWS], header=OLD_HEADER[:4] + OLD_HEADER[5:])
    with pytest.raises(LoadError, match=r"assessments.csv: missing column\(s\) start_date; table assessments"):
        load(d, tmp_path / "x.duckdb", extract_date="2024-04-10")
    from kpi import model

    # only optional columns may be absent: the model's own list of them
    h = check_header(extract(tmp_path / "y", seen=False), model.table("assessments"))
    assert h.absent == ["seen_alone"]


def test_a_parquet_file_without_the_optional_column_loads_too(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    d = extract(tmp_path / "pq", seen=False)
    (d / "assessments.csv").unlink()
    pq.write_table(pa.table({h: [r[i] for r in ROWS] for i, h in enumerate(OLD_HEADER)}), d / "assessments.parquet")
    res = load(d, tmp_path / "pq.duckdb", extract_date="2024-04-10")
    assert res.accounting.set_index("table_name").loc["assessments", "rows_loaded"] == 3
    assert "assessments.seen_alone: no column seen_alone in assessments.parquet" in res.notes


def test_a_database_table_without_the_optional_column_loads(tmp_path):
    import sqlite3

    db = tmp_path / "council.db"
    d = extract(tmp_path / "files", seen=False)
    with sqlite3.connect(db) as con:
        con.execute(f"CREATE TABLE assessments ({', '.join(h + ' TEXT' for h in OLD_HEADER)})")
        con.executemany(f"INSERT INTO assessments VALUES ({', '.join('?' * len(OLD_HEADER))})", ROWS)
    (d / "assessments.csv").unlink()
    sources = read([("standard", str(d)), ("sql", f"sqlite:///{db}")])
    res = load_sources(sources, tmp_path / "db.duckdb", extract_date="2024-04-10")
    assert res.rejects.empty
    assert res.accounting.set_index("table_name").loc["assessments", "rows_loaded"] == 3
    got, why, _ = figures(tmp_path / "db.duckdb")
    assert why == 'assessments.seen_alone: no column seen_alone in table "assessments"'
    assert got["IA"][0] == 3 and "SEEN" not in got
