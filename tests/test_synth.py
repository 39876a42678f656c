"""The synthetic authority: deterministic, coherent, calibrated to the seed county, anomalies planted."""

import filecmp

import numpy as np
import pandas as pd
import pytest

from kpi import model
from kpi.calendar import add_months, month_start
from kpi.catalogue import load as load_catalogue
from kpi.engine import Context, compute
from kpi.store import connect
from kpi.synth import SynthConfig, generate, write
from kpi.volumes import volumes


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    cfg = SynthConfig(scale=0.03)
    write(generate(cfg), tmp_path / "a", cfg)
    write(generate(cfg), tmp_path / "b", cfg)
    other = SynthConfig(scale=0.03, seed=7)
    write(generate(other), tmp_path / "c", other)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert len(names) == len(model.TABLES) + 1  # every table and extract.json
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", names, shallow=False)
    assert mismatch == [] and errors == []
    assert not filecmp.cmp(tmp_path / "a" / "referrals.csv", tmp_path / "c" / "referrals.csv", shallow=False)


def test_every_generated_row_passes_validation(small_authority):
    _, result = small_authority
    assert result.rejects.empty, result.rejects.head().to_string()
    acc = result.accounting
    assert (acc.rows_read == acc.rows_loaded).all()
    assert (acc.set_index("table_name").rows_loaded > 0).all(), "every table has rows"


def test_journeys_hang_together(small_authority):
    root, _ = small_authority
    con, _ = connect(root / "store.duckdb")

    def one(sql):
        return con.execute(sql).fetchall()[0][0]

    # every CP plan comes from a conference that made a plan, after an S47 that led to conference
    assert (
        one("""SELECT count(*) FROM cp_plans p JOIN icpcs i USING (icpc_id) JOIN s47_enquiries s USING (s47_id)
                  WHERE NOT i.plan_made OR s.outcome <> 'ICPC' OR p.child_id <> i.child_id
                     OR p.start_date <> i.conference_date OR i.conference_date < s.start_date""")
        == 0
    )
    assert one("SELECT count(*) FROM cp_plans WHERE icpc_id IS NULL") == 0
    # every S47 follows its strategy discussion, for the same child
    assert (
        one("""SELECT count(*) FROM s47_enquiries s JOIN strategy_discussions d USING (strategy_id)
                  WHERE d.outcome <> 'S47' OR s.start_date < d.held_date OR s.child_id <> d.child_id""")
        == 0
    )
    # referrals and assessments are about children, not adults
    assert (
        one("""SELECT count(*) FROM referrals r JOIN children c USING (child_id)
                  WHERE r.referral_date >= c.date_of_birth + INTERVAL 18 YEAR
                     OR r.referral_date < c.date_of_birth""")
        == 0
    )
    # care ends by the 18th birthday, and every care leaver was in care
    assert (
        one("""SELECT count(*) FROM care_episodes e JOIN children c USING (child_id)
                  WHERE e.end_date > c.date_of_birth + INTERVAL 18 YEAR + INTERVAL 1 DAY""")
        == 0
    )
    assert (
        one("""SELECT count(*) FROM care_leavers l WHERE NOT EXISTS (
                  SELECT 1 FROM care_episodes e WHERE e.child_id = l.child_id AND e.end_date = l.left_care_date)""")
        == 0
    )
    # the first episode of each period of care starts it
    assert (
        one("""SELECT count(*) FROM (SELECT period_id, arg_min(reason_new_episode, start_date) AS rne
                  FROM care_episodes GROUP BY period_id) WHERE rne <> 'S'""")
        == 0
    )
    # each contact that became a referral is that referral's child's contact
    assert (
        one("""SELECT count(*) FROM referrals r JOIN contacts c USING (contact_id)
                  WHERE c.child_id <> r.child_id OR c.outcome <> 'REF'""")
        == 0
    )
    # workers hold cases only while in post
    assert (
        one("""SELECT count(*) FROM case_allocations a JOIN staff s USING (staff_id)
                  WHERE a.start_date < s.start_date OR a.end_date > s.end_date""")
        == 0
    )


def test_child_ids_are_recognisable(small_authority):
    root, _ = small_authority
    ids = pd.read_csv(root / "synthetic" / "children.csv", usecols=["child_id"])["child_id"]
    assert ids.str.fullmatch(r"CH\d+").all()


