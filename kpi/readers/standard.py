"""The standard format: a directory of CSV or Parquet files, one per table of the data model (docs/data-model.md),
named after it, with an optional ``extract.json`` (extract date, council, latest month).

Every header is checked before any file is read in full, so a broken file stops the load before anything is
read. A CSV file whose dates and numbers all parse is read with them typed by Arrow (:data:`ARROW_TYPES`), so
the checks and the write do not parse them again; otherwise, and for Parquet, every column is read as text.
Rows are numbered as a person finds them: for CSV the line number in the file (the header is line 1), for
Parquet the 1-based row number.
"""

from __future__ import annotations

import json
import mmap
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .. import model
from ..arrowtext import value_offsets
from ..errors import LoadError
from ..model import Table
from .extract import Extract, Part, file_stat, typed_columns

LINE = "_line"  # each row's line in its file


@dataclass
class RawTable:
    table: Table
    path: Path | None  # None: not supplied
    # every model column as text (or typed: ARROW_TYPES, iso_timestamps), plus LINE; empty when not supplied
    data: pa.Table
    malformed: list[tuple[int, str]]  # (row, reason) for CSV lines that could not be split into fields
    stat: tuple[int, int, int] | None = None  # the file's (size, mtime, inode) as it was read: file_stat()

    @property
    def file(self) -> str:
        return self.path.name if self.path else ""


def find_file(directory: Path, table: Table) -> Path | None:
    """The table's file: LoadError if there are two (CSV and Parquet), or the name is not a readable file."""
    found = [p for ext in (".csv", ".parquet") if os.path.lexists(p := directory / f"{table.name}{ext}")]
    if len(found) > 1:
        raise LoadError(f"{directory}: both {found[0].name} and {found[1].name} give table {table.name}: keep one")
    if not found:
        return None
    p = found[0]
    expected = f"expected the {p.suffix[1:].upper()} file of table {table.name}"
    if not p.exists():
        raise LoadError(f"{p}: a symbolic link to nothing (or a loop of them); {expected}")
    if p.is_dir():
        raise LoadError(f"{p}: a folder; {expected}")
    if not p.is_file():
        raise LoadError(f"{p}: not a regular file (a pipe or a device); {expected}")
    return p


# Arrow reads a CSV file in blocks of this many bytes: a line (or a value) longer cannot be read so, and a first line
# longer is no header.
BLOCK = 1 << 20


def _not_utf8(path: Path, data, names: list[str] | None = None) -> LoadError:
    """The file's (or its bytes') first byte that is not UTF-8, named by line and column."""
    at = next(a for a in (_first_not_utf8(data), len(data) - 1) if a is not None)
    line_start = data.rfind(b"\n", 0, at) + 1
    column = bytes(data[line_start:at]).count(b",")  # the commas before it (a quoted comma miscounts)
    where = f", column {names[column].strip()}" if names and column < len(names) else ""
    return LoadError(
        f"{path} line {_count_lines(data, at) + 1}{where}: byte 0x{data[at]:02X} is not UTF-8 text; expected a CSV "
        'file in UTF-8 (from Excel: save as "CSV UTF-8 (Comma delimited)")'
    )


def _first_not_utf8(data) -> int | None:
    for start in range(0, len(data), BLOCK):
        try:  # 3 bytes more: a character cut at the block's end is whole
            bytes(data[start : start + BLOCK + 3]).decode("utf-8")
        except UnicodeDecodeError as e:
            if e.start < BLOCK:
                return start + e.start
    return None


def _count_lines(m, end: int, byte: int = 10) -> int:
    """Newlines (or another byte) in the first ``end`` bytes of a memory map (a slice at a time, not copied whole)."""
    b = np.frombuffer(m, dtype=np.uint8, count=end)
    step = 1 << 20  # a slice that stays in the processor's cache: 573 MB counted in 0.05-0.08 s, 0.1-0.2 s by 16 MB
    return int(sum(np.count_nonzero(b[i : i + step] == byte) for i in range(0, end, step)))


