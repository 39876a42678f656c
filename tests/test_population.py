"""Where a council starts: counts without a population, and the ONS 0-17 population shipped (data/population/).

Hand-made SSDA903 returns (Header and Episodes) and population files; the populations expected are the ONS
figures in data/population/ons_mid_year_0_17.csv (825 Buckinghamshire: mid-2023 128,126, mid-2024 130,466)."""

import io
from contextlib import redirect_stdout
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from kpi.catalogue import load as load_catalogue
from kpi.engine import Context, compute, needs
from kpi.errors import LoadError
from kpi.load import load_sources
from kpi.readers import read
from kpi.scorecard import scorecard
from kpi.store import accounting_of, availability_of, connect
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


def loaded(
    tmp_path: Path, episodes=SMALL, la_code=None, extra=(), extract_date="2024-11-01", year="2024-25", **options
):
    """The return of ``year`` (and any other sources) loaded, with the shipped population of ``la_code``; its
    store."""
    sources = [("ssda903", str(return_903(tmp_path / "903", episodes))), *extra]
    extracts = read(sources, year=year)
    if la_code:
        from kpi.readers.population import with_population

        extracts = with_population(extracts, la_code)
    store = tmp_path / "w.duckdb"
    return store, load_sources(extracts, store, extract_date=extract_date, **options)


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
        # the working: the count and why there is no rate; in the public version only that it is suppressed
        assert ("Suppressed ([c])" if public else "2; no rate per 10,000: no 0-17 population") in cells


# ------------------------------------------------------------------ 2. the population shipped


def test_la_code_fills_the_population_from_the_shipped_ons_estimates(tmp_path):
    store, res = loaded(tmp_path, la_code="825")
    acc = res.accounting.set_index("table_name")
    label = "ONS mid-year estimates 2012-2024 for 825 Buckinghamshire (shipped)"
    assert acc.loc["population", ["file", "rows_read", "rows_loaded", "rows_rejected"]].tolist() == [label, 13, 13, 0]
    assert any(n.startswith(f"population: {label}, data/population/ons_mid_year_0_17.csv") for n in res.notes)
    con, snap = connect(store)
    assert snap["council"] == "Buckinghamshire"
    # one authority-wide row a year: 825 kept its DfE code when it became a unitary authority in 2020
    pop = dict(con.execute("SELECT year, sum(count) FROM population GROUP BY year").fetchall())
    assert (pop[2012], pop[2019], pop[2020], pop[2024]) == (116508, 122137, 122495, 130466)
    assert (
        con.execute("SELECT count(*) FROM population WHERE locality_id IS NOT NULL OR age IS NOT NULL").fetchall()[0][0]
        == 0
    )
    avail = availability_of(con, int(snap["snapshot_id"])).set_index(["table_name", "column_name"])
    assert "whole authority" in avail.loc[("population", "locality_id"), "reason"]
    assert accounting_of(con, int(snap["snapshot_id"])).query("table_name == 'population'")["sha256"].notna().all()
    oct_ = card(store, "2024-10")
    assert (oct_.loc["6.0", "numerator"], oct_.loc["6.0", "denominator"]) == (2, 130466)
    assert oct_.loc["6.0", "calculation"] == "(2/130466)*10000 = 0"
    assert oct_.loc["6.0", "population_used"] == f"mid-2024 estimate: {label}"
    assert oct_.loc["6.0", "rate_not_available"] is None


def test_the_cli_loads_with_la_code(tmp_path):
    from kpi.cli import main

    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(
            ["load", "--format", "ssda903", str(return_903(tmp_path / "903", SMALL)), "--la-code", "825"]
            + ["--store", str(tmp_path / "w.duckdb"), "--extract-date", "2024-11-01"]
        )
    assert code == 0
    assert "ONS mid-year estimates 2012-2024 for 825 Buckinghamshire (shipped)" in buf.getvalue()


# ------------------------------------------------------------------ 3. the arithmetic, as the seed's


def test_rates_as_the_seed_calculates_them_with_a_real_authoritys_population(tmp_path):
    # 4,220 children in care at the end of October 2024, 554 of whom started that month
    eps = [(f"A{i:04d}", "01/01/2024", "", "") for i in range(4220 - 554)]
    eps += [(f"B{i:04d}", "10/10/2024", "", "") for i in range(554)]
    store, _ = loaded(tmp_path, eps, la_code="825")
    oct_ = card(store, "2024-10")
    # the seed's ((554*12)/146874)*10000 = 453 and (4220/146874)*10000 = 287, over Buckinghamshire's mid-2024 130,466
    assert oct_.loc["6.1", "calculation"] == "((554*12)/130466)*10000 = 510"
    assert oct_.loc["6.1", "value"] == pytest.approx(554 * 12 / 130466 * 10000)
    assert oct_.loc["6.0", "calculation"] == "(4220/130466)*10000 = 323"
    assert oct_.loc["6.0", "value"] == pytest.approx(4220 / 130466 * 10000)
    # and over the seed's own population, given as a file: the seed's figures
    std = tmp_path / "std"
    write_csv(std, "localities", [{"locality_id": "L1", "name": "County"}])
    write_csv(std, "population", [{"year": 2024, "locality_id": "L1", "age": 9, "sex": "F", "count": 146874}])
    store, _ = loaded(tmp_path / "seed", eps, extra=[("standard", str(std))])
    oct_ = card(store, "2024-10")
    assert oct_.loc["6.1", "calculation"] == "((554*12)/146874)*10000 = 453"
    assert oct_.loc["6.0", "calculation"] == "(4220/146874)*10000 = 287"


