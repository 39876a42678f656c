"""Each measure family on small hand-built record sets, against answers worked out by hand.

Working days use England and Wales bank holidays: Good Friday 2024-03-29, Easter Monday 2024-04-01,
early May 2024-05-06, spring 2024-05-27, Christmas 2024-12-25/26, New Year 2025-01-01.
"""

import pandas as pd
import pytest
from helpers import (
    build_store,
    figure,
    leaver_contacts,
    referral,
    s47_rows,
    screened_contact,
    supervision,
    within_20_miles,
)

from kpi.catalogue import load
from kpi.engine import Context, _calendar_joined, _complete, compute, finish
from kpi.store import connect


def test_re_referrals_within_12_months(tmp_path):
    ctx = build_store(
        tmp_path,
        {
            "referrals": [
                referral("A1", "A", "2023-03-15"),
                referral("A2", "A", "2024-03-15"),  # exactly 12 months: the anniversary is within (A25)
                referral("B1", "B", "2023-03-16"),
                referral("B2", "B", "2024-03-15"),  # within
                referral("C1", "C", "2024-03-01"),
                referral("D1", "D", "2024-03-20"),
                referral("D2", "D", "2024-03-20"),  # same day: the second is a repeat
                referral("F1", "F", "2024-03-31"),  # last day of the month: in March
                referral("G1", "G", "2024-04-01"),  # first day of April: not in March
                referral("E1", "E", "2024-02-29"),
                referral("E2", "E", "2025-02-28"),  # leap day, 12 months back is 02-28
            ]
        },
    )
    march = figure(ctx, "1.7", "2024-03")
    assert (march.numerator, march.denominator) == (3, 6)  # A2, B2, D2 of A2 B2 C1 D1 D2 F1
    assert march.display == "50%" and march.calculation == "3/6 = 0.50"
    feb = figure(ctx, "1.7", "2025-02")
    assert (feb.numerator, feb.denominator) == (1, 1)


def assessment(aid, child, start, authorised, **kw):
    return {
        "assessment_id": aid,
        "child_id": child,
        "referral_id": f"R{child}",
        "assessment_type": "INITIAL",
        "start_date": start,
        "authorised_date": authorised,
        "outcome": "CLOSE",
        **kw,
    }


def test_assessments_in_45_working_days_skip_bank_holidays(tmp_path):
    # From 2024-04-02 the 45th working day is 2024-06-06 (6 and 27 May are bank holidays; without them it
    # would be 2024-06-04).
    ctx = build_store(
        tmp_path,
        {
            "referrals": [referral(f"R{c}", c, "2024-04-01") for c in "XYZ"],
            "assessments": [
                assessment("AX", "X", "2024-04-02", "2024-06-06"),  # 45 working days
                assessment("AY", "Y", "2024-04-02", "2024-06-07"),  # 46
                assessment("AZ", "Z", "2024-04-02", "2024-05-31"),  # authorised in May
            ],
        },
    )
    june = figure(ctx, "2.2", "2024-06")
    assert (june.numerator, june.denominator) == (1, 2)
    may = figure(ctx, "2.2", "2024-05")
    assert (may.numerator, may.denominator) == (1, 1)


def test_icpc_within_15_working_days_of_the_strategy_discussion(tmp_path):
    # Held Friday 2024-12-20: the 15th working day after is 2025-01-15 (25, 26 Dec and 1 Jan are holidays).
    rows = {"referrals": [], "strategy_discussions": [], "s47_enquiries": [], "icpcs": []}
    for c, conf in (("P", "2025-01-15"), ("Q", "2025-01-16")):
        rows["referrals"].append(referral(f"R{c}", c, "2024-12-18"))
        rows["strategy_discussions"].append(
            {
                "strategy_id": f"SD{c}",
                "child_id": c,
                "referral_id": f"R{c}",
                "decision_date": "2024-12-19",
                "held_date": "2024-12-20",
                "outcome": "S47",
            }
        )
        rows["s47_enquiries"].append(
            {
                "s47_id": f"S{c}",
                "child_id": c,
                "referral_id": f"R{c}",
                "strategy_id": f"SD{c}",
                "start_date": "2024-12-20",
                "end_date": "2025-01-10",
                "outcome": "ICPC",
            }
        )
        rows["icpcs"].append(
            {"icpc_id": f"I{c}", "child_id": c, "s47_id": f"S{c}", "conference_date": conf, "plan_made": "Y"}
        )
    ctx = build_store(tmp_path, rows)
    jan = figure(ctx, "3.3", "2025-01")
    assert (jan.numerator, jan.denominator) == (1, 2)
    assert jan.display == "50%"


