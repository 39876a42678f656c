"""The 0-17 population shipped with the workbook: the ONS mid-year estimates of every English local authority
(``data/population/``, Open Government Licence v3.0), for a council that names its DfE code (``kpi load
--la-code 825``) and has no population of its own.

The estimates are authority-wide: the snapshot's population table gets one row per year (its year and count),
without locality, age or sex, so a rate per 10,000 is had for the authority and not by locality, age band or sex
(the load's availability says so). A population the council loads itself (the standard format's
``population.csv``, a database's table) is used instead: it is the council's own choice, by locality, age and sex
(A82). Which estimate a month divides by: :func:`kpi.engine.population_years` (A80).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from ..errors import LoadError
from .extract import Extract, Part

SHIPPED = Path(__file__).resolve().parent.parent.parent / "data" / "population" / "ons_mid_year_0_17.csv"
NOT_BROKEN_DOWN = (
    "the ONS estimate shipped for {code} is the 0-17 population of the whole authority: no rate per 10,000 by "
    "locality, age band or sex (load a population file by locality, age and sex for those)"
)


def shipped(la_code: str | int, path: Path = SHIPPED) -> Extract:
    """The council's 0-17 population from the shipped ONS estimates, as an extract of the population table alone.
    Refused (:class:`LoadError`) for a code that is not an English council's DfE code, or is one of a council
    replaced by others."""
    code = str(la_code).strip()
    table = _estimates(path)
    years = [c for c in table.columns if c.isdigit()]
    rows = table.index[table["old_la_code"] == code]
    if not len(rows):
        ons = table.index[table["new_la_code"].str.upper() == code.upper()]
        hint = (
            f"{code} is the ONS code of {table.at[ons[0], 'old_la_code']} {table.at[ons[0], 'la_name']}: give that"
            if len(ons)
            else "the ONS estimates shipped are for England's councils only (e.g. 825 Buckinghamshire); for "
            "another, load a population file"
        )
        raise LoadError(f"--la-code {code!r} is not an English local authority's DfE code (old_la_code): {hint}")
    i = rows[0]
    name = table.at[i, "la_name"]
    if table.at[i, "succeeded_by"]:
        heirs = [
            f"{c} {table.loc[table['old_la_code'] == c, 'la_name'].iloc[0]}"
            for c in table.at[i, "succeeded_by"].split()
        ]
        raise LoadError(
            f"--la-code {code} is {name}, replaced by {' and '.join(heirs)}: give the code of the council whose data "
            "this is (or load a population file)"
        )
    given = [(int(y), int(table.at[i, y])) for y in years if table.at[i, y]]
    if not given:
        raise LoadError(f"--la-code {code} is {name}, whose estimates are not published: load a population file")
    line = i + 2  # the file's line: after its header
    label = f"ONS mid-year estimates {given[0][0]}-{given[-1][0]} for {code} {name} (shipped)"
    data = pa.table(
        {
            "year": pa.array([str(y) for y, _ in given], pa.string()),
            "count": pa.array([str(n) for _, n in given], pa.string()),
            "_line": pa.array([line] * len(given), pa.int64()),
        }
    )
    part = Part("population", label, data, {"year": "year", "count": "estimate"}, path)
    why = NOT_BROKEN_DOWN.format(code=code)
    return Extract(
        format="population",
        source=f"{path.name} ({code})",
        parts={"population": [part]},
        supplies={"population"},
        missing_columns={"population": {"locality_id": why, "age": why, "sex": why}},
        notes=[
            f"population: {label}, {_shown(path)} (Open Government Licence v3.0); a month's rate "
            f"divides by the estimate of the year its financial year starts in, mid-{given[-1][0]} for later months"
        ],
        council=name,
    )


def with_population(extracts: list[Extract], la_code: str | int | None) -> list[Extract]:
    """The extracts, with the council's shipped population (:func:`shipped`) after them where ``la_code`` is given
    and none of them supplies a population; where one does, that is used and a note says the code's is not."""
    if not la_code:
        return extracts
    # a population of the council's own, with rows (an empty file gives none: the shipped one is used)
    own = [e for e in extracts if any(p.data.num_rows for p in e.parts_of("population"))]
    if own:
        own[0].notes.append(
            f"population: the one loaded from {own[0].source} is used; --la-code {str(la_code).strip()}'s ONS "
            "estimates (shipped) are not"
        )
        return extracts
    return [*extracts, shipped(la_code)]


def _estimates(path: Path) -> pd.DataFrame:
    """The shipped file, refused (:class:`LoadError`) if it is missing or not as made (data/population/README.md)."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise LoadError(f"{_shown(path)}: the ONS estimates shipped cannot be read ({e}): restore the file") from None
    need = {"old_la_code", "new_la_code", "la_name", "succeeded_by"}
    years = [c for c in table.columns if c.isdigit()]
    bad = [f"{y} {v!r}" for y in years for v in table[y] if v and not v.isdigit()]
    if need - set(table.columns) or not years or bad:
        what = f"values not whole numbers ({', '.join(bad[:3])})" if bad else f"columns {', '.join(sorted(need))}"
        raise LoadError(f"{_shown(path)}: the ONS estimates shipped are not as made: expected {what}; restore the file")
    return table


def _shown(path: Path) -> str:
    """The file as the project names it (data/population/...), or as given."""
    root = SHIPPED.parent.parent.parent
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