@dataclass(frozen=True)
class Header:
    path: Path | None  # None: not supplied
    names: list[str]  # the column names as written in the file
    extra: list[str]  # columns not in the data model (ignored)
    numbers: list[str] = field(default_factory=list)  # id columns a Parquet file stores as numbers
    # optional columns of the model (required=False) the header does not have: loaded empty, and not available
    absent: list[str] = field(default_factory=list)


def check_header(directory: Path, table: Table) -> Header:
    """The table's file and header; LoadError if unreadable or a required column is missing. An optional column
    (``required=False``, such as one the data model gained after a council's extract was written) may be absent:
    it is loaded empty, and the load's availability record says it was not supplied (docs/assumptions.md A195).

    Reads only the header (CSV) or schema (Parquet), so every file of a load can be checked before
    any is read in full.
    """
    path = find_file(directory, table)
    if path is None:
        return Header(None, [], [])
    expects = f"table {table.name} expects {', '.join(table.column_names)}"
    numbers: list[str] = []
    try:
        if path.suffix == ".csv":
            names = _csv_header(path, expects)
        else:
            schema = pq.read_schema(path)
            names = schema.names
            for f in schema:
                kind = _not_one_value(f.type)
                if kind and f.name.strip() in table.column_names:
                    raise LoadError(f"{path}: column {f.name} holds {kind}; expected one value a row ({expects})")
            numbers = [f.name for f in schema if _is_id(table, f.name.strip()) and _numeric(f.type)]
    except (pa.ArrowInvalid, OSError) as e:
        raise LoadError(f"{path}: cannot be read as {path.suffix[1:].upper()}: {e}") from None
    raw, names = names, [n.strip() for n in names]
    missing = [c.name for c in table.columns if c.name not in names and c.required]
    if missing:
        sep = next((c for c in ";\t|" if len(names) == 1 and c in names[0]), None)
        if sep:
            raise LoadError(f"{path}: the header's fields are separated by {sep!r}; expected commas ({expects})")
        raise LoadError(f"{path}: missing column(s) {', '.join(missing)}; {expects}")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise LoadError(f"{path}: column(s) {', '.join(dupes)} appear more than once in the header")
    absent = [c for c in table.column_names if c not in names]
    return Header(path, raw, [n for n in names if n not in table.column_names], numbers, absent)


def _csv_header(path: Path, expects: str) -> list[str]:
    """The column names of a CSV file's first line: UTF-8 (a byte order mark allowed), at most :data:`BLOCK` long."""
    with open(path, "rb") as f:
        head = f.readline(BLOCK + 1)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LoadError(
            f'{path}: UTF-16 text; expected a CSV file in UTF-8 (from Excel: save as "CSV UTF-8 (Comma delimited)")'
        )
    if not head.strip():
        raise LoadError(f"{path}: {'an empty file' if not head else 'line 1 is blank'}; expected a header ({expects})")
    if len(head) > BLOCK:
        raise LoadError(f"{path}: line 1 is longer than {BLOCK >> 20} MB; expected a header ({expects})")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        raise _not_utf8(path, head) from None
    return pacsv.read_csv(pa.py_buffer(head), read_options=pacsv.ReadOptions(use_threads=False)).column_names


def _is_id(table: Table, name: str) -> bool:
    """An id: the table's key, or a reference to another table's."""
    col = next((c for c in table.columns if c.name == name), None)
    return col is not None and (name == table.key or bool(col.ref))


def _numeric(t: pa.DataType) -> bool:
    t = t.value_type if pa.types.is_dictionary(t) else t
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def _not_one_value(t: pa.DataType) -> str | None:
    """What a Parquet column holds, if not one value a row (a list, a structure, a map)."""
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return "lists"
    if pa.types.is_struct(t) or pa.types.is_map(t) or pa.types.is_union(t):
        return "structures"
    return None


# The model's types that Arrow's CSV reader parses itself, in parallel, as the checks would: a date YYYY-MM-DD, a
# number (with spaces or tabs around them). A file whose every value of these columns parses so is
# read typed; the database then neither parses them in its checks nor again as it writes them (at scale 50 the
# visits took 7.6 s read as text, checked and written, and 5.8 s so). A value Arrow does not take, which the checks
# may still read (05/01/2024, 5.0) or reject, fails the typed read, and the file is read as text. A date and time
# is not read so: Arrow's ISO reader takes '2024-01-05 10', which the checks do not (tests/test_validate.py pins
# both); see iso_timestamps() below. Nor is a whole number: Arrow reads 0x1F as 31 (whole numbers are in small
# tables only: the population, SDQ scores). Arrow reads inf and nan as numbers: the checks reject them typed.
ARROW_TYPES = {"date": pa.date32(), "float": pa.float64()}

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
        offsets, data = value_offsets(chunk)
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