def test_s47_to_icpc_counts_enquiries_by_the_month_they_started(tmp_path):
    # Seed 003's 3.1 is "1/205": over the 205 enquiries started that 3.0 counts, not those that ended.
    enquiries = [
        (
            "A",
            "2024-02-29",
            "2024-03-12",
            "ICPC",
        ),  # started on February's last day: February's, though it ended in March
        ("B", "2024-03-01", "2024-03-20", "ICPC"),  # March's first day
        ("C", "2024-03-10", "2024-03-28", "NFA"),
        ("D", "2024-03-31", "2024-04-15", "ICPC"),  # March's last day, concluded in April
        ("E", "2024-03-25", "", ""),  # not concluded: counted over, not yet as progressing
        ("F", "2024-04-01", "2024-04-20", "ICPC"),  # April's
    ]
    ctx = build_store(tmp_path, s47_rows(enquiries), extract_date="2024-05-01")
    march = figure(ctx, "3.1", "2024-03")
    assert (march.numerator, march.denominator) == (2, 4)  # B, D of B C D E; A is February's, F April's
    assert march.calculation == "2/4 = 0.50"
    assert (figure(ctx, "3.0", "2024-03").numerator, march.denominator) == (4, 4)  # the same enquiries as 3.0
    feb = figure(ctx, "3.1", "2024-02")
    assert (feb.numerator, feb.denominator) == (1, 1)


def cp(pid, child, start, end="", team="T", **kw):
    return {
        "cp_plan_id": pid,
        "child_id": child,
        "referral_id": f"R{child}",
        "start_date": start,
        "end_date": end,
        "category": "NEG",
        "assessment_team_id": team,
        "team_id": "T",
        **kw,
    }


def test_repeat_child_protection_plans_within_two_years(tmp_path):
    ctx = build_store(
        tmp_path,
        {
            "referrals": [referral(f"R{c}", c, "2021-12-01") for c in ("P", "Q", "R", "L1", "L2")],
            "cp_plans": [
                cp("P1", "P", "2022-01-10", "2022-06-30"),
                cp("P2", "P", "2024-06-15", team="T2"),  # ended in 2 years: repeat
                cp("Q1", "Q", "2022-01-10", "2022-06-10"),
                cp("Q2", "Q", "2024-06-20"),  # ended 2 years + 10 days before
                cp("R1", "R", "2024-06-05"),  # first plan
                # leap day: 2 years before 2024-02-29 is 2022-02-28
                cp("L11", "L1", "2021-12-10", "2022-02-28"),
                cp("L12", "L1", "2024-02-29"),  # not within
                cp("L21", "L2", "2021-12-10", "2022-03-01"),
                cp("L22", "L2", "2024-02-29"),  # within
            ],
        },
    )
    june = figure(ctx, "5.2", "2024-06")
    assert (june.numerator, june.denominator) == (1, 3) and june.display == "33%"
    feb = figure(ctx, "5.2", "2024-02")
    assert (feb.numerator, feb.denominator) == (1, 2)
    by_team = figure(ctx, "5.2", "2024-06", by="team")  # the assessment team that brought the child to conference
    assert (by_team.loc["T2", "numerator"], by_team.loc["T2", "denominator"]) == (1, 1)
    assert (by_team.loc["T", "numerator"], by_team.loc["T", "denominator"]) == (0, 2)


def ep(eid, child, period, start, end, rne, place="U4", **kw):
    return {
        "episode_id": eid,
        "child_id": child,
        "period_id": period,
        "start_date": start,
        "end_date": end,
        "reason_new_episode": rne,
        "legal_status": "C2",
        "placement_type": place,
        "placement_provider": "PR1",
        "in_area": "Y",
        "registered": "Y",
        **kw,
    }


def test_three_or_more_placements_in_the_year(tmp_path):
    # December 2024: the 12 months are 2024-01-01 to 2024-12-31.
    ctx = build_store(
        tmp_path,
        {
            "care_episodes": [
                ep("K1a", "K1", "PK1", "2023-06-01", "2024-03-01", "S"),
                ep("K1b", "K1", "PK1", "2024-03-01", "2024-08-01", "P", "U6"),
                ep("K1c", "K1", "PK1", "2024-08-01", "2024-09-01", "L", "U6"),  # legal status only: same placement
                ep("K1d", "K1", "PK1", "2024-09-01", "", "P", "K2"),  # three placements in the year
                ep("K2a", "K2", "PK2", "2023-01-01", "2024-01-01", "S"),  # ended on the first day: in the year
                ep("K2b", "K2", "PK2", "2024-01-01", "", "P"),  # two
                ep("K3a", "K3", "PK3", "2023-01-01", "2023-12-31", "S"),  # ended before the year
                ep("K3b", "K3", "PK3", "2023-12-31", "2024-06-01", "P"),
                ep("K3c", "K3", "PK3", "2024-06-01", "", "P"),  # two
            ]
        },
    )
    dec = figure(ctx, "6.6", "2024-12")
    assert (dec.numerator, dec.denominator) == (1, 3)