def test_scale_makes_a_proportionally_smaller_authority(small_authority, full_authority):
    small = small_authority[1].accounting.set_index("table_name").rows_loaded
    full = full_authority[1].accounting.set_index("table_name").rows_loaded
    for t in ("contacts", "referrals", "visits"):
        assert 0.035 < small[t] / full[t] < 0.065, t


TARGETS_FLOW = {"Contacts": 1800, "Referrals": 550, "Assessments completed": 470}
TARGETS_STOCK = {
    "Children in need (open episodes)": 4200,
    "Children on a child protection plan": 550,
    "Children in care": 860,
    "Care leavers receiving a service": 600,
}


@pytest.fixture(scope="module")
def full_volumes(full_authority):
    root, result = full_authority
    con, snap = connect(root / "store.duckdb")
    return volumes(con, snap["latest_month"], 36).pivot(index="month", columns="volume", values="count")


@pytest.mark.slow
def test_calibrated_to_the_seed_county(full_volumes):
    v = full_volumes
    assert len(v) == 36
    for name, target in TARGETS_FLOW.items():
        mean = v[name].mean()
        assert abs(mean / target - 1) <= 0.15, f"{name}: {mean:.0f} a month against {target}"
    for name, target in TARGETS_STOCK.items():
        worst = v[name].iloc[-24:]
        assert (abs(worst / target - 1) <= 0.15).all(), f"{name}: {list(worst)} against {target}"


@pytest.mark.slow
def test_august_and_december_dip(full_volumes):
    c = full_volumes["Contacts"]
    for year in ("2024", "2025"):
        assert c[f"{year}-08"] < 0.9 * min(c[f"{year}-07"], c[f"{year}-09"])
        assert c[f"{year}-12"] < 0.95 * c[f"{year}-11"]


@pytest.mark.slow
def test_population_matches_the_seed_county(full_authority):
    root, _ = full_authority
    con, _ = connect(root / "store.duckdb")
    assert con.execute("SELECT sum(count) FROM population WHERE year = 2026").fetchall() == [(146874,)]
    assert con.execute("SELECT count(DISTINCT locality_id) FROM population").fetchall() == [(5,)]


@pytest.mark.slow
def test_planted_anomalies_stand_out(full_authority):
    root, _ = full_authority
    con, _ = connect(root / "store.duckdb")
    # re-referrals: share of referrals with another referral of the same child in the 12 months before
    rr = con.execute("""
        SELECT r.locality_id, r.referral_date >= DATE '2026-05-01' AS recent,
               avg(CASE WHEN EXISTS (SELECT 1 FROM referrals p WHERE p.child_id = r.child_id
                    AND p.referral_date < r.referral_date
                    AND p.referral_date >= r.referral_date - INTERVAL 12 MONTH) THEN 1 ELSE 0 END) AS rate
        FROM referrals r WHERE r.referral_date >= DATE '2025-05-01' GROUP BY ALL""").df()
    rr = rr.pivot(index="locality_id", columns="recent", values="rate")
    assert rr[True].idxmax() == "EAST"
    assert rr.loc["EAST", True] - rr.loc["EAST", False] > 0.05
    # repeat CP plans: share of plan starts with another plan for the child in the 2 years before
    cp = (
        con.execute("""
        SELECT assessment_team_id AS team,
               avg(CASE WHEN EXISTS (SELECT 1 FROM cp_plans q WHERE q.child_id = p.child_id
                    AND q.start_date < p.start_date AND q.start_date >= p.start_date - INTERVAL 2 YEAR)
                   THEN 1 ELSE 0 END) AS rate
        FROM cp_plans p WHERE p.start_date >= DATE '2026-07-01' GROUP BY ALL""")
        .df()
        .set_index("team")["rate"]
    )
    assert cp.idxmax() == "NORTH-ASMT"
    # assessments in 45 days
    a45 = (
        con.execute("""
        SELECT r.locality_id, avg(CASE WHEN a.authorised_date - a.start_date <= 45 THEN 1 ELSE 0 END) AS rate
        FROM assessments a JOIN referrals r USING (referral_id)
        WHERE a.assessment_type = 'INITIAL' AND a.authorised_date >= DATE '2026-06-01' GROUP BY ALL
    """)
        .df()
        .set_index("locality_id")["rate"]
    )
    assert a45.idxmin() == "SOUTH"
    assert a45["SOUTH"] < a45.drop("SOUTH").min() - 0.1


