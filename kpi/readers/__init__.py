"""Readers: each input format turned into the standard data model, for :func:`kpi.store.load`.

A reader takes a source (a directory, a file, a database URL) and returns an :class:`Extract`:
for each table of the data model it can fill, one or more :class:`Part`\\ s (the rows of one source
file, as text, in the model's column names, each with its line in that file; the standard format's CSV files
are read with their dates and numbers typed where they parse so), and what it cannot
supply: whole tables (the CIN census holds no contacts) and columns (SSDA903 has no team). Every
row then goes through the same checks as the standard format, and a problem is reported against the
source file, its row and its own column name (``PLACE``, not ``placement_type``).

Readers translate layouts and code styles, never judge values: a code they cannot translate is
passed on as it was written, so the checks reject it with what was expected. Rows a reader itself
sets aside (an episode restated by a later return) are listed with their reason in
:attr:`Extract.rejects`; nothing is dropped unaccounted.

Formats: ``standard`` (a directory of CSV/Parquet files named after the tables, :mod:`kpi.model`),
``ssda903``, ``cin``, ``annex-a`` and ``sql``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from .. import model
from ..validate import LoadError, check_header, read_table, typed_columns

FORMATS = ("standard", "ssda903", "cin", "annex-a", "sql")


@dataclass
class Part:
    """The rows one source file gives one table of the model."""

    table: str
    file: str  # as shown in errors: the file name (and sheet, for a workbook)
    data: pa.Table  # model column names, text or typed (absent columns: not supplied); plus "_line"
    columns: dict[str, str] = field(default_factory=dict)  # model column -> the source's own name
    path: Path | None = None  # the file, for its checksum
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (line, reason): lines not split into fields
    # required columns this source may leave empty (known for some rows only)
    optional: set[str] = field(default_factory=set)
    # the same rows with every column as text, for a part whose data holds typed columns (read_table): the load
    # asks for it where a value must be shown as the file wrote it
    text: Callable[[], Part] | None = None

    def __post_init__(self):
        if "_line" not in self.data.column_names:
            raise ValueError(f"{self.file}: a part needs each row's line number (_line)")

    @property
    def supplied(self) -> set[str]:
        return set(self.data.column_names) - {"_line"}

    def as_text(self) -> Part:
        """The part with every column as text."""
        return self.text() if self.text else self


@dataclass
class Extract:
    """What one source gives the data model."""

    format: str
    source: str
    parts: dict[str, list[Part]] | Callable[[str], list[Part]]  # by table (a callable: read when asked)
    supplies: set[str]  # tables the source has
    missing: dict[str, str] = field(default_factory=dict)  # table -> why the format cannot supply it
    missing_columns: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> {column: why}
    # rows the reader set aside: table_name, file, row, column_name, value, reason
    rejects: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extract_date: str | None = None
    council: str | None = None
    latest_month: str | None = None

    def parts_of(self, table: str) -> list[Part]:
        if table not in self.supplies:
            return []
        return self.parts(table) if callable(self.parts) else self.parts.get(table, [])


def from_frames(
    table: str,
    file: str,
    frame,
    columns: dict[str, str] | None = None,
    path: Path | None = None,
    optional: set[str] | None = None,
) -> Part:
    """A part from a pandas DataFrame of model columns (any dtype: turned to text) and ``_line``."""
    cols = {}
    for c in frame.columns:
        if c == "_line":
            cols[c] = pa.array(frame[c].astype("int64").to_numpy())
            continue
        cols[c] = pa.array([_text(v) for v in frame[c]], pa.string())
    return Part(table, file, pa.table(cols), columns or {}, path, optional=optional or set())


def not_covered(covered: set[str], why: str) -> dict[str, str]:
    """Every table of the model outside what a format covers, with why (for :attr:`Extract.missing`)."""
    return {t.name: why for t in model.TABLES if t.name not in covered}


def _text(v) -> str | None:
    """A value as the checks read it: whole numbers without a decimal point (a database's 3.0 is 3)."""
    import pandas as pd

    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


# ---------------------------------------------------------------------------------------------
# The standard format: a directory of files named after the tables
# ---------------------------------------------------------------------------------------------


def read_standard(source: str | Path, **_) -> Extract:
    """A directory in the standard format (docs/data-model.md), read one table at a time when loaded."""
    from ..store import read_extract_meta

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
        data = r.data.rename_columns([("_line" if c == "_row" else c) for c in r.data.column_names])
        text = (lambda: part(name, typed=False)) if typed_columns(r.table, r.data) else None
        return Part(name, r.file, data, {}, r.path, r.malformed, text=text)

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


def reader(fmt: str) -> Callable[..., Extract]:
    if fmt == "standard":
        return read_standard
    if fmt == "ssda903":
        from .ssda903 import read
    elif fmt == "cin":
        from .cin import read
    elif fmt == "annex-a":
        from .annex_a import read
    elif fmt == "sql":
        from .sql import read
    else:
        raise LoadError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    return read


def parse_source(text: str, default: str = "standard") -> tuple[str, str]:
    """``FORMAT:SOURCE`` (``cin:census.xml``), or SOURCE read in the default format. A database URL
    (``postgresql://...``) is not mistaken for a format prefix."""
    head, sep, rest = text.partition(":")
    if sep and head in FORMATS and not rest.startswith("//"):
        return head, rest
    return default, text


def read(sources: list[tuple[str, str]], **options) -> list[Extract]:
    return [reader(fmt)(src, **options) for fmt, src in sources]
