"""The load: what the readers give, checked row by row, written as one new snapshot of the store.

``readers`` (each format into the data model) -> ``checks`` (each row judged) -> ``load`` (this module: the
tables in dependency order, merges across sources, the accounting of every row) -> ``store`` (the snapshot
kept, with its accounting, rejects and what its sources could not supply).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import mmap
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from . import model
from .checks import ROW, ascending, distinct_first, ident, lit, raw_view, row_checks, typed_select, untrimmed
from .errors import LoadError
from .readers import typed_columns
from .store import META_DDL, default_store, loaded, open_for_load, quiet

# DuckDB's own memory during a load (it spills to disk beyond): by default it may take 80% of the machine,
# which at scale 50 meant a 12 GB peak; a load must fit a council analyst's 8 GB laptop.
MEMORY_LIMIT = os.environ.get("KPI_MEMORY_LIMIT", "4GB")

# Text compressed by FSST over a dictionary is most of the cost of writing a table: at scale 50, writing
# the 13M visits took 6.5-6.8 s with it and 2.4-3.1 s without (DuckDB 2.0 then stores text plain). The
# store is larger for it (scale 50: 0.71 GB to 2.0 GB; the default authority: 18 to 47 MB) and the engine
# reads it a little slower (scale 50, 24 months: 47-53 s against 43-45 s in alternated runs), less than the
# load saves.
SLOW_COMPRESSION = "fsst,dict_fsst"


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
            f"{'table':<22} {'file':<28} {'read':>9} {'loaded':>9} {'rejected':>9} {'merged':>9}",
        ]
        for r in a.itertuples():
            lines.append(
                f"{r.table_name:<22} {r.file if isinstance(r.file, str) else '(not supplied)':<28} {r.rows_read:>9} "
                f"{r.rows_loaded:>9} {r.rows_rejected:>9} {r.rows_merged:>9}"
            )
        lines.append(
            f"{'total':<51} {a.rows_read.sum():>9} {a.rows_loaded.sum():>9} {a.rows_rejected.sum():>9} "
            f"{a.rows_merged.sum():>9}"
        )
        if len(self.rejects):
            merged = f" and {a.rows_merged.sum()} merged row(s)" if a.rows_merged.sum() else ""
            lines.append(
                f"{len(self.rejects)} entries for {a.rows_rejected.sum()} rejected row(s){merged}, "
                f"listed in {self.rejects_csv}; the first:"
            )
            for r in self.rejects.head(10).itertuples():
                lines.append(f"  {r.file} row {r.row}, column {r.column_name}: {r.value!r}: {r.reason}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def sha256(path: Path) -> str:
    """The file's SHA-256, read through a memory map (its bytes not copied first; an empty file cannot be mapped)."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return hashlib.sha256(b"").hexdigest()
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            return hashlib.sha256(m).hexdigest()


def load(
    directory: Path | str,
    store: Path | str | None = None,
    extract_date: str | None = None,
    council: str | None = None,
) -> LoadResult:
    """Validate every table in ``directory`` (the standard format) and load it into a new snapshot."""
    from .readers.standard import read

    return load_sources([read(directory)], store, extract_date, council)


