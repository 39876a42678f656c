"""Why a figure moved (kpi/drivers.py): the share of the change, which groups are worth naming, their own SPC, and
the words (kpi/narrative.py) and the public version's filter (kpi/privacy.py). Hand-made aggregate tables."""

import numpy as np
import pandas as pd
import pytest

from kpi import drivers, privacy
from kpi.calendar import months_back
from kpi.catalogue import load
from kpi.narrative import draft, driver_sentence, driver_statements
from kpi.spc import spc_of

CAT = load("county")
PERCENT = CAT["1.7"]  # re-referrals: a percentage, lower is better
BEFORE, AFTER = ["2026-01"], ["2026-02"]


def tables(before: dict, after: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Groups' (numerator, denominator) in January and February 2026, and the whole's."""
    rows = [(m, g, n, d) for m, part in (("2026-01", before), ("2026-02", after)) for g, (n, d) in part.items()]
    groups = pd.DataFrame(rows, columns=["month", "grp", "numerator", "denominator"])
    total = groups.groupby("month", as_index=False)[["numerator", "denominator"]].sum()
    return groups, total


def test_a_small_group_that_moves_alone_has_all_of_the_change():
    """A 60 of 600 (10%), B 30 of 300 (10%), C 10 of 100 (10%): 10%. Then C 30 of 100 (30%): 120 of 1,000, 12%.
    Shares of the cases unchanged, so no mix effect: C's rate effect 0.1 x 20 = 2 points, all of the 2-point rise."""
    groups, total = tables(
        {"A": (60, 600), "B": (30, 300), "C": (10, 100)}, {"A": (60, 600), "B": (30, 300), "C": (30, 100)}
    )
    d = drivers.decompose(PERCENT, groups, total, BEFORE, AFTER, "locality").set_index("group")
    assert d.attrs["change"] == pytest.approx(2)
    assert d.loc["C", "share_of_change"] == pytest.approx(1.0)
    assert d.loc[["A", "B"], "contribution"].tolist() == pytest.approx([0, 0])
    # and beyond chance: C's 20-point rise against the whole's 2, in standard errors sqrt(.1 x .9 / 100 + .3 x .7 /
    # 100) = 5.48 points: z = 18 / 5.48 = 3.3
    assert drivers.beyond_chance(d, PERCENT)["C"] == pytest.approx(18 / (0.003**0.5 * 100))
    named = drivers.informative(d.reset_index(), PERCENT)
    assert named["group"].tolist() == ["C"]
    assert named["weight"].iloc[0] == pytest.approx(0.1)


def test_a_majority_moving_with_the_whole_is_not_named():
    """A 80 of 800 (10%) and B 20 of 200 (10%): 10%. Then A 100 of 800 (12.5%), B 18 of 200 (9%): 11.8%, a rise of
    1.8 points. A: 0.8 x 2.5 = 2 points, 111% of the rise, but 80% of the cases (111% < 1.5 x 80%, and a
    majority): it moved with the whole. B: 0.2 x -1 = -0.2, against the rise. Nothing is worth naming."""
    groups, total = tables({"A": (80, 800), "B": (20, 200)}, {"A": (100, 800), "B": (18, 200)})
    d = drivers.decompose(PERCENT, groups, total, BEFORE, AFTER, "ethnicity")
    assert d.set_index("group")["share_of_change"].to_dict() == pytest.approx({"A": 2 / 1.8, "B": -0.2 / 1.8})
    assert drivers.informative(d).empty


def test_a_group_is_named_for_a_share_well_beyond_its_size_and_chance():
    """Four groups of 2,500 at 20%. Then W 750 of 2,500 (30%), X 550 (22%), Y and Z 500: 23%, a rise of 3 points.
    W: 0.25 x 10 = 2.5, 83% of it (3.3 times its 25% of the cases), its 10 points against the whole's 3 in standard
    errors of sqrt(.2 x .8 / 2500 + .3 x .7 / 2500) = 1.22 points: z = 5.8, named. X: 0.5, 17%: under a quarter.
    The same figures from a tenth of the cases (W 75 of 250): z = 7 / 3.85 = 1.8, within chance: nothing named."""
    for size in (10, 1):
        before = {g: (50 * size, 250 * size) for g in "WXYZ"}
        after = {"W": (75 * size, 250 * size), "X": (55 * size, 250 * size), "Y": before["Y"], "Z": before["Z"]}
        groups, total = tables(before, after)
        d = drivers.decompose(PERCENT, groups, total, BEFORE, AFTER, "locality")
        assert drivers.informative(d)["group"].tolist() == ["W"]  # its share and size alone
        named = drivers.informative(d, PERCENT)
        if size == 10:
            assert named["group"].tolist() == ["W"]
            assert named["share_of_change"].iloc[0] == pytest.approx(2.5 / 3)
            assert named["z"].iloc[0] == pytest.approx(7 / (0.37 / 2500) ** 0.5 / 100)
        else:
            assert named.empty


def test_count_groups_are_weighed_by_their_share_of_the_count():
    """A count (1.6, referrals): P 900 -> 950 and Q 100 -> 250, a rise of 200. Q: 150 of it (75%) while 350 of 2,200
    referrals (16%), and 150 against the 31.8 its share would give, in Poisson standard errors sqrt(100 + 250):
    z = 6.3, named; P: 25%, but 84% of the referrals, so not."""
    groups, total = tables({"P": (900, None), "Q": (100, None)}, {"P": (950, None), "Q": (250, None)})
    d = drivers.decompose(CAT["1.6"], groups, total, BEFORE, AFTER, "locality")
    named = drivers.informative(d, CAT["1.6"])
    assert named["group"].tolist() == ["Q"]
    assert named["weight"].iloc[0] == pytest.approx(350 / 2200)
    assert named["share_of_change"].iloc[0] == pytest.approx(0.75)
    assert named["z"].iloc[0] == pytest.approx((150 - 200 * 350 / 2200) / 350**0.5)


def test_a_groups_own_spc_says_since_when():
    """Its own series, 24 months to October 2026: 10 and 12 by turns for 16 months, then 20 for 8 (from March 2026).
    Mean 14; the jump's moving range (8) is screened out, so limits 14 +/- 2.66 x 2 x 15/22: the last 8 are above
    them, a concern for a figure where lower is better, since March 2026."""
    months = months_back("2026-10", 24)
    values = [10, 12] * 8 + [20] * 8
    spc = spc_of(PERCENT, pd.DataFrame({"month": months, "value": values, "target": np.nan}))
    assert drivers.since(spc) == ("special_cause_concern", "2026-03")
    calm = spc_of(PERCENT, pd.DataFrame({"month": months, "value": [10, 12] * 12, "target": np.nan}))
    assert drivers.since(calm) == ("common_cause", None)


def test_notable_is_a_change_of_at_least_the_mean_moving_range():
    assert drivers.notable([10, 12, 10, 12], 2.0)  # moving ranges 2, 2, 2
    assert not drivers.notable([10, 12, 10, 12], 1.9)
    assert not drivers.notable([10, 12], 5)  # too few months to say


def found_row(group, label, share, weight, contribution):
    return {"group": group, "label": label, "share_of_change": share, "weight": weight, "contribution": contribution}


def test_a_team_within_a_named_locality_is_not_a_second_cause():
    """East locality, 60% of the change; its assessment team holds 95% of East's part (>= 75%): one statement,
    East's, with the team in it. Another locality's team (North's) stands on its own; the age band, named for a
    share 2.6 times its size, comes after the locality (60% > 40%)."""
    found = {
        "locality": pd.DataFrame([found_row("EAST", "East", 0.6, 0.24, 2.0)]),
        "team": pd.DataFrame(
            [
                found_row("EAST-ASMT", "East Assessment Team", 0.57, 0.24, 1.9),
                found_row("NORTH-CP", "North Child Protection", 0.3, 0.05, 1.0),
            ]
        ),
        "age_band": pd.DataFrame([found_row("5-9", "5-9", 0.4, 0.15, 1.3)]),
    }
    said = drivers.choose(found, {"EAST-ASMT": "EAST", "NORTH-CP": "NORTH"})
    # breakdowns kept by share for size: team 6.0, age band 2.67 (locality 2.5 is the third: at most two)
    assert [(b, r["label"], within) for b, r, within in said] == [
        ("age_band", "5-9", None),
        ("team", "North Child Protection", None),
    ]
    found["team"] = found["team"].iloc[:1]  # the East team alone: it repeats East
    said = drivers.choose(found, {"EAST-ASMT": "EAST"})
    assert [(b, r["label"], within) for b, r, within in said] == [
        ("locality", "East", "East Assessment Team"),
        ("age_band", "5-9", None),
    ]
    found["team"] = pd.DataFrame([found_row("EAST-ASMT", "East Assessment Team", 0.3, 0.2, 1.0)])  # half of East's
    said = drivers.choose(found, {"EAST-ASMT": "EAST"})
    assert said[0][2] is None and [b for b, _, _ in said] == ["locality", "age_band"]


def statement(**kw) -> dict:
    row = {
        "measure": "1.7",
        "breakdown": "locality",
        "group": "EAST",
        "label": "East",
        "within": "East Assessment Team",
        "share_of_change": 0.59,
        "weight": 0.24,
        "contribution": 2.2,
        "change": 3.5,
        "value_before": 20.6,
        "value_after": 24.1,
        "before": "2025-08..2026-07",
        "after": "2026-08..2026-10",
        "group_variation": "special_cause_concern",
        "group_since": "2026-05",
        "smallest": 30.0,
    }
    return row | kw


def test_the_words_name_the_group_its_share_and_its_own_spc():
    rows = pd.DataFrame(
        [
            statement(),
            statement(
                breakdown="age_band", group="10-15", label="10-15", within=None, share_of_change=0.31, weight=0.2
            ),
        ]
    )
    rows.loc[1, ["group_variation", "group_since"]] = ["common_cause", None]
    assert driver_statements(rows) == [
        "East locality (mostly East Assessment Team): 59% of the rise, special cause on its own limits (concern) "
        "since May 2026",
        "Aged 10-15: 31% of the rise, common cause on its own limits",
    ]
    said = driver_sentence(PERCENT, rows)
    assert said.startswith("It moved from 21% (August 2025 to July 2026) to 24% (August to October 2026). East")
    close = rows.assign(value_before=2.08, value_after=1.59)  # 2% and 2% at the measure's decimals: told apart
    assert driver_sentence(PERCENT, close).startswith("It moved from 2.1% (August 2025 to July 2026) to 1.6% (")
    fall = pd.DataFrame([statement(change=-3.5, breakdown="source", label="Police", within=None)])
    assert driver_statements(fall)[0].startswith("Police (referral source): 59% of the fall")
    family = fall.assign(label="Individual: family member, relative or carer")
    assert driver_statements(family)[0].startswith(
        "“Individual: family member, relative or carer” (referral source): 59%"
    )
    assert driver_sentence(PERCENT, None) == ""


def test_the_draft_carries_what_moved_it():
    series = pd.DataFrame(
        {
            "month": ["2026-09", "2026-10"],
            "value": [22.0, 24.1],
            "target": [20.0, 20.0],
            "tolerance": [23.0, 23.0],
            "rag": ["amber", "red"],
        }
    )
    text = draft(PERCENT, series, drivers=pd.DataFrame([statement()]))
    assert text.endswith(
        "East locality (mostly East Assessment Team): 59% of the rise, special cause on its own "
        "limits (concern) since May 2026."
    )
    assert "East" not in draft(PERCENT, series)


def test_the_public_version_drops_statements_on_small_counts():
    """A statement resting on a count of 1 to 5 (a group's numerator or denominator in a month compared) is not
    published; 0 (none), 6 and more, and no count at all are."""
    rows = pd.DataFrame([statement(label=x, smallest=s) for x, s in [("A", 3), ("B", 5), ("C", 6), ("D", np.nan)]])
    assert privacy.publish_drivers(rows)["label"].tolist() == ["C", "D"]
    assert privacy.publish_drivers(rows.iloc[0:0]).empty


def test_an_averages_chance_is_of_its_cases():
    """An average (8.3, caseload: cases per worker): A 100 cases over 10 workers (10), then 150 (15); B and C 100
    over 10 both months. The whole: 10 to 11.67. A has all of the rise (a third of the workers), but its 5 against
    the whole's 1.67, in standard errors of sqrt(10^2 / 10 + 15^2 / 10) = 5.7 (of its 10 workers, not its 100
    cases): z = 0.58, within chance."""
    same = {"A": (100, 10), "B": (100, 10), "C": (100, 10)}
    groups, total = tables(same, same | {"A": (150, 10)})
    d = drivers.decompose(CAT["8.3"], groups, total, BEFORE, AFTER, "team")
    z = drivers.beyond_chance(d, CAT["8.3"]).set_axis(d["group"])
    assert z["A"] == pytest.approx((5 - 5 / 3) / (10 + 22.5) ** 0.5)
    assert drivers.informative(d)["group"].tolist() == ["A"]  # by its share and size alone
    assert drivers.informative(d, CAT["8.3"]).empty


def test_every_breakdown_is_ranked_by_what_it_explains_beyond_its_size():
    """10,000 re-referral cases, 1,000 re-referred (10%) then 1,200 (12%), a rise of 2 points, by five breakdowns:

    - locality: A 600 of 6,000, B 300 of 3,000, C 100 of 1,000 -> C 300 (30%): C has all of the rise (0.1 x 20)
      with a tenth of the cases: score 1.0 - 0.1 = 0.9;
    - age band: P 400 of 4,000 -> 600 (15%), Q 600 of 6,000 unchanged: P all of it (0.4 x 5) with 40% of the cases,
      z = 3 / (100 x sqrt((.1 x .9 + .15 x .85) / 4000)) = 4.1: score 0.6;
    - ethnicity: W 900 of 9,000 -> 1,080, X 100 of 1,000 -> 120, both moving with the whole: W has 90% of the rise
      but is 90% of the cases (a majority), X 10%: nothing named, so no tautology is ranked;
    - team: T1 (in C) is all of C, the same change: it repeats the locality, named with it;
    - source: not recorded for these records (all None)."""
    loc, _ = tables(
        {"A": (600, 6000), "B": (300, 3000), "C": (100, 1000)}, {"A": (600, 6000), "B": (300, 3000), "C": (300, 1000)}
    )
    age, _ = tables({"P": (400, 4000), "Q": (600, 6000)}, {"P": (600, 4000), "Q": (600, 6000)})
    eth, total = tables({"W": (900, 9000), "X": (100, 1000)}, {"W": (1080, 9000), "X": (120, 1000)})
    team = loc.assign(grp=loc["grp"].map({"A": "T2", "B": "T3", "C": "T1"}))
    source = loc.assign(grp=None)
    by = {"ethnicity": eth, "source": source, "team": team, "age_band": age, "locality": loc}
    r = drivers.rank_breakdowns(
        PERCENT, by, total, BEFORE, AFTER, {"T1": "C", "T2": "A", "T3": "B"}, {"team": {"T1": "Team one"}.get}
    )
    assert r["breakdown"].tolist() == ["locality", "age_band", "team", "ethnicity", "source"]
    assert r["rank"].tolist()[:2] == [1, 2] and r["rank"].iloc[2:].isna().all()
    assert r["score"].tolist()[:2] == pytest.approx([0.9, 0.6])
    assert r.loc[0, ["group", "within"]].tolist() == ["C", "Team one"]
    assert r.loc[0, "share_of_change"] == pytest.approx(1.0) and r.loc[0, "weight"] == pytest.approx(0.1)
    assert r.loc[1, "z"] == pytest.approx(3 / (100 * ((0.09 + 0.1275) / 4000) ** 0.5))
    assert r.loc[2, "note"] == "repeats locality: Team one is in C"
    assert r.loc[3, "note"].startswith("no group") and pd.isna(r.loc[3, "group"])
    assert r.loc[4, "note"] == "not recorded for this measure"
    assert r.attrs["change"] == pytest.approx(2)
    assert set(r.attrs["drivers"]) == {"locality", "age_band", "team", "ethnicity"}


def test_a_team_holding_its_localitys_change_with_few_of_its_cases_is_the_sharper_answer():
    """10,000 cases, 1,000 (10%) then 1,400 (14%). Locality C (2,000 cases, 200 -> 600) has all of the 4 points
    (0.2 x 20): score 0.8. Its team T1, 600 cases, 60 -> 420 (10% -> 70%): 0.06 x 60 = 3.6 points, 90% of C's with
    under a third of its cases; T4, 1,400 cases, 140 -> 180: 0.4. The team is kept (score 0.9 - 0.06 = 0.84) and the
    locality repeats it. By ethnicity Y, 400 cases, 40 -> 360, has 80% of the rise (0.04 x 80) but is 4% of the
    cases: too small to be ranked (A141)."""
    loc, total = tables(
        {"A": (600, 6000), "B": (200, 2000), "C": (200, 2000)}, {"A": (600, 6000), "B": (200, 2000), "C": (600, 2000)}
    )
    team, _ = tables(
        {"T2": (600, 6000), "T3": (200, 2000), "T1": (60, 600), "T4": (140, 1400)},
        {"T2": (600, 6000), "T3": (200, 2000), "T1": (420, 600), "T4": (180, 1400)},
    )
    eth, _ = tables({"Y": (40, 400), "Z": (960, 9600)}, {"Y": (360, 400), "Z": (1040, 9600)})
    where = {"T1": "C", "T4": "C", "T2": "A", "T3": "B"}
    r = drivers.rank_breakdowns(PERCENT, {"locality": loc, "team": team, "ethnicity": eth}, total, BEFORE, AFTER, where)
    assert r["breakdown"].tolist() == ["team", "locality", "ethnicity"]
    assert r.loc[0, "group"] == "T1" and r.loc[0, "score"] == pytest.approx(0.84)
    assert r.loc[1, "note"] == "repeats team: T1 is in C" and pd.isna(r.loc[1, "rank"])
    y = r.attrs["drivers"]["ethnicity"].set_index("group").loc["Y"]
    assert y["share_of_change"] == pytest.approx(0.8) and y["weight"] == pytest.approx(0.04)
    assert r.loc[2, "note"].startswith("no group")


def test_the_top_group_is_judged_on_its_own_limits():
    """24 months to October 2026. C (400 cases a month) 10% and 12% by turns for 16 months, then 20% from March 2026
    (as in test_a_groups_own_spc_says_since_when: special cause, a concern, since March); A (3,600 cases) 10% and 12%
    by turns throughout. From the 12 months to July to August-October C moves from 14.8% to 20% and is named, on
    its own limits special cause since March 2026; A's own series is common cause."""
    months = months_back("2026-10", 24)
    c = [10, 12] * 8 + [20] * 8
    a = [10, 12] * 12
    rows = [(mo, "C", 4 * v, 400) for mo, v in zip(months, c, strict=True)]
    rows += [(mo, "A", 36 * v, 3600) for mo, v in zip(months, a, strict=True)]
    g = pd.DataFrame(rows, columns=["month", "grp", "numerator", "denominator"])
    g["value"] = 100 * g["numerator"] / g["denominator"]
    total = g.groupby("month", as_index=False)[["numerator", "denominator"]].sum()
    r = drivers.rank_breakdowns(PERCENT, {"locality": g}, total, months[9:21], months[21:])
    assert r.loc[0, ["group", "group_variation", "group_since"]].tolist() == ["C", "special_cause_concern", "2026-03"]
    d = r.attrs["drivers"]["locality"].set_index("group")
    assert d.loc["C", "value_before"] == pytest.approx(178 / 12) and d.loc["C", "value_after"] == pytest.approx(20)
    assert d.loc["A", "group_variation"] == "common_cause"


def test_a_group_with_no_spread_to_judge_is_not_beyond_chance_and_warns_nothing():
    """A percentage over 100 (more done than due) has no binomial spread: its z is unknown (NaN), quietly."""
    import warnings

    d = pd.DataFrame(
        {
            "share_before": [0.5, 0.5],
            "share_after": [0.5, 0.5],
            "value_before": [120.0, 50.0],
            "value_after": [130.0, 50.0],
            "denominator_before": [10.0, 10.0],
            "denominator_after": [10.0, 10.0],
        }
    )
    d.attrs.update(before=["2026-01"], after=["2026-02"], change=5.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z = drivers.beyond_chance(d, load("county")["1.7"])
    assert np.isnan(z.iloc[0])
    # the other: 50% -> 50% against a whole that rose 5 points: (0 - 5) / (100 * sqrt(2 * 0.25 / 10)) = -0.224
    assert z.iloc[1] == pytest.approx(-5 / (100 * np.sqrt(2 * 0.25 / 10)))
