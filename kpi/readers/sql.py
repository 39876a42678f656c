"""A council's own SQL database (through SQLAlchemy), into the data model.

``kpi load --format sql postgresql://user@host/db [--mapping mapping.yaml]``

Without a mapping, the database holds the standard tables: a table (or view) named after each table of
the data model, with its columns (docs/data-model.md), in the schema given by ``?schema=`` in the URL
or the default one. With a mapping file, the council names its own tables and columns::

    schema: csc                    # default schema for the tables below (optional)
    extract_date: 2026-11-01       # optional
    tables:
      referrals:
        from: mosaic.referral_facts            # a table or view ...
        columns:                               # model column: the council's column
          referral_id: ref_id
          child_id: person_id
          referral_date: ref_date
      children:
        sql: SELECT person_id AS child_id, ... FROM people WHERE ...   # ... or a query of model columns

A model column the mapping leaves out is not supplied by this source (the measures needing it are not
available). Rows are numbered in key order, so a problem's row is found again by the same query; it is
reported with its key value.

A database that does not answer stops the load after ``sql_timeout`` seconds (``kpi load --sql-timeout``,
default :data:`TIMEOUT`): PostgreSQL is told to cancel a statement running longer, and the connection and each
query are waited on for as long (a little more) whatever the database.
"""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pyarrow as pa
import yaml

from .. import model
from ..errors import LoadError
from .extract import Extract, Part, _text
from .standard import _as_text

TIMEOUT = 600.0  # seconds a query may take before the load stops (docs/assumptions.md A79)
CONNECT_TIMEOUT = 30.0  # at most, for the connection itself


def _engine(url: str, timeout: float):
    import sqlalchemy as sa

    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]  # the driver the project installs
    args = {}
    if url.startswith("postgresql"):
        # libpq's connect timeout (whole seconds, at least 2) and the server's own for each statement
        args = {
            "connect_timeout": max(2, round(min(timeout, CONNECT_TIMEOUT))),
            "options": f"-c statement_timeout={int(timeout * 1000)}",
        }
    elif url.startswith("sqlite"):
        path = url.split(":///", 1)[1].split("?", 1)[0] if ":///" in url else ""
        if path and path != ":memory:" and not Path(path).is_file():  # sqlite would make an empty database
            raise LoadError(f"{url}: no such database file")
    try:
        return sa.create_engine(url, connect_args=args)
    except Exception as e:  # noqa: BLE001 - a bad URL or a driver that is not installed
        raise LoadError(f"cannot use database URL {_safe(url)}: {e}") from None


def _within(seconds: float, what: str, fn, *args):
    """``fn(*args)`` waited on for ``seconds`` (a database that accepts a connection and never answers would hold
    the load for ever): LoadError after that. It runs in a thread of its own, left to end with the process."""
    box: dict = {}

    def run():
        try:
            box["value"] = fn(*args)
        except BaseException as e:  # noqa: BLE001 - raised again in the caller's thread
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        raise LoadError(f"{what}: no answer within {seconds:g} s; is the database up? (--sql-timeout SECONDS)")
    if "error" in box:
        raise box["error"]
    return box["value"]


class _UniqueKeys(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """YAML whose mappings may not repeat a key (safe_load keeps the last silently)."""


def _no_repeats(loader, node, deep=False):
    keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
    twice = sorted({str(k) for k in keys if keys.count(k) > 1})
    if twice:
        raise yaml.constructor.ConstructorError(None, None, f"{', '.join(twice)} given twice", node.start_mark)
    return yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep)


_UniqueKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_repeats)


