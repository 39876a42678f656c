"""Both sides of a definition change (seed 000: KPIs 6, 11 and 15 changed from December 2024).

A history entry carries the previous definition's computation (``before:``); the scorecard gives its figure
(``before_*``) for the months before the change and the overlap after it (6 months: December 2024 to May 2025),
worked out here by hand on small stores.
"""

import math

import pytest
import yaml
from helpers import build_store, referral, supervision

from kpi.catalogue import OVERLAP, CatalogueError, load, parse
from kpi.scorecard import scorecard

COUNTY = load("county")


def cp(pid, child, start, end=""):
    return {
        "cp_plan_id": pid,
        "child_id": child,
        "referral_id": f"R{child}",
        "start_date": start,
        "end_date": end,
        "category": "NEG",
        "assessment_team_id": "T",
        "team_id": "T",
    }


def rows(card, ref):
    return card[card["measure"] == ref].set_index("month")


def test_the_seed_changes_carry_the_previous_definition():
    assert OVERLAP == 6
    for ref, label in (
        ("5.2", "ever had a plan"),
        ("6.10", "health assessments up to date"),
        ("8.4", "supervision overdue"),
    ):
        change = COUNTY[ref].before
        assert (change.start, change.until, change.label) == ("2024-12", "2025-06", label)
        assert change.covers("2024-11") and change.covers("2025-05") and not change.covers("2025-06")
    assert COUNTY["8.4"].before.before.direction == "lower"  # overdue: negatively, as the seed says
    assert COUNTY["6.10"].before.before.kind == "stock" and COUNTY["6.10"].kind == "flow"
    assert COUNTY["6.10"].before.before.parts == COUNTY["6.9"].parts  # one place: 6.9's computation
    assert COUNTY["1.7"].before is None


def measure(**over):
    m = {
        "ref": "5.2",
        "title": "Repeat plans",
        "section": "process",
        "unit": "percent",
        "kind": "flow",
        "direction": "lower",
        "definition": "Repeat plans within 2 years.",
        "parts": [{"events": "cp_plans", "date": "start_date", "num": "TRUE"}],
    }
    m.update(over)
    return yaml.safe_dump({"sections": [{"key": "process", "title": "Process"}], "measures": [m]})


BEFORE = {"title": "Ever", "definition": "Any previous plan.", "label": "ever had a plan"}
PARTS = [{"events": "cp_plans", "date": "start_date", "num": "FALSE"}]


@pytest.mark.parametrize(
    "history, message",
    [
        ([{"from": "Dec 2024", "change": "x"}], "from must be a month YYYY-MM"),
        ([{"from": "2024-12", "change": "x", "was": 1}], r"unknown field\(s\) was"),
        ([{"from": "2024-12", "change": "x", "before": {**BEFORE}}], "before needs parts"),
        ([{"from": "2024-12", "change": "x", "before": {"parts": PARTS}}], "before needs title, definition, label"),
        ([{"from": "2024-12", "change": "x", "before": {**BEFORE, "parts": PARTS, "target": 5}}], "before: unknown"),
        ([{"from": "2024-12", "change": "x", "overlap": -1, "before": {**BEFORE, "parts": PARTS}}], "overlap must"),
        (
            [{"from": "2024-12", "change": "x", "before": {**BEFORE, "parts": [{"events": "cp_plans"}]}}],
            "history entry 1 before .*part 1: an events part needs `date`",
        ),
        (
            [{"from": f"2024-{m}", "change": "x", "before": {**BEFORE, "parts": PARTS}} for m in ("06", "12")],
            "only one history entry may carry `before`",
        ),
    ],
)
def test_a_bad_previous_definition_is_refused_at_load(history, message):
    with pytest.raises(CatalogueError, match=message):
        parse(measure(history=history), "test")


def test_a_previous_definition_takes_the_measure_s_own_fields_unless_it_gives_them():
    m = parse(measure(history=[{"from": "2024-12", "change": "x", "overlap": 3, "before": {**BEFORE, "parts": PARTS}}]))
    before = m["5.2"].before
    assert (before.until, before.before.ref, before.before.unit, before.before.direction) == (
        "2025-03",
        "5.2",
        "percent",
        "lower",
    )
    assert before.before.title == "Ever" and before.before.parts[0].num == "FALSE"


