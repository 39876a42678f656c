"""The embedded analytical store: a DuckDB file holding one schema per load (a snapshot).

Each load becomes schema ``snap_<n>`` with every table of the data model, plus rows in
``meta.snapshots`` (extract date, source, council), ``meta.load_accounting`` (rows read, loaded,
rejected per table, and the file's SHA-256) and ``meta.rejects`` (each rejected row with its
reason). Older snapshots are kept, so a past month's report can be rebuilt exactly from the data
it was first built on: :func:`connect` opens the latest snapshot unless told which.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from . import model
from .validate import ROW, LoadError, RawTable, check_header, raw_view, read_table, row_checks, typed_select

DEFAULT_STORE = Path("data/warehouse.duckdb")

META_DDL = """
CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS meta.snapshots (
    snapshot_id INTEGER PRIMARY KEY, extract_date DATE NOT NULL, loaded_at TIMESTAMP NOT NULL,
    source VARCHAR NOT NULL, council VARCHAR, latest_month VARCHAR, note VARCHAR);
CREATE TABLE IF NOT EXISTS meta.load_accounting (
    snapshot_id INTEGER, table_name VARCHAR, file VARCHAR, sha256 VARCHAR,
    rows_read BIGINT, rows_loaded BIGINT, rows_rejected BIGINT);
CREATE TABLE IF NOT EXISTS meta.rejects (
    snapshot_id INTEGER, table_name VARCHAR, file VARCHAR, "row" BIGINT, column_name VARCHAR,
    value VARCHAR, reason VARCHAR);
