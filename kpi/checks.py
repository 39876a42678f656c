"""The row checks: every row of a table judged against the data model, as SQL run by DuckDB.

A **row problem** (bad type, unknown code, out of range, dates out of order, duplicate id, reference that does
not resolve, event after the extract date) rejects that row: it is listed with file, row, column, value and
what was expected, and the rest of the file loads. The checks read a raw table (every model column as text, or
typed where a reader read it so) with each row's number, and cost little even for a country-sized extract.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrowtext import text_chunks, value_offsets
from .grammar import (
    FLOAT_RE,
    INT_RE,
    ISO_DATE_RE,
    ISO_DATETIME_RE,
    UK_DATE_RE,
    UK_DATETIME_RE,
)
from .model import Column, Table

ROW = "_row"  # the row-number column added to every raw table

# ---------------------------------------------------------------------------------------------
# Row checks as SQL over the raw (all-text) table
# ---------------------------------------------------------------------------------------------


# Spaces (and no-break spaces) around a value are not part of it. DuckDB's trim() on every value of a column
# is slow (at scale 50, 3.5 of the 4.4 s a scan of the visits took), and the checks refer to each column
# several times; so a column is trimmed only if one of its values needs it. Which do is read off the Arrow
# buffers directly: each value's first and last bytes (0.5 s for the visits' 65M values; 2.7 s in SQL).
NBSP = (0xC2, 0xA0)  # a no-break space in UTF-8


def padded(col: pa.ChunkedArray) -> bool:
    """Whether any value of the text column starts or ends with a space or a no-break space.

    A chunk whose bytes hold no space and no 0xA0 (a no-break space's second byte) holds no such value: that is
    asked of the bytes as a whole first, a copy and a byte search (at scale 50, the visits' five columns in
    0.09 s), and only a chunk that has one is looked at value by value (the five took 1.5 s so, each chunk)."""
    for chunk in text_chunks(col):
        offsets, data = value_offsets(chunk)
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
    return {c for c in columns if padded(data.column(c))}


# Characters that do not show: zero-width spaces and joiners, a word joiner, a byte order mark, and the control
# characters. Around a value they are padding, like spaces; inside an id they would make a second id that looks
# the same as the first (CH0 and CH0 with a zero-width space), so such an id is rejected (A88).
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff" + "".join(map(chr, range(1, 0x20))) + "\x7f"  # NUL: not in SQL text
TRIM = " \u00a0" + INVISIBLE  # what raw_view trims from around a value
# the bytes that start an invisible character in UTF-8 (control characters, and the lead bytes of the others), and
# every other byte: a value's bytes with the others deleted are empty where it holds none
_LEAD = bytes([*range(0x20), 0x7F, 0xE2, 0xEF])
_NOT_LEAD = bytes(b for b in range(256) if b not in _LEAD)


def invisible(col: pa.ChunkedArray) -> bool:
    """Whether any value of the text column may hold an invisible character (:data:`INVISIBLE`): a byte that starts
    one (0xE2 starts other characters too: a dash, a curly quote; such a column is looked at by the checks)."""
    for chunk in text_chunks(col):
        offsets, data = value_offsets(chunk)
        if data is None:
            continue
        if bytes(memoryview(data)[offsets[0] : offsets[-1]]).translate(None, _NOT_LEAD):  # a copy and a byte scan
            return True
    return False


def ascending(col: pa.ChunkedArray) -> bool:
    """Whether the text values, in row order, rise strictly: each is longer than the one before, or as long
    and after it in byte order. Such values are all different, so the grouping that finds repeated ids
    (most of a keyed table's checks: at scale 50, 3.3 s of CPU for the 13M visits) is not needed; ids
    numbered as they were issued (CH1 ... CH9, CH10 ...) rise so. Any NULL: False (an empty
    id is NULL once read, so it repeats nothing)."""
    prev = None
    for chunk in text_chunks(col):
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
        ident(c)
        if c in typed
        else f"NULLIF({f'trim({ident(c)}, {lit(TRIM)})' if trim is None or c in trim else ident(c)}, '') AS {ident(c)}"
        for c in table.column_names
    )
    return f"SELECT {cols}, {', '.join((*extra, ROW))} FROM {arrow_name}"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


EARLIEST = "1900-01-01"  # the first date any date column accepts
BOOL_TRUE = ("Y", "YES", "TRUE", "T", "1")
BOOL_FALSE = ("N", "NO", "FALSE", "F", "0")


_D = "[0-9]"
_ISO_GLOB = f"{_D * 4}-{_D * 2}-{_D * 2}"  # YYYY-MM-DD
_UK_GLOB = f"{_D * 2}/{_D * 2}/{_D * 4}"  # DD/MM/YYYY
_TIME_GLOB = f"{_D * 2}:{_D * 2}:{_D * 2}"  # HH:MM:SS


def _uk_as_iso(x: str) -> str:
    """DD/MM/YYYY (the first ten characters of x) rewritten YYYY-MM-DD."""
    return f"(substr({x}, 7, 4) || '-' || substr({x}, 4, 2) || '-' || substr({x}, 1, 2))"


def _group(x: str, pattern: str) -> str:
    """The regular expression's first group in x, NULL where x does not match."""
    return f"NULLIF(regexp_extract({x}, {lit(pattern)}, 1), '')"


def parsed(col: Column, expr: str | None = None, typed: set[str] = frozenset()) -> str:
    """SQL turning the text column into its model type (NULL where it is not written as the type is,
    :data:`INT_RE` and the rest); a column read ``typed`` (:data:`ARROW_TYPES`) is already."""
    x = expr or ident(col.name)
    if col.type in ("id", "str", "code") or col.name in typed:
        return x
    if col.type == "int":
        return f"(CASE WHEN regexp_full_match({x}, {lit(INT_RE)}) THEN TRY_CAST({x} AS BIGINT) END)"
    if col.type == "float":
        return (
            f"(CASE WHEN regexp_full_match({x}, {lit(FLOAT_RE)}) AND isfinite(TRY_CAST({x} AS DOUBLE)) "
            f"THEN TRY_CAST({x} AS DOUBLE) END)"
        )
    if col.type == "bool":
        t = ", ".join(lit(v) for v in BOOL_TRUE)
        f = ", ".join(lit(v) for v in BOOL_FALSE)
        return f"(CASE WHEN upper({x}) IN ({t}) THEN TRUE WHEN upper({x}) IN ({f}) THEN FALSE END)"
    # The usual layouts are told by a pattern of digits (GLOB: a fifth of a regular expression's time) and read
    # by a cast (a UK date rewritten YYYY-MM-DD: strptime takes twice as long); the regular expressions take the
    # rest. At scale 1, 3M dates: 0.4 s written YYYY-MM-DD, against 2.1 s by the expressions alone.
    if col.type == "date":
        return (
            f"(CASE WHEN {x} GLOB {lit(_ISO_GLOB)} THEN TRY_CAST({x} AS DATE) "
            f"WHEN {x} GLOB {lit(_UK_GLOB)} THEN TRY_CAST({_uk_as_iso(x)} AS DATE) "
            f"ELSE COALESCE(TRY_CAST({_group(x, ISO_DATE_RE)} AS DATE), "
            f"TRY_CAST(TRY_STRPTIME({_group(x, UK_DATE_RE)}, '%d/%m/%Y') AS DATE)) END)"
        )
    if col.type == "datetime":
        return (
            f"(CASE WHEN {x} GLOB {lit(_ISO_GLOB + ' ' + _TIME_GLOB)} THEN TRY_CAST({x} AS TIMESTAMP) "
            f"WHEN {x} GLOB {lit(_UK_GLOB + ' ' + _TIME_GLOB)} "
            f"THEN TRY_CAST({_uk_as_iso(x)} || substr({x}, 11) AS TIMESTAMP) "
            f"ELSE COALESCE(TRY_CAST({_group(x, ISO_DATETIME_RE)} AS TIMESTAMP), "
            f"TRY_STRPTIME({_group(x, UK_DATETIME_RE)}, "
            "['%d/%m/%Y %H:%M:%S', '%d/%m/%Y %H:%M:%S.%f', '%d/%m/%Y %H:%M', '%d/%m/%Y'])) END)"
        )
    raise ValueError(col.type)


EXPECTED = {
    "int": "a whole number",
    "float": "a number",
    "bool": "Y or N",
    "date": "a date YYYY-MM-DD or DD/MM/YYYY (with no time, or midnight)",
    "datetime": "a date and time YYYY-MM-DD HH:MM[:SS] or DD/MM/YYYY HH:MM[:SS]",
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
    unchecked: set[str] = frozenset(),
    invisible: set[str] = frozenset(),
) -> str:
    """One query giving (row, column_name, value, reason) for every row problem of the table.

    ``raw`` has the model's columns as text, ROW, and each row's ``_part``, ``_file`` and ``_line``.
    ``exempt`` names, for a required column, the parts whose format cannot supply it: their rows are
    not asked for it. ``ids_distinct``: the key's values are known to be all different (:func:`ascending`),
    so repeats are not looked for. ``typed``: the columns read typed (:func:`read_table`), which parse by
    construction; their other checks are made on their values. ``by_row``: the reference columns whose values are
    looked up row by row, not among their distinct values (:func:`distinct_first`); ``unchecked``: the reference
    columns not looked up at all (their table supplied by no source); ``invisible``: the id columns whose values
    may hold an invisible character (:func:`invisible`), looked for inside them.

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
        q = ident(c.name)
        skip = (exempt or {}).get(c.name) or []
        if c.required and skip:
            add(
                c.name,
                q,
                f"{q} IS NULL AND _part NOT IN ({', '.join(map(str, skip))})",
                lit("required value is missing"),
            )
        elif c.required:
            add(c.name, q, f"{q} IS NULL", lit("required value is missing"))
        if c.name in invisible:
            add(
                c.name,
                q,
                f"regexp_matches({q}, {lit('[' + INVISIBLE + ']')})",
                lit("expected an id without invisible characters (zero-width space, byte order mark, control) in it"),
            )
        if c.type in EXPECTED and c.name not in typed:
            add(
                c.name,
                q,
                f"{q} IS NOT NULL AND {parsed(c)} IS NULL",
                lit(f"expected {EXPECTED[c.type]}"),
                False,
            )
        if c.type == "float" and c.name in typed:  # Arrow reads inf and nan as numbers; the checks do not
            add(c.name, q, f"NOT isfinite({q})", lit(f"expected {EXPECTED['float']}"))
        if c.codes:
            codes = ", ".join(lit(k) for k in c.codes)
            shown = ", ".join(list(c.codes)[:12]) + (", ..." if len(c.codes) > 12 else "")
            add(
                c.name,
                q,
                f"{q} IS NOT NULL AND {q} NOT IN ({codes})",
                lit(f"expected one of the {c.name} codes ({shown})"),
            )
        # the parsed value's checks: each its own condition, and together one test on one parse (within)
        v = parsed(c, typed=typed)
        within = None if c.name in typed else f"{v} IS NOT NULL"  # a typed value has parsed
        if c.min is not None:
            add(c.name, q, f"{v} < {c.min}", lit(f"expected at least {c.min:g}"), False)
        if c.max is not None:
            add(c.name, q, f"{v} > {c.max}", lit(f"expected at most {c.max:g}"), False)
        if c.min is not None and c.max is not None:
            within = f"{v} BETWEEN {c.min} AND {c.max}"
        elif c.min is not None:
            within = f"{v} >= {c.min}"
        elif c.max is not None:
            within = f"{v} <= {c.max}"
        if c.type in ("date", "datetime"):
            assert c.min is None and c.max is None, f"{table.name}.{c.name}: one parsed check per column"
            # year 0001 or 0012 is a misread year, not a date in a child's record (A88)
            add(
                c.name,
                q,
                f"CAST({v} AS DATE) < DATE {lit(EARLIEST)}",
                lit(f"expected a date from {EARLIEST[:4]}"),
                False,
            )
            within = f"CAST({v} AS DATE) >= DATE {lit(EARLIEST)}"
        if c.type in ("date", "datetime") and not c.future_ok:
            add(
                c.name,
                q,
                f"CAST({v} AS DATE) >= DATE {lit(extract_date)}",
                lit(f"expected a date before the extract date {extract_date}"),
                False,
            )
            within += f" AND CAST({v} AS DATE) < DATE {lit(extract_date)}"
        if c.type in EXPECTED and within:  # a value that does not parse, or parses out of range, fails this
            suspects.append(f"({q} IS NOT NULL AND NOT coalesce({within}, FALSE))")
        if c.ref and c.name not in unchecked:
            # The values that do not resolve are found first, from the column alone (among its distinct values
            # unless it is in by_row), and the rows holding one then picked out. Joining every row to its parent
            # table instead carried every row's text through the join: at scale 50 the referrals' checks took
            # 3.4-4.1 s so, 2.5-2.8 s then.
            ptable, pcol = c.ref.split(".")
            bad = f"_unresolved{len(unresolved)}"
            values = "" if c.name in by_row else "DISTINCT "
            unresolved.append(
                f"{bad} AS MATERIALIZED (SELECT d.v FROM (SELECT {values}{q} AS v FROM {raw} WHERE {q} IS NOT NULL) d "
                f"ANTI JOIN {schema}.{ident(ptable)} p ON p.{ident(pcol)} = d.v)"
            )
            add(c.name, q, f"{q} IN (SELECT v FROM {bad})", lit(f"expected a {pcol} loaded in {ptable}"))
    for a, b in table.date_order:
        ca, cb = table.column(a), table.column(b)
        add(
            b,
            ident(b),
            f"{parsed(cb, typed=typed)} < {parsed(ca, typed=typed)}",
            f"'expected on or after {a} (' || CAST({ident(a)} AS VARCHAR) || ')'",
        )
    cases = ", ".join(
        f"CASE WHEN {cond} THEN {{'column_name': {lit(col)}, 'value': CAST({val} AS VARCHAR), 'reason': {why}}} END"
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
    if table.unique and not ids_distinct:
        # Ids seen more than once: a hash aggregate (half the time of a window over every row), over the ids'
        # 64-bit hashes, then over the ids themselves for the rows whose hash repeats, if any (a collision is
        # only that). The aggregate holds 8 bytes an id, not the id and its first row: at scale 50 the load's
        # peak went from 4.16-4.19 to 3.73-3.80 GB, and the check of the 10.5M supervisions from 1.4-1.6 to
        # 1.1-1.4 s (the whole load's time is unchanged within the machine's noise).
        # A table without an id (the population) has a natural key: its columns' values read together, so that a
        # cell given twice (2024, N, 5, M), which would count its children twice, is found the same way.
        name = ", ".join(table.unique)
        src, k, shown = raw, ident(table.key or ""), ident(table.key or "")
        if not table.key:
            src, k, shown = f"({natural_key(table, raw, typed)})", "_nk", "_nk_shown"
        sql += (
            f" UNION ALL SELECT r.{ROW}, {lit(name)}, r.{shown}, "
            f"'duplicate ' || {lit(name)} || ', first at ' "
            f"|| CASE WHEN f._file = r._file THEN '' ELSE f._file || ' ' END || 'row ' || f._line "
            f"FROM {src} r JOIN (SELECT {k} AS _k, min({ROW}) AS first FROM {src} WHERE hash({k}) IN "
            f"(SELECT hash({k}) FROM {src} WHERE {k} IS NOT NULL GROUP BY 1 HAVING count(*) > 1) "
            f"GROUP BY 1 HAVING count(*) > 1) d ON d._k = r.{k} JOIN {raw} f ON f.{ROW} = d.first "
            f"WHERE r.{ROW} <> d.first"
        )
    return sql


def natural_key(table: Table, raw: str, typed: set[str] = frozenset()) -> str:
    """The raw rows with their natural key: ``_nk``, the key columns' values as read, together (NULL where one is
    empty or does not parse: such a row is rejected for it anyway), and ``_nk_shown``, the values as written."""
    vals = [parsed(table.column(n), typed=typed) for n in table.natural_key]
    present = " AND ".join(f"{v} IS NOT NULL" for v in vals)
    together = ", ".join(f"CAST({v} AS VARCHAR)" for v in vals)
    shown = ", ".join(f"CAST({ident(n)} AS VARCHAR)" for n in table.natural_key)
    return (
        f"SELECT *, CASE WHEN {present} THEN concat_ws(chr(31), {together}) END AS _nk, "
        f"concat_ws(', ', {shown}) AS _nk_shown FROM {raw}"
    )


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

    cols = ", ".join(f"CAST({parsed(c, typed=typed)} AS {TYPES[c.type]}) AS {ident(c.name)}" for c in table.columns)
    return f"SELECT {cols} FROM {raw}"