def test_a_31_march_rate_divides_by_the_dfes_estimate_year(tmp_path):
    # The DfE published Buckinghamshire's children looked after at 31 March 2024: 520, 41 per 10,000 of the
    # mid-2023 population (128,126). 520 children in care then give the same figure.
    store, _ = loaded(tmp_path, [(f"C{i:03d}", "01/01/2024", "", "") for i in range(520)], la_code="825")
    march = card(store, "2024-03", refs=["6.0"]).loc["6.0"]
    assert (march["numerator"], march["denominator"], march["display"]) == (520, 128126, "41")
    assert march["population_used"].startswith("mid-2023 estimate: ")
    april = card(store, "2024-04", refs=["6.0"]).loc["6.0"]
    assert april["denominator"] == 130466  # from April, the financial year 2024-25: mid-2024


# ------------------------------------------------------------------ 4. beyond the list


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
def test_a_la_code_that_is_not_a_council_today_is_refused(tmp_path, code, said):
    from kpi.readers.population import with_population

    extracts = read([("ssda903", str(return_903(tmp_path / "903", SMALL)))])
    if said is None:
        assert with_population(extracts, code) == extracts
        return
    with pytest.raises(LoadError, match=said.replace("(", r"\(").replace(")", r"\)")):
        with_population(extracts, code)


def test_a_refused_la_code_exits_2_and_changes_nothing(tmp_path, capsys):
    from kpi.cli import main

    args = ["load", "--format", "ssda903", str(return_903(tmp_path / "903", SMALL)), "--la-code", "928"]
    assert main([*args, "--store", str(tmp_path / "w.duckdb")]) == 2
    assert "940 North Northamptonshire" in capsys.readouterr().err
    assert not (tmp_path / "w.duckdb").exists()


def test_months_before_and_after_the_estimates_take_the_nearest_and_say_so(tmp_path):
    from kpi.engine import population_years

    assert population_years([2012, 2024], ["2011-06", "2012-03", "2024-03", "2024-04", "2026-10"]) == {
        "2011-06": 2012,  # before the first estimate: the earliest
        "2012-03": 2012,
        "2024-03": 2012,  # financial year 2023-24: mid-2023 not held, the latest before it
        "2024-04": 2024,
        "2026-10": 2024,  # not published yet: the latest
    }
    store, _ = loaded(tmp_path, [("C1", "01/01/2010", "", "")], la_code="825", extract_date="2026-11-01")
    later = card(store, "2026-10", refs=["6.0"]).loc["6.0"]
    assert later["denominator"] == 130466
    assert later["population_used"].startswith("mid-2024 estimate (the latest held; the month's is mid-2026): ONS")
    earlier = card(store, "2011-06", refs=["6.0"]).loc["6.0"]
    assert earlier["denominator"] == 116508
    assert earlier["population_used"].startswith("mid-2012 estimate (the earliest held; the month's is mid-2011)")


def own_population(root: Path, rows: list[tuple]) -> Path:
    write_csv(root, "localities", [{"locality_id": "N", "name": "North"}, {"locality_id": "S", "name": "South"}])
    write_csv(root, "population", [list(r) for r in rows], header=["year", "locality_id", "age", "sex", "count"])
    return root


def test_a_population_file_wins_over_la_code_and_says_so(tmp_path):
    std = own_population(tmp_path / "std", [(2024, "N", 5, "M", 600), (2024, "S", 5, "F", 400)])
    store, res = loaded(tmp_path, la_code="825", extra=[("standard", str(std))])
    assert any("--la-code 825's ONS estimates (shipped) are not" in n for n in res.notes)
    assert res.accounting.query("table_name == 'population'")["file"].tolist() == ["population.csv"]
    oct_ = card(store, "2024-10").loc["6.0"]
    assert (oct_["denominator"], oct_["population_used"]) == (1000, "mid-2024 estimate: population.csv")


def test_an_empty_population_file_leaves_la_code_to_give_it(tmp_path):
    std = own_population(tmp_path / "std", [])
    store, res = loaded(tmp_path, la_code="825", extra=[("standard", str(std))])
    files = res.accounting.query("table_name == 'population'")
    assert files[["file", "rows_loaded"]].values.tolist() == [
        ["population.csv", 0],
        ["ONS mid-year estimates 2012-2024 for 825 Buckinghamshire (shipped)", 13],
    ]
    assert card(store, "2024-10").loc["6.0", "denominator"] == 130466