@pytest.fixture(scope="module")
def front_door(full_authority):
    """The county's child protection measures over the report's 24 months, and 5.2 on its old definition."""
    root, _ = full_authority
    con, snap = connect(root / "store.duckdb")
    last = month_start(snap["latest_month"])
    months = [add_months(last, -k).strftime("%Y-%m") for k in range(23, -1, -1)]
    df = compute(Context.prepare(con, snap), load_catalogue("county"), months, refs=["3.0", "3.1", "3.2", "5.2"])
    out = df.pivot(index="month", columns="measure", values="value")
    # seed 000's "ever": a plan that ended before this one started, however long before
    ever = con.execute("""
        SELECT strftime(p.start_date, '%Y-%m') AS month, 100 * avg(CASE WHEN EXISTS (SELECT 1 FROM cp_plans q
            WHERE q.child_id = p.child_id AND q.cp_plan_id <> p.cp_plan_id AND q.end_date <= p.start_date)
            THEN 1 ELSE 0 END) AS ever
        FROM cp_plans p GROUP BY 1""").df()
    return out.join(ever.set_index("month"))


@pytest.mark.slow
def test_child_protection_calibrated_to_the_seed_county(front_door):
    f = front_door
    assert len(f) == 24
    # 5.2 (KPI 6), repeat plans within 2 years: seed 003's months 15% to 44%, England about 23%. About 60 plans
    # start a month, so a month's figure varies by about 6 points either way: nearly every month before North's
    # planted anomaly (its last 4 months, which lift the county's figure) lies in the seed's range.
    before = f["5.2"].iloc[:-4]
    assert 22 <= before.mean() <= 34, before.round(1).tolist()
    assert before.between(15, 44).sum() >= 18, before.round(1).tolist()
    assert f["5.2"].iloc[-4:].mean() > before.mean()
    # "ever" counts more than "within 2 years" (seed 000 changed the definition and the figure with it)
    assert (f["ever"] - f["5.2"]).mean() >= 4, (f["ever"] - f["5.2"]).round(1).tolist()
    # 3.1 over the enquiries started in the month: seed 003's months 15% to 46% (target 30%). The latest month's
    # enquiries have not all concluded (about half are open at the extract), so it is lower than the others, as
    # the seed's own latest (1/205) is.
    assert f["3.1"].iloc[:-1].between(15, 46).all(), f["3.1"].round(1).tolist()
    assert 25 <= f["3.1"].iloc[:-1].mean() <= 38
    assert 10 <= f["3.1"].iloc[-1] < f["3.1"].iloc[:-1].min()
    # the volumes behind them in the seed's range on average: S47s 146 to 252 per 10,000, ICPCs 58 to 91
    assert 146 <= f["3.0"].mean() <= 252 and 58 <= f["3.2"].mean() <= 91


def test_without_anomalies_the_authority_is_steady():
    from kpi.calendar import to_days
    from kpi.synth import _Sim

    default, steady = _Sim(SynthConfig(scale=0.1)), _Sim(SynthConfig(scale=0.1, anomalies=False))
    assert not default.cfg.steady and steady.cfg.steady
    first, last = to_days(default.cfg.window_start), default.extract
    # the default front line hires agency workers with chance 0.83 at the window's start, 0.80 at its end (and
    # 0.83 before it); a steady one 0.83 throughout. Other posts are alike.
    assert default.agency_chance("EAST-FS", "SW", first - 400) == pytest.approx(0.83)
    assert default.agency_chance("EAST-FS", "SW", last) == pytest.approx(0.80)
    assert {steady.agency_chance("EAST-FS", "SW", d) for d in (first - 400, first, last)} == {0.83}
    for who in (("EAST-FS", "TM"), ("QA", "SM"), ("LC", "PA"), ("EAST-EH", "FIT")):
        assert steady.agency_chance(*who, last) == default.agency_chance(*who, last)
    # population: growing 0.3% a year by default, flat when steady
    pop = {s.cfg.steady: s.reference_tables()["population"].groupby("year")["count"].sum() for s in (default, steady)}
    assert pop[False].iloc[-1] > pop[False].iloc[0] and pop[True].nunique() == 1
    # newly qualified workers' September intakes (one a year at scale 0.1): from the simulation's first year, or
    # eight years before it
    intakes = {}
    for s in (default, steady):
        st = s.staff()
        sept = pd.to_datetime(st.loc[st["newly_qualified"] == "Y", "start_date"], unit="D")
        intakes[s.cfg.steady] = sept[(sept.dt.month == 9) & (sept.dt.day == 22)].dt.year.min()
    assert intakes[False] == default.cfg.sim_start.year and intakes[True] == steady.cfg.sim_start.year - 8
    # the window starts in November 2023: simulated 24 months before it by default, 60 when steady (a longer burn-in asked for is kept)
    assert (default.cfg.sim_start.isoformat(), steady.cfg.sim_start.isoformat()) == ("2021-11-01", "2018-11-01")
    assert SynthConfig(anomalies=False, burn_in_months=72).sim_start.isoformat() == "2017-11-01"


