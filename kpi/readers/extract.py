"""What a reader gives the load: an :class:`Extract` of :class:`Part` s (the rows one source file gives one table
of the data model), and what the source cannot supply."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from .. import model


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
    # the file's (size, mtime, inode) before the reader read it: checksum() refuses a file changed since
    stat: tuple[int, int, int] | None = None

    def __post_init__(self):
        if "_line" not in self.data.column_names:
            raise ValueError(f"{self.file}: a part needs each row's line number (_line)")

    @property
    def supplied(self) -> set[str]:
        return set(self.data.column_names) - {"_line"}

    def checksum(self) -> str:
        """The file's SHA-256; LoadError if it changed since it was read (written again, or replaced): what was read
        would be neither version, and its checksum not that of what was loaded."""
        import os

        from ..errors import LoadError
        from ..files import sha256

        sha = sha256(self.path)
        if self.stat is not None:
            st = os.stat(self.path)
            if (st.st_size, st.st_mtime_ns, st.st_ino) != self.stat:
                raise LoadError(f"{self.path}: changed while it was being loaded; load again once it is written")
        return sha

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
    # rows the reader set aside: table_name, file, row, column_name, value, reason. A table outside the data model
    # (an SSDA903 Reviews table, an Annex A List 8) is named as the source names it, and its rows are set aside
    # here, so the load accounts for every row read (kpi.load._set_aside)
    rejects: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extract_date: str | None = None
    council: str | None = None
    latest_month: str | None = None
    # the first month the source covers (an SSDA903 return's or CIN census's first collection year: April); None:
    # from its records' first month (kpi.store.coverage)
    first_month: str | None = None

    def parts_of(self, table: str) -> list[Part]:
        if table not in self.supplies:
            return []
        return self.parts(table) if callable(self.parts) else self.parts.get(table, [])


def file_stat(path: Path) -> tuple[int, int, int]:
    """What changes when a file is written or replaced: its size, modification time and inode. A reader takes it
    before it reads a file, and :meth:`Part.checksum` refuses the file if it changed since (docs/assumptions.md
    A79)."""
    import os

    st = os.stat(path)
    return st.st_size, st.st_mtime_ns, st.st_ino


def from_frames(
    table: str,
    file: str,
    frame,
    columns: dict[str, str] | None = None,
    path: Path | None = None,
    optional: set[str] | None = None,
    stat: tuple[int, int, int] | None = None,
) -> Part:
    """A part from a pandas DataFrame of model columns (any dtype: turned to text) and ``_line``; ``stat``: the
    file's :func:`file_stat` before it was read."""
    cols = {}
    for c in frame.columns:
        if c == "_line":
            cols[c] = pa.array(frame[c].astype("int64").to_numpy())
            continue
        cols[c] = pa.array([_text(v) for v in frame[c]], pa.string())
    return Part(table, file, pa.table(cols), columns or {}, path, optional=optional or set(), stat=stat)


def typed_columns(table: model.Table, data: pa.Table) -> set[str]:
    """The table's columns that ``data`` holds typed, not as text."""
    return {c for c in table.column_names if c in data.column_names and not pa.types.is_string(data[c].type)}


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
