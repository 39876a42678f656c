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


def in_thread(fn, guard: float = 120):
    """fn() run in a thread, so that a test of a hang fails rather than hangs (``guard``: no measure of speed)."""
    import threading

    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(guard)
    assert not t.is_alive(), "still waiting on the database"
    return box


def test_a_server_that_accepts_and_never_answers_stops_the_load():
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])  # kept open, never answered
            except TimeoutError:
                continue
            except OSError:  # closed at the end of the test
                return

    threading.Thread(target=accept, daemon=True).start()
    url = f"postgresql://kpi:secret@127.0.0.1:{listener.getsockname()[1]}/db"
    try:
        box = in_thread(lambda: read([("sql", url)], sql_timeout=2))
    finally:
        stop.set()
        for c in held:
            c.close()
        listener.close()
    assert isinstance(box.get("error"), LoadError), box
    assert "no answer in time; is the database up? (--sql-timeout SECONDS)" in str(box["error"])
    assert "secret" not in str(box["error"])


def test_a_query_running_longer_than_allowed_is_cancelled(server, tmp_path):
    url = fresh_database(server, "slow")
    with engine(url).begin() as con:
        con.execute(sa.text("CREATE VIEW localities AS SELECT 'N' AS locality_id, 'North' AS name FROM pg_sleep(30)"))
    box = in_thread(lambda: read([("sql", url)], sql_timeout=1))
    assert isinstance(box.get("error"), LoadError), box
    assert 'table "localities": a query ran longer than the time allowed (--sql-timeout SECONDS)' in str(box["error"])
    code = main(["load", "--format", "sql", url, "--sql-timeout", "0", "--store", tmp_path / "w.duckdb"])
    assert code == 2 and not (tmp_path / "w.duckdb").exists()


def test_a_query_or_table_giving_a_column_twice_is_refused(server, tmp_path):
    url = fresh_database(server, "twice")
    with engine(url).begin() as con:
        con.execute(sa.text('CREATE TABLE localities (locality_id text, name text, "NAME" text)'))
    with pytest.raises(LoadError, match=r'table "localities": columns "name" and "NAME" differ only in case'):
        read([("sql", url)])
    (tmp_path / "m.yaml").write_text(
        "tables:\n  localities:\n    sql: SELECT locality_id, name, name || '!' AS name FROM localities\n"
    )
    with pytest.raises(LoadError, match=r"m.yaml: tables.localities: column\(s\) name given more than once"):
        read([("sql", url)], mapping=tmp_path / "m.yaml")
    with engine(url).begin() as con:
        con.execute(sa.text('ALTER TABLE localities DROP COLUMN "NAME"'))
        con.execute(sa.text("CREATE TABLE teams (team_id text)"))
        con.execute(sa.text('CREATE TABLE "Teams" (team_id text)'))
    with pytest.raises(LoadError, match=r'tables "Teams" and "teams" differ only in case|"teams" and "Teams"'):
        read([("sql", url)])


@pytest.mark.parametrize(
    "text, match",
    [
        ("tables: [children]\n", r"expected a mapping with `tables:`"),
        ("tables:\n  children: people\n", r"tables.children: give `from`"),
        ("tables:\n  children: {from: people, sql: SELECT 1}\n", r"tables.children: give `from`"),
        ("tables:\n  children: {from: people, columns: [child_id]}\n", r"tables.children: give `from`"),
        ("tables:\n  children: {from: people, columns: {child_id: }}\n", r"columns: expected your column's name"),
        ("tables:\n  children: {sql: ''}\n", r"tables.children: sql: expected a query"),
        ("tabels:\n  children: {sql: SELECT 1}\ntables: {}\n", r"unknown field\(s\) tabels"),
        (
            "tables:\n  children:\n    from: people\n    columns: {child_id: a, child_id: b}\n",
            r"not valid YAML: .*child_id given twice",
        ),
        ("tables:\n  children: {from: people\n", r"not valid YAML"),
        (
            "tables:\n  localities: {from: nowhere, columns: {locality_id: a, name: b}}\n",
            r"tables.localities \(nowhere\)",
        ),
    ],
    ids=[
        "tables-a-list",
        "table-a-string",
        "from-and-sql",
        "columns-a-list",
        "column-empty",
        "sql-empty",
        "unknown-field",
        "key-twice",
        "not-yaml",
        "no-such-table",
    ],
)
def test_a_mapping_with_mistakes_is_refused_by_name(server, tmp_path, text, match):
    url = fresh_database(server, "mapped")
    (tmp_path / "map.yaml").write_text(text)
    with pytest.raises(LoadError, match=match):
        read([("sql", url)], mapping=tmp_path / "map.yaml")


def test_a_view_that_fails_or_a_wrong_login_is_named(server, tmp_path):
    url = fresh_database(server, "failing")
    with engine(url).begin() as con:
        con.execute(sa.text("CREATE VIEW localities AS SELECT 'N' AS locality_id, (1 / 0)::text AS name"))
    with pytest.raises(LoadError, match=r'table "localities": DataError: .*division by zero'):
        read([("sql", url)])
    wrong = url.replace("kpi@", "nobody:pa55word@")
    with pytest.raises(LoadError, match=r'nobody:\*\*\*@.*role "nobody" does not exist') as e:
        read([("sql", wrong)])
    assert "pa55word" not in str(e.value)
    with pytest.raises(LoadError, match=r"no such database file"):
        read([("sql", f"sqlite:///{tmp_path / 'none.db'}")])
    assert not (tmp_path / "none.db").exists()


