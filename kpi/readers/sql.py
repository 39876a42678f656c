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
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from .. import model
from ..errors import LoadError
from .extract import Extract, from_frames


def _engine(url: str):
    import sqlalchemy as sa

    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]  # the driver the project installs
    try:
        return sa.create_engine(url)
    except Exception as e:  # noqa: BLE001 - a bad URL or a driver that is not installed
        raise LoadError(f"cannot use database URL {_safe(url)}: {e}") from None


def _safe(url: str) -> str:
    """The URL without its password, for messages and the snapshot's source."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def read(source: str, mapping: str | Path | None = None, **_) -> Extract:
    import sqlalchemy as sa

    from ..catalogue import read_yaml

    query = parse_qs(urlsplit(source).query)
    url = source.split("?", 1)[0] if "schema" in query else source
    spec = {}
    if mapping:
        try:
            spec = read_yaml(Path(mapping).read_text()) or {}
        except OSError as e:
            raise LoadError(f"{mapping}: cannot be read: {e}") from None
        if not isinstance(spec, dict) or not isinstance(spec.get("tables"), dict):
            raise LoadError(f"{mapping}: expected a mapping with `tables:` (table of the model: from/sql and columns)")
        unknown = sorted(set(spec["tables"]) - set(model.TABLE_BY_NAME))
        if unknown:
            raise LoadError(f"{mapping}: no table(s) {', '.join(unknown)} in the data model (see docs/data-model.md)")
    schema = spec.get("schema") or (query.get("schema") or [None])[0]
    engine = _engine(url)
    try:
        with engine.connect() as con:
            inspector = sa.inspect(con)
            existing = {
                n.lower(): n for n in inspector.get_table_names(schema=schema) + inspector.get_view_names(schema=schema)
            }
            parts, missing, missing_cols = {}, {}, {}
            for t in model.TABLES:
                if mapping:
                    got = _mapped(con, t, spec["tables"].get(t.name), schema, mapping)
                else:
                    got = _standard(con, inspector, t, existing, schema)
                if got is None:
                    missing[t.name] = (
                        "not in the database" if not mapping else f"not in the mapping {Path(mapping).name}"
                    )
                    continue
                df, label, columns = got
                absent = [c.name for c in t.columns if c.name not in df.columns]
                if absent:
                    missing_cols[t.name] = {c: f"not mapped in {Path(mapping).name}" for c in absent}
                if t.key and t.key in df.columns:
                    df = df.sort_values(t.key, kind="stable", key=lambda s: s.astype(str))
                df = df.reset_index(drop=True).assign(_line=lambda d: d.index + 1)
                parts[t.name] = [from_frames(t.name, label, df, columns)]
    except sa.exc.SQLAlchemyError as e:
        raise LoadError(f"{_safe(url)}: {type(e).__name__}: {str(e).splitlines()[0]}") from None
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
        extract_date=str(spec["extract_date"]) if spec.get("extract_date") else None,
        council=spec.get("council"),
        latest_month=spec.get("latest_month"),
    )


def _qualified(schema: str | None, name: str) -> str:
    q = '"' + name.replace('"', '""') + '"'
    return f'"{schema}".{q}' if schema else q


def _standard(con, inspector, t: model.Table, existing: dict, schema: str | None):
    import sqlalchemy as sa

    name = existing.get(t.name)
    if name is None:
        return None
    cols = {c["name"].lower(): c["name"] for c in inspector.get_columns(name, schema=schema)}
    absent = [c for c in t.column_names if c not in cols]
    if absent:
        raise LoadError(
            f"table {_qualified(schema, name)}: missing column(s) {', '.join(absent)}; table {t.name} expects "
            f"{', '.join(t.column_names)}"
        )
    select = ", ".join(f'"{cols[c]}" AS "{c}"' for c in t.column_names)
    df = pd.read_sql(sa.text(f"SELECT {select} FROM {_qualified(schema, name)}"), con)
    return df, f"table {_qualified(schema, name)}", {}


def _mapped(con, t: model.Table, spec: dict | None, schema: str | None, mapping):
    import sqlalchemy as sa

    if spec is None:
        return None
    where = f"{mapping}: tables.{t.name}"
    if "sql" in spec:
        df = pd.read_sql(sa.text(spec["sql"]), con)
        extra = sorted(set(df.columns) - set(t.column_names))
        if extra:
            raise LoadError(
                f"{where}: the query gives column(s) {', '.join(extra)}, which table {t.name} does not have"
            )
        return df, f"query tables.{t.name}", {}
    if "from" not in spec or not isinstance(spec.get("columns"), dict):
        raise LoadError(f"{where}: give `from` (a table or view) and `columns` (model column: your column), or `sql`")
    unknown = sorted(set(spec["columns"]) - set(t.column_names))
    if unknown:
        raise LoadError(
            f"{where}: no column(s) {', '.join(unknown)} in table {t.name}; it has {', '.join(t.column_names)}"
        )
    src = spec["from"] if "." in spec["from"] or not schema else f"{schema}.{spec['from']}"
    select = ", ".join(f'"{theirs}" AS "{ours}"' for ours, theirs in spec["columns"].items())
    df = pd.read_sql(sa.text(f"SELECT {select} FROM {src}"), con)
    return df, f"{src}", {ours: theirs for ours, theirs in spec["columns"].items()}
