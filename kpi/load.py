"""The load: what the readers give, checked row by row, written as one new snapshot of the store.

``readers`` (each format into the data model) -> ``checks`` (each row judged) -> ``load`` (this module: the
tables in dependency order, merges across sources, the accounting of every row) -> ``store`` (the snapshot
kept, with its accounting, rejects and what its sources could not supply).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from . import model
from .checks import (
    ROW,
    ascending,
    distinct_first,
    ident,
    invisible,
    lit,
    natural_key,
    parsed,
    raw_view,
    row_checks,
    typed_select,
    untrimmed,
)
from .errors import LoadError
from .readers import typed_columns
from .readers.extract import NOT_A_RECORD, REJECTED, REPLACED
from .store import META_DDL, check_stated, default_store, loaded, open_for_load, quiet

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
        # the problems: rows merged into another source's, replaced by a later return's or set aside from a table
        # outside the model are counted above and listed in the CSV, not here
        rj = self.rejects[self.rejects["kind"] == REJECTED] if "kind" in self.rejects else self.rejects
        differ = int(self.rejects["reason"].str.endswith(KEPT).sum()) if len(self.rejects) else 0
        if len(rj):
            merged = f" and {a.rows_merged.sum()} merged row(s)" if a.rows_merged.sum() else ""
            merged += f" ({differ} with values differing from the row kept)" if differ else ""
            fell = rj["root_table"].notna() if "root_table" in rj else pd.Series(False, index=rj.index)
            # each row that fell, counted under the problem that started it: the root once, then what fell with it
            with_it: dict[tuple, dict] = {}
            for r in rj[fell].itertuples():
                with_it.setdefault((r.root_table, r.root_file, int(r.root_row)), {})[(r.table_name, r.file, r.row)] = 1
            lines.append(
                f"{a.rows_rejected.sum()} rejected row(s){merged}, listed in {self.rejects_csv}; "
                f"{sum(map(len, with_it.values()))} of them fell with a rejected row they refer to. "
                "Where they started (the first 10):"
            )
            roots = rj[~fell]
            for k, ((table, file, row), g) in enumerate(roots.groupby(["table_name", "file", "row"], sort=False)):
                if k == 10:
                    lines.append(
                        f"  ... and {roots[['table_name', 'file', 'row']].drop_duplicates().shape[0] - 10} more"
                    )
                    break
                lines += [f"  {_where(r.file, r.row, r.column_name, r.value, r.reason)}" for r in g.itertuples()]
                rows = with_it.get((table, file, int(row)), {})
                if rows:
                    tables = ", ".join(dict.fromkeys(t for t, _, _ in rows))
                    lines.append(f"    {len(rows)} row(s) of {tables} fell with it")
        elif len(self.rejects):
            differ = f" ({differ} with values differing from the row kept)" if differ else ""
            lines.append(
                f"{a.rows_rejected.sum()} rejected row(s) and {a.rows_merged.sum()} merged row(s){differ}, listed in "
                f"{self.rejects_csv}; no problem found"
            )
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def load(
    directory: Path | str,
    store: Path | str | None = None,
    extract_date: str | None = None,
    council: str | None = None,
    accept_losses: bool = False,
) -> LoadResult:
    """Validate every table in ``directory`` (the standard format) and load it into a new snapshot."""
    from .readers.standard import read

    return load_sources([read(directory)], store, extract_date, council, accept_losses)


def load_sources(
    extracts: list,
    store: Path | str | None = None,
    extract_date: str | None = None,
    council: str | None = None,
    accept_losses: bool = False,
) -> LoadResult:
    """Validate what the readers give (:mod:`kpi.readers`, one or more formats for one snapshot) and load
    it into a new snapshot of ``store``. Where several sources give the same table, their rows are
    combined; a record (a child) in more than one source is loaded once, the first source's values kept
    and its gaps filled from the others.

    A file that loses more than half its rows to the checks, or a table that arrives empty while other tables'
    rows refer to it, stops the load (:class:`LoadError`, nothing changed) unless ``accept_losses``: such a
    snapshot would have most of a table missing (:func:`_lost` says why)."""
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
        # today would be a guess: every "after the extract date" check and every month's figure depends on it
        raise LoadError(
            "no extract date: no source gives one (extract.json, a return's own dates); give --extract-date "
            "YYYY-MM-DD, the day the data was taken from the case management system"
        )
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", str(extract)):
            raise ValueError
        extract_d = dt.date.fromisoformat(str(extract))
    except ValueError:
        raise LoadError(f"extract date {extract!r} is not a date YYYY-MM-DD") from None
    extract = extract_d.isoformat()
    if extract_d > dt.date.today() + dt.timedelta(days=366):  # docs/assumptions.md A90
        given = "--extract-date" if extract_date else "the sources' extract date (extract.json, a return's dates)"
        raise LoadError(
            f"{given} {extract} is more than a year after today ({dt.date.today()}): expected the day the data was "
            "taken from the case management system"
        )
    if extract_d > dt.date.today():  # said, not refused: a test or a synthetic authority may be dated ahead
        notes.append(
            f"the extract date {extract} is after today ({dt.date.today()}): is it the day the data was taken?"
        )
    for e in extracts:  # what each source says of itself: checked before the snapshot keeps it
        check_stated(e)
    latest = max((e.latest_month for e in extracts if e.latest_month), default=None)
    # the first month every source covers (kpi.store.coverage starts no earlier): none if a source does not say
    firsts = [e.first_month for e in extracts]
    first_month = min(firsts) if all(firsts) else None
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
        state = _State(supplied={t for e in extracts for t in e.supplies})
        for t in model.load_order():  # one table in memory at a time
            parts = [(i, p) for i, e in enumerate(extracts) for p in e.parts_of(t.name)]
            reader_rejects = [r for e in extracts for r in e.rejects if r["table_name"] == t.name]
            a, rj, lost = _load_table(con, schema, t, parts, reader_rejects, extract, state)
            acc += a
            rej.append(rj)
            if lost and not accept_losses:
                first, _, reasons = lost[0].partition("\n")
                raise LoadError(
                    f"{first}\n{reasons}\nFix the file, or give --accept-losses to load the rows that pass."
                )
            notes += [f"loaded with --accept-losses: {why}".replace("\n ", ";") for why in lost]
        notes += state.notes
        a, rj = _set_aside(extracts)
        acc += a
        rej.append(rj)
        accounting = pd.DataFrame(
            acc,
            columns=["table_name", "file", "sha256", "rows_read", "rows_loaded", "rows_rejected", "rows_merged"],
        )
        rejects = pd.concat(rej, ignore_index=True).drop(columns="_part", errors="ignore")
        if not accounting.rows_read.sum():  # an empty snapshot would become the latest: a report of zeros
            raise LoadError("nothing to load: every file holds no rows")
        assert (
            accounting.rows_read == accounting.rows_loaded + accounting.rows_rejected + accounting.rows_merged
        ).all()
        con.execute("BEGIN TRANSACTION")
        in_meta = True
        con.execute(
            "INSERT INTO meta.snapshots (snapshot_id, extract_date, loaded_at, source, council, latest_month, note, "
            "first_month) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                sid,
                extract_d,
                dt.datetime.now().replace(microsecond=0),
                source,
                council or next((e.council for e in extracts if e.council), None),
                latest,
                "; ".join(notes) or None,
                first_month,
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
        # the list of rejected rows is written before the snapshot is committed: a snapshot whose list could not
        # be written (a full disk) is not made, rather than made and reported as failed, and loaded again (A89)
        rejects_csv = store.with_name(f"{store.stem}-rejects-{sid}.csv")
        try:
            rejects.to_csv(rejects_csv, index=False)
        except OSError as e:
            with contextlib.suppress(OSError):  # what was written of it
                rejects_csv.unlink(missing_ok=True)
            raise LoadError(f"{rejects_csv}: the list of rejected rows cannot be written: {e.strerror or e}") from None
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
    return LoadResult(sid, extract_d, accounting.drop(columns="sha256"), rejects, rejects_csv, notes)


def _set_aside(extracts: list) -> tuple[list, pd.DataFrame]:
    """The rows readers set aside from tables outside the data model (an SSDA903 UASC table, an Annex A List 8),
    accounted under the table's own name by file: every row read, none loaded, each listed with its reason."""
    rows = pd.DataFrame(
        [r for e in extracts for r in e.rejects if r["table_name"] not in model.TABLE_BY_NAME],
        columns=["table_name", *REJECT_COLUMNS],
    ).assign(kind=NOT_A_RECORD)
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
ROOT_COLUMNS = ["root_table", "root_file", "root_row"]  # where a row that fell with its parent started
CARRIED = ["_root_column", "_root_value", "_root_reason", "_root_label"]  # the root's words, carried down


