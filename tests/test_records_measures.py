"""The measures the new records feed (issue 21): seed 002's scorecard indicators once supplied (children seen
alone, CIN and CP reviews, core groups, school moves, pathway plans), seed 001's pathway plans up to date and
visits to care experienced people, and seed 004's care experienced young people; on hand-made records with
answers worked out by hand.

Working days use England and Wales bank holidays: Easter 2025-04-18/21, early May 2025-05-05, spring
2025-05-26. The financial year 2025-26 starts on 1 April 2025.
"""

import pandas as pd
from helpers import build_store, referral

from kpi.catalogue import load
from kpi.engine import compute

SCORECARD, COUNTY, JOURNEY = load("scorecard"), load("county"), load("journey")


def figures(ctx, cat, ref, months):
    """(numerator, denominator) of each month; a denominator of no records is None."""
    df = compute(ctx, cat, months, refs=[ref]).set_index("month")
    return [
        (df.loc[m, "numerator"], None if pd.isna(df.loc[m, "denominator"]) else df.loc[m, "denominator"])
        for m in months
    ]


def review(rid, child, plan, due, held=""):
    return {"review_id": rid, "child_id": child, "plan_type": plan, "due_date": due, "review_date": held}


def test_reviews_held_on_time_year_to_date(tmp_path):
    """SCC/016, SCC/034, SCC/041a: reviews of their plan type due from April to the month end held by the day
    they were due; a review not yet due is not counted, one held early counts in the month it falls due."""
    ctx = build_store(
        tmp_path,
        {
            "reviews": [
                review("1", "A", "CIN", "2025-05-10", "2025-05-10"),  # held on the day: on time
                review("2", "B", "CIN", "2025-05-12", "2025-05-13"),  # a day late
                review("3", "C", "CIN", "2025-05-20"),  # not held
                review("4", "D", "CIN", "2025-06-15", "2025-05-30"),  # held early, due in June
                review("5", "E", "CIN", "2025-03-31", "2025-03-20"),  # due last financial year
                review("6", "F", "CP", "2025-05-15", "2025-05-14"),  # a CP review conference, on time
                review("7", "F", "CP", "2025-11-15"),  # due after the months asked
                review("8", "G", "CL", "2025-05-15"),  # a pathway plan review not held
                review("9", "H", "CL", "2025-04-01", "2025-04-01"),
            ]
        },
    )
    assert figures(ctx, SCORECARD, "SCC/016", ["2025-04", "2025-05", "2025-06"]) == [(0, None), (1, 3), (2, 4)]
    assert figures(ctx, SCORECARD, "SCC/034", ["2025-05", "2025-06"]) == [(1, 1), (1, 1)]
    assert figures(ctx, SCORECARD, "SCC/041a", ["2025-04", "2025-05"]) == [(1, 1), (1, 2)]
    may = compute(ctx, SCORECARD, ["2025-05"], refs=["SCC/016"]).iloc[0]
    assert may.display == "33.3%" and may.calculation == "1/3 = 0.333"


def test_first_core_groups_within_10_working_days_over_a_bank_holiday(tmp_path):
    """SCC/015: the first core group within 10 working days of the conference that made the plan. From Monday 28
    April 2025 the 10th working day is Tuesday 13 May (5 May a bank holiday): the 13th is in time, the 14th
    late. A plan whose 10 working days have not run out at the month end, with no core group yet, waits."""
    plans = {
        "P1": ("A", "2025-04-28"),  # core group on the 10th working day: in time
        "P2": ("B", "2025-04-28"),  # on the 11th: late
        "P3": ("C", "2025-05-20"),  # none: 7 working days to 31 May (26 May a bank holiday), due in June
        "P4": ("D", "2025-05-27"),  # met two working days later: in time, counted in May
        "P5": ("E", "2025-03-20"),  # made in the last financial year
        "P6": ("F", "2025-05-15"),  # 10 working days ran out on 30 May; met 2 June: late
    }
    meetings = {"P1": "2025-05-13", "P2": "2025-05-14", "P4": "2025-05-29", "P5": "2025-03-25", "P6": "2025-06-02"}
    ctx = build_store(
        tmp_path,
        {
            "referrals": [referral(f"R{c}", c, "2025-03-01") for c, _ in plans.values()],
            "cp_plans": [
                {"cp_plan_id": p, "child_id": c, "referral_id": f"R{c}", "start_date": d, "category": "NEG"}
                for p, (c, d) in plans.items()
            ],
            "core_groups": [
                {"core_group_id": f"G{p}", "child_id": plans[p][0], "cp_plan_id": p, "meeting_date": d}
                for p, d in meetings.items()
            ]
            # a later core group of P2 is not its first
            + [{"core_group_id": "G9", "child_id": "B", "cp_plan_id": "P2", "meeting_date": "2025-05-20"}],
        },
    )
    # May: P1, P2, P4, P6 (P3 not yet due), in time P1 and P4; June: P3 late too
    assert figures(ctx, SCORECARD, "SCC/015", ["2025-05", "2025-06"]) == [(2, 4), (2, 5)]


