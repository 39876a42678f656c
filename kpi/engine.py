"""The measure engine: catalogue parts turned into SQL over one snapshot of the store.

Every measure, for any run of months and any breakdown, comes out as numerator, denominator and
value, with the calculation written out as the seed report writes it
(``127/554 = 0.23``, ``((554*12)/146874)*10000 = 453``).

How a measure is computed:

- each *part* of its definition is a cohort query giving one row per record for each month
  (``events`` dated in the month, the financial year to date or the 12 months to its end;
  or records ``open`` at the month end, one per child or other key), with the row's contribution
  to the numerator and denominator and the columns it can be broken down by;
- the rows are summed by month (and breakdown);
- rates per 10,000 take their denominator from the 0-17 population of the month's year (broken
  down by locality, age band or sex where asked), and annualise flows: count x 12.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import duckdb
import numpy as np
import pandas as pd

from . import model
from .calendar import add_months, bank_holidays, month_end, month_start
from .catalogue import Catalogue, CatalogueError, Measure, Part
from .status import figure

BREAKDOWNS = {
    "locality": "locality_id",
    "team": "team_id",
    "age_band": "age_band",
    "sex": "sex",
    "ethnicity": "ethnicity",
    "source": "source",
    "primary_need": "primary_need",
    "placement_type": "placement_type",
}
POPULATION_BREAKDOWNS = {"locality", "age_band", "sex"}
AGE_BANDS = ("Under 1", "1-4", "5-9", "10-15", "16-17", "18+")
AGE_BAND_SQL = """CASE WHEN {a} IS NULL THEN NULL WHEN {a} < 1 THEN 'Under 1' WHEN {a} < 5 THEN '1-4'
    WHEN {a} < 10 THEN '5-9' WHEN {a} < 16 THEN '10-15' WHEN {a} < 18 THEN '16-17' ELSE '18+' END"""

MACROS = [
    # exact age in whole years on a day
    """CREATE OR REPLACE MACRO {work}.age_at(dob, d) AS
       (year(d) - year(dob)) - CASE WHEN month(d) * 100 + day(d) < month(dob) * 100 + day(dob) THEN 1 ELSE 0 END""",
    # working days after a, up to and including b (England and Wales bank holidays)
    """CREATE OR REPLACE MACRO {work}.wd_between(a, b) AS
       (SELECT wd FROM kpi_calendar WHERE day = CAST(b AS DATE)) - (SELECT wd FROM kpi_calendar WHERE day = CAST(a AS DATE))""",
    # working seconds from the calendar's first day to a moment: those of the working days before its day,
    # and of its own day up to it if a working day
    """CREATE OR REPLACE MACRO {work}.work_seconds(a) AS
       (SELECT k.ws + CASE WHEN k.workday THEN epoch(a) - epoch(CAST(k.day AS TIMESTAMP)) ELSE 0 END
        FROM kpi_calendar k WHERE k.day = CAST(a AS DATE))""",
    # hours between two timestamps that fall on working days: the rest of a's day (if a working day),
    # 24 for each working day strictly between, and b's day up to b (if a working day)
    """CREATE OR REPLACE MACRO {work}.work_hours(a, b) AS (work_seconds(b) - work_seconds(a)) / 3600""",
    # the latest visit of this plan type due by month end d (and after since) was made by d; true if none
    # (kpi_visit_status holds the due outstanding at each month end, at most one per child and plan type). This
    # and supervised() compare only by equality inside their subquery, so the database joins the table once; a
    # subquery with another condition (due_date > since) is worked out for each distinct child and month first
    # (at scale 50, measure 8.4 took 5.1 s so and 3.8 s now, in one run each on a slow machine)
    """CREATE OR REPLACE MACRO {work}.visited(cid, plan, d, since) AS
       coalesce((SELECT s.due_date FROM kpi_visit_status s WHERE s.m_end = d AND s.child_id = cid
                 AND s.plan_type = plan) <= since, TRUE)""",
    # the latest case supervision due in the 3 months to month end d was recorded by d; true if none
    # (kpi_supervision_status holds the dues outstanding at each month end, of those 3 months only)
    """CREATE OR REPLACE MACRO {work}.supervised(cid, d) AS
       NOT EXISTS (SELECT 1 FROM kpi_supervision_status s WHERE s.m_end = d AND s.child_id = cid)""",
    # a care leaver's most recent contact in the 16 weeks to day (a struct; NULL if none)
    """CREATE OR REPLACE MACRO {work}.cl_latest(cid, d) AS
       (SELECT arg_max({'in_touch': k.in_touch, 'activity': k.activity, 'suitable': k.suitable}, k.contact_date)
        FROM care_leaver_contacts k WHERE k.child_id = cid AND k.contact_date <= d
        AND k.contact_date > d - INTERVAL 16 WEEK)""",
    # cl_latest(child, m.m_end) as the engine runs it: read from kpi_cl_latest, worked out once for the months
    """CREATE OR REPLACE MACRO {work}.cl_latest_at_month_end(cid, d) AS
       (SELECT s.latest FROM kpi_cl_latest s WHERE s.m_end = d AND s.child_id = cid)""",
    # the start of a period of care
    """CREATE OR REPLACE MACRO {work}.period_start(pid) AS
       (SELECT min(e.start_date) FROM care_episodes e WHERE e.period_id = pid)""",
    # the start of the placement a child was in on day (a change of legal status alone is not a move)
    """CREATE OR REPLACE MACRO {work}.placement_start(cid, d) AS
       (SELECT max(p.start_date) FROM placements p WHERE p.child_id = cid AND p.start_date <= d)""",
]

# Placement spells: a new placement starts with a new period of care or a change of placement.
PLACEMENTS_VIEW = """
CREATE OR REPLACE TABLE {work}.placements AS
SELECT child_id, period_id, spell, min(start_date) AS start_date,
       CASE WHEN bool_or(end_date IS NULL) THEN NULL ELSE max(end_date) END AS end_date,
       arg_min(placement_type, start_date) AS placement_type
FROM (SELECT *, sum(CASE WHEN reason_new_episode IN ('S', 'P', 'T', 'B', 'U') THEN 1 ELSE 0 END)
             OVER (PARTITION BY child_id, period_id ORDER BY start_date, episode_id) AS spell
      FROM care_episodes)