def test_database_types_are_read_as_files_give_them(server, tmp_path):
    """Numbers as ids (said in a note), NUMERIC whole numbers, a timestamptz in English time."""
    url = fresh_database(server, "types")
    with engine(url).begin() as con:
        con.execute(sa.text("CREATE TABLE localities (locality_id integer, name text)"))
        con.execute(sa.text("INSERT INTO localities VALUES (7, 'North')"))
        con.execute(
            sa.text(
                "CREATE TABLE population (year numeric(6, 2), locality_id integer, age int, sex text, "
                "count numeric(10, 2))"
            )
        )
        con.execute(sa.text("INSERT INTO population VALUES (2024.00, 7, 5, 'M', 100.00)"))
        con.execute(
            sa.text(
                "CREATE TABLE children AS SELECT 'K1' AS child_id, 'F1' AS family_id, "
                "date '2015-03-01' AS date_of_birth, 'M' AS sex, 'WBRI' AS ethnicity, false AS disability, "
                "7 AS locality_id"
            )
        )
        con.execute(
            sa.text(
                "CREATE TABLE contacts AS SELECT 'C1' AS contact_id, 'K1' AS child_id, "
                "timestamptz '2024-07-01 09:30:00+01' AS contact_at, '1A' AS source, "
                "NULL::text AS screening_rag, NULL::timestamptz AS completed_at, NULL::text AS outcome"
            )
        )
    res = load_sources(read([("sql", url)]), tmp_path / "w.duckdb", extract_date="2024-08-01")
    assert res.rejects.empty, res.rejects
    assert 'table "localities" gives locality_id as numbers: read as written (7, not 007)' in "\n".join(res.notes)
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT year, locality_id, count FROM population").fetchall() == [(2024, "7", 100)]
    assert con.execute("SELECT contact_at FROM contacts").fetchall() == [(dt.datetime(2024, 7, 1, 9, 30),)]
    con.close()


def test_a_mapping_naming_a_column_the_councils_table_lacks_is_refused(tmp_path):
    """SQLite reads a quoted name it does not know as text: without a look at the table's columns every row
    would get 'area_code' as its locality."""
    import sqlite3

    db = tmp_path / "council.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE areas (code TEXT, name TEXT)")
        con.execute("INSERT INTO areas VALUES ('N', 'North'), ('S', 'South')")
    (tmp_path / "map.yaml").write_text(
        "tables:\n  localities: {from: areas, columns: {locality_id: area_code, name: name}}\n"
    )
    with pytest.raises(LoadError, match=r"map.yaml: tables.localities \(areas\): no column\(s\) area_code in areas"):
        read([("sql", f"sqlite:///{db}")], mapping=tmp_path / "map.yaml")
    (tmp_path / "map.yaml").write_text(
        "tables:\n  localities: {from: areas, columns: {locality_id: code, name: name}}\n"
    )
    got = read([("sql", f"sqlite:///{db}")], mapping=tmp_path / "map.yaml")[0].parts_of("localities")[0].data
    assert got.column("locality_id").to_pylist() == ["N", "S"]


def test_a_column_of_bytes_is_refused_naming_table_and_column(tmp_path):
    """A BLOB would load as Python's text of bytes (b'\\xff\\xfe...'), a JSON column as {...}: no one wrote either."""
    import sqlite3

    db = tmp_path / "council.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE localities (locality_id TEXT, name BLOB)")
        con.execute("INSERT INTO localities VALUES ('N', 'North'), ('S', ?)", (b"\xff\xfeS\x00",))
    with pytest.raises(
        LoadError, match=r'table "localities": column name \(row 2 in key order\) holds bytes \(a BLOB\), not text'
    ):
        read([("sql", f"sqlite:///{db}")])
    # a database's JSON or array column (as psycopg gives it: dicts and lists) is refused alike
    from kpi.readers.sql import _as_part

    df = pd.DataFrame({"locality_id": ["N", "S"], "name": [{"en": "North"}, ["South"]], "_line": [1, 2]})
    with pytest.raises(
        LoadError, match=r"table localities: column name \(row 1 in key order\) holds JSON objects, not text"
    ):
        _as_part(model.table("localities"), "table localities", df, {})


def test_a_database_column_is_text_as_a_parquet_files_is(tmp_path):
    """One conversion for both (kpi.readers.standard._as_text): a timestamptz as the time in England (2024-04-30
    23:30 UTC is 1 May 00:30), NUMERIC whole numbers without their decimals, a column mixing numbers and text
    (SQLite allows it) value by value."""
    from decimal import Decimal

    from kpi.readers.sql import _as_part

    df = pd.DataFrame(
        {
            "contact_id": pd.Series(["C1", 7], dtype=object),
            "child_id": ["K1", "K2"],
            "contact_at": pd.to_datetime(["2024-04-30 23:30", "2024-01-10 09:00"]).tz_localize("UTC"),
            "source": pd.Series([Decimal("5.00"), Decimal("1.50")], dtype=object),
            # times with different offsets, as a driver may give a timestamptz over summer and winter
            "completed_at": pd.Series(
                [
                    dt.datetime(2024, 4, 30, 23, 30, tzinfo=dt.UTC),
                    dt.datetime(2024, 1, 10, 10, tzinfo=dt.timezone(dt.timedelta(hours=1))),
                ],
                dtype=object,
            ),
            "_line": [1, 2],
        }
    )
    got = _as_part(model.table("contacts"), "table contacts", df, {}).data.to_pydict()
    assert got == {
        "contact_id": ["C1", "7"],
        "child_id": ["K1", "K2"],
        "contact_at": ["2024-05-01 00:30:00", "2024-01-10 09:00:00"],
        "source": ["5", "1.50"],
        "completed_at": ["2024-05-01 00:30:00", "2024-01-10 09:00:00"],
        "_line": [1, 2],
    }
