"""The scorecard on the synthetic authority, and the aggregates input."""

import io
from contextlib import redirect_stdout

import pandas as pd
import pytest
from helpers import within_20_miles

from kpi.catalogue import load
from kpi.cli import main
from kpi.engine import BREAKDOWNS, Context, _cohort, compute
from kpi.scorecard import scorecard
from kpi.store import connect


@pytest.fixture(scope="module")
def ctx(small_authority):
    root, _ = small_authority
    con, snap = connect(root / "store.duckdb")
    return Context.prepare(con, snap)


def test_every_measure_computes_from_records(ctx):
    df = scorecard("2026-10", 13, context=ctx, targets=None)
    cat = load("county")
    assert set(df["measure"]) == {m.ref for m in cat.measures}
    assert len(df) == 13 * len(cat.measures)
    latest = df[df["month"] == "2026-10"].set_index("measure")
    # every KPI has a figure in the latest month from records alone
    for m in cat.kpis():
        assert latest.loc[m.ref, "display"] != "", m.ref
    pct = df[df["unit"] == "percent"]["value"].dropna()
    assert ((pct >= 0) & (pct <= 100)).all()
    assert set(df["rag"].dropna()) <= {"green", "amber", "red"}


def test_a_measure_computed_alone_equals_its_figures_in_the_whole_catalogue(ctx):
    cat = load("county")
    months = ["2026-07", "2026-08", "2026-09", "2026-10"]
    whole = compute(ctx, cat, months).set_index(["measure", "month"])
    for ref in ("4.1", "6.4", "8.4"):  # some children are not seen or supervised in time: the statuses are read
        assert (whole.loc[ref, "numerator"] < whole.loc[ref, "denominator"]).all(), ref
    # 1.3 needs neither visits' nor supervisions' status; 4.1 and 6.4 read the visits', 8.4 the supervisions'
    # 6.0, 6.3, 6.4, 6.6 and 6.8 (every child in care at the month end, the latest episode of each) are counted
    # in one query in the whole catalogue; alone, or two of them, in a query of their own
    for refs in (["1.3"], ["4.1", "6.4"], ["1.3"], ["8.4"], ["6.6"], ["6.0", "6.8"], ["5.1"]):
        alone = compute(ctx, cat, months, refs=refs).set_index(["measure", "month"])
        pd.testing.assert_frame_equal(alone, whole.loc[refs], check_like=True)
        assert alone["numerator"].sum() > 0, refs
    shared = {_cohort(cat[r], cat[r].parts[0]).shares() for r in ("6.0", "6.3", "6.4", "6.6", "6.8")}
    assert len(shared) == 1 and None not in shared
    assert _cohort(cat["6.5"], cat["6.5"].parts[0]).shares() not in shared  # under 13s: a filter before the window
    # no window where nothing counted depends on which record is the latest: 4.0 and 4.2 read only the child
    assert all(_cohort(cat[r], cat[r].parts[0]).deduped() for r in ("4.0", "4.2"))
    assert _cohort(cat["4.0"], cat["4.0"].parts[0], by="locality").deduped() is None  # the latest referral's
    assert _cohort(cat["4.1"], cat["4.1"].parts[0]).deduped() is None  # visits since the latest plan's start
    assert _cohort(cat["8.4"], cat["8.4"].parts[0]).deduped()  # the filter reads the worker, the count the child
    assert _cohort(cat["8.4"], cat["8.4"].parts[0], by="team").deduped() is None  # the latest allocation's team
    assert _cohort(cat["6.0"], cat["6.0"].parts[0], detail=True).deduped() is None  # the record behind each row
    by = "locality"
    whole = compute(ctx, cat, months, by=by).set_index(["measure", "month", "grp"])
    for refs in (["6.6"], ["6.0", "6.8"]):
        alone = compute(ctx, cat, months, by=by, refs=refs).set_index(["measure", "month", "grp"])
        pd.testing.assert_frame_equal(alone, whole.loc[refs], check_like=True)


