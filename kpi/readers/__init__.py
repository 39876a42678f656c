"""Readers: each input format turned into the standard data model, for :func:`kpi.load.load_sources`.

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

from ..errors import LoadError
from .extract import Extract, Part, from_frames, not_covered, typed_columns

__all__ = [
    "FORMATS",
    "Extract",
    "Part",
    "from_frames",
    "not_covered",
    "parse_source",
    "read",
    "reader",
    "typed_columns",
]

FORMATS = ("standard", "ssda903", "cin", "annex-a", "sql")


def reader(fmt: str) -> Callable[..., Extract]:
    if fmt == "standard":
        from .standard import read
    elif fmt == "ssda903":
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