@dataclass
class _State:
    """What the tables loaded so far tell the next: which tables some source supplies, how many rows each read, its
    files, for each keyed table the root problem of each id it rejected (:func:`_roots`), and notes for the load."""

    supplied: set[str]
    read: dict[str, int] = field(default_factory=dict)
    files: dict[str, list[str]] = field(default_factory=dict)
    roots: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _load_table(con, schema: str, t: model.Table, parts: list, reader_rejects: list, extract: str, state: _State):
    """Check and load one table from its parts: (accounting rows, one per part or file; rejects; why each file
    that lost more than half its rows, or rows to an empty parent, lost them: :func:`_lost`)."""
    files = [p.file for _, p in parts]
    # the files' checksums are read in a thread of their own while the database checks the rows (hashlib lets
    # go of the interpreter): at scale 50, 3 s no longer waited for
    hashing = ThreadPoolExecutor(1)
    shas = {k: hashing.submit(p.checksum) for k, (_, p) in enumerate(parts) if p.path and p.path.is_file()}
    hashing.shutdown(wait=False)
    # A reference to a table no source supplies cannot be looked up: a required one is rejected (and says so), an
    # optional one (a referral's contact where no contacts were given) is loaded as written, with a note.
    unchecked = {c.name for c in t.columns if c.ref and not c.required and c.ref.split(".")[0] not in state.supplied}
    # Parts of one table from several sources are combined as text; a value of a typed number column is shown in
    # a problem as the file wrote it (-007 not -7, 018 not 18): the table is checked as text then. A typed date
    # (YYYY-MM-DD) or date and time (YYYY-MM-DD HH:MM:SS) prints back as written: a problem there needs no retry.
    parts = [(s, p.as_text()) for s, p in parts] if len(parts) > 1 else parts
    typed, problems, merged = _check(con, schema, t, parts, extract, unchecked)
    types = {c: parts[0][1].data.schema.field(c).type for c in typed}
    numbers = {c for c, x in types.items() if not (pa.types.is_date(x) or pa.types.is_timestamp(x))}
    if numbers and (problems["column_name"].isin(numbers) & problems["value"].notna()).any():
        _drop_raw(con)
        parts = [(s, p.as_text()) for s, p in parts]
        typed, problems, merged = _check(con, schema, t, parts, extract, unchecked)
    for c in sorted(unchecked):
        n = con.execute(f"SELECT count({ident(c)}) FROM raw").fetchall()[0][0]
        if n:
            state.notes.append(
                f"{t.name}.{c}: {n} value(s) refer to {t.column(c).ref.split('.')[0]}, which no source supplies: "
                "loaded as written, not looked up"
            )
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

    # the source's own column names in what is reported (the model's kept, _col, to attribute references)
    labels = [p.columns for _, p in parts]
    problems["_col"] = problems["column_name"]
    problems["column_name"] = [
        labels[k].get(c, c) for k, c in zip(problems["_part"], problems["column_name"], strict=True)
    ]
    for a, b in t.date_order:  # the earlier date named as the source names it too ("on or after DECOM")
        said = f"expected on or after {a} ("
        hit = (problems["_col"] == b) & problems["reason"].str.startswith(said)
        problems.loc[hit, "reason"] = [
            f"expected on or after {labels[k].get(a, a)} (" + r.removeprefix(said)
            for k, r in zip(problems.loc[hit, "_part"], problems.loc[hit, "reason"], strict=True)
        ]
    problems = _attribute(t, problems, state)
    malformed = pd.DataFrame(
        [
            (p.file, line, "", None, f"malformed line: {why}", k)
            for k, (_, p) in enumerate(parts)
            for line, why in p.malformed
        ],
        columns=REJECT_COLUMNS + ["_part"],
    )
    # rows the reader set aside: those it could not read are rejected, counted toward the loss rule like the
    # checks'; those a later return or census replaced are merged into it (A86)
    from_reader = pd.DataFrame(reader_rejects, columns=["table_name", *REJECT_COLUMNS, "kind", "key"])
    from_reader = from_reader.drop(columns="table_name").assign(kind=from_reader["kind"].fillna(REJECTED))
    replaced = from_reader["kind"] == REPLACED
    problem, no_record = from_reader["kind"] == REJECTED, from_reader["kind"] == NOT_A_RECORD
    acc, lost = [], []
    for k, (_, p) in enumerate(parts):
        bad = problems.loc[problems["_part"] == k, "row"].nunique() + int((malformed["_part"] == k).sum())
        mine = (from_reader["file"] == p.file) & (k == files.index(p.file))  # counted with the file's first part
        n_merged = int((merged["_part"] == k).sum())
        acc.append(
            _counted(
                t,
                p.file,
                shas[k].result() if k in shas else None,
                p.data.num_rows + len(p.malformed),
                loaded.get(k, 0),
                bad,
                n_merged,
                mine,
                replaced,
            )
        )
        own = pd.concat([problems[problems["_part"] == k], malformed[malformed["_part"] == k]])
        lost += _loses(con, schema, t, acc[-1], own, from_reader[mine & problem], int((mine & no_record).sum()))
    for f in dict.fromkeys(from_reader["file"]):  # files whose every row the reader set aside
        if f not in files:
            mine = from_reader["file"] == f
            acc.append(_counted(t, f, None, 0, 0, 0, 0, mine, replaced))
            lost += _loses(
                con, schema, t, acc[-1], problems.iloc[:0], from_reader[mine & problem], int((mine & no_record).sum())
            )
    if t.key:  # a keyed row the reader rejected is a root too: the rows referring to it fall with it (A86)
        keyed = from_reader[problem & from_reader["key"].notna()].rename(columns={"key": "_key"})
        state.roots[t.name] = _roots(con, schema, t, pd.concat([problems, keyed.assign(_part=-1)]))
    problems = problems.drop(columns=["_key", "_col", *CARRIED])
    problems["kind"], malformed["kind"], merged["kind"] = REJECTED, REJECTED, "merged"
    from_reader = from_reader.drop(columns="key")
    if not acc:
        acc.append((t.name, None, None, 0, 0, 0, 0))
    state.read[t.name] = sum(a[3] for a in acc)
    state.files[t.name] = list(dict.fromkeys(files))
    rejects = pd.concat(
        [x for x in (problems, malformed, merged, from_reader) if len(x)]
        or [pd.DataFrame(columns=REJECT_COLUMNS + ROOT_COLUMNS)],
        ignore_index=True,
    )
    rejects = rejects.reindex(columns=REJECT_COLUMNS + ROOT_COLUMNS + ["kind", "_part"])
    rejects = rejects.sort_values(["file", "row", "column_name"], kind="stable").reset_index(drop=True)
    rejects.insert(0, "table_name", t.name)
    return acc, rejects, lost


