"""What the two statutory readers (:mod:`.ssda903`, :mod:`.cin`) share: dates as the returns write them, the
April-March collection year, and a later return restating an earlier one's records (docs/assumptions.md A49-A51)."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from ..errors import LoadError
from ..grammar import ISO_DATE_RE, UK_DATE_RE
from .extract import REJECTED, reject

# A date exactly as the checks read one (kpi.grammar.ISO_DATE_RE, UK_DATE_RE: YYYY-MM-DD, or DD/MM/YYYY whose day
# or month may lose its leading zero, with or without a midnight time), so a date the readers work with (a return's
# year, a record's key, an identifier) is one the checks load, and a value they refuse is not a date here either
# (2024-04-01T00:00:00Z, 2024-4-1: docs/assumptions.md A97). The date itself is the first group or the second.
DATE = re.compile(
    "^(?:" + "|".join(f"(?:{p.removeprefix('^').removesuffix('$')})" for p in (ISO_DATE_RE, UK_DATE_RE)) + r")\Z"
)
_PAD = " \t"  # what the checks' patterns take around a date


def parse_dates(values: pd.Series) -> pd.Series:
    """The values read as dates (datetime64; NaT where empty or not a date as the checks read one). The two plain
    layouts are parsed by pandas; only what they leave (a midnight time, a day without its leading zero) by the
    pattern."""
    text = values.astype("string").str.strip(_PAD)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for layout in ("%Y-%m-%d", "%d/%m/%Y"):
        todo = out.isna() & text.str.len().eq(10).fillna(False)
        if todo.any():
            out[todo] = pd.to_datetime(text[todo], format=layout, errors="coerce")
    rest = out.isna() & text.fillna("").ne("")
    if rest.any():
        x = text[rest].str.extract(DATE)
        iso = pd.to_datetime(x[0], format="%Y-%m-%d", errors="coerce")
        out[rest] = iso.fillna(pd.to_datetime(x[1], format="%d/%m/%Y", errors="coerce"))
    return out


def parse_date(text: str | None) -> dt.date | None:
    """One value read as a date, as :func:`parse_dates` reads them (None where it does not)."""
    m = DATE.match((text or "").strip(_PAD))
    if not m:
        return None
    try:
        if m[1]:
            return dt.datetime.strptime(m[1], "%Y-%m-%d").date()
        return dt.datetime.strptime(m[2], "%d/%m/%Y").date()
    except ValueError:
        return None


def canonical(values: pd.Series, dates: pd.Series, layout: str) -> pd.Series:
    """Values as keys: a date in one layout whatever layout it was written in (so 2025-04-01 in one return and
    01/04/2025 00:00 in the next are the same key), anything else stripped as written."""
    text = values.astype("string").str.strip().fillna("")
    return dates.dt.strftime(layout).astype("string").fillna(text)


def year_of(dates: pd.Series) -> pd.Series:
    """The collection year of each date (2026 for April 2025 to March 2026), NA where no date."""
    return (dates.dt.year + (dates.dt.month >= 4)).astype("Int64")


def year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year - 1, 4, 1), dt.date(year, 3, 31)


def label(year: int) -> str:
    """2026 as 2025-26."""
    return f"{year - 1}-{year % 100:02d}"


# A year in a folder or file name: 2025-26, 2025_2026, 2025 to 2026 (the year ending in March 2026), or 2026 alone
# (the DfE names a collection by the year it ends in). Four digits with a digit either side are not a year.
NAMED = re.compile(r"(?<!\d)((?:19|20)\d\d)(?:\s*(?:-|_|/|to)\s*((?:19|20)?\d\d))?(?!\d)")


def named_year(name: str) -> int | None:
    """The collection year a name states, if it states exactly one."""
    years = set()
    for m in NAMED.finditer(name):
        first, second = int(m.group(1)), m.group(2)
        if second and (int(second) == first + 1 or int(second) == (first + 1) % 100):
            years.add(first + 1)
        else:
            years.add(first)
    return years.pop() if len(years) == 1 else None


def option_year(year) -> int | None:
    """``--year``: 2026, 2025-26 or 2025/26 as the collection year ending in March 2026."""
    if year is None or year == "":
        return None
    text = str(year).strip()
    m = NAMED.fullmatch(text)
    y = named_year(text) if m else None
    if y is None:
        raise LoadError(
            f"--year {text!r}: expected a collection year such as 2026 or 2025-26 (April 2025 to March 2026)"
        )
    return y


def restated(key: pd.Series, rank: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Rows whose key a later return (higher rank) gives again: a mask of them, and for each the index of the
    later return's first row with that key. Rows without a key are never restated."""
    latest = rank.groupby(key).transform("max")
    old = (rank < latest).fillna(False).astype(bool)
    first = pd.Series(key.index, index=key.index)[~old].groupby(key[~old]).first()
    return old, key[old].map(first)


def set_aside(table: str, rows: pd.DataFrame, column, value, reason, kind: str = REJECTED, key=None) -> list[dict]:
    """What a reader lists for rows it does not give the load (each with its ``_file`` and ``_line``): the column,
    value, reason and the record's key (:func:`kpi.readers.extract.reject`), each one for every row or a Series by
    row."""

    def each(x) -> list:
        return x.astype(object).where(x.notna(), None).tolist() if isinstance(x, pd.Series) else [x] * len(rows)

    return [
        reject(table, f, line, c, v, r, kind, k)
        for f, line, c, v, r, k in zip(
            rows["_file"].tolist(),
            rows["_line"].tolist(),
            each(column),
            each(value),
            each(reason),
            each(key),
            strict=True,
        )
    ]
