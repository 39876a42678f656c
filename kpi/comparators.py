"""Published comparators: the DfE's local-authority tables, the council's statistical neighbours, and its rank.

Each year the DfE publishes, for every local authority, the figures behind several of the board's measures
(re-referrals, repeat child protection plans, children looked after per 10,000, placement stability, care
leavers in suitable accommodation, agency rates and caseloads). A measure says in its catalogue entry
where its figure is (``comparators: {dfe: {table, value, where}}``): the table (the start of the file's
name, which carries the years it covers), the column, and the rows.

``kpi comparators import DIR`` reads the DfE's CSV files from ``DIR`` into one tidy file,
``data/comparators/dfe.csv`` (measure, year, level, LA code and name, value), with the statistical
neighbour groups beside it (``statistical_neighbours.csv``, from the DfE's SN model). For a council
(its DfE code, ``la_code`` in the month's params) and a year:

- **statistical neighbours**: the mean of its ten neighbours' published figures, over those published
  (suppressed figures, ``c`` or ``x``, are left out), as the DfE's own LAIT tool averages them;
- **England**: the national figure;
- **rank**: the council's position among itself and its neighbours, first being best by the measure's
  direction (ties share the better place): "3rd of 11"; and among every council with a published figure
  ("80th of 153 in England").
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .catalogue import Catalogue
from .errors import LoadError

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "data" / "comparators"
FIGURES = "dfe.csv"
NEIGHBOURS = "statistical_neighbours.csv"
COLUMNS = ["measure", "source", "year", "level", "la_code", "la_name", "value"]


def source_key(dfe: dict) -> str:
    """Where a figure is published, as one string: table, column and rows. Measures of any set with the same
    ``dfe`` entry (a measure reused with ``from:`` keeps it) share the published figures."""
    rows = ";".join(f"{k}={v}" for k, v in sorted(dfe.get("where", {}).items()))
    return f"{dfe['table']}:{dfe['value']}" + (f"[{rows}]" if rows else "")


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise LoadError(f"{path}: cannot be read as CSV: {e}") from None
    df.columns = [c.strip() for c in df.columns]
    return df


def import_tables(
    source: Path | str, catalogue: Catalogue, out: Path | str = DEFAULT_DIR
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The catalogue's published figures from the DfE's CSV files in ``source``, written to ``out``: (figures,
    neighbours, the measures whose table is not in ``source``). Only the tables found replace what ``out`` holds
    (a folder with one new table leaves every other measure's figures); the SN model too, if there is one."""
    source, out = Path(source), Path(out)
    files = sorted(source.glob("*.csv"))
    rows, not_found = [], []
    for m in catalogue.measures:
        if not m.dfe:
            continue
        match = [f for f in files if f.stem.lower().startswith(m.dfe["table"].lower())]
        if not match:
            not_found.append(f"{m.ref} ({m.dfe['table']}*.csv)")
            continue
        f = match[-1]
        df = _read_csv(f)
        need = [
            "time_period",
            "geographic_level",
            "new_la_code",
            "old_la_code",
            "la_name",
            m.dfe["value"],
            *m.dfe["where"],
        ]
        missing = [c for c in need if c not in df.columns]
        if missing:
            raise LoadError(f"{f}: missing column(s) {', '.join(missing)} (measure {m.ref})")
        for col, val in m.dfe["where"].items():
            df = df[df[col].str.strip() == val]
        df = df[df["geographic_level"].isin(["National", "Local authority"])]
        rows.append(
            pd.DataFrame(
                {
                    "measure": m.ref,
                    "source": source_key(m.dfe),
                    "year": df["time_period"].str.strip(),
                    "level": df["geographic_level"],
                    "la_code": df["old_la_code"].str.strip(),
                    "la_name": df["la_name"].str.strip(),
                    "value": pd.to_numeric(df[m.dfe["value"]].str.strip(), errors="coerce"),  # c, x, z: not published
                }
            )
        )
    if not rows:
        raise LoadError(
            f"{source}: holds none of the DfE tables the catalogue's measures are published in: {', '.join(not_found)}"
        )
    figures = pd.concat(rows, ignore_index=True)
    kept = None
    if out.exists() and not out.is_dir():
        raise LoadError(f"--dir: {out} is a file; expected the folder to keep the imported figures in")
    if (out / FIGURES).exists():  # the figures of the tables not imported this time stay as they were
        kept, old_sn = read(out)
        kept = kept[~kept["source"].isin(set(figures["source"]))]
    sn = _neighbours(source, None if kept is None else old_sn)
    out.mkdir(parents=True, exist_ok=True)
    pd.concat([x for x in (kept, figures) if x is not None and len(x)], ignore_index=True)[COLUMNS].to_csv(
        out / FIGURES, index=False
    )
    sn.to_csv(out / NEIGHBOURS, index=False)
    return figures, sn, not_found


