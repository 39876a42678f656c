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
import json
import os
from pathlib import Path

import duckdb
import pandas as pd

from .errors import UserError

ROOT = Path(__file__).resolve().parent.parent


class StoreError(UserError):
    """A store that cannot be opened, is not a store, or is damaged: named, with what was expected."""


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
ALTER TABLE meta.snapshots ADD COLUMN IF NOT EXISTS first_month VARCHAR;
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
    store = Path(store or default_store())
    con = open_store(store)
    try:
        return _meta(store, con, "SELECT * FROM meta.snapshots ORDER BY snapshot_id")
    finally:
        con.close()


def connect(store: Path | str | None = None, snapshot: int | None = None):
    """A read-only connection whose unqualified table names are those of one snapshot (the latest unless told).

    Returns (connection, snapshot row as a dict).
    """
    store = Path(store or default_store())
    con = open_store(store)
    q = (
        "SELECT * FROM meta.snapshots "
        + ("WHERE snapshot_id = ? " if snapshot else "")
        + "ORDER BY snapshot_id DESC LIMIT 1"
    )
    row = _meta(store, con, q, [snapshot] if snapshot else [])
    if row.empty:
        con.close()
        raise LookupError(f"{store}: " + (f"no snapshot {snapshot}" if snapshot else "holds no snapshot yet"))
    snap = row.iloc[0].to_dict()
    con.execute(f"SET search_path = 'snap_{int(snap['snapshot_id'])}'")
    return con, snap


def latest_month(store: Path | str | None = None, snapshot: int | None = None) -> str:
    """The last month a snapshot's data covers (the latest snapshot unless told): every command's default month,
    :func:`coverage`'s ``last`` (the one definition of it)."""
    con, snap = connect(store, snapshot)
    try:
        return coverage(con, snap).last
    finally:
        con.close()


def month_of(snap: dict) -> str:
    """The latest month a snapshot's load recorded (its sources' latest_month), else the last month before its
    extract date's: an upper bound only; the month a command reports by default is :func:`coverage`'s last."""
    import datetime as dt

    latest = snap.get("latest_month")
    if latest:
        return str(latest)
    first = pd.Timestamp(snap["extract_date"]).date().replace(day=1)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


