"""The embedded analytical store: a DuckDB file holding one schema per load (a snapshot).

Each load (:mod:`kpi.load`) becomes schema ``snap_<n>`` with every table of the data model, plus rows in
``meta.snapshots`` (extract date, source, council), ``meta.load_accounting`` (rows read, loaded,
rejected and merged per table and source file, and the file's SHA-256), ``meta.rejects`` (each row
not loaded, with its reason) and ``meta.availability`` (tables and columns no source supplied: the
measures needing them are "not available": :meth:`kpi.engine.Context.unavailable`). Older snapshots
are kept, so a past month's report can be rebuilt exactly from the data it was first built on:
:func:`connect` opens the latest snapshot unless told which.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import duckdb
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent


def default_store() -> Path:
    """The store every command and notebook reads unless told another: $KPI_STORE, else the project's
    data/warehouse.duckdb (notebooks run from their own folder, so it is not relative to where a command runs)."""
    return Path(os.environ.get("KPI_STORE") or ROOT / "data" / "warehouse.duckdb")


def quiet(con) -> None:
    """No DuckDB progress bar: on a terminal it fills `kpi load`'s and `kpi measures`' output at scale. In a
    notebook DuckDB refuses the setting unless ipywidgets is installed, and without it draws no bar anyway."""
    with contextlib.suppress(duckdb.InvalidInputException):
        con.execute("SET enable_progress_bar = false")


META_DDL = """
CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS meta.snapshots (
    snapshot_id INTEGER PRIMARY KEY, extract_date DATE NOT NULL, loaded_at TIMESTAMP NOT NULL,
    source VARCHAR NOT NULL, council VARCHAR, latest_month VARCHAR, note VARCHAR);
CREATE TABLE IF NOT EXISTS meta.load_accounting (
    snapshot_id INTEGER, table_name VARCHAR, file VARCHAR, sha256 VARCHAR,
    rows_read BIGINT, rows_loaded BIGINT, rows_rejected BIGINT);
ALTER TABLE meta.load_accounting ADD COLUMN IF NOT EXISTS rows_merged BIGINT DEFAULT 0;
CREATE TABLE IF NOT EXISTS meta.availability (
    snapshot_id INTEGER, table_name VARCHAR, column_name VARCHAR, reason VARCHAR);
CREATE TABLE IF NOT EXISTS meta.rejects (
    snapshot_id INTEGER, table_name VARCHAR, file VARCHAR, "row" BIGINT, column_name VARCHAR,
    value VARCHAR, reason VARCHAR);
"""

# ---------------------------------------------------------------------------------------------
# Reading the store
# ---------------------------------------------------------------------------------------------


def _meta_columns(con) -> set[tuple[str, str]]:
    """(table, column) of the store's meta schema: a store loaded by an older version lacks some."""
    return set(
        con.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'meta'").fetchall()
    )


def accounting_of(con, snapshot_id: int) -> pd.DataFrame:
    """The snapshot's rows read, loaded, rejected and merged by table and file (none merged before merges were
    recorded)."""
    merged = "coalesce(rows_merged, 0)" if ("load_accounting", "rows_merged") in _meta_columns(con) else "0"
    return con.execute(
        f"SELECT table_name, file, sha256, rows_read, rows_loaded, rows_rejected, {merged} AS rows_merged "
        "FROM meta.load_accounting WHERE snapshot_id = ? ORDER BY rowid",
        [snapshot_id],
    ).df()


def availability_of(con, snapshot_id: int) -> pd.DataFrame:
    """What the snapshot's sources could not supply (a store from before this was recorded: nothing missing)."""
    if ("availability", "reason") not in _meta_columns(con):
        return pd.DataFrame(columns=["table_name", "column_name", "reason"])
    df = con.execute(
        "SELECT table_name, column_name, reason FROM meta.availability WHERE snapshot_id = ? ORDER BY rowid",
        [snapshot_id],
    ).df()
    return df.astype(object).where(df.notna(), None)


def snapshots(store: Path | str | None = None) -> pd.DataFrame:
    with duckdb.connect(str(store or default_store()), read_only=True) as con:
        return con.execute("SELECT * FROM meta.snapshots ORDER BY snapshot_id").df()