"""


@dataclass
class LoadResult:
    snapshot_id: int
    extract_date: dt.date
    accounting: pd.DataFrame  # table, file, rows_read, rows_loaded, rows_rejected
    rejects: pd.DataFrame  # table, file, row, column, value, reason
    rejects_csv: Path
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        a = self.accounting
        lines = [
            f"snapshot {self.snapshot_id} (extract date {self.extract_date})",
            f"{'table':<22} {'file':<28} {'read':>9} {'loaded':>9} {'rejected':>9}",
        ]
        for r in a.itertuples():
            lines.append(
                f"{r.table_name:<22} {r.file or '(not supplied)':<28} {r.rows_read:>9} "
                f"{r.rows_loaded:>9} {r.rows_rejected:>9}"
            )
        lines.append(f"{'total':<51} {a.rows_read.sum():>9} {a.rows_loaded.sum():>9} {a.rows_rejected.sum():>9}")
        if len(self.rejects):
            lines.append(
                f"{len(self.rejects)} problem(s) in {a.rows_rejected.sum()} rejected row(s), "
                f"listed in {self.rejects_csv}; the first:"
            )
            for r in self.rejects.head(10).itertuples():
                lines.append(f"  {r.file} row {r.row}, column {r.column_name}: {r.value!r}: {r.reason}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_extract_meta(directory: Path) -> dict:
    p = Path(directory) / "extract.json"
    if not p.exists():
        return {}
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise LoadError(f"{p}: not valid JSON: {e}") from None


def load(
    directory: Path | str,
    store: Path | str = DEFAULT_STORE,
    extract_date: str | None = None,
    council: str | None = None,
) -> LoadResult:
    """Validate every table in ``directory`` and load it into a new snapshot of ``store``."""
    directory = Path(directory)
    store = Path(store)
    if not directory.is_dir():
        raise LoadError(f"{directory}: no such directory of input files")
    meta = read_extract_meta(directory)
    notes = []
    # Every header first (cheap), so a broken file stops the load before anything is read in full.
    headers = {t.name: check_header(directory, t) for t in model.load_order()}
    if not any(h.path for h in headers.values()):
        raise LoadError(
            f"{directory}: holds no file named after a table of the data model "
            f"(e.g. {model.TABLES[0].name}.csv); see docs/data-model.md"
        )
    for name, h in headers.items():
        if h.path is None:
            notes.append(f"{name}: not supplied; measures that need it are unavailable")
        if h.extra:
            notes.append(f"{h.path.name}: column(s) {', '.join(h.extra)} are not in the data model and were ignored")
    extract = extract_date or meta.get("extract_date")
    if extract is None:
        extract = dt.date.today().isoformat()
        notes.append(f"no extract date given (--extract-date or extract.json): using today, {extract}")
    try:
        extract_d = dt.date.fromisoformat(extract)
    except ValueError:
        raise LoadError(f"extract date {extract!r} is not a date YYYY-MM-DD") from None

    store.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(store))
    try:
        con.execute(META_DDL)
        con.execute("BEGIN TRANSACTION")
        sid = con.execute("SELECT coalesce(max(snapshot_id), 0) + 1 FROM meta.snapshots").fetchall()[0][0]
        schema = f"snap_{sid}"
        con.execute(f"CREATE SCHEMA {schema}")
        acc, rej = [], []
        for t in model.load_order():  # one table in memory at a time
            a, rj = _load_table(con, schema, read_table(t, headers[t.name]), extract)
            acc.append(a)
            rej.append(rj)
        accounting = pd.DataFrame(
            acc, columns=["table_name", "file", "sha256", "rows_read", "rows_loaded", "rows_rejected"]
        )
        rejects = pd.concat(rej, ignore_index=True)
        assert (accounting.rows_read == accounting.rows_loaded + accounting.rows_rejected).all()
        con.execute(
            "INSERT INTO meta.snapshots VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                sid,
                extract_d,
                dt.datetime.now().replace(microsecond=0),
                str(directory.resolve()),
                council or meta.get("council"),
                meta.get("latest_month"),
                "; ".join(notes) or None,
            ],
        )
        con.register("acc_df", accounting.assign(snapshot_id=sid))
        con.execute(
            "INSERT INTO meta.load_accounting SELECT snapshot_id, table_name, file, sha256, rows_read, "
            "rows_loaded, rows_rejected FROM acc_df"
        )
        con.register("rej_df", rejects.assign(snapshot_id=sid))
        con.execute(
            'INSERT INTO meta.rejects SELECT snapshot_id, table_name, file, "row", column_name, value, '
            "reason FROM rej_df"
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    rejects_csv = store.with_name(f"{store.stem}-rejects-{sid}.csv")
    rejects.to_csv(rejects_csv, index=False)
    return LoadResult(sid, extract_d, accounting.drop(columns="sha256"), rejects, rejects_csv, notes)


def _load_table(con, schema: str, r: RawTable, extract: str):
    t = r.table
    con.register("raw_arrow", r.data)  # scanned in place, not copied
    con.execute(f"CREATE OR REPLACE TEMP VIEW raw AS {raw_view(t, 'raw_arrow')}")
    problems = con.execute(
        f"SELECT * FROM ({row_checks(t, 'raw', schema, extract)}) ORDER BY row, column_name, reason"
    ).df()
    if r.malformed:
        extra = pd.DataFrame(
            [(row, "", None, f"malformed line: {why}") for row, why in r.malformed],
            columns=["row", "column_name", "value", "reason"],
        )
        problems = pd.concat([problems, extra], ignore_index=True).sort_values(
            ["row", "column_name"], kind="stable", ignore_index=True
        )
    con.register("bad_rows", problems[["row"]].drop_duplicates())
    con.execute(
        f'CREATE TABLE {schema}."{t.name}" AS {typed_select(t, "raw")} WHERE {ROW} NOT IN (SELECT row FROM bad_rows)'
    )
    con.unregister("bad_rows")
    con.execute("DROP VIEW raw")
    con.unregister("raw_arrow")
    loaded = con.execute(f'SELECT count(*) FROM {schema}."{t.name}"').fetchall()[0][0]
    read = r.data.num_rows + len(r.malformed)
    rejected = read - loaded
    problems.insert(0, "file", r.file)
    problems.insert(0, "table_name", t.name)
    sha = _sha256(r.path) if r.path else None
    return (t.name, r.file, sha, read, loaded, rejected), problems


# ---------------------------------------------------------------------------------------------
# Reading the store
# ---------------------------------------------------------------------------------------------


def snapshots(store: Path | str = DEFAULT_STORE) -> pd.DataFrame:
    with duckdb.connect(str(store), read_only=True) as con:
        return con.execute("SELECT * FROM meta.snapshots ORDER BY snapshot_id").df()


def connect(store: Path | str = DEFAULT_STORE, snapshot: int | None = None):
    """A read-only connection whose unqualified table names are those of one snapshot.

    Returns (connection, snapshot row as a dict).
    """
    store = Path(store)
    if not store.exists():
        raise FileNotFoundError(f"{store}: no store; run `kpi load DIR --store {store}` first")
    con = duckdb.connect(str(store), read_only=True)
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