def check_stated(extract) -> None:
    """A LoadError unless what a source states of itself, and the snapshot keeps (:attr:`Extract.latest_month`,
    ``first_month``, ``council``), is what the snapshot's months and title can use: months YYYY-MM, the latest not
    after the month of the source's own extract date nor before the first, the council a name (docs/assumptions.md
    A91). An extract date given to the load instead, earlier, is not a contradiction: the snapshot covers months to
    the one before it (:func:`coverage`)."""
    import re

    from .errors import LoadError

    where = {"standard": f"{Path(extract.source) / 'extract.json'}", "sql": f"{extract.source} (its --mapping)"}.get(
        extract.format, extract.source
    )
    for field in ("first_month", "latest_month"):
        v = getattr(extract, field)
        if v is not None and not (isinstance(v, str) and re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", v)):
            raise LoadError(f"{where}: {field} {v!r} is not a month; expected YYYY-MM (e.g. 2026-10)")
    latest, first = extract.latest_month, extract.first_month
    own = str(extract.extract_date or "")
    if latest and re.fullmatch(r"\d{4}-\d{2}-\d{2}", own) and latest > own[:7]:
        raise LoadError(
            f"{where}: latest_month {latest} is after the month of its extract_date ({own}); expected the last "
            "month the data covers"
        )
    if latest and first and first > latest:
        raise LoadError(f"{where}: first_month {first} is after latest_month {latest}")
    c = extract.council
    if c is not None and not (isinstance(c, str) and c.strip() and c.isprintable() and len(c) <= 200):
        raise LoadError(f'{where}: council {c!r} is not a council\'s name; expected text (e.g. "Buckinghamshire")')


# The tables whose first records mark where a snapshot's history starts: the flows of the front door, children in
# need and child protection (a month before all of them have started would count no contacts, or no ICPCs, as 0).
HISTORY_GROUPS = ("Front door", "Child in need", "Child protection")


def record_span(con, snap: dict, tables=None) -> dict[str, tuple[str, str]]:
    """The months each of the snapshot's tables (``tables``: those only) starts and ends in: its record date's
    earliest and latest month (the contact, referral, start or conference date: its first required date that cannot
    lie ahead, not a birth). Tables without such a date, or without a row, are not in it. One min() and max() per
    table, over the snapshot's own."""
    from . import model
    from .calendar import month_label

    sid = int(snap["snapshot_id"])
    present = {
        r[0]
        for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = ?", [f"snap_{sid}"]).fetchall()
    }
    spans = {}
    for t in model.TABLES:
        if (tables is not None and t.name not in tables) or t.name not in present:
            continue
        col = next(
            (
                c.name
                for c in t.columns
                if c.type in ("date", "datetime") and c.required and not c.future_ok and c.name != "date_of_birth"
            ),
            None,
        )
        if col:
            first, last = con.execute(
                f'SELECT min("{col}")::DATE, max("{col}")::DATE FROM snap_{sid}."{t.name}"'
            ).fetchall()[0]
            if first is not None:
                spans[t.name] = (month_label(first), month_label(last))
    return spans


def record_starts(con, snap: dict, tables=None) -> dict[str, str]:
    """The month each of the snapshot's tables starts in (:func:`record_span`)."""
    return {t: first for t, (first, _) in record_span(con, snap, tables).items()}


def coverage(con, snap: dict, store: Path | str | None = None):
    """The months a snapshot covers (:class:`kpi.calendar.Coverage`; docs/assumptions.md A60, A90).

    The last is its latest complete month: the latest month its sources say they cover (:func:`month_of`), never
    the month of its extract date or later, and, unless its sources are returns stating the years they cover
    (``first_month``), never after the month of its latest record (an extract date far ahead of the data would
    otherwise report months of zeros). The extract date's month
    is partial when taken after its 1st. The first is the latest month in which the records of a table of the
    front door, children in need or child protection start (:func:`record_starts`): with none of them loaded (an
    SSDA903 return alone), the earliest month of any table's records; and never before the first month its
    sources say they cover (``first_month``: an SSDA903 return's collection year, whose older episodes are those
    of children still in care, not the history of the authority's care)."""
    from . import model
    from .calendar import Coverage, add_months, month_label

    sid = int(snap["snapshot_id"])
    extract = pd.Timestamp(snap["extract_date"]).date()
    before = month_label(add_months(extract.replace(day=1), -1))
    spans = record_span(con, snap)
    starts = {t: first for t, (first, _) in spans.items()}
    stated = snap.get("first_month") if isinstance(snap.get("first_month"), str) else None
    last = min(month_of(snap), before)
    if not stated:  # an extract, not a return whose collection years state its span: no month after its records
        last = min(last, max((end for _, end in spans.values()), default=before))
    partial = month_label(extract) if extract.day > 1 and last == before else None
    history = {t.name: starts[t.name] for t in model.TABLES if t.group in HISTORY_GROUPS and t.name in starts}
    first = max(history.values()) if history else min(starts.values(), default=None)
    if first and stated and stated > first:
        first = stated
    return Coverage(first, last, extract, partial, history, f"snapshot {sid}" + (f" of {store}" if store else ""))


def open_snapshot(store: Path | str | None = None, snapshot: int | None = None, what: str = "--snapshot"):
    """:func:`connect` for a command: a store or snapshot that is not there is a UserError naming what is (``what``:
    the option or params field that chose the snapshot). Returns (connection, snapshot row, :func:`coverage`)."""
    from .errors import UserError

    store = Path(store or default_store())
    try:
        con, snap = connect(store)
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


# ---------------------------------------------------------------------------------------------
# Opening and checking the store
# ---------------------------------------------------------------------------------------------

EXPECTED = "expected a store: the DuckDB file `kpi load` writes"


def open_store(store: Path, read_only: bool = True, config: dict | None = None):
    """A connection to the store, which is checked first: StoreError naming it if it is not a store (a folder, an
    empty, unreadable or read-only file, one that is not DuckDB's) or is damaged (:func:`verify`)."""
    _check_path(store, writing=not read_only)
    if not read_only:
        try:
            store.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"{store}: its folder cannot be made ({e.strerror})") from None
    if store.exists():
        verify(store, before_writing=not read_only)
    con = _connect(store, read_only, config)
    quiet(con)
    return con