def _neighbours(source: Path, kept: pd.DataFrame | None = None) -> pd.DataFrame:
    """The SN model's groups as (la_code, la_name, rank, neighbour_code), from its wide file (else those ``kept``
    from an earlier import)."""
    match = sorted(source.glob("sn_model*.csv"))
    if not match and kept is not None:
        return kept
    if not match:
        raise LoadError(f"{source}: no statistical neighbour model (sn_model_*.csv)")
    df = _read_csv(match[-1])
    sn_cols = [c for c in df.columns if c.startswith("SN_") and c[3:].isdigit()]
    if "old_la_code" not in df.columns or not sn_cols:
        raise LoadError(f"{match[-1]}: expected old_la_code and SN_1 ... SN_10 columns")
    long = df.melt(id_vars=["old_la_code", "la_name"], value_vars=sn_cols, var_name="rank", value_name="neighbour_code")
    long["rank"] = long["rank"].str[3:].astype(int)
    long = long.rename(columns={"old_la_code": "la_code"})
    return long[long["neighbour_code"].str.strip() != ""].sort_values(["la_code", "rank"], ignore_index=True)


def read(directory: Path | str = DEFAULT_DIR) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The imported figures and neighbours, checked as ``kpi comparators import`` writes them (a LoadError naming
    the file otherwise: a file damaged or edited by hand is not read as figures)."""
    d = Path(directory)
    if not (d / FIGURES).exists():
        raise LoadError(f"{d}: no {FIGURES}; run `kpi comparators import DIR` on the DfE's tables first")
    if not (d / NEIGHBOURS).exists():
        raise LoadError(f"{d}: no {NEIGHBOURS}; run `kpi comparators import DIR` with the DfE's SN model in DIR")
    again = "; run `kpi comparators import DIR` again into an empty --dir"
    out = []
    for name, columns, dtype in (
        (FIGURES, COLUMNS, {"measure": str, "year": str, "la_code": str, "la_name": str}),
        (NEIGHBOURS, ["la_code", "la_name", "rank", "neighbour_code"], str),
    ):
        try:
            df = pd.read_csv(d / name, dtype=dtype)
        except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as e:
            raise LoadError(
                f"{d / name}: cannot be read as the imported CSV: {str(e).splitlines()[0]}{again}"
            ) from None
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise LoadError(f"{d / name}: missing column(s) {', '.join(missing)}{again}")
        out.append(df)
    figures, sn = out
    for frame, col, name in ((figures, "value", FIGURES), (sn, "rank", NEIGHBOURS)):
        number = pd.to_numeric(frame[col], errors="coerce")
        bad = number.isna() & frame[col].notna()
        if bad.any():
            row = int(bad.idxmax())
            raise LoadError(f"{d / name}: row {row + 2}, column {col}: {frame[col][row]!r} is not a number{again}")
        frame[col] = number
    sn["rank"] = sn["rank"].astype(int)
    return figures, sn


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def for_council(
    catalogue: Catalogue, la_code: str, figures: pd.DataFrame, neighbours: pd.DataFrame, year: str | None = None
) -> pd.DataFrame:
    """For each measure with published figures: the year, the council's own figure, its neighbours' mean,
    England's, and its rank among itself and its neighbours (the latest year published, or ``year``)."""
    la_code = str(la_code)
    group = neighbours.loc[neighbours["la_code"] == la_code, "neighbour_code"].tolist()
    if not group:
        raise LoadError(f"no statistical neighbours for LA code {la_code!r} in the SN model")
    out = []
    for m in catalogue.measures:
        if not m.dfe:
            continue
        f = figures[figures["source"] == source_key(m.dfe)]
        if f.empty:
            continue
        y = year or max(f["year"])
        f = f[f["year"] == y]
        own = f.loc[f["la_code"] == la_code, "value"]
        own_v = float(own.iloc[0]) if len(own) and pd.notna(own.iloc[0]) else np.nan
        sn_vals = f[f["la_code"].isin(group)]["value"].dropna()
        england = f.loc[f["level"] == "National", "value"]
        rank = of = rank_all = of_all = None
        if pd.notna(own_v) and m.direction is not None:  # a volume is not ranked: no place is better
            rank, of = _rank(pd.concat([sn_vals, pd.Series([own_v])]), own_v, m.direction)
            rank_all, of_all = _rank(f.loc[f["level"] == "Local authority", "value"].dropna(), own_v, m.direction)
        out.append(
            {
                "measure": m.ref,
                "year": y,
                "council": own_v,
                "statistical_neighbours": round(float(sn_vals.mean()), 1) if len(sn_vals) else np.nan,
                "neighbours_published": len(sn_vals),
                "england": float(england.iloc[0]) if len(england) else np.nan,
                "rank": rank,
                "of": of,
                "rank_england": rank_all,
                "of_england": of_all,
            }
        )
    return pd.DataFrame(out)