def repeat_plans() -> dict:
    """KPI 6's records: a previous plan 3 years before counts as "ever", not as "within 2 years"."""
    return {
        "referrals": [referral(f"R{c}", c, "2019-01-01") for c in "ABCDE"],
        "cp_plans": [
            cp("E1", "E", "2019-01-10", "2019-03-01"),
            cp("E2", "E", "2024-11-20"),  # November: ever, not within 2 years
            cp("A1", "A", "2021-01-10", "2021-06-30"),
            cp("A2", "A", "2024-12-05"),  # ended 3 years 5 months before: ever, not within 2 years
            cp("B1", "B", "2023-06-01", "2023-12-31"),
            cp("B2", "B", "2024-12-10"),  # within 2 years, and ever
            cp("C1", "C", "2024-12-15"),  # a first plan
            cp("D1", "D", "2020-02-01", "2020-05-01"),
            cp("D2", "D", "2025-06-02"),  # ever, but June 2025 is after the overlap
        ],
    }


@pytest.fixture(scope="module")
def repeats(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("repeats"), repeat_plans())


def test_repeat_plans_ever_and_within_two_years(repeats):
    ctx = repeats
    card = rows(scorecard("2025-06", 8, context=ctx, measures=["5.2"], year_on_year=False, targets=None), "5.2")
    nov, dec, june = card.loc["2024-11"], card.loc["2024-12"], card.loc["2025-06"]
    assert (nov.numerator, nov.denominator, nov.before_numerator, nov.before_denominator) == (0, 1, 1, 1)
    assert (dec.numerator, dec.denominator, dec.before_numerator, dec.before_denominator) == (1, 3, 2, 3)
    assert dec.display == "33%" and dec.before_display == "67%"
    assert (june.numerator, june.denominator) == (0, 1) and math.isnan(june.before_value)
    assert june.before_display is None
    may = card.loc["2025-05"]  # in the overlap, no plan started: counted as none on both, not missing
    assert may.before_numerator == 0 == may.numerator
    # the RAG stays on the current definition: 33% against target 10%, tolerance 15%
    assert (dec.target, dec.tolerance, dec.rag) == (10, 15, "red")


def episode(child, start):
    return {
        "episode_id": f"E{child}",
        "child_id": child,
        "period_id": f"P{child}",
        "start_date": start,
        "end_date": "",
        "reason_new_episode": "S",
        "legal_status": "C2",
        "placement_type": "U4",
        "placement_provider": "PR1",
        "in_area": "Y",
        "registered": "Y",
    }


def ha(hid, child, kind, due, done=""):
    return {
        "health_assessment_id": hid,
        "child_id": child,
        "assessment_type": kind,
        "due_date": due,
        "completed_date": done,
    }


def test_health_assessments_up_to_date_and_initial_ones_in_timescales(tmp_path):
    """KPI 11, December 2024: initial health assessments due in the month completed by their due date (new), and
    children in care 12 months or more with one in the 12 months to the month end (before)."""
    ctx = build_store(
        tmp_path,
        {
            "care_episodes": [
                episode("H1", "2023-01-01"),
                episode("H2", "2023-03-01"),
                episode("H5", "2022-05-01"),
                episode("H3", "2024-11-10"),
                episode("H4", "2024-11-20"),
            ],
            "health_assessments": [
                ha("1", "H1", "RHA", "2024-06-01", "2024-06-01"),  # up to date
                ha("2", "H2", "RHA", "2023-10-01", "2023-10-01"),  # 14 months before: not up to date
                ha("5", "H5", "RHA", "2024-03-01", "2024-03-01"),  # up to date
                ha("3", "H3", "IHA", "2024-12-08", "2024-12-05"),  # in time
                ha("4", "H4", "IHA", "2024-12-18", "2025-01-05"),  # late
            ],
        },
    )
    card = rows(scorecard("2024-12", 1, context=ctx, measures=["6.10"], year_on_year=False, targets=None), "6.10")
    dec = card.loc["2024-12"]
    assert (dec.numerator, dec.denominator) == (1, 2) and dec.display == "50%"
    # H1, H5 of H1, H2, H5 (H3 and H4 are in care less than 12 months)
    assert (dec.before_numerator, dec.before_denominator) == (2, 3) and dec.before_display == "67%"


