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
from dataclasses import dataclass
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
from .extract import Extract, Part, typed_columns

LINE = "_line"  # each row's line in its file


@dataclass
class RawTable:
    table: Table
    path: Path | None  # None: not supplied
    # every model column as text (or typed: ARROW_TYPES, iso_timestamps), plus LINE; empty when not supplied
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
    cols[LINE] = _row_numbers(data.num_rows, first_row, malformed)
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


def read_extract_meta(directory: Path) -> dict:
    p = Path(directory) / "extract.json"
    if not p.exists():
        return {}
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise LoadError(f"{p}: not valid JSON: {e}") from None


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
    notes = []
    for h in headers.values():
        if h.extra:
            notes.append(f"{h.path.name}: column(s) {', '.join(h.extra)} are not in the data model and were ignored")

    def part(name: str, typed: bool = True) -> Part:
        r = read_table(model.table(name), headers[name], typed)
        text = (lambda: part(name, typed=False)) if typed_columns(r.table, r.data) else None
        return Part(name, r.file, r.data, {}, r.path, r.malformed, text=text)

    def parts(name: str) -> list[Part]:
        return [part(name)]

    return Extract(
        "standard",
        str(directory.resolve()),
        parts,
        {n for n, h in headers.items() if h.path},
        missing={n: "not supplied" for n, h in headers.items() if not h.path},
        notes=notes,
        extract_date=meta.get("extract_date"),
        council=meta.get("council"),
        latest_month=meta.get("latest_month"),
    )
