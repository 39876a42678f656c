"""Reading input files and checking them against the data model.

Two kinds of problem:

- A **whole-file problem** (unreadable file, missing column) raises :class:`LoadError`, naming the
  file and what was expected; the load stops and nothing is written.
- A **row problem** (bad type, unknown code, out of range, dates out of order, duplicate id,
  reference that does not resolve, event after the extract date) rejects that row: it is listed
  with file, row, column, value and what was expected, and the rest of the file loads.

Rows are numbered as a person finds them: for CSV the line number in the file (the header is
line 1), for Parquet the 1-based row number. The checks themselves are SQL run by DuckDB
(:func:`row_checks`), so they cost little even for a country-sized extract.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .model import Column, Table

ROW = "_row"  # the row-number column added to every raw table


class LoadError(Exception):
    """A whole-file problem: the load stops and changes nothing."""


@dataclass
class RawTable:
    table: Table
    path: Path | None  # None: not supplied
    # every model column as text (or typed: ARROW_TYPES, iso_timestamps), plus ROW; empty when not supplied
    data: pa.Table
    malformed: list[tuple[int, str]]  # (row, reason) for CSV lines that could not be split into fields

    @property
    def file(self) -> str:
        return self.path.name if self.path else ""


def find_file(directory: Path, table: Table) -> Path | None:
    for ext in (".csv", ".parquet"):
        p = directory / f"{table.name}{ext}"
        if p.exists():
            return p
    return None


@dataclass(frozen=True)
class Header:
    path: Path | None  # None: not supplied
    names: list[str]  # the column names as written in the file
    extra: list[str]  # columns not in the data model (ignored)


def check_header(directory: Path, table: Table) -> Header:
    """The table's file and header; LoadError if unreadable or a column is missing.

    Reads only the header (CSV) or schema (Parquet), so every file of a load can be checked before
    any is read in full.
    """
    path = find_file(directory, table)
    if path is None:
        return Header(None, [], [])
    try:
        if path.suffix == ".csv":
            with open(path, "rb") as f:
                head = f.readline()
            names = pacsv.read_csv(pa.py_buffer(head), read_options=pacsv.ReadOptions(use_threads=False)).column_names
        else:
            names = pq.read_schema(path).names
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as e:
        raise LoadError(f"{path}: cannot be read as {path.suffix[1:].upper()}: {e}") from None
    raw, names = names, [n.strip() for n in names]
    missing = [c for c in table.column_names if c not in names]
    if missing:
        raise LoadError(
            f"{path}: missing column(s) {', '.join(missing)}; table {table.name} expects "
            f"{', '.join(table.column_names)}"
        )
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise LoadError(f"{path}: column(s) {', '.join(dupes)} appear more than once in the header")
    return Header(path, raw, [n for n in names if n not in table.column_names])


# The model's types that Arrow's CSV reader parses itself, in parallel, as the checks would: a date YYYY-MM-DD, a
# whole number, a number (with spaces or tabs around them). A file whose every value of these columns parses so is
# read typed; the database then neither parses them in its checks nor again as it writes them (at scale 50 the
# visits took 7.6 s read as text, checked and written, and 5.8 s so). A value Arrow does not take, which the checks
# may still read (05/01/2024, 5.0) or reject, fails the typed read, and the file is read as text. A date and time
# is not read so: Arrow's ISO reader takes '2024-01-05 10', which the checks do not (tests/test_validate.py pins
# both); see iso_timestamps() below.
ARROW_TYPES = {"date": pa.date32(), "int": pa.int64(), "float": pa.float64()}

# A date and time is read as text, then converted by Arrow if every value of its column is empty or written
# YYYY-MM-DD HH:MM:SS and is a real date and time: there Arrow's ISO parser and the checks agree (it rejects
# 2024-02-30, 24:00:00 and second 60; the checks reject the first and the last, and read 24:00:00 as the next day's
# midnight: such a column stays text), and the database writes each value back as the file did, for a problem's
# text. The layout is asked of the bytes of the column's values as a whole. At scale 50 the contacts' two such
# columns took 5.1-5.6 s to check and write as text, 3.0-4.1 s so, and 0.6 s to convert.
_DATETIME_LOW = np.frombuffer(b"0000-00-00 00:00:00", dtype=np.uint8)  # each byte of the layout between these two
_DATETIME_HIGH = np.frombuffer(b"9999-99-99 99:99:99", dtype=np.uint8)
DATETIME_WIDTH = len(_DATETIME_LOW)


def iso_timestamps(col: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """The text column as timestamps (empty values NULL) if every value is laid out YYYY-MM-DD HH:MM:SS and is a
    real date and time; else None, and the checks judge it as text."""
    out = []
    for chunk in col.chunks:
        if chunk.type != pa.string() or chunk.null_count:
            return None
        offsets, data = _offsets(chunk)
        size = np.diff(offsets)
        if not ((size == 0) | (size == DATETIME_WIDTH)).all():
            return None
        if offsets[-1] > offsets[0]:  # the values' bytes, one row of 19 for each value that is not empty
            b = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]].reshape(-1, DATETIME_WIDTH)
            # a byte below its low wraps round to above its high (unsigned)
            if not ((b - _DATETIME_LOW) <= (_DATETIME_HIGH - _DATETIME_LOW)).all():
                return None
            if (b[:, :4] == ord("0")).all(axis=1).any():  # year 0, which the database writes as 0001-01-01 (BC)
                return None
        out.append(chunk if (size > 0).all() else pc.if_else(pa.array(size > 0), chunk, None))
    try:
        return pa.chunked_array([pc.cast(c, pa.timestamp("us")) for c in out], pa.timestamp("us"))
    except pa.ArrowInvalid:  # not a real date and time: 2024-02-30, 24:00:00, 23:59:60
        return None


def typed_columns(table: Table, data: pa.Table) -> set[str]:
    """The table's columns that ``data`` holds typed, not as text."""
    return {c for c in table.column_names if c in data.column_names and not pa.types.is_string(data[c].type)}


