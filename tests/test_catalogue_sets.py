"""Other councils' sets: the journey dashboard (seed 004) and the quarterly scorecard (seed 002), their
sections, measures reused from the county set, year-to-date and projected year-end figures, supplied figures."""

import re

import pandas as pd
import pytest
from helpers import build_store, leaver_contacts, referral

from kpi.catalogue import CatalogueError, load, parse
from kpi.engine import Context, compute
from kpi.store import connect

JOURNEY, SCORECARD, COUNTY = load("journey"), load("scorecard"), load("county")


def test_year_end_projection_as_seed_002_works_it_out(tmp_path):
    """Seed 002 at quarter 2: "Three care leavers have turned 19 by quarter 2 and are in touch ... Four more will
    turn 19 in the remaining 6 months ... of those four, two appear to be in contact meaning our likely year end
    position is 71% (5/7)"; suitable accommodation 60% (3/5); education, training or work 40% (2/5)."""
    leavers = {  # child: date of birth, contacts (date, in touch, activity, suitable)
        "A": ("1996-05-10", [("2015-05-01", "YES", "F4", "Y")]),  # 19 in May: in touch, EET, suitable
        "B": ("1996-07-01", [("2015-06-20", "YES", "G5", "N")]),  # 19 in July: in touch
        "C": ("1996-09-15", [("2015-09-01", "YES", "G6", "N")]),  # 19 in September: in touch
        "D": ("1996-11-20", [("2015-09-10", "YES", "F2", "Y")]),  # 19 in November: in touch now, EET, suitable
        "E": ("1997-01-10", [("2015-08-20", "YES", "G5", "Y")]),  # 19 in January: in touch now, suitable
        "F": ("1997-02-05", [("2015-03-01", "YES", "F4", "Y")]),  # 19 in February: last contact too long ago
        "G": ("1997-03-30", []),  # 19 in March: no contact
    }
    ctx = build_store(
        tmp_path,
        {
            "children": [{"child_id": c, "date_of_birth": v[0]} for c, v in leavers.items()],
            "care_leavers": [{"child_id": c, "status": "FORMER", "left_care_date": "2014-04-01"} for c in leavers],
            "care_leaver_contacts": leaver_contacts({c: v[1] for c, v in leavers.items()}),
        },
        extract_date="2015-10-01",
    )
    df = compute(ctx, SCORECARD, ["2015-09"], refs=[m.ref for m in SCORECARD.section_measures("care_leavers")])
    got = {r.measure: (r.numerator, r.denominator, r.display, r.calculation) for r in df.itertuples()}
    assert got["SCC/033d"][:2] == (3, 3)  # turned 19 by the end of September, all in touch
    assert got["SCC/033d-P"] == (5, 7, "71.4%", "5/7 = 0.714")
    assert got["SCC/033e"][:2] == (1, 3) and got["SCC/033e-P"][:3] == (3, 5, "60.0%")
    assert got["SCC/033f"][:2] == (1, 3) and got["SCC/033f-P"][:3] == (2, 5, "40.0%")
    assert "SCC/041a" not in got  # no pathway plan reviews loaded: no figure
    # by March every one has turned 19: the projection is the year's figure
    march = compute(ctx, SCORECARD, ["2016-03"], refs=["SCC/033d", "SCC/033d-P"]).set_index("measure")
    assert march.loc["SCC/033d", "denominator"] == march.loc["SCC/033d-P", "denominator"] == 7


@pytest.fixture(scope="module")
def small(small_authority):
    root, _ = small_authority
    con, snap = connect(root / "store.duckdb")
    return Context.prepare(con, snap)