def _safe(url: str) -> str:
    """The URL without its password, for messages and the snapshot's source."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def _mapping(mapping: str | Path) -> dict:
    """The mapping file, checked for its shape before the database is asked anything."""
    try:
        spec = yaml.load(Path(mapping).read_text(encoding="utf-8"), Loader=_UniqueKeys) or {}
    except OSError as e:
        raise LoadError(f"{mapping}: cannot be read: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise LoadError(f"{mapping}: not UTF-8 text; expected a YAML mapping file") from None
    except yaml.YAMLError as e:
        raise LoadError(f"{mapping}: not valid YAML: {' '.join(str(e).split())}") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("tables"), dict):
        raise LoadError(f"{mapping}: expected a mapping with `tables:` (table of the model: from/sql and columns)")
    unknown = sorted(set(spec) - {"schema", "extract_date", "council", "latest_month", "tables"})
    if unknown:
        raise LoadError(
            f"{mapping}: unknown field(s) {', '.join(map(str, unknown))}; expected schema, extract_date, council, "
            "latest_month and tables"
        )
    unknown = sorted(set(map(str, spec["tables"])) - set(model.TABLE_BY_NAME))
    if unknown:
        raise LoadError(f"{mapping}: no table(s) {', '.join(unknown)} in the data model (see docs/data-model.md)")
    for name, t in spec["tables"].items():
        where = f"{mapping}: tables.{name}"
        if not isinstance(t, dict) or set(t) - {"from", "sql", "columns"} or ("sql" in t) == ("from" in t):
            raise LoadError(
                f"{where}: give `from` (a table or view) and `columns` (model column: your column), or `sql`"
            )
        if "sql" in t and not (isinstance(t["sql"], str) and t["sql"].strip()):
            raise LoadError(f"{where}: sql: expected a query (SELECT ...)")
        if "from" in t:
            cols = t.get("columns")
            if not isinstance(t["from"], str) or not isinstance(cols, dict) or not cols:
                raise LoadError(f"{where}: give `from` (a table or view) and `columns` (model column: your column)")
            bad = [f"{k}: {v!r}" for k, v in cols.items() if not isinstance(v, str) or not v.strip()]
            if bad:
                raise LoadError(f"{where}: columns: expected your column's name for each, not {', '.join(bad)}")
    return spec


def read(source: str, mapping: str | Path | None = None, sql_timeout: float | None = None, **_) -> Extract:
    import sqlalchemy as sa

    timeout = TIMEOUT if sql_timeout is None else float(sql_timeout)
    if timeout <= 0:
        raise LoadError(f"--sql-timeout {sql_timeout}: expected a number of seconds above 0")
    query = parse_qs(urlsplit(source).query)
    url = source.split("?", 1)[0] if "schema" in query else source
    spec = _mapping(mapping) if mapping else {}
    schema = spec.get("schema") or (query.get("schema") or [None])[0]
    engine = _engine(url, timeout)
    wait = timeout + 5  # the server's own timeout first, where it has one: its message says more
    try:
        with _within(min(wait, CONNECT_TIMEOUT + 5), _safe(url), engine.connect) as con:
            inspector = _within(wait, _safe(url), sa.inspect, con)
            names = _within(
                wait,
                _safe(url),
                lambda: inspector.get_table_names(schema=schema) + inspector.get_view_names(schema=schema),
            )
            existing = _by_lower(names, f"{_safe(url)}: tables", lambda n: _qualified(schema, n))
            parts, missing, missing_cols, notes = {}, {}, {}, []
            for t in model.TABLES:
                if mapping:
                    got = _mapped(con, inspector, t, spec["tables"].get(t.name), schema, mapping, wait)
                else:
                    got = _standard(con, inspector, t, existing, schema, wait)
                if got is None:
                    missing[t.name] = (
                        "not in the database" if not mapping else f"not in the mapping {Path(mapping).name}"
                    )
                    continue
                df, label, columns = got
                numbers = [c for c in df.columns if c in _ids(t) and pd.api.types.is_numeric_dtype(df[c])]
                if numbers:  # ids are text: as written, which is not 007 (docs/assumptions.md A78)
                    notes.append(
                        f"{label} gives {', '.join(numbers)} as numbers: read as written (7, not 007); if ids "
                        "elsewhere have leading zeros, give these as text"
                    )
                absent = [c.name for c in t.columns if c.name not in df.columns]
                if absent:
                    why = f"not mapped in {Path(mapping).name}" if mapping else f"no column {{}} in {label}"
                    missing_cols[t.name] = {c: why.format(c) for c in absent}
                if t.key and t.key in df.columns:
                    df = df.sort_values(t.key, kind="stable", key=lambda s: s.astype(str))
                df = df.reset_index(drop=True).assign(_line=lambda d: d.index + 1)
                parts[t.name] = [_as_part(t, label, df, columns)]
    except sa.exc.SQLAlchemyError as e:
        raise LoadError(f"{_safe(url)}: {_said(e)}") from None
    finally:
        engine.dispose()
    if not parts:
        raise LoadError(
            f"{_safe(url)}: holds none of the data model's tables" + (f" in schema {schema}" if schema else "")
        )
    return Extract(
        "sql",
        _safe(source),
        parts,
        set(parts),
        missing=missing,
        missing_columns=missing_cols,
        notes=notes,
        extract_date=str(spec["extract_date"]) if spec.get("extract_date") else None,
        council=spec.get("council"),
        latest_month=spec.get("latest_month"),
    )


def _ids(t: model.Table) -> set[str]:
    """The table's key and its references to other tables."""
    return {c.name for c in t.columns if c.name == t.key or c.ref}