EMPTY = " has no rows"  # the end of the reason of a reference to a table that arrived empty


def _counted(t: model.Table, file, sha, rows: int, loaded: int, bad: int, merged: int, mine, replaced) -> tuple:
    """A file's accounting row: its rows given the checks (``rows``, malformed lines included), and the rows the
    reader set aside (``mine``: a mask of the reader's), the replaced ones counted as merged."""
    by_reader, by_later = int((mine & ~replaced).sum()), int((mine & replaced).sum())
    return t.name, file, sha, rows + by_reader + by_later, loaded, bad + by_reader, merged + by_later


def _loses(
    con, schema: str, t: model.Table, acc: tuple, problems: pd.DataFrame, by_reader: pd.DataFrame, no_record: int
) -> list:
    """Why the file of accounting row ``acc`` loses its rows (``problems``: the checks' and its malformed lines;
    ``by_reader``: the rows the reader could not read), if it loses more than half of those read less the merged
    (and replaced) and the ``no_record`` rows the reader set aside as no record (or rows to an empty parent):
    [:func:`_lost`], else []."""
    _, file, _, read, _, _, merged = acc
    bad = problems.drop_duplicates(["file", "row"]).shape[0] + len(by_reader)
    checked = read - merged - no_record
    if not bad or (bad * 2 <= checked and not problems["reason"].str.endswith(EMPTY).any()):
        return []
    return [
        _lost(con, schema, t, file, checked, bad, pd.concat([problems, by_reader]).reindex(columns=problems.columns))
    ]


