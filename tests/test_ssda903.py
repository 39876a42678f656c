"""The SSDA903 reader on returns as councils send them: the collection year told robustly and stray dates rejected
as rows, restatement across years, care leavers without an episode in the return, every row of every table
accounted for, and files that are not what they should be refused with a clear message."""

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from returns import (
    EPISODES,
    HEADER,
    episode,
    frames,
    header,
    oc3,
    oc3_of,
    ssda903_from,
    write_return,
    write_table,
    year_bounds,
)

from kpi.errors import LoadError
from kpi.load import load_sources
from kpi.readers import read
from kpi.scorecard import scorecard
from kpi.store import connect


def load903(src: Path, store: Path, accept_losses: bool = False, **options):
    return load_sources(read([("ssda903", str(src))], **options), store, accept_losses=accept_losses)


def rejects_of(res, table=None) -> pd.DataFrame:
    r = res.rejects
    return (r[r["table_name"] == table] if table else r).set_index(["file", "row"])


def figures(store: Path, month: str, refs: list[str]) -> dict[str, tuple]:
    card = scorecard(month, store=store, measures=refs, targets=None).set_index("measure")
    return {r: (card.loc[r, "numerator"], card.loc[r, "denominator"]) for r in refs}


A_YEAR = [  # 2025-26: C1 in care all year, moves in June; C2 comes in and leaves in the year
    header("C1", "01/06/2012"),
    header("C2", "05/05/2014", sex="2"),
]
A_YEAR_EPISODES = [
    episode("C1", "10/05/2024", "15/06/2025"),
    episode("C1", "15/06/2025", rne="P", PLACE="K2"),
    episode("C2", "01/09/2025", "20/12/2025"),
]


# ---------------------------------------------------------------------------------------------
# 1. the collection year
# ---------------------------------------------------------------------------------------------


def test_a_stray_date_is_a_rejected_row_not_the_collection_year(tmp_path):
    """One DEC of 01/01/2099 among a 2025-26 return's dates: the year stays 2025-26 (extract date 1 April 2026),
    the row is rejected with its file, row, column, value and what was expected."""
    eps = A_YEAR_EPISODES + [episode("C2", "20/12/2025", "01/01/2099", rne="S")]
    src = write_return(tmp_path / "returns", A_YEAR, eps)
    res = load903(src, tmp_path / "w.duckdb")
    assert res.extract_date == dt.date(2026, 4, 1)
    bad = rejects_of(res).loc[("episodes.csv", 5)]
    assert (bad["table_name"], bad["column_name"], bad["value"]) == ("care_episodes", "DEC", "01/01/2099")
    assert bad["reason"].startswith("expected a date on or before 31/03/2026, the end of the return's collection year")
    assert len(res.rejects) == 1
    con, snap = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT latest_month FROM meta.snapshots").fetchall() == [("2026-03",)]
    assert con.execute("SELECT count(*) FROM care_episodes").fetchall() == [(3,)]


def test_a_date_a_day_past_the_year_end_does_not_make_an_older_return_newer(tmp_path):
    """The 2024-25 return holds one DEC of 01/04/2025 (a day past its year end); the 2025-26 return corrects C1's
    episode (its placement) and ends it. The older return stays 2024-25: its stray row is rejected, its C1 episode
    restated by the newer return's (loaded), not the newer's rejected as a duplicate."""
    write_return(
        tmp_path / "903" / "older",
        A_YEAR[:1] + [header("C3", "02/02/2011")],
        [
            episode("C1", "10/05/2024"),
            episode("C3", "01/06/2024", "01/04/2025"),  # stray: after 31/03/2025
            episode("C3", "01/01/2024", "01/06/2024"),
            episode("C1", "01/01/2023", "10/05/2024"),
        ],
    )
    write_return(tmp_path / "903" / "newer", A_YEAR, [episode("C1", "10/05/2024", "15/06/2025", PLACE="U6")])
    res = load903(tmp_path / "903", tmp_path / "w.duckdb")
    rej = rejects_of(res)
    assert rej.loc[("older/episodes.csv", 3), "column_name"] == "DEC"
    assert "31/03/2025, the end of the return's collection year 2024-25" in rej.loc[("older/episodes.csv", 3), "reason"]
    assert rej.loc[("older/episodes.csv", 2), "reason"] == "restated by the later return: newer/episodes.csv row 2"
    assert rej.loc[("older/episodes.csv", 2), "value"] == "C1+10/05/2024"
    assert len(rej.loc[["older/episodes.csv"]]) == 2 and "newer/episodes.csv" not in rej.index.get_level_values(0)
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute(
        "SELECT child_id, start_date, end_date, placement_type FROM care_episodes ORDER BY 1, 2"
    ).fetchall() == [
        ("C1", dt.date(2023, 1, 1), dt.date(2024, 5, 10), "U4"),
        ("C1", dt.date(2024, 5, 10), dt.date(2025, 6, 15), "U6"),
        ("C3", dt.date(2024, 1, 1), dt.date(2024, 6, 1), "U4"),
    ]
    assert res.extract_date == dt.date(2026, 4, 1)


def test_the_year_a_folder_name_or_year_option_states(tmp_path):
    eps = A_YEAR_EPISODES
    for name, expected in (
        ("2026", "2026-04-01"),
        ("SSDA903 2025-26", "2026-04-01"),
        ("return_2025_2026", "2026-04-01"),
    ):
        src = write_return(tmp_path / name, A_YEAR, eps)
        assert read([("ssda903", str(src))])[0].extract_date == expected
    # a folder named for the year it starts in: the dates say otherwise, the load stops and says how to fix it
    src = write_return(tmp_path / "x" / "2025", A_YEAR, eps)
    with pytest.raises(
        LoadError,
        match=r"2025/: its folder's name \(2025\) states the collection year 2024-25, but 3 of its 3 episodes",
    ):
        read([("ssda903", str(tmp_path / "x"))])
    assert read([("ssda903", str(tmp_path / "x"))], year="2025-26")[0].extract_date == "2026-04-01"
    with pytest.raises(LoadError, match=r"--year '26': expected a collection year such as 2026 or 2025-26"):
        read([("ssda903", str(src))], year="26")


def test_a_return_whose_dates_cannot_tell_its_year_needs_it_stated(tmp_path):
    """Only open episodes (no DEC): the year is not guessed from the latest start; named or --year, it loads."""
    src = write_return(tmp_path / "903", A_YEAR, [episode("C1", "10/05/2024"), episode("C2", "01/09/2025")])
    with pytest.raises(LoadError, match=r"903/: no episode has an end date \(DEC\).*name its folder.*or give --year"):
        read([("ssda903", str(src))])
    res = load903(src, tmp_path / "w.duckdb", year=2026)
    assert res.extract_date == dt.date(2026, 4, 1) and res.rejects.empty


