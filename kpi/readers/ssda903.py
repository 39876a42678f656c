"""SSDA903, the children looked after return: the DfE's CSV tables, into the data model.

A source is a directory (searched with its sub-directories) or a single CSV file. Each CSV is
recognised by its header row, whatever it is called: the table whose every column it has (the DfE's
column names; extra columns are noted and ignored). The files in one folder make one year's return; a
return's collection year is the April-March year of its latest episode date. Several years' returns
combine into one history: an episode (child and start date) or a child's header given by more than
one return is taken from the latest, and the earlier rows are listed as restated, not lost.

What the return gives the model (docs/assumptions.md A40):

- ``children`` from Header (SEX 1/2 as M/F);
- ``care_episodes`` from Episodes, each identified by child and start date, periods of care starting
  at each episode whose RNE is S;
- ``care_leavers`` and ``care_leaver_contacts`` from OC3, the contact dated on the young person's
  birthday in the collection year (the return records their situation around it), the
  accommodation code split into its type and suitability (``B1``: with parents, suitable), the date
  they left care from their latest episode's end.

What it cannot give: teams, localities, families and disability; whether a placement is in the
authority's area or registered (nor its distance: postcodes are partial); and every table outside
care (contacts, referrals, plans, visits, workforce, audits). OC2 holds yearly flags without the
dates the health measures count, and Reviews, Missing, UASC, AD1, PlacedAdoption, PrevPerm and
SWEpisodes have no table in the model: they are recognised, counted and not loaded.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from ..errors import LoadError
from .extract import Extract, from_frames, not_covered

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
NOT_IN_MODEL = ("UASC", "Reviews", "Missing", "OC2", "AD1", "PlacedAdoption", "PrevPerm", "SWEpisodes")
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


def _recognise(path: Path) -> tuple[str | None, list[str], pd.DataFrame | None]:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise LoadError(f"{path}: cannot be read as CSV: {e}") from None
    df.columns = [c.strip() for c in df.columns]
    cols = set(df.columns)
    fits = [(len(need), name) for name, need in TABLES.items() if set(need) <= cols]
    if not fits:
        return None, sorted(cols), None
    name = max(fits)[1]
    return name, [c for c in df.columns if c not in TABLES[name]], df


def _dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s.str.strip(), format="%d/%m/%Y", errors="coerce")


def _collection_year(episodes: pd.DataFrame | None) -> int | None:
    """The return's year (2020 for 2019-20): the April-March year of its latest episode date."""
    if episodes is None:
        return None
    d = pd.concat([_dates(episodes["DECOM"]), _dates(episodes["DEC"])]).max()
    if pd.isna(d):
        return None
    return d.year + (1 if d.month >= 4 else 0)