def _rank(field: pd.Series, own: float, direction: str) -> tuple[int, int]:
    """1 + how many are strictly better, and how many there are (the council among them)."""
    better = (field > own) if direction == "higher" else (field < own)
    return int(better.sum()) + 1, len(field)


def apply(catalogue: Catalogue, table: pd.DataFrame) -> Catalogue:
    """The catalogue with its comparators replaced by the published ones (where published)."""
    if table.empty:
        return catalogue
    by = table.set_index("measure")
    measures = []
    for m in catalogue.measures:
        if m.ref in by.index:
            r = by.loc[m.ref]
            measures.append(
                dataclasses.replace(
                    m,
                    statistical_neighbours=None
                    if pd.isna(r["statistical_neighbours"])
                    else float(r["statistical_neighbours"]),
                    england=None if pd.isna(r["england"]) else float(r["england"]),
                    comparator_year=f"{r['year']} (DfE)",
                    published=None if pd.isna(r["council"]) else float(r["council"]),
                    rank=(
                        f"{ordinal(int(r['rank']))} of {int(r['of'])}; "
                        f"{ordinal(int(r['rank_england']))} of {int(r['of_england'])} in England"
                        if pd.notna(r["rank"])
                        else None
                    ),
                )
            )
        else:
            measures.append(m)
    return dataclasses.replace(catalogue, measures=measures)


# A nation's published table (seed 002: "compared to other council's in Wales", "21st in Wales", Wales averages):
# one row per council, measure and year, in any nation's statistics, read by `kpi comparators import FILE.csv`.
TIDY = ["la_code", "measure", "year", "value"]
# a figure not published: the DfE's marks (c, x, z, u, low) and StatsWales' and the ONS's (.., ., *, :, -)
NOT_PUBLISHED = {"", "c", "x", "z", "u", "low", "..", ".", "*", ":", "-"}
FINANCIAL_YEAR = re.compile(r"(\d{4})\s*[-/]\s*(\d{2}|\d{4})")


def read_published_table(path: Path | str, catalogue: Catalogue) -> tuple[pd.DataFrame, list[str]]:
    """A tidy published table (CSV: ``la_code, measure, year, value``; other columns are ignored), checked: (its
    rows of the catalogue's measures, with the year as ``YYYY-YY`` and the value a number or empty where not
    published; the measures it holds that the catalogue has not). A LoadError names the file, row (as a
    spreadsheet numbers it, the header being row 1) and column of the first fault."""
    path = Path(path)
    df = _read_csv(path)
    missing = [c for c in TIDY if c not in df.columns]
    if missing:
        raise LoadError(
            f"{path}: row 1: missing column(s) {', '.join(missing)}; expected the columns {', '.join(TIDY)}"
        )
    df = df[TIDY].apply(lambda c: c.str.strip())
    values, years, first = [], [], {}
    for i, r in enumerate(df.itertuples(index=False), start=2):
        for col in ("la_code", "measure"):
            if not getattr(r, col):
                raise LoadError(f"{path}: row {i}, column {col}: empty; expected a council's code and a measure")
        y = FINANCIAL_YEAR.fullmatch(r.year)
        if not y or (int(y.group(1)) + 1) % 100 != int(y.group(2)) % 100:
            raise LoadError(f"{path}: row {i}, column year: {r.year!r} is not a financial year (2025-26 or 2025/26)")
        years.append(f"{y.group(1)}-{(int(y.group(1)) + 1) % 100:02d}")
        if r.value.lower() in NOT_PUBLISHED:
            values.append(np.nan)
        else:
            try:
                values.append(float(r.value.replace(",", "").rstrip("%")))
            except ValueError:
                raise LoadError(
                    f"{path}: row {i}, column value: {r.value!r} is not a number (nor a mark of a figure not "
                    f"published: empty, c, x, .., *)"
                ) from None
            if not np.isfinite(values[-1]):
                raise LoadError(f"{path}: row {i}, column value: {r.value!r} is not a finite number")
        key = (r.la_code, r.measure, years[-1])
        if key in first:
            raise LoadError(
                f"{path}: row {i}, columns la_code, measure, year: {r.la_code}, {r.measure}, {years[-1]} given "
                f"again (first at row {first[key]}); expected one figure per council, measure and year"
            )
        first[key] = i
    df = df.assign(year=years, value=values)
    known = df["measure"].isin(set(catalogue.by_ref))
    return df[known].reset_index(drop=True), sorted(set(df.loc[~known, "measure"]))


