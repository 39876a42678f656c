"""Aggregates input: monthly figures for councils (or measures) that have no record-level data.

A CSV with columns ``month,measure,numerator,denominator`` and optionally ``value``:

- counts: ``numerator`` is the count, ``denominator`` empty;
- percentages: numerator and denominator (``127,554``);
- rates per 10,000: the count and the 0-17 population (``554,146874``);
- averages, or figures kept only as a value (an agency rate from a spreadsheet): ``value``.

Every row is either read or rejected with file, row, column, value and reason.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import pandas as pd

from .catalogue import Catalogue
from .errors import LoadError

COLUMNS = ["month", "measure", "numerator", "denominator"]


def csv_records(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and each record with the line of the file it starts on (blank lines skipped, not counted away)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            records, line = [], 1
            for fields in reader:
                if any(x.strip() for x in fields):
                    records.append((line, fields))
                line = reader.line_num + 1  # the next record starts after this one's last line
    except UnicodeDecodeError:
        raise LoadError(f"{path}: cannot be read as text (UTF-8); expected a CSV file") from None
    except (OSError, csv.Error) as e:
        raise LoadError(f"{path}: cannot be read as CSV: {e}") from None
    if not records:
        raise LoadError(f"{path}: empty; expected a header row")
    (_, header), *rows = records
    return [c.strip() for c in header], rows


def _number(col: str, text: str, unit: str | None) -> tuple[float | None, str | None]:
    """A figure of a column: (the number, or None if blank; why it is refused, or None)."""
    if text == "":
        return None, None
    try:
        x = float(text.removesuffix("%"))
    except ValueError:
        return None, "expected a number"
    if not math.isfinite(x):
        return None, "expected a finite number"
    if x < 0:
        return None, "expected a number of 0 or more"
    if col == "denominator" and x == 0:
        return None, "expected a denominator above 0"
    if col == "value" and unit == "percent" and x > 100:
        return None, "expected a percentage of 0 to 100"
    return x, None


def read(path: Path | str, catalogue: Catalogue) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows read, rows rejected). Raises LoadError when the file cannot be used at all. A row is numbered by the
    file's own line (blank lines counted)."""
    path = Path(path)
    header, records = csv_records(path)
    twice = sorted({c for c in header if c and header.count(c) > 1})
    if twice:
        raise LoadError(f"{path}: row 1: column(s) {', '.join(twice)} named twice; expected each column once")
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise LoadError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}[,value]")
    at = {c: header.index(c) for c in [*COLUMNS, "value"] if c in header}
    rows, rejects = [], []
    for i, fields in records:
        if len(fields) > len(header):
            rejects.append((path.name, i, "(row)", ",".join(fields), f"expected {len(header)} fields, as the header"))
            continue
        r = {c: (fields[k] if k < len(fields) else "") for c, k in at.items()}
        r.setdefault("value", "")
        problems = []
        month, ref = r["month"].strip(), r["measure"].strip()
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
            problems.append(("month", r["month"], "expected a month YYYY-MM"))
        mz = catalogue.by_ref.get(ref)
        if mz is None:
            problems.append(
                ("measure", r["measure"], f"expected a measure reference of the {catalogue.name} catalogue")
            )
        nums = {}
        for col in ("numerator", "denominator", "value"):
            text = r[col].strip()
            nums[col], why = _number(col, text, mz.unit if mz else None)
            if why:
                problems.append((col, text, why))
        if mz is not None and not problems:
            num, den = nums["numerator"], nums["denominator"]
            if nums["value"] is None and num is None:
                problems.append(("numerator", "", "expected a numerator (or a value)"))
            elif nums["value"] is None and mz.unit in ("percent", "rate", "average") and den is None:
                what = "the 0-17 population" if mz.unit == "rate" else "a denominator above 0"
                problems.append(("denominator", r["denominator"], f"expected {what} for a {mz.unit}"))
            elif mz.unit == "percent" and num is not None and den is not None and num > den:
                problems.append(
                    (
                        "numerator",
                        r["numerator"],
                        f"expected a percentage's numerator of at most its denominator ({den:g})",
                    )
                )
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