def test_dates_the_reader_cannot_read_or_all_mistyped_do_not_make_a_year(tmp_path):
    """End dates in a layout the data model does not document (15-06-2025) say so; end dates all mistyped into
    2099 point to a year not begun, not a return of 2098-99 (its extract date would have been 2100-04-01)."""
    eps = [e | {"DEC": e["DEC"].replace("/", "-"), "DECOM": e["DECOM"].replace("/", "-")} for e in A_YEAR_EPISODES]
    src = write_return(tmp_path / "a", A_YEAR, eps)
    with pytest.raises(LoadError, match=r"none of its 2 episode end dates \(DEC\) is a date DD/MM/YYYY or YYYY-MM-DD "):
        read([("ssda903", str(src))])
    eps = [e | {"DEC": e["DEC"][:-4] + "2099" if e["DEC"] else ""} for e in A_YEAR_EPISODES]
    src = write_return(tmp_path / "b", A_YEAR, eps)
    with pytest.raises(LoadError, match=r"b/: its episodes' end dates point to 2099-00, a year not begun"):
        read([("ssda903", str(src))])
    # several years' episodes in one folder (a history, not a return): no one year holds most end dates
    eps = [
        episode("C1", "01/01/2020", f"01/0{m}/{y}") for y, m in ((2021, 5), (2022, 5), (2023, 5), (2024, 5), (2024, 6))
    ]
    src = write_return(tmp_path / "c", A_YEAR, eps)
    with pytest.raises(LoadError, match=r"c/: its episode end dates \(DEC\) spread over several years \(2021-22: 1, "):
        read([("ssda903", str(src))])


def test_kpi_load_year_option(tmp_path, capsys):
    from kpi.cli import main

    src = write_return(tmp_path / "903", A_YEAR, [episode("C1", "10/05/2024")])
    store = tmp_path / "w.duckdb"
    assert main(["load", "--format", "ssda903", str(src), "--store", str(store)]) == 2
    assert "no episode has an end date (DEC)" in capsys.readouterr().err
    assert main(["load", "--format", "ssda903", "--year", "2025-26", str(src), "--store", str(store)]) == 0
    assert "extract date 2026-04-01" in capsys.readouterr().out


def test_two_returns_of_one_year_or_two_years_in_one_folder_are_refused(tmp_path):
    write_return(tmp_path / "a" / "2026", A_YEAR, A_YEAR_EPISODES)
    write_return(tmp_path / "a" / "copy", A_YEAR, A_YEAR_EPISODES)
    with pytest.raises(LoadError, match=r"two returns for 2025-26: keep one"):
        read([("ssda903", str(tmp_path / "a"))])
    d = tmp_path / "b"
    write_table(d / "SSDA903_2025_episodes.csv", A_YEAR_EPISODES, EPISODES)
    write_table(d / "SSDA903_2026_episodes.csv", A_YEAR_EPISODES, EPISODES)
    with pytest.raises(LoadError, match=r"a second Episodes table in one folder"):
        read([("ssda903", str(d))])
    (d / "SSDA903_2026_episodes.csv").unlink()
    write_table(d / "SSDA903_2026_header.csv", A_YEAR, HEADER)
    with pytest.raises(LoadError, match=r"file names state different years .*one folder holds one year's return"):
        read([("ssda903", str(d))])
    with pytest.raises(LoadError, match=r"--year states the year of one return, but .* holds 2"):
        read([("ssda903", str(tmp_path / "a"))], year=2026)


# ---------------------------------------------------------------------------------------------
# 2. empty tables
# ---------------------------------------------------------------------------------------------


def test_header_only_files_are_a_clear_outcome(tmp_path):
    """Header and Episodes with a header row and nothing else: without a stated year the load stops and says why;
    with one, the tables load empty (supplied, no rows), never a traceback."""
    src = write_return(tmp_path / "903", [], [], [])
    with pytest.raises(LoadError, match=r"no episode has an end date"):
        read([("ssda903", str(src))])
    # with a year: nothing to load, refused, no snapshot made (an empty one would become the latest)
    with pytest.raises(LoadError, match=r"^nothing to load: every file holds no rows$"):
        load903(src, tmp_path / "w.duckdb", year=2026)
    assert not (tmp_path / "w.duckdb").exists()  # the first load stopped: the store it began is removed
    # one child in the Header: the empty tables load empty (supplied, no rows)
    write_return(tmp_path / "903", [header("C1", "01/06/2012")], [], [])
    res = load903(src, tmp_path / "w.duckdb", year=2026)
    acc = res.accounting.set_index("table_name")
    assert acc.loc["care_episodes", ["file", "rows_read", "rows_loaded"]].tolist() == ["episodes.csv", 0, 0]
    assert acc.loc["children", ["file", "rows_read"]].tolist() == ["header.csv", 1]
    # an empty Header beside episodes: the load stops, naming the empty file (A70); told to go on, the episodes
    # are rejected for want of their child, each listed
    src = write_return(tmp_path / "2026", [], A_YEAR_EPISODES)
    with pytest.raises(LoadError, match=r"header.csv has no rows, yet 3 row\(s\) of episodes.csv refer to it"):
        load903(src, tmp_path / "w2.duckdb")
    res = load903(src, tmp_path / "w2.duckdb", accept_losses=True)
    assert res.accounting.set_index("table_name").loc["care_episodes", "rows_rejected"] == 3
    assert {r.split(";")[0] for r in res.rejects["reason"]} == {"expected a child_id loaded in children"}


# ---------------------------------------------------------------------------------------------
# 3. care leavers
# ---------------------------------------------------------------------------------------------


def care_leaver_return(root: Path) -> Path:
    """2025-26: A left care on 01/05/2025 (an episode in the return) and turned 17 on 10/06/2025 (in touch,
    in education, semi-independent and suitable: D1); B and C left care in earlier years (no episode in the
    return): B turned 20 on 15/01/2026 (not in education or work, with parents and not suitable: B2), C 21 on
    01/03/2026 (in work, independent and suitable: U1); D is in care."""
    return write_return(
        root,
        [header("A", "10/06/2008"), header("B", "15/01/2006"), header("C", "01/03/2005"), header("D", "01/01/2015")],
        [episode("A", "01/01/2024", "01/05/2025", REC="E8"), episode("D", "01/02/2025")],
        [
            oc3("A", "10/06/2008", "YES", "F2", "D1"),
            oc3("B", "15/01/2006", "YES", "G5", "B2"),
            oc3("C", "01/03/2005", "YES", "F4", "U1"),
        ],
    )