@pytest.mark.slow
def test_agency_rates_against_the_establishment_in_the_seeds_range(full_authority):
    # Seed 003, Jul-24 to Jan-25: 8.0 (front line, against the establishment) 47.0-48.4%, 8.2 (team managers)
    # 36.6-38.6%, 8.1 (all social work posts) 31.5-32.2%. Over the synthetic window's last 12 months the mean of
    # 8.0 lies within a point and a half of the seed's, of 8.2 within 3 points (one manager of about 32 budgeted
    # posts moves it 3 points); every month of 8.0 within 7 points of the seed (the month-to-month noise of
    # about 270 budgeted posts). 8.0 is not 8.1: social workers outside the front line, agency among them, and
    # the budget rather than the staff in post below the line.
    from kpi.calendar import add_months, month_start
    from kpi.catalogue import load as load_catalogue
    from kpi.engine import Context, compute

    root, _ = full_authority
    con, snap = connect(root / "store.duckdb")
    ctx = Context.prepare(con, snap)
    months = [add_months(month_start(snap["latest_month"]), -i).isoformat()[:7] for i in range(35, -1, -1)]
    run = compute(ctx, load_catalogue("county"), months, refs=["8.0", "8.1", "8.2"])
    v = run.pivot(index="month", columns="measure", values="value")
    last12 = v.iloc[-12:].mean()
    assert 45.5 <= last12["8.0"] <= 49.9, last12["8.0"]
    assert 33.6 <= last12["8.2"] <= 41.6, last12["8.2"]
    assert v["8.0"].between(40, 55.4).all(), list(v["8.0"])
    assert ((v["8.0"] - v["8.1"]).abs() >= 1).all(), list(v["8.0"] - v["8.1"])
    # agency cover below the vacancies in some front-line posts (budgeted posts left empty) and above them in
    # others (agency workers beyond the budget), in the last 12 months
    cover = con.execute(
        """
        WITH cell AS (
            SELECT e.budget_month, e.fte - coalesce(sum(s.fte) FILTER (WHERE s.employment = 'PERM'), 0) AS vacant,
                   coalesce(sum(s.fte) FILTER (WHERE s.employment = 'AGENCY'), 0) AS agency
            FROM establishment e JOIN teams t ON t.team_id = e.team_id AND t.frontline
            LEFT JOIN staff s ON s.team_id = e.team_id AND s.role = e.role
                AND s.start_date <= last_day(e.budget_month)
                AND (s.end_date IS NULL OR s.end_date > last_day(e.budget_month))
            WHERE e.role IN ('SW', 'ASW') AND e.budget_month >= CAST(? AS DATE)
            GROUP BY e.budget_month, e.team_id, e.role, e.fte)
        SELECT count(*) FILTER (WHERE agency < vacant), count(*) FILTER (WHERE agency > greatest(vacant, 0))
        FROM cell""",
        [f"{months[-12]}-01"],
    ).fetchone()
    assert min(cover) > 0, cover
    # social workers from overseas: some start each year, into the front line's family safeguarding and
    # assessment teams
    overseas = con.execute("""
        SELECT year(start_date) AS y, count(*) FROM staff WHERE overseas AND year(start_date) BETWEEN 2022 AND 2025
        GROUP BY y ORDER BY y""").fetchall()
    assert [y for y, n in overseas if n >= 4] == [2022, 2023, 2024, 2025], overseas