def import_published(
    path: Path | str, catalogue: Catalogue, nation: str, out: Path | str = DEFAULT_DIR
) -> tuple[Path, pd.DataFrame, list[str]]:
    """A nation's published table, checked (:func:`read_published_table`) and written to ``out`` as
    ``published_<nation>.csv`` (nation, la_code, measure, year, value), the file a month's params name in
    ``published:``: (that file, its rows, the measures not in the catalogue)."""
    table, unknown = read_published_table(path, catalogue)
    if table.empty:
        raise LoadError(
            f"{path}: holds none of the {catalogue.name} catalogue's measures "
            f"({', '.join(unknown[:5])}{'...' if len(unknown) > 5 else ''}); expected its references (SCC/011b)"
        )
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise LoadError(f"--dir: {out} is a file; expected the folder to keep the imported figures in")
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"published_{re.sub(r'[^a-z0-9]+', '_', nation.lower()).strip('_') or 'nation'}.csv"
    table.insert(0, "nation", nation)
    table.to_csv(target, index=False)
    return target, table, unknown


def read_published(path: Path | str) -> pd.DataFrame:
    """A table :func:`import_published` wrote (a LoadError naming the file if it is not one)."""
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype={"nation": str, "la_code": str, "measure": str, "year": str})
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as e:
        raise LoadError(f"{path}: cannot be read as an imported published table: {str(e).splitlines()[0]}") from None
    missing = [c for c in ["nation", *TIDY] if c not in df.columns]
    if missing or df.empty or df["nation"].nunique() != 1 or not pd.api.types.is_numeric_dtype(df["value"]):
        raise LoadError(
            f"{path}: not a table `kpi comparators import FILE.csv --nation NATION` wrote (nation, {', '.join(TIDY)})"
        )
    return df


def for_nation(catalogue: Catalogue, la_code: str, table: pd.DataFrame, month: str) -> pd.DataFrame:
    """For each measure of the catalogue in a nation's published table: the last year published before the
    financial year of ``month`` (last year's outturn at a quarter of this one), the council's own published
    figure then, the nation's average (the mean of the councils' published figures) and the council's rank among
    every council with a published figure, 1st best by the measure's direction, ties sharing the better place
    (none where the council's figure is not published, or for a volume)."""
    y, mo = int(month[:4]), int(month[5:7])
    before = f"{y if mo >= 4 else y - 1}-{(y + 1 if mo >= 4 else y) % 100:02d}"
    out = []
    for m in catalogue.measures:
        f = table[(table["measure"] == m.ref) & (table["year"] < before)]
        if f.empty:
            continue
        year = max(f["year"])
        f = f[f["year"] == year]
        own = f.loc[f["la_code"] == str(la_code), "value"]
        own_v = float(own.iloc[0]) if len(own) and pd.notna(own.iloc[0]) else np.nan
        field = f["value"].dropna()
        rank = of = None
        if pd.notna(own_v) and m.direction is not None:
            rank, of = _rank(field, own_v, m.direction)
        out.append(
            {
                "measure": m.ref,
                "year": year,
                "council": own_v,
                "average": round(float(field.mean()), 1) if len(field) else np.nan,
                "published": len(field),
                "rank": rank,
                "of": of,
            }
        )
    return pd.DataFrame(out, columns=["measure", "year", "council", "average", "published", "rank", "of"])


def apply_nation(catalogue: Catalogue, table: pd.DataFrame, nation: str) -> Catalogue:
    """The catalogue with a nation's published figures as its comparators: the nation's average in place of
    England's, no statistical neighbours, the council's own published figure and its rank in the nation."""
    by = table.set_index("measure")
    measures = []
    for m in catalogue.measures:
        if m.ref not in by.index:
            measures.append(m)
            continue
        r = by.loc[m.ref]
        measures.append(
            dataclasses.replace(
                m,
                statistical_neighbours=None,
                england=None if pd.isna(r["average"]) else float(r["average"]),
                national_name=f"{nation} average",
                comparator_year=f"{r['year']} (published)",
                published=None if pd.isna(r["council"]) else float(r["council"]),
                rank=f"{ordinal(int(r['rank']))} of {int(r['of'])} in {nation}" if pd.notna(r["rank"]) else None,
            )
        )
    return dataclasses.replace(catalogue, measures=measures)


def council_catalogue(
    catalogue: Catalogue, la_code: str, month: str, year: str | None = None, published: Path | str | None = None
) -> Catalogue:
    """The catalogue with the council's published comparators: from a nation's imported table when ``published``
    names one (the params' ``published:``), else from the DfE's tables (its neighbours, England and rank)."""
    if published:
        table = read_published(published)
        return apply_nation(catalogue, for_nation(catalogue, la_code, table, month), table["nation"].iloc[0])
    return apply(catalogue, for_council(catalogue, la_code, *read(), year=year))
