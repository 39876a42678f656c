"""The analysts' drill-down: breakdowns, what drove a change (rate and mix), the cohort, the story."""

import json

import pandas as pd
import pytest
from helpers import build_store, referral

from kpi.explore import Explorer, drivers_view, months_of, ranking_view, where_text


@pytest.fixture(scope="module")
def two_localities(tmp_path_factory):
    """Re-referrals (1.7) in North and South, March and April 2024, worked out by hand:

    March: North 1 of 4, South 1 of 4 (2/8 = 25%). April: North 0 of 2, South 3 of 6 (3/8 = 37.5%).
    A re-referral is a child referred in the 12 months before: each has a first referral in October 2023.
    """
    rows, n = [], 0

    def add(month, locality, total, repeats):
        nonlocal n
        for i in range(total):
            n += 1
            child = f"{locality}{month}{i}"
            where = {"locality_id": locality, "team_id": "T" if locality == "N" else "T2"}
            if i < repeats:
                rows.append(referral(f"P{n}", child, "2023-10-10", **where))
            rows.append(referral(f"R{n}", child, f"2024-{month}-1{i}", **where))

    add("03", "N", 4, 1)
    add("03", "S", 4, 1)
    add("04", "N", 2, 0)
    add("04", "S", 6, 3)
    root = tmp_path_factory.mktemp("explore")
    build_store(root, {"referrals": rows}, extract_date="2024-05-01")
    return Explorer(root / "w.duckdb")


def test_drivers_split_the_change_into_rate_and_mix(two_localities):
    d = two_localities.drivers("KPI 3", "locality", "2024-03", "2024-04").set_index("group")
    assert d.attrs["value_before"] == pytest.approx(25) and d.attrs["value_after"] == pytest.approx(37.5)
    assert d.index.tolist() == ["S", "N"]  # South pushed it up most
    assert d.loc["S", "label"] == "South"
    # The whole's mean figure over the two months: (25 + 37.5) / 2 = 31.25; a mix effect counts from it.
    # South: rate 25 -> 50, share 0.5 -> 0.75. Rate effect 0.625 x 25 = 15.625; mix (37.5 - 31.25) x 0.25 = 1.5625.
    # North: rate 25 -> 0, share 0.5 -> 0.25. Rate effect 0.375 x -25 = -9.375; mix (12.5 - 31.25) x -0.25 = 4.6875.
    assert d.loc["S", ["rate_effect", "mix_effect", "contribution"]].tolist() == pytest.approx(
        [15.625, 1.5625, 17.1875]
    )
    assert d.loc["N", ["rate_effect", "mix_effect", "contribution"]].tolist() == pytest.approx(
        [-9.375, 4.6875, -4.6875]
    )
    assert d["contribution"].sum() == pytest.approx(12.5)
    assert d.loc["S", "share_of_change"] == pytest.approx(1.375)  # 17.1875 / 12.5