def _lost(con, schema: str, t: model.Table, file: str, checked: int, bad: int, problems: pd.DataFrame) -> str:
    """Why a file's rows are lost, for the error that stops the load: how many, and the most common reasons, each
    with an example, a cascade by the file and row that started it."""
    empty = problems[problems["reason"].str.endswith(EMPTY)]
    if len(empty):
        parent = empty["reason"].iloc[0].split("; ")[-1].removesuffix(EMPTY)
        head = (
            f"{parent} has no rows, yet {empty['row'].nunique()} row(s) of {file} refer to it "
            f"({', '.join(dict.fromkeys(empty['column_name']))})"
        )
    else:
        head = f"{file}: {bad} of {checked} rows rejected, more than half"
    lines = []
    fell = problems[problems["root_table"].notna()]
    for (col, table), g in fell.groupby(["column_name", "root_table"], sort=False):
        r = g.iloc[0]
        roots = g[["root_file", "root_row"]].drop_duplicates()
        where = _where(r.root_file, r.root_row, r._root_column, r._root_value, r._root_reason)
        lines.append((g["row"].nunique(), f"{col}: fell with {len(roots)} rejected row(s) of {table}, e.g. {where}"))
    own = problems[problems["root_table"].isna()]
    kinds = own["reason"].fillna("").str.replace(r" \(.*\)$", "", regex=True)
    for (col, _), g in own.groupby([own["column_name"], kinds], sort=False):
        r = g.iloc[0]
        shown = "" if r.value is None or r.value != r.value else f" {r.value!r}"
        line = f"{col + ': ' if col else ''}{r.reason}, e.g. row {r.row}{shown}"  # a malformed line has no column
        ref = t.column(r._col).ref if r._col in t.column_names else None
        if ref and r.reason == f"expected a {ref.split('.')[1]} loaded in {ref.split('.')[0]}":
            # the ids' shapes side by side: 7 against 007, K1 against k1
            ptable, pcol = ref.split(".")
            held = [x[0] for x in con.execute(f'SELECT {ident(pcol)} FROM {schema}."{ptable}" LIMIT 3').fetchall()]
            line += f" ({ptable} holds e.g. {', '.join(map(repr, held))})"
        lines.append((g["row"].nunique(), line))
    lines.sort(key=lambda x: -x[0])
    more = f"\n  and {len(lines) - 3} other kind(s) of problem" if len(lines) > 3 else ""
    return head + "".join(f"\n  {n} row(s): {why}" for n, why in lines[:3]) + more