@pytest.mark.parametrize(
    "text, said",
    [
        (None, "cannot be read"),  # missing
        ("old_la_code,la_name\n825,Buckinghamshire\n", "expected columns la_name, new_la_code, old_la_code"),
        ("old_la_code,new_la_code,la_name,succeeded_by,2024\n825,E06000060,Buckinghamshire,,13O466\n", "'13O466'"),
        ("", "cannot be read"),
    ],
)
def test_a_damaged_shipped_file_is_refused(tmp_path, text, said):
    from kpi.readers.population import shipped

    path = tmp_path / "ons.csv"
    if text is not None:
        path.write_text(text)
    with pytest.raises(LoadError, match=said.replace("(", r"\(")):
        shipped("825", path)


def test_zero_and_negative_population_counts(tmp_path):
    # negative: the row is rejected and listed; zero: loaded, and a year of none has no rate
    std = own_population(tmp_path / "std", [(2024, "N", 5, "M", 0), (2024, "S", 5, "F", 0), (2024, "S", 6, "F", -3)])
    store, res = loaded(tmp_path, extra=[("standard", str(std))])
    rej = res.rejects.query("table_name == 'population'")
    assert rej[["row", "column_name", "value"]].values.tolist() == [[4, "count", "-3"]]
    oct_ = card(store, "2024-10").loc["6.0"]
    assert (oct_["numerator"], oct_["display"]) == (2, f"2 {NO_RATE}")
    assert oct_["rate_not_available"] == "the 0-17 population of 2024 is 0"
    # every row rejected: the load stops (A70); told to go on, no population is loaded
    std = own_population(tmp_path / "std2", [(2024, "N", 5, "M", -1)])
    with pytest.raises(LoadError, match="population.csv: 1 of 1 rows rejected"):
        loaded(tmp_path / "b", extra=[("standard", str(std))])
    store, _ = loaded(tmp_path / "b", extra=[("standard", str(std))], accept_losses=True)
    assert card(store, "2024-10").loc["6.0", "rate_not_available"].startswith("no 0-17 population loaded")


def test_a_population_for_some_years_only(tmp_path):
    std = own_population(tmp_path / "std", [(2022, "N", 5, "M", 800), (2024, "N", 5, "M", 1000)])
    # C0 in care since 2022, so the months asked lie in the records' history (A85)
    eps = [("C0", "01/06/2022", "", ""), *SMALL]
    store, _ = loaded(tmp_path, eps, extra=[("standard", str(std))], extract_date="2025-01-01")
    got = {m: card(store, m, refs=["6.0"]).loc["6.0"] for m in ("2023-01", "2024-01", "2024-10")}
    assert got["2023-01"]["denominator"] == 800  # financial year 2022-23: mid-2022
    assert got["2024-01"]["denominator"] == 800  # 2023-24: mid-2023 not given, the latest before it
    assert got["2024-01"]["population_used"] == (
        "mid-2022 estimate (the latest held; the month's is mid-2023): population.csv"
    )
    assert got["2024-10"]["denominator"] == 1000


def test_a_population_counting_children_twice_gives_no_rate(tmp_path):
    # the load rejects a repeated cell (A72) and the rate divides by the one loaded
    std = own_population(
        tmp_path / "std", [(2024, "N", 5, "M", 600), (2024, "N", 5, "M", 600), (2024, "S", 5, "F", 400)]
    )
    store, res = loaded(tmp_path, extra=[("standard", str(std))])
    rej = res.rejects.query("table_name == 'population'")
    assert rej["row"].tolist() == [3] and "duplicate" in rej["reason"].iloc[0]
    assert card(store, "2024-10").loc["6.0", "denominator"] == 1000
    # a store loaded before cells were checked may repeat one: its rate is not given
    with duckdb.connect(str(store)) as con:
        con.execute("INSERT INTO snap_1.population VALUES (2024, 'N', 5, 'M', 600)")
    oct_ = card(store, "2024-10").loc["6.0"]
    assert pd.isna(oct_["denominator"]) and oct_["numerator"] == 2
    assert oct_["rate_not_available"] == (
        "the population of 2024 repeats the row of 1 locality, age and sex (the first: N, 5, M): "
        "their children would be counted twice"
    )


def test_rates_by_locality_need_a_population_by_locality(tmp_path):
    store, _ = loaded(tmp_path, la_code="825")
    ctx = Context.prepare(*connect(store))
    for by in ("locality", "age_band", "sex", "team"):
        df = compute(ctx, COUNTY, ["2024-10"], by=by, refs=["6.0"])
        assert df["denominator"].isna().all() and df["numerator"].sum() == 2, by
        why = df["rate_not_available"].iloc[0]
        assert why.startswith(f"no population by {by.replace('_', ' ')}: "), by
        assert ("whole authority" in why) == (by != "team"), by
    # a council's population by locality gives each locality its rate; children of no locality have none
    std = own_population(tmp_path / "std", [(2024, "N", 5, "M", 600), (2024, "S", 5, "F", 400)])
    store, _ = loaded(tmp_path / "b", extra=[("standard", str(std))])
    df = compute(Context.prepare(*connect(store)), COUNTY, ["2024-10"], by="locality", refs=["6.0"])
    assert df["grp"].tolist() == [None] and df["rate_not_available"].tolist() == [
        "no population for the children of no recorded locality"
    ]
