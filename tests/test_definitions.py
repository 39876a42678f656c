"""Definitions of issue 21 as the seeds write them, each at its boundaries, on hand-made records.

Re-referrals (1.7, KPI 3: A25), 16/17-year-olds homeless (6.17, KPI 9: A150), children not in full-time
education (4.2, KPI 12: A151), audits completed against those expected (9.1, KPI 16: A152), grades changed by
moderation (9.2: A153), seed 001's audit measures and seed 003's red and amber contacts (A154-A157).
"""

import pandas as pd
from helpers import build_store, figure, referral, screened_contact

from kpi.catalogue import load


def test_re_referral_includes_the_anniversary_and_not_the_day_after(tmp_path):
    ctx = build_store(
        tmp_path,
        {
            "referrals": [
                referral("A1", "A", "2025-10-07"),
                referral("A2", "A", "2026-10-07"),  # 365 days, the anniversary: a re-referral
                referral("B1", "B", "2025-10-07"),
                referral("B2", "B", "2026-10-08"),  # 366 days: not
            ]
        },
        extract_date="2026-11-01",
    )
    oct26 = figure(ctx, "1.7", "2026-10")
    assert (oct26.numerator, oct26.denominator) == (1, 2)
    oct25 = figure(ctx, "1.7", "2025-10")
    assert (oct25.numerator, oct25.denominator) == (0, 2)  # A1 and B1 have no earlier referral


def test_re_referral_across_29_february(tmp_path):
    # The 12 months after 29 February 2024 end on 28 February 2025; after 28 February 2023, on 28 February 2024.
    ctx = build_store(
        tmp_path,
        {
            "referrals": [
                referral("D1", "D", "2024-02-29"),
                referral("D2", "D", "2025-02-28"),  # 365 days, the leap day's anniversary: a re-referral
                referral("E1", "E", "2024-02-29"),
                referral("E2", "E", "2025-03-01"),  # 366 days: not
                referral("F1", "F", "2023-02-28"),
                referral("F2", "F", "2024-02-29"),  # 366 days, a day past the anniversary: not
                referral("G1", "G", "2023-03-01"),
                referral("G2", "G", "2024-02-29"),  # 365 days, within
                referral("H1", "H", "2023-02-28"),
                referral("H2", "H", "2024-02-28"),  # 365 days, the anniversary: a re-referral
            ]
        },
        extract_date="2025-04-01",
    )
    feb24 = figure(ctx, "1.7", "2024-02")
    assert (feb24.numerator, feb24.denominator) == (2, 5)  # G2 and H2 of D1, E1, F2, G2, H2
    feb25, mar25 = figure(ctx, "1.7", "2025-02"), figure(ctx, "1.7", "2025-03")
    assert (feb25.numerator, feb25.denominator, mar25.numerator, mar25.denominator) == (1, 1, 0, 1)


def test_sets_reusing_re_referrals_count_them_the_same_way():
    county = load("county")["1.7"].parts[0].num
    assert "+ INTERVAL 12 MONTH >= t.referral_date" in county
    assert load("journey")["D4"].parts[0].num == county
    assert load("scorecard")["SCC/010"].parts[0].num == county


def test_homeless_16_17_is_the_age_at_the_month_end_each_young_person_once(tmp_path):
    # October 2026 ends on the 31st. Ages there: K15 turns 16 on the 31st (15 when referred), K18 turns 18 on the
    # 31st (17 when referred), K17 turns 18 on 1 November, K14 turns 16 on 1 November.
    born = {"K15": "2010-10-31", "K18": "2008-10-31", "K17": "2008-11-01", "K14": "2010-11-01", "KT": "2009-06-01"}
    born["KN"] = "2009-06-01"
    ctx = build_store(
        tmp_path,
        {
            "children": [{"child_id": k, "date_of_birth": d} for k, d in born.items()],
            "referrals": [
                referral("R1", "K15", "2026-10-05", homeless="Y"),  # 16 at the month end: counted
                referral("R2", "K18", "2026-10-05", homeless="Y"),  # 18 at the month end: not
                referral("R3", "K17", "2026-10-05", homeless="Y"),  # still 17 on the 31st: counted
                referral("R4", "K14", "2026-10-20", homeless="Y"),  # 15 at the month end: not
                referral("R5", "KT", "2026-09-30", homeless="Y"),  # September's
                referral("R6", "KT", "2026-10-02", homeless="Y"),
                referral("R7", "KT", "2026-10-02", homeless="Y"),  # three in October: one young person
                referral("R8", "KT", "2026-10-25", homeless="Y"),
                referral("R9", "KN", "2026-10-05"),  # not homeless
            ],
        },
        extract_date="2026-11-01",
    )
    assert figure(ctx, "6.17", "2026-10").numerator == 3  # K15, K17, KT
    assert figure(ctx, "6.17", "2026-09").numerator == 1  # KT