GROUP BY child_id, period_id, spell
"""


# What compute() fills for the months asked (kpi_months, and the status of visits and supervisions due)
EMPTY_TABLES = {
    "kpi_months": "month VARCHAR, m_start DATE, m_end DATE, fy_start DATE, fy_end DATE, m12_start DATE, mi BIGINT",
    "kpi_visit_status": "m_end DATE, child_id VARCHAR, plan_type VARCHAR, due_date DATE",
    "kpi_supervision_status": "m_end DATE, child_id VARCHAR, due_date DATE",
    "kpi_cl_latest": "m_end DATE, child_id VARCHAR, latest STRUCT(in_touch VARCHAR, activity VARCHAR, suitable BOOLEAN)",
}

# A care leaver's latest contact at each month end is worked out once for the months, not by each of the nine
# care leaver measures that ask for it (at scale 50 the nine took 5.8-6.3 s, 4.1-4.6 s so, alternated runs).
AT_MONTH_END = (
    re.compile(r"\bcl_latest\(\s*t\.child_id\s*,\s*m\.m_end\s*\)"),
    "cl_latest_at_month_end(t.child_id, m.m_end)",
)


# wd_between() and work_hours() of two columns of the record, as the engine runs them: the calendar joined on each
# column's day. Called as macros, each lookup is a subquery the database works out for each distinct value of
# its column, through a copy of every row and a grouping (at scale 50 the 2.2M contacts of 24 months, whose
# times are nearly all distinct: measure 1.1 took 1.8-1.9 s so, 0.9-1.0 s joined; alternated runs).
CALENDAR_CALL = re.compile(r"\b(wd_between|work_hours)\(\s*t\.(\w+)\s*,\s*t\.(\w+)\s*\)")


def _calendar_joined(expr: str, joins: dict) -> str:
    """The expression with its calls matched by CALENDAR_CALL written over the calendar joined to each column
    (added to ``joins``): the same figures as the macros, a missing day giving NULL as theirs do."""

    def day(col: str) -> str:
        alias = f"k_{col}"
        joins[alias] = f"LEFT JOIN kpi_calendar {alias} ON {alias}.day = CAST(t.{col} AS DATE)"
        return alias

    def seconds(col: str) -> str:  # work_seconds(t.col)
        k = day(col)
        return f"({k}.ws + CASE WHEN {k}.workday THEN epoch(t.{col}) - epoch(CAST({k}.day AS TIMESTAMP)) ELSE 0 END)"

    def call(mt: re.Match) -> str:
        macro, a, b = mt.groups()
        if macro == "wd_between":
            return f"({day(b)}.wd - {day(a)}.wd)"
        return f"(({seconds(b)} - {seconds(a)}) / 3600)"

    return CALENDAR_CALL.sub(call, expr)


# What each macro reads of the data model: (table, columns)
MACRO_READS = {
    "visited": ("visits", ("child_id", "plan_type", "due_date", "visit_date")),
    "supervised": ("supervisions", ("child_id", "due_date", "supervision_date")),
    "cl_latest": ("care_leaver_contacts", ("child_id", "contact_date", "in_touch", "activity", "suitable")),
    "period_start": ("care_episodes", ("period_id", "start_date")),
    "placement_start": ("care_episodes", ("child_id", "period_id", "start_date", "end_date", "reason_new_episode")),
}
# The engine's own tables a measure may read (PLACEMENTS_VIEW): the model table each is built from
DERIVED_TABLES = {"placements": "care_episodes"}
ALIAS_TABLES = {"c": "children", "r": "referrals"}
# A column read only as coalesce(column, constant) is not needed: the catalogue says what its absence means (an
# overseas social worker not recorded is counted as not one, docs/assumptions.md A162).
DEFAULTED = re.compile(
    r"\bcoalesce\(\s*(?:[A-Za-z_]\w*\.)?\w+\s*,\s*(?:TRUE|FALSE|NULL|'[^']*'|-?\d+(?:\.\d+)?)\s*\)", re.I
)
# A table named in a subquery (FROM visits v, JOIN teams tm ON ...) and the alias it is read by, if any
NAMED_TABLE = re.compile(r"\b(?:FROM|JOIN)\s+(\w+)(?:\s+(?:AS\s+)?(\w+))?", re.IGNORECASE)
NOT_ALIAS = re.compile(
    r"(?i)(where|on|join|left|right|inner|outer|cross|semi|anti|using|group|order|limit|union|as)"
)  # a word after a table, not its alias


def _expressions(part: Part) -> list[str]:
    """The part's SQL: its dates (or interval and key), condition, contributions and team."""
    bare = [part.date] if part.source == "events" else [part.start, part.end, part.key]
    return [e for e in [*bare, part.where, part.num, part.num_value, part.den_value, part.team] if e]


def needs(measure: Measure) -> set[tuple[str, str | None]]:
    """What a measure's figures read: (table, column), or (table, None) for a table as a whole. Only what its
    numerator and denominator are counted from: not its team (read for a breakdown by team alone), nor the
    population a rate per 10,000 divides by (:func:`compute` gives the count without it, ``rate_not_available``
    saying why there is no rate). A column is known by the alias it is read through: ``t`` the part's table,
    ``c`` the child, ``r`` the referral, and the aliases of the tables named in a subquery."""
    out: set[tuple[str, str | None]] = set()
    for p in measure.parts:
        out.add((p.table, None))
        team = {p.team} if p.team else set()
        for e in (DEFAULTED.sub("NULL", x) for x in _expressions(p) if x not in team):
            if e in model.table(p.table).column_names:
                out.add((p.table, e))
            aliases = {"t": p.table, **ALIAS_TABLES}
            for table, alias in NAMED_TABLE.findall(e):
                table = DERIVED_TABLES.get(table, table)
                if table in model.TABLE_BY_NAME:
                    out.add((table, None))
                    if alias and not NOT_ALIAS.fullmatch(alias):
                        aliases[alias] = table
            for alias, col in re.findall(r"\b([A-Za-z_]\w*)\.(\w+)", e):
                table = aliases.get(alias)
                if table and col in model.table(table).column_names:
                    out.add((table, col))
            for macro, (table, cols) in MACRO_READS.items():
                if re.search(rf"\b{macro}\(", e):
                    out |= {(table, None)} | {(table, c) for c in cols}
    return out


@dataclass
class Context:
    """A connection to one snapshot, prepared for the engine (calendar, macros, derived views)."""

    con: object
    snapshot: dict
    # what the snapshot's sources could not supply: (table, column or None) -> why
    missing: dict = None
    work: str = "temp"  # the engine's own database on this connection: prepare() attaches it (_work_database)

    def __post_init__(self):
        if self.missing is None:
            self.missing = _missing(self.con, self.snapshot)

    def unavailable(self, measure: Measure) -> str | None:
        """Why the measure cannot be computed from this snapshot (None: it can)."""
        if measure.supplied:
            return "supplied: the data model holds no record of it; give its monthly figures in an aggregates file"
        whys = []
        for table, col in sorted(needs(measure), key=lambda x: (x[0], x[1] or "")):
            why = self.missing.get((table, col)) or self.missing.get((table, None))
            if why:
                whys.append(f"{table}{'.' + col if col and (table, col) in self.missing else ''}: {why}")
        return "; ".join(dict.fromkeys(whys)) or None

    @functools.cached_property
    def population_source(self) -> str:
        """Where the snapshot's 0-17 population came from: the files its load took it from, as accounted
        ("population.csv", "ONS mid-year estimates 2012-2024 for 825 Buckinghamshire (shipped)"); "" if none."""
        from .store import accounting_of

        sid = (self.snapshot or {}).get("snapshot_id")
        if sid is None:
            return ""
        acc = accounting_of(self.con, int(sid))
        files = acc.loc[(acc["table_name"] == "population") & (acc["rows_loaded"] > 0), "file"]
        return "; ".join(dict.fromkeys(f for f in files if isinstance(f, str)))

    @classmethod
    def prepare(cls, con, snapshot: dict | None = None) -> Context:
        first, last = _date_span(con)
        days = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + 1)
        hols = bank_holidays(first.year, last.year)
        workday = np.is_busday(days, holidays=hols)
        wd = np.cumsum(workday)
        # ws: the working seconds of the days before each day (work_hours() takes two of them, not five lookups)
        cal = pd.DataFrame({"day": days, "workday": workday, "wd": wd, "ws": 86400 * (wd - workday)})
        con.register("kpi_calendar_df", cal)
        work = _work_database(con)
        con.execute(f"CREATE OR REPLACE TABLE {work}.kpi_calendar AS SELECT * FROM kpi_calendar_df")
        con.unregister("kpi_calendar_df")
        con.execute(PLACEMENTS_VIEW.replace("{work}", work))
        for name, cols in EMPTY_TABLES.items():  # the macros need the tables they read to exist
            con.execute(f"CREATE OR REPLACE TABLE {work}.{name} ({cols})")
        for m in MACROS:
            con.execute(m.replace("{work}", work))
        _no_file_access(con)
        return cls(con, snapshot or {}, work=work)