def _said(e: Exception) -> str:
    """A database's error in a line: a statement the server cancelled for its time says so."""
    first = str(e).splitlines()[0]
    if "statement timeout" in first:
        return f"a query ran longer than the time allowed (--sql-timeout SECONDS): {first}"
    if "timeout expired" in first:
        return f"no answer in time; is the database up? (--sql-timeout SECONDS): {first}"
    return f"{type(e).__name__}: {first}"


def _by_lower(names: list[str], what: str, show=str) -> dict[str, str]:
    """Names by their lower case: LoadError where two differ only so (which is meant cannot be told)."""
    out: dict[str, str] = {}
    for n in names:
        if n.lower() in out and out[n.lower()] != n:
            raise LoadError(f"{what} {show(out[n.lower()])} and {show(n)} differ only in case: rename one")
        out[n.lower()] = n
    return out


def _read_sql(con, query: str, where: str, wait: float) -> pd.DataFrame:
    """One query's rows; LoadError naming where the query came from if it fails, takes too long, or gives a
    column twice."""
    import sqlalchemy as sa

    try:
        df = _within(wait, where, pd.read_sql, sa.text(query), con)
    except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError) as e:  # pandas wraps the database's error
        raise LoadError(f"{where}: {_said(e.__cause__ or e)}") from None
    twice = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    if twice:
        raise LoadError(f"{where}: column(s) {', '.join(map(str, twice))} given more than once")
    return df