def test_the_latest_record_is_picked_after_the_filter_and_by_id_on_a_tie(tmp_path, monkeypatch):
    """A stock counted by child reads the child's latest episode open at the month end: the latest started, of two
    started the same day the greater id, among those the filter keeps. Picked by a grouping (engine._latest) as by
    the window it replaced."""
    from kpi.engine import _cohort, _latest

    ctx = build_store(
        tmp_path,
        {
            "care_episodes": [
                ep("L1a", "L1", "PL1", "2024-01-01", "", "S", distance_miles="5"),
                ep("L1b", "L1", "PL1", "2024-01-01", "", "S", distance_miles="30"),  # same day, greater id: latest
                ep("L2a", "L2", "PL2", "2023-06-01", "", "S", distance_miles="30"),
                ep("L2b", "L2", "PL2", "2024-02-01", "", "P", "K2", distance_miles="5"),  # latest, unless filtered
                ep("L3a", "L3", "PL3", "2023-06-01", "2024-03-01", "S", distance_miles="50"),  # ended
                ep("L3b", "L3", "PL3", "2024-03-01", "", "P", distance_miles="10"),
            ]
        },
    )
    within = "t.distance_miles <= 20"
    cat = within_20_miles({"A": {"num": within}, "B": {"num": within, "where": "t.placement_type <> 'K2'"}})
    assert all(_latest([_cohort(cat[r], cat[r].parts[0])]) for r in ("A", "B"))
    grouped = compute(ctx, cat, ["2024-12"]).set_index("measure")
    # A: L1b (30 miles), L2b (5), L3b (10); B: L1b, L2a (30: L2b is filtered out), L3b
    assert grouped.loc["A", ["numerator", "denominator"]].tolist() == [2, 3]
    assert grouped.loc["B", ["numerator", "denominator"]].tolist() == [1, 3]
    monkeypatch.setattr("kpi.engine._latest", lambda cohorts: None)  # the window
    pd.testing.assert_frame_equal(compute(ctx, cat, ["2024-12"]).set_index("measure"), grouped)


def test_contexts_on_two_snapshots_of_one_store_keep_their_own_workings(tmp_path):
    # Snapshot 1: K1 in three placements in 2024; snapshot 2: K1 in one. Connections to one store in one process
    # share their attached databases, so what each Context works out (here the placement spells) must be its own.
    three = [
        ep("K1a", "K1", "PK1", "2023-06-01", "2024-03-01", "S"),
        ep("K1b", "K1", "PK1", "2024-03-01", "2024-08-01", "P", "U6"),
        ep("K1c", "K1", "PK1", "2024-08-01", "", "P", "K2"),
    ]
    build_store(tmp_path, {"care_episodes": three}).con.close()
    ctx2 = build_store(tmp_path, {"care_episodes": [ep("K1a", "K1", "PK1", "2023-06-01", "", "S")]})
    con1, snap1 = connect(tmp_path / "w.duckdb", snapshot=1)
    ctx1 = Context.prepare(con1, snap1)  # after ctx2's
    shared = "SELECT database_name FROM duckdb_databases() WHERE database_name LIKE 'kpi_work_%' ORDER BY 1"
    assert con1.execute(shared).fetchall() == ctx2.con.execute(shared).fetchall()  # both see both
    assert len(con1.execute(shared).fetchall()) == 2
    assert (figure(ctx2, "6.6", "2024-12").numerator, figure(ctx1, "6.6", "2024-12").numerator) == (0, 1)
    assert figure(ctx2, "6.6", "2024-12").numerator == 0
    # a Context prepared again on a connection replaces the one before it: its working is not kept twice
    ctx1 = Context.prepare(con1, snap1)
    assert len(con1.execute(shared).fetchall()) == 2
    assert figure(ctx1, "6.6", "2024-12").numerator == 1