def _no_file_access(con) -> None:
    """The catalogue's SQL reads the store and nothing else: no file, folder or extension of the machine (a
    council's own catalogue could otherwise put /etc/passwd in a scorecard). DuckDB takes the setting for the whole
    store as opened in this process, cannot turn it back on, and the configuration is locked so that SQL cannot
    change it: once set, it stays set until every connection to the store is closed."""
    locked, external = con.execute(
        "SELECT current_setting('lock_configuration'), current_setting('enable_external_access')"
    ).fetchall()[0]
    if not locked:
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    elif external:  # locked by something else with access left on: no catalogue runs so
        raise RuntimeError("the store's connection is locked with file access on")


def _failing(con, cohorts: dict, by: str | None) -> list[str]:
    """The measures whose SQL fails bound alone (a catalogue's error is raised as its query binds)."""
    refs = []
    for (ref, _), c in cohorts.items():
        try:
            con.execute(f"EXPLAIN {shared_sql([c], by)}")
        except duckdb.Error:
            refs.append(ref)
    return list(dict.fromkeys(refs))


WORK_PREFIX = "kpi_work_"
_work_numbers = itertools.count(1)


def _search_path(con) -> list[str]:
    return [p for p in con.execute("SELECT current_setting('search_path')").fetchall()[0][0].split(",") if p]


def _work_database(con) -> str:
    """An in-memory database for what the engine works out (the calendar, the months asked, the status of dues,
    its macros), attached to the connection and last on its search path; one made for the connection before is
    detached. Temporary tables would serve one connection only: this one is seen by the cursors that count
    measures side by side (:func:`_count_sets`). Its name is new in the process, since connections to the same
    store share their attached databases."""
    path = _search_path(con)
    for old in (p for p in path if p.startswith(WORK_PREFIX)):  # the database read back as its schema (db.main)
        with contextlib.suppress(duckdb.Error):  # already detached
            con.execute(f"DETACH {old.split('.')[0]}")
    path = [p for p in path if not p.startswith(WORK_PREFIX)] or ["main"]
    work = f"{WORK_PREFIX}{os.getpid()}_{next(_work_numbers)}"
    con.execute(f"ATTACH ':memory:' AS {work} (READ_WRITE)")
    con.execute(f"SET search_path = '{','.join([*path, work])}'")
    return work


def _missing(con, snapshot: dict) -> dict:
    """The snapshot's meta.availability: (table, column or None) -> why."""
    from .store import availability_of

    sid = (snapshot or {}).get("snapshot_id")
    if sid is None:
        return {}
    return {(r.table_name, r.column_name): r.reason for r in availability_of(con, int(sid)).itertuples()}


def _date_span(con) -> tuple[dt.date, dt.date]:
    """A calendar wide enough for every date in the store (and a year either side)."""
    lo = con.execute("SELECT min(date_of_birth) FROM children").fetchall()[0][0] or dt.date(2000, 1, 1)
    lo = max(lo, dt.date(1990, 1, 1))
    return dt.date(lo.year - 1, 1, 1), dt.date(dt.date.today().year + 3, 12, 31)


def _months_frame(months: list[str]) -> pd.DataFrame:
    starts = [month_start(m) for m in months]
    return pd.DataFrame(
        {
            "month": months,
            "m_start": starts,
            "m_end": [month_end(m) for m in months],
            "fy_start": [dt.date(s.year if s.month >= 4 else s.year - 1, 4, 1) for s in starts],
            "fy_end": [dt.date(s.year + 1 if s.month >= 4 else s.year, 3, 31) for s in starts],
            "m12_start": [add_months(s, -11) for s in starts],
        }
    )


def _joins_used(joins, text: str) -> dict:
    """Of the joins (alias -> LEFT JOIN ...), those whose alias the text reads."""
    return {alias: j for alias, j in dict(joins).items() if re.search(rf"\b{alias}\.", text)}


def _col(expr: str) -> str:
    """A bare column name means the part table's column."""
    return f"t.{expr}" if expr.isidentifier() else expr


@dataclass(frozen=True)
class _Cohort:
    """A part's cohort query in pieces: its records joined to the months (``source``), the other joins it
    uses, its filter and latest-record window, and what each row gives."""

    source: str
    joins: tuple[tuple[str, str], ...]  # (alias, LEFT JOIN ...)
    where: str
    qualify: str
    num: str
    den: str
    select: tuple[str, ...]  # breakdown (and record) columns
    key: str = ""  # one row per month and value of this column (the latest record's); "": every record counts
    latest_by: str = ""  # what makes a record the latest of its key (the window's order, greatest first)

    def sql(self, values: str | None = None, joins: dict | None = None) -> str:
        """Its rows: month, ``values`` (by default its num and den), its select columns; ``joins``: those of
        all the parts counted with it (by default its own)."""
        values = values or f"{self.num} AS num, {self.den} AS den"
        return f"""
        SELECT m.month, {values}{"".join(", " + x for x in self.select)}
        FROM {self.source}
        {" ".join((joins or dict(self.joins)).values())}
        WHERE {self.where}
        {self.qualify}"""

    def shares(self) -> tuple | None:
        """Parts with the same value here are counted in one query: the same records open at the same month
        ends, the same filter, and each child's latest record among them chosen once, by one window (at scale
        50 the five measures on every child in care took 2.4 s one by one, 1.3 s so). None: counted alone. Parts
        without a window gain nothing so: what each measure works out for its rows (a care leaver's latest
        contact, a contact's working hours) is the cost, and in one query each is worked out for the rows of
        all (the nine care leaver measures: 3.9 s one by one, 4.9 s in one)."""
        return (self.source, self.qualify, self.where, self.select) if self.key else None

    def deduped(self) -> _Cohort | None:
        """The same rows without the latest-record window, where what is counted does not depend on which record
        is the latest: its numerator, denominator and breakdown read of the record only its key (and of the
        child, when the key is the child). The filter may read anything: it is applied first, as by the window.
        Each month's keys are then picked out by a DISTINCT, a hash aggregate, where the window sorted every
        record of every month (at scale 50 the window was 2.7 s of measure 4.2's 3.3-3.6 s; 4.0 and 4.2 took
        6.0 s so, 4.0 s now; 8.4, whose filter reads the worker and count the child, 2.9 s so and 1.8 s now).
        None: the window is needed."""
        if not self.qualify:
            return None
        counted = self.counted()
        if set(re.findall(r"\bt\.(\w+)", counted)) - {self.key} or re.search(r"\b(r|tm|k_\w+)\.", counted):
            return None
        if self.key != "child_id" and re.search(r"\bc\.", counted):
            return None
        where_joins = " ".join(_joins_used(self.joins, self.where).values())
        source = (
            f"(SELECT DISTINCT m.mi AS _mi, t.{self.key} FROM {self.source} {where_joins} WHERE {self.where}) t "
            f"JOIN kpi_months m ON m.mi = t._mi"
        )
        joins = tuple(_joins_used(self.joins, counted).items())
        return _Cohort(source, joins, "TRUE", "", self.num, self.den, self.select, self.key)

    def counted(self) -> str:
        """What it counts: its numerator, denominator and breakdown."""
        return " ".join([self.num, self.den, *self.select])