def _noun(t: model.Table) -> str:
    """What one row of a keyed table is called in a reason: its key without _id (child, referral, s47)."""
    return t.key.removesuffix("_id")


def _where(file, row, column, value, reason) -> str:
    """A problem as the summary and a fallen row's reason name it."""
    shown = "" if value is None or value != value else f" {value!r}:"
    column = f", column {column}:" if isinstance(column, str) and column else ":"  # a malformed line has none
    return f"{file} row {row}{column}{shown} {reason}"


def _attribute(t: model.Table, problems: pd.DataFrame, state: _State) -> pd.DataFrame:
    """Each reference that did not resolve because its parent row was rejected is attributed to the problem that
    started it: the reason names the parent and that problem ("child K9 was rejected: children.csv row 5, column
    sex: 'X': expected ..."; a row further down, "referral R5 fell with child K9, rejected: ..."), and the
    root's table, file and row are kept with it. A reference to a table that arrived empty, or that no source
    supplies, says so."""
    problems = problems.assign(**dict.fromkeys(ROOT_COLUMNS + CARRIED))
    for c in t.columns:
        if not c.ref:
            continue
        ptable, pcol = c.ref.split(".")
        plain = f"expected a {pcol} loaded in {ptable}"
        hit = (problems["_col"] == c.name) & (problems["reason"] == plain)
        if not hit.any():
            continue
        if ptable not in state.supplied:
            problems.loc[hit, "reason"] = f"{plain}; no source supplies {ptable}"
            continue
        if not state.read.get(ptable):
            problems.loc[hit, "reason"] = f"{plain}; {', '.join(state.files.get(ptable) or [ptable])}{EMPTY}"
            continue
        roots = state.roots.get(ptable)
        if roots is None or roots.empty:
            continue
        found = problems.loc[hit, ["value"]].merge(roots, left_on="value", right_index=True, how="left")
        found = found[found["root_file"].notna()]
        if found.empty:
            continue
        noun = _noun(model.table(ptable))
        own = found["root_table"] == ptable  # the parent row is the root, not a row it fell with
        where = [
            _where(*r) for r in found[["root_file", "root_row", "root_column", "root_value", "root_reason"]].values
        ]
        reason = pd.Series(where, index=found.index)
        problems.loc[found.index, "reason"] = (
            noun
            + " "
            + found["value"]
            + pd.Series(" was rejected: ", index=found.index).where(
                own, " fell with " + found["root_label"] + ", rejected: "
            )
            + reason
        )
        problems.loc[found.index, ROOT_COLUMNS] = found[ROOT_COLUMNS].values
        problems.loc[found.index, CARRIED] = found[[c[1:] for c in CARRIED]].values
    return problems