def test_audits_carry_family_feedback_and_pillar_grades_as_the_seeds_report(full_authority):
    root, _ = full_authority
    con, _ = connect(root / "store.duckdb")
    done, feedback, pillars, graded, visits_good, voice_good = con.execute("""
        SELECT count(*), avg(CAST(family_feedback AS INT)),
               (SELECT count(*) FROM audit_pillars),
               (SELECT count(DISTINCT audit_id) FROM audit_pillars),
               (SELECT avg(CAST(grade IN ('GOOD', 'OUT') AS INT)) FROM audit_pillars WHERE pillar = 'VISITS'),
               (SELECT avg(CAST(grade IN ('GOOD', 'OUT') AS INT)) FROM audit_pillars WHERE pillar = 'VOICE')
        FROM audits WHERE completed_date IS NOT NULL""").fetchone()
    assert 0.22 <= feedback <= 0.38  # seed 001: a base line of 22%, "around 30%"
    assert pillars == 7 * done and graded == done  # the seven pillars of every completed audit, no other
    assert 0.12 <= visits_good <= 0.20 and 0.09 <= voice_good <= 0.17  # seed 003: 16% and 13% in January
    assert (
        con.execute(
            "SELECT count(*) FROM audits WHERE completed_date IS NULL AND family_feedback IS NOT NULL"
        ).fetchone()[0]
        == 0
    )


@pytest.mark.slow
def test_the_records_the_seeds_imply_are_calibrated(full_authority):
    """Reviews, core groups, school moves, missing episodes and children seen alone, over the financial year
    2025-26, in the ranges the seeds give (seed 002's appendix, seed 001's pathway plans) or the assumptions
    log's where they give none (A185-A189)."""
    root, _ = full_authority
    con, _ = connect(root / "store.duckdb")

    def one(sql):
        return con.execute(sql).fetchall()[0][0]

    fy = "BETWEEN DATE '2025-04-01' AND DATE '2026-03-31'"
    on_time = {
        p: one(f"""SELECT avg(CASE WHEN review_date <= due_date THEN 1 ELSE 0 END) FROM reviews
                   WHERE plan_type = '{p}' AND due_date {fy}""")
        for p in ("CIN", "CP", "CLA", "CL")
    }
    assert 0.595 <= on_time["CIN"] <= 0.852, on_time  # seed 002 SCC/016: 85.2% (2014/15), 59.5% (Q2)
    assert 0.85 <= on_time["CP"] <= 0.97 and 0.85 <= on_time["CLA"] <= 0.97, on_time  # A185
    # seed 001: "89% of pathway plans for CEP are up to date" (86% in its table): the latest review due by the
    # year end held by then, of care leavers receiving a service then
    up_to_date = one("""
        SELECT avg(CASE WHEN coalesce((SELECT arg_max(v.review_date IS NOT NULL AND v.review_date <= DATE '2026-03-31',
                   v.due_date) FROM reviews v WHERE v.child_id = l.child_id AND v.plan_type = 'CL'
                   AND v.due_date <= DATE '2026-03-31'), TRUE) THEN 1 ELSE 0 END)
        FROM care_leavers l WHERE l.left_care_date <= DATE '2026-03-31'
          AND (l.service_end_date IS NULL OR l.service_end_date > DATE '2026-03-31')""")
    assert 0.84 <= up_to_date <= 0.92, up_to_date
    # seed 002 SCC/011b: 57.4% (2014/15), 43.2% (Q2)
    alone = one(f"""SELECT avg(CASE WHEN seen_alone THEN 1 ELSE 0 END) FROM assessments
                    WHERE assessment_type = 'INITIAL' AND authorised_date {fy}""")
    assert 0.432 <= alone <= 0.574, alone
    assert one("SELECT count(*) FROM assessments WHERE seen_alone IS NULL") == 0
    # first core groups within 10 working days of the conference (A186): counted with numpy's working days
    first = con.execute(f"""SELECT p.start_date, min(g.meeting_date) AS first FROM cp_plans p
                            LEFT JOIN core_groups g USING (cp_plan_id) WHERE p.start_date {fy} GROUP BY ALL""").df()
    from kpi.calendar import bank_holidays

    held = first["first"].notna()
    wd = np.busday_count(
        first.loc[held, "start_date"].to_numpy("datetime64[D]") + 1,
        first.loc[held, "first"].to_numpy("datetime64[D]") + 1,
        holidays=bank_holidays(2025, 2026),
    )
    within = (wd <= 10).sum() / len(first)
    assert 0.8 <= within <= 0.95, within
    # seed 002 SCC/002: 15 looked after children with a non-transitional school move in 2014/15, of 108 to 121
    in_care = one("""SELECT count(DISTINCT child_id) FROM care_episodes WHERE start_date <= DATE '2026-03-31'
                     AND (end_date IS NULL OR end_date > DATE '2026-03-31')""")
    moved = one(f"SELECT count(DISTINCT child_id) FROM school_moves WHERE NOT transitional AND move_date {fy}")
    assert 0.08 <= moved / in_care <= 0.18, (moved, in_care)
    assert one(f"SELECT count(*) FROM school_moves WHERE transitional AND move_date {fy}") > 0.2 * moved
    # missing from care (A188): about a tenth of children in care in a year, some of them many times; M and A
    missing = (
        con.execute(f"""SELECT absence, count(*) AS n, count(DISTINCT child_id) AS children,
                                     max(k) AS most FROM (SELECT *, count(*) OVER (PARTITION BY child_id, absence) AS k
                              FROM missing_episodes WHERE start_date {fy}) GROUP BY ALL""")
        .df()
        .set_index("absence")
    )
    assert 0.07 <= missing.loc["M", "children"] / in_care <= 0.16, missing
    assert missing.loc["M", "most"] >= 10 and missing.loc["A", "n"] > 0