def _latest(cohorts: list[_Cohort]) -> list[_Cohort] | None:
    """Parts that share their rows (:meth:`_Cohort.shares`) with each key's latest record at each month end picked
    by a grouping, not by the window: for each month and key, arg_max() keeps the latest record's columns that
    their counts read (and the joins those need), by the window's order. The filter is applied first, as by the
    window. A hash aggregate, where the window sorted every record of every month: at scale 50, 24 months, the
    five measures on every child in care took 1.6-1.7 s so, 1.8-1.9 s with the window; the five such queries of
    the full catalogue 4.6 s against 5.1 s. None: no window, or nothing but the key read
    (:meth:`_Cohort.deduped`)."""
    first = cohorts[0]
    if not first.qualify:
        return None
    joins = dict(j for c in cohorts for j in c.joins)
    counted = " ".join(c.counted() for c in cohorts)
    read = counted + " " + " ".join(_joins_used(joins, counted).values())
    carried = sorted(set(re.findall(r"\bt\.(\w+)", read)) - {first.key})
    if not carried:
        return None
    where_joins = " ".join(_joins_used(joins, first.where).values())
    fields = ", ".join(f"'{c}': t.{c}" for c in carried)
    source = (
        f"(SELECT _mi, {first.key}, _r.* FROM (SELECT m.mi AS _mi, t.{first.key}, "
        f"arg_max({{{fields}}}, {first.latest_by}) AS _r FROM {first.source} {where_joins} WHERE {first.where} "
        f"GROUP BY ALL)) t JOIN kpi_months m ON m.mi = t._mi"
    )
    return [
        replace(c, source=source, joins=tuple(_joins_used(c.joins, c.counted()).items()), where="TRUE", qualify="")
        for c in cohorts
    ]


def breakdowns_of(measure: Measure) -> list[str]:
    """The breakdowns (of :data:`BREAKDOWNS`) the measure's records have a value for in at least one part: a
    referral has no placement type, a visit no referral source."""
    return [
        by
        for by in BREAKDOWNS
        if any(_cohort(measure, p, by).select != (f"NULL AS {BREAKDOWNS[by]}",) for p in measure.parts)
    ]


def part_sql(measure: Measure, part: Part, by: str | None = None, detail: bool = False) -> str:
    """The cohort query of one part: month, num, den, and the breakdown column ``by`` asks for (``detail``:
    every breakdown column and the record behind each row, for :func:`cohort`)."""
    return _cohort(measure, part, by, detail).sql()


def _cohort(measure: Measure, part: Part, by: str | None = None, detail: bool = False) -> _Cohort:
    """The cohort query of one part, in pieces: month, num, den, and the breakdown column ``by`` asks for
    (``detail``: every breakdown column and the record behind each row, for :func:`cohort`).

    Only the joins a query uses are written: the store declares no keys, so the database cannot drop an
    unused join by itself, and a join of every event row against every child costs more than the measure."""
    table = model.table(part.table)
    cols = set(table.column_names)
    joins = {}
    if "child_id" in cols:
        joins["c"] = "LEFT JOIN children c ON c.child_id = t.child_id"
    else:
        joins["c"] = (
            "LEFT JOIN (SELECT NULL::VARCHAR AS child_id, NULL::DATE AS date_of_birth, "
            "NULL::VARCHAR AS sex, NULL::VARCHAR AS ethnicity, NULL::VARCHAR AS locality_id) c ON FALSE"
        )
    if part.table == "referrals":
        ref_alias = "t"
    elif "referral_id" in cols:
        joins["r"] = "LEFT JOIN referrals r ON r.referral_id = t.referral_id"
        ref_alias = "r"
    else:
        ref_alias = None
    team = part.team and _col(part.team) or ("t.team_id" if "team_id" in cols else "NULL")
    if part.table == "referrals":
        locality = "t.locality_id"
    elif "child_id" in cols:
        locality = "c.locality_id"
    elif "team_id" in cols:
        joins["tm"] = "LEFT JOIN teams tm ON tm.team_id = t.team_id"
        locality = "tm.locality_id"
    else:
        locality = "NULL"
    place = "t.placement_type" if part.table == "care_episodes" else "NULL"

    # numerator and denominator contributions
    if part.role == "den":
        num = "0"
    elif part.num_value:
        num = f"CAST({part.num_value} AS DOUBLE)"
    elif part.num:
        num = f"CASE WHEN {part.num} THEN 1 ELSE 0 END"
    else:
        num = "1"
    if part.role == "num":
        den = "0"
    elif part.den_value:
        den = f"CAST({part.den_value} AS DOUBLE)"
    elif measure.unit in ("percent", "average"):
        den = "1"
    else:
        den = "NULL"

    if part.source == "events":
        date = _col(part.date)
        lo = {"month": "m.m_start", "ytd": "m.fy_start", "12m": "m.m12_start", "fy": "m.fy_start"}[part.window]
        hi = "m.fy_end" if part.window == "fy" else "m.m_end"
        on = f"CAST({date} AS DATE) BETWEEN {lo} AND {hi}"
        ref_date = f"CAST({date} AS DATE)"
        first = _month_index(f"CAST({date} AS DATE)")
        # the months whose window can hold the date: its own, or up to 11 either side (the condition decides)
        spans = {"month": (first, None), "ytd": (first, f"{first} + 11"), "12m": (first, f"{first} + 11")}
        months = spans.get(part.window, (f"{first} - 11", f"{first} + 11"))
        qualify, key, latest_by = "", "", ""
    else:
        start, end = _col(part.start), _col(part.end)
        on = f"{start} <= m.m_end AND ({end} IS NULL OR {end} > m.m_end)"
        # open from the end of the month it started in, up to the month it ended in (the condition decides)
        months = (_month_index(f"CAST({start} AS DATE)"), f"coalesce({_month_index(f'CAST({end} AS DATE)')}, 1e9)")
        ref_date = "m.m_end"
        # the latest record started; of two started the same day, the one with the greater id (re-runs agree).
        # Counted by the table's own key (loaded unique) each record is its own latest: no window needed.
        tie = f", t.{table.key} DESC" if table.key else ""
        qualify = f"QUALIFY row_number() OVER (PARTITION BY m.month, t.{part.key} ORDER BY {start} DESC{tie}) = 1"
        key, latest_by = part.key, f"({start}, t.{table.key})" if table.key else start
        if part.key == table.key:
            qualify, key, latest_by = "", "", ""
    breakdowns = {
        "locality_id": locality,
        "team_id": team,
        "age_band": AGE_BAND_SQL.format(a=f"age_at(c.date_of_birth, {ref_date})"),
        "sex": "c.sex",
        "ethnicity": "c.ethnicity",
        "source": f"{ref_alias}.source" if ref_alias else "NULL",
        "primary_need": f"{ref_alias}.primary_need" if ref_alias else "NULL",
        "placement_type": place,
    }
    wanted = list(breakdowns) if detail else [BREAKDOWNS[by]] if by else []
    select = [f"{breakdowns[w]} AS {w}" for w in wanted]
    if detail:
        record = f"CAST(t.{table.key} AS VARCHAR)" if table.key else "NULL"
        select[:0] = [f"'{part.table}' AS record_table", f"{record} AS record_id", "c.child_id"]
        if any(previous_sql(p) for p in measure.parts):  # a repeat measure: the earlier event each repeats
            prev_id, prev_date = previous_sql(part) or ("NULL::VARCHAR", "NULL::DATE")
            select[3:3] = [f"{prev_id} AS previous_id", f"{prev_date} AS previous_date"]
    pattern, memo = AT_MONTH_END
    num, den, where = (_calendar_joined(pattern.sub(memo, e), joins) for e in (num, den, part.where))
    used = " ".join([num, den, on, where, *select])
    needed = _joins_used(joins, used)
    if re.search(r"\bc\.", on):  # dated by the child (a birthday): the child joined before the months
        months_join = f"kpi_months m JOIN ({part.table} t {needed.pop('c')}) ON {on}"
    elif months[1] is None:  # its own month only
        months_join = f"{part.table} t JOIN kpi_months m ON m.mi = {months[0]} AND {on}"
    else:
        # Each record is matched to the months it can count in by month index (a hash join), the dates then
        # checked, rather than every record compared with every month (a range join).
        lo, hi = "(SELECT min(mi) FROM kpi_months)", "(SELECT max(mi) FROM kpi_months)"
        span = f"range(CAST(greatest({months[0]}, {lo}) AS BIGINT), CAST(least({months[1]}, {hi}) AS BIGINT) + 1)"
        months_join = (
            f"(SELECT *, unnest({span}) AS _mi FROM {part.table} t) t JOIN kpi_months m ON m.mi = t._mi AND {on}"
        )
    return _Cohort(months_join, tuple(needed.items()), where, qualify, num, den, tuple(select), key, latest_by)