def test_care_leavers_need_no_episode_in_the_return(tmp_path):
    src = care_leaver_return(tmp_path / "2025-26")
    res = load903(src, tmp_path / "w.duckdb")
    assert res.rejects.empty
    con, _ = connect(tmp_path / "w.duckdb")
    # B and C left care before the year (no episode in it): no later than 31/03/2025, or their 18th birthday
    assert con.execute("SELECT child_id, status, left_care_date FROM care_leavers ORDER BY 1").fetchall() == [
        ("A", "RELEVANT", dt.date(2025, 5, 1)),
        ("B", "FORMER", dt.date(2024, 1, 15)),
        ("C", "FORMER", dt.date(2023, 3, 1)),
    ]
    assert any("2 care leaver(s) in OC3 have no episode in the returns read" in n for n in res.notes)
    store = tmp_path / "w.duckdb"
    # March 2026: all three receive a service; B's and C's birthdays fall in the 16 weeks to 31 March, A's not
    assert figures(store, "2026-03", ["7.0", "7.3", "7.6"]) == {"7.0": (2, 3), "7.3": (1, 3), "7.6": (1, 3)}
    # June 2025: A's birthday contact (in education, suitable) is the only one in the 16 weeks
    assert figures(store, "2025-06", ["7.3", "7.6"]) == {"7.3": (1, 3), "7.6": (1, 3)}


def test_an_oc3_row_whose_birth_date_is_not_a_date_is_listed_as_such(tmp_path):
    src = write_return(
        tmp_path / "2025-26",
        [header("B", "15/01/2006")],
        [episode("C1", "01/01/2024", "01/05/2025")],
        [oc3("B", "15-01-2006")],
    )
    res = load903(src, tmp_path / "w.duckdb", accept_losses=True)  # C1's episode has no Header row: lost on purpose
    rej = res.rejects.set_index(["table_name", "row"])
    assert rej.loc[("care_leaver_contacts", 2), ["column_name", "value"]].tolist() == ["DOB", "15-01-2006"]
    assert rej.loc[("care_leaver_contacts", 2), "reason"].startswith(
        "not a date DD/MM/YYYY or YYYY-MM-DD: the contact's"
    )


def test_a_young_person_still_looked_after_is_not_a_care_leaver(tmp_path):
    """D in OC3 (17 on 01/07/2025) with no information, as the return asks of a 17-year-old looked after on their
    birthday, and still in care at the year end: listed, not loaded, with the reason; A's row without information
    (looked after on their birthday, left care after it) records no contact but A is a care leaver."""
    src = write_return(
        tmp_path / "2025-26",
        [header("A", "10/06/2008"), header("D", "01/07/2008")],
        [episode("A", "01/01/2024", "01/09/2025"), episode("D", "01/02/2020")],
        [oc3("A", "10/06/2008", "", "", ""), oc3("D", "01/07/2008", "", "", "")],
    )
    res = load903(src, tmp_path / "w.duckdb")
    rej = res.rejects.set_index(["table_name", "row"])["reason"]
    assert rej[("care_leavers", 3)].startswith("still looked after: their latest episode (episodes.csv row 3")
    assert rej[("care_leaver_contacts", 3)] == rej[("care_leavers", 3)]
    assert rej[("care_leaver_contacts", 2)].startswith("no care leaver information in this row")
    assert len(rej) == 3
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT child_id, left_care_date FROM care_leavers").fetchall() == [("A", dt.date(2025, 9, 1))]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    from kpi.synth import SynthConfig, generate

    return frames(generate(SynthConfig(scale=0.05)))


def test_a_synthetic_authoritys_return_gives_its_care_leaver_figures(synthetic, tmp_path):
    """The 2025-26 return written from a synthetic authority: every OC3 young person loads (most left care in
    earlier years), and the care leaver measures (KPIs 13 and 14 among them) read, at each month end of the
    year, what the same young people and their situation at their birthday give counted by hand."""
    ssda903_from(synthetic, 2026, tmp_path / "2025-26")
    res = load903(tmp_path / "2025-26", tmp_path / "w.duckdb")
    leavers = oc3_of(synthetic, 2026)
    acc = res.accounting.groupby("table_name")[["rows_read", "rows_loaded"]].sum()
    assert acc.loc["care_leavers"].tolist() == [len(leavers)] * 2
    assert acc.loc["care_leaver_contacts"].tolist() == [len(leavers)] * 2
    assert res.rejects.empty
    first, _ = year_bounds(2026)
    assert (leavers["left_care_date"] < first).sum() > len(leavers) / 2  # most left care before the year
    eet = ("F1", "P1", "F2", "P2", "F4", "P4", "F5", "P5")
    for month in ("2025-06", "2025-11", "2026-03"):
        end = pd.Period(month, "M").end_time.normalize()
        recent = leavers[
            (pd.to_datetime(leavers["birthday"]) <= end)
            & (pd.to_datetime(leavers["birthday"]) > end - pd.Timedelta(weeks=16))
        ]
        counted = leavers[pd.to_datetime(leavers["left_care_date"]) <= end]
        touch = recent["in_touch"] == "YES"
        expected = {
            "7.3": ((touch & (recent["suitable"] == "Y")).sum(), len(counted)),
            "7.6": ((touch & recent["activity"].isin(eet)).sum(), len(counted)),
        }
        assert figures(tmp_path / "w.duckdb", month, ["7.3", "7.6"]) == expected, month


def test_a_later_return_not_listing_a_care_leaver_ends_their_service(tmp_path):
    """X turned 21 in 2024-25 and is in that year's OC3 only: once the 2025-26 return (whose OC3 lists everyone
    turning 17 to 21 in it) is read, X is past the returns' cohort from 1 April 2025; Y, in both, is not."""
    write_return(
        tmp_path / "903" / "2024-25",
        [header("X", "01/06/2003"), header("Y", "01/09/2004"), header("C1", "01/06/2012")],
        [episode("C1", "10/05/2024", "01/03/2025")],
        [oc3("X", "01/06/2003", "YES", "F4", "U1"), oc3("Y", "01/09/2004", "YES", "G5", "U1")],
    )
    write_return(
        tmp_path / "903" / "2025-26",
        [header("Y", "01/09/2004"), header("C2", "05/05/2014")],
        [episode("C2", "01/09/2025", "20/12/2025")],
        [oc3("Y", "01/09/2004", "YES", "F2", "U2")],
    )
    res = load903(tmp_path / "903", tmp_path / "w.duckdb")
    assert res.rejects[["file", "reason"]].values.tolist() == [
        ["2024-25/header.csv", "restated by the later return: 2025-26/header.csv row 2"]
    ]
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT child_id, left_care_date, service_end_date FROM care_leavers ORDER BY 1").fetchall() == [
        ("X", dt.date(2021, 6, 1), dt.date(2025, 3, 31)),
        ("Y", dt.date(2022, 9, 1), None),
    ]
    store = tmp_path / "w.duckdb"
    # September 2024: both, Y's birthday contact (not in work) the recent one; September 2025: Y alone, in education
    assert figures(store, "2024-09", ["7.0", "7.6"]) == {"7.0": (1, 2), "7.6": (0, 2)}
    assert figures(store, "2025-09", ["7.0", "7.6"]) == {"7.0": (1, 1), "7.6": (1, 1)}


