"""The SQL reader against a real PostgreSQL server, started on loopback for these tests and stopped after
(tests/postgres.py): the standard tables, a council's own tables through a mapping file, and the errors."""

import datetime as dt
import io
from contextlib import redirect_stdout

import pandas as pd
import pytest
import sqlalchemy as sa
from helpers import minimal_extract
from postgres import running_server

from kpi import model
from kpi.cli import main
from kpi.errors import LoadError
from kpi.load import load, load_sources
from kpi.readers import read
from kpi.store import connect


@pytest.fixture(scope="module")
def server():
    with running_server() as url:
        yield url


def engine(url: str):
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))


def fresh_database(url: str, name: str) -> str:
    with engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as con:
        con.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        con.execute(sa.text(f"CREATE DATABASE {name}"))
    return url.rsplit("/", 1)[0] + "/" + name


def tables_of(store) -> dict[str, pd.DataFrame]:
    con, _ = connect(store)
    out = {}
    for t in model.TABLES:
        df = con.execute(f'SELECT * FROM "{t.name}"').df()
        out[t.name] = df.sort_values(t.column_names[0], ignore_index=True) if len(df) else df
    con.close()
    return out


def test_standard_tables_in_postgresql_load_as_the_files_do(server, tmp_path):
    """The minimal extract, typed, in PostgreSQL: the SQL reader loads exactly what the files load."""
    minimal_extract(tmp_path / "in")
    load(tmp_path / "in", tmp_path / "files.duckdb", extract_date="2024-06-01")
    expected = tables_of(tmp_path / "files.duckdb")
    url = fresh_database(server, "standard")
    with engine(url).begin() as con:
        for name, df in expected.items():
            if len(df):
                df.to_sql(name, con, index=False)  # dates, booleans and numbers as PostgreSQL types
    res = load_sources(read([("sql", url)]), tmp_path / "sql.duckdb", extract_date="2024-06-01")
    assert res.rejects.empty, res.rejects
    got = tables_of(tmp_path / "sql.duckdb")
    for name, df in expected.items():
        pd.testing.assert_frame_equal(got[name], df, check_dtype=False, obj=name)
    assert res.accounting.set_index("table_name").loc["referrals", "file"] == 'table "referrals"'


MAPPING = """
schema: crm
extract_date: 2024-06-01
tables:
  children:
    from: people
    columns: {child_id: person_ref, family_id: household, date_of_birth: born, sex: gender, ethnicity: eth,
              disability: disabled, locality_id: area}
  localities:
    sql: SELECT DISTINCT area AS locality_id, area AS name FROM crm.people
"""


def test_a_councils_own_tables_through_a_mapping(server, tmp_path):
    url = fresh_database(server, "council")
    people = pd.DataFrame(
        {
            "person_ref": ["P1", "P2", "P3"],
            "household": ["H1", "H1", "H2"],
            "born": [dt.date(2015, 3, 1), dt.date(2016, 4, 2), dt.date(2017, 5, 3)],
            "gender": ["M", "F", "Q"],
            "eth": ["WBRI", "WBRI", "AIND"],
            "disabled": [False, True, False],
            "area": ["N", "N", "S"],
        }
    )
    with engine(url).begin() as con:
        con.execute(sa.text("CREATE SCHEMA crm"))
        people.to_sql("people", con, schema="crm", index=False)
    (tmp_path / "map.yaml").write_text(MAPPING)
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(
            [
                "load",
                "--format",
                "sql",
                url,
                "--mapping",
                str(tmp_path / "map.yaml"),
                "--store",
                str(tmp_path / "w.duckdb"),
            ]
        )
    out = buf.getvalue()
    assert code == 0, out
    # rows are numbered in key order; the problem is named by the council's own column
    assert "crm.people row 3, column gender: 'Q': expected one of the sex codes" in out
    con, snap = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT child_id, disability, locality_id FROM children ORDER BY 1").fetchall() == [
        ("P1", False, "N"),
        ("P2", True, "N"),
    ]
    assert str(snap["extract_date"])[:10] == "2024-06-01"  # from the mapping file
    assert sorted(con.execute("SELECT locality_id FROM localities").fetchall()) == [("N",), ("S",)]
    missing = con.execute("SELECT table_name FROM meta.availability WHERE column_name IS NULL").fetchall()
    assert ("referrals",) in missing  # not in the mapping: measures needing it are not available


def test_sql_errors_name_the_table_and_what_was_expected(server, tmp_path):
    url = fresh_database(server, "broken")
    with engine(url).begin() as con:
        pd.DataFrame({"locality_id": ["N"]}).to_sql("localities", con, index=False)  # no name column
    with pytest.raises(LoadError, match=r'table "localities": missing column\(s\) name; table localities expects'):
        read([("sql", url)])
    (tmp_path / "bad.yaml").write_text("tables:\n  referals:\n    from: x\n    columns: {}\n")
    with pytest.raises(LoadError, match=r"bad.yaml: no table\(s\) referals in the data model"):
        read([("sql", url)], mapping=tmp_path / "bad.yaml")
    with pytest.raises(
        LoadError, match=r"postgresql://kpi:\*\*\*@127.0.0.1:1/nowhere: OperationalError.*Connection refused"
    ):
        read([("sql", "postgresql://kpi:secret@127.0.0.1:1/nowhere")])