def shared_sql(cohorts: list[_Cohort], by: str | None = None) -> str:
    """One query counting one part, or several that share their rows (:meth:`_Cohort.shares`): for each month
    (and group) and each part i, its numerator n{i} and denominator d{i}."""
    first = cohorts[0]
    assert len(cohorts) == 1 or all(c.shares() == first.shares() is not None for c in cohorts)
    joins = dict(j for c in cohorts for j in c.joins)
    inner = first.sql(", ".join(f"{c.num} AS n{i}, {c.den} AS d{i}" for i, c in enumerate(cohorts)), joins)
    group = f", {BREAKDOWNS[by]} AS grp" if by else ""
    # Parallel sums of fractions (FTE) can differ in the last bits from run to run: rounding makes re-runs on
    # the same data give the same figures.
    sums = [f"round(sum(n{i}), 9) AS n{i}, round(sum(d{i}), 9) AS d{i}" for i in range(len(cohorts))]
    return f"SELECT month{group}, {', '.join(sums)} FROM ({inner}) GROUP BY ALL"


# A repeat measure's numerator: an earlier record of the same table (alias p) for the record counted (t), e.g.
# re-referrals' "EXISTS (SELECT 1 FROM referrals p WHERE p.child_id = t.child_id AND ...)"
REPEAT = re.compile(r"\s*EXISTS\s*\(\s*SELECT\s+1\s+FROM\s+(\w+)\s+(\w+)\s+WHERE\s+(.*)\)\s*", re.S | re.I)


def previous_sql(part: Part) -> tuple[str, str] | None:
    """For a part counting repeats (its numerator: an earlier record of its own table exists), SQL giving the
    earlier record a counted one repeats, the latest of those its definition accepts: (its id, its date, by the
    part's own date column). None for any other part."""
    mt = REPEAT.fullmatch(part.num or "") if part.source == "events" and part.role != "den" else None
    key = model.table(part.table).key
    if mt is None or mt[1] != part.table or not key or not part.date.isidentifier():
        return None
    _, p, cond = mt.groups()
    pick = f"FROM {part.table} {p} WHERE {cond} ORDER BY {p}.{part.date} DESC, {p}.{key} DESC LIMIT 1"
    return f"(SELECT CAST({p}.{key} AS VARCHAR) {pick})", f"(SELECT CAST({p}.{part.date} AS DATE) {pick})"


def cohort(ctx: Context, measure: Measure, month: str) -> pd.DataFrame:
    """The records behind a measure's figure for one month: one row per record and part, with its
    contribution to the numerator and denominator, and for a repeat measure (re-referrals, repeat plans) the
    earlier record each counted one repeats (previous_id, previous_date: :func:`previous_sql`). Record level:
    for the analyst, never for a report."""
    _set_months(ctx, [month], [measure])
    sql = " UNION ALL ".join(f"({part_sql(measure, p, detail=True)})" for p in measure.parts)
    df = ctx.con.execute(f"SELECT * FROM ({sql}) ORDER BY record_table, record_id").df()
    return df.rename(columns={"num": "numerator", "den": "denominator"})


def _set_months(ctx: Context, months: list[str], measures: list[Measure]) -> None:
    """The months being computed, and what is worked out once for them (for the measures that need it)."""
    con, work = ctx.con, ctx.work
    con.register("kpi_months_df", _months_frame(months))
    con.execute(
        f"CREATE OR REPLACE TABLE {work}.kpi_months AS SELECT *, {_month_index('m_start')} AS mi FROM kpi_months_df"
    )
    con.unregister("kpi_months_df")
    used = {macro for macro in ("visited", "supervised") if any(_calls(mz, macro) for mz in measures)}
    _due_status(con, work, month_end(min(months)), month_end(max(months)), used)
    _care_leavers_latest(con, work, any(_calls(mz, AT_MONTH_END[0]) for mz in measures))


def _care_leavers_latest(con, work: str, used: bool) -> None:
    """Each care leaver's most recent contact in the 16 weeks to each month end (what cl_latest(child, m.m_end)
    gives), for the measures that ask for it. A contact can be the latest at the month ends of its own month and
    the four after (16 weeks is 112 days): joined to those by month index, the dates then checked."""
    if not used:
        con.execute(f"CREATE OR REPLACE TABLE {work}.kpi_cl_latest ({EMPTY_TABLES['kpi_cl_latest']})")
        return
    mi = _month_index("contact_date")
    con.execute(f"""
        CREATE OR REPLACE TABLE {work}.kpi_cl_latest AS
        SELECT m.m_end, k.child_id,
               arg_max({{'in_touch': k.in_touch, 'activity': k.activity, 'suitable': k.suitable}}, k.contact_date)
               AS latest
        FROM (SELECT *, unnest(range({mi}, {mi} + 5)) AS _mi FROM care_leaver_contacts) k
        JOIN kpi_months m ON m.mi = k._mi AND k.contact_date <= m.m_end
             AND k.contact_date > m.m_end - INTERVAL 16 WEEK
        GROUP BY ALL""")


def _calls(measure: Measure, macro: str | re.Pattern) -> bool:
    """Whether any expression of the measure calls the macro (or holds the call the pattern matches)."""
    pattern = macro if isinstance(macro, re.Pattern) else re.compile(rf"\b{macro}\(")
    return any(pattern.search(e) for p in measure.parts for e in _expressions(p))


def _month_index(d: str) -> str:
    """Months since year 0 of a date (SQL): month ends are compared by index, not by a range join."""
    return f"(year({d}) * 12 + month({d}) - 1)"