def _connect(store: Path, read_only: bool, config: dict | None = None):
    try:
        return duckdb.connect(str(store), read_only=read_only, config=config or {})
    except duckdb.Error as e:
        raise StoreError(f"{store}: {_why(e)}") from None


def _why(e: Exception, where: str = "") -> str:
    """DuckDB's error in the words of the store (``where``: what was being read)."""
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    text = f"{where}: {text}" if where else text
    if "Could not set lock" in text or "Conflicting lock" in text:
        return f"in use by another program (a load still running?): try again when it has finished ({text})"
    if "not a valid DuckDB database" in text:
        return f"not a DuckDB database file; {EXPECTED}"
    if "Permission denied" in text:
        return f"cannot be opened (permission denied); {EXPECTED}"
    if "Corrupt" in text or "checksum" in text or "read enough bytes" in text:
        return f"damaged, cannot be read ({text}); restore it from a backup, or load into a new store"
    if "version" in text.lower():
        return f"written by another version of DuckDB than this workbook's {duckdb.__version__} ({text})"
    return f"cannot be opened: {text}"


def damaged_message(store: Path, e: Exception) -> str | None:
    """The store named damaged, with DuckDB's error, if that is what ``e`` says (a block that fails its checksum,
    a file cut short); else None."""
    why = _why(e)
    return f"{store}: {why}" if why.startswith("damaged") else None


def _meta(store: Path, con, query: str, params: list | None = None) -> pd.DataFrame:
    """A query of the store's meta schema: StoreError if the file is a DuckDB database but not a store."""
    try:
        if not con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'meta' "
            "AND table_name = 'snapshots'"
        ).fetchall()[0][0]:
            con.close()
            raise StoreError(f"{store}: a DuckDB database but not a store (it has no meta.snapshots); {EXPECTED}")
        return con.execute(query, params or []).df()
    except duckdb.Error as e:
        con.close()
        raise StoreError(f"{store}: {_why(e)}") from None


def _check_path(store: Path, writing: bool) -> None:
    """StoreError unless the path can be opened as a store (or, to be written, made one)."""
    if not store.exists():
        if os.path.lexists(store):
            raise StoreError(f"{store}: a symbolic link to nothing (or a loop of them); {EXPECTED}")
        if not writing:
            raise StoreError(f"{store}: no store; run `kpi load DIR --store {store}` first")
        folder = next(p for p in store.parents if p.exists())
        if not folder.is_dir():
            raise StoreError(f"{store}: cannot be made: {folder} is a file, not a folder")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise StoreError(f"{store}: cannot be made: the folder {folder} is read-only")
        return
    if store.is_dir():
        raise StoreError(f"{store}: a folder; {EXPECTED}")
    if not store.is_file():
        raise StoreError(f"{store}: not a regular file; {EXPECTED}")
    try:
        with open(store, "rb") as f:
            head = f.read(12)
    except OSError as e:
        raise StoreError(f"{store}: cannot be read ({e.strerror}); {EXPECTED}") from None
    if not head:
        raise StoreError(f"{store}: an empty file; {EXPECTED} (remove it, or give --store a new file)")
    if head[8:12] != b"DUCK":  # a DuckDB file: 8 bytes of checksum, then DUCK
        raise StoreError(f"{store}: not a DuckDB database file; {EXPECTED}")
    if writing and not (os.access(store, os.W_OK) and os.access(store.parent, os.W_OK)):
        raise StoreError(f"{store}: read-only (the file or its folder): the load cannot write to it")


