"""Definitions of issue 21 as the seeds write them, each at its boundaries, on hand-made records.

Re-referrals (1.7, KPI 3: A25), 16/17-year-olds homeless (6.17, KPI 9: A150), children not in full-time
education (4.2, KPI 12: A151), audits completed against those expected (9.1, KPI 16: A152), grades changed by
moderation (9.2: A153), and seed 001's audit and front-door measures (A154-A157).
"""

from helpers import build_store, figure, referral

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
