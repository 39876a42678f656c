"""Dates: months, working days and England and Wales bank holidays.

Bank holidays come from the maintained ``holidays`` package (England subdivision, which shares
its bank holidays with Wales), never from a hand-typed list.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cache

import holidays
import numpy as np

from .errors import UserError

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


class MonthError(UserError, ValueError):
    """A month argument that is not a real month, or one the data does not cover."""


def parse_month(text, what: str | None = "month") -> str:
    """A month as given by a user, checked: ``YYYY-MM`` with a month from 01 to 12 (``2026-10``), else a
    MonthError naming ``what`` (the option or field) and what was expected."""
    s = str(text).strip()
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", s):
        raise MonthError(f"{what + ': ' if what else ''}expected a month YYYY-MM (e.g. 2026-10), not {str(text)!r}")
    return s


def parse_span(text, what: str | None = "--months") -> list[str]:
    """``2026-05..2026-10`` as the months from the first to the last, oldest first; each month checked."""
    say = f"{what}: " if what else ""
    parts = str(text).split("..")
    if len(parts) != 2:
        raise MonthError(f"{say}expected two months YYYY-MM..YYYY-MM (e.g. 2026-05..2026-10), not {str(text)!r}")
    first, last = (parse_month(x, what) for x in parts)
    a, b = month_start(first), month_start(last)
    n = (b.year - a.year) * 12 + b.month - a.month
    if n < 0:
        raise MonthError(f"{say}{text} ends before it starts; expected the earlier month first")
    return months_back(last, n + 1)


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


@dataclass(frozen=True)
class Coverage:
    """The months a snapshot's data covers (docs/assumptions.md A60): from ``first``, where its history starts, to
    ``last``, its latest complete month; ``partial`` is the month the extract was taken in when it was taken after
    the 1st (its figures run to the day before the extract date), reported only when asked for."""

    first: str | None  # None: the snapshot holds no dated record
    last: str
    extract_date: dt.date
    partial: str | None = None
    starts: dict[str, str] = field(default_factory=dict)  # the history's tables: the month each one's records start
    name: str = "the snapshot"

    @property
    def to_day(self) -> dt.date:
        """The last day a partial month's figures count."""
        return self.extract_date - dt.timedelta(days=1)

    def describe(self) -> str:
        """'snapshot 3 (extract of 15 November 2026) covers 2023-11 to 2026-10, and 2026-11 in part'."""
        span = f"{self.first} to {self.last}" if self.first else f"months to {self.last} (it holds no dated record)"
        part = f", and {self.partial} in part (to {self.to_day:%-d %B %Y})" if self.partial else ""
        return f"{self.name} (extract of {self.extract_date:%-d %B %Y}) covers {span}{part}"

    def check(self, months, partial: bool = False, what: str = "--month") -> None:
        """A MonthError unless every month given lies in the covered months (the partial one only with
        ``partial``)."""
        months = [months] if isinstance(months, str) else list(months)
        late = [m for m in months if m > self.last and not (partial and m == self.partial)]
        if late:
            if late[0] == self.partial:
                raise MonthError(
                    f"{what} {late[0]} is a partial month: the extract was taken on {self.extract_date:%-d %B %Y}, so "
                    f"its figures run to {self.to_day:%-d %B}; give --partial to report it, labelled partial "
                    f"({self.describe()})"
                )
            raise MonthError(f"{what} {late[0]} is after the data: {self.describe()}")
        early = [m for m in months if self.first and m < self.first]
        if early:
            began = [t for t, m in self.starts.items() if m == self.first]
            why = (
                f"; the records of its {' and '.join(began)} start in {self.first}"
                if began
                else f"; its sources cover months from {self.first} (the first year of the returns loaded)"
            )
            raise MonthError(f"{what} {early[0]} is before the data's history: {self.describe()}{why}")