def connect(store: Path | str | None = None, snapshot: int | None = None):
    """A read-only connection whose unqualified table names are those of one snapshot (the latest unless told).

    Returns (connection, snapshot row as a dict).
    """
    store = Path(store or default_store())
    if not store.exists():
        raise FileNotFoundError(f"{store}: no store; run `kpi load DIR --store {store}` first")
    con = duckdb.connect(str(store), read_only=True)
    quiet(con)
    q = (
        "SELECT * FROM meta.snapshots "
        + ("WHERE snapshot_id = ? " if snapshot else "")
        + "ORDER BY snapshot_id DESC LIMIT 1"
    )
    row = con.execute(q, [snapshot] if snapshot else []).df()
    if row.empty:
        con.close()
        raise LookupError(f"{store}: " + (f"no snapshot {snapshot}" if snapshot else "holds no snapshot yet"))
    snap = row.iloc[0].to_dict()
    con.execute(f"SET search_path = 'snap_{int(snap['snapshot_id'])}'")
    return con, snap


def latest_month(store: Path | str | None = None, snapshot: int | None = None) -> str:
    """The last month a snapshot's data covers (the latest snapshot unless told): every command's default month."""
    con, snap = connect(store, snapshot)
    con.close()
    return month_of(snap)


def month_of(snap: dict) -> str:
    """A snapshot's latest month: as its load recorded it, else the last month before its extract date's."""
    import datetime as dt

    latest = snap.get("latest_month")
    if latest:
        return str(latest)
    first = pd.Timestamp(snap["extract_date"]).date().replace(day=1)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


# The tables whose first records mark where a snapshot's history starts: the flows of the front door, children in
# need and child protection (a month before all of them have started would count no contacts, or no ICPCs, as 0).
HISTORY_GROUPS = ("Front door", "Child in need", "Child protection")


def coverage(con, snap: dict, store: Path | str | None = None):
    """The months a snapshot covers (:class:`kpi.calendar.Coverage`; docs/assumptions.md A60).

    The last is its latest complete month (:func:`month_of`, and never the month of its extract date or later);
    the extract date's month is partial when taken after its 1st. The first is the latest month in which the
    records of a table of the front door, children in need or child protection start (each table by its record
    date: contact, referral, start or conference date): with none of them loaded (an SSDA903 return alone), the
    earliest month of any record date but a birth. One min() per table, over the snapshot's own tables."""
    import datetime as dt

    from . import model
    from .calendar import Coverage, add_months, month_label

    sid = int(snap["snapshot_id"])
    extract = pd.Timestamp(snap["extract_date"]).date()
    before = month_label(add_months(extract.replace(day=1), -1))
    last = min(month_of(snap), before)
    partial = month_label(extract) if extract.day > 1 and last == before else None
    present = {
        r[0]
        for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = ?", [f"snap_{sid}"]).fetchall()
    }
    starts: dict[str, dt.date] = {}
    for t in model.TABLES:
        col = next(
            (
                c.name
                for c in t.columns
                if c.type in ("date", "datetime") and c.required and not c.future_ok and c.name != "date_of_birth"
            ),
            None,
        )
        if col and t.name in present:
            first = con.execute(f'SELECT min("{col}")::DATE FROM snap_{sid}."{t.name}"').fetchall()[0][0]
            if first is not None:
                starts[t.name] = first
    history = {t.name: starts[t.name] for t in model.TABLES if t.group in HISTORY_GROUPS and t.name in starts}
    first = max(history.values()) if history else min(starts.values(), default=None)
    return Coverage(
        month_label(first) if first else None,
        last,
        extract,
        partial,
        {t: month_label(d) for t, d in history.items()},
        f"snapshot {sid}" + (f" of {store}" if store else ""),
    )


def open_snapshot(store: Path | str | None = None, snapshot: int | None = None, what: str = "--snapshot"):
    """:func:`connect` for a command: a store or snapshot that is not there is a UserError naming what is (``what``:
    the option or params field that chose the snapshot). Returns (connection, snapshot row, :func:`coverage`)."""
    from .errors import UserError

    store = Path(store or default_store())
    try:
        con, snap = connect(store)
    except FileNotFoundError as e:
        raise UserError(str(e)) from None
    except LookupError as e:  # a store with no snapshot yet
        raise UserError(f"{e}; expected a loaded store: kpi load DIR --store {store}") from None
    if snapshot is not None and snapshot != snap["snapshot_id"]:
        ids = [r[0] for r in con.execute("SELECT snapshot_id FROM meta.snapshots ORDER BY 1").fetchall()]
        con.close()
        if snapshot not in ids:
            raise UserError(
                f"{what}: {store} holds no snapshot {snapshot}; expected one of {', '.join(map(str, ids))} "
                f"(`kpi snapshots` lists them)"
            )
        con, snap = connect(store, snapshot)
    return con, snap, coverage(con, snap, store)