def load_sources(
    extracts: list,
    store: Path | str | None = None,
    extract_date: str | None = None,
    council: str | None = None,
) -> LoadResult:
    """Validate what the readers give (:mod:`kpi.readers`, one or more formats for one snapshot) and load
    it into a new snapshot of ``store``. Where several sources give the same table, their rows are
    combined; a record (a child) in more than one source is loaded once, the first source's values kept
    and its gaps filled from the others."""
    store = Path(store or default_store())
    notes = [n for e in extracts for n in e.notes]
    avail = availability(extracts)
    tables = avail[avail["column_name"].isna()]
    for why, g in tables.groupby("reason", sort=False):
        notes.append(f"{', '.join(g['table_name'])}: {why}; measures that need them are not available")
    for r in avail[avail["column_name"].notna()].itertuples():
        notes.append(f"{r.table_name}.{r.column_name}: {r.reason}")
    extract = extract_date or max((e.extract_date for e in extracts if e.extract_date), default=None)
    if extract is None:
        extract = dt.date.today().isoformat()
        notes.append(f"no extract date given (--extract-date or extract.json): using today, {extract}")
    try:
        extract_d = dt.date.fromisoformat(extract)
    except ValueError:
        raise LoadError(f"extract date {extract!r} is not a date YYYY-MM-DD") from None
    latest = max((e.latest_month for e in extracts if e.latest_month), default=None)
    source = "; ".join(f"{e.format}:{e.source}" if e.format != "standard" else e.source for e in extracts)

    con = open_for_load(store, {"memory_limit": MEMORY_LIMIT})  # refused if not a store, or damaged
    # Each table is committed as it is written: a transaction holding them all kept every table's Arrow input
    # alive until its end (at scale 50 a 7.4 GB peak; 4.0 GB so). A snapshot exists for readers only once its
    # row in meta.snapshots is written, last, with its accounting in one transaction; a load that fails
    # drops its schema, and one that died half-way is cleared by the next load of the same number.
    schema, in_meta = None, False
    try:
        quiet(con)
        con.execute(f"SET disabled_compression_methods = '{SLOW_COMPRESSION}'")
        con.execute(META_DDL)
        sid = con.execute("SELECT coalesce(max(snapshot_id), 0) + 1 FROM meta.snapshots").fetchall()[0][0]
        schema = f"snap_{sid}"
        con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        con.execute(f"CREATE SCHEMA {schema}")
        acc, rej = [], []
        for t in model.load_order():  # one table in memory at a time
            parts = [(i, p) for i, e in enumerate(extracts) for p in e.parts_of(t.name)]
            reader_rejects = [r for e in extracts for r in e.rejects if r["table_name"] == t.name]
            a, rj = _load_table(con, schema, t, parts, reader_rejects, extract)
            acc += a
            rej.append(rj)
        a, rj = _set_aside(extracts)
        acc += a
        rej.append(rj)
        accounting = pd.DataFrame(
            acc,
            columns=["table_name", "file", "sha256", "rows_read", "rows_loaded", "rows_rejected", "rows_merged"],
        )
        rejects = pd.concat(rej, ignore_index=True)
        assert (
            accounting.rows_read == accounting.rows_loaded + accounting.rows_rejected + accounting.rows_merged
        ).all()
        con.execute("BEGIN TRANSACTION")
        in_meta = True
        con.execute(
            "INSERT INTO meta.snapshots VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                sid,
                extract_d,
                dt.datetime.now().replace(microsecond=0),
                source,
                council or next((e.council for e in extracts if e.council), None),
                latest,
                "; ".join(notes) or None,
            ],
        )
        con.register("acc_df", accounting.assign(snapshot_id=sid))
        con.execute(
            "INSERT INTO meta.load_accounting BY NAME SELECT snapshot_id, table_name, file, sha256, rows_read, "
            "rows_loaded, rows_rejected, rows_merged FROM acc_df"
        )
        con.register("rej_df", rejects.assign(snapshot_id=sid))
        con.execute(
            'INSERT INTO meta.rejects SELECT snapshot_id, table_name, file, "row", column_name, value, '
            "reason FROM rej_df"
        )
        con.register("avail_df", avail.assign(snapshot_id=sid))
        con.execute("INSERT INTO meta.availability BY NAME SELECT * FROM avail_df")
        con.execute("COMMIT")
    except BaseException:
        if in_meta:
            con.execute("ROLLBACK")
        if schema:
            con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        raise
    finally:
        con.close()
        loaded(store)  # its record, for the next load's check of it
    rejects_csv = store.with_name(f"{store.stem}-rejects-{sid}.csv")
    rejects.to_csv(rejects_csv, index=False)
    return LoadResult(sid, extract_d, accounting.drop(columns="sha256"), rejects, rejects_csv, notes)