def test_periods_average_their_months(two_localities):
    # both months against both months: no change, and each group's figures are the two months' averages
    d = two_localities.drivers("1.7", "locality", "2024-03..2024-04", ["2024-03", "2024-04"]).set_index("group")
    assert d.attrs["change"] == 0
    assert d.loc["S", ["numerator_before", "denominator_before"]].tolist() == [2, 5]  # (1 + 3) / 2, (4 + 6) / 2
    assert months_of("2024-11..2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]
    with pytest.raises(ValueError, match="ends before it starts"):
        months_of("2025-02..2024-11")


def test_count_drivers_are_changes_in_the_count(two_localities):
    d = two_localities.drivers("1.6", "locality", "2024-03", "2024-04").set_index("group")
    assert d.loc["S", "contribution"] == 2 and d.loc["N", "contribution"] == -2  # 4 -> 6, 4 -> 2
    assert d["rate_effect"].isna().all()


def test_cohort_lists_the_records_behind_a_figure(two_localities):
    c = two_localities.cohort("1.7", "2024-04")
    assert len(c) == 8 and c["numerator"].sum() == 3
    assert set(c["record_table"]) == {"referrals"}
    assert sorted(c.loc[c["numerator"] > 0, "child_id"]) == ["S040", "S041", "S042"]
    assert len(two_localities.cohort("1.7", "2024-04", numerator=True)) == 3


def test_breakdown_and_measure_names(two_localities):
    b = two_localities.breakdown("1.7", "locality", "2024-04", months=2)
    got = {(r.month, r.label): r.display for r in b.itertuples()}
    assert got == {
        ("2024-03", "North"): "25%",
        ("2024-03", "South"): "25%",
        ("2024-04", "North"): "0%",
        ("2024-04", "South"): "50%",
    }
    assert two_localities.measure("kpi3").ref == two_localities.measure("KPI 3").ref == "1.7"
    with pytest.raises(KeyError):
        two_localities.measure("KPI 99")
    with pytest.raises(ValueError, match="cannot break down"):
        two_localities.breakdown("1.7", "shoe_size")


def test_contributions_always_add_up_to_the_change(small_authority):
    """Whatever the measure and breakdown, the groups' contributions sum to the change overall."""
    root, _ = small_authority
    x = Explorer(root / "store.duckdb")
    for ref, by in [
        ("1.7", "locality"),
        ("2.2", "team"),
        ("1.5", "age_band"),
        ("1.5", "source"),
        ("1.0", "sex"),
        ("8.3", "team"),
    ]:
        d = x.drivers(ref, by, "2025-11..2026-04", "2026-05..2026-10")
        assert d["contribution"].sum() == pytest.approx(d.attrs["change"], abs=1e-9), (ref, by)


@pytest.mark.slow
def test_the_planted_anomalies_are_named_first(full_authority):
    """Re-referrals rising in East, repeat CP plans in the North assessment team, assessments in 45 days
    falling in South (kpi/synth.py): the story of each names them first."""
    root, _ = full_authority
    planted = json.loads((root / "synthetic" / "extract.json").read_text())["anomalies"]
    assert len(planted) == 3
    x = Explorer(root / "store.duckdb")
    three = x.story("KPI 3", by="locality")
    assert three.top("locality") == "East"
    # lost in the county's figure, special cause in East's own series
    assert three.group_spc[1] == "East" and three.group_spc[2].variation == "special_cause_concern"
    assert "East on its own (locality): special cause variation: concern" in three.text
    assert x.story("KPI 6", by="team").top("team") == "North Assessment Team"
    four = x.story("KPI 4", by=("locality", "team"))
    assert four.top("locality") == "South" and four.top("team") == "South Assessment Team"
    assert four.group_spc[1] == "South" and four.group_spc[2].variation == "special_cause_concern"
    assert "By locality, South did most to move it" in four.text


@pytest.mark.slow
def test_the_ranking_names_each_planted_group_first(full_authority):
    """Among all breakdowns, the ranking's first is the planted group (kpi/synth.py, extract.json): re-referrals
    in East, repeat CP plans in the North assessment team (the locality's own: named within North), assessments
    in 45 days in South; each special cause on its own limits, and nothing ranked above it is a majority."""
    root, _ = full_authority
    planted = json.loads((root / "synthetic" / "extract.json").read_text())["anomalies"]
    x = Explorer(root / "store.duckdb")
    kpis = {"re-referrals": "KPI 3", "repeat child protection plans": "KPI 6", "assessments authorised": "KPI 4"}
    for a in planted:
        r = x.where(next(k for name, k in kpis.items() if a["measure"].startswith(name)))
        top, team = r.iloc[0], r[r["breakdown"] == "team"].iloc[0]
        assert top["rank"] == 1 and top["weight"] < 0.5, a
        assert top["group_variation"] == "special_cause_concern", a
        # each locality's cases here are its assessment team's: the team repeats it and is named within it
        assert top["breakdown"] == "locality" and team["note"].startswith("repeats locality"), a
        assert top["within"] == team["label"], a
        assert a["group"] in (top["group"], team["group"]), a


@pytest.mark.slow
def test_the_re_referrals_notebook_names_east(full_authority, tmp_path):
    """`kpi explore` runs the re-referrals notebook with papermill; its story names East first."""
    import nbformat

    from kpi.cli import main

    root, _ = full_authority
    code = main(["explore", "1.7", "--notebook", "re_referrals", "--store", root / "store.duckdb", "--out", tmp_path])
    assert code == 0
    nb = nbformat.read(tmp_path / "re_referrals-1.7-2026-10.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Where: East (mostly East Assessment Team), by locality" in printed
    tables = [
        o["data"]["text/html"]
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "data" in o and "text/html" in o["data"]
    ]
    assert any("East" in t for t in tables)
    assert any("Share of the change" in t and "repeats locality" in t for t in tables)  # the ranked table
    assert main(["explore", "1.7", "--notebook", "nope", "--store", root / "store.duckdb"]) == 2


def test_the_rules_false_alarm_rate_on_noise():
    """The rules' own false-alarm rate on pure noise, 24 monthly points as the report and the explore
    notebooks use: the latest point was flagged in 1.65% and 1.9% of 2,000 normal series (seeds 7 and 8).
    Seeded, so exact; the bounds are those figures +/- 4 binomial standard errors for 1,000 series."""
    import numpy as np

    from kpi.spc import MONTHS, xmr

    rng = np.random.default_rng(7)
    flagged = sum(xmr(rng.normal(size=MONTHS)).variation != "common_cause" for _ in range(1000)) / 1000
    assert 0.002 < flagged < 0.035, flagged


def test_any_sets_measure_can_be_explored(small_authority, tmp_path):
    """The measure notebook takes a measure of any set: the journey dashboard's repeat referrals (D4)."""
    import nbformat

    from kpi.cli import main

    root, _ = small_authority
    args = ["explore", "D4", "--catalogue", "journey", "--store", root / "store.duckdb", "--out", tmp_path]
    assert main([str(a) for a in args]) == 0
    nb = nbformat.read(tmp_path / "measure-D4-2026-10.ipynb", as_version=4)
    shown = "".join(
        str(o.get("data", {}).get("text/plain", "")) for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )
    assert "Repeat referrals within 12 months" in shown
    assert (
        main(["explore", "D4", "--store", str(root / "store.duckdb"), "--out", str(tmp_path)]) == 2
    )  # not a county measure


def test_where_ranks_the_breakdowns_and_formats_the_groups(two_localities):
    """March to April 2024 (the fixture): South has 137.5% of the 12.5-point rise but is 62.5% of the referrals,
    most of them, moving with the whole: no locality is named. Every referral is from the police (one group: all of
    the cases) and a referral has no placement type: said, not ranked."""
    x = two_localities
    r = x.where("1.7", before="2024-03", after="2024-04", by=("placement_type", "source", "locality"))
    assert r["breakdown"].tolist() == ["source", "locality", "placement_type"]  # tied: in the order asked
    assert r["rank"].isna().all()
    assert r["note"].tolist() == [
        "no group beyond its size",
        "no group beyond its size",
        "not recorded for this measure",
    ]
    assert (r.attrs["before"], r.attrs["after"]) == (["2024-03"], ["2024-04"])
    view = drivers_view(x.measure("1.7"), r.attrs["drivers"]["locality"])
    assert view.index.tolist() == ["South", "North"]
    assert view.loc["South"].tolist()[:6] == ["25.0%", "50.0%", "+25.0 pts", "+17.2 pts", "138%", "62%"]
    assert view.loc["North", ["Change", "Contribution", "Share of the change"]].tolist() == [
        "-25.0 pts",
        "-4.7 pts",
        "-38%",
    ]
    shown = ranking_view(r)
    assert shown.columns.tolist() == [
        "Breakdown",
        "Top group",
        "Share of the change",
        "Share of the cases",
        "Beyond its size",
        "Own SPC",
        "Note",
    ]
    assert shown["Breakdown"].tolist() == ["source", "locality", "placement type"]


def test_the_windows_default_to_the_storys_and_take_either_end(two_localities):
    x = two_localities
    before, after = x.windows("1.7", "2024-04", after="2024-04")
    assert after == ["2024-04"] and before == months_of("2023-04..2024-03")  # the 12 months before
    assert x.windows("1.7", before="2024-03", after="2024-04") == (["2024-03"], ["2024-04"])
    # no signal in two months of figures: the latest 3 months, and the 12 before them
    assert x.windows("1.7", "2024-04") == (months_of("2023-02..2024-01"), months_of("2024-02..2024-04"))


SAMPLE = [  # (catalogue, reference): each unit and kind, flows and stocks, of the three sets
    ("county", "1.6"),  # count, flow (referrals)
    ("county", "1.3"),  # count, stock
    ("county", "1.5"),  # rate, flow
    ("county", "4.0"),  # rate, stock
    ("county", "1.7"),  # percent, flow
    ("county", "6.7"),  # percent, stock (placements)
    ("county", "6.6"),  # percent, 12 months rolling
    ("county", "6.14"),  # average, flow
    ("county", "8.3"),  # average, stock
    ("journey", "D7"),  # count, stock
    ("journey", "D18"),  # average, stock
    ("scorecard", "SCC/004"),  # percent, 12 months rolling
]


@pytest.mark.parametrize("catalogue,ref", SAMPLE)
def test_every_measure_is_ranked_by_the_breakdowns_its_records_allow(small_authority, catalogue, ref):
    """Whatever its unit and kind, each breakdown is tried once; the groups of each add up to the change; a ranked
    group is never a majority nor under 5% of the cases; a breakdown the records have not is said, not ranked; and
    the tables read without a 'nan'."""
    from kpi.engine import BREAKDOWNS

    root, _ = small_authority
    x = Explorer(root / "store.duckdb", catalogue=catalogue)
    r = x.where(ref, "2026-10")
    m = x.measure(ref)
    assert sorted(r["breakdown"]) == sorted(BREAKDOWNS)
    tried = r.attrs["drivers"]
    assert set(r.loc[r["note"] == "not recorded for this measure", "breakdown"]) == set(BREAKDOWNS) - set(tried)
    assert "locality" in tried  # every measure's records have a locality (a caseload's no child's age or sex)
    for b, d in tried.items():
        # a rate's groups without a population (sex not known) have no rate, so not all of its change
        if pd.notna(r.attrs["change"]) and r.attrs["change"] and m.unit != "rate":
            assert d["contribution"].sum() == pytest.approx(r.attrs["change"], rel=1e-6, abs=1e-9), b
        shown = drivers_view(m, d)
        assert not shown.astype(str).apply(lambda c: c.str.contains("nan")).any().any(), b
    ranked = r[r["rank"].notna()]
    assert ((ranked["weight"] < 0.5) & (ranked["weight"] >= 0.05) & (ranked["share_of_change"] >= 0.25)).all()
    assert r["rank"].dropna().tolist() == list(range(1, len(ranked) + 1))
    assert "nan" not in ranking_view(r).to_string() and "nan" not in where_text(m, r)


def test_a_measure_has_the_breakdowns_of_its_records(small_authority):
    """A referral has no placement type, a placement has no referral source, social workers' caseloads (8.3) have
    no age band (the children's are in the numerator, the workers in the denominator): said, not tried."""
    root, _ = small_authority
    x = Explorer(root / "store.duckdb")
    notes = lambda ref: dict(zip(*x.where(ref, "2026-10")[["breakdown", "note"]].T.values, strict=True))  # noqa: E731
    assert notes("1.6")["placement_type"] == "not recorded for this measure"
    assert notes("6.7")["source"] == "not recorded for this measure"
    assert notes("6.7")["placement_type"] != "not recorded for this measure"
    assert notes("8.3")["age_band"] == "not recorded for this measure"


def test_the_verdict_is_a_sentence_a_small_table_and_the_chart_beside_it():
    """24 months to October 2026: 10% and 12% by turns for 16 months, then 20% for 8. Mean (16 x 11 + 8 x 20) / 24
    = 14%; the jump's moving range screened out, limits 14 +/- 2.66 x 2 x 15/22 = 10.4% to 17.6%: October, above
    them, is special cause, a concern for re-referrals (lower is better)."""
    import numpy as np

    from kpi.catalogue import load
    from kpi.explore import Panel, spc_table
    from kpi.spc import spc_of

    m = load("county")["1.7"]
    months = months_of("2024-11..2026-10")
    spc = spc_of(m, pd.DataFrame({"month": months, "value": [10, 12] * 8 + [20] * 8, "target": np.nan}))
    t = spc_table(m, spc)[""]
    assert t[["Latest month", "Figure", "Mean", "Process limits"]].tolist() == [
        "October 2026",
        "20.0%",
        "14.0%",
        "10.4% to 17.6%",
    ]
    assert t["Variation"] == "Special cause variation: concern" and "outside limits" in t["Rules"]
    assert t["Assurance"] == "no target" and t["Judged on"] == "the monthly figures"
    page = Panel("1.7 Re-referrals", "Special cause: concern.", spc_table(m, spc), b"PNG")._repr_html_()
    assert "display:flex" in page and page.index("<table") < page.index("<img")  # the table, the chart beside it
    assert "data:image/png;base64,UE5H" in page and "Special cause: concern." in page


def test_a_measure_supplied_as_figures_has_no_breakdowns_and_says_why(small_authority):
    """A measure given as monthly figures (supplied, no records): nothing to break down, said."""
    from kpi.catalogue import parse

    root, _ = small_authority
    cat = parse(
        "sections: [{key: a, title: A}]\nmeasures:\n  - {ref: SA, title: Seen alone, section: a, unit: percent, "
        "kind: flow, direction: higher, supplied: true, definition: Given as monthly figures.}\n"
    )
    x = Explorer(root / "store.duckdb", catalogue=cat)
    r = x.where("SA", "2026-10")
    assert (r["note"] == "not recorded for this measure").all() and not r.attrs["drivers"]
    m = x.measure("SA")
    assert where_text(m, r).endswith("No records, so no breakdowns.") and "supplied" in where_text(m, r)
    assert drivers_view(m, r.attrs["drivers"].get("locality")).empty
    assert x.top_chart(r).heading == "No breakdown" and x.cohort("SA", "2026-10").empty


def test_a_share_that_rounds_to_nothing_has_no_sign():
    from kpi.explore import _share

    assert [_share(v) for v in (-0.004, 0.004, -0.2, None)] == ["0%", "0%", "-20%", ""]
