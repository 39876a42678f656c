"""Where a council starts: counts without a population, and the ONS 0-17 population shipped (data/population/).

Hand-made SSDA903 returns (Header and Episodes) and population files; the populations expected are the ONS
figures in data/population/ons_mid_year_0_17.csv (825 Buckinghamshire: mid-2023 128,126, mid-2024 130,466)."""

import io
from contextlib import redirect_stdout
from pathlib import Path

import pandas as pd
import pytest

from kpi.catalogue import load as load_catalogue
from kpi.engine import Context, needs
from kpi.load import load_sources
from kpi.readers import read
from kpi.scorecard import scorecard
from tests.helpers import write_csv

COUNTY = load_catalogue("county")
HEADER = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n"
EPISODES = "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN\n"
NO_RATE = "(count; rate needs a population)"


def return_903(root: Path, episodes: list[tuple[str, str, str, str]]) -> Path:
    """An SSDA903 return: each child (id, start DD/MM/YYYY, end or "", reason ceased or "") born 01/01/2012."""
    root.mkdir(parents=True, exist_ok=True)
    kids = dict.fromkeys(e[0] for e in episodes)
    (root / "header.csv").write_text(HEADER + "".join(f"{k},1,01/01/2012,WBRI,,,\n" for k in kids))
    (root / "episodes.csv").write_text(
        EPISODES + "".join(f"{c},{s},S,C2,N1,U1,PR1,{e},{r},,AB1,AB2,\n" for c, s, e, r in episodes)
    )
    return root


# C1 in care from April 2024; C2 from May to August 2024 (ended 01/08); C3 from 15 September 2024
SMALL = [("C1", "01/04/2024", "", ""), ("C2", "10/05/2024", "01/08/2024", "E11"), ("C3", "15/09/2024", "", "")]


def loaded(tmp_path: Path, episodes=SMALL, la_code=None, extra=(), extract_date="2024-11-01"):
    """The return (and any other sources) loaded, with the shipped population of ``la_code``; its store."""
    sources = [("ssda903", str(return_903(tmp_path / "903", episodes))), *extra]
    extracts = read(sources)
    if la_code:
        from kpi.readers.population import with_population

        extracts = with_population(extracts, la_code)
    store = tmp_path / "w.duckdb"
    return store, load_sources(extracts, store, extract_date=extract_date)


def card(store, month, refs=("6.0", "6.1", "6.2"), **kw):
    return scorecard(month, store=store, targets=None, year_on_year=False, measures=list(refs), **kw).set_index(
        "measure"
    )


# ------------------------------------------------------------------ 1. counts without a population


def test_an_ssda903_return_alone_shows_its_counts_and_no_rate(tmp_path):
    store, _ = loaded(tmp_path)
    oct_ = card(store, "2024-10")
    # at the end of October: C1 and C3 in care; the count shown, the rate not (no population)
    assert oct_.loc["6.0", "numerator"] == 2 and pd.isna(oct_.loc["6.0", "value"])
    assert oct_.loc["6.0", "display"] == f"2 {NO_RATE}"
    assert oct_.loc["6.0", "not_available"] is None
    assert oct_.loc["6.0", "rate_not_available"].startswith("no 0-17 population: the SSDA903 return covers")
    assert "--la-code" in oct_.loc["6.0", "rate_not_available"]
    assert oct_.loc["6.0", "rag"] is None  # a count is not judged against a rate's target
    assert card(store, "2024-09").loc["6.1", "numerator"] == 1  # C3 started in September
    assert card(store, "2024-08").loc["6.2", "numerator"] == 1  # C2 ceased in August
    # a measure that reads what the return does not give is still not available, and says why
    assert "registered" in card(store, "2024-10", refs=["6.16"]).loc["6.16", "not_available"]


def test_count_without_a_rate_in_the_table_csv_and_json(tmp_path):
    from kpi.cli import main

    store, _ = loaded(tmp_path)
    out = {}
    for fmt in ("table", "csv", "json"):
        buf = io.StringIO()
        with redirect_stdout(buf):
            assert main(["measures", "--store", str(store), "--month", "2024-10", "--format", fmt]) == 0
        out[fmt] = buf.getvalue()
    row = next(line for line in out["table"].splitlines() if line.split()[:1] == ["6.0"])
    assert f"2 {NO_RATE}" in row and "not available" not in row
    csv = pd.read_csv(io.StringIO(out["csv"]), dtype={"measure": str}).set_index("measure")
    assert csv.loc["6.0", "numerator"] == 2 and csv.loc["6.0", "rate_not_available"].startswith("no 0-17 population")
    js = pd.read_json(io.StringIO(out["json"]), dtype={"measure": str}).set_index("measure")
    assert js.loc["6.0", "numerator"] == 2 and js.loc["6.0", "display"] == f"2 {NO_RATE}"


def test_a_quarter_of_a_rate_without_population_sums_its_counts(tmp_path):
    from kpi.scorecard import over_periods

    store, _ = loaded(tmp_path)
    q = over_periods("2024-09", 2, "quarter", store=store, targets=None).set_index(["measure", "period"])
    # April to June: C1 (April) and C2 (May) started; July to September: C3 started, C2 ceased
    assert q.loc[("6.1", "2024-25 Q1"), "numerator"] == 2 and q.loc[("6.1", "2024-25 Q1"), "months"] == 3
    assert q.loc[("6.1", "2024-25 Q1"), "display"] == f"2 {NO_RATE}"
    assert q.loc[("6.2", "2024-25 Q2"), "numerator"] == 1
    assert q.loc[("6.0", "2024-25 Q2"), "numerator"] == 2  # a stock: at September's end, C1 and C3
    assert q.loc[("6.0", "2024-25 Q2"), "rate_not_available"].startswith("no 0-17 population")