def test_not_in_full_time_education_is_a_count_without_target():
    m = load("county")["4.2"]
    assert (m.kpi, m.unit, m.target, m.tolerance) == (12, "count", None, None)
    assert m.title.startswith("Number of young people known to social care")


def staff(sid, role="TM", team="T", start="2020-01-01", end=""):
    return {"staff_id": sid, "role": role, "team_id": team, "employment": "PERM", "start_date": start, "end_date": end}


def audit(aid, auditor, assigned, completed="", grade="", moderated="", **kw):
    return {
        "audit_id": aid,
        "child_id": "A",
        "auditor_id": auditor,
        "assigned_date": assigned,
        "completed_date": completed,
        "grade": grade,
        "moderated_grade": moderated,
        **kw,
    }


def test_audits_completed_against_one_expected_from_each_auditor_asked(tmp_path):
    ctx = build_store(
        tmp_path,
        {
            "staff": [
                staff("M1"),
                staff("M2"),
                staff("M3", role="SM"),
                staff("M4", end="2026-10-15"),  # left in October: not expected at the month end
                staff("M5"),  # asked in September only
                staff("M6", team="T2"),
            ],
            "audits": [
                audit("A1", "M1", "2026-10-01", "2026-10-20", "RI", "RI"),
                audit("A7", "M1", "2026-10-02"),  # a second for M1: still one auditor expected
                audit("A2", "M2", "2026-10-01"),
                audit("A3", "M3", "2026-10-03"),
                audit("A4", "M2", "2026-09-01", "2026-10-05", "RI", "RI"),  # September's, completed in October
                audit("A5", "M4", "2026-10-01", "2026-10-10", "RI", "RI"),
                audit("A6", "M5", "2026-09-02", "2026-09-20", "RI", "RI"),
                audit("A8", "M6", "2026-10-05"),
            ],
        },
        extract_date="2026-11-01",
    )
    oct26 = figure(ctx, "9.1", "2026-10")  # A1, A4, A5 completed; M1, M2, M3, M6 asked and in post
    assert (oct26.numerator, oct26.denominator, oct26.display) == (3, 4, "75%")
    sep26 = figure(ctx, "9.1", "2026-09")  # A6 completed; M2, M5 asked
    assert (sep26.numerator, sep26.denominator) == (1, 2)
    by_team = figure(ctx, "9.1", "2026-10", by="team")
    assert (by_team.loc["T", "numerator"], by_team.loc["T", "denominator"]) == (3, 3)
    assert (by_team.loc["T2", "numerator"], by_team.loc["T2", "denominator"]) == (0, 1)


def test_grades_changed_leave_out_audits_not_moderated(tmp_path):
    ctx = build_store(
        tmp_path,
        {
            "staff": [staff("M1")],
            "audits": [
                audit("U1", "M1", "2026-10-01", "2026-10-10", "RI", "RI"),
                audit("U2", "M1", "2026-10-01", "2026-10-10", "RI", "GOOD"),  # changed
                audit("U3", "M1", "2026-10-01", "2026-10-10", "GOOD", ""),  # not moderated yet: in neither
                audit("U4", "M1", "2026-10-01", "2026-10-10", "", "RI"),  # no auditor's grade: in neither
                audit("U5", "M1", "2026-10-01", "2026-10-12", "INAD", "RI"),  # changed
                audit("U6", "M1", "2026-09-01", "2026-09-30", "RI", "GOOD"),  # September's
            ],
        },
        extract_date="2026-11-01",
    )
    changed = figure(ctx, "9.2", "2026-10")
    assert (changed.numerator, changed.denominator) == (2, 3)  # U2, U5 of U1, U2, U5
    good = figure(ctx, "9.0", "2026-10")  # U3 counts by its own grade, unmoderated, as in 9.2 it is unchanged
    assert (good.numerator, good.denominator) == (2, 5)  # U2 (moderated GOOD), U3