# A store's record, kept beside it by each load (<store>.check): the file's size, modification time and inode as
# the load left it. A store whose size, time and inode are still those recorded has not been written since, and is
# opened at no cost. Otherwise (copied, restored, touched, changed by another program, damaged), or without a record
# (a store from before records were kept, or a load that died), every block of every table is read, which verifies
# DuckDB's own checksum of each block, before the load writes to it, or a command reads it; a store that passes is
# recorded anew. The store is never hashed whole: that cost grew with every snapshot kept. See docs/assumptions.md
# A75, A92.
def record_path(store: Path) -> Path:
    return store.with_name(store.name + ".check")


def _stat(store: Path) -> dict:
    st = os.stat(store)
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}


def _record(store: Path) -> dict | None:
    with contextlib.suppress(OSError, ValueError):
        rec = json.loads(record_path(store).read_text())
        if isinstance(rec, dict):
            return rec
    return None


def _write_record(store: Path, rec: dict) -> None:
    """Written whole or not at all (a record half written would fail the next check); not at all in a read-only
    folder (a command reading a store from a read-only place checks it each time)."""
    tmp = record_path(store).with_suffix(f".{os.getpid()}.tmp")
    with contextlib.suppress(OSError):
        tmp.write_text(json.dumps(rec))
        os.replace(tmp, record_path(store))
    with contextlib.suppress(OSError):
        tmp.unlink()


def verify(store: Path, before_writing: bool = False) -> None:
    """StoreError if the store is damaged (the record above says how it is known). A command reading a store that
    no load has recorded, or while its load is unfinished, opens it unchecked: DuckDB checks each block it reads."""
    rec = _record(store)
    if rec and rec.get("state") == "loaded":
        if all(rec.get(k) == v for k, v in _stat(store).items()):
            return
    elif not before_writing:
        return
    scan(store)
    _write_record(store, {"state": "loaded", **_stat(store)})


def scan(store: Path) -> None:
    """Every block of every table read (hashing each column's values makes DuckDB read them all, and so verify
    their checksums): StoreError naming the table where the store is damaged."""
    con = _connect(store, read_only=True)
    try:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
        if tables and "meta" not in {s for s, _ in tables}:
            raise StoreError(f"{store}: a DuckDB database but not a store (it has no meta.snapshots); {EXPECTED}")
        for schema, table in tables:
            try:
                con.execute(f'SELECT bit_xor(hash(COLUMNS(*))) FROM "{schema}"."{table}"').fetchall()
            except duckdb.Error as e:
                raise StoreError(f"{store}: {_why(e, f'reading table {schema}.{table}')}") from None
    finally:
        con.close()


def open_for_load(store: Path, config: dict):
    """The store opened for a load to write, checked first (:func:`verify`); its record marks it being written
    until :func:`loaded` records it again, and whether this load made it."""
    new = not os.path.lexists(store)
    con = open_store(store, read_only=False, config=config)
    _write_record(store, (_record(store) or {}) | {"state": "loading", "new": new})
    return con


def loaded(store: Path) -> None:
    """Record the store as a load left it (after its connection is closed): its size, time and inode only. A
    store the load made and left without a snapshot (the load stopped) is removed, with its record: an empty
    store would stand where none was, and every command would read it as a store with nothing loaded."""
    if not store.is_file():
        return
    rec = _record(store) or {}
    if rec.get("new") and not _has_snapshot(store):
        for p in (store, store.with_name(store.name + ".wal"), record_path(store)):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        return
    _write_record(store, {"state": "loaded", **_stat(store)})


def _has_snapshot(store: Path) -> bool:
    """Whether the store holds a snapshot (True when it cannot be told: it is then kept)."""
    try:
        with duckdb.connect(str(store), read_only=True) as con:
            return bool(con.execute("SELECT count(*) FROM meta.snapshots").fetchall()[0][0])
    except duckdb.CatalogException:  # no meta schema: nothing was written
        return False
    except duckdb.Error:
        return True