def test_two_synthetic_returns_give_the_care_leaver_figures(synthetic, tmp_path):
    """The 2024-25 and 2025-26 returns of a synthetic authority loaded together: at each month end of both years the
    care leaver measures read what the young people in either OC3, their situation at their birthdays, and the
    end of their last year in one (when the next return does not list them) give counted by hand."""
    for y in (2025, 2026):
        ssda903_from(synthetic, y, tmp_path / "903" / str(y))
    res = load903(tmp_path / "903", tmp_path / "w.duckdb")
    assert set(res.rejects["reason"].str[:26]) <= {"restated by the later retu"}
    both = pd.concat([oc3_of(synthetic, 2025).assign(y=2025), oc3_of(synthetic, 2026).assign(y=2026)])
    last = both.groupby("child_id")["y"].max()
    ends = last[last < 2026].map(lambda y: pd.Timestamp(y, 3, 31))
    left = pd.to_datetime(both.groupby("child_id")["left_care_date"].first())
    eet = ("F1", "P1", "F2", "P2", "F4", "P4", "F5", "P5")
    for month in ("2024-06", "2024-12", "2025-03", "2025-06", "2026-03"):
        end = pd.Period(month, "M").end_time.normalize()
        counted = left.index[(left <= end) & (ends.reindex(left.index).isna() | (ends.reindex(left.index) > end))]
        b = pd.to_datetime(both["birthday"])
        recent = both[(b <= end) & (b > end - pd.Timedelta(weeks=16)) & both["child_id"].isin(counted)]
        touch = recent["in_touch"] == "YES"
        expected = {
            "7.3": ((touch & (recent["suitable"] == "Y")).sum(), len(counted)),
            "7.6": ((touch & recent["activity"].isin(eet)).sum(), len(counted)),
        }
        assert figures(tmp_path / "w.duckdb", month, ["7.3", "7.6"]) == expected, month


# ---------------------------------------------------------------------------------------------
# restatement across years
# ---------------------------------------------------------------------------------------------


def test_a_later_return_dropping_an_open_episode_supersedes_it(tmp_path):
    """C1's episode is open at the end of 2024-25 and the 2025-26 return (which holds every episode open on
    1 April 2025) does not hold it: it is superseded (listed), not left open for ever; C3's, closed in 2024-25,
    is history and stays. With no 2025-26 return read, a 2023-24 return's open episode is kept."""
    write_return(
        tmp_path / "903" / "2024-25",
        [header("C1", "01/06/2012"), header("C3", "02/02/2011")],
        [episode("C1", "10/05/2024"), episode("C3", "01/01/2024", "01/06/2024")],
    )
    write_return(
        tmp_path / "903" / "2025-26", [header("C2", "05/05/2014")], [episode("C2", "01/09/2025", "20/12/2025")]
    )
    res = load903(tmp_path / "903", tmp_path / "w.duckdb")
    rej = rejects_of(res)
    assert rej.loc[("2024-25/episodes.csv", 2), "reason"] == (
        "open at the end of 2024-25 (no DEC) but not in the 2025-26 return, which holds every episode open on "
        "1 April 2025: superseded by it"
    )
    assert len(res.rejects) == 1
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT child_id FROM care_episodes ORDER BY 1").fetchall() == [("C2",), ("C3",)]
    # the child stays (their Header row), as do their earlier, closed episodes
    assert con.execute("SELECT count(*) FROM children").fetchall() == [(3,)]


def test_rows_without_their_child_are_not_restated(tmp_path):
    """Header rows without CHILD in two returns are each rejected for it, not the earlier listed as restated by the
    later."""
    write_return(tmp_path / "903" / "2025", [header("", "01/06/2012")], [episode("C1", "01/01/2024", "10/05/2024")])
    write_return(tmp_path / "903" / "2026", [header("", "01/06/2012")], [episode("C1", "01/01/2025", "10/05/2025")])
    res = load903(tmp_path / "903", tmp_path / "w.duckdb", accept_losses=True)  # every Header row lacks its CHILD
    blank = res.rejects[res.rejects["table_name"] == "children"]
    assert blank[["file", "column_name", "reason"]].values.tolist() == [
        ["2025/header.csv", "CHILD", "required value is missing"],
        ["2026/header.csv", "CHILD", "required value is missing"],
    ]


def test_restatement_matches_dates_written_in_another_layout(tmp_path):
    """The older return writes DECOM as YYYY-MM-DD, the newer as a spreadsheet does (DD/MM/YYYY 00:00): the same
    episode, restated; the identifiers are the return's own layout whatever the file wrote."""
    write_return(tmp_path / "903" / "2025", [header("C1", "2012-06-01")], [episode("C1", "2024-05-10")])
    write_return(
        tmp_path / "903" / "2026",
        [header("C1", "01/06/2012 00:00")],
        [episode("C1", "10/05/2024 00:00", "15/06/2025 00:00"), episode("C1", "15/06/2025 00:00", rne="P")],
    )
    (ex,) = read([("ssda903", str(tmp_path / "903"))])
    assert ex.extract_date == "2026-04-01"
    restated = [r for r in ex.rejects if r["reason"].startswith("restated")]
    assert sorted((r["file"], r["row"], r["value"]) for r in restated) == [
        ("2025/episodes.csv", 2, "C1+10/05/2024"),
        ("2025/header.csv", 2, "C1"),
    ]
    eps = pd.concat([p.data.to_pandas() for p in ex.parts_of("care_episodes")])
    assert eps[["episode_id", "period_id"]].values.tolist() == [
        ["C1/10/05/2024", "C1/10/05/2024"],
        ["C1/15/06/2025", "C1/10/05/2024"],
    ]


# ---------------------------------------------------------------------------------------------
# 5. dates with a time
# ---------------------------------------------------------------------------------------------


def midnight_return(root: Path) -> Path:
    def t(d):
        return f"{d} 00:00" if d else ""

    return write_return(
        root,
        [header("C1", t("01/06/2012")), header("A", t("10/06/2008"))],
        [
            episode("C1", t("10/05/2024"), t("15/06/2025")),
            episode("C1", t("15/06/2025"), rne="P"),
            episode("A", t("01/01/2024"), t("01/05/2025")),
        ],
        [oc3("A", t("10/06/2008"))],
    )