def _due_status(con, work: str, first: dt.date, last: dt.date, used: set[str]) -> None:
    """For each month end, each child whose latest visit (by plan type) or case supervision due by then was
    not done by then: the only rows the macros need, since a due done and no due both read as done.

    Each due is the latest from its date until the next due; it is outstanding at the month ends from its own
    month's until before the month of the next due or of its visit (or supervision), whichever comes first.
    One window over the dues gives the next due; the month ends are counted out by month index and joined on
    it (at scale 50: 0.8M rows of the 16.3M child-plan-month rows an ASOF join gave before; 16.8 s for the
    two tables with a grouping and a range join, 7.2 s so, the same rows). Two dues on the same day are one,
    done by the month end if either was (A39): ordered so, the last of them carries the earliest date done
    and the next due, and the others end where they start. A due's month ends stop before the next due's
    begin, so a month end holds at most one due per child (and plan type): visited() reads it as a single value
    (the database would stop with an error on a second). ``used``: the macros the measures call (at scale 50
    the two tables take 4 s; a measure that needs neither does not wait for them).

    The window reads the dues after the first month end, and of those before it only the ones that can still
    be outstanding then: not done by then, and with no due after them by then, nor one the same day done by
    then (A39). Those are found by each child's (and plan type's) latest due by the first month end, a grouping
    over the children with such a due only. Every other due before the first month end is done by then or
    followed by another due by then, so never outstanding at a month end asked for; and as no due after the
    first month end is left out, each due the window reads has the same next due as among all the dues. At
    scale 50, 24 months: the window read 4.7M of the 12.3M visits, and the visits' table took 2.9-3.0 s
    instead of 4.2-4.8 s (alternated runs)."""
    lo, hi = "(SELECT min(mi) FROM kpi_months)", "(SELECT max(mi) FROM kpi_months)"
    for macro, table, done, keys, since in (
        ("visited", "visits", "visit_date", "child_id, plan_type", ""),
        # supervised() looks only at dues in the 3 months to the month end
        (
            "supervised",
            "supervisions",
            "supervision_date",
            "child_id",
            f"AND due_date > DATE '{first}' - INTERVAL 3 MONTH",
        ),
    ):
        name = f"kpi_{table[:-1]}_status"
        if macro not in used:
            con.execute(f"CREATE OR REPLACE TABLE {work}.{name} ({EMPTY_TABLES[name]})")
            continue
        recent = "WHERE u.due_date > m.m_end - INTERVAL 3 MONTH" if since else ""
        cols = [k.strip() for k in keys.split(",")]
        dues = f"(SELECT {keys}, due_date, {done} AS done_date FROM {table} WHERE due_date <= DATE '{{}}' {since})"
        on = " AND ".join(f"v.{k} = o.{k}" for k in cols)
        con.execute(f"""
            CREATE OR REPLACE TABLE {work}.{name} AS
            WITH undone AS (
                SELECT * FROM {dues.format(first)} WHERE done_date IS NULL OR done_date > DATE '{first}'),
            latest AS (  -- the latest due date by the first month end, and whether a due that day was done by then
                SELECT {", ".join("v." + k for k in cols)},
                       max({{'due': v.due_date, 'done': coalesce(v.done_date <= DATE '{first}', FALSE)}}) AS latest
                FROM {dues.format(first)} v SEMI JOIN undone o ON {on} GROUP BY ALL),
            w AS (
                SELECT {keys}, due_date, done_date,
                       lead(due_date) OVER (PARTITION BY {keys} ORDER BY due_date, done_date DESC NULLS FIRST) AS next_due
                FROM (
                    SELECT * FROM {dues.format(last)} WHERE due_date > DATE '{first}'
                    UNION ALL
                    SELECT o.* FROM undone o JOIN latest v ON {on}
                    WHERE o.due_date = v.latest.due AND NOT v.latest.done)),
            s AS (
                SELECT {keys}, due_date, least(next_due, done_date) AS stop FROM w
                WHERE (next_due IS NULL OR next_due > greatest(due_date, DATE '{first}'))
                  AND (done_date IS NULL OR done_date > DATE '{first}')),
            u AS (
                SELECT {keys}, due_date,
                       unnest(range(greatest({_month_index("due_date")}, {lo}),
                                    least(coalesce({_month_index("stop")}, {hi} + 1), {hi} + 1))) AS i
                FROM s)
            SELECT m.m_end, {", ".join("u." + k for k in cols)}, u.due_date
            FROM u JOIN kpi_months m ON m.mi = u.i {recent}""")


def estimate_year(month: str) -> int:
    """The mid-year estimate of the 0-17 population a month's rate divides by: that of the year its financial year
    starts in (April 2024 to March 2025: mid-2024), as the DfE's published rates per 10,000 at 31 March (A80)."""
    start = month_start(month)
    return start.year if start.month >= 4 else start.year - 1


def population_years(years, months: list[str]) -> dict[str, int]:
    """The estimate each month takes among the years held: its :func:`estimate_year`'s; where that is not held,
    the latest before it (the next is not published yet), else the earliest held (A80)."""
    years = sorted(int(y) for y in years)
    out = {}
    for m in months:
        want = estimate_year(m)
        out[m] = max((y for y in years if y <= want), default=years[0]) if years else None
    return out


POPULATION_COLUMNS = {"locality": "locality_id", "age_band": "age", "sex": "sex"}
# what compute() says of each rate's population: why a rate has its count only, and the estimate it divides by
RATE = ["rate_not_available", "population_used"]


def population(con, months: list[str], by: str | None = None) -> pd.DataFrame:
    """The 0-17 population for each month (and group of ``by``): month, [grp,] population, year (the estimate's,
    :func:`population_years`). Rows without the group's column (an authority-wide figure) are no group's
    population."""
    group = {"locality": "locality_id", "sex": "sex", "age_band": AGE_BAND_SQL.format(a="age")}.get(by)
    sel = f", {group} AS grp" if group else ""
    where = f"WHERE {POPULATION_COLUMNS[by]} IS NOT NULL" if group else ""
    pop = con.execute(f"SELECT year{sel}, sum(count) AS population FROM population {where} GROUP BY ALL").df()
    use = population_years(_years_held(con), months)
    columns = ["month", *(["grp"] if group else []), "population", "year"]
    rows = [pop[pop["year"] == use[m]].assign(month=m) for m in months if use[m] is not None]
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.concat(rows, ignore_index=True)[columns]


def _population_faults(con) -> dict[int, str]:
    """Years whose population a rate cannot divide by: a child counted twice (two rows for one year, locality,
    age and sex: two population files, a row repeated), or none at all (a total of 0)."""
    faults = {}
    for year, n, cell in con.execute("""
        SELECT year, count(*), arg_min(concat_ws(', ', locality_id, age, sex), locality_id) FROM (
            SELECT year, locality_id, age, sex FROM population GROUP BY ALL HAVING count(*) > 1)
        GROUP BY year""").fetchall():
        faults[int(year)] = (
            f"the population of {year} repeats the row of {n} locality, age and sex (the first: {cell}): "
            "their children would be counted twice"
        )
    for (year,) in con.execute("SELECT year FROM population GROUP BY year HAVING sum(count) = 0").fetchall():
        faults.setdefault(int(year), f"the 0-17 population of {year} is 0")
    return faults