def read_table(table: Table, header: Header, typed: bool = True) -> RawTable:
    """Read one table's file, whose header :func:`check_header` checked, with each row's number: as text, or
    (``typed``, a CSV file whose values all parse so) with its dates and numbers as ARROW_TYPES, and its dates and
    times as timestamps where :func:`iso_timestamps` takes a column."""
    path = header.path
    if path is None:
        empty = {c: pa.array([], pa.string()) for c in table.column_names}
        return RawTable(table, None, pa.table(empty | {LINE: pa.array([], pa.int64())}), [])
    stat = file_stat(path)  # before reading: the file's checksum is refused if it changed since (Part.checksum)
    try:
        if path.suffix == ".csv":
            types = {c.name: ARROW_TYPES[c.type] for c in table.columns if c.type in ARROW_TYPES} if typed else {}
            try:
                data, malformed = _read_csv(path, header.names, types)
            except pa.ArrowInvalid:
                if not types:
                    raise
                data, malformed = _read_csv(path, header.names)
            lines = data.column(data.num_columns - 1)  # LINE, last
            data = data.remove_column(data.num_columns - 1)
        else:
            model = {c.name: c for c in table.columns}
            keep = [n for n in header.names if n.strip() in model]
            data = pq.read_table(path, columns=keep)
            data = pa.table({n: _as_text(data.column(n), model[n.strip()].type) for n in keep})
            lines, malformed = np.arange(1, data.num_rows + 1, dtype=np.int64), []
    except pa.ArrowInvalid as e:
        raise _unreadable(path, e, header.names) from None
    except (OSError, UnicodeDecodeError, pa.ArrowNotImplementedError) as e:
        raise LoadError(f"{path}: cannot be read as {path.suffix[1:].upper()}: {e}") from None
    data = data.rename_columns([n.strip() for n in data.column_names])
    # trimmed, and empty made NULL, by raw_view(); an absent optional column is left out (the load reads it NULL)
    cols = {c: data.column(c) for c in table.column_names if c not in header.absent}
    if typed and path.suffix == ".csv":
        for c in table.columns:
            if c.type == "datetime" and c.name in cols:
                stamps = iso_timestamps(cols[c.name])
                cols[c.name] = cols[c.name] if stamps is None else stamps
    cols[LINE] = lines if isinstance(lines, pa.ChunkedArray) else pa.array(lines)
    return RawTable(table, path, pa.table(cols), malformed, stat)


def _unreadable(path: Path, e: pa.ArrowInvalid, names: list[str]) -> LoadError:
    """Arrow's error in reading a file, said where it is and what was expected."""
    text = str(e)
    if path.suffix == ".csv" and "straddling" in text:
        return _long_record(path, names)
    if path.suffix == ".csv" and "invalid UTF8" in text:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            return _not_utf8(path, m, names)
    return LoadError(f"{path}: cannot be read as {path.suffix[1:].upper()}: {text}")


