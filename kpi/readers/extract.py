"""What a reader gives the load: an :class:`Extract` of :class:`Part` s (the rows one source file gives one table
of the data model), and what the source cannot supply."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from .. import model

_CHECKSUMS: dict[tuple, str] = {}  # (path, file_stat) -> SHA-256: see Part.checksum


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

        # one file gives many parts (a CIN census 8 tables, an Annex A workbook a dozen): hashed once, its
        # checksum kept by path and (size, mtime, inode)
        key = (str(self.path), self.stat)
        sha = _CHECKSUMS.get(key) if self.stat is not None else None
        if sha is None:
            sha = sha256(self.path)
        if self.stat is not None:
            st = os.stat(self.path)
            if (st.st_size, st.st_mtime_ns, st.st_ino) != self.stat:
                raise LoadError(f"{self.path}: changed while it was being loaded; load again once it is written")
            _CHECKSUMS[key] = sha
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
    # rows the reader set aside, each made by :func:`reject`. A table outside the data model (an SSDA903 UASC
    # table, an Annex A List 8) is named as the source names it, and its rows are set aside here, so the load
    # accounts for every row read (kpi.load._set_aside)
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


REJECTED = "rejected"  # a row the reader could not read: a problem, counted toward the loss rule (kpi.load)
REPLACED = "replaced"  # a row a later version replaces (restated by a later return, superseded): merged, no problem
# a row of the source that is no record of the table (an OC3 row of a young person still looked after): rejected,
# with its reason, but no problem, so not counted toward the loss rule; so are the rows of a table outside the model
NOT_A_RECORD = "set aside"


def reject(table: str, file: str, row, column: str, value, reason: str, kind: str = REJECTED, key=None) -> dict:
    """One row a reader sets aside: the table (a model table, or a table outside the model as the source names it),
    the file and row as shown to the user, the column as the source names it, its value, why; ``kind``:
    :data:`REJECTED`, :data:`REPLACED` or :data:`NOT_A_RECORD`; ``key``: the record's id (a child's CHILD) where the row is a keyed
    table's, so that the rows referring to it fall with it (kpi.load, docs/assumptions.md A86)."""
    assert kind in (REJECTED, REPLACED, NOT_A_RECORD), kind
    return {
        "table_name": table,
        "file": file,
        "row": int(row),
        "column_name": column,
        "value": value,
        "reason": reason,
        "kind": kind,
        "key": key,
    }


def visible(source: Path, suffix: str, reads: str, notes: list[str]) -> list[Path]:
    """The files under the folder ``source`` whose suffix is ``suffix`` (any case), in name order. Spreadsheet lock
    files (~$...) and hidden files (.name) are left out, and noted, and so is every other file, with ``reads`` (what
    the reader reads) saying why: a table saved as .xlsx, or a census zipped, is one the user may think read."""
    every = sorted(p for p in source.rglob("*") if p.is_file())
    hidden = [p for p in every if p.name.startswith((".", "~$"))]
    if hidden:
        notes.append(f"{', '.join(p.name for p in hidden)}: hidden or lock file(s), not read")
    found = [p for p in every if p.suffix.lower() == suffix and p not in hidden]
    other = [str(p.relative_to(source)) for p in every if p not in found and p not in hidden]
    if other:
        notes.append(f"{', '.join(other)}: not {suffix[1:].upper()}: not read ({reads})")
    return found


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