def test_children_seen_alone_at_initial_assessment(tmp_path):
    """SCC/011b: initial assessments authorised from April to the month end with the child seen alone; no record
    either way is not evidence of it."""

    def assessment(aid, child, seen, authorised="2025-05-10", kind="INITIAL"):
        return {
            "assessment_id": aid,
            "child_id": child,
            "referral_id": f"R{child}",
            "assessment_type": kind,
            "start_date": "2025-03-25",
            "authorised_date": authorised,
            "seen_alone": seen,
        }

    kids = "ABCDEF"
    ctx = build_store(
        tmp_path,
        {
            "referrals": [referral(f"R{c}", c, "2025-03-20") for c in kids],
            "assessments": [
                assessment("1", "A", "Y"),
                assessment("2", "B", "N"),
                assessment("3", "C", ""),  # not recorded
                assessment("4", "D", "Y", kind="REVIEW"),  # not an initial assessment
                assessment("5", "E", "Y", authorised="2025-03-31"),  # completed in the last financial year
                assessment("6", "F", "Y", authorised=""),  # not completed
            ],
        },
    )
    assert figures(ctx, SCORECARD, "SCC/011b", ["2025-04", "2025-05"]) == [(0, None), (1, 3)]


def test_children_with_a_non_transitional_school_move_counted_once(tmp_path):
    """SCC/002: looked after children with one or more changes of school from April to the month end that were
    not transitional, each child once however many moves."""

    def move(mid, child, day, transitional="N"):
        return {"move_id": mid, "child_id": child, "move_date": day, "transitional": transitional}

    ctx = build_store(
        tmp_path,
        {
            "school_moves": [
                move("1", "A", "2025-04-10"),
                move("2", "A", "2025-05-20"),  # A's second move: A once
                move("3", "B", "2025-09-04", "Y"),  # into secondary school only
                move("4", "C", "2025-03-15"),  # last financial year ...
                move("5", "C", "2025-06-01"),  # ... and this one: counted
                move("6", "D", "2025-05-05"),  # two the same day: D once
                move("7", "D", "2025-05-05"),
                move("8", "E", "2025-09-04", "Y"),  # a transitional move, then a non-transitional one
                move("9", "E", "2025-09-20"),
            ]
        },
    )
    got = figures(ctx, SCORECARD, "SCC/002", ["2025-03", "2025-05", "2025-09", "2026-03"])
    # March 2025 (the year 2024-25): C; May: A and D; September and March 2026: A, C, D and E
    assert [n for n, _ in got] == [1, 2, 4, 4]


def test_pathway_plans_up_to_date_and_visits_to_care_experienced_people(tmp_path):
    """County 7.9: care leavers receiving a service whose latest pathway plan review due by the month end was held
    by then (none due yet: up to date). 7.10: the same of their latest visit due since leaving care. Journey D15a:
    how many care experienced young people receive a service."""
    leavers = {  # child: left care, service end
        "L1": ("2024-10-01", ""),
        "L2": ("2025-08-01", ""),
        "L3": ("2024-06-01", ""),
        "L4": ("2024-09-01", ""),
        "L5": ("2024-12-01", "2025-07-31"),
    }
    ctx = build_store(
        tmp_path,
        {
            "children": [{"child_id": c, "date_of_birth": "2006-06-01"} for c in leavers],
            "care_leavers": [
                {"child_id": c, "status": "FORMER", "left_care_date": s, "service_end_date": e}
                for c, (s, e) in leavers.items()
            ],
            "reviews": [
                review("1", "L1", "CL", "2025-04-01", "2025-03-28"),
                review("2", "L1", "CL", "2025-10-01"),  # not held
                review("3", "L3", "CL", "2024-12-01"),  # missed ...
                review("4", "L3", "CL", "2025-06-01", "2025-06-20"),  # ... the next held late
                review("5", "L4", "CL", "2025-03-01", "2025-10-15"),  # held seven months late
                review("6", "L2", "CIN", "2025-09-01"),  # not a pathway plan review
            ],
            "visits": [
                {"visit_id": "V1", "child_id": "L1", "plan_type": "CL", "due_date": "2025-09-10"},  # missed
                {
                    "visit_id": "V2",
                    "child_id": "L3",
                    "plan_type": "CL",
                    "due_date": "2025-09-10",
                    "visit_date": "2025-09-01",
                },  # fmt: skip
                {"visit_id": "V3", "child_id": "L2", "plan_type": "CLA", "due_date": "2025-07-20"},  # before leaving
            ],
        },
    )
    # May: L1 (April's held), L5 (none due) of L1 L3 L4 L5 (L2 not yet left care); September: L1, L2, L3 of
    # L1-L4 (L5's service ended in July); October: L2, L3, L4
    assert figures(ctx, COUNTY, "7.9", ["2025-05", "2025-09", "2025-10"]) == [(2, 4), (3, 4), (3, 4)]
    cohort = compute(ctx, COUNTY, ["2025-10"], refs=["7.9"]).iloc[0]
    assert cohort.display == "75%" and cohort.calculation == "3/4 = 0.75"
    # visits in September: L1's missed, L3's made, L2's CLA visit was before leaving care and not a CL visit
    assert figures(ctx, COUNTY, "7.10", ["2025-09"]) == [(3, 4)]
    assert figures(ctx, JOURNEY, "D15a", ["2025-05", "2025-09"]) == [(4, None), (4, None)]