def read_table(table: Table, header: Header, typed: bool = True) -> RawTable:
    """Read one table's file, whose header :func:`check_header` checked, with each row's number: as text, or
    (``typed``, a CSV file whose values all parse so) with its dates and numbers as ARROW_TYPES, and its dates and
    times as timestamps where :func:`iso_timestamps` takes a column."""
    path = header.path
    if path is None:
        empty = {c: pa.array([], pa.string()) for c in table.column_names}
        return RawTable(table, None, pa.table(empty | {ROW: pa.array([], pa.int64())}), [])
    malformed: list[tuple[int, str]] = []
    try:
        if path.suffix == ".csv":
            types = {c.name: ARROW_TYPES[c.type] for c in table.columns if c.type in ARROW_TYPES} if typed else {}
            try:
                data, malformed = _read_csv(path, header.names, types)
            except pa.ArrowInvalid:
                if not types:
                    raise
                data, malformed = _read_csv(path, header.names)
            first_row = 2
        else:
            data = pq.read_table(path)
            data = pa.table({n: _as_text(data.column(n)) for n in data.column_names})
            first_row = 1
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as e:
        raise LoadError(f"{path}: cannot be read as {path.suffix[1:].upper()}: {e}") from None
    data = data.rename_columns([n.strip() for n in data.column_names])
    cols = {c: data.column(c) for c in table.column_names}  # trimmed, and empty made NULL, by raw_view()
    if typed and path.suffix == ".csv":
        for c in table.columns:
            if c.type == "datetime":
                stamps = iso_timestamps(cols[c.name])
                cols[c.name] = cols[c.name] if stamps is None else stamps
    cols[ROW] = _row_numbers(data.num_rows, first_row, malformed)
    return RawTable(table, path, pa.table(cols), malformed)