def test_long_term_placement_stability(tmp_path):
    # December 2024: under 16, in care since 2022-06-30 or before, current placement since 2022-12-31 or before.
    ctx = build_store(
        tmp_path,
        {
            "children": [{"child_id": c, "date_of_birth": "2012-01-01"} for c in ("S1", "S2", "S4", "S5")]
            + [{"child_id": "S3", "date_of_birth": "2008-06-01"}],
            "care_episodes": [
                ep("S1a", "S1", "P1", "2022-01-01", "2023-05-01", "S"),
                ep("S1b", "S1", "P1", "2023-05-01", "", "L"),  # same placement since 2022-01-01: stable
                ep("S2a", "S2", "P2", "2022-06-30", "2023-01-01", "S"),  # in care exactly 30 months: in the cohort
                ep("S2b", "S2", "P2", "2023-01-01", "", "P"),  # placement under 2 years
                ep("S3a", "S3", "P3", "2015-01-01", "", "S"),  # aged 16: out of the cohort
                ep("S4a", "S4", "P4", "2022-07-01", "", "S"),  # in care under 2.5 years: out
                ep("S5a", "S5", "P5", "2021-01-01", "2022-12-31", "S"),
                ep("S5b", "S5", "P5", "2022-12-31", "", "P"),  # placement exactly 2 years: stable
            ],
        },
    )
    dec = figure(ctx, "6.7", "2024-12")
    assert (dec.numerator, dec.denominator) == (2, 3)
    assert dec.display == "67%"


def test_under_13s_in_residential_care(tmp_path):
    dob = {
        "R1": "2012-12-31",
        "R2": "2011-12-31",
        "R3": "2015-05-01",
        "R4": "2015-05-01",
        "R5": "2015-05-01",
        "R6": "2012-02-29",
    }
    place = {"R1": "K2", "R2": "K2", "R3": "U4", "R4": "S1", "R5": "H5", "R6": "R1"}
    ctx = build_store(
        tmp_path,
        {
            "children": [{"child_id": c, "date_of_birth": d} for c, d in dob.items()],
            "care_episodes": [ep(f"E{c}", c, f"P{c}", "2024-01-01", "", "S", place[c]) for c in dob],
        },
    )
    # R2 turns 13 on 2024-12-31: out. R1 (12), R4 (S1) and R6 (R1, born on a leap day) are in residential care;
    # R3 is fostered and R5 semi-independent (H5 is not residential care).
    dec = figure(ctx, "6.5", "2024-12")
    assert (dec.numerator, dec.denominator) == (3, 5)


def test_care_leavers_by_age_band(tmp_path):
    leavers = {  # child: (date of birth, service end, contacts)
        "L1": ("2007-06-01", "", [("2024-12-01", "YES", "F2", "Y")]),  # 17, in touch
        "L2": ("2006-01-01", "", [("2024-09-10", "YES", "F4", "Y")]),  # 18, last contact 16 weeks ago exactly
        "L3": ("2005-01-01", "", [("2024-10-01", "YES", "F4", "Y"), ("2024-11-15", "NO", "", "")]),  # 19
        "L4": ("2003-12-31", "", [("2024-12-31", "YES", "G5", "N")]),  # 21 on the month end, in touch
        "L5": ("2002-06-01", "", [("2024-12-01", "YES", "F1", "Y")]),  # 22, in touch
        "L6": ("2004-01-01", "2024-12-31", [("2024-12-01", "YES", "F4", "Y")]),  # service ended on the month end
    }
    ctx = build_store(
        tmp_path,
        {
            "children": [{"child_id": c, "date_of_birth": v[0]} for c, v in leavers.items()],
            "care_leavers": [
                {"child_id": c, "status": "FORMER", "left_care_date": "2024-01-01", "service_end_date": v[1]}
                for c, v in leavers.items()
            ],
            "care_leaver_contacts": leaver_contacts({c: v[2] for c, v in leavers.items()}),
        },
    )
    n = {ref: figure(ctx, ref, "2024-12") for ref in ("7.0", "7.1", "7.2", "7.3", "7.6")}
    assert (n["7.0"].numerator, n["7.0"].denominator) == (3, 5)  # L1 L4 L5 of L1-L5
    assert (n["7.1"].numerator, n["7.1"].denominator) == (1, 2)  # L1 of L1 L2
    assert (n["7.2"].numerator, n["7.2"].denominator) == (1, 2)  # L4 of L3 L4
    assert (n["7.3"].numerator, n["7.3"].denominator) == (2, 5)  # suitable: L1 L5
    assert (n["7.6"].numerator, n["7.6"].denominator) == (2, 5)  # EET: L1 (F2) L5 (F1)
    assert n["7.0"].display == "60.0%" and n["7.0"].calculation == "3/5 = 0.600"
    # Over three months (each care leaver's latest contact at each month end is worked out once for them):
    # October L2 (10 Sep) and L3 (1 Oct) of all six; November L2 only (L3's latest, 15 Nov, is not in touch);
    # December as above, L6's service having ended on the month end.
    run = compute(ctx, load("county"), ["2024-10", "2024-11", "2024-12"], refs=["7.0", "7.3"]).set_index("measure")
    assert run.loc["7.0", ["numerator", "denominator"]].values.tolist() == [[2, 6], [1, 6], [3, 5]]
    assert run.loc["7.3", "numerator"].tolist() == [2, 1, 2]  # suitable: L2 L3, L2, L1 L5