def _set_aside(extracts: list) -> tuple[list, pd.DataFrame]:
    """The rows readers set aside from tables outside the data model (an SSDA903 Reviews table, an Annex A List 8),
    accounted under the table's own name by file: every row read, none loaded, each listed with its reason."""
    rows = pd.DataFrame(
        [r for e in extracts for r in e.rejects if r["table_name"] not in model.TABLE_BY_NAME],
        columns=["table_name", *REJECT_COLUMNS],
    )
    acc = [(table, f, None, len(g), 0, len(g), 0) for (table, f), g in rows.groupby(["table_name", "file"], sort=False)]
    return acc, rows


def availability(extracts: list) -> pd.DataFrame:
    """Tables no source supplies, and columns no source of their table supplies: (table_name, column_name
    or None for the whole table, reason)."""
    rows = []
    for t in model.TABLES:
        givers = [e for e in extracts if t.name in e.supplies]
        if not givers:
            whys = [e.missing[t.name] for e in extracts if t.name in e.missing]
            specific = [w for w in whys if w != "not supplied"]  # a format's reason says more than a missing file
            rows.append((t.name, None, "; ".join(dict.fromkeys(specific or whys)) or "not supplied"))
            continue
        for c in t.columns:
            whys = [e.missing_columns.get(t.name, {}).get(c.name) for e in givers]
            if all(whys):
                rows.append((t.name, c.name, "; ".join(dict.fromkeys(whys))))
    return pd.DataFrame(rows, columns=["table_name", "column_name", "reason"], dtype=object)


def _combined(t: model.Table, parts: list) -> pa.Table:
    """One raw table from the parts: every model column as text (NULL where a part has none), or as the one part
    holds it typed, each row's part (_part), its source (_src: which extract) and its line in its file (_line),
    numbered _row."""
    assert len(parts) == 1 or not any(typed_columns(t, p.data) for _, p in parts), "parts combined as text"
    tables = []
    for k, (src, p) in enumerate(parts):
        n = p.data.num_rows
        names = p.data.column_names
        typed = typed_columns(t, p.data)
        cols = {
            c: (p.data.column(c) if c in typed else p.data.column(c).cast(pa.string()))
            if c in names
            else pa.nulls(n, pa.string())
            for c in t.column_names
        }
        cols |= {
            "_line": p.data.column("_line").cast(pa.int64()),
            "_part": pa.array(np.full(n, k, dtype=np.int32)),
            "_src": pa.array(np.full(n, src, dtype=np.int32)),
        }
        tables.append(pa.table(cols))
    if tables:
        data = pa.concat_tables(tables)
    else:
        empty = {c: pa.array([], pa.string()) for c in t.column_names}
        data = pa.table(
            empty
            | {"_line": pa.array([], pa.int64()), "_part": pa.array([], pa.int32()), "_src": pa.array([], pa.int32())}
        )
    return data.append_column(ROW, pa.array(np.arange(1, data.num_rows + 1, dtype=np.int64)))


REJECT_COLUMNS = ["file", "row", "column_name", "value", "reason"]