@pytest.mark.parametrize("by", [None, "team", "placement_type"])
def test_the_latest_record_picked_by_a_grouping_gives_the_windows_figures(ctx, by, monkeypatch):
    """Every part counted by the latest record of its key (the five on every child in care, visits since the latest
    plan's start, ...; more by team) gives the same figures picked by arg_max() as by the window."""
    import kpi.engine as engine

    cat, months = load("county"), ["2025-11", "2026-10"]
    picked = []
    latest = engine._latest
    monkeypatch.setattr(engine, "_latest", lambda cohorts: picked.append(len(cohorts)) or latest(cohorts))
    grouped = compute(ctx, cat, months, by=by)
    assert sum(picked) >= 8, picked  # at least 6.0, 6.3, 6.4, 6.6, 6.8, 4.1, 6.5 and 6.15
    monkeypatch.setattr(engine, "_latest", lambda cohorts: None)
    pd.testing.assert_frame_equal(compute(ctx, cat, months, by=by), grouped)


def test_a_column_named_without_its_table_alias_still_counts(ctx):
    # The catalogues write t.column; a bare column of the record still binds (as it did before the engine kept
    # only the key of such a part): the part is then counted with its latest-record window.
    cat = within_20_miles({"A": {"num": "t.distance_miles <= 20"}, "B": {"num": "distance_miles <= 20"}})
    assert _cohort(cat["B"], cat["B"].parts[0]).deduped()  # no "t.": taken for a count of children alone
    months = ["2026-09", "2026-10"]
    a, b = (compute(ctx, cat, months, refs=[r]).set_index("month") for r in ("A", "B"))  # alone: not counted together
    assert (b[["numerator", "denominator"]] == a[["numerator", "denominator"]]).all().all()
    assert (b["numerator"] < b["denominator"]).all()


def test_breakdowns_add_up_to_the_whole(ctx):
    cat = load("county")
    months = ["2026-09", "2026-10"]
    whole = compute(ctx, cat, months, refs=["1.6", "4.0", "1.7"]).set_index(["measure", "month"])
    for by in ("locality", "age_band", "sex", "source"):
        parts = compute(ctx, cat, months, by=by, refs=["1.6", "4.0", "1.7"])
        sums = parts.groupby(["measure", "month"])[["numerator"]].sum()
        assert (sums["numerator"].reindex(whole.index) == whole["numerator"]).all(), by
    # re-referral denominators add up too
    parts = compute(ctx, cat, months, by="locality", refs=["1.7"]).groupby("month")["denominator"].sum()
    assert list(parts) == list(whole.loc["1.7", "denominator"])


@pytest.mark.parametrize("by", sorted(BREAKDOWNS))
def test_every_breakdown_runs(ctx, by):
    df = compute(ctx, load("county"), ["2026-10"], by=by)
    assert not df.empty
    if by in ("team", "source", "primary_need", "placement_type", "ethnicity"):
        # no population by these: rates per 10,000 are not available rather than wrong
        assert df[df["measure"] == "1.5"]["value"].isna().all()


def test_rejected_aggregate_rows_are_named(tmp_path):
    path = tmp_path / "figures.csv"
    path.write_text(
        "month,measure,numerator,denominator\n"
        "2025-01,1.7,127,554\n"
        "2025-13,1.7,127,554\n"
        "2025-01,99.9,1,2\n"
        "2025-01,1.5,554,\n"
        "2025-01,2.2,lots,472\n"
        "2025-01,1.7,120,554\n"
    )
    rejects = []
    df = scorecard("2025-01", aggregates=path, store=None, targets=None, rejects=rejects)
    got = [(r["row"], r["column_name"], r["reason"]) for r in rejects]
    assert got == [
        (3, "month", "expected a month YYYY-MM"),
        (4, "measure", "expected a measure reference of the county catalogue"),
        (5, "denominator", "expected the 0-17 population for a rate"),
        (6, "numerator", "expected a number"),
        (7, "measure", "a second row for measure 1.7 in 2025-01; the first is used"),
    ]
    assert df.set_index("measure").loc["1.7", "display"] == "23%"