def _read_csv(
    path: Path, names: list[str], types: dict[str, pa.DataType] | None = None
) -> tuple[pa.Table, list[tuple[int, str]]]:
    """All columns as text, but those ``types`` names (by model name) read as those types, empty values as NULL
    (pa.ArrowInvalid if a value does not parse). Read in parallel; again in one thread if a line is malformed,
    for its number."""
    types = types or {}
    convert = pacsv.ConvertOptions(
        column_types={n: types.get(n.strip(), pa.string()) for n in names},
        strings_can_be_null=False,
        null_values=[""],  # not Arrow's NA, NULL, ...: a typed column's value is one the checks would read, or NULL
    )
    for threads in (True, False):
        bad: list[tuple[int, str]] = []

        def on_invalid(row, bad=bad):
            bad.append((row.number, f"has {row.actual_columns} fields, expected {row.expected_columns}"))
            return "skip"

        # read from a memory map: the file's bytes are not copied into the process first (at scale 50 the visits'
        # 573 MB read with 0.5-0.7 s of system time so, 0.1 s mapped)
        with pa.memory_map(str(path)) as source:
            data = pacsv.read_csv(
                source,
                read_options=pacsv.ReadOptions(use_threads=threads),
                parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
                convert_options=convert,
            )
        if not bad:
            return data, bad
    return data, bad


def _row_numbers(n: int, first_row: int, malformed: list[tuple[int, str]]) -> pa.Array:
    """Line numbers of the n rows read, skipping the lines rejected as malformed."""
    rows = np.arange(first_row, first_row + n + len(malformed), dtype=np.int64)
    skipped = np.array([r for r, _ in malformed if r is not None], dtype=np.int64)
    return pa.array(rows[~np.isin(rows, skipped)][:n])


def _as_text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    t = col.type
    if pa.types.is_timestamp(t):
        return pc.strftime(col, format="%Y-%m-%d %H:%M:%S")
    if pa.types.is_date(t):
        return pc.strftime(col, format="%Y-%m-%d")
    return pc.cast(col, pa.string())


# ---------------------------------------------------------------------------------------------
# Row checks as SQL over the raw (all-text) table
# ---------------------------------------------------------------------------------------------


# Spaces (and no-break spaces) around a value are not part of it. DuckDB's trim() on every value of a column
# is slow (at scale 50, 3.5 of the 4.4 s a scan of the visits took), and the checks refer to each column
# several times; so a column is trimmed only if one of its values needs it. Which do is read off the Arrow
# buffers directly: each value's first and last bytes (0.5 s for the visits' 65M values; 2.7 s in SQL).
NBSP = (0xC2, 0xA0)  # a no-break space in UTF-8


def _offsets(chunk: pa.Array) -> tuple[np.ndarray, pa.Buffer | None]:
    """A text chunk's value offsets (its own, from its slice's start) and its data buffer."""
    _, offsets, data = chunk.buffers()
    return np.frombuffer(offsets, dtype=np.int32, count=len(chunk) + 1, offset=chunk.offset * 4), data


def _text_chunks(col: pa.ChunkedArray):
    """The column's chunks that hold values, as text (``pa.string``: 32-bit offsets)."""
    for chunk in col.chunks:
        if len(chunk):
            yield chunk if chunk.type == pa.string() else chunk.cast(pa.string())


def _padded(col: pa.ChunkedArray) -> bool:
    """Whether any value of the text column starts or ends with a space or a no-break space.

    A chunk whose bytes hold no space and no 0xA0 (a no-break space's second byte) holds no such value: that is
    asked of the bytes as a whole first, a copy and a byte search (at scale 50, the visits' five columns in
    0.09 s), and only a chunk that has one is looked at value by value (the five took 1.5 s so, each chunk)."""
    for chunk in _text_chunks(col):
        offsets, data = _offsets(chunk)
        if data is None:
            continue
        held = bytes(memoryview(data)[offsets[0] : offsets[-1]])
        if held.find(b" ") < 0 and held.find(bytes(NBSP[1:])) < 0:
            continue
        data = np.frombuffer(data, dtype=np.uint8)
        filled = offsets[1:] > offsets[:-1]  # empty values and NULLs have no bytes
        s, e = offsets[:-1][filled], offsets[1:][filled]
        if not len(s):
            continue
        first, last = data[s], data[e - 1]
        if (first == 0x20).any() or (last == 0x20).any():
            return True
        two = (e - s) >= 2
        if (data[s[two] + 1][first[two] == NBSP[0]] == NBSP[1]).any():
            return True
        if (data[e[two] - 2][last[two] == NBSP[1]] == NBSP[0]).any():
            return True
    return False