def _roots(con, schema: str, t: model.Table, problems: pd.DataFrame) -> pd.DataFrame:
    """The ids of the table's rejected rows that were not loaded (a duplicate's first row may have been), each with
    the problem at its root: its row's first own problem, or, for a row that fell with its parent, that parent's
    root. Indexed by id: root_table, root_file, root_row, root_column, root_value, root_reason, root_label."""
    cols = ["root_table", "root_file", "root_row", "root_column", "root_value", "root_reason", "root_label"]
    p = problems[problems["_key"].notna()]
    if p.empty:
        return pd.DataFrame(columns=cols)
    fell = p["root_file"].notna()
    # a row with a problem of its own is a root; one whose every problem is a parent's, falls with the first
    own_row = p.assign(_own=~fell).groupby("row")["_own"].transform("any")
    first = p[~fell | ~own_row].drop_duplicates("row")
    first = first.drop_duplicates("_key")  # an id's first rejected row (rows are in the file's order)
    con.register("rejected_keys", first[["_key"]])
    loaded = {
        r[0]
        for r in con.execute(
            f'SELECT k._key FROM rejected_keys k SEMI JOIN {schema}."{t.name}" x ON x.{ident(t.key)} = k._key'
        ).fetchall()
    }
    con.unregister("rejected_keys")
    first = first[~first["_key"].isin(loaded)]
    own = first["root_file"].isna()
    out = pd.DataFrame(index=first["_key"].values, columns=cols, dtype=object)
    out["root_table"] = first["root_table"].where(~own, t.name).values
    out["root_file"] = first["root_file"].where(~own, first["file"]).values
    out["root_row"] = first["root_row"].where(~own, first["row"]).values
    # the problem's own words, carried down from the root's row
    out["root_column"] = first["_root_column"].where(~own, first["column_name"]).values
    out["root_value"] = first["_root_value"].where(~own, first["value"]).values
    out["root_reason"] = first["_root_reason"].where(~own, first["reason"]).values
    out["root_label"] = first["_root_label"].where(~own, _noun(t) + " " + first["_key"]).values
    return out