def test_sets_reuse_the_county_definitions(small):
    months = ["2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09"]
    county = compute(small, COUNTY, months, refs=["1.7", "3.3", "6.0", "8.4"]).set_index(["measure", "month"])
    journey = compute(small, JOURNEY, months, refs=["D4", "D15", "D19"]).set_index(["measure", "month"])
    for m in months:  # the same definition gives the same figure under the dashboard's own reference
        assert journey.loc[("D4", m), "numerator"] == county.loc[("1.7", m), "numerator"]
        assert journey.loc[("D15", m), "value"] == county.loc[("6.0", m), "numerator"]  # a count, not a rate
        assert journey.loc[("D19", m), "value"] == county.loc[("8.4", m), "value"]
    # the scorecard's year to date at September sums April to September
    ytd = compute(small, SCORECARD, ["2026-09"], refs=["SCC/010", "SCC/014"]).set_index("measure")
    for ref, base in (("SCC/010", "1.7"), ("SCC/014", "3.3")):
        months_of = county.xs(base, level="measure")
        assert ytd.loc[ref, "numerator"] == months_of["numerator"].sum()
        assert ytd.loc[ref, "denominator"] == months_of["denominator"].sum()
    # the county's targets and KPI numbers are not inherited: the set's own are
    assert JOURNEY["D4"].target == 20 and COUNTY["1.7"].target != 20 and JOURNEY["D4"].kpi == 2
    assert JOURNEY["D1"].target is None and SCORECARD["SCC/010"].kpi is None


def test_every_computed_measure_of_each_set_has_a_figure(small):
    for cat in (JOURNEY, SCORECARD):
        df = compute(small, cat, ["2026-09"]).set_index("measure")
        for m in cat.measures:
            if m.supplied:
                assert m.ref not in df.index and "supplied" in small.unavailable(m)
            else:
                assert pd.notna(df.loc[m.ref, "value"]), (cat.name, m.ref)


def test_catalogue_sections_and_inheritance_are_checked():
    base = "sections: [{key: a, title: A}]\nmeasures:\n"
    with pytest.raises(CatalogueError, match="section must be one of the catalogue's sections \\(a\\)"):
        parse(base + "  - {ref: X, from: county/1.0, section: b}\n")
    with pytest.raises(CatalogueError, match="from county/9.99: no measure 9.99 in the county catalogue"):
        parse(base + "  - {ref: X, from: county/9.99, section: a}\n")
    with pytest.raises(CatalogueError, match="section\\(s\\) b have no measures"):
        parse(
            "sections: [{key: a, title: A}, {key: b, title: B}]\nmeasures:\n  - {ref: X, from: county/1.0, section: a}\n"
        )
    cat = parse(base + "  - {ref: X, from: county/1.7, section: a, window: ytd}\n")
    assert cat["X"].title == COUNTY["1.7"].title and all(p.window == "ytd" for p in cat["X"].parts)


def test_financial_quarters_and_years():
    from kpi.calendar import period_of

    assert [period_of(m, "quarter") for m in ("2026-04", "2026-06", "2026-07", "2026-12", "2027-01", "2027-03")] == [
        "2026-27 Q1",
        "2026-27 Q1",
        "2026-27 Q2",
        "2026-27 Q3",
        "2026-27 Q4",
        "2026-27 Q4",
    ]
    assert period_of("2027-03", "year") == "2026-27" and period_of("2027-04", "year") == "2027-28"


def test_scorecard_by_quarter(small_authority):
    """A flow's quarter sums its months (a rate annualised by 12/3); a stock is the quarter's last month."""
    from kpi.scorecard import over_periods, scorecard

    root, _ = small_authority
    store = root / "store.duckdb"
    months = scorecard("2026-09", 6, store=store, targets=None, year_on_year=False, measures=["1.5", "1.7", "6.0"])
    q = over_periods("2026-09", 2, "quarter", store=store, targets=None).set_index(["measure", "period"])
    q2 = months[months["month"] >= "2026-07"]
    r17 = q.loc[("1.7", "2026-27 Q2")]
    m17 = q2[q2["measure"] == "1.7"]
    assert (r17["numerator"], r17["denominator"]) == (m17["numerator"].sum(), m17["denominator"].sum())
    assert r17["months"] == 3 and r17["how"] == "sum of the months"
    r15 = q.loc[("1.5", "2026-27 Q2")]
    m15 = q2[q2["measure"] == "1.5"]
    pop = m15["denominator"].iloc[-1]
    assert r15["value"] == pytest.approx(m15["numerator"].sum() * 4 / pop * 10000)
    assert r15["calculation"].startswith(f"(({m15['numerator'].sum():.0f}*12/3)/{pop:.0f})*10000 = ")
    r60 = q.loc[("6.0", "2026-27 Q1")]
    june = months[(months["measure"] == "6.0") & (months["month"] == "2026-06")].iloc[0]
    assert (r60["value"], r60["as_at"]) == (june["value"], "2026-06")


