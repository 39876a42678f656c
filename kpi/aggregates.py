"""Aggregates input: monthly figures for councils (or measures) that have no record-level data.

A CSV with columns ``month,measure,numerator,denominator`` and optionally ``value``:

- counts: ``numerator`` is the count, ``denominator`` empty;
- percentages: numerator and denominator (``127,554``);
- rates per 10,000: the count and the 0-17 population (``554,146874``);
- averages, or figures kept only as a value (an agency rate from a spreadsheet): ``value``.

Every row is either read or rejected with file, row, column, value and reason.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .catalogue import Catalogue
from .errors import LoadError

COLUMNS = ["month", "measure", "numerator", "denominator"]


def read(path: Path | str, catalogue: Catalogue) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows read, rows rejected). Raises LoadError when the file cannot be used at all."""
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise LoadError(f"{path}: cannot be read as CSV: {e}") from None
    raw.columns = [c.strip() for c in raw.columns]
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise LoadError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}[,value]")
    if "value" not in raw.columns:
        raw["value"] = ""
    rows, rejects = [], []
    for i, r in enumerate(raw.itertuples(index=False), start=2):
        problems = []
        month, ref = r.month.strip(), r.measure.strip()
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
            problems.append(("month", r.month, "expected a month YYYY-MM"))
        mz = catalogue.by_ref.get(ref)
        if mz is None:
            problems.append(("measure", r.measure, f"expected a measure reference of the {catalogue.name} catalogue"))
        nums = {}
        for col in ("numerator", "denominator", "value"):
            text = getattr(r, col).strip()
            if text == "":
                nums[col] = None
                continue
            try:
                nums[col] = float(text.rstrip("%"))
            except ValueError:
                problems.append((col, text, "expected a number"))
        if mz is not None and not problems:
            if nums["value"] is None and nums["numerator"] is None:
                problems.append(("numerator", "", "expected a numerator (or a value)"))
            elif nums["value"] is None and mz.unit in ("percent", "rate", "average") and not nums["denominator"]:
                what = "the 0-17 population" if mz.unit == "rate" else "a denominator above 0"
                problems.append(("denominator", r.denominator, f"expected {what} for a {mz.unit}"))
        if problems:
            rejects += [(path.name, i, c, v, why) for c, v, why in problems]
        else:
            rows.append((i, ref, month, nums["numerator"], nums["denominator"], nums["value"]))
    out = pd.DataFrame(rows, columns=["row", "measure", "month", "numerator", "denominator", "value"])
    dup = out.duplicated(["measure", "month"], keep="first")
    for k in out.index[dup]:
        rejects.append(
            (
                path.name,
                out.at[k, "row"],
                "measure",
                out.at[k, "measure"],
                f"a second row for measure {out.at[k, 'measure']} in {out.at[k, 'month']}; the first is used",
            )
        )
    rej = pd.DataFrame(sorted(rejects, key=lambda x: x[1]), columns=["file", "row", "column_name", "value", "reason"])
    return out[~dup].drop(columns="row").reset_index(drop=True), rej