def test_caseload_weights_newly_qualified_social_workers(tmp_path):
    staff = [  # id, role, fte, newly qualified, start, end, cases open at the month end
        ("SW1", "SW", 1.0, "N", "2020-01-01", "", 20),
        ("SW2", "SW", 0.8, "N", "2020-01-01", "", 15),
        ("NQ1", "SW", 1.0, "Y", "2024-09-22", "", 8),  # in the ASYE year: counts 0.6
        ("NQ2", "SW", 1.0, "Y", "2023-09-22", "", 10),  # ASYE year over: counts 1
        ("TM1", "TM", 1.0, "N", "2020-01-01", "", 3),  # a manager: neither cases nor FTE count
        ("SW3", "SW", 1.0, "N", "2020-01-01", "2024-12-31", 0),  # left on the month end
    ]
    rows = {"staff": [], "case_allocations": []}
    for sid, role, fte, nq, start, end, cases in staff:
        rows["staff"].append(
            {
                "staff_id": sid,
                "role": role,
                "team_id": "T",
                "employment": "PERM",
                "fte": fte,
                "newly_qualified": nq,
                "start_date": start,
                "end_date": end,
            }
        )
        for k in range(cases):
            rows["case_allocations"].append(
                {
                    "allocation_id": f"{sid}-{k}",
                    "child_id": f"C{sid}{k}",
                    "staff_id": sid,
                    "start_date": "2024-10-01",
                    "end_date": "",
                }
            )
    rows["case_allocations"].append(
        {
            "allocation_id": "closed",
            "child_id": "Cx",
            "staff_id": "SW1",
            "start_date": "2024-10-01",
            "end_date": "2024-12-31",
        }
    )  # closed on the month end
    ctx = build_store(tmp_path, rows)
    dec = figure(ctx, "8.3", "2024-12")
    assert dec.numerator == 53  # 20 + 15 + 8 + 10
    assert dec.denominator == pytest.approx(3.4)  # 1 + 0.8 + 0.6 + 1
    assert dec.display == "15.59" and dec.calculation == "53/3.4 = 15.59"


def visit(vid, child, due, done="", plan="CIN"):
    return {"visit_id": vid, "child_id": child, "plan_type": plan, "due_date": due, "visit_date": done}


def test_cin_visits_in_timescale(tmp_path):
    # 4.1: children on a CIN plan at the month end whose latest CIN visit due by then (and after the plan began)
    # was made by then; a child with no such visit due counts as up to date.
    plans = {"V1": "2024-06-01", "V2": "2024-06-01", "V3": "2024-06-01", "V4": "2024-12-15", "V5": "2024-06-01"}
    plans |= {"V6": "2024-06-01", "V7": "2024-06-01"}
    ctx = build_store(
        tmp_path,
        {
            "referrals": [referral(f"R{c}", c, "2024-05-01") for c in plans],
            "cin_plans": [
                {"cin_plan_id": f"P{c}", "child_id": c, "referral_id": f"R{c}", "start_date": d}
                for c, d in plans.items()
            ],
            "visits": [
                visit("1", "V1", "2024-12-10", "2024-12-09"),  # made a day early
                visit("2", "V2", "2024-12-20"),  # not made
                visit("3", "V3", "2024-11-01", "2025-01-05"),  # made after the month end
                visit("4", "V4", "2024-11-20"),  # due before this plan began: not asked of it
                visit("5", "V5", "2024-12-05", "2024-12-06"),  # two due the same day, one made (A39)
                visit("6", "V5", "2024-12-05"),
                visit("7", "V6", "2024-10-01"),  # missed, but the next one due was made
                visit("8", "V6", "2024-12-01", "2024-12-02"),
                visit("9", "V7", "2024-12-01", plan="CP"),  # a CP visit is not a CIN visit
            ],
        },
    )
    run = compute(ctx, load("county"), ["2024-11", "2024-12"], refs=["4.1"]).set_index("month")
    # November: V4's plan has not begun; V3 (due 1 Nov) and V6 (due 1 Oct) are out of time, V1 V2 V5 V7 have
    # nothing due yet. December: V2 and V3 out of time.
    assert run[["numerator", "denominator"]].values.tolist() == [[4, 6], [5, 7]]