def test_supervision_completed_and_overdue(tmp_path):
    """KPI 15: children whose supervision is overdue (before) against those whose supervision is done (now)."""

    ctx = build_store(
        tmp_path,
        {
            "staff": [
                {
                    "staff_id": "SW1",
                    "role": "SW",
                    "team_id": "T",
                    "employment": "PERM",
                    "fte": 1,
                    "newly_qualified": "N",
                    "start_date": "2020-01-01",
                }
            ],
            "case_allocations": [
                {"allocation_id": f"A{c}", "child_id": c, "staff_id": "SW1", "start_date": "2024-06-01"}
                for c in ("V1", "V2", "V3", "V4")
            ],
            "supervisions": [
                supervision("1", "V1", "2024-12-15", "2024-12-10"),  # done
                supervision("2", "V2", "2024-12-15"),  # overdue
                supervision("3", "V3", "2024-11-15", "2024-11-15"),  # done
                # V4: none due in the 3 months: up to date, not overdue
            ],
        },
        extract_date="2025-07-01",
    )
    card = rows(scorecard("2025-06", 7, context=ctx, measures=["8.4"], year_on_year=False, targets=None), "8.4")
    dec = card.loc["2024-12"]
    assert (dec.numerator, dec.denominator, dec.before_numerator, dec.before_denominator) == (3, 4, 1, 4)
    assert dec.display == "75.0%" and dec.before_display == "25.0%"
    may = card.loc["2025-05"]  # the overlap's last month: nothing due since February, none overdue
    assert (may.numerator, may.before_numerator, may.before_denominator) == (4, 0, 4)
    assert math.isnan(card.loc["2025-06", "before_value"])  # after the overlap: the current definition alone


def test_the_public_version_suppresses_the_previous_definition_s_small_counts():
    import pandas as pd

    from kpi.privacy import SUPPRESSED, publish

    card = pd.DataFrame(
        {
            "measure": ["5.2"] * 4,
            "month": ["2024-09", "2024-10", "2024-11", "2024-12"],
            "unit": ["percent"] * 4,
            "numerator": [10, 10, 10, 10],
            "denominator": [40, 40, 40, 40],
            "value": [25.0] * 4,
            "display": ["25%"] * 4,
            "calculation": ["10/40 = 0.25"] * 4,
            # 20/40: published; 13/40: 3 more children than the current definition counts ("ever" holds
            # "within 2 years": the difference is a count); 3/40: a small count; 10/44: 4 more in the denominator
            "before_numerator": [20, 13, 3, 10],
            "before_denominator": [40, 40, 40, 44],
            "before_value": [50.0, 32.5, 7.5, 22.7],
            "before_display": ["50%", "33%", "8%", "23%"],
        }
    )
    out = publish(card, COUNTY).set_index("month")
    assert out.loc["2024-09", "before_display"] == "50%" and out.loc["2024-09", "before_value"] == 50
    for m in ("2024-10", "2024-11", "2024-12"):
        assert out.loc[m, "before_display"] == SUPPRESSED and pd.isna(out.loc[m, "before_numerator"]), m
    assert (out["display"] == "25%").all()  # the current figures have no small count