def test_a_change_of_definition_breaks_the_chart(small_authority):
    """Every set's charts mark a change of definition inside the months shown (the line is broken there)."""
    from kpi.charts import alt_text, kpi_chart
    from kpi.scorecard import scorecard

    root, _ = small_authority
    card = scorecard(
        "2025-06", 13, store=root / "store.duckdb", catalogue=JOURNEY, measures=["D12"], year_on_year=False
    )
    # reused with the county's definition and its history, the previous definition's computation too
    assert [(h.start, h.change, h.label) for h in JOURNEY["D12"].history] == [
        (h.start, h.change, h.label) for h in COUNTY["5.2"].history
    ]
    assert JOURNEY["D12"].before.before.parts == COUNTY["5.2"].before.before.parts
    assert "The definition changed from Dec-24: the line is broken there." in alt_text(JOURNEY["D12"], card)
    assert ">definition changed</text>" in kpi_chart(JOURNEY["D12"], card).decode()  # an SVG, its break labelled
    later = card[card["month"] >= "2025-01"]
    assert "definition changed" not in alt_text(JOURNEY["D12"], later)


def test_a_year_to_date_figure_starts_again_each_april(small_authority):
    """A year-to-date or year-end figure is a new series each financial year: the chart breaks at April, SPC
    takes new limits there, and the page says why its limits are trial ones."""
    from kpi.charts import alt_text, xmr_alt_text
    from kpi.narrative import spc_sentence
    from kpi.scorecard import scorecard
    from kpi.spc import spc_of

    root, _ = small_authority
    m = SCORECARD["SCC/033d-P"]
    card = scorecard(
        "2026-09", 24, store=root / "store.duckdb", catalogue=SCORECARD, measures=[m.ref], year_on_year=False
    )
    assert m.yearly and not COUNTY["1.7"].yearly
    spc = spc_of(m, card)
    starts = spc.points.groupby("group")["period"].min().tolist()
    assert starts == ["2024-10", "2025-04", "2026-04"]
    assert "A new financial year starts from Apr-26: the line is broken there." in alt_text(m, card.tail(13))
    assert spc_sentence(spc, m).endswith("(Trial limits: fewer than 13 months since the financial year started.)")
    assert "(new limits from Apr-26)" in xmr_alt_text(m, spc) and "trial limits" in xmr_alt_text(m, spc)
    # as the report judges it (A122): on the month's own figures, one series across the Aprils
    own = scorecard(
        "2026-09",
        24,
        store=root / "store.duckdb",
        catalogue=SCORECARD,
        measures=[m.ref],
        year_on_year=False,
        monthly=True,
    )
    spc = spc_of(m, own)
    expected = own.sort_values("month")["month_value"].astype(float).reset_index(drop=True)
    assert spc.points["value"].equals(expected)  # a month with no one turning 19 has no figure
    assert set(spc.points["group"]) == {0}
    assert spc.basis == "the month's own figures, behind the projected year-end figure"
    said = spc_sentence(spc, m)
    assert f"Judged on {spc.basis}." in said and "financial year started" not in said
    assert "(new limits" not in xmr_alt_text(m, spc)  # one series across the Aprils


@pytest.fixture(scope="module")
def register(tmp_path_factory):
    """Children on the child protection register: K4 until June 2025, K1 from May 2025, K2 from November 2025 to
    20 August 2026, K3 from June 2026, K5 from 15 July 2026. At the end of March 2026 (2025-26's outturn): K1 and
    K2, 2. At the end of August 2026: K1, K3 and K5, 3; of September 2026 the same, 3."""
    root = tmp_path_factory.mktemp("register")
    plans = [("K4", "2024-01-01", "2025-06-30"), ("K1", "2025-05-10", ""), ("K2", "2025-11-01", "2026-08-20")]
    plans += [("K3", "2026-06-01", ""), ("K5", "2026-07-15", "")]
    refs = [referral(f"R{c}", c, s) for c, s, _ in plans]
    cps = [
        {
            "cp_plan_id": f"P{c}",
            "child_id": c,
            "referral_id": f"R{c}",
            "start_date": s,
            "end_date": e,
            "category": "NEG",
        }
        for c, s, e in plans
    ]
    build_store(root, {"referrals": refs, "cp_plans": cps}, extract_date="2026-10-01")
    return root / "w.duckdb"