def test_visits_due_before_the_months_asked(tmp_path):
    # Visits due before the first month asked still decide a month end: a missed one is out of time until made
    # or followed by another due, and one followed (or made) before the months is not.
    kids = "ABCDE"
    ctx = build_store(
        tmp_path,
        {
            "referrals": [referral(f"R{c}", c, "2024-04-01") for c in kids],
            "cin_plans": [
                {"cin_plan_id": f"P{c}", "child_id": c, "referral_id": f"R{c}", "start_date": "2024-05-01"}
                for c in kids
            ],
            "visits": [
                visit("1", "A", "2024-09-01"),  # missed, then the next one due made
                visit("2", "A", "2024-10-01", "2024-10-02"),
                visit("3", "B", "2024-10-01", "2024-10-03"),  # two due the same day, one made (A39)
                visit("4", "B", "2024-10-01"),
                visit("5", "C", "2024-09-01"),  # missed, nothing due after
                visit("6", "D", "2024-06-01", "2024-12-10"),  # made late, in December
                visit("7", "E", "2024-09-15"),  # missed, then the next one due made early, before it
                visit("8", "E", "2024-10-01", "2024-09-25"),
            ],
        },
    )
    both = compute(ctx, load("county"), ["2024-11", "2024-12"], refs=["4.1"]).set_index("month")
    # November: C and D out of time; December: C
    assert both[["numerator", "denominator"]].values.tolist() == [[3, 5], [4, 5]]
    december = compute(ctx, load("county"), ["2024-12"], refs=["4.1"]).set_index("month")
    assert december[["numerator", "denominator"]].values.tolist() == [[4, 5]]


def test_supervision_in_timescale(tmp_path):
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
                },
                {
                    "staff_id": "TM1",
                    "role": "TM",
                    "team_id": "T",
                    "employment": "PERM",
                    "fte": 1,
                    "newly_qualified": "N",
                    "start_date": "2020-01-01",
                },
            ],
            "case_allocations": [
                {
                    "allocation_id": f"A{c}",
                    "child_id": c,
                    "staff_id": "TM1" if c == "V5" else "SW1",
                    "start_date": "2024-06-01",
                }
                for c in ("V1", "V2", "V3", "V4", "V5", "V6")
            ]
            + [  # a second allocation open at the month end: still one child
                {"allocation_id": "AV1b", "child_id": "V1", "staff_id": "SW1", "start_date": "2024-09-01"},
                {"allocation_id": "AV2b", "child_id": "V2", "staff_id": "TM1", "start_date": "2024-09-01"},
            ],
            "supervisions": [
                supervision("1", "V1", "2024-11-15", "2024-11-10"),
                supervision("2", "V1", "2024-12-15", "2024-12-20"),  # latest done
                supervision("3", "V2", "2024-11-15", "2024-11-15"),
                supervision("4", "V2", "2024-12-15"),  # latest not done
                supervision("5", "V3", "2024-12-31", "2025-01-02"),  # done after the month end
                supervision("6", "V4", "2024-09-30", "2024-09-20"),  # nothing due in the 3 months: up to date
                # two due the same day, one recorded: done (A39), whichever row the database meets first
                supervision("7", "V6", "2024-12-10"),
                supervision("8", "V6", "2024-12-10", "2024-12-05"),
            ],
        },
        extract_date="2025-02-01",
    )
    dec = figure(ctx, "8.4", "2024-12")
    assert (dec.numerator, dec.denominator) == (3, 5)  # V1 V4 V6 of V1-V4, V6 (V5 is held by a manager)