def _rates(ctx: Context, out: pd.DataFrame, rate: pd.Series, months: list[str], by: str | None) -> pd.DataFrame:
    """The rows of rates per 10,000 (``rate``) divided by the 0-17 population: their denominator, and
    ``population_used`` (the estimate, and where it came from). A rate without a population keeps its count, its
    denominator empty and ``rate_not_available`` saying why (A81)."""
    con = ctx.con
    out["rate_not_available"] = pd.Series(None, index=out.index, dtype=object)
    out["population_used"] = pd.Series(None, index=out.index, dtype=object)

    def none(rows: pd.Series, why) -> None:
        out.loc[rows, "denominator"] = np.nan
        out.loc[rows, "rate_not_available"] = why

    whole = ctx.missing.get(("population", None))
    if whole or not con.execute("SELECT count(*) FROM population").fetchall()[0][0]:
        why = (
            f"no 0-17 population: {whole}"
            if whole
            else "no 0-17 population loaded (none given, or each row rejected: the load lists them)"
        )
        none(rate, f"{why}; `kpi load --la-code CODE` gives a council the ONS estimates shipped, or load a population")
        return out
    name = (by or "").replace("_", " ")
    if by and by not in POPULATION_BREAKDOWNS:
        none(rate, f"no population by {name}: a rate per 10,000 is broken down by locality, age band or sex only")
        return out
    if by and ("population", POPULATION_COLUMNS[by]) in ctx.missing:
        none(rate, f"no population by {name}: {ctx.missing[('population', POPULATION_COLUMNS[by])]}")
        return out
    keys = ["month", "grp"] if by else ["month"]
    pop = population(con, months, by).rename(columns={"population": "_population"}).drop(columns="year")
    out = out.merge(pop, on=keys, how="left")  # a left merge keeps the rows' order
    out["denominator"] = out["denominator"].where(~rate, out["_population"])
    out = out.drop(columns="_population")
    year = out["month"].map(population_years(_years_held(con), months))
    fault = year.map(_population_faults(con))
    bad = rate & fault.notna()
    none(bad, fault[bad])
    if by:
        group = out["grp"].astype(object)
        unknown = rate & ~bad & group.isna()
        none(unknown, f"no population for the children of no recorded {name}")
        for lacking, text in (
            (out["denominator"].isna(), "no population for {} {} in {}"),
            (out["denominator"] == 0, "the 0-17 population of {} {} in {} is 0"),
        ):
            rows = rate & ~bad & ~unknown & lacking
            none(rows, [text.format(name, g, y) for g, y in zip(group[rows], year[rows], strict=True)])
    used = rate & out["rate_not_available"].isna()
    source = ctx.population_source
    out.loc[used, "population_used"] = [
        f"mid-{y} estimate"
        + (
            ""
            if y == estimate_year(m)
            else f" (the {'latest' if y < estimate_year(m) else 'earliest'} held; the month's is mid-{estimate_year(m)})"
        )
        + (f": {source}" if source else "")
        for m, y in zip(out.loc[used, "month"], year[used], strict=True)
    ]
    return out


def _years_held(con) -> list[int]:
    return [r[0] for r in con.execute("SELECT DISTINCT year FROM population WHERE year IS NOT NULL").fetchall()]


def compute(
    ctx: Context,
    catalogue: Catalogue,
    months: list[str],
    by: str | None = None,
    refs: list[str] | None = None,
    finished: bool = True,
) -> pd.DataFrame:
    """Numerator, denominator, value and calculation for each measure and month (and group);
    ``finished=False``: numerator and denominator only (for a caller that adds more rows and finishes)."""
    if by is not None and by not in BREAKDOWNS:
        raise ValueError(f"cannot break down by {by!r}: choose one of {', '.join(BREAKDOWNS)}")
    con = ctx.con
    frames = []
    measures = [catalogue[r] for r in refs] if refs else catalogue.measures
    _set_months(ctx, months, [mz for mz in measures if not ctx.unavailable(mz)])
    # One query for each set of parts that share their rows (see shared_sql). Running the whole catalogue as
    # one query is no faster at scale and holds every measure's intermediate results at once (10 GB against
    # 3 GB at scale 50).
    todo = [mz for mz in measures if not ctx.unavailable(mz)]  # not available: not a count of nothing
    cohorts = {(mz.ref, k): _cohort(mz, p, by) for mz in todo for k, p in enumerate(mz.parts)}
    sets = {}
    for key, c in cohorts.items():
        sets.setdefault(c.shares() or key, []).append(key)
    counted = {}  # (measure, part) -> month, [grp,] numerator, denominator: the rows the part counted
    keys = ["month", "grp"] if by else ["month"]
    try:
        frames_of_sets = _count_sets(
            con,
            [[cohorts[k] for k in members] for members in sets.values()],
            by,
            [list(dict.fromkeys(ref for ref, _ in members)) for members in sets.values()],
        )
    except duckdb.Error as e:  # a catalogue's SQL that cannot run is named; one that can is a fault of the engine's
        refs = _failing(con, cohorts, by)
        if not refs:
            raise
        why = str(e).splitlines()[0]
        if isinstance(e, duckdb.PermissionException):
            why = (
                f"its SQL reaches outside the store ({why}); a catalogue's expressions may read only the store's tables"
            )
        raise CatalogueError(f"measure {', '.join(refs)}: {why}") from None
    for members, df in zip(sets.values(), frames_of_sets, strict=True):
        for i, key in enumerate(members):
            part = df[keys + [f"n{i}", f"d{i}"]]
            counted[key] = part.rename(columns={f"n{i}": "numerator", f"d{i}": "denominator"})
    for mz in todo:
        parts = [counted[(mz.ref, k)] for k in range(len(mz.parts))]
        df = parts[0] if len(parts) == 1 else _summed(parts, keys)
        frames.append(df.assign(measure=mz.ref))
    if not frames:
        return pd.DataFrame(columns=["measure", "month", *(["grp"] if by else []), "numerator", "denominator", *RATE])
    out = _complete(pd.concat(frames, ignore_index=True), [mz.ref for mz in todo], months, by)
    rate = out["measure"].isin([mz.ref for mz in todo if mz.unit == "rate"])
    # a rate's population (and why a rate has none): columns whichever measures are asked for
    out = (
        _rates(ctx, out, rate, months, by) if rate.any() else out.assign(rate_not_available=None, population_used=None)
    )
    # the same types whichever measures are asked for (concatenated text columns can come out either way)
    out["month"] = out["month"].astype(str)
    for c in RATE:
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    if by:
        out["grp"] = out["grp"].astype(object).where(out["grp"].notna(), None)
    return finish(out, catalogue) if finished else out


def compute_before(
    ctx: Context, catalogue: Catalogue, months: list[str], by: str | None = None, refs: list[str] | None = None
) -> pd.DataFrame:
    """The previous definition of each measure whose history gives one (:class:`kpi.catalogue.Change`), computed
    as any measure is, for the months it covers: those before the change and its overlap after it. Rows of measure,
    month (and grp), numerator and denominator (unfinished, as ``compute(finished=False)``); none for a measure
    without a previous definition or a month it does not cover."""
    from .catalogue import previous

    prev = previous(catalogue, refs)
    changes = {m.ref: catalogue[m.ref].before for m in prev.measures}
    wanted = [m for m in months if any(c.covers(m) for c in changes.values())]
    if not wanted:
        return pd.DataFrame(columns=["measure", "month", *(["grp"] if by else []), "numerator", "denominator", *RATE])
    out = compute(ctx, prev, wanted, by=by, refs=list(changes), finished=False)
    keep = [changes[r].covers(m) for r, m in zip(out["measure"], out["month"], strict=True)]
    return out[keep].reset_index(drop=True)


# Sets of parts counted two at a time, each on a cursor of its own: one query at a time left a core idle for part
# of each query (its planning, its single-threaded steps, its result turned into a DataFrame). Alternated runs, the
# full catalogue for 24 months: the default authority 1.98-2.27 s -> 1.43-1.48 s; scale 50 27.1-27.8 s ->
# 24.9 s, its peak 1.6 -> 1.8 GB. The status of dues, worked out before, gained nothing so (4.5-5.0 s either way:
# its queries already keep both cores busy).
COUNTING_CURSORS = 2
# The longest a query of a catalogue's measures may run, seconds: a measure whose SQL joins without a condition (a
# cartesian product) would otherwise never end. The whole seed catalogue is counted at scale 50 in a fraction of it.
QUERY_SECONDS = 300