def test_aggregates_replace_computed_figures_for_their_measures(small_authority, tmp_path):
    root, _ = small_authority
    path = tmp_path / "agency.csv"
    path.write_text("month,measure,numerator,denominator,value\n2026-10,8.0,,,47.2\n")
    df = scorecard("2026-10", store=root / "store.duckdb", aggregates=path, targets=None).set_index("measure")
    assert df.loc["8.0", "display"] == "47.2%" and df.loc["8.0", "rag"] == "red"
    assert df.loc["1.6", "display"] != ""  # the rest still from records


def test_kpi_measures_csv_and_json(small_authority):
    root, _ = small_authority
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(["measures", "--store", str(root / "store.duckdb"), "--months", "3", "--format", "csv"])
    assert code == 0
    df = pd.read_csv(io.StringIO(buf.getvalue()), dtype={"measure": str})
    for col in ("measure", "month", "numerator", "denominator", "value", "display", "target", "tolerance", "rag"):
        assert col in df.columns
    assert sorted(df["month"].unique()) == ["2026-08", "2026-09", "2026-10"]
    row = df[(df.measure == "1.7") & (df.month == "2026-10")].iloc[0]
    assert row["value"] == pytest.approx(100 * row["numerator"] / row["denominator"])
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(["measures", "--store", str(root / "store.duckdb"), "--format", "json", "--by", "locality"]) == 0
    assert '"group":"EAST"' in buf.getvalue().replace(" ", "")


def test_months_before_a_measures_records_start_have_no_figure(tmp_path):
    """Referrals kept from January 2025 only: the count of referrals for November and December 2024 is not 0 but
    no figure (its records had not started), while a month after has its count; a measure reading contacts, a
    table never supplied, is not available for its own reason."""
    from helpers import build_store, referral

    ctx = build_store(
        tmp_path,
        {"referrals": [referral("R1", "K1", "2025-01-10"), referral("R2", "K2", "2025-02-03")]},
        extract_date="2025-03-01",
    )
    card = scorecard("2025-02", 4, context=ctx, targets=None, year_on_year=False, measures=["1.6", "1.0"])
    refs = card[card["measure"] == "1.6"].set_index("month")
    assert refs["numerator"].isna().tolist() == [True, True, False, False]  # 2024-11, 2024-12 | 2025-01, 2025-02
    assert refs.loc["2025-01", "numerator"] == 1 and refs.loc["2025-02", "numerator"] == 1
    assert refs.loc["2024-12", "display"] == "" and pd.isna(refs.loc["2025-01", "change_month"])
    assert (
        refs.loc["2024-11", "not_available"] == "before the data's history: the records of referrals start in 2025-01"
    )
    assert pd.isna(refs.loc["2025-02", "not_available"])
    contacts = card[card["measure"] == "1.0"]
    assert contacts["not_available"].str.startswith("contacts").all()


def test_a_figure_by_period_is_judged_unrounded_and_shown_as_judged(tmp_path):
    # 132/860 = 15.35% against a tolerance of 15% (6.6, lower is better): red, never "15%" (A103, A104)
    from kpi.scorecard import over_periods

    path = tmp_path / "figures.csv"
    path.write_text("month,measure,numerator,denominator\n2025-03,6.6,132,860\n2025-03,6.4,706,860\n")
    q = over_periods("2025-03", 1, "quarter", aggregates=path, store=None, targets=None).set_index("measure")
    assert (q.loc["6.6", "display"], q.loc["6.6", "calculation"], q.loc["6.6", "rag"]) == (
        "15.3%",
        "132/860 = 0.153",
        "red",
    )
    assert (q.loc["6.4", "display"], q.loc["6.4", "rag"]) == ("82%", "red")  # far from its thresholds: as before