def read(source: str | Path, **_) -> Extract:
    source = Path(source)
    files = sorted(source.rglob("*.csv")) if source.is_dir() else [source]
    if not source.exists():
        raise LoadError(f"{source}: no such file or directory")
    returns: dict[Path, dict[str, tuple[Path, pd.DataFrame]]] = {}
    notes = []
    for f in files:
        name, extra, df = _recognise(f)
        if name is None:
            raise LoadError(
                f"{f}: not a table of the SSDA903 return: its header ({', '.join(extra)}) lacks the columns of every "
                f"table (Header: {', '.join(TABLES['Header'])}; Episodes: {', '.join(TABLES['Episodes'])}; ...)"
            )
        r = returns.setdefault(f.parent, {})
        if name in r:
            raise LoadError(f"{f}: a second {name} table in {f.parent} (the first is {r[name][0].name})")
        r[name] = (f, df.assign(_line=range(2, len(df) + 2)))
        if extra:
            notes.append(
                f"{f.name} ({name}): column(s) {', '.join(extra)} are not in the SSDA903 {name} table; ignored"
            )
    if not returns:
        raise LoadError(f"{source}: holds no CSV file")
    years = {d: _collection_year(r.get("Episodes", (None, None))[1]) for d, r in returns.items()}
    order = sorted(returns, key=lambda d: (years[d] or 0, str(d)))  # oldest first: later returns restate

    def label(f: Path) -> str:
        return str(f.relative_to(source)) if source.is_dir() else f.name

    rejects = []
    frames: dict[str, list[tuple[Path, pd.DataFrame]]] = {}
    for d in order:
        for name, (f, df) in returns[d].items():
            frames.setdefault(name, []).append((f, df.assign(_file=label(f), _year=years[d])))
            if name in NOT_IN_MODEL:
                notes.append(f"{label(f)} ({name}, {len(df)} rows): recognised; the data model has no table for it")

    def restated(name: str, keys: list[str], table: str) -> pd.DataFrame | None:
        """The table's rows over every return, a row repeated by a later return replaced by it."""
        if name not in frames:
            return None
        allr = pd.concat([df for _, df in frames[name]], ignore_index=True)
        allr["_order"] = range(len(allr))
        key = allr[keys].apply(lambda c: c.str.strip()).agg("|".join, axis=1)
        last = allr.groupby(key)["_year"].transform("max")
        old = (allr["_year"] < last) & (allr["_year"].notna())
        for i, r in allr[old].iterrows():
            newer = allr[(key == key[i]) & (allr["_year"] == last[i])].iloc[0]
            rejects.append(
                {
                    "table_name": table,
                    "file": r["_file"],
                    "row": r["_line"],
                    "column_name": "+".join(keys),
                    "value": key[i],
                    "reason": f"restated by the later return: {newer['_file']} row {newer['_line']}",
                }
            )
        return allr[~old]

    parts: dict[str, list] = {}

    def add(table: str, df: pd.DataFrame, columns: dict[str, str]):
        for f, g in df.groupby("_file", sort=False):
            path = next(p for fs in frames.values() for p, x in fs if label(p) == f)
            parts.setdefault(table, []).append(
                from_frames(table, f, g[[*columns, "_line"]].reset_index(drop=True), columns, path)
            )

    header = restated("Header", ["CHILD"], "children")
    if header is not None:
        children = pd.DataFrame(
            {
                "child_id": header["CHILD"],
                "date_of_birth": header["DOB"],
                "sex": header["SEX"].str.strip().map(lambda x: SEX.get(x, x)),
                "ethnicity": header["ETHNIC"],
                "_line": header["_line"],
                "_file": header["_file"],
            }
        )
        add("children", children, {"child_id": "CHILD", "date_of_birth": "DOB", "sex": "SEX", "ethnicity": "ETHNIC"})

    episodes = restated("Episodes", ["CHILD", "DECOM"], "care_episodes")
    if episodes is not None:
        e = episodes.assign(_start=_dates(episodes["DECOM"]))
        e = e.sort_values(["CHILD", "_start", "_order"], kind="stable")
        new_period = (e["RNE"].str.strip() == "S") | (e["CHILD"] != e["CHILD"].shift())
        period_start = e["DECOM"].where(new_period).groupby(e["CHILD"]).ffill()
        eps = pd.DataFrame(
            {
                "episode_id": e["CHILD"].str.strip() + "/" + e["DECOM"].str.strip(),
                "child_id": e["CHILD"],
                "period_id": e["CHILD"].str.strip() + "/" + period_start.str.strip(),
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
        add(
            "care_episodes",
            eps,
            {
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
            },
        )

    if "OC3" in frames:  # one row a year for each young person: every return's rows are kept
        oc3 = pd.concat([df for _, df in frames["OC3"]], ignore_index=True)
        _care_leavers(oc3, episodes, add)

    missing = dict(MISSING_TABLES)
    if "OC3" not in frames:
        for t in ("care_leavers", "care_leaver_contacts"):
            missing[t] = "no OC3 table in the SSDA903 source"
    if "Episodes" not in frames:
        missing["care_episodes"] = "no Episodes table in the SSDA903 source"
    if "Header" not in frames:
        missing["children"] = "no Header table in the SSDA903 source"
    latest = max((y for y in years.values() if y), default=None)
    return Extract(
        "ssda903",
        str(source.resolve()),
        parts,
        set(parts),
        missing=missing,
        missing_columns=MISSING_COLUMNS,
        rejects=rejects,
        notes=notes,
        extract_date=dt.date(latest, 4, 1).isoformat() if latest else None,
        latest_month=f"{latest}-03" if latest else None,
    )


def _care_leavers(oc3: pd.DataFrame, episodes: pd.DataFrame | None, add) -> None:
    """OC3 rows as care leavers (one per young person, from their latest return) and their contacts
    (one per return), dated on their birthday in the collection year."""
    dob = _dates(oc3["DOB"])
    year = oc3["_year"]
    # the birthday in the April-March year ending in March of `year`
    bday_year = year.where(dob.dt.month < 4, year - 1)
    contact = [
        _birthday(d, int(y)) if pd.notna(d) and pd.notna(y) else None for d, y in zip(dob, bday_year, strict=True)
    ]
    accom = oc3["ACCOM"].str.strip()
    split = accom.str.fullmatch(r"[A-Z][12]")
    contacts = pd.DataFrame(
        {
            "contact_id": oc3["CHILD"].str.strip() + "/" + year.astype("Int64").astype(str),
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
    left = pd.Series(dtype=object)
    if episodes is not None:
        ended = episodes.assign(_end=_dates(episodes["DEC"])).dropna(subset=["_end"])
        left = ended.sort_values("_end").groupby(ended["CHILD"].str.strip())["DEC"].last()
    latest = oc3.sort_values("_year").groupby(oc3["CHILD"].str.strip()).tail(1)
    age = [
        (c - d.date()).days // 365 if c and pd.notna(d) else None
        for c, d in zip(pd.Series(contact, index=oc3.index)[latest.index], dob[latest.index], strict=True)
    ]
    leavers = pd.DataFrame(
        {
            "child_id": latest["CHILD"],
            "status": ["RELEVANT" if a is not None and a < 18 else "FORMER" for a in age],
            "left_care_date": latest["CHILD"].str.strip().map(left),
            "_line": latest["_line"],
            "_file": latest["_file"],
        }
    )
    add("care_leavers", leavers, {"child_id": "CHILD", "status": "DOB (age)", "left_care_date": "Episodes DEC"})
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
    )


def _birthday(dob: pd.Timestamp, year: int) -> dt.date:
    try:
        return dt.date(year, dob.month, dob.day)
    except ValueError:  # 29 February in a year without one
        return dt.date(year, 3, 1)