def _scorecard_page(store, month, monkeypatch) -> str:
    from kpi import report
    from kpi.params import MonthParams

    shown = []
    monkeypatch.setattr(report, "_show", shown.append)
    r = report.report_for(month, store, MonthParams(month=month, catalogue="scorecard"))
    r.title()
    r.section("protection")
    return "\n".join(shown)


@pytest.mark.parametrize(
    "month, title, now",
    [
        ("2026-09", "Quarter 2 2026-27 (July to September 2026)", "3"),
        ("2026-08", "August 2026", "3"),
    ],
)
def test_the_scorecard_is_titled_by_its_quarter_beside_last_years_outturn(register, monkeypatch, month, title, now):
    page = _scorecard_page(register, month, monkeypatch)
    h1 = page[page.index("<h1") : page.index("</h1>")]
    assert h1.endswith(f"children's social care performance, {title}")
    # within a quarter, the page says the quarter is not over (A109); at its end, it does not
    assert ("Quarter 2 2026-27, which is not over" in page) == (month == "2026-08")
    table = page[page.index("<table") :]
    head = re.findall(r'<th scope="col">([^<]*)</th>', table)
    assert head[3:5] == ["Tolerance", "2025-26 outturn"]  # the outturn beside the months of this year
    row = re.search(r"<th scope='row'>CP/REG</th>((?:<td>[^<]*</td>)+)", table).group(1)
    cells = re.findall(r"<td>([^<]*)</td>", row)
    assert cells[3] == "2"  # K1 and K2 at the end of March 2026
    # title, target, tolerance, outturn, six months (the outturn takes a seventh's place), number (RAG: a badge)
    assert len(cells) == 4 + 6 + 1 and cells[3 + 6] == now  # this month's, the last of the six


def test_a_monthly_set_has_no_outturn(register, monkeypatch):
    from kpi import report
    from kpi.params import MonthParams

    shown = []
    monkeypatch.setattr(report, "_show", shown.append)
    r = report.report_for("2026-09", register, MonthParams(month="2026-09", catalogue="journey"))
    r.title()
    assert r.outturn is None and "outturn" not in "".join(shown) and "September 2026</h1>" in shown[0]


def test_a_public_outturn_is_suppressed_as_a_months_figure_is(register):
    from kpi import report
    from kpi.params import MonthParams

    r = report.report_for("2026-09", register, MonthParams(month="2026-09", catalogue="scorecard", public=True))
    assert r.outturn_of("CP/REG") == "[c]"  # 2 children at the end of March 2026
    assert r.outturn_of("LAC/NUM") == "not available"  # no care episodes loaded: not a zero


def test_a_volumes_kpi_page_neither_praises_nor_blames(register, monkeypatch):
    """The journey set's KPI 4 (D10), children on a child protection plan: K1, K2 and K3 at the end of June 2026,
    with K5 4 at the end of July: a rise of 1, said as a rise, with no RAG and no better or worse."""
    from kpi import report
    from kpi.params import MonthParams

    shown = []
    monkeypatch.setattr(report, "_show", shown.append)
    r = report.report_for("2026-07", register, MonthParams(month="2026-07", catalogue="journey"))
    r.kpi_page(JOURNEY["D10"])
    page = shown[0]
    assert "a volume: neither a rise nor a fall is better in itself" in page
    assert "higher is better" not in page and "lower is better" not in page
    assert "+1 since last month (a rise)." in page
    assert "Rose to 4 in July 2026 from 3 in June 2026." in page
    assert not re.search(r"improvement|deterioration|worse|concern", page.replace("neither better nor worse", ""))