def _load_table(con, schema: str, t: model.Table, parts: list, reader_rejects: list, extract: str):
    """Check and load one table from its parts: (accounting rows, one per part or file; rejects)."""
    files = [p.file for _, p in parts]
    # the files' checksums are read in a thread of their own while the database checks the rows (hashlib lets
    # go of the interpreter): at scale 50, 3 s no longer waited for
    hashing = ThreadPoolExecutor(1)
    shas = {k: hashing.submit(p.checksum) for k, (_, p) in enumerate(parts) if p.path and p.path.is_file()}
    hashing.shutdown(wait=False)
    # Parts of one table from several sources are combined as text; a value of a typed column is shown in a
    # problem as the file wrote it (-007 not -7, 018 not 18): the table is checked as text then.
    parts = [(s, p.as_text()) for s, p in parts] if len(parts) > 1 else parts
    typed, problems, merged = _check(con, schema, t, parts, extract)
    if typed and (problems["column_name"].isin(typed) & problems["value"].notna()).any():
        _drop_raw(con)
        parts = [(s, p.as_text()) for s, p in parts]
        typed, problems, merged = _check(con, schema, t, parts, extract)
    con.execute(
        f'CREATE TABLE {schema}."{t.name}" AS {typed_select(t, "raw", typed)} WHERE {ROW} NOT IN (SELECT row FROM probs)'
    )
    if len(parts) <= 1:  # the table's own count: no second pass over the raw rows
        loaded = {0: con.execute(f'SELECT count(*) FROM {schema}."{t.name}"').fetchall()[0][0]}
    else:
        loaded = dict(
            con.execute(
                f"SELECT _part, count(*) FROM raw WHERE {ROW} NOT IN (SELECT row FROM probs) GROUP BY 1"
            ).fetchall()
        )
    _drop_raw(con)

    # the source's own column names in what is reported
    labels = [p.columns for _, p in parts]
    problems["column_name"] = [
        labels[k].get(c, c) for k, c in zip(problems["_part"], problems["column_name"], strict=True)
    ]
    malformed = pd.DataFrame(
        [
            (p.file, line, "", None, f"malformed line: {why}", k)
            for k, (_, p) in enumerate(parts)
            for line, why in p.malformed
        ],
        columns=REJECT_COLUMNS + ["_part"],
    )
    from_reader = pd.DataFrame(reader_rejects, columns=["table_name"] + REJECT_COLUMNS).drop(columns="table_name")
    acc = []
    for k, (_, p) in enumerate(parts):
        bad = problems.loc[problems["_part"] == k, "row"].nunique() + int((malformed["_part"] == k).sum())
        n_merged = int((merged["_part"] == k).sum())
        by_reader = int((from_reader["file"] == p.file).sum()) if k == files.index(p.file) else 0
        read = p.data.num_rows + len(p.malformed) + by_reader
        sha = shas[k].result() if k in shas else None
        acc.append((t.name, p.file, sha, read, loaded.get(k, 0), bad + by_reader, n_merged))
    for f, n in from_reader.groupby("file").size().items():  # files whose every row the reader set aside
        if f not in files:
            acc.append((t.name, f, None, int(n), 0, int(n), 0))
    if not acc:
        acc.append((t.name, None, None, 0, 0, 0, 0))
    rejects = pd.concat(
        [x for x in (problems, malformed, merged, from_reader) if len(x)] or [pd.DataFrame(columns=REJECT_COLUMNS)],
        ignore_index=True,
    )
    rejects = rejects.drop(columns="_part", errors="ignore").sort_values(["file", "row", "column_name"], kind="stable")
    rejects.insert(0, "table_name", t.name)
    return acc, rejects.reset_index(drop=True)