def _check(
    con, schema: str, t: model.Table, parts: list, extract: str, unchecked: set[str] = frozenset()
) -> tuple[set[str], pd.DataFrame, pd.DataFrame]:
    """The table's rows checked: the view ``raw`` of them and the table ``probs`` of their problems left for the
    write; returns the columns read typed, the problems (file, row, column_name, value, reason, _part, and _key:
    the row's id) and the rows merged into another source's. ``unchecked``: references not looked up."""
    files = [p.file for _, p in parts]
    data = _combined(t, parts)
    typed = typed_columns(t, data)
    con.register("raw_arrow", data)  # scanned in place, not copied
    file_of = lit(files[0] if files else "")
    if len(set(files)) > 1:
        file_of = "CASE _part " + " ".join(f"WHEN {k} THEN {lit(f)}" for k, f in enumerate(files)) + " END"
    extra = ("_line", "_part", "_src")
    trim = untrimmed(data, [c for c in t.column_names if c not in typed])
    # ids that may hold an invisible character: trimmed of it, and one inside is rejected (A88)
    hidden = {c.name for c in t.columns if c.type == "id" and c.name not in typed and invisible(data.column(c.name))}
    trim |= hidden
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW raw AS SELECT *, {file_of} AS _file "
        f"FROM ({raw_view(t, 'raw_arrow', extra, trim, typed)})"
    )
    merged = (
        _merge(con, t)
        if t.unique and len({s for s, _ in parts}) > 1
        else pd.DataFrame(columns=REJECT_COLUMNS + ["_part"])
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
        if c.ref and c.name not in unchecked:
            parent = con.execute(f'SELECT count(*) FROM {schema}."{c.ref.split(".")[0]}"').fetchall()[0][0]
            if not distinct_first(data.num_rows, parent):
                by_row.add(c.name)
    checks = row_checks(t, "raw", schema, extract, exempt, distinct, typed, by_row, unchecked, hidden)
    con.execute(f"CREATE OR REPLACE TEMP TABLE probs AS {checks}")
    problems = con.execute(
        f"SELECT r._file AS file, r._line AS row, p.column_name, p.value, p.reason, r._part, "
        f"{'r.' + ident(t.key) if t.key else 'NULL'} AS _key "
        f"FROM probs p JOIN raw r ON r.{ROW} = p.row ORDER BY r.{ROW}, p.column_name, p.reason"
    ).df()
    return typed, problems, merged


def _drop_raw(con) -> None:
    """What :func:`_check` left for the write."""
    con.execute("DROP TABLE IF EXISTS probs")
    con.execute("DROP VIEW IF EXISTS raw")
    con.execute("DROP TABLE IF EXISTS raw_merged")
    con.unregister("raw_arrow")


KEPT = ": the earlier source's values kept"  # the end of a merged row's reason whose values differ from the kept


def _conflicts(t: model.Table, m: str, f: str) -> str:
    """SQL naming each value of row ``m`` that differs from row ``f``'s, both given: "date_of_birth 2012-01-01 here,
    2015-03-28 in header.csv row 2" (NULL where they agree). Values are compared as their type reads them (01/06/2012
    is 2012-06-01), those that do not read as written."""
    out = []
    for c in t.columns:
        if c.name in t.unique:
            continue
        a, b = (f"{x}.{ident(c.name)}" for x in (m, f))
        same = f"coalesce(CAST({parsed(c, a)} AS VARCHAR), {a}) = coalesce(CAST({parsed(c, b)} AS VARCHAR), {b})"
        out.append(
            f"CASE WHEN {a} IS NOT NULL AND {b} IS NOT NULL AND NOT ({same}) THEN "
            f"{lit(c.name + ' ')} || {a} || ' here, ' || {b} || ' in ' || {f}._file || ' row ' || {f}._line END"
        )
    return ", ".join(out) or "NULL"


def _merge(con, t: model.Table) -> pd.DataFrame:
    """Rows that repeat a key (or a keyless table's natural key) first given by an earlier source (a child in both
    the SSDA903 and the CIN census; a population cell in two extracts, which would count its children twice) are
    merged into that row: its values kept, its gaps filled. The view ``raw`` becomes the merged rows; the rows
    merged away are returned, for the list of what was not loaded."""
    name = ", ".join(t.unique)
    keyed = f"SELECT *, {ident(t.key)} AS _nk, {ident(t.key)} AS _nk_shown FROM raw" if t.key else natural_key(t, "raw")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE raw_mg AS
        WITH k AS ({keyed})
        SELECT r.*, f.first FROM k r JOIN (
            SELECT _nk, min({ROW}) AS first, arg_min(_src, {ROW}) AS src0 FROM k WHERE _nk IS NOT NULL
            GROUP BY 1 HAVING count(DISTINCT _src) > 1) f ON r._nk = f._nk
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
        SELECT m._file AS file, m._line AS row, {lit(name)} AS column_name, m._nk_shown AS value,
               'same {name} as ' || f._file || ' row ' || f._line
               || ' (an earlier source): merged into it, its values kept and its gaps filled from this row'
               || coalesce('; ' || NULLIF(concat_ws('; ', {_conflicts(t, "m", "f")}), '') || {lit(KEPT)}, '')
               AS reason,
               m._part
        FROM raw_mg m JOIN raw f ON f.{ROW} = m.first ORDER BY m.{ROW}""").df()
    con.execute("DROP TABLE raw_mg")
    con.execute("CREATE OR REPLACE TEMP VIEW raw AS SELECT * FROM raw_merged")
    return merged