def test_dates_written_with_a_midnight_time_are_read(tmp_path):
    """Year, periods, birthdays and the date a young person left care, from dates a spreadsheet wrote with a
    time (the values themselves are passed on as written, for the checks)."""
    (ex,) = read([("ssda903", str(midnight_return(tmp_path / "returns")))])
    assert (ex.extract_date, ex.latest_month) == ("2026-04-01", "2026-03")
    eps = ex.parts_of("care_episodes")[0].data.to_pandas()
    assert eps["period_id"].tolist() == ["C1/10/05/2024", "C1/10/05/2024", "A/01/01/2024"]
    assert eps["start_date"].tolist()[0] == "10/05/2024 00:00"
    (contacts,) = ex.parts_of("care_leaver_contacts")
    assert contacts.data.to_pandas()[["contact_id", "contact_date"]].values.tolist() == [["A/2026", "2025-06-10"]]
    (leavers,) = ex.parts_of("care_leavers")
    assert leavers.data.to_pandas()[["status", "left_care_date"]].values.tolist() == [["RELEVANT", "01/05/2025 00:00"]]
    assert not ex.rejects


def test_a_return_with_midnight_times_loads(tmp_path):
    res = load903(midnight_return(tmp_path / "returns"), tmp_path / "w.duckdb")
    assert res.rejects.empty
    assert res.accounting.set_index("table_name").loc["care_episodes", "rows_loaded"] == 3


# ---------------------------------------------------------------------------------------------
# 6. headers
# ---------------------------------------------------------------------------------------------


def test_a_column_named_twice_is_refused(tmp_path):
    cols = EPISODES[:2] + ["DECOM"] + EPISODES[2:]
    write_table(tmp_path / "903" / "episodes.csv", [episode("C1", "10/05/2024", "01/06/2025")], cols)
    with pytest.raises(LoadError, match=r"episodes.csv: column DECOM appears twice in its header \(columns 2 and 3\)"):
        read([("ssda903", str(tmp_path / "903"))])
    # the same, told apart only by case or spaces
    write_table(tmp_path / "h" / "header.csv", A_YEAR, HEADER + [" dob "])
    with pytest.raises(LoadError, match=r"header.csv: column DOB appears twice"):
        read([("ssda903", str(tmp_path / "h"))])


# ---------------------------------------------------------------------------------------------
# 7. tables outside the data model
# ---------------------------------------------------------------------------------------------


def test_tables_outside_the_model_are_accounted_for(tmp_path):
    src = write_return(tmp_path / "2026", A_YEAR, A_YEAR_EPISODES)
    write_table(
        src / "uasc.csv",
        [{"CHILD": "C2", "SEX": "2", "DOB": "05/05/2014", "DUC": "05/05/2032"}],
        ["CHILD", "SEX", "DOB", "DUC"],
    )
    res = load903(src, tmp_path / "w.duckdb")
    acc = res.accounting.set_index("table_name")
    assert acc.loc["SSDA903 UASC", ["file", "rows_read", "rows_loaded", "rows_rejected"]].tolist() == [
        "uasc.csv",
        1,
        0,
        1,
    ]
    assert set(rejects_of(res, "SSDA903 UASC")["reason"]) == {
        "the data model has no table for it: read and counted, not loaded"
    }


REVIEWS = ["CHILD", "DOB", "REVIEW", "REVIEW_CODE"]
MISSING = ["CHILD", "DOB", "MISSING", "MIS_START", "MIS_END"]


def test_reviews_load_with_the_date_each_was_due(tmp_path):
    """C2's period of care starts on Monday 01/09/2025: its first review is due 20 working days on (29/09/2025), the
    second 3 months after the first (26/09/2025 + 3 months). C1's period started before the return's year
    (10/05/2024): its first review read (01/07/2025) may not be its first, so is set aside; the next is due 6 months
    after it. A review before any period of the child is set aside; one dated 31/02/2026 is rejected by its row."""
    src = write_return(tmp_path / "2026", A_YEAR, A_YEAR_EPISODES)
    rows = [("C2", "26/09/2025"), ("C2", "10/12/2025"), ("C1", "01/07/2025"), ("C1", "15/12/2025")]
    rows += [("C1", "01/03/2024"), ("C1", "31/02/2026")]
    write_table(
        src / "reviews.csv",
        [{"CHILD": c, "DOB": "01/06/2012", "REVIEW": d, "REVIEW_CODE": "PN1"} for c, d in rows],
        REVIEWS,
    )
    res = load903(src, tmp_path / "w.duckdb", accept_losses=True)
    acc = res.accounting.set_index("table_name")
    assert acc.loc["reviews", ["file", "rows_read", "rows_loaded", "rows_rejected"]].tolist() == [
        "reviews.csv",
        6,
        3,
        3,
    ]
    con, _ = connect(tmp_path / "w.duckdb")
    got = con.execute(
        "SELECT child_id, plan_type, due_date::VARCHAR, review_date::VARCHAR FROM reviews ORDER BY 4"
    ).fetchall()
    assert got == [
        ("C2", "CLA", "2025-09-29", "2025-09-26"),
        ("C2", "CLA", "2025-12-26", "2025-12-10"),
        ("C1", "CLA", "2026-01-01", "2025-12-15"),
    ]
    rv = rejects_of(res, "reviews")
    assert rv.loc[("reviews.csv", 4), "reason"].startswith("the first review read of a period of care that started")
    assert rv.loc[("reviews.csv", 6), "reason"].startswith("no period of care of the child in the returns read")
    bad = rv.loc[[("reviews.csv", 7)]]
    assert ("REVIEW", "31/02/2026") in set(zip(bad["column_name"], bad["value"], strict=True))


def test_missing_episodes_load_and_bad_ones_are_named(tmp_path):
    """Four episodes of C1: one returned in two days, one away (code written in lower case) whose return is before
    its start, one still open, one whose start is no date: two load, two are rejected by file, row and column."""
    src = write_return(tmp_path / "2026", A_YEAR, A_YEAR_EPISODES)
    rows = [("M", "03/08/2025", "05/08/2025"), (" a", "10/10/2025", "09/10/2025"), ("M", "01/01/2026", "")]
    rows += [("M", "soon", "")]
    write_table(
        src / "missing.csv",
        [{"CHILD": "C1", "DOB": "01/06/2012", "MISSING": m, "MIS_START": s, "MIS_END": e} for m, s, e in rows],
        MISSING,
    )
    res = load903(src, tmp_path / "w.duckdb", accept_losses=True)
    acc = res.accounting.set_index("table_name")
    assert acc.loc["missing_episodes", ["rows_read", "rows_loaded", "rows_rejected"]].tolist() == [4, 2, 2]
    con, _ = connect(tmp_path / "w.duckdb")
    got = con.execute(
        "SELECT absence, start_date::VARCHAR, end_date::VARCHAR FROM missing_episodes ORDER BY 2"
    ).fetchall()
    assert got == [("M", "2025-08-03", "2025-08-05"), ("M", "2026-01-01", None)]
    rj = rejects_of(res, "missing_episodes")
    assert rj.loc[("missing.csv", 3), ["column_name", "value"]].tolist() == ["MIS_END", "09/10/2025"]
    assert rj.loc[("missing.csv", 3), "reason"] == "expected on or after MIS_START (10/10/2025)"
    assert rj.loc[("missing.csv", 5), ["column_name", "value"]].tolist() == ["MIS_START", "soon"]
    # a return without these tables: not supplied, said so
    (ex,) = read([("ssda903", str(write_return(tmp_path / "b" / "2026", A_YEAR, A_YEAR_EPISODES)))])
    assert ex.missing["reviews"] == "no Reviews table in the SSDA903 source"
    assert ex.missing["missing_episodes"] == "no Missing table in the SSDA903 source"


