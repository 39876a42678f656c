"""The workforce definitions of seed 003 (8.0, 8.2 against the establishment; 8.3's cap for newly qualified and
overseas social workers) and the journey set's vacancy rate, on hand-made staff and budgets worked out by hand."""

import pytest
from helpers import BASE_TABLES, build_store, figure

from kpi.catalogue import load
from kpi.engine import Context, compute, needs

TEAMS = BASE_TABLES["teams"] + [
    {"team_id": "F2", "name": "Family safeguarding", "service": "FAMILY_SAFEGUARDING", "frontline": "Y"},
    {"team_id": "QA", "name": "Quality assurance", "service": "QUALITY_ASSURANCE", "frontline": "N"},
]


def worker(sid, role, team, employment, fte=1.0, start="2024-01-01", end="", **kw):
    return {
        "staff_id": sid,
        "role": role,
        "team_id": team,
        "employment": employment,
        "fte": fte,
        "start_date": start,
        "end_date": end,
        **kw,
    }


def budget(month, team, role, fte):
    return {"budget_month": month, "team_id": team, "role": role, "fte": fte}


STAFF = [
    worker("A1", "SW", "T", "AGENCY"),
    worker("A2", "ASW", "F2", "AGENCY", fte=0.5),
    worker("A3", "SW", "T", "AGENCY", end="2024-12-31"),  # left on December's month end: in post in November only
    worker("A4", "SW", "QA", "AGENCY"),  # not a front-line team: 8.1's, not 8.0's
    worker("A5", "SW", "F2", "AGENCY", start="2025-01-01"),  # starts after December
    worker("P1", "SW", "T", "PERM"),
    worker("P2", "SW", "T", "PERM", fte=0.8),
    worker("P3", "ASW", "F2", "PERM"),
    worker("P4", "ASW", "F2", "PERM"),  # F2's advanced posts: one over their budget of 1
    worker("P5", "SW", "F2", "PERM", end="2024-12-31"),
    worker("TA", "TM", "T", "AGENCY"),
    worker("TB", "TM", "QA", "AGENCY"),  # every team's managers count for 8.2, front line or not
    worker("TP", "TM", "F2", "PERM", fte=0.6),
]
ESTABLISHMENT = [
    budget("2024-11-01", "T", "SW", 5.0),  # November's budget: only the front line's ordinary posts
    budget("2024-12-01", "T", "SW", 3.0),
    budget("2024-12-01", "F2", "ASW", 1.0),
    budget("2024-12-01", "F2", "SW", 1.0),
    budget("2024-12-01", "QA", "SW", 2.0),  # not front line
    budget("2024-12-01", "T", "TM", 1.0),
    budget("2024-12-01", "F2", "TM", 2.0),
    budget("2024-12-01", "QA", "TM", 1.0),
    budget("2025-01-01", "T", "SW", 9.0),  # January's: not December's
]


@pytest.fixture(scope="module")
def workforce(tmp_path_factory):
    root = tmp_path_factory.mktemp("workforce")
    return build_store(root, {"teams": TEAMS, "staff": STAFF, "establishment": ESTABLISHMENT})


def test_agency_rate_of_the_front_line_is_over_its_establishment(workforce):
    # December: agency social workers in front-line posts at the month end A1 (1) and A2 (0.5), over the front
    # line's budgeted social work posts T 3 + F2 1 + F2 1 = 5: 30.0%. Over the front line's social workers in
    # post (A1 A2 P1 P2 P3 P4 = 5.3 FTE) it would be 28.3%.
    dec = figure(workforce, "8.0", "2024-12")
    assert (dec.numerator, dec.denominator) == (1.5, 5.0)
    assert dec.display == "30.0%"
    # November: A1, A2 and A3 in post (2.5 FTE of agency) over a budget of 5 posts: agency beyond the posts
    # left vacant by permanent staff counts, as the seed's "FTE ... against the total Budget" does. Over those
    # in post (also P1 P2 P3 P4 P5: 8.3 FTE) it would be 30.1%.
    nov = figure(workforce, "8.0", "2024-11")
    assert (nov.numerator, nov.denominator) == (2.5, 5.0)
    # 8.1 (all social work posts, over those in post) differs: A1 A2 A4 = 2.5 agency of 2.5 + P1 P2 P3 P4 3.8
    all_posts = figure(workforce, "8.1", "2024-12")
    assert (all_posts.numerator, all_posts.denominator) == (2.5, pytest.approx(6.3))