def test_audits_with_feedback_from_families(tmp_path):
    ctx = build_store(
        tmp_path,
        {
            "staff": [staff("M1")],
            "audits": [
                audit("F1", "M1", "2026-10-01", "2026-10-10", "RI", "RI", family_feedback="Y"),
                audit("F2", "M1", "2026-10-01", "2026-10-10", "RI", "RI", family_feedback="N"),
                audit("F3", "M1", "2026-10-01", "2026-10-10", "RI", "RI"),  # not recorded: in neither
                audit("F4", "M1", "2026-10-01", "2026-10-20", "GOOD", "", family_feedback="Y"),
                audit("F5", "M1", "2026-10-01"),  # not completed
            ],
        },
        extract_date="2026-11-01",
    )
    fb = figure(ctx, "9.3", "2026-10")
    assert (fb.numerator, fb.denominator, fb.display) == (2, 3, "67%")  # F1, F4 of F1, F2, F4
    assert load("county")["9.3"].target == 80


def test_grades_by_pillar_of_practice(tmp_path):
    def pillar(aid, code, grade):
        return {"audit_id": aid, "pillar": code, "grade": grade}

    ctx = build_store(
        tmp_path,
        {
            "staff": [staff("M1")],
            "audits": [
                audit("P1", "M1", "2026-10-01", "2026-10-10", "RI", "RI"),
                audit("P2", "M1", "2026-10-01", "2026-10-10", "RI", "RI"),
                audit("P3", "M1", "2026-10-01", "2026-10-10", "RI", "RI"),
                audit("P4", "M1", "2026-10-01", "2026-10-10", "RI", "RI"),  # no pillar graded
                audit("P5", "M1", "2026-09-01", "2026-09-10", "RI", "RI"),  # September's
            ],
            "audit_pillars": [
                pillar("P1", "VISITS", "GOOD"),
                pillar("P1", "VOICE", "RI"),
                pillar("P2", "VISITS", "OUT"),
                pillar("P3", "VISITS", "RI"),
                pillar("P3", "VOICE", "GOOD"),
                pillar("P5", "VISITS", "GOOD"),
            ],
        },
        extract_date="2026-11-01",
    )
    cat = load("county")
    assert cat["9.4"].title == "% of audits grading Purposeful Visits good or outstanding"
    visits, voice = figure(ctx, "9.4", "2026-10"), figure(ctx, "9.5", "2026-10")
    assert (visits.numerator, visits.denominator) == (2, 3)  # P1, P2 of P1, P2, P3
    assert (voice.numerator, voice.denominator) == (1, 2)  # P3 of P1, P3
    oversight = figure(ctx, "9.10", "2026-10")  # management oversight graded by none: no figure
    assert oversight.numerator == 0 and pd.isna(oversight.denominator) and oversight.display == ""
    assert (figure(ctx, "9.4", "2026-09").numerator, figure(ctx, "9.4", "2026-09").denominator) == (1, 1)


def test_red_contacts_actioned_within_4_working_hours(tmp_path):
    ctx = build_store(
        tmp_path,
        {
            "contacts": [
                screened_contact("R1", "2026-10-06 09:00", "2026-10-06 13:00"),  # 4 hours: in time
                screened_contact("R2", "2026-10-06 09:00", "2026-10-06 13:01"),  # a minute over
                screened_contact(
                    "R3", "2026-10-09 22:00", "2026-10-12 01:00"
                ),  # Friday night to Monday: 3 working hours
                screened_contact("R4", "2026-10-06 09:00", ""),  # not completed
                screened_contact("A1", "2026-10-06 09:00", "2026-10-07 09:00", rag="AMBER"),  # 24 hours
                screened_contact("A2", "2026-10-06 09:00", "2026-10-07 09:30", rag="AMBER"),
            ]
        },
        extract_date="2026-11-01",
    )
    red, amber = figure(ctx, "1.9", "2026-10"), figure(ctx, "1.10", "2026-10")
    assert (red.numerator, red.denominator) == (2, 4)  # R1, R3
    assert (amber.numerator, amber.denominator) == (1, 2)  # A1