# ---------------------------------------------------------------------------------------------
# 8. files as councils send them
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp1252"])
def test_files_in_other_encodings(tmp_path, encoding):
    src = tmp_path / "2026"
    write_table(src / "header.csv", A_YEAR, HEADER, encoding=encoding)
    eps = [e | {"PL_POST": "Café"} for e in A_YEAR_EPISODES]  # a byte Windows-1252 and UTF-8 write differently
    write_table(src / "episodes.csv", eps, EPISODES, encoding=encoding)
    res = load903(src, tmp_path / "w.duckdb")
    assert res.rejects.empty
    assert res.accounting.set_index("table_name").loc["care_episodes", "rows_loaded"] == 3
    assert any("read as Windows-1252" in n for n in res.notes) == (encoding == "cp1252")


def test_codes_and_headers_in_other_cases_and_spacing(tmp_path):
    src = tmp_path / "2026"
    head = header("C1", "01/06/2012", sex=" 1 ", ethnic="wbri")
    write_table(src / "Header.CSV", [{c.lower(): v for c, v in head.items()}], [c.lower() for c in HEADER])
    ep = episode("C1", "10/05/2024", "15/06/2025", rne=" s", LS="c2 ", PLACE="u4", REC="e13")
    write_table(src / "Episodes.CSV", [{f" {c} ": v for c, v in ep.items()}], [f" {c} " for c in EPISODES])
    res = load903(src, tmp_path / "w.duckdb")
    assert res.rejects.empty
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT sex, ethnicity FROM children").fetchall() == [("M", "WBRI")]
    assert con.execute(
        "SELECT reason_new_episode, legal_status, placement_type, reason_ceased FROM care_episodes"
    ).fetchall() == [("S", "C2", "U4", "E13")]


def test_lines_that_do_not_split_into_the_header_fields_are_listed(tmp_path):
    src = write_return(tmp_path / "2026", A_YEAR, A_YEAR_EPISODES)
    text = (src / "episodes.csv").read_text()
    (src / "episodes.csv").write_text(
        text + "C9,01/01/2025,S\n" + "C2,20/12/2025,S,C2,N1,U4,PR1" + "," * 6 + ",,,\n\n,,,\n"
    )
    res = load903(src, tmp_path / "w.duckdb")
    rej = rejects_of(res, "care_episodes")
    assert rej.loc[("episodes.csv", 5), "reason"] == "malformed line: 3 fields where the header has 13"
    # trailing commas a spreadsheet adds are not a problem, nor are empty lines (not rows)
    assert rej.index.tolist() == [("episodes.csv", 5)]
    acc = res.accounting.set_index("table_name").loc["care_episodes"]
    assert acc[["rows_read", "rows_loaded", "rows_rejected"]].tolist() == [5, 4, 1]


def test_an_unclosed_quote_stops_the_load_naming_its_line(tmp_path):
    """A quote never closed would take every line after it into one value: the file cannot be split into rows."""
    src = write_return(tmp_path / "2026", A_YEAR, A_YEAR_EPISODES)
    text = (src / "episodes.csv").read_text()
    (src / "episodes.csv").write_text(text + 'C2,"20/12/2025,S,C2\nC2,01/02/2026,S\n')
    with pytest.raises(LoadError, match=r"episodes.csv: cannot be read as CSV: line 5: a quoted value opened on it is"):
        read([("ssda903", str(src))])


def test_files_that_are_not_a_return_are_refused(tmp_path):
    d = tmp_path / "a"
    write_table(d / "notes.csv", [{"CHILD": "C1", "NOTES": "x"}], ["CHILD", "NOTES"])
    with pytest.raises(LoadError, match=r"notes.csv: not a table of the SSDA903 return: its header \(CHILD, NOTES\)"):
        read([("ssda903", str(d))])
    d = tmp_path / "b"
    write_table(d / "episodes.csv", [], EPISODES[:-2])
    with pytest.raises(LoadError, match=r"nearest, Episodes, lacks PL_POST, URN"):
        read([("ssda903", str(d))])
    d = tmp_path / "c"
    d.mkdir()
    (d / "episodes.csv").write_bytes(b"PK\x03\x04\x14\x00\x00\x00\x08\x00\x00\x00!\x00\x00\x00")
    with pytest.raises(LoadError, match=r"episodes.csv: holds NUL bytes: not a CSV text file"):
        read([("ssda903", str(d))])
    with pytest.raises(LoadError, match=r"no such file or directory"):
        read([("ssda903", str(tmp_path / "nowhere"))])
    d = tmp_path / "e"
    d.mkdir()
    (d / "readme.txt").write_text("hello")
    with pytest.raises(LoadError, match=r"holds no SSDA903 table"):
        read([("ssda903", str(d))])


def test_empty_and_lock_files_are_noted_not_read(tmp_path):
    src = write_return(tmp_path / "2026", A_YEAR, A_YEAR_EPISODES)
    (src / "oc2.csv").write_text("")
    (src / "~$episodes.csv").write_bytes(b"\x00\x01")
    (ex,) = read([("ssda903", str(src))])
    assert "oc2.csv: empty (no header row): not read" in ex.notes
    assert "~$episodes.csv: hidden or lock file(s), not read" in ex.notes


# ---------------------------------------------------------------------------------------------
# every row accounted for
# ---------------------------------------------------------------------------------------------

CHILDREN = ["C1", "C2", "C3", "C4"]


