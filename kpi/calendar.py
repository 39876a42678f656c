"""Dates: months, working days and England and Wales bank holidays.

Bank holidays come from the maintained ``holidays`` package (England subdivision, which shares
its bank holidays with Wales), never from a hand-typed list.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import holidays
import numpy as np

EPOCH = dt.date(1970, 1, 1)


@cache
def bank_holidays(first_year: int, last_year: int) -> np.ndarray:
    """England and Wales bank holidays from first_year to last_year, as sorted datetime64[D]."""
    days = holidays.country_holidays("GB", subdiv="ENG", years=range(first_year, last_year + 1))
    return np.array(sorted(days.keys()), dtype="datetime64[D]")


def month_start(month: str) -> dt.date:
    """'2025-01' -> date(2025, 1, 1)."""
    try:
        y, m = (int(p) for p in month.split("-"))
        return dt.date(y, m, 1)
    except ValueError:
        raise ValueError(f"month {month!r} is not of the form YYYY-MM") from None


def add_months(d: dt.date, n: int) -> dt.date:
    k = d.year * 12 + d.month - 1 + n
    return dt.date(k // 12, k % 12 + 1, 1)


def month_end(month: str) -> dt.date:
    return add_months(month_start(month), 1) - dt.timedelta(days=1)


def month_label(d: dt.date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def months_back(month: str, n: int) -> list[str]:
    """The n months ending with month, oldest first."""
    start = month_start(month)
    return [month_label(add_months(start, -i)) for i in range(n - 1, -1, -1)]


def to_days(d: dt.date) -> int:
    """Days since 1970-01-01, the generator's internal day number."""
    return (d - EPOCH).days


def from_days(n: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(n))


def period_of(month: str, period: str) -> str:
    """The reporting period a month belongs to: itself, its financial quarter ("2026-27 Q2": July to
    September) or its financial year ("2026-27", April to March)."""
    y, m = int(month[:4]), int(month[5:7])
    fy = y if m >= 4 else y - 1
    label = f"{fy}-{(fy + 1) % 100:02d}"
    if period == "month":
        return month
    if period == "quarter":
        return f"{label} Q{(m - 4) % 12 // 3 + 1}"
    if period == "year":
        return label
    raise ValueError(f"period must be month, quarter or year, not {period!r}")


def period_months(month: str, period: str) -> int:
    """How many months the period ending with ``month``'s period has (1, 3 or 12)."""
    return {"month": 1, "quarter": 3, "year": 12}[period]