def test_the_kpi_page_chart_and_appendix_show_both_definitions(repeats, monkeypatch):
    from kpi import report as report_mod
    from kpi.charts import kpi_chart
    from kpi.params import MonthParams

    card = scorecard("2025-02", 24, context=repeats, measures=["5.2"], year_on_year=False, targets=None)
    shown = []
    monkeypatch.setattr(report_mod, "_show", shown.append)
    r = report_mod.Report("2025-02", card, COUNTY, MonthParams(month="2025-02"), {"snapshot_id": 1}, public=False)
    m = COUNTY["5.2"]
    r.kpi_page(m)
    both = shown[-1].split('<table class="both">')[1].split("</table>")[0]
    assert "Previous (before December 2024: ever had a plan)" in both
    assert "<th scope='row'>December 2024</th><td>33%</td><td>67%</td>" in both  # 1/3 within 2 years, 2/3 ever
    assert "November 2024" not in both  # before the change: the chart shows it, the overlap table does not
    pts = r.spc("5.2").points.set_index("period")  # SPC: the current definition, new limits from the change
    assert pts.loc["2024-12", "group"] == pts.loc["2024-11", "group"] + 1 and pts.loc["2024-12", "value"] == 100 / 3
    svg = kpi_chart(m, r.series("5.2")).decode()
    assert 'id="before-definition"' in svg and "before December 2024: ever had a plan" in svg
    r._table([m], "Scorecard", "scorecard-process")
    dec = '<td>33%<br><span class="before">ever had a plan: 67%</span></td>'
    nov = '<td>0%<br><span class="before">ever had a plan: 100%</span></td>'
    assert dec in shown[-1] and nov in shown[-1]


def test_the_workbook_has_a_row_for_the_previous_definition(tmp_path):
    import pandas as pd
    from openpyxl import load_workbook

    from kpi import workbook

    def row(month, n, d, bn, bd):
        return {
            "measure": "5.2",
            "month": month,
            "unit": "percent",
            "numerator": n,
            "denominator": d,
            "value": 100 * n / d,
            "display": f"{100 * n / d:.0f}%",
            "calculation": "",
            "target": 10.0,
            "tolerance": 15.0,
            "rag": "red",
            "rag_text": "red",
            "before_numerator": bn,
            "before_denominator": bd,
            "before_value": None if bn is None else 100 * bn / bd,
            "before_display": None if bn is None else f"{100 * bn / bd:.0f}%",
        }

    card = pd.DataFrame([row("2025-05", 10, 40, 20, 40), row("2025-06", 8, 40, None, None)])
    wb = load_workbook(workbook.write(card, COUNTY, tmp_path / "s.xlsx"))
    rows = {r[0]: r for r in wb["Scorecard"].iter_rows(min_row=2, values_only=True)}
    assert rows["5.2"][7:] == (25.0, "Red", 20.0, "Red")
    assert rows["5.2 before"][2].startswith("Previous definition (before December 2024: ever had a plan)")
    assert rows["5.2 before"][7:] == (50.0, None, None, None)  # no RAG; June is after the overlap
    counts = {r[0]: r for r in wb["Counts"].iter_rows(min_row=2, values_only=True)}
    assert counts["5.2 before"][7:] == (20, 40, None, None)
    card.loc[0, ["before_numerator", "before_value", "before_display"]] = [None, None, "[c]"]  # suppressed
    wb = load_workbook(workbook.write(card, COUNTY, tmp_path / "p.xlsx"))
    rows = {r[0]: r for r in wb["Scorecard"].iter_rows(min_row=2, values_only=True)}
    assert rows["5.2 before"][7] == "[c]"


def test_kpi_measures_shows_the_previous_definition_beside_the_figure(tmp_path):
    import io
    from contextlib import redirect_stdout

    from kpi.cli import main

    build_store(tmp_path, repeat_plans()).con.close()
    out = io.StringIO()
    with redirect_stdout(out):
        main(["measures", "--store", str(tmp_path / "w.duckdb"), "--month", "2024-12"])
    lines = out.getvalue().splitlines()
    assert lines[0].split()[-1] == "previous"
    (row,) = [line for line in lines if line.split()[0] == "5.2"]
    assert row.split()[4] == "33%" and row.split()[-1] == "67%"  # "5.2 KPI 6 2024-12 33%": 1/3 within 2 years, 2/3 ever
    (other,) = [line for line in lines if line.split()[0] == "1.7"]
    assert other[lines[0].index("previous") :].strip() == ""  # a measure that did not change: none