def _read_csv(
    path: Path, names: list[str], types: dict[str, pa.DataType] | None = None
) -> tuple[pa.Table, list[tuple[int, str]]]:
    """All columns as text, but those ``types`` names (by model name) read as those types, empty values as NULL
    (pa.ArrowInvalid if a value does not parse), and last each row's line (LINE); the lines that could not be split
    into fields, with why. Read in parallel; again in one thread if a line is malformed, for its number."""
    types = types or {}
    convert = pacsv.ConvertOptions(
        column_types={n: types.get(n.strip(), pa.string()) for n in names},
        strings_can_be_null=False,
        null_values=[""],  # not Arrow's NA, NULL, ...: a typed column's value is one the checks would read, or NULL
    )
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        # a value may hold a newline only where the file holds a quote (reading so is slower in parallel)
        quoted = m.find(b'"') >= 0
        for threads in (True, False):
            bad: list[tuple[int, str]] = []

            def on_invalid(row, bad=bad):
                bad.append((row.number, f"has {row.actual_columns} fields, expected {row.expected_columns}"))
                return "skip"

            # read from a memory map: the file's bytes are not copied into the process first (at scale 50 the
            # visits' 573 MB read with 0.5-0.7 s of system time so, 0.1 s mapped)
            with pa.memory_map(str(path)) as source:
                data = pacsv.read_csv(
                    source,
                    read_options=pacsv.ReadOptions(use_threads=threads),
                    parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid, newlines_in_values=quoted),
                    convert_options=convert,
                )
            if not bad:
                break
        if quoted and _count_lines(m, len(m), byte=34) % 2:  # the rest of the file would be one value
            raise LoadError(
                f"{path} line {int(_records(m)[2][-1])}: a quote opened in this line is never closed; expected "
                'each quoted value to end with a quote (a quote within a value written twice: "")'
            )
        starts = _record_lines(m, 1 + data.num_rows + len(bad))
        # a malformed record's last line: its first and the newlines within it (blank lines after it not counted)
        last = {}
        if bad and starts is not None:
            begin, size, first = _records(m)
            for r in {r for r, _ in bad if r is not None}:
                k = int(np.searchsorted(first, starts[r - 1]))
                last[r] = int(first[k]) + m[int(begin[k]) : int(begin[k] + size[k])].count(b"\n")
    # Arrow numbers a malformed row by its record (the header is the first): each record's line instead
    rows = np.arange(2, 2 + data.num_rows + len(bad), dtype=np.int64)
    if bad:
        rows = rows[~np.isin(rows, np.array([r for r, _ in bad if r is not None], dtype=np.int64))][: data.num_rows]
    if starts is None:
        return data.append_column(LINE, pa.array(rows)), bad
    bad = [
        (
            int(starts[r - 1]),
            why + (f" (lines {starts[r - 1]} to {last[r]})" if last[r] > starts[r - 1] else ""),
        )
        if r is not None
        else (None, why)
        for r, why in bad
    ]
    return data.append_column(LINE, pa.array(starts[rows - 1])), bad


CHUNK = 1 << 24  # bytes scanned at a time for the file's lines


def _record_lines(m, records: int) -> np.ndarray | None:
    """The line on which each record of a CSV file starts (the header's first), or None where every line is a
    record: known from the number of its lines (counted at a small cost) where no line is blank and no value
    holds a newline. Otherwise see :func:`_records`; None too where its records are not Arrow's in number."""
    if not len(m):
        return None
    if _count_lines(m, len(m)) + (m[-1] != 10) == records:
        return None
    begin, size, first = _records(m)
    kept = first[(size > 1) | ((size == 1) & (np.frombuffer(m, dtype=np.uint8)[np.minimum(begin, len(m) - 1)] != 13))]
    return kept if len(kept) == records else None