@st.composite
def returns(draw):
    """One to three consecutive years' returns of hand-made rows, with what goes wrong in real ones: a stray date,
    an unknown code, a restated or dropped episode, a malformed line, a row of a table outside the model."""
    first = draw(st.integers(2023, 2025))
    years = list(range(first, first + draw(st.integers(1, 3))))
    out = {}
    for y in years:
        start, end = year_bounds(y)
        eps = []
        for c in draw(st.lists(st.sampled_from(CHILDREN), max_size=5)):
            s = draw(st.dates(dt.date(2022, 1, 1), end))
            e = draw(st.one_of(st.none(), st.dates(max(s, start), end)))
            rne = draw(st.sampled_from("SPLX"))
            eps.append(episode(c, s.strftime("%d/%m/%Y"), e.strftime("%d/%m/%Y") if e else "", rne=rne))
        # end dates in the year, so the dates agree with the folder's name; maybe one a day past its end
        eps += [episode(c, "01/01/2021", end.strftime("%d/%m/%Y")) for c in ("C1", "C2")]
        if draw(st.booleans()):
            eps.append(episode("C3", "01/01/2021", (end + dt.timedelta(days=1)).strftime("%d/%m/%Y")))
        dobs = st.dates(dt.date(2005, 1, 1), end + dt.timedelta(days=30))
        head = [header(c, draw(dobs).strftime("%d/%m/%Y"), sex=draw(st.sampled_from("129"))) for c in CHILDREN]
        touch = st.sampled_from(["YES", "NO", "", "XX"])
        leavers = [
            oc3(c, "01/06/2006", draw(touch), "F2", "D1") for c in draw(st.lists(st.sampled_from(CHILDREN), max_size=3))
        ]
        out[y] = (head, eps, leavers, draw(st.integers(0, 3)), draw(st.booleans()))
    return out


def write_generated(root: Path, data) -> dict[str, int]:
    """The generated returns as folders of CSV files; the number of data lines each file holds."""
    lines = {}
    for y, (head, eps, leavers, reviews, broken) in data.items():
        d = write_return(root / str(y), head, eps, leavers)
        review = {"CHILD": "C1", "DOB": "01/06/2012", "REVIEW": "01/07/2020"}
        write_table(d / "reviews.csv", [review] * reviews, ["CHILD", "DOB", "REVIEW", "REVIEW_CODE"])
        if broken:
            with open(d / "episodes.csv", "a") as f:
                f.write("C1,01/01/2020\n")
        for name, n in (
            ("header", len(head)),
            ("episodes", len(eps) + broken),
            ("oc3", len(leavers)),
            ("reviews", reviews),
        ):
            lines[f"{y}/{name}.csv"] = n
    return lines


# the table each SSDA903 table's rows are accounted under
MAIN = {"header": "children", "episodes": "care_episodes", "oc3": "care_leaver_contacts", "reviews": "reviews"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(returns())
def test_the_reader_gives_or_sets_aside_every_line_once(tmp_path_factory, data):
    """Over generated returns: each data line of each file is in the reader's rows for its table or set aside by
    the reader with a reason, once."""
    root = tmp_path_factory.mktemp("r")
    lines = write_generated(root, data)
    (ex,) = read([("ssda903", str(root))])
    for f, n in lines.items():
        table = MAIN[f.split("/")[1].removesuffix(".csv")]
        given_ = [x for p in ex.parts_of(table) if p.file == f for x in p.data.column("_line").to_pylist()]
        aside = [r["row"] for r in ex.rejects if r["table_name"] == table and r["file"] == f]
        malformed = [x for p in ex.parts_of(table) if p.file == f for x, _ in p.malformed]
        assert all(r["reason"] for r in ex.rejects)
        assert sorted(given_ + aside + malformed) == list(range(2, n + 2)), f


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(returns())
def test_every_row_read_is_loaded_or_listed(tmp_path_factory, data):
    """Over generated returns, loaded: for every file, the accounting of the table its rows belong to adds up to the
    lines written (loaded, rejected or merged, each once), the rejected ones listed."""
    root = tmp_path_factory.mktemp("p")
    lines = write_generated(root / "903", data)
    res = load903(root / "903", root / "w.duckdb", accept_losses=True)  # the accounting, whatever is lost
    acc = res.accounting.dropna(subset=["file"]).set_index(["table_name", "file"])
    for f, n in lines.items():
        table = MAIN[f.split("/")[1].removesuffix(".csv")]
        got = acc.loc[(table, f)] if (table, f) in acc.index else None
        assert (0 if got is None else got["rows_read"]) == n, f
        if got is not None:
            assert got["rows_loaded"] + got["rows_rejected"] + got["rows_merged"] == n
            listed = res.rejects[(res.rejects["table_name"] == table) & (res.rejects["file"] == f)]
            assert listed["row"].nunique() == got["rows_rejected"] + got["rows_merged"], f
            assert listed["row"].between(2, n + 1).all()


DATE_LIKE = [
    "2024-04-01",
    "1/4/2024",
    "01/04/2024 00:00",
    "01/04/2024 00:00:00.000",
    "2024-04-01T00:00",
    "2024-04-01 00:00:00",
    " 2024-04-01\t",
    "2024-04-01T00:00:00Z",  # an XML dateTime in UTC: not a date the checks load
    "2024-04-01T00:00:00+01:00",
    "2024-4-1",
    "01/04/2024T00:00",
    "2024-04-01 09:30",
    "2024-02-30",
    "31/04/2024",
    "2024/04/01",
    "01-04-2024",
    "20240401",
    "",
    "soon",
]


def test_the_readers_read_a_date_exactly_as_the_checks_do():
    """A date the readers use (a return's year, a record's key) is one the checks load, and no other: a census's
    2024-04-01T00:00:00Z is not a date to either, so its year is not worked out from dates every record of which is
    then rejected."""
    import duckdb

    from kpi.checks import parsed
    from kpi.model import Column
    from kpi.readers.statutory import parse_date, parse_dates

    con = duckdb.connect()
    sql = parsed(Column("d", "date", ""), "v")
    checks = [con.execute(f"SELECT {sql} FROM (SELECT ? AS v)", [v]).fetchone()[0] for v in DATE_LIKE]
    readers = [None if pd.isna(d) else d.date() for d in parse_dates(pd.Series(DATE_LIKE, dtype=object))]
    assert readers == checks
    assert [parse_date(v) for v in DATE_LIKE] == checks
    assert checks[:7] == [dt.date(2024, 4, 1)] * 7 and checks[7:] == [None] * 12  # what each was worked out to be


def test_a_return_of_open_episodes_in_another_years_folder_is_refused(tmp_path):
    """Episodes without an end date (DEC) tell the year by their start (DECOM): a 2025-26 return of open episodes
    in a folder named 2024-25 would have every row rejected as dated after 31 March 2025."""
    eps = [episode("C1", "10/05/2025"), episode("C2", "01/09/2025"), episode("C3", "01/03/2020")]
    src = write_return(tmp_path / "x" / "2024-25", A_YEAR + [header("C3", "01/01/2010")], eps)
    with pytest.raises(
        LoadError,
        match=r"2024-25/: its folder's name \(2024-25\) states the collection year 2024-25, but 2 of its 3 episodes "
        r"fall outside it \(their end date DEC, or start date DECOM where open\), most in 2025-26: name the folder",
    ):
        read([("ssda903", str(tmp_path / "x"))])
    with pytest.raises(
        LoadError, match=r"--year states the collection year 2024-25, but 2 of .*2025-26: check --year$"
    ):
        read([("ssda903", str(src))], year="2024-25")
    # in its own year's folder it loads (C3, open since 2020, is in care in every year since)
    assert read([("ssda903", str(src))], year="2025-26")[0].extract_date == "2026-04-01"


def test_a_file_of_another_type_in_the_return_is_noted(tmp_path):
    """Episodes saved as a workbook beside the CSV tables is not read: said, not passed over."""
    src = write_return(tmp_path / "2025-26", A_YEAR, A_YEAR_EPISODES)
    (src / "oc3.xlsx").write_bytes(b"PK")
    (src / "old").mkdir()
    (src / "old" / "readme.txt").write_text("notes\n")
    (ex,) = read([("ssda903", str(src))])
    assert "oc3.xlsx, old/readme.txt: not CSV: not read (the SSDA903 reader reads each table saved as CSV)" in ex.notes


def test_a_table_separated_by_semicolons_or_with_a_huge_value_is_refused_saying_why(tmp_path):
    src = write_return(tmp_path / "2025-26", A_YEAR, A_YEAR_EPISODES)
    eps = src / "episodes.csv"
    good = eps.read_text()
    eps.write_text(good.replace(",", ";"))
    with pytest.raises(LoadError, match=r"episodes.csv: the header's fields are separated by ';'; expected commas"):
        read([("ssda903", str(src))])
    # a value over Python's CSV limit (128 KB): a quote never closed, say; named by line and column
    lines = good.splitlines()
    lines[2] = lines[2].replace("C1,", 'C1,"' + "x" * 200_000 + '",', 1)
    eps.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        LoadError, match=r"episodes.csv: line 3, column DECOM: a value of 200,000 characters, longer than any field"
    ):
        read([("ssda903", str(src))])