def test_a_measure_is_unavailable_only_for_what_it_reads():
    # a rate's count reads its records; the population only its rate
    assert ("population", None) not in needs(COUNTY["6.0"])
    # columns read in a subquery, by its alias: 6.3 reads the assessments' authorised date
    assert ("assessments", "authorised_date") in needs(COUNTY["6.3"])
    # a team read for a breakdown by team only is not needed for the figure (Annex A has no CP plan's team)
    assert ("cp_plans", "assessment_team_id") not in needs(COUNTY["5.2"])
    # a macro's reads: visits' due and visit dates
    assert ("visits", "visit_date") in needs(COUNTY["6.4"])
    ctx = Context(con=None, snapshot={}, missing={("assessments", "authorised_date"): "not in this source"})
    assert ctx.unavailable(COUNTY["6.3"]) == "assessments.authorised_date: not in this source"
    assert ctx.unavailable(COUNTY["6.0"]) is None
    ctx = Context(con=None, snapshot={}, missing={("cp_plans", "assessment_team_id"): "no team"})
    assert ctx.unavailable(COUNTY["5.2"]) is None


def test_the_report_shows_the_count_and_suppresses_a_small_one(tmp_path, monkeypatch):
    import kpi.report as report
    from kpi.params import MonthParams

    store, _ = loaded(tmp_path)
    history = scorecard("2024-10", 13, store=store, year_on_year=False)
    shown = []
    monkeypatch.setattr(report, "_show", shown.append)
    for public, figure in ((False, f"2 {NO_RATE}"), (True, "[c]")):
        r = report.Report("2024-10", history, COUNTY, MonthParams(month="2024-10"), {}, public=public)
        r._table([COUNTY["6.0"]], "Children in care", "t")
        cells = shown.pop()
        assert f"<td>{figure}</td>" in cells  # the month's figure
        assert f"{'[c]' if public else '2'}; no rate per 10,000: no 0-17 population" in cells  # the working


# ------------------------------------------------------------------ a council's own population


@pytest.mark.parametrize(
    "code, said",
    [
        (
            "999",
            "is not an English local authority's DfE code (old_la_code): the ONS estimates shipped are for England",
        ),
        ("W06000015", "is not an English local authority's DfE code"),  # Cardiff: a Welsh council
        ("E06000060", "E06000060 is the ONS code of 825 Buckinghamshire: give that"),
        ("928", "928 is Northamptonshire, replaced by 940 North Northamptonshire and 941 West Northamptonshire"),
        ("837", "837 is Bournemouth, replaced by 839 Bournemouth, Christchurch and Poole"),
        ("909", "replaced by 942 Cumberland and 943 Westmorland and Furness"),
        ("", None),  # no code: no population added
    ],
)
def own_population(root: Path, rows: list[tuple]) -> Path:
    write_csv(root, "localities", [{"locality_id": "N", "name": "North"}, {"locality_id": "S", "name": "South"}])
    write_csv(root, "population", [list(r) for r in rows], header=["year", "locality_id", "age", "sex", "count"])
    return root


def test_zero_and_negative_population_counts(tmp_path):
    # negative: the row is rejected and listed; zero: loaded, and a year of none has no rate
    std = own_population(tmp_path / "std", [(2024, "N", 5, "M", 0), (2024, "S", 5, "F", 0), (2024, "S", 6, "F", -3)])
    store, res = loaded(tmp_path, extra=[("standard", str(std))])
    rej = res.rejects.query("table_name == 'population'")
    assert rej[["row", "column_name", "value"]].values.tolist() == [[4, "count", "-3"]]
    oct_ = card(store, "2024-10").loc["6.0"]
    assert (oct_["numerator"], oct_["display"]) == (2, f"2 {NO_RATE}")
    assert oct_["rate_not_available"] == "the 0-17 population of 2024 is 0"
    # every row rejected: no population loaded
    std = own_population(tmp_path / "std2", [(2024, "N", 5, "M", -1)])
    store, _ = loaded(tmp_path / "b", extra=[("standard", str(std))])
    assert card(store, "2024-10").loc["6.0", "rate_not_available"].startswith("no 0-17 population loaded")


def test_a_population_for_some_years_only(tmp_path):
    std = own_population(tmp_path / "std", [(2022, "N", 5, "M", 800), (2024, "N", 5, "M", 1000)])
    store, _ = loaded(tmp_path, extra=[("standard", str(std))], extract_date="2025-01-01")
    got = {m: card(store, m, refs=["6.0"]).loc["6.0"] for m in ("2023-01", "2024-01", "2024-10")}
    assert got["2023-01"]["denominator"] == 800  # financial year 2022-23: mid-2022
    assert got["2024-01"]["denominator"] == 800  # 2023-24: mid-2023 not given, the latest before it
    assert got["2024-01"]["population_used"] == (
        "mid-2022 estimate (the latest held; the month's is mid-2023): population.csv"
    )
    assert got["2024-10"]["denominator"] == 1000


def test_a_population_counting_children_twice_gives_no_rate(tmp_path):
    std = own_population(tmp_path / "std", [(2024, "N", 5, "M", 600), (2024, "N", 5, "M", 600)])
    store, res = loaded(tmp_path, extra=[("standard", str(std))])
    oct_ = card(store, "2024-10").loc["6.0"]
    assert pd.isna(oct_["denominator"]) and oct_["numerator"] == 2
    assert oct_["rate_not_available"] == (
        "the population of 2024 repeats the row of 1 locality, age and sex (the first: N, 5, M): "
        "their children would be counted twice"
    )