def _as_part(t: model.Table, label: str, df: pd.DataFrame, columns: dict[str, str]) -> Part:
    """The query's rows as a part of text, each column turned to text as a Parquet file's is
    (:func:`.standard._as_text`: a NUMERIC's whole numbers as 5, not 5.00; a timestamptz as the time in England),
    by Arrow, column by column. A column Arrow cannot type as one (a mix of numbers and text, as SQLite allows) is
    turned value by value; a column of bytes (a BLOB), JSON objects or arrays is refused: its text would be
    Python's b'...', {...} or [...]."""
    kinds = {c.name: c.type for c in t.columns}
    out = {}
    for c in df.columns:
        if c == "_line":
            out[c] = pa.array(df[c].astype("int64").to_numpy())
            continue
        try:
            a = pa.array(df[c], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            a = None
        if a is not None and (pa.types.is_binary(a.type) or pa.types.is_large_binary(a.type)):
            a = None  # bytes: refused below, with the row
        if a is not None and _plain(a.type):
            out[c] = _as_text(a, kinds.get(c, "text"))
            continue
        values = df[c].tolist()
        kinds = {bytes: "bytes (a BLOB)", bytearray: "bytes (a BLOB)", memoryview: "bytes (a BLOB)"}
        kinds |= {dict: "JSON objects", list: "lists (an array or JSON)", tuple: "lists (an array or JSON)"}
        odd = next((i for i, v in enumerate(values) if type(v) in kinds), None)
        if odd is not None:  # its text would be Python's b'...', {...} or [...]
            raise LoadError(
                f"{label}: column {columns.get(c, c)} (row {odd + 1} in key order) holds {kinds[type(values[odd])]}, "
                f"not text, numbers or dates: give column {c} of table {t.name} as one value a row, as text"
            )
        out[c] = pa.array([_text(v) for v in values], pa.string())
    return Part(t.name, label, pa.table(out), columns)


def _plain(kind: pa.DataType) -> bool:
    """Whether Arrow's type is one :func:`.standard._as_text` writes as the checks read it."""
    p = pa.types
    return any(
        f(kind)
        for f in (p.is_string, p.is_large_string, p.is_integer, p.is_floating, p.is_boolean, p.is_null)
        + (p.is_date, p.is_timestamp, p.is_time, p.is_decimal, p.is_dictionary)
    )


def _their_columns(inspector, src: str, named, where: str, wait: float) -> None:
    """LoadError unless the council's table or view ``src`` (``schema.table`` or ``table``) has every column the
    mapping names. Asked of the database's catalogue, not left to the query: some databases (SQLite) read a quoted
    name they do not know as a piece of text, and every row would get it as its value."""
    import sqlalchemy as sa

    table_schema, _, table = src.rpartition(".")
    try:
        found = [c["name"] for c in _within(wait, where, inspector.get_columns, table, table_schema or None)]
    except sa.exc.NoSuchTableError:
        raise LoadError(f"{where}: no table or view {src} in the database") from None
    except sa.exc.SQLAlchemyError:  # a catalogue the dialect cannot read: the query itself will say what is wrong
        return
    have = {c.lower() for c in found}
    absent = [str(c) for c in named if str(c).lower() not in have]
    if absent:
        raise LoadError(
            f"{where}: no column(s) {', '.join(absent)} in {src}; it has {', '.join(found)} (the mapping's columns: "
            "model column: your column)"
        )


def _qualified(schema: str | None, name: str) -> str:
    q = '"' + name.replace('"', '""') + '"'
    return f'"{schema}".{q}' if schema else q


def _standard(con, inspector, t: model.Table, existing: dict, schema: str | None, wait: float):
    name = existing.get(t.name)
    if name is None:
        return None
    label = f"table {_qualified(schema, name)}"
    found = [c["name"] for c in _within(wait, label, inspector.get_columns, name, schema)]
    cols = _by_lower(found, f"{label}: columns", lambda n: f'"{n}"')
    # an optional column (required=False) may be absent: not read, so loaded empty and not available (A195)
    absent = [c.name for c in t.columns if c.name not in cols and c.required]
    if absent:
        raise LoadError(
            f"{label}: missing column(s) {', '.join(absent)}; table {t.name} expects {', '.join(t.column_names)}"
        )
    select = ", ".join(f'"{cols[c]}" AS "{c}"' for c in t.column_names if c in cols)
    df = _read_sql(con, f"SELECT {select} FROM {_qualified(schema, name)}", label, wait)
    return df, label, {}


def _mapped(con, inspector, t: model.Table, spec: dict | None, schema: str | None, mapping, wait: float):
    if spec is None:
        return None
    where = f"{mapping}: tables.{t.name}"
    if "sql" in spec:
        df = _read_sql(con, spec["sql"], where, wait)
        extra = sorted(set(df.columns) - set(t.column_names))
        if extra:
            raise LoadError(
                f"{where}: the query gives column(s) {', '.join(extra)}, which table {t.name} does not have"
            )
        return df, f"query tables.{t.name}", {}
    unknown = sorted(set(map(str, spec["columns"])) - set(t.column_names))
    if unknown:
        raise LoadError(
            f"{where}: no column(s) {', '.join(unknown)} in table {t.name}; it has {', '.join(t.column_names)}"
        )
    src = spec["from"] if "." in spec["from"] or not schema else f"{schema}.{spec['from']}"
    _their_columns(inspector, src, spec["columns"].values(), f"{where} ({src})", wait)
    select = ", ".join(f'"{theirs}" AS "{ours}"' for ours, theirs in spec["columns"].items())
    df = _read_sql(con, f"SELECT {select} FROM {src}", f"{where} ({src})", wait)
    return df, f"{src}", {ours: theirs for ours, theirs in spec["columns"].items()}