def test_stocks_at_the_month_end_and_flows_annualised(tmp_path):
    ctx = build_store(
        tmp_path,
        {
            "referrals": [referral(f"R{c}", c, "2024-01-01") for c in ("A", "B", "C")],
            "cp_plans": [
                cp("A1", "A", "2024-01-01", "2024-03-31"),  # ends on the month end: not open at it
                cp("B1", "B", "2024-03-31"),  # starts on the month end: open
                cp("C1", "C", "2024-02-01", "2024-04-01"),
            ],
            "care_episodes": [
                ep("E1", "A", "P1", "2024-03-01", "", "S"),
                ep("E2", "B", "P2", "2024-03-31", "", "S"),
                ep("E3", "C", "P3", "2024-04-01", "", "S"),
            ],
        },
    )
    cp_march = figure(ctx, "5.0", "2024-03")
    assert (cp_march.numerator, cp_march.denominator) == (2, 10000)  # the population of 2024
    assert cp_march.calculation == "(2/10000)*10000 = 2"
    starts = figure(ctx, "6.1", "2024-03")
    assert starts.numerator == 2 and starts.value == pytest.approx(24)  # 2 x 12 / 10,000 x 10,000
    assert starts.calculation == "((2*12)/10000)*10000 = 24"
    by_loc = figure(ctx, "5.0", "2024-03", by="locality")  # rates by locality use that locality's children
    assert by_loc.loc["N", "denominator"] == 6000 and by_loc.loc["N", "numerator"] == 2


def test_children_in_need_counted_once_at_the_month_end(tmp_path):
    # 4.0 and 4.2 count children, not referrals: a child with two episodes open at the month end is one child
    ctx = build_store(
        tmp_path,
        {
            "children": [
                {"child_id": "D", "date_of_birth": "2007-06-01"},  # 16 at the end of March 2024
                {"child_id": "E", "date_of_birth": "2018-04-01"},  # 5
            ],
            "referrals": [
                referral("A1", "A", "2024-01-10"),
                referral("A2", "A", "2024-03-05"),  # A's second open episode
                referral("B1", "B", "2024-02-01", closure_date="2024-03-31"),  # closed on the month end: not open
                referral("C1", "C", "2024-03-31"),  # opened on the month end: open
                referral("D1", "D", "2024-03-01"),
                referral("E1", "E", "2024-03-01"),
            ],
            "education_provision": [
                {"provision_id": "P1", "child_id": "A", "provision": "EHE", "start_date": "2023-09-01"},
                {"provision_id": "P2", "child_id": "D", "provision": "CME", "start_date": "2023-09-01"},
            ],
        },
    )
    cin = figure(ctx, "4.0", "2024-03")
    assert cin.numerator == 4 and cin.calculation == "(4/10000)*10000 = 4"  # A, C, D, E
    by_age = figure(ctx, "4.0", "2024-03", by="age_band")
    assert by_age.loc["5-9", "numerator"] == 3 and by_age.loc["16-17", "numerator"] == 1
    education = figure(ctx, "4.2", "2024-03")  # aged 5-15: A (home educated), C, E; D is 16
    assert education.numerator == 1 and education.display == "1"  # a count of children (KPI 12, A151)


def test_contacts_within_24_working_hours(tmp_path):
    ctx = build_store(
        tmp_path,
        {
            "contacts": [
                screened_contact(
                    "1", "2024-03-22 16:00", "2024-03-25 15:00"
                ),  # Friday to Monday: 8 + 15 = 23 working hours
                screened_contact("2", "2024-03-28 10:00", "2024-04-02 09:00", "AMBER"),  # over Easter: 14 + 9 = 23
                screened_contact("3", "2024-03-04 09:00", "2024-03-05 09:01"),  # 24 hours and a minute
                screened_contact("4", "2024-03-04 09:00", "2024-03-10 09:00", "GREEN"),  # green: not in this measure
                screened_contact("5", "2024-03-09 10:00", "2024-03-12 09:00"),  # from a Saturday: 24 (Monday) + 9 = 33
            ]
        },
    )
    march = figure(ctx, "1.2", "2024-03")
    assert (march.numerator, march.denominator) == (2, 4)


def test_working_time_macros_and_the_engines_joins_agree(tmp_path):
    # The engine runs work_hours() and wd_between() of two columns of the record as joins to the calendar; the
    # macros stay for other arguments. Both give the same hours and days, weekends and bank holidays left out
    # (from Friday 20 December 2024 09:00: 15 hours that day, 14 working days to 15 January, and 9 hours).
    con = build_store(tmp_path, {}).con
    con.execute(
        "CREATE TEMP TABLE times AS SELECT CAST(a AS TIMESTAMP) AS a, CAST(b AS TIMESTAMP) AS b, hours, days FROM "
        "(VALUES ('2024-03-22 16:00', '2024-03-25 15:00', 23, 1), ('2024-03-28 10:00', '2024-04-02 09:00', 23, 1), "
        "('2024-03-09 10:00', '2024-03-12 09:00', 33, 2), ('2024-12-20 09:00', '2025-01-15 09:00', 360, 15), "
        "('2024-03-04 09:00', NULL, NULL, NULL)) v(a, b, hours, days)"
    )
    joins = {}
    hours, days = (_calendar_joined(f"{f}(t.a, t.b)", joins) for f in ("work_hours", "wd_between"))
    rows = con.execute(
        f"SELECT work_hours(t.a, t.b), {hours}, t.hours, wd_between(t.a, t.b), {days}, t.days "
        f"FROM times t {' '.join(joins.values())} ORDER BY t.a"
    ).fetchall()
    assert len(rows) == 5 and all(r[0] == r[1] == r[2] and r[3] == r[4] == r[5] for r in rows if r[2] is not None)
    assert [r[:2] + r[3:5] for r in rows if r[2] is None] == [(None, None, None, None)]


