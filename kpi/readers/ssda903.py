"""SSDA903, the children looked after return: the DfE's CSV tables, into the data model.

A source is a directory (searched with its sub-directories) or a single CSV file. Each CSV is recognised by its
header row, whatever it is called: the table whose every column it has (the DfE's column names, in any case;
extra columns are noted and ignored; a column named twice stops the load, as which one holds the data cannot be
told). Text is UTF-8 (a byte order mark or none), UTF-16 with a byte order mark, or else Windows-1252 (noted).

The files in one folder make one year's return. Its collection year (April to March; 2026 is 2025-26) is
``--year`` where given (a source of one return), else the year its folder's name states (``2025-26``, ``2026``),
else the one its files' names all state, else the year its episodes' dates point to: the one leaving fewest of
them outside it (no episode starts or ends after its 31 March, and one ending before its 1 April should not be
in it). A stated year that fewer than half the return's episode end dates fall in stops the load, as does a
return whose dates cannot tell its year. A row dated after its return's year end (a DEC of 01/01/2099) is
rejected, listed with its file, row, column and value, not loaded (docs/assumptions.md A49).

Several years' returns combine into one history, oldest first: an episode (child and start date, whatever the
layout of the date) or a child's Header row given again by a later return is taken from the latest, the earlier
rows listed as restated; an episode still open at the end of a return's year that the next year's return (which
holds every episode open on its 1 April) does not hold is listed as superseded (A50).

What the return gives the model (A40):

- ``children`` from Header (SEX 1/2 as M/F);
- ``care_episodes`` from Episodes, each identified by child and start date, periods of care starting
  at each episode whose RNE is S;
- ``care_leavers`` and ``care_leaver_contacts`` from OC3, the contact dated on the young person's
  birthday in the collection year (the return records their situation around it), the
  accommodation code split into its type and suitability (``B1``: with parents, suitable), the date
  they left care from their latest episode's end; a young person with no episode in the returns read left care
  before them: no later than the 31 March before the first year whose episodes were read, or their 18th birthday
  if earlier (A51); their service ends with the last year whose OC3 lists them, once a later one does not. One
  still looked after at the end of the returns is not a care leaver: listed, not loaded;
- ``reviews`` from Reviews (plan type CLA), each with the date it was due (A198);
- ``missing_episodes`` from Missing (MISSING: M missing, A away without authorisation; MIS_START, MIS_END).

Codes are read in any case and without the spaces around them (``u4 `` is U4); dates as DD/MM/YYYY or
YYYY-MM-DD, with or without the midnight time a spreadsheet adds.

What it cannot give: teams, localities, families and disability; whether a placement is in the
authority's area or registered (nor its distance: postcodes are partial); and every table outside
care (contacts, referrals, plans, visits, workforce, audits). OC2 holds yearly flags without the
dates the health measures count, and UASC, AD1, PlacedAdoption, PrevPerm and SWEpisodes have no table
in the model: their rows are read, counted and listed as set aside (under "SSDA903 UASC" and so on), not
loaded.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import LoadError
from .extract import NOT_A_RECORD, REPLACED, Extract, file_stat, from_frames, not_covered, reject, visible
from .statutory import (
    canonical,
    label,
    named_year,
    option_year,
    parse_dates,
    restated,
    set_aside,
    year_bounds,
    year_of,
)

# The DfE's column names of each table of the return
TABLES = {
    "Header": ["CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"],
    "Episodes": [
        "CHILD",
        "DECOM",
        "RNE",
        "LS",
        "CIN",
        "PLACE",
        "PLACE_PROVIDER",
        "DEC",
        "REC",
        "REASON_PLACE_CHANGE",
        "HOME_POST",
        "PL_POST",
        "URN",
    ],
    "UASC": ["CHILD", "SEX", "DOB", "DUC"],
    "Reviews": ["CHILD", "DOB", "REVIEW", "REVIEW_CODE"],
    "Missing": ["CHILD", "DOB", "MISSING", "MIS_START", "MIS_END"],
    "OC2": [
        "CHILD",
        "DOB",
        "SDQ_SCORE",
        "SDQ_REASON",
        "CONVICTED",
        "HEALTH_CHECK",
        "IMMUNISATIONS",
        "TEETH_CHECK",
        "HEALTH_ASSESSMENT",
        "SUBSTANCE_MISUSE",
        "INTERVENTION_RECEIVED",
        "INTERVENTION_OFFERED",
    ],
    "OC3": ["CHILD", "DOB", "IN_TOUCH", "ACTIV", "ACCOM"],
    "AD1": ["CHILD", "DOB", "DATE_INT", "DATE_MATCH", "FOSTER_CARE", "NB_ADOPTR", "SEX_ADOPTR", "LS_ADOPTR"],
    "PlacedAdoption": ["CHILD", "DOB", "DATE_PLACED", "DATE_PLACED_CEASED", "REASON_PLACED_CEASED"],
    "PrevPerm": ["CHILD", "DOB", "PREV_PERM", "LA_PERM", "DATE_PERM"],
    "SWEpisodes": ["CHILD", "SW_ID", "SW_DECOM", "SW_DEC", "SW_REASON"],
}
NOT_IN_MODEL = ("UASC", "OC2", "AD1", "PlacedAdoption", "PrevPerm", "SWEpisodes")
SEX = {"1": "M", "2": "F"}

WHY = "SSDA903 has no {}"
MISSING_TABLES = not_covered(
    {
        "children",
        "care_episodes",
        "care_leavers",
        "care_leaver_contacts",
        "health_assessments",
        "dental_checks",
        "sdq_scores",
        "reviews",
        "missing_episodes",
    },
    "the SSDA903 return covers children in care and care leavers only",
) | {
    "health_assessments": "SSDA903 OC2 holds yearly flags, not the dates health assessments were due and done",
    "dental_checks": "SSDA903 OC2 holds a yearly flag, not the date of each dental check",
    "sdq_scores": "SSDA903 OC2 holds the year's SDQ score without its date",
}
MISSING_COLUMNS = {
    "children": {
        "family_id": WHY.format("family identifier"),
        "disability": WHY.format("disability"),
        "locality_id": "SSDA903 has no locality (the home postcode is partial)",
    },
    "care_episodes": {
        "in_area": "SSDA903 episodes do not say whether the placement is inside the authority",
        "registered": "SSDA903 episodes do not say whether the placement is registered",
        "distance_miles": "SSDA903 postcodes are partial: no distance",
        "team_id": WHY.format("team"),
    },
}


# Columns read as codes: in any case, spaces around them dropped
CODES = {"SEX", "ETHNIC", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "REC", "REASON_PLACE_CHANGE"}
CODES |= {"IN_TOUCH", "ACTIV", "ACCOM", "MISSING", "REVIEW_CODE"}
# The dates of the tables loaded, and the model table a row of each is accounted under when set aside
DATES = {"Header": ["DOB"], "Episodes": ["DECOM", "DEC"], "OC3": ["DOB"], "Reviews": ["REVIEW"]}
DATES["Missing"] = ["MIS_START", "MIS_END"]
ACCOUNTED = {"Header": "children", "Episodes": "care_episodes", "OC3": "care_leaver_contacts", "Reviews": "reviews"}
ACCOUNTED["Missing"] = "missing_episodes"
SET_ASIDE = {name: "the data model has no table for it: read and counted, not loaded" for name in NOT_IN_MODEL} | {
    "OC2": "the data model has no table for it (yearly health flags without their dates): read and counted, not loaded"
}
DAY = "%d/%m/%Y"  # the return's own layout, which episode and period identifiers are written in


@dataclass
class _Table:
    """One CSV file of a return: which SSDA903 table it is, its rows as text."""

    name: str
    path: Path
    file: str  # as shown in errors: relative to the source
    data: pd.DataFrame  # the table's columns, stripped, "" where empty; and _line
    malformed: list[tuple[int, str]] = field(default_factory=list)
    stat: tuple[int, int, int] | None = None  # the file's before it was read (extract.file_stat)


def _decode(raw: bytes, file: str, notes: list[str]) -> str:
    """The file's text: UTF-16 with a byte order mark, else UTF-8 (with one or none), else Windows-1252 (noted)."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return raw.decode("utf-16")
    if b"\x00" in raw:
        raise LoadError(f"{file}: holds NUL bytes: not a CSV text file (UTF-16 without a byte order mark?)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        bad = e.start
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        raise LoadError(f"{file}: neither UTF-8 nor Windows-1252 text (byte {bad}): save it as CSV UTF-8") from None
    notes.append(f"{file}: not UTF-8 (byte {bad}): read as Windows-1252")
    return text


def _read(path: Path, file: str, notes: list[str]) -> _Table | None:
    """One CSV file as a table of the return; None for an empty file (noted)."""
    try:
        stat = file_stat(path)
        raw = path.read_bytes()
    except OSError as e:
        raise LoadError(f"{file}: cannot be read: {e.strerror or e}") from None
    text = _decode(raw, file, notes)
    records, end = [], 0
    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        for rec in reader:
            first, end = end + 1, reader.line_num
            if any(v.strip() for v in rec):
                records.append((first, rec))
    except csv.Error as e:
        if "field limit" in str(e):
            raise _long_value(text, file) from None
        # a quote never closed would take the rest of the file into one value: the file cannot be split into rows
        why = "a quoted value opened on it is never closed" if "end of data" in str(e) else str(e)
        raise LoadError(f"{file}: cannot be read as CSV: line {end + 1}: {why}") from None
    if not records:
        notes.append(f"{file}: empty (no header row): not read")
        return None
    names = [c.strip().lstrip("\ufeff").strip().upper() for c in records[0][1]]
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if n and n in seen:
            raise LoadError(
                f"{file}: column {n} appears twice in its header (columns {seen[n] + 1} and {i + 1}): which one "
                "holds the data cannot be told; remove one"
            )
        seen[n] = i
    name = _recognise(names, file)
    rows, lines, malformed = [], [], []
    unnamed = [i for i, n in enumerate(names) if not n]
    for line, rec in records[1:]:
        if len(rec) > len(names) and not any(v.strip() for v in rec[len(names) :]):
            rec = rec[: len(names)]  # a spreadsheet's trailing commas
        if len(rec) < len(names) and all(i in unnamed for i in range(len(rec), len(names))):
            rec = rec + [""] * (len(names) - len(rec))
        if len(rec) != len(names):
            malformed.append((line, f"{len(rec)} fields where the header has {len(names)}"))
            continue
        rows.append([v.strip() for v in rec])
        lines.append(line)
    df = pd.DataFrame(rows, columns=range(len(names)), dtype=object)
    keep = [i for i, n in enumerate(names) if n or df[i].ne("").any()]
    df = df[keep].set_axis([names[i] or f"(unnamed column {i + 1})" for i in keep], axis=1)
    extra = [c for c in df.columns if c not in TABLES[name]]
    if extra:
        notes.append(f"{file} ({name}): column(s) {', '.join(extra)} are not in the SSDA903 {name} table; ignored")
    df = df[TABLES[name]].copy()
    for c in CODES & set(df.columns):
        df[c] = df[c].str.upper()
    return _Table(name, path, file, df.assign(_line=lines), malformed, stat)


def _long_value(text: str, file: str) -> LoadError:
    """The first value longer than Python's CSV field limit (128 KB), by line and column (found with the limit
    lifted for this read only): no value of the return is near as long, so it is a quote never closed or a file
    that is not the return's."""
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        names, end = None, 0
        for rec in reader:
            first, end = end + 1, reader.line_num
            names = names or [c.strip().lstrip("\ufeff").strip().upper() for c in rec]
            k = next((i for i, v in enumerate(rec) if len(v) > limit), None)
            if k is not None:
                column = names[k] if k < len(names) and names[k] else f"column {k + 1}"
                return LoadError(
                    f"{file}: line {first}, column {column}: a value of {len(rec[k]):,} characters, longer than "
                    f"any field of the SSDA903 return ({limit:,} at most): a quoted value never closed? expected a "
                    "CSV table of the return"
                )
    finally:
        csv.field_size_limit(limit)
    return LoadError(f"{file}: cannot be read as CSV: a value longer than {limit:,} characters")


def _recognise(names: list[str], file: str) -> str:
    """The table whose every column the header has (the largest, where several fit)."""
    cols = set(names)
    fits = [(len(need), name) for name, need in TABLES.items() if set(need) <= cols]
    if fits:
        return max(fits)[1]
    sep = next((c for c in ";\t|" if len(names) == 1 and c in names[0]), None)
    if sep:  # a CSV saved with another separator (Excel in a locale with a decimal comma)
        raise LoadError(
            f"{file}: the header's fields are separated by {sep!r}; expected commas (a CSV table of the SSDA903 "
            "return, e.g. Episodes: " + ",".join(TABLES["Episodes"]) + ")"
        )
    near = max(TABLES, key=lambda t: (len(set(TABLES[t]) & cols), -len(TABLES[t])))
    lacks = [c for c in TABLES[near] if c not in cols]
    raise LoadError(
        f"{file}: not a table of the SSDA903 return: its header ({', '.join(n for n in names if n)}) lacks the "
        f"columns of every table (nearest, {near}, lacks {', '.join(lacks)}; Header: {', '.join(TABLES['Header'])}; "
        f"Episodes: {', '.join(TABLES['Episodes'])}; ...)"
    )


def _files(source: Path, notes: list[str]) -> list[Path]:
    """The CSV files of the source (any case of .csv), spreadsheet lock and hidden files left out (noted)."""
    if source.is_file():
        return [source]
    return visible(source, ".csv", "the SSDA903 reader reads each table saved as CSV", notes)


def _year(where: str, stated: int | None, how: str, tables: dict[str, _Table]) -> int:
    """The return's collection year: the one stated (checked against its episodes' end dates), else the one its
    episodes' dates point to (A49)."""
    eps = tables.get("Episodes")
    none = pd.Series(dtype="Int64")
    starts = year_of(parse_dates(eps.data["DECOM"])).dropna() if eps is not None else none
    ends = year_of(parse_dates(eps.data["DEC"])).dropna() if eps is not None else none
    if stated:
        # an episode belongs in the year its DEC falls in; an open one (no DEC) in any year it started by the end of:
        # a return whose episodes mostly do not is another year's, and its rows would be rejected as dated after it
        open_starts = (
            year_of(parse_dates(eps.data["DECOM"].where(eps.data["DEC"] == ""))).dropna() if eps is not None else none
        )
        years = pd.concat([ends, open_starts.where(open_starts > stated, stated)])
        inside = int((years == stated).sum())
        if len(years) and 2 * inside < len(years):
            most = int(years.value_counts().idxmax())
            fix = (
                "check --year"
                if how == "--year"
                else "name the folder after the year the return covers (April to March, e.g. 2025-26) or give --year"
            )
            raise LoadError(
                f"{where}: {how} states the collection year {label(stated)}, but {len(years) - inside} of its "
                f"{len(years)} episodes fall outside it (their end date DEC, or start date DECOM where open), most "
                f"in {label(most)}: {fix}"
            )
        return stated
    fix = "name its folder after the year it covers (April to March, e.g. 2025-26) or give --year"
    if eps is None:
        raise LoadError(f"{where}: no Episodes table to tell the return's collection year from: {fix}")
    if not len(ends):
        written = eps.data["DEC"][eps.data["DEC"] != ""] if eps is not None else pd.Series(dtype=object)
        if len(written):  # end dates in a layout not read as dates
            raise LoadError(
                f"{where}: none of its {len(written)} episode end dates (DEC) is a date DD/MM/YYYY or YYYY-MM-DD "
                f"(such as {written.iloc[0]!r}), so the return's collection year is unknown: {fix}"
            )
        raise LoadError(f"{where}: no episode has an end date (DEC), so the return's collection year is unknown: {fix}")
    # dates outside each candidate year: starts or ends after its 31 March, ends before its 1 April
    outside = {int(y): int((ends > y).sum() + (starts > y).sum() + (ends < y).sum()) for y in {*ends, ends.max() + 1}}
    best = [y for y, n in sorted(outside.items()) if n == min(outside.values())]
    if len(best) > 1:
        raise LoadError(f"{where}: its episodes' dates fit {' and '.join(map(label, best))} alike: {fix}")
    # a year starting more than a year from now is mistyped dates (every DEC in 2099), not a return
    if year_bounds(best[0])[0] > dt.date.today() + dt.timedelta(days=366):
        raise LoadError(f"{where}: its episodes' end dates point to {label(best[0])}, a year not begun: {fix}")
    # most end dates outside any one year: several years' episodes, not one year's return
    if 2 * int((ends == best[0]).sum()) < len(ends):
        spread = ", ".join(f"{label(int(y))}: {n}" for y, n in ends.value_counts().sort_index().items())
        raise LoadError(
            f"{where}: its episode end dates (DEC) spread over several years ({spread}), most outside any one: a "
            "return holds one year's episodes; put each year's return in a folder of its own"
        )
    return best[0]


def _stated(folder: Path, tables: dict[str, _Table], given: int | None) -> tuple[int | None, str]:
    """The year a return states: --year, else its folder's name, else the one its files' names all state."""
    if given:
        return given, "--year"
    if named_year(folder.name):
        return named_year(folder.name), f"its folder's name ({folder.name})"
    by_file = {t.file: named_year(t.path.name) for t in tables.values() if named_year(t.path.name)}
    if len(set(by_file.values())) > 1:
        years = ", ".join(f"{f}: {label(y)}" for f, y in by_file.items())
        raise LoadError(
            f"{folder}: file names state different years ({years}): one folder holds one year's return; put each "
            "year's files in a folder of its own"
        )
    if by_file:
        return next(iter(by_file.values())), f"its file names ({', '.join(by_file)})"
    return None, ""


def read(source: str | Path, year=None, **_) -> Extract:
    source = Path(source)
    if not source.exists():
        raise LoadError(f"{source}: no such file or directory")
    given = option_year(year)
    notes: list[str] = []

    def shown(f: Path) -> str:
        return str(f.relative_to(source)) if source.is_dir() else f.name

    returns: dict[Path, dict[str, _Table]] = {}
    for f in _files(source, notes):
        t = _read(f, shown(f), notes)
        if t is None:
            continue
        r = returns.setdefault(f.parent, {})
        if t.name in r:
            raise LoadError(
                f"{t.file}: a second {t.name} table in one folder (the first is {r[t.name].file}): a folder holds one "
                "year's return; put each year's files in a folder of its own"
            )
        r[t.name] = t
    if not returns:
        raise LoadError(f"{source}: holds no SSDA903 table (no CSV file with a header row)")
    if given and len(returns) > 1:
        raise LoadError(
            f"--year states the year of one return, but {source} holds {len(returns)} (in "
            f"{', '.join(str(d.relative_to(source)) or '.' for d in returns)}): name each folder after its year instead"
        )
    years, where, how = {}, {}, {}
    for d, tables in returns.items():
        where[d] = (str(d.relative_to(source)) if source.is_dir() and d != source else str(d)) + "/"
        stated, how[d] = _stated(d, tables, given)
        years[d] = _year(where[d], stated, how[d], tables)
    order = sorted(returns, key=lambda d: years[d])
    for a, b in zip(order, order[1:], strict=False):
        if years[a] == years[b]:
            raise LoadError(f"{where[a]} and {where[b]}: two returns for {label(years[a])}: keep one")
    told = [f"{where[d]} {label(years[d])}, from {how[d] or 'its dates'}" for d in order]
    notes.append(f"SSDA903 return(s): {'; '.join(told)}")

    rejects: list[dict] = []
    frames: dict[str, list[pd.DataFrame]] = {}
    paths, stats, malformed = {}, {}, {}
    for rank, d in enumerate(order):
        y = years[d]
        for name, t in returns[d].items():
            paths[t.file], stats[t.file], malformed[t.file] = t.path, t.stat, t.malformed
            table = ACCOUNTED.get(name, f"SSDA903 {name}")
            if name in NOT_IN_MODEL:
                rejects += [
                    reject(table, t.file, line, "", None, f"malformed line: {why}") for line, why in t.malformed
                ]
                rejects += [
                    reject(table, t.file, line, "CHILD", child, SET_ASIDE[name], NOT_A_RECORD)
                    for line, child in zip(t.data["_line"], t.data["CHILD"], strict=True)
                ]
                notes.append(f"{t.file} ({name}, {len(t.data)} rows): the data model has no table for it; set aside")
                continue
            df = t.data.assign(_file=t.file, _year=y, _rank=rank)
            late = _after(df, DATES[name], y)
            value = pd.Series([df.at[i, c] for i, c in late.items()], index=late.index, dtype=object)
            why = f"expected a date on or before {year_bounds(y)[1]:%d/%m/%Y}, the end of the return's collection year"
            key = df.loc[late.index, "CHILD"] if name == "Header" else None  # a child set aside: its rows fall with it
            rejects += set_aside(table, df.loc[late.index], late, value, f"{why} {label(y)}", key=key)
            frames.setdefault(name, []).append(df.drop(index=late.index))
            if df.empty:
                notes.append(f"{t.file} ({name}): no rows")

    parts: dict[str, list] = {}

    def add(table: str, df: pd.DataFrame, columns: dict[str, str], name: str):
        """The table's rows as one part for each file of the SSDA903 table they come from (an empty part for a
        file all of whose rows were set aside or that has none: the table is supplied, empty)."""
        for f in [t.file for d in order for n, t in returns[d].items() if n == name]:
            g = df[df["_file"] == f]
            part = from_frames(
                table, f, g[[*columns, "_line"]].reset_index(drop=True), columns, paths[f], stat=stats[f]
            )
            if ACCOUNTED[name] == table:  # lines not split into fields: the load lists them with the file's rows
                part.malformed = malformed.get(f, [])
            parts.setdefault(table, []).append(part)

    header = _restate(frames, "Header", rejects, "children", "CHILD", lambda h: h["CHILD"])
    if header is not None:
        children = pd.DataFrame(
            {
                "child_id": header["CHILD"],
                "date_of_birth": header["DOB"],
                "sex": header["SEX"].map(lambda x: SEX.get(x, x)),
                "ethnicity": header["ETHNIC"],
                "_line": header["_line"],
                "_file": header["_file"],
            }
        )
        add(
            "children",
            children,
            {"child_id": "CHILD", "date_of_birth": "DOB", "sex": "SEX", "ethnicity": "ETHNIC"},
            "Header",
        )

    # a return whose next year's return is read, with episodes: its open episodes must be in that one
    with_episodes = {years[d] for d in order if "Episodes" in returns[d]}
    episodes = _restate(
        frames,
        "Episodes",
        rejects,
        "care_episodes",
        "CHILD+DECOM",
        lambda e: e["CHILD"] + "|" + canonical(e["DECOM"], parse_dates(e["DECOM"]), DAY),
        open_at_end=lambda e: (e["DEC"] == "") & (e["_year"] + 1).isin(with_episodes),
    )
    if episodes is not None:
        add("care_episodes", _episodes(episodes), EPISODE_COLUMNS, "Episodes")

    if "OC3" in frames:  # one row a year for each young person: every return's rows are kept
        oc3 = pd.concat(frames["OC3"], ignore_index=True)
        first = min(with_episodes) if with_episodes else None
        with_oc3 = {years[d] for d in order if "OC3" in returns[d]}
        _care_leavers(oc3, episodes, first, max(with_oc3), add, rejects, notes)
        notes.append(
            "OC3 records a young person's situation around their birthday, dated on it: a month's care leaver "
            "measures (in touch, accommodation, activity) find a recent contact only for those whose birthday fell "
            "in the 16 weeks to its end, and count the others as without one (A40)"
        )

    reviews = _restate(
        frames,
        "Reviews",
        rejects,
        "reviews",
        "CHILD+REVIEW",
        lambda r: r["CHILD"] + "|" + canonical(r["REVIEW"], parse_dates(r["REVIEW"]), DAY),
    )
    if reviews is not None:
        since = pd.Timestamp(year_bounds(years[order[0]])[0])
        add("reviews", _reviews(reviews, episodes, since, rejects), REVIEW_COLUMNS, "Reviews")
    gone = _restate(
        frames,
        "Missing",
        rejects,
        "missing_episodes",
        "CHILD+MIS_START",
        lambda r: r["CHILD"] + "|" + canonical(r["MIS_START"], parse_dates(r["MIS_START"]), DAY),
    )
    if gone is not None:
        add("missing_episodes", _missing(gone), MISSING_EPISODE_COLUMNS, "Missing")

    missing = dict(MISSING_TABLES)
    for name, table in (("Reviews", "reviews"), ("Missing", "missing_episodes")):
        if name not in frames:
            missing[table] = f"no {name} table in the SSDA903 source"
    if "OC3" not in frames:
        for t in ("care_leavers", "care_leaver_contacts"):
            missing[t] = "no OC3 table in the SSDA903 source"
    if "Episodes" not in frames:
        missing["care_episodes"] = "no Episodes table in the SSDA903 source"
    if "Header" not in frames:
        missing["children"] = "no Header table in the SSDA903 source"
    latest = years[order[-1]]
    return Extract(
        "ssda903",
        str(source.resolve()),
        parts,
        set(parts),
        missing=missing,
        missing_columns=MISSING_COLUMNS,
        rejects=rejects,
        notes=notes,
        extract_date=dt.date(latest, 4, 1).isoformat(),
        latest_month=f"{latest}-03",
        first_month=f"{years[order[0]] - 1}-04",  # its first collection year's April
    )


def _after(df: pd.DataFrame, columns: list[str], year: int) -> pd.Series:
    """The rows with a date after the collection year's end: the first such column of each, by row."""
    end = pd.Timestamp(year_bounds(year)[1])
    late = pd.Series(pd.NA, index=df.index, dtype="object")
    for c in reversed(columns):
        late = late.mask(parse_dates(df[c]) > end, c)
    return late.dropna()


def _restate(frames, name: str, rejects: list, table: str, columns: str, key, open_at_end=None) -> pd.DataFrame | None:
    """A table's rows over every return, oldest first, a row given again by a later return (the same key)
    replaced by it; with ``open_at_end``, a row open at the end of its year that the next year's return does not
    give is superseded. The replaced rows are listed with their reason."""
    if name not in frames:
        return None
    allr = pd.concat(frames[name], ignore_index=True)
    k = key(allr).where(allr["CHILD"] != "")  # a row without its child is no one's: the checks say so
    old, by = restated(k, allr["_rank"])
    newer = allr.loc[by.to_numpy()]
    why = ("restated by the later return: " + newer["_file"] + " row " + newer["_line"].astype(str)).to_numpy()
    rejects += set_aside(
        table, allr[old], columns, k[old].str.replace("|", "+"), pd.Series(why, index=by.index), REPLACED
    )
    gone = pd.Series(False, index=allr.index)
    if open_at_end is not None:
        gone = open_at_end(allr) & ~old
        why = allr.loc[gone, "_year"].map(
            lambda y: (
                f"open at the end of {label(y)} (no DEC) but not in the {label(y + 1)} return, which holds "
                f"every episode open on 1 April {y}: superseded by it"
            )
        )
        rejects += set_aside(table, allr[gone], "DEC", None, why, REPLACED)
    return allr[~old & ~gone]


EPISODE_COLUMNS = {
    "episode_id": "CHILD+DECOM",
    "child_id": "CHILD",
    "period_id": "CHILD+DECOM of the period's first episode",
    "start_date": "DECOM",
    "end_date": "DEC",
    "reason_new_episode": "RNE",
    "legal_status": "LS",
    "placement_type": "PLACE",
    "placement_provider": "PLACE_PROVIDER",
    "reason_ceased": "REC",
}


def _episodes(episodes: pd.DataFrame) -> pd.DataFrame:
    """care_episodes rows: a period of care starts at each episode whose RNE is S (or a child's first)."""
    start = parse_dates(episodes["DECOM"])
    decom = canonical(episodes["DECOM"], start, DAY)
    e = episodes.assign(_start=start, _decom=decom, _order=range(len(episodes)))
    e = e.sort_values(["CHILD", "_start", "_order"], kind="stable")
    new_period = (e["RNE"] == "S") | (e["CHILD"] != e["CHILD"].shift())
    period_start = e["_decom"].where(new_period).groupby(e["CHILD"]).ffill()
    return pd.DataFrame(
        {
            "episode_id": e["CHILD"] + "/" + e["_decom"],
            "child_id": e["CHILD"],
            "period_id": e["CHILD"] + "/" + period_start,
            "start_date": e["DECOM"],
            "end_date": e["DEC"],
            "reason_new_episode": e["RNE"],
            "legal_status": e["LS"],
            "placement_type": e["PLACE"],
            "placement_provider": e["PLACE_PROVIDER"],
            "reason_ceased": e["REC"],
            "_line": e["_line"],
            "_file": e["_file"],
        }
    ).sort_index()


REVIEW_COLUMNS = {
    "review_id": "CHILD+REVIEW",
    "child_id": "CHILD",
    "plan_type": "Reviews (a looked after review: CLA)",
    "due_date": "REVIEW (due 20 working days into the period of care, 3 months after the first review, then 6)",
    "review_date": "REVIEW",
}
MISSING_EPISODE_COLUMNS = {
    "missing_id": "CHILD+MIS_START",
    "child_id": "CHILD",
    "absence": "MISSING",
    "start_date": "MIS_START",
    "end_date": "MIS_END",
}
FIRST_REVIEW = 20  # working days into a period of care (the Care Planning Regulations 2010, regulation 33)


def _reviews(reviews: pd.DataFrame, episodes: pd.DataFrame | None, since: pd.Timestamp, rejects: list) -> pd.DataFrame:
    """reviews rows (plan type CLA), each with the date it was due as the Care Planning Regulations set them: the
    first review of a period of care within 20 working days of its start, the second within 3 months of the first,
    each later one within 6 months of the one before (by date, over every return read). A return holds its year's
    reviews only: the first review read of a period that started before the first return's year (``since``) may
    not be its first, and one dated before every period of the child read is in none, so the date either was due
    cannot be told: listed as no record, not loaded (docs/assumptions.md A198)."""
    from ..calendar import bank_holidays

    held = parse_dates(reviews["REVIEW"])
    r = reviews.assign(_held=held, _order=range(len(reviews)), _period=pd.NaT)
    if episodes is not None and len(episodes):
        e = _episodes(episodes)
        starts = (
            pd.DataFrame(
                {
                    "CHILD": e["child_id"],
                    "_period": pd.to_datetime(e["period_id"].str[-10:], format=DAY, errors="coerce"),
                }
            )
            .dropna()
            .drop_duplicates()
        )
        dated = r[r["_held"].notna()].drop(columns="_period").reset_index()
        m = dated.merge(starts, on="CHILD")
        m = m[m["_period"] <= m["_held"]].sort_values(["index", "_period"]).drop_duplicates("index", keep="last")
        r.loc[m["index"].to_numpy(), "_period"] = m["_period"].to_numpy()
    lost = r["_held"].notna() & r["_period"].isna()
    why = "no period of care of the child in the returns read starts by this review: the date it was due cannot be told"
    rejects += set_aside("reviews", r[lost], "REVIEW", r.loc[lost, "REVIEW"], why, NOT_A_RECORD)
    r = r[~lost]
    k = r[r["_held"].notna()].sort_values(["CHILD", "_period", "_held", "_order"])
    nth = k.groupby(["CHILD", "_period"]).cumcount()
    before = k.groupby(["CHILD", "_period"])["_held"].shift()
    old = k["_period"] < since  # a period whose reviews before the returns read are unknown: its order is too
    years = k["_period"].dt.year
    hols = bank_holidays(int(years.min()), int(years.max()) + 1) if len(k) else None
    first = pd.Series(
        np.busday_offset(k["_period"].to_numpy().astype("datetime64[D]"), FIRST_REVIEW, roll="forward", holidays=hols)
        if len(k)
        else [],
        index=k.index,
        dtype="datetime64[ns]",
    )
    second = (nth == 1) & ~old
    due = first.where(nth == 0, before + pd.DateOffset(months=3)).where(
        (nth == 0) | second, before + pd.DateOffset(months=6)
    )
    early = k.index[(nth == 0) & old]
    why = (
        f"the first review read of a period of care that started before {since:%d/%m/%Y} (the first return's year): "
        "the review before it is in no return read, so the date this one was due cannot be told"
    )
    rejects += set_aside("reviews", r.loc[early], "REVIEW", r.loc[early, "REVIEW"], why, NOT_A_RECORD)
    r = r.drop(index=early)
    return pd.DataFrame(
        {
            "review_id": r["CHILD"] + "/" + canonical(r["REVIEW"], r["_held"], DAY),
            "child_id": r["CHILD"],
            "plan_type": "CLA",
            "due_date": pd.to_datetime(due).dt.strftime("%Y-%m-%d").reindex(r.index),
            "review_date": r["REVIEW"],
            "_line": r["_line"],
            "_file": r["_file"],
        }
    )


def _missing(rows: pd.DataFrame) -> pd.DataFrame:
    """missing_episodes rows: each episode of a child missing (M) or away without authorisation (A), identified by
    child and start; an end before its start is the checks' to reject (the model's date order)."""
    return pd.DataFrame(
        {
            "missing_id": rows["CHILD"] + "/" + canonical(rows["MIS_START"], parse_dates(rows["MIS_START"]), DAY),
            "child_id": rows["CHILD"],
            "absence": rows["MISSING"],
            "start_date": rows["MIS_START"],
            "end_date": rows["MIS_END"],
            "_line": rows["_line"],
            "_file": rows["_file"],
        }
    )


def _care_leavers(oc3: pd.DataFrame, episodes, first: int | None, last: int, add, rejects, notes) -> None:
    """OC3 rows as care leavers (one per young person, from their latest return) and their contacts
    (one per return), dated on their birthday in the collection year. ``first``: the first year whose episodes
    were read; ``last``: the latest year whose OC3 was read."""
    dob = parse_dates(oc3["DOB"])
    year = oc3["_year"].astype("int64")
    # the birthday in the April-March year ending in March of `year`
    bday_year = year.where(dob.dt.month < 4, year - 1)
    contact = pd.Series(
        [_birthday(d, int(y)) if pd.notna(d) else None for d, y in zip(dob, bday_year, strict=True)], index=oc3.index
    )
    accom = oc3["ACCOM"]
    split = accom.str.fullmatch(r"[A-Z][12]")
    contacts = pd.DataFrame(
        {
            "contact_id": oc3["CHILD"] + "/" + year.astype(str),
            "child_id": oc3["CHILD"],
            "contact_date": [c.isoformat() if c else None for c in contact],
            "in_touch": oc3["IN_TOUCH"],
            "activity": oc3["ACTIV"],
            "accommodation": accom.where(~split, accom.str[0]),
            "suitable": accom.str[1].where(split).map({"1": "Y", "2": "N"}),
            "_line": oc3["_line"],
            "_file": oc3["_file"],
        }
    )
    latest = oc3.sort_values("_year", kind="stable").groupby(oc3["CHILD"]).tail(1)
    left, still = _left_care(latest, dob[latest.index], contact[latest.index], episodes, first, notes)
    for i, why in still.items():
        where = oc3.at[i, "_file"], oc3.at[i, "_line"]
        rejects.append(reject("care_leavers", *where, "CHILD", oc3.at[i, "CHILD"], why, NOT_A_RECORD))
    # a row without IN_TOUCH, ACTIV and ACCOM records no contact: the return does not ask it of a 17- or
    # 18-year-old looked after on their birthday
    blank = (oc3[["IN_TOUCH", "ACTIV", "ACCOM"]] == "").all(axis=1)
    gone = oc3["CHILD"].isin(oc3.loc[still.index, "CHILD"])
    for i in oc3.index[blank | gone]:
        why = (
            still[latest.index[latest["CHILD"] == oc3.at[i, "CHILD"]][0]]
            if gone[i]
            else "no care leaver information in this row (IN_TOUCH, ACTIV and ACCOM empty: the return does not ask "
            "it of a 17- or 18-year-old looked after on their birthday): no contact to load"
        )
        where = oc3.at[i, "_file"], oc3.at[i, "_line"]
        rejects.append(reject("care_leaver_contacts", *where, "IN_TOUCH", None, why, NOT_A_RECORD))
    # no birthday, no contact date: the row cannot be placed in time
    undated = dob.isna() & ~(blank | gone)
    why = "not a date DD/MM/YYYY or YYYY-MM-DD: the contact's date (their birthday in the year) cannot be told"
    rejects += set_aside("care_leaver_contacts", oc3[undated], "DOB", oc3.loc[undated, "DOB"], why)
    contacts = contacts[~(blank | gone | undated)]
    latest = latest.loc[left.index]
    age = [
        (c - d.date()).days // 365 if c and pd.notna(d) else None
        for c, d in zip(contact[latest.index], dob[latest.index], strict=True)
    ]
    leavers = pd.DataFrame(
        {
            "child_id": latest["CHILD"],
            "status": ["RELEVANT" if a is not None and a < 18 else "FORMER" for a in age],
            "left_care_date": left,
            # a later OC3 not listing them: past the returns' cohort (their 21st birthday) at the end of their last
            # year in one (A51)
            "service_end_date": latest["_year"].map(lambda y: f"{y}-03-31" if y < last else None),
            "_line": latest["_line"],
            "_file": latest["_file"],
        }
    )
    add(
        "care_leavers",
        leavers,
        {
            "child_id": "CHILD",
            "status": "DOB (age)",
            "left_care_date": "Episodes DEC (or the returns' bound: A51)",
            "service_end_date": "OC3 (the end of the last year listing them: A51)",
        },
        "OC3",
    )
    add(
        "care_leaver_contacts",
        contacts,
        {
            "contact_id": "CHILD+year",
            "child_id": "CHILD",
            "contact_date": "DOB (birthday in the year)",
            "in_touch": "IN_TOUCH",
            "activity": "ACTIV",
            "accommodation": "ACCOM",
            "suitable": "ACCOM",
        },
        "OC3",
    )


def _left_care(latest, dob, contact, episodes, first, notes) -> tuple[pd.Series, pd.Series]:
    """When each young person (their latest OC3 row) left care: the end of their latest episode; with no episode in
    the returns read, the latest day the returns allow (A51). Returns those dates, and why each young person whose
    latest episode is open (still looked after, so not a care leaver) is left out, by row."""
    left = pd.Series(None, index=latest.index, dtype="object")
    mine = pd.Series(False, index=latest.index)
    still = pd.Series(dtype="object")
    if episodes is not None and len(episodes):
        e = episodes.assign(_start=parse_dates(episodes["DECOM"]), _order=range(len(episodes)))
        last = e.sort_values(["_start", "_order"], kind="stable").groupby("CHILD").tail(1).set_index("CHILD")
        mine = latest["CHILD"].isin(last.index)
        ended = last["DEC"].reindex(latest["CHILD"]).set_axis(latest.index)
        left = left.mask(mine, ended)
        open_ = mine & (ended == "")
        still = pd.Series(
            {
                i: f"still looked after: their latest episode ({ep['_file']} row {ep['_line']}, DECOM {ep['DECOM']}) "
                "has no end date (DEC), so they are not a care leaver"
                for i in latest.index[open_]
                for ep in [last.loc[latest.at[i, "CHILD"]]]
            },
            dtype="object",
        )
        left = left[~open_]
    # no episode read: they left care before the first year whose episodes were read (with none read, by their
    # contact in OC3), and by their 18th birthday at the latest
    none = left.index[~mine.reindex(left.index)]
    if len(none):
        bound = pd.Timestamp(year_bounds(first)[0] - dt.timedelta(days=1)) if first else None
        for i in none:
            limits = [bound if bound is not None else pd.Timestamp(contact[i]) if contact[i] else None]
            if pd.notna(dob[i]):
                limits.append(pd.Timestamp(_birthday(dob[i], dob[i].year + 18)))
            limits = [x for x in limits if x is not None and pd.notna(x)]
            left[i] = min(limits).date().isoformat() if limits else None
        notes.append(
            f"{len(none)} care leaver(s) in OC3 have no episode in the returns read: the date they left care is "
            "taken as the latest the returns allow (the 31 March before the first year whose episodes were read, "
            "or their 18th birthday if earlier; A51)"
        )
    return left, still


def _birthday(dob: pd.Timestamp, year: int) -> dt.date:
    try:
        return dt.date(year, dob.month, dob.day)
    except ValueError:  # 29 February in a year without one
        return dt.date(year, 3, 1)