def untrimmed(data: pa.Table, columns: list[str]) -> set[str]:
    """The columns with a value that has spaces (or no-break spaces) around it."""
    return {c for c in columns if _padded(data.column(c))}


def ascending(col: pa.ChunkedArray) -> bool:
    """Whether the text values, in row order, rise strictly: each is longer than the one before, or as long
    and after it in byte order. Such values are all different, so the grouping that finds repeated ids
    (most of a keyed table's checks: at scale 50, 3.3 s of CPU for the 13M visits) is not needed; ids
    numbered as they were issued (CH1 ... CH9, CH10 ...) rise so. Any NULL: False (an empty
    id is NULL once read, so it repeats nothing)."""
    prev = None
    for chunk in _text_chunks(col):
        if chunk.null_count:  # a comparison with NULL is NULL, which pc.all() would pass over
            return False
        n = pc.binary_length(chunk)
        a, b, na, nb = chunk[:-1], chunk[1:], n[:-1], n[1:]
        if (
            len(chunk) > 1
            and not pc.all(pc.or_(pc.greater(nb, na), pc.and_(pc.equal(nb, na), pc.greater(b, a)))).as_py()
        ):
            return False
        first = chunk[0].as_py().encode()
        if prev is not None and (len(first), first) <= (len(prev), prev):
            return False
        prev = chunk[-1].as_py().encode()
    return True


def raw_view(
    table: Table,
    arrow_name: str,
    extra: tuple[str, ...] = (),
    trim: set[str] | None = None,
    typed: set[str] = frozenset(),
) -> str:
    """The raw text of each column trimmed, empty text as NULL (computed by DuckDB, in parallel).
    ``trim``: the columns that need trimming (default: all); ``typed``: those read typed, as they are."""
    cols = ", ".join(
        _q(c)
        if c in typed
        else f"NULLIF({'trim(' + _q(c) + ')' if trim is None or c in trim else _q(c)}, '') AS {_q(c)}"
        for c in table.column_names
    )
    return f"SELECT {cols}, {', '.join((*extra, ROW))} FROM {arrow_name}"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


BOOL_TRUE = ("Y", "YES", "TRUE", "T", "1")
BOOL_FALSE = ("N", "NO", "FALSE", "F", "0")


def parsed(col: Column, expr: str | None = None, typed: set[str] = frozenset()) -> str:
    """SQL turning the text column into its model type (NULL where it does not parse); a column read ``typed``
    (:data:`ARROW_TYPES`) is already."""
    x = expr or _q(col.name)
    if col.type in ("id", "str", "code") or col.name in typed:
        return x
    if col.type == "int":
        return f"TRY_CAST({x} AS BIGINT)"
    if col.type == "float":
        return f"TRY_CAST({x} AS DOUBLE)"
    if col.type == "bool":
        t = ", ".join(_lit(v) for v in BOOL_TRUE)
        f = ", ".join(_lit(v) for v in BOOL_FALSE)
        return f"(CASE WHEN upper({x}) IN ({t}) THEN TRUE WHEN upper({x}) IN ({f}) THEN FALSE END)"
    if col.type == "date":
        return (
            f"COALESCE(TRY_CAST({x} AS DATE), TRY_CAST(TRY_STRPTIME({x}, '%d/%m/%Y') AS DATE), "
            f"TRY_CAST(TRY_CAST({x} AS TIMESTAMP) AS DATE))"
        )
    if col.type == "datetime":
        return (
            f"COALESCE(TRY_CAST({x} AS TIMESTAMP), TRY_STRPTIME({x}, '%d/%m/%Y %H:%M:%S'), "
            f"TRY_STRPTIME({x}, '%d/%m/%Y %H:%M'), TRY_STRPTIME({x}, '%d/%m/%Y'))"
        )
    raise ValueError(col.type)


EXPECTED = {
    "int": "a whole number",
    "float": "a number",
    "bool": "Y or N",
    "date": "a date YYYY-MM-DD (or DD/MM/YYYY)",
    "datetime": "a date and time YYYY-MM-DD HH:MM[:SS]",
}