def _records(m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each record's first byte, size and first line, blank lines included, as Arrow reads a file: a newline ends a
    record outside quotes only (a quote in the middle of an unquoted value, which Arrow reads as text, would
    miscount). Scanned a slice at a time, from the positions of its quotes and newlines alone."""
    b = np.frombuffer(m, dtype=np.uint8)
    ends, lines = [], []  # the newlines that end a record: where they are, and how many newlines are before them
    inside, seen = False, 0
    for at in range(0, len(b), CHUNK):
        c = b[at : at + CHUNK]
        nl = np.flatnonzero(c == 10)
        quotes = np.flatnonzero(c == 34)
        end = (np.searchsorted(quotes, nl) % 2 == 1) == inside  # outside quotes at the newline
        ends.append(nl[end] + at)
        lines.append(np.flatnonzero(end) + seen)
        inside ^= bool(len(quotes) % 2)
        seen += len(nl)
    ends, lines = np.concatenate(ends), np.concatenate(lines)
    begin = np.concatenate([[0], ends + 1])
    return begin, np.concatenate([ends, [len(b)]]) - begin, np.concatenate([[1], lines + 2])


def _long_record(path: Path, names: list[str]) -> LoadError:
    """Arrow's 'straddling object' (a record longer than a block): the first such record, by line and column."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        begin, size, first = _records(m)
        k = int(np.argmax(size > BLOCK))
        at, end, line = int(begin[k]), int(begin[k] + size[k]), int(first[k])
        head = np.frombuffer(m, dtype=np.uint8, count=min(end, at + BLOCK + 1) - at, offset=at)
        quotes, commas = np.flatnonzero(head == 34), np.flatnonzero(head == 44)
        commas = commas[np.searchsorted(quotes, commas) % 2 == 0]  # outside quotes
        field = int(np.searchsorted(commas, BLOCK))  # the field in which the record passes the block's size
        start = at + (int(commas[field - 1]) + 1 if field else 0)
        last = line + m[at:end].count(b"\n")
        del head
    name = names[field].strip() if field < len(names) else f"{field + 1} (more fields than the header's)"
    span = f" (lines {line} to {last}: a quote left open?)" if last > line else ""
    return LoadError(
        f"{path} line {line}, column {name}: a value of {(end - start) / 1e6:.1f} MB{span}; expected lines of at "
        f"most {BLOCK >> 20} MB, with values of the data model (ids, codes, dates, names)"
    )


def in_england(col):
    """Timestamps with a time zone as the time in England then, without a zone (2024-06-30 23:30 UTC is 1 July
    00:30), as files and the data model give times; timestamps without a zone as they are. For every reader that
    gets typed timestamps (Parquet, a database), so the same instant is the same day and month whatever the source
    (docs/assumptions.md A96)."""
    t = col.type
    if pa.types.is_timestamp(t) and t.tz:
        return pc.local_timestamp(col.cast(pa.timestamp(t.unit, "Europe/London")))
    return col


def _as_text(col: pa.ChunkedArray, kind: str = "text") -> pa.ChunkedArray:
    """A Parquet column (or a database's, :mod:`.sql`) as the checks read text: whole numbers without a decimal point
    (3.0 and 3.00 are 3), a timestamp as the date and time in England to the second (:func:`in_england`; a date
    where the model wants a date and the time is midnight), booleans true/false, a dictionary's values."""
    t = col.type
    if pa.types.is_dictionary(t):
        return _as_text(col.cast(t.value_type), kind)
    if pa.types.is_timestamp(t):
        col = in_england(col)
        time = pc.strftime(col, format="%H:%M:%S")
        midnight = pc.all(pc.or_kleene(pc.is_null(time), pc.starts_with(time, "00:00:00"))).as_py()
        layout = "%Y-%m-%d" if kind == "date" and midnight else "%Y-%m-%d %H:%M:%S"
        return pc.replace_substring_regex(pc.strftime(col, format=layout), r"\.0+$", "")
    if pa.types.is_date(t):
        return pc.strftime(col, format="%Y-%m-%d")
    if pa.types.is_time(t):
        return pc.replace_substring_regex(pc.cast(col, pa.string()), r"\.0+$", "")
    if pa.types.is_decimal(t):
        return pc.replace_substring_regex(pc.cast(col, pa.string()), r"\.0+$", "")
    return pc.cast(col, pa.string())


def _not_read(directory: Path, read: set[str]) -> list[str]:
    """A note of each file (and folder) in the directory the standard format does not read: it reads a table's
    file only by its exact name, ``<table>.csv`` or ``<table>.parquet``; a name that differs only in case or
    extension (Localities.CSV, localities.csv.gz) is told which table it looks like. Where that table has no file
    of its own, LoadError: the table would be missing, and its rows' references rejected, while its file sits in the
    folder (docs/assumptions.md A99)."""
    tables = {t.name for t in model.TABLES}
    notes = []
    for p in sorted(directory.iterdir()):
        if p.name in read or p.name == "extract.json":
            continue
        if p.name.startswith((".", "~$")):
            notes.append(f"{p.name}: a hidden or lock file: not read")
            continue
        stem = p.name.split(".", 1)[0]
        like = stem.lower() if stem.lower() in tables else None
        if p.is_dir():
            what = "a folder: not read (the standard format reads the files in the folder given, not its folders)"
        elif like:
            what = (
                f"not read: named like table {like}, whose file is read only as {like}.csv or {like}.parquet "
                "(lower case, not compressed): rename it to load it"
            )
            if not any(n.split(".", 1)[0] == like for n in read):  # the table's only file: it would be missing
                raise LoadError(f"{directory / p.name}: {what}")
        else:
            what = "not read: not named after a table of the data model (e.g. children.csv; see docs/data-model.md)"
        notes.append(f"{p.name}: {what}")
    return notes


def read_extract_meta(directory: Path) -> dict:
    """The folder's extract.json: a JSON object whose extract_date, council and latest_month (each optional) are
    text; a LoadError naming the file otherwise. The load checks the values (:func:`kpi.store.check_stated`)."""
    p = Path(directory) / "extract.json"
    if not os.path.lexists(p):
        return {}
    expected = (
        'expected a JSON object such as {"extract_date": "2026-11-20", "council": "...", "latest_month": "2026-10"}'
    )
    if not p.is_file():
        raise LoadError(f"{p}: not a file; {expected}")
    try:
        meta = json.loads(p.read_bytes().decode("utf-8-sig"))
    except OSError as e:
        raise LoadError(f"{p}: cannot be read ({e.strerror}); {expected}") from None
    except UnicodeDecodeError as e:
        raise LoadError(f"{p}: not UTF-8 text (byte {e.start + 1}); {expected}") from None
    except json.JSONDecodeError as e:
        raise LoadError(f"{p}: not valid JSON: {e}") from None
    if not isinstance(meta, dict):
        kind = {list: "list", str: "string", int: "number", float: "number", bool: "true or false"}.get(
            type(meta), "null"
        )
        raise LoadError(f"{p}: a JSON {kind}, not an object; {expected}")
    for k in ("extract_date", "council", "latest_month"):
        if meta.get(k) is not None and not isinstance(meta[k], str):
            raise LoadError(f"{p}: {k} is {json.dumps(meta[k])}, not text; {expected}")
    return meta


def read(source: str | Path, **_) -> Extract:
    """A directory in the standard format, read one table at a time when loaded."""
    directory = Path(source)
    if not directory.is_dir():
        raise LoadError(f"{directory}: no such directory of input files")
    meta = read_extract_meta(directory)
    # Every header first (cheap), so a broken file stops the load before anything is read in full.
    headers = {t.name: check_header(directory, t) for t in model.load_order()}
    if not any(h.path for h in headers.values()):
        raise LoadError(
            f"{directory}: holds no file named after a table of the data model "
            f"(e.g. {model.TABLES[0].name}.csv); see docs/data-model.md"
        )
    notes = _not_read(directory, {h.path.name for h in headers.values() if h.path})
    for h in headers.values():
        if h.extra:
            named = [n for n in h.extra if n.strip()]
            if len(named) < len(h.extra):  # an empty name: a spreadsheet's trailing comma on every line
                named.append("an empty column name (a trailing comma?)")
            notes.append(f"{h.path.name}: column(s) {', '.join(named)} are not in the data model and were ignored")
        if h.numbers:  # ids are text: 7 as the file holds it, which is not 007 (see docs/assumptions.md A78)
            notes.append(
                f"{h.path.name} stores {', '.join(h.numbers)} as numbers: read as written (7, not 007); if ids "
                "elsewhere have leading zeros, export these as text"
            )

    def part(name: str, typed: bool = True) -> Part:
        r = read_table(model.table(name), headers[name], typed)
        text = (lambda: part(name, typed=False)) if typed_columns(r.table, r.data) else None
        labels = {n.strip(): f"{n.strip()} (stored as numbers)" for n in headers[name].numbers}
        return Part(name, r.file, r.data, labels, r.path, r.malformed, text=text, stat=r.stat)

    def parts(name: str) -> list[Part]:
        return [part(name)]

    return Extract(
        "standard",
        str(directory.resolve()),
        parts,
        {n for n, h in headers.items() if h.path},
        missing={n: "not supplied" for n, h in headers.items() if not h.path},
        missing_columns={
            n: {c: f"no column {c} in {h.path.name}" for c in h.absent} for n, h in headers.items() if h.absent
        },
        notes=notes,
        extract_date=meta.get("extract_date"),
        council=meta.get("council"),
        latest_month=meta.get("latest_month"),
    )