def test_agency_team_managers_over_the_managers_establishment(workforce):
    # December: agency managers TA and TB (2.0) over the budgeted manager posts 1 + 2 + 1 = 4: 50.0%. Over the
    # managers in post (TA TB TP = 2.6) it would be 76.9%.
    dec = figure(workforce, "8.2", "2024-12")
    assert (dec.numerator, dec.denominator) == (2.0, 4.0)
    assert dec.display == "50.0%"


def test_without_an_establishment_the_agency_rates_are_not_available(tmp_path):
    ctx = build_store(tmp_path, {"teams": TEAMS, "staff": STAFF})
    run = compute(ctx, load("county"), ["2024-12"], refs=["8.0", "8.1", "8.2"]).set_index("measure")
    why = {ref: ctx.unavailable(load("county")[ref]) for ref in ("8.0", "8.1", "8.2")}
    assert why["8.0"] == why["8.2"] == "establishment: not supplied" and why["8.1"] is None
    assert list(run.index) == ["8.1"]  # no figure at all for 8.0 and 8.2, rather than a rate over nothing


def test_vacancy_rate_counts_agency_cover_as_vacant_and_no_team_offsets_another(workforce):
    # December's social work budget: T SW 3 (permanent P1 1 + P2 0.8 in post: 1.2 vacant, A1's cover being
    # agency), F2 ASW 1 (P3 and P4 in post: over budget, 0 vacant, not -1), F2 SW 1 (P5 left on the month end:
    # 1 vacant), QA SW 2 (none permanent: 2 vacant). Vacant 1.2 + 0 + 1 + 2 = 4.2 of 7 posts: 60.0%.
    journey = load("journey")
    dec = compute(workforce, journey, ["2024-12"], refs=["D20"]).iloc[0]
    assert (dec.numerator, dec.denominator) == (pytest.approx(4.2), 7.0)
    assert dec.display == "60.0%"


def staff_with_cases(sid, cases, **kw):
    """A front-line social worker (team T, assessment) and their open cases."""
    row = worker(sid, "SW", "T", "PERM", **kw)
    allocations = [
        {"allocation_id": f"{sid}-{k}", "child_id": f"C{sid}{k}", "staff_id": sid, "start_date": "2024-10-01"}
        for k in range(cases)
    ]
    return row, allocations


def test_caseload_caps_overseas_social_workers_in_their_first_year_at_0_6(tmp_path):
    # December's month end is 2024-12-31: a worker started on 2024-01-01 is in their first year (it ends on
    # 2024-12-31), one started on 2023-12-31 is not (it ended on 2024-12-30).
    people = [
        staff_with_cases("OS1", 6, start="2024-01-01", overseas="Y"),  # first year: 0.6
        staff_with_cases("OS2", 10, start="2023-12-31", overseas="Y"),  # first year over: 1
        staff_with_cases("OS3", 5, start="2024-06-01", overseas=""),  # not recorded: counted as not overseas
        staff_with_cases("NQO", 4, start="2024-09-22", newly_qualified="Y", overseas="Y"),  # both: 0.6, not 0.36
        staff_with_cases("SW1", 12, start="2020-01-01", overseas="N", fte=0.5),
    ]
    ctx = build_store(
        tmp_path, {"staff": [p[0] for p in people], "case_allocations": [a for p in people for a in p[1]]}
    )
    dec = figure(ctx, "8.3", "2024-12")
    assert dec.numerator == 37  # 6 + 10 + 5 + 4 + 12
    assert dec.denominator == pytest.approx(3.7)  # 0.6 + 1 + 1 + 0.6 + 0.5
    assert dec.display == "10.00"


def test_a_source_without_overseas_workers_still_gives_caseloads(workforce):
    # A source that does not give staff.overseas (a database mapping without it) still has 8.3: the catalogue
    # reads it as coalesce(t.overseas, FALSE), so a worker not recorded as overseas is counted as not (A162).
    # A source without newly_qualified, which 8.3 reads as it is, has no 8.3.
    caseload = load("county")["8.3"]
    assert ("staff", "overseas") not in needs(caseload) and ("staff", "newly_qualified") in needs(caseload)
    without = {("staff", "overseas"): "not mapped in hr.yaml"}
    assert (
        Context(workforce.con, workforce.snapshot, missing=without, work=workforce.work).unavailable(caseload) is None
    )
    without = {("staff", "newly_qualified"): "not mapped in hr.yaml"}
    why = Context(workforce.con, workforce.snapshot, missing=without, work=workforce.work).unavailable(caseload)
    assert why == "staff.newly_qualified: not mapped in hr.yaml"