def _check(con, schema: str, t: model.Table, parts: list, extract: str) -> tuple[set[str], pd.DataFrame, pd.DataFrame]:
    """The table's rows checked: the view ``raw`` of them and the table ``probs`` of their problems left for the
    write; returns the columns read typed, the problems (file, row, column_name, value, reason, _part) and the
    rows merged into another source's."""
    files = [p.file for _, p in parts]
    data = _combined(t, parts)
    typed = typed_columns(t, data)
    con.register("raw_arrow", data)  # scanned in place, not copied
    file_of = lit(files[0] if files else "")
    if len(set(files)) > 1:
        file_of = "CASE _part " + " ".join(f"WHEN {k} THEN {lit(f)}" for k, f in enumerate(files)) + " END"
    extra = ("_line", "_part", "_src")
    trim = untrimmed(data, [c for c in t.column_names if c not in typed])
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW raw AS SELECT *, {file_of} AS _file "
        f"FROM ({raw_view(t, 'raw_arrow', extra, trim, typed)})"
    )
    merged = (
        _merge(con, t) if t.key and len({s for s, _ in parts}) > 1 else pd.DataFrame(columns=REJECT_COLUMNS + ["_part"])
    )
    # a column a part's format cannot supply is not asked of that part's rows
    exempt = {
        c.name: [k for k, (_, p) in enumerate(parts) if c.name not in p.supplied or c.name in p.optional]
        for c in t.columns
        if c.required
    }
    # ids that rise row by row are all different (the raw view's ids are the file's, trimmed where padded)
    distinct = bool(t.key) and t.key not in trim and ascending(data.column(t.key))
    by_row = set()
    for c in t.columns:
        if c.ref:
            parent = con.execute(f'SELECT count(*) FROM {schema}."{c.ref.split(".")[0]}"').fetchall()[0][0]
            if not distinct_first(data.num_rows, parent):
                by_row.add(c.name)
    checks = row_checks(t, "raw", schema, extract, exempt, distinct, typed, by_row)
    con.execute(f"CREATE OR REPLACE TEMP TABLE probs AS {checks}")
    problems = con.execute(
        f"SELECT r._file AS file, r._line AS row, p.column_name, p.value, p.reason, r._part "
        f"FROM probs p JOIN raw r ON r.{ROW} = p.row ORDER BY r.{ROW}, p.column_name, p.reason"
    ).df()
    return typed, problems, merged


def _drop_raw(con) -> None:
    """What :func:`_check` left for the write."""
    con.execute("DROP TABLE IF EXISTS probs")
    con.execute("DROP VIEW IF EXISTS raw")
    con.execute("DROP TABLE IF EXISTS raw_merged")
    con.unregister("raw_arrow")


def _merge(con, t: model.Table) -> pd.DataFrame:
    """Rows of a keyed table that repeat a key first given by an earlier source (a child in both the
    SSDA903 and the CIN census) are merged into that row: its values kept, its gaps filled. The view
    ``raw`` becomes the merged rows; the rows merged away are returned, for the list of what was not loaded."""
    k = ident(t.key)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE raw_mg AS
        SELECT r.*, f.first FROM raw r JOIN (
            SELECT {k} AS _k, min({ROW}) AS first, arg_min(_src, {ROW}) AS src0 FROM raw WHERE {k} IS NOT NULL
            GROUP BY 1 HAVING count(DISTINCT _src) > 1) f ON r.{k} = f._k
        WHERE r._src <> f.src0""")
    fill = ", ".join(
        f"arg_min({ident(c)}, {ROW}) FILTER (WHERE {ident(c)} IS NOT NULL) AS {ident(c)}" for c in t.column_names
    )
    keep = ", ".join(f"coalesce(r.{ident(c)}, g.{ident(c)}) AS {ident(c)}" for c in t.column_names)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE raw_merged AS
        SELECT {keep}, r._line, r._part, r._src, r.{ROW}, r._file FROM raw r
        LEFT JOIN (SELECT first, {fill} FROM raw_mg GROUP BY first) g ON g.first = r.{ROW}
        WHERE r.{ROW} NOT IN (SELECT {ROW} FROM raw_mg)""")
    merged = con.execute(f"""
        SELECT m._file AS file, m._line AS row, {lit(t.key)} AS column_name, m.{k} AS value,
               'same {t.key} as ' || f._file || ' row ' || f._line
               || ' (an earlier source): merged into it, its values kept and its gaps filled from this row' AS reason,
               m._part
        FROM raw_mg m JOIN raw f ON f.{ROW} = m.first ORDER BY m.{ROW}""").df()
    con.execute("DROP TABLE raw_mg")
    con.execute("CREATE OR REPLACE TEMP VIEW raw AS SELECT * FROM raw_merged")
    return merged