def test_a_windowed_measure_carries_its_own_month(ctx):
    # SDQ scores (6.14) are averaged over the financial year to date: the month's own numerator and denominator
    # are the year to date's rise since the month before, and in April the year to date's own. Measures counted
    # over the month alone carry none.
    df = scorecard("2026-10", 13, context=ctx, targets=None, measures=["6.14", "1.7"], monthly=True)
    sdq = df[df["measure"] == "6.14"].sort_values("month").reset_index(drop=True)
    # the small authority completes about 2.6 SDQs a month: a month may have none, and a year to date none yet
    held = sdq["denominator"].notna()
    assert held.sum() >= 10 and sdq.loc[held, "month_denominator"].gt(0).sum() >= 10
    for i in range(1, len(sdq)):
        now, before = sdq.iloc[i], sdq.iloc[i - 1]
        if not held[i]:
            continue
        fresh = now["month"].endswith("-04") or not held[i - 1]  # April, or none in the year to date before
        rise = (0, 0) if fresh else (before["numerator"], before["denominator"])
        assert now["month_numerator"] == now["numerator"] - rise[0], now["month"]
        assert now["month_denominator"] == now["denominator"] - rise[1], now["month"]
    h = sdq[held]
    assert h["month_value"].tolist() == pytest.approx((h["month_numerator"] / h["month_denominator"]).tolist())
    assert df.loc[df["measure"] == "1.7", "month_value"].isna().all()
    assert "month_value" not in scorecard("2026-10", 2, context=ctx, targets=None, measures=["6.14"])


def _s47_store(tmp_path, extract_date):
    """Four S47 enquiries: February's A (to ICPC) and B (no further action), March's C (no further action) and D
    (still open at the extract date)."""
    from helpers import build_store, s47_rows

    enquiries = [
        ("A", "2024-02-05", "2024-02-20", "ICPC"),
        ("B", "2024-02-12", "2024-02-26", "NFA"),
        ("C", "2024-03-04", "2024-03-18", "NFA"),
        ("D", "2024-03-27", "", ""),
    ]
    return build_store(tmp_path, s47_rows(enquiries), extract_date=extract_date)


def test_a_month_whose_figure_has_not_settled_is_provisional_and_not_judged(tmp_path):
    """Extract of 10 April 2024, 10 days after March's end: 3.1 settles 30 days after its month, so March's 0/2
    (D still open) is provisional, with no RAG and no comparison, though 0% would read green and better than
    England's 32%; February (1/2 = 50%, red, worse) settled on 30 March and is judged. 3.0, which declares no
    settling time, is never provisional."""
    ctx = _s47_store(tmp_path, "2024-04-10")
    card = scorecard("2024-03", 2, context=ctx, targets=None, year_on_year=False, measures=["3.1", "3.0"])
    s = card[card["measure"] == "3.1"].set_index("month")
    assert s["provisional"].tolist() == [False, True]
    assert (s.loc["2024-03", "numerator"], s.loc["2024-03", "denominator"]) == (0, 2)
    assert s.loc["2024-03", "display"] == "0%"  # still shown
    assert s.loc["2024-03", "rag"] is None and s.loc["2024-03", "rag_text"] == "Provisional: not yet final"
    assert s.loc["2024-03", "vs_england"] is None and s.loc["2024-03", "vs_last_month"] is None
    assert s.loc["2024-02", "rag"] == "red" and s.loc["2024-02", "vs_england"] == "worse"
    assert not card.loc[card["measure"] == "3.0", "provisional"].any()


def test_a_month_settled_by_the_extract_date_is_not_provisional(tmp_path):
    """Extract of 1 May 2024, 31 days after March's end: March's 3.1 has settled and is judged (0%: green)."""
    ctx = _s47_store(tmp_path, "2024-05-01")
    card = scorecard("2024-03", 1, context=ctx, targets=None, year_on_year=False, measures=["3.1"])
    assert not card["provisional"].any() and card["rag"].tolist() == ["green"]


def test_a_figure_from_an_aggregates_file_is_never_provisional(tmp_path):
    """The council's own figure for March, given in an aggregates file, is final whatever the extract date."""
    ctx = _s47_store(tmp_path, "2024-04-10")
    path = tmp_path / "figures.csv"
    path.write_text("month,measure,numerator,denominator,value\n2024-03,3.1,1,4,25\n")
    card = scorecard("2024-03", 1, context=ctx, aggregates=path, targets=None, year_on_year=False, measures=["3.1"])
    assert not card["provisional"].any() and card["rag"].tolist() == ["green"]