def row_checks(
    table: Table,
    raw: str,
    schema: str,
    extract_date: str,
    exempt: dict | None = None,
    ids_distinct: bool = False,
    typed: set[str] = frozenset(),
    by_row: set[str] = frozenset(),
) -> str:
    """One query giving (row, column_name, value, reason) for every row problem of the table.

    ``raw`` has the model's columns as text, ROW, and each row's ``_part``, ``_file`` and ``_line``.
    ``exempt`` names, for a required column, the parts whose format cannot supply it: their rows are
    not asked for it. ``ids_distinct``: the key's values are known to be all different (:func:`ascending`),
    so repeats are not looked for. ``typed``: the columns read typed (:func:`read_table`), which parse by
    construction; their other checks are made on their values. ``by_row``: the reference columns whose values are
    looked up row by row, not among their distinct values (:func:`distinct_first`).

    All the checks of a row are evaluated in a single pass over the raw table (each a CASE building
    a problem, the non-empty ones unnested); before it, each reference's unresolved values are found from its
    column alone, and duplicate ids need a grouping of their own.
    """
    items = []  # (column, value expression, condition, reason expression)
    unresolved = []  # for each reference, its values not in the table referred to
    # Rows with a problem are found among millions by a cheaper test that holds whenever a condition does,
    # in which each column is parsed once: a database does not share a parse between the terms of a filter,
    # and parsing each date three times was most of a check's time at scale 50.
    suspects = []

    def add(column: str, value_expr: str, cond: str, reason_expr: str, suspect: bool = True):
        items.append((column, value_expr, cond, reason_expr))
        if suspect:
            suspects.append(f"({cond})")

    for c in table.columns:
        q = _q(c.name)
        skip = (exempt or {}).get(c.name) or []
        if c.required and skip:
            add(
                c.name,
                q,
                f"{q} IS NULL AND _part NOT IN ({', '.join(map(str, skip))})",
                _lit("required value is missing"),
            )
        elif c.required:
            add(c.name, q, f"{q} IS NULL", _lit("required value is missing"))
        if c.type in EXPECTED and c.name not in typed:
            add(
                c.name,
                q,
                f"{q} IS NOT NULL AND {parsed(c)} IS NULL",
                _lit(f"expected {EXPECTED[c.type]}"),
                False,
            )
        if c.codes:
            codes = ", ".join(_lit(k) for k in c.codes)
            shown = ", ".join(list(c.codes)[:12]) + (", ..." if len(c.codes) > 12 else "")
            add(
                c.name,
                q,
                f"{q} IS NOT NULL AND {q} NOT IN ({codes})",
                _lit(f"expected one of the {c.name} codes ({shown})"),
            )
        # the parsed value's checks: each its own condition, and together one test on one parse (within)
        v = parsed(c, typed=typed)
        within = None if c.name in typed else f"{v} IS NOT NULL"  # a typed value has parsed
        if c.min is not None:
            add(c.name, q, f"{v} < {c.min}", _lit(f"expected at least {c.min:g}"), False)
        if c.max is not None:
            add(c.name, q, f"{v} > {c.max}", _lit(f"expected at most {c.max:g}"), False)
        if c.min is not None and c.max is not None:
            within = f"{v} BETWEEN {c.min} AND {c.max}"
        elif c.min is not None:
            within = f"{v} >= {c.min}"
        elif c.max is not None:
            within = f"{v} <= {c.max}"
        if c.type in ("date", "datetime") and not c.future_ok:
            assert c.min is None and c.max is None, f"{table.name}.{c.name}: one parsed check per column"
            add(
                c.name,
                q,
                f"CAST({v} AS DATE) >= DATE {_lit(extract_date)}",
                _lit(f"expected a date before the extract date {extract_date}"),
                False,
            )
            within = f"CAST({v} AS DATE) < DATE {_lit(extract_date)}"
        if c.type in EXPECTED and within:  # a value that does not parse, or parses out of range, fails this
            suspects.append(f"({q} IS NOT NULL AND NOT coalesce({within}, FALSE))")
        if c.ref:
            # The values that do not resolve are found first, from the column alone (among its distinct values
            # unless it is in by_row), and the rows holding one then picked out. Joining every row to its parent
            # table instead carried every row's text through the join: at scale 50 the referrals' checks took
            # 3.4-4.1 s so, 2.5-2.8 s then.
            ptable, pcol = c.ref.split(".")
            bad = f"_unresolved{len(unresolved)}"
            values = "" if c.name in by_row else "DISTINCT "
            unresolved.append(
                f"{bad} AS MATERIALIZED (SELECT d.v FROM (SELECT {values}{q} AS v FROM {raw} WHERE {q} IS NOT NULL) d "
                f"ANTI JOIN {schema}.{_q(ptable)} p ON p.{_q(pcol)} = d.v)"
            )
            add(c.name, q, f"{q} IN (SELECT v FROM {bad})", _lit(f"expected a {pcol} loaded in {ptable}"))
    for a, b in table.date_order:
        ca, cb = table.column(a), table.column(b)
        add(
            b,
            _q(b),
            f"{parsed(cb, typed=typed)} < {parsed(ca, typed=typed)}",
            f"'expected on or after {a} (' || CAST({_q(a)} AS VARCHAR) || ')'",
        )
    cases = ", ".join(
        f"CASE WHEN {cond} THEN {{'column_name': {_lit(col)}, 'value': CAST({val} AS VARCHAR), 'reason': {why}}} END"
        for col, val, cond, why in items
    )
    # Rows with any problem are found first with plain conditions; the list of problems (a struct per
    # check) is built only for them, not for the millions of good rows.
    anything = " OR ".join(suspects) or "FALSE"
    sql = (
        (f"WITH {', '.join(unresolved)} " if unresolved else "")
        + f"SELECT row, unnest(problems, recursive := true) FROM ("
        f"SELECT r.{ROW} AS row, list_filter([{cases}], lambda x: x IS NOT NULL) AS problems "
        f"FROM {raw} r WHERE {anything}) WHERE len(problems) > 0"
    )
    if table.key and not ids_distinct:
        # Ids seen more than once: a hash aggregate (half the time of a window over every row), over the ids'
        # 64-bit hashes, then over the ids themselves for the rows whose hash repeats, if any (a collision is
        # only that). The aggregate holds 8 bytes an id, not the id and its first row: at scale 50 the load's
        # peak went from 4.16-4.19 to 3.73-3.80 GB, and the check of the 10.5M supervisions from 1.4-1.6 to
        # 1.1-1.4 s (the whole load's time is unchanged within the machine's noise).
        k = _q(table.key)
        sql += (
            f" UNION ALL SELECT r.{ROW}, {_lit(table.key)}, r.{k}, "
            f"'duplicate ' || {_lit(table.key)} || ', first at ' "
            f"|| CASE WHEN f._file = r._file THEN '' ELSE f._file || ' ' END || 'row ' || f._line "
            f"FROM {raw} r JOIN (SELECT {k} AS _k, min({ROW}) AS first FROM {raw} WHERE hash({k}) IN "
            f"(SELECT hash({k}) FROM {raw} WHERE {k} IS NOT NULL GROUP BY 1 HAVING count(*) > 1) "
            f"GROUP BY 1 HAVING count(*) > 1) d ON d._k = r.{k} JOIN {raw} f ON f.{ROW} = d.first "
            f"WHERE r.{ROW} <> d.first"
        )
    return sql


def distinct_first(rows: int, parent_rows: int) -> bool:
    """Whether a reference column of a table of ``rows`` rows is looked up among its distinct values, not row by
    row, in a table of ``parent_rows``. Its distinct values cost a grouping of every row, which pays where values
    repeat: the more rows per parent row, the more they may (at scale 50 the visits' 13M rows hold 1M children:
    1.1-1.3 s so, 2.4-2.9 s row by row). Where rows are fewer than twice the parent's, values repeat little (the
    5.5M contacts hold 4.47M different children of the 4.54M: 1.1-1.5 s so, 0.9-1.1 s row by row)."""
    return rows >= 2 * parent_rows


def typed_select(table: Table, raw: str, typed: set[str] = frozenset()) -> str:
    """SELECT of every column converted to its model type (``typed``: those read so already)."""
    from .model import TYPES

    cols = ", ".join(f"CAST({parsed(c, typed=typed)} AS {TYPES[c.type]}) AS {_q(c.name)}" for c in table.columns)
    return f"SELECT {cols} FROM {raw}"