def _count_sets(
    con, sets: list[list[_Cohort]], by: str | None, refs: list[list[str]] | None = None
) -> list[pd.DataFrame]:
    """The rows of each set of parts counted together (:func:`_count`), in the order given; ``refs``: the measures
    of each set, named if its query runs longer than :data:`QUERY_SECONDS` (it is interrupted)."""
    from .store import quiet

    path = ",".join(_search_path(con))
    local = threading.local()
    cursors = []

    def count(cohorts: list[_Cohort], names: list[str]) -> pd.DataFrame:
        cur = getattr(local, "cursor", None)
        if cur is None:
            cur = local.cursor = con.cursor()
            cursors.append(cur)
            quiet(cur)
            if path:
                cur.execute(f"SET search_path = '{path}'")
        fired = threading.Event()
        timer = threading.Timer(QUERY_SECONDS, lambda: (fired.set(), cur.interrupt()))
        timer.start()
        try:
            return _count(cur, cohorts, by)
        except duckdb.InterruptException:
            if not fired.is_set():
                raise
            raise CatalogueError(
                f"measure {', '.join(names)}: its query ran longer than {QUERY_SECONDS:g} s and was stopped; "
                f"expected each of its parts to join its tables on a condition (a join without one counts every "
                f"pair of rows)"
            ) from None
        finally:
            timer.cancel()

    try:
        with ThreadPoolExecutor(COUNTING_CURSORS) as pool:
            return list(pool.map(count, sets, refs or [["?"]] * len(sets)))
    finally:
        for cur in cursors:
            cur.close()


def _count(con, cohorts: list[_Cohort], by: str | None) -> pd.DataFrame:
    """The rows of one query of parts counted together (:func:`shared_sql`): without the latest-record window if
    none of them needs it (:meth:`_Cohort.deduped`). An expression naming a column of the record without ``t.``
    (the catalogues write ``t.``) cannot be bound so, as only the key is kept: it is counted with the window."""
    deduped = [c.deduped() for c in cohorts]
    for grouped in (deduped if all(deduped) else None, _latest(cohorts)):
        if grouped:
            try:
                return con.execute(shared_sql(grouped, by)).df()
            except duckdb.BinderException:
                pass
    return con.execute(shared_sql(cohorts, by)).df()


def _summed(parts: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    """A measure of several parts: their rows added up by month (and group); a denominator none of them gives
    stays empty."""
    both = pd.concat(parts, ignore_index=True)
    out = both.groupby(keys, dropna=False, sort=False)[["numerator", "denominator"]].sum(min_count=1)
    return out.round(9).reset_index()


def _complete(df: pd.DataFrame, refs: list[str], months: list[str], by: str | None) -> pd.DataFrame:
    """A row for every measure and month (and every group the measure has), zero where nothing was counted; the
    measures in the order given, each by month (and group: in order, the empty group last)."""
    if by:
        seen = df.groupby("measure", sort=False)["grp"]
        groups = {ref: sorted(g.dropna().unique().tolist()) + ([None] if g.isna().any() else []) for ref, g in seen}
        rows = [(ref, m, grp) for ref in refs for m in months for grp in groups.get(ref, [])]
        idx = pd.MultiIndex.from_arrays(
            list(zip(*rows, strict=True)) or [[], [], []], names=["measure", "month", "grp"]
        )
    else:
        idx = pd.MultiIndex.from_product([refs, months], names=["measure", "month"])
    out = df.set_index(idx.names).reindex(idx).reset_index()
    out["numerator"] = out["numerator"].fillna(0)
    return out


def value_of(unit: str, kind: str, numerator, denominator, months: int = 1):
    """The measure's value from numerator and denominator (percentages in percent); a flow rate over
    ``months`` months is annualised by 12/months."""
    num = pd.to_numeric(numerator, errors="coerce")
    den = pd.to_numeric(denominator, errors="coerce")
    if unit == "count":
        return num.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        den = den.where(den != 0)
        if unit == "percent":
            return 100 * num / den
        if unit == "rate":
            return num * (12 / months if kind == "flow" else 1) / den * 10000
        return num / den


def _fmt_num(x) -> str:
    if x is None or pd.isna(x):
        return ""
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


def calculation(measure: Measure, num, den, value, months: int = 1, thresholds=()) -> str:
    """The working, as the seed report shows it (a flow rate over several months: x12/months); its result
    beside thresholds (target, tolerance) with decimals enough not to contradict them (:func:`display`)."""
    if value is None or pd.isna(value) or measure.unit == "count" or den is None or pd.isna(den):
        return ""
    n, d = _fmt_num(num), _fmt_num(den)
    if measure.unit == "percent":  # as a proportion: 0.95 for 95%, the thresholds too
        ts = [t / 100 for t in thresholds if t is not None and not pd.isna(t)]
        return f"{n}/{d} = {figure(value / 100, measure.decimals + 2, ts, measure.direction)}"
    shown = figure(value, measure.decimals, thresholds, measure.direction)
    if measure.unit == "rate":
        if measure.kind == "flow":
            per = "12" if months == 1 else f"12/{months}"
            return f"(({n}*{per})/{d})*10000 = {shown}"
        return f"({n}/{d})*10000 = {shown}"
    return f"{n}/{d} = {shown}"


def count_only(numerator) -> str:
    """A rate per 10,000 shown by its count, without the rate: no population to divide it by."""
    return f"{_fmt_num(numerator)} (count; rate needs a population)"


def display(measure: Measure, value, thresholds=(), thousands: bool = False) -> str:
    """The figure as shown: the measure's decimals (none for a count), more beside thresholds (target,
    tolerance) where fewer would read as meeting one it misses or the reverse (:func:`kpi.status.figure`)."""
    if value is None or pd.isna(value):
        return ""
    text = figure(value, 0 if measure.unit == "count" else measure.decimals, thresholds, measure.direction, thousands)
    return text + "%" if measure.unit == "percent" else text


def finish(df: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """Add value (where not given), display and calculation to rows of measure, month, numerator, denominator;
    the rows of each measure together, in the order the measures first come. Values are worked out for all the
    measures of a unit and kind at once (a measure at a time was a tenth of the default authority's scoring)."""
    first_seen = pd.factorize(df["measure"])[0]
    out = df.iloc[np.argsort(first_seen, kind="stable")].reset_index(drop=True)
    measures = {ref: catalogue[ref] for ref in out["measure"].unique()}
    of_row = [measures[ref] for ref in out["measure"]]
    computed = pd.Series(np.nan, index=out.index)
    unit_kind = pd.Series([(mz.unit, mz.kind) for mz in of_row], index=out.index)
    for (unit, kind), rows in out.groupby(unit_kind, sort=False).groups.items():
        computed[rows] = value_of(unit, kind, out.loc[rows, "numerator"], out.loc[rows, "denominator"])
    out["value"] = out["value"].where(out["value"].notna(), computed) if "value" in out else computed
    out["display"] = [display(mz, v) for mz, v in zip(of_row, out["value"], strict=True)]
    if "rate_not_available" in out:  # a rate without a population: its count shown, and why there is no rate
        shown = out["rate_not_available"].notna() & out["value"].isna() & out["numerator"].notna()
        out.loc[shown, "display"] = [count_only(n) for n in out.loc[shown, "numerator"]]
    out["calculation"] = [
        calculation(mz, n, d, v)
        for mz, n, d, v in zip(of_row, out["numerator"], out["denominator"], out["value"], strict=True)
    ]
    return out