def test_year_to_date_average(tmp_path):
    ctx = build_store(
        tmp_path,
        {
            "sdq_scores": [
                {"sdq_id": "1", "child_id": "A", "sdq_date": "2024-03-31", "score": 30},  # the previous financial year
                {"sdq_id": "2", "child_id": "A", "sdq_date": "2024-04-01", "score": 10},
                {"sdq_id": "3", "child_id": "B", "sdq_date": "2024-06-15", "score": 14},
            ]
        },
    )
    assert figure(ctx, "6.14", "2024-06").display == "12.00"
    assert figure(ctx, "6.14", "2024-03").display == "30.00"
    assert figure(ctx, "6.14", "2024-05").calculation == "10/1 = 10.00"


def test_finish_works_out_each_measures_values_and_keeps_measures_together():
    # Rows of three measures interleaved, as an aggregates file may give them: a flow rate (the seed's own
    # ((554*12)/146874)*10000 = 453), a percentage (127/554 = 22.92%), a count, and a value given (42, kept
    # over the 42.86 that 3/7 would give).
    rows = pd.DataFrame(
        {
            "measure": ["1.5", "1.7", "1.5", "1.0", "1.7"],
            "month": ["2025-01", "2025-01", "2025-02", "2025-01", "2025-02"],
            "numerator": [554, 127, 0, 12, 3],
            "denominator": [146874, 554, 146874, None, 7],
            "value": [None, None, None, None, 42.0],
        }
    )
    out = finish(rows, load("county"))
    assert list(zip(out["measure"], out["month"], strict=True)) == [
        ("1.5", "2025-01"),
        ("1.5", "2025-02"),
        ("1.7", "2025-01"),
        ("1.7", "2025-02"),
        ("1.0", "2025-01"),
    ]
    assert out["display"].tolist() == ["453", "0", "23%", "42%", "12"]
    assert out["calculation"].tolist() == [
        "((554*12)/146874)*10000 = 453",
        "((0*12)/146874)*10000 = 0",
        "127/554 = 0.23",
        "3/7 = 0.42",
        "",
    ]
    assert out["value"].iloc[0] == pytest.approx(554 * 12 / 146874 * 10000)
    assert out["value"].iloc[2] == pytest.approx(100 * 127 / 554)


def test_complete_gives_each_measure_every_month_and_each_of_its_groups():
    counted = pd.DataFrame(
        {
            "measure": ["B", "A", "A", "A"],
            "month": ["2024-02", "2024-01", "2024-02", "2024-02"],
            "grp": [None, "S", "N", None],
            "numerator": [1, 2, 3, 4],
            "denominator": [5, 6, 7, 8],
        }
    )
    out = _complete(counted, ["A", "B", "C"], ["2024-01", "2024-02"], "locality")
    rows = [tuple(None if pd.isna(v) else v for v in r) for r in out.itertuples(index=False)]
    assert rows == [  # A's groups in order, the empty group last; B has only the empty group; C none counted
        ("A", "2024-01", "N", 0, None),
        ("A", "2024-01", "S", 2, 6),
        ("A", "2024-01", None, 0, None),
        ("A", "2024-02", "N", 3, 7),
        ("A", "2024-02", "S", 0, None),
        ("A", "2024-02", None, 4, 8),
        ("B", "2024-01", None, 0, None),
        ("B", "2024-02", None, 1, 5),
    ]
    whole = _complete(counted.drop(columns="grp").iloc[[0, 1]], ["A", "C"], ["2024-01", "2024-02"], None)
    assert whole[["measure", "month", "numerator"]].values.tolist() == [
        ["A", "2024-01", 2],
        ["A", "2024-02", 0],
        ["C", "2024-01", 0],
        ["C", "2024-02", 0],
    ]