# ---------------------------------------------------------------------------------------------
# 9. what the reader sets aside, in the load's accounting
# ---------------------------------------------------------------------------------------------


def test_malformed_episode_lines_count_toward_the_loss_rule(tmp_path):
    """Three of four Episodes lines with a field too many: the file loses more than half its rows, and the load
    stops; told to go on, each line is listed as malformed, without a column, and counted as rejected."""
    src = write_return(tmp_path / "2026", A_YEAR, [*A_YEAR_EPISODES, episode("C2", "21/12/2025")])
    lines = (src / "episodes.csv").read_text().splitlines()
    (src / "episodes.csv").write_text("\n".join(lines[:2] + [x + ",extra" for x in lines[2:]]) + "\n")
    with pytest.raises(LoadError, match=r"^episodes.csv: 3 of 4 rows rejected, more than half\n"):
        load903(src, tmp_path / "w.duckdb")
    res = load903(src, tmp_path / "w.duckdb", accept_losses=True)
    acc = res.accounting.set_index("table_name").loc["care_episodes"]
    assert acc[["rows_read", "rows_loaded", "rows_rejected"]].tolist() == [4, 1, 3]
    rej = rejects_of(res, "care_episodes")
    assert rej.loc[("episodes.csv", 3), "reason"] == "malformed line: 14 fields where the header has 13"
    assert "episodes.csv row 3: malformed line: 14 fields where the header has 13" in res.summary()
    assert "column :" not in res.summary()


def test_rows_a_later_return_restates_are_merged_not_problems(tmp_path):
    """C1's Header row and episode given again (closed) by the 2025-26 return: the 2024-25 rows are counted as merged,
    not rejected, and the summary's problems are the one real one (an episode of a child the Header lacks)."""
    write_return(tmp_path / "903" / "2024-25", [header("C1", "01/06/2012")], [episode("C1", "10/05/2024")])
    write_return(
        tmp_path / "903" / "2025-26",
        [header("C1", "01/06/2012"), header("C2", "05/05/2014")],
        [episode("C1", "10/05/2024", "15/06/2025"), episode("C2", "01/09/2025"), episode("C9", "01/10/2025")],
    )
    res = load903(tmp_path / "903", tmp_path / "w.duckdb")
    acc = res.accounting.set_index("file")
    assert acc.loc["2024-25/header.csv", ["rows_read", "rows_loaded", "rows_rejected", "rows_merged"]].tolist() == [
        1,
        0,
        0,
        1,
    ]
    assert acc.loc["2024-25/episodes.csv", ["rows_rejected", "rows_merged"]].tolist() == [0, 1]
    summary = res.summary()
    assert "restated" not in summary
    assert "1 rejected row(s) and 2 merged row(s)" in summary
    assert "2025-26/episodes.csv row 4, column CHILD: 'C9': expected a child_id loaded in children" in summary
    assert set(res.rejects["kind"]) == {"rejected", "replaced"}


def test_a_child_the_reader_sets_aside_is_the_root_of_its_episodes(tmp_path):
    """C1 born after the collection year's end: the reader sets the Header row aside; C1's two episodes fall with
    it, named once in the summary with what fell with it, not each a problem of its own."""
    src = write_return(
        tmp_path / "2026", [header("C1", "01/06/2027"), header("C2", "05/05/2014", sex="2")], A_YEAR_EPISODES
    )
    res = load903(src, tmp_path / "w.duckdb", accept_losses=True)
    rej = rejects_of(res, "care_episodes")
    root = "header.csv row 2, column DOB: '01/06/2027': expected a date on or before 31/03/2026"
    assert rej.loc[("episodes.csv", 2), "reason"].startswith(f"child C1 was rejected: {root}")
    assert rej.loc[("episodes.csv", 3), "root_row"] == 2
    summary = res.summary()
    assert "2 of them fell with a rejected row they refer to" in summary
    assert "    2 row(s) of care_episodes fell with it" in summary


def test_an_episode_ending_before_it_starts_names_the_returns_columns(tmp_path):
    """C2's DEC before its DECOM: the problem is the DEC column's, and its reason names DECOM, as the return does."""
    src = write_return(tmp_path / "2026", A_YEAR, [*A_YEAR_EPISODES[:2], episode("C2", "01/09/2025", "20/08/2025")])
    res = load903(src, tmp_path / "w.duckdb")
    r = rejects_of(res, "care_episodes").loc[("episodes.csv", 4)]
    assert (r["column_name"], r["value"]) == ("DEC", "20/08/2025")
    assert r["reason"] == "expected on or after DECOM (01/09/2025)"