def test_the_new_records_hang_together(small_authority):
    """Core groups meet while their plan is open, for its child; reviews follow their plan's timetable; school
    moves and missing episodes happen in care; no child under 3 is seen alone."""
    root, _ = small_authority
    con, _ = connect(root / "store.duckdb")

    def one(sql):
        return con.execute(sql).fetchall()[0][0]

    assert (
        one("""SELECT count(*) FROM core_groups g JOIN cp_plans p USING (cp_plan_id)
               WHERE g.child_id <> p.child_id OR g.meeting_date <= p.start_date
                  OR g.meeting_date > coalesce(p.end_date, DATE '2026-11-01')""")
        == 0
    )
    # every CP review conference falls 3 months after a plan's start, then every 6 months
    assert (
        one("""SELECT count(*) FROM reviews r WHERE r.plan_type = 'CP' AND NOT EXISTS (SELECT 1 FROM cp_plans p
               WHERE p.child_id = r.child_id AND (r.due_date - p.start_date) % 182 = 91
               AND r.due_date > p.start_date AND r.due_date <= coalesce(p.end_date, DATE '2027-03-01'))""")
        == 0
    )
    # the first looked after review is 20 working days (28 days or more) after a period of care starts
    first = con.execute("""SELECT min(r.due_date - e.start_date) AS lo, max(r.due_date - e.start_date) AS hi
                           FROM care_episodes e JOIN reviews r ON r.child_id = e.child_id AND r.plan_type = 'CLA'
                           WHERE e.reason_new_episode = 'S' AND r.due_date > e.start_date
                             AND r.due_date < e.start_date + 40""").fetchall()[0]
    assert first[0] >= 28 and first[1] <= 34, first
    for table, day in (("school_moves", "move_date"), ("missing_episodes", "start_date")):
        outside = one(f"""SELECT count(*) FROM {table} x WHERE NOT EXISTS (SELECT 1 FROM care_episodes e
                          WHERE e.child_id = x.child_id AND e.start_date <= x.{day}
                          AND (e.end_date IS NULL OR e.end_date > x.{day}))""")
        assert outside == 0, table
    assert (
        one("""SELECT count(*) FROM missing_episodes m JOIN children c USING (child_id)
               WHERE m.start_date < c.date_of_birth + INTERVAL 11 YEAR""")
        == 0
    )
    assert (
        one("""SELECT count(*) FROM assessments a JOIN children c USING (child_id)
               WHERE a.seen_alone AND a.start_date < c.date_of_birth + INTERVAL 3 YEAR""")
        == 0
    )
