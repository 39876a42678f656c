"""The CIN census reader on censuses as councils send them: a later census restating an earlier one, records that
cannot be identified or are dated after their census, the census's date, namespaces, other layouts and code
styles, records outside the data model set aside, every element accounted for."""

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from helpers import write_csv
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from returns import census_from, census_xml, frames

from kpi.errors import LoadError
from kpi.load import load_sources
from kpi.readers import read
from kpi.scorecard import scorecard
from kpi.store import connect


def population(directory: Path) -> Path:
    """Localities and a population of 10,000 for 2024 to 2026 (rates per 10,000 are counts)."""
    write_csv(directory, "localities", [{"locality_id": "L1", "name": "County"}])
    rows = [{"year": y, "locality_id": "L1", "age": 5, "sex": "M", "count": 10000} for y in (2024, 2025, 2026)]
    write_csv(directory, "population", rows)
    return directory


def load_cin(src: Path, root: Path, accept_losses: bool = False, **options):
    return load_sources(
        read([("cin", str(src)), ("standard", str(population(root / "pop")))], **options),
        root / "w.duckdb",
        accept_losses=accept_losses,
    )


def numerators(store: Path, ref: str, months: list[str]) -> list:
    return [scorecard(m, store=store, measures=[ref], targets=None)["numerator"].iloc[0] for m in months]


def line_of(text: str, needle: str, after: str | None = None) -> int:
    """The line (from 1) of the first ``needle`` in the text, after ``after`` if given."""
    start = text.index(after) if after else 0
    return text[: text.index(needle, start)].count("\n") + 1


def child(cid, born="2016-05-01", sex="2", episodes=(), **kw) -> dict:
    return {"LAchildID": cid, "PersonBirthDate": born, "Sex": sex, "episodes": list(episodes), **kw}


def cin_episode(referred, closed=None, assessments=(), plans=(), s47=(), cpp=(), **kw) -> dict:
    e = {"CINreferralDate": referred, "ReferralSource": "6", "PrimaryNeedCode": "N1", "CINclosureDate": closed}
    e |= {"ReasonForClosure": "RC8" if closed else None, "ReferralNFA": "false"}
    e |= {"Assessments": list(assessments), "CINPlanDates": list(plans), "Section47": list(s47)}
    return e | {"ChildProtectionPlans": list(cpp)} | kw


def assessment(start, authorised=None) -> dict:
    return {"AssessmentActualStartDate": start, "AssessmentAuthorisationDate": authorised}


# ---------------------------------------------------------------------------------------------
# 4. a later census restates an earlier one
# ---------------------------------------------------------------------------------------------

LAST_YEAR = [  # the census of 31 March 2025
    # A1: referred in January 2025, open at the census date, its assessment and CIN plan too
    child(
        "A1",
        episodes=[
            cin_episode(
                "2025-01-10", assessments=[assessment("2025-01-12")], plans=[{"CINPlanStartDate": "2025-02-20"}]
            )
        ],
    ),
    # A2: an episode of 2024-25 closed in it (history the next census does not repeat)
    child("A2", "2012-09-09", "1", [cin_episode("2024-06-01", "2025-02-01", [assessment("2024-06-03", "2024-07-10")])]),
    # A3: open at the census date, and not in the next census: withdrawn
    child("A3", "2010-01-01", "1", [cin_episode("2024-11-01", assessments=[assessment("2024-11-02", "2024-12-01")])]),
]
THIS_YEAR = [  # the census of 31 March 2026
    # A1's episode again: closed in June 2025, its assessment authorised and plan ended
    child(
        "A1",
        episodes=[
            cin_episode(
                "2025-01-10",
                "2025-06-30",
                [assessment("2025-01-12", "2025-02-20")],
                [{"CINPlanStartDate": "2025-02-20", "CINPlanEndDate": "2025-06-30"}],
            )
        ],
    ),
    child("A4", "2018-03-03", "1", [cin_episode("2026-01-15", assessments=[assessment("2026-01-16")])]),
]


def two_censuses(root: Path) -> Path:
    (root / "cin").mkdir(parents=True)
    (root / "cin" / "census-2025.xml").write_text(census_xml(LAST_YEAR, "2025-03-31"))
    (root / "cin" / "census-2026.xml").write_text(census_xml(THIS_YEAR, "2026-03-31"))
    return root / "cin"


def test_a_later_census_restates_an_earlier_ones_episodes(tmp_path):
    src = two_censuses(tmp_path)
    res = load_cin(src, tmp_path)
    last, this = (src / "census-2025.xml").read_text(), (src / "census-2026.xml").read_text()
    rej = res.rejects.set_index(["table_name", "file", "row"])["reason"]
    a1_then = line_of(last, "<CINdetails>")
    a1_now = line_of(this, "<CINdetails>")
    assert (
        rej[("referrals", "census-2025.xml", a1_then)] == f"restated by the later census: census-2026.xml row {a1_now}"
    )
    assert rej[("children", "census-2025.xml", line_of(last, "<Child>"))].startswith("restated by the later census")
    assert rej[("assessments", "census-2025.xml", line_of(last, "<Assessments>"))].startswith("restated by the later")
    assert rej[("cin_plans", "census-2025.xml", line_of(last, "<CINPlanDates>"))].startswith("restated by the later")
    a3 = line_of(last, "<CINdetails>", after="<LAchildID>A3")
    assert rej[("referrals", "census-2025.xml", a3)] == (
        "open at 2025-03-31 (no CINclosureDate) but not in the census of 2026-03-31 (census-2026.xml), which holds "
        "every episode open during its year: superseded by it"
    )
    # A3's closed assessment falls with its episode
    a3_assessment = line_of(last, "<Assessments>", after="<LAchildID>A3")
    assert rej[("assessments", "census-2025.xml", a3_assessment)] == "expected a referral_id loaded in referrals"
    assert len(rej) == 6
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT child_id, closure_date FROM referrals ORDER BY 1").fetchall() == [
        ("A1", dt.date(2025, 6, 30)),
        ("A2", dt.date(2025, 2, 1)),
        ("A4", None),
    ]
    assert con.execute("SELECT child_id, assessment_type, authorised_date FROM assessments ORDER BY 1").fetchall() == [
        ("A1", "INITIAL", dt.date(2025, 2, 20)),
        ("A2", "INITIAL", dt.date(2024, 7, 10)),
        ("A4", "INITIAL", None),
    ]
    assert con.execute("SELECT count(*) FROM children").fetchall() == [(4,)]
    # children in need at each year end: A1 then, A4 now (A1 closed on 30 June; A3 withdrawn)
    assert numerators(tmp_path / "w.duckdb", "4.0", ["2025-03", "2025-05", "2025-06", "2026-03"]) == [1, 1, 0, 1]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    from kpi.synth import SynthConfig, generate

    return frames(generate(SynthConfig(scale=0.05)))


def open_at(df: pd.DataFrame, start: str, end: str, month: str) -> int:
    m = pd.Period(month, "M").end_time.date()
    return int(((df[start] <= m) & (df[end].isna() | (df[end] > m))).sum())


def test_a_synthetic_authoritys_censuses_give_its_figures(synthetic, tmp_path):
    """The 2024-25 and 2025-26 censuses written from a synthetic authority and loaded together: children in need and
    on a CP plan at each month end of both years are what its own records give (204 in need at March 2026; the
    earlier census's open episodes, closed in the later, were counted as open before)."""
    census_from(synthetic, 2025, tmp_path / "cin" / "cin2025.xml")
    census_from(synthetic, 2026, tmp_path / "cin" / "cin2026.xml")
    res = load_cin(tmp_path / "cin", tmp_path)
    reasons = res.rejects["reason"].str.extract(r"^(restated by the later census)")[0]
    assert reasons.notna().all() and len(res.rejects) > 100
    months = ["2024-04", "2024-09", "2025-03", "2025-04", "2025-10", "2026-02", "2026-03"]
    store = tmp_path / "w.duckdb"
    refs = synthetic["referrals"]
    assert numerators(store, "4.0", months) == [open_at(refs, "referral_date", "closure_date", m) for m in months]
    assert open_at(refs, "referral_date", "closure_date", "2026-03") == 204
    plans = synthetic["cp_plans"]
    assert numerators(store, "5.0", months) == [open_at(plans, "start_date", "end_date", m) for m in months]


# ---------------------------------------------------------------------------------------------
# records that cannot be identified, or dated after their census
# ---------------------------------------------------------------------------------------------


def test_records_without_identity_or_dated_after_the_census_are_listed(tmp_path):
    kids = [
        child(None, episodes=[cin_episode("2025-05-01", assessments=[assessment("2025-05-02")])]),
        child("B1", episodes=[cin_episode(None, assessments=[assessment("2025-05-02")]), cin_episode("2025-06-01")]),
        child("B2", episodes=[cin_episode("2025-07-01", "2026-04-02"), cin_episode("2025-08-01")]),
    ]
    f = tmp_path / "census.xml"
    f.write_text(census_xml(kids, "2026-03-31"))
    text = f.read_text()
    # the reader's rejects count toward the loss rule: three of five referrals
    with pytest.raises(LoadError, match=r"^census.xml: 3 of 5 rows rejected, more than half\n"):
        load_cin(f, tmp_path)
    res = load_cin(f, tmp_path, accept_losses=True)
    rej = res.rejects.set_index(["table_name", "row"])
    no_id = line_of(text, "<Child>")
    assert rej.loc[("children", no_id), ["column_name", "reason"]].tolist() == [
        "LAchildID",
        "a Child without LAchildID: it and its records cannot be identified",
    ]
    assert rej.loc[("referrals", line_of(text, "<CINdetails>")), "column_name"] == "LAchildID"
    assert rej.loc[("assessments", line_of(text, "<Assessments>")), "column_name"] == "LAchildID"
    no_date = line_of(text, "<CINdetails>", after="<LAchildID>B1")
    assert rej.loc[("referrals", no_date), "reason"] == (
        "a CINdetails without CINreferralDate: it and its records cannot be identified"
    )
    assert rej.loc[("assessments", line_of(text, "<Assessments>", after="<LAchildID>B1")), "column_name"] == (
        "CINreferralDate"
    )
    late = line_of(text, "<CINdetails>", after="<LAchildID>B2")
    assert rej.loc[("referrals", late), ["column_name", "value", "reason"]].tolist() == [
        "CINclosureDate",
        "2026-04-02",
        "expected a date on or before the census reference date 2026-03-31",
    ]
    assert len(rej) == 6
    acc = res.accounting.groupby("table_name")[["rows_read", "rows_loaded"]].sum()
    assert acc.loc["referrals"].tolist() == [5, 2] and acc.loc["children"].tolist() == [3, 2]


# ---------------------------------------------------------------------------------------------
# the census's date
# ---------------------------------------------------------------------------------------------


def test_the_census_date_from_its_header_its_year_or_the_year_option(tmp_path):
    kids = [child("A1", episodes=[cin_episode("2025-05-01")])]
    f = tmp_path / "census.xml"
    f.write_text(census_xml(kids, None))
    with pytest.raises(LoadError, match=r"census.xml: its Header has no ReferenceDate \(nor Year\): give --year"):
        read([("cin", str(f))])
    (ex,) = read([("cin", str(f))], year="2025-26")
    assert (ex.extract_date, ex.latest_month) == ("2026-04-01", "2026-03")
    f.write_text(
        census_xml(kids, None).replace("<Collection>CIN</Collection>", "<Collection>CIN</Collection><Year>2026</Year>")
    )
    (ex,) = read([("cin", str(f))])
    assert (
        ex.extract_date == "2026-04-01"
        and "census.xml: no ReferenceDate in its Header: 31 March 2026, from its Year" in ex.notes
    )
    f.write_text(census_xml(kids, "31/03/2026 00:00"))
    assert read([("cin", str(f))])[0].extract_date == "2026-04-01"
    with pytest.raises(LoadError, match=r"census.xml: its ReferenceDate 2026-03-31 is not in --year 2024-25"):
        read([("cin", str(f))], year=2025)
    f.write_text(census_xml(kids, "soon"))
    with pytest.raises(LoadError, match=r"census.xml: its ReferenceDate 'soon' is not a date"):
        read([("cin", str(f))])


def test_two_censuses_of_one_year_are_refused(tmp_path):
    kids = [child("A1", episodes=[cin_episode("2025-05-01")])]
    (tmp_path / "a.xml").write_text(census_xml(kids, "2026-03-31"))
    (tmp_path / "b.XML").write_text(census_xml(kids, "2025-12-31"))
    with pytest.raises(LoadError, match=r"b.XML and a.xml: two censuses of 2025-26 .*keep one"):
        read([("cin", str(tmp_path))])
    with pytest.raises(LoadError, match=r"--year states the year of one census"):
        read([("cin", str(tmp_path))], year=2026)


# ---------------------------------------------------------------------------------------------
# layouts and code styles
# ---------------------------------------------------------------------------------------------

STYLED = [
    child(
        "A1",
        sex=" f ",
        Ethnicity="wbri",
        Disabilities=["none"],
        episodes=[
            cin_episode(
                "01/02/2025 00:00",
                "2025-06-30T00:00:00",
                [assessment("2025-02-03", "2025-03-01")],
                cpp=[
                    {
                        "CPPstartDate": "2025-03-05",
                        "InitialCategoryOfAbuse": "neg",
                        "Reviews": ["2025-04-01", "2025-06-01"],
                    }
                ],
                s47=[
                    {"S47ActualStartDate": "2025-02-10", "DateOfInitialCPC": "05/03/2025", "ICPCnotRequired": "false"}
                ],
                ReasonForClosure="rc8 ",
                ReferralSource="2a",
                PrimaryNeedCode=" n4",
                PreProceedingsandFGDM={"PPStartDate": "2025-04-01"},
            )
        ],
    ),
    child("A2", sex="1", Disabilities=[]),
]


def test_namespaces_code_styles_and_date_layouts(tmp_path):
    """A census whose elements carry a namespace, codes in lower case with spaces, dates with a time or as
    DD/MM/YYYY: read as the census means them; the records the model has no table for set aside."""
    f = tmp_path / "census.xml"
    f.write_text(census_xml(STYLED, "2026-03-31", namespace="http://www.dfe.gov.uk/CIN"))
    (ex,) = read([("cin", str(f))])

    def rows(table):
        return [r for p in ex.parts_of(table) for r in p.data.drop_columns(["_line"]).to_pylist()]

    assert rows("children") == [
        {"child_id": "A1", "date_of_birth": "2016-05-01", "sex": "F", "ethnicity": "WBRI", "disability": "N"},
        {"child_id": "A2", "date_of_birth": "2016-05-01", "sex": "M", "ethnicity": "WBRI", "disability": None},
    ]
    (ref,) = rows("referrals")
    assert (ref["referral_id"], ref["source"], ref["primary_need"], ref["closure_reason"]) == (
        "A1/2025-02-01",
        "2A",
        "N4",
        "RC8",
    )
    assert ref["referral_date"] == "01/02/2025 00:00"  # passed on as written, for the checks
    (icpc,) = rows("icpcs")
    (plan,) = rows("cp_plans")
    assert (icpc["plan_made"], plan["icpc_id"], plan["category"]) == ("Y", icpc["icpc_id"], "NEG")
    aside = sorted((r["table_name"], r["column_name"], r["value"]) for r in ex.rejects)
    assert aside == [("CIN PreProceedingsandFGDM", "PreProceedingsandFGDM/PPStartDate", "2025-04-01")]
    # the plan's reviews: the first due 3 months after its start (5 March), the next 6 after the first
    assert [(r["plan_type"], r["review_date"], r["due_date"]) for r in rows("reviews")] == [
        ("CP", "2025-04-01", "2025-06-05"),
        ("CP", "2025-06-01", "2025-10-01"),
    ]


def test_a_census_with_dates_in_other_layouts_loads(tmp_path):
    f = tmp_path / "census.xml"
    f.write_text(census_xml(STYLED, "2026-03-31"))
    res = load_cin(f, tmp_path)
    assert set(res.rejects["table_name"]) == {"CIN PreProceedingsandFGDM"}


def test_a_census_with_tables_outside_the_model_accounts_for_them(tmp_path):
    f = tmp_path / "census.xml"
    f.write_text(
        census_xml(
            STYLED[1:]
            + [
                child(
                    "A3",
                    episodes=[
                        STYLED[0]["episodes"][0] | {"CINreferralDate": "2025-02-01", "CINclosureDate": "2025-06-30"}
                    ],
                )
            ]
        )
    )
    res = load_cin(f, tmp_path)
    acc = res.accounting.set_index("table_name")
    assert acc.loc["reviews", ["file", "rows_read", "rows_loaded", "rows_rejected"]].tolist() == [
        "census.xml",
        2,
        2,
        0,
    ]
    assert acc.loc["CIN PreProceedingsandFGDM", ["rows_read", "rows_rejected"]].tolist() == [1, 1]
    assert acc.loc["s47_enquiries", ["rows_read", "rows_loaded"]].tolist() == [1, 1]
    con, _ = connect(tmp_path / "w.duckdb")
    # a child without a Disability element: not known (NULL), not "no disability"
    assert con.execute("SELECT child_id, disability FROM children ORDER BY 1").fetchall() == [
        ("A2", None),
        ("A3", False),
    ]


def test_values_around_a_comment_or_in_cdata_are_read(tmp_path):
    """An export that comments a value (<LAchildID><!-- id -->A1</LAchildID>) or wraps it in CDATA: the value is
    read (a comment made the child one without LAchildID, and lost it)."""
    text = census_xml([child("A1", episodes=[cin_episode("2025-05-01")]), child("A2")])
    text = text.replace("<LAchildID>A1</LAchildID>", "<LAchildID><!-- from the case system -->A1</LAchildID>")
    text = text.replace("<LAchildID>A2</LAchildID>", "<LAchildID><![CDATA[A2]]></LAchildID>")
    f = tmp_path / "census.xml"
    f.write_text(text.replace("<ReferralSource>6</ReferralSource>", "<ReferralSource>6<?pi x?></ReferralSource>"))
    (ex,) = read([("cin", str(f))])
    assert not ex.rejects
    kids = [r for p in ex.parts_of("children") for r in p.data.to_pylist()]
    assert [k["child_id"] for k in kids] == ["A1", "A2"]
    assert [r["source"] for p in ex.parts_of("referrals") for r in p.data.to_pylist()] == ["6"]


def test_files_that_are_not_a_census_are_refused(tmp_path):
    f = tmp_path / "x.xml"
    f.write_text(
        "<Message><Header><CollectionDetails><Collection>SSDA903</Collection></CollectionDetails></Header><Children/></Message>"
    )
    with pytest.raises(LoadError, match=r"x.xml: not a CIN census: .*found <Message> of collection SSDA903"):
        read([("cin", str(f))])
    f.write_text("<EXPSSDA903><CHILD/></EXPSSDA903>")
    with pytest.raises(LoadError, match=r"x.xml: not a CIN census: .*found <EXPSSDA903>"):
        read([("cin", str(f))])
    f.write_bytes(b"CHILD,DOB\nC1,01/01/2010\n")
    with pytest.raises(LoadError, match=r"x.xml: not well-formed XML"):
        read([("cin", str(f))])
    (tmp_path / "empty").mkdir()
    with pytest.raises(LoadError, match=r"empty: holds no .xml file"):
        read([("cin", str(tmp_path / "empty"))])


# ---------------------------------------------------------------------------------------------
# every element accounted for
# ---------------------------------------------------------------------------------------------


@st.composite
def censuses(draw):
    """One to three censuses of hand-made children, some without an id, episodes without a date, records dated
    after the census, unknown codes, CP plan reviews, the same child in several."""
    first = draw(st.integers(2023, 2025))
    out = {}
    for y in range(first, first + draw(st.integers(1, 3))):
        # mostly dates by the census date, some after it
        early = st.dates(dt.date(2023, 1, 1), dt.date(y, 3, 31)).map(dt.date.isoformat)
        late = st.dates(dt.date(y, 4, 1), dt.date(y, 6, 30)).map(dt.date.isoformat)
        dates = st.one_of(early, early, early, late)
        kids = []
        for cid in draw(st.lists(st.sampled_from(["K1", "K2", "K3", None]), max_size=4)):
            eps = []
            for _ in range(draw(st.integers(0, 2))):
                sub = st.fixed_dictionaries({"AssessmentActualStartDate": dates})
                cpp = st.fixed_dictionaries(
                    {
                        "CPPstartDate": dates,
                        "InitialCategoryOfAbuse": st.sampled_from(["NEG", "XX"]),
                        "Reviews": st.lists(dates, max_size=2),
                    }
                )
                s47 = st.fixed_dictionaries(
                    {"S47ActualStartDate": dates, "DateOfInitialCPC": st.one_of(st.none(), dates)}
                )
                eps.append(
                    cin_episode(
                        draw(st.one_of(st.none(), dates)),
                        draw(st.one_of(st.none(), dates)),
                        draw(st.lists(sub, max_size=2)),
                        cpp=draw(st.lists(cpp, max_size=2)),
                        s47=draw(st.lists(s47, max_size=2)),
                    )
                )
            kids.append(child(cid, episodes=eps))
        out[y] = kids
    return out


def expected_rows(data) -> dict[tuple[str, str], int]:
    """What each census file should give each table: one row per element of its kind."""
    n = {}
    for y, kids in data.items():
        f = f"census-{y}.xml"
        eps = [e for k in kids for e in k["episodes"]]
        s47 = [s for e in eps for s in e["Section47"]]
        for table, count in {
            "children": len(kids),
            "referrals": len(eps),
            "assessments": sum(len(e["Assessments"]) for e in eps),
            "strategy_discussions": len(s47),
            "s47_enquiries": len(s47),
            "icpcs": sum(1 for s in s47 if s["DateOfInitialCPC"]),
            "cin_plans": 0,
            "cp_plans": sum(len(e["ChildProtectionPlans"]) for e in eps),
            "reviews": sum(len(p["Reviews"]) for e in eps for p in e["ChildProtectionPlans"]),
        }.items():
            n[table, f] = count
    return n


def mostly_late(data) -> bool:
    """Whether more than half the dates of a census fall after its date (the reader then refuses it: a census of
    another year), counted as the reader counts them: each record's dates, a Section47's start for its strategy
    discussion and its enquiry."""
    for y, kids in data.items():
        dates = []
        for e in (e for k in kids for e in k["episodes"]):
            dates += [e["CINreferralDate"], e["CINclosureDate"]]
            dates += [a["AssessmentActualStartDate"] for a in e["Assessments"]]
            dates += [d for s in e["Section47"] for d in (s["S47ActualStartDate"],) * 2 + (s["DateOfInitialCPC"],)]
            dates += [p["CPPstartDate"] for p in e["ChildProtectionPlans"]]
            dates += [d for p in e["ChildProtectionPlans"] for d in p["Reviews"]]
        dated = [d for d in dates if d]
        if 2 * sum(d > f"{y}-03-31" for d in dated) > len(dated):
            return True
    return False


def write_censuses(root: Path, data) -> Path:
    root.mkdir(parents=True)
    for y, kids in data.items():
        (root / f"census-{y}.xml").write_text(census_xml(kids, f"{y}-03-31"))
    return root


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(censuses())
def test_the_reader_gives_or_sets_aside_every_element_once(tmp_path_factory, data):
    src = write_censuses(tmp_path_factory.mktemp("c") / "cin", data)
    if mostly_late(data):
        with pytest.raises(LoadError, match="dates fall after the census date"):
            read([("cin", str(src))])
        return
    (ex,) = read([("cin", str(src))])
    for (table, f), n in expected_rows(data).items():
        given_ = [x for p in ex.parts_of(table) if p.file == f for x in p.data.column("_line").to_pylist()]
        aside = [r["row"] for r in ex.rejects if r["table_name"] == table and r["file"] == f]
        assert len(given_) + len(aside) == n, (table, f)
        assert len(set(given_ + aside)) == n, (table, f)  # each element's line once
    assert all(r["reason"] for r in ex.rejects)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(censuses())
def test_every_element_read_is_loaded_or_listed(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("l")
    src = write_censuses(root / "cin", data)
    assume(not mostly_late(data))  # refused: the test above
    try:
        res = load_sources(read([("cin", str(src))]), root / "w.duckdb", accept_losses=True)  # whatever is lost
    except LoadError as e:  # censuses without a record: refused
        assert str(e) == "nothing to load: every file holds no rows" and not any(expected_rows(data).values())
        return
    acc = res.accounting.dropna(subset=["file"]).set_index(["table_name", "file"])
    for (table, f), n in expected_rows(data).items():
        got = acc.loc[(table, f)] if (table, f) in acc.index else None
        assert (0 if got is None else got["rows_read"]) == n, (table, f)
        if got is not None:
            assert got["rows_loaded"] + got["rows_rejected"] + got["rows_merged"] == n
            listed = res.rejects[(res.rejects["table_name"] == table) & (res.rejects["file"] == f)]
            assert listed["row"].nunique() == got["rows_rejected"] + got["rows_merged"], (table, f)


def test_a_census_on_one_line_is_counted_one_element_a_line(tmp_path):
    """A census written without line breaks: its records would all be row 1; counted in it laid out one element a
    line instead, two bad records are two rows rejected (not one, which broke the accounting)."""
    kids = [child("A1", sex="7"), child("A2", sex="8"), child("A3")]
    f = tmp_path / "census.xml"
    f.write_text(census_xml(kids, "2026-03-31").replace("\n", ""))
    res = load_cin(f, tmp_path, accept_losses=True)  # two of three children rejected, on purpose
    acc = res.accounting.set_index("table_name").loc["children"]
    assert acc[["rows_read", "rows_loaded", "rows_rejected"]].tolist() == [3, 1, 2]
    assert res.rejects[["value", "row"]].values.tolist() == [["7", 15], ["8", 28]]
    assert "census.xml: several records on one line: rows are counted in it laid out one element a line" in " ".join(
        res.notes
    )


def test_a_conference_without_a_plan_in_any_census_made_none(tmp_path):
    """Section 47s with conferences and no CP plan anywhere in the census: each conference loads, no plan made."""
    s47 = {"S47ActualStartDate": "2025-05-02", "DateOfInitialCPC": "2025-05-20", "ICPCnotRequired": "false"}
    f = tmp_path / "census.xml"
    f.write_text(census_xml([child("A1", episodes=[cin_episode("2025-05-01", s47=[s47])])]))
    res = load_cin(f, tmp_path)
    assert res.rejects.empty
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT plan_made FROM icpcs").fetchall() == [(False,)]


def test_an_unborn_child_loads_without_a_birth_date(tmp_path):
    """A child not born by the census date (an expected birth date after it) and one born since (an expected date
    before it): the first loads with no birth date rather than with all its records rejected for a future date."""
    kids = [
        child("U1", episodes=[cin_episode("2026-02-01", assessments=[assessment("2026-02-02")])])
        | {"PersonBirthDate": None, "ExpectedPersonBirthDate": "2026-06-01"},
        child("U2", episodes=[cin_episode("2025-10-01")])
        | {"PersonBirthDate": None, "ExpectedPersonBirthDate": "2026-01-05"},
    ]
    f = tmp_path / "census.xml"
    f.write_text(census_xml(kids, "2026-03-31"))
    res = load_cin(f, tmp_path)
    assert res.rejects.empty
    con, _ = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT child_id, date_of_birth FROM children ORDER BY 1").fetchall() == [
        ("U1", None),
        ("U2", dt.date(2026, 1, 5)),
    ]
    assert con.execute("SELECT count(*) FROM referrals").fetchall() == [(2,)]


def test_censuses_in_year_folders_under_the_same_name(tmp_path):
    """Each year's census in a folder of its own, all named census.xml: read (folders searched), told apart by
    their folder, the later restating the earlier."""
    for y, kids in ((2025, LAST_YEAR), (2026, THIS_YEAR)):
        (tmp_path / "cin" / str(y)).mkdir(parents=True)
        (tmp_path / "cin" / str(y) / "census.xml").write_text(census_xml(kids, f"{y}-03-31"))
    res = load_cin(tmp_path / "cin", tmp_path)
    restated = res.rejects[res.rejects["reason"].str.startswith("restated")]
    assert set(restated["file"]) == {"2025/census.xml"}
    assert set(restated["reason"].str.extract(r"census: (\S+) row")[0]) == {"2026/census.xml"}
    acc = res.accounting.set_index(["table_name", "file"])
    assert acc.loc[("referrals", "2026/census.xml"), "rows_loaded"] == 2


def test_an_element_given_twice_with_different_values_makes_its_record_a_problem(tmp_path):
    kids = [
        child("A1", episodes=[cin_episode("2025-05-01", assessments=[assessment("2025-05-02")])]),
        child("B1", episodes=[cin_episode("2025-06-01", "2025-07-01"), cin_episode("2025-08-01")]),
        child("C1", episodes=[cin_episode("2025-09-01")]),
    ]
    f = tmp_path / "census.xml"
    text = census_xml(kids)
    # A1 has a second, different LAchildID; B1's first episode a second, different closure date; C1 its id twice
    text = text.replace("<LAchildID>A1</LAchildID>", "<LAchildID>A1</LAchildID><LAchildID>A9</LAchildID>")
    text = text.replace("<CINclosureDate>2025-07-01</CINclosureDate>", "<CINclosureDate>2025-07-01</CINclosureDate>"
                        "<CINclosureDate>2025-07-09</CINclosureDate>")  # fmt: skip
    text = text.replace("<LAchildID>C1</LAchildID>", "<LAchildID>C1</LAchildID><LAchildID> C1 </LAchildID>")
    f.write_text(text)
    (ex,) = read([("cin", str(f))])
    rej = pd.DataFrame(ex.rejects).set_index(["table_name", "row"])
    two_ids = "LAchildID given twice with different values ('A1' and 'A9') in one ChildIdentifiers: which holds"
    a1 = rej.loc[("children", line_of(text, "<Child>"))]
    assert (a1["column_name"], a1["value"]) == ("LAchildID", "A9") and a1["reason"].startswith(two_ids)
    # A1's episode and assessment are no one's either
    assert rej.loc[("referrals", line_of(text, "<CINdetails>")), "reason"].startswith(two_ids)
    assert rej.loc[("assessments", line_of(text, "<Assessments>")), "column_name"] == "LAchildID"
    b1 = rej.loc[("referrals", line_of(text, "<CINdetails>", after="<LAchildID>B1"))]
    assert (b1["column_name"], b1["value"]) == ("CINclosureDate", "2025-07-09")
    assert b1["reason"] == (
        "CINclosureDate given twice with different values ('2025-07-01' and '2025-07-09') in one CINdetails: "
        "which holds cannot be told"
    )
    assert len(rej) == 4  # C1's id given twice alike is one id: it loads
    children = ex.parts_of("children")[0].data.to_pandas()
    assert children["child_id"].tolist() == ["B1", "C1"]


def test_a_census_of_another_year_is_refused(tmp_path):
    """A census whose ReferenceDate is a year early would have most records rejected as dated after it; a Year
    that disagrees with the ReferenceDate is refused."""
    kids = [
        child("A1", episodes=[cin_episode("2025-05-01", assessments=[assessment("2025-05-02", "2025-06-01")])]),
        child("A2", episodes=[cin_episode("2024-11-01", "2025-02-01")]),
    ]
    f = tmp_path / "census.xml"
    # the census of 2025-26 dated 31 March 2025: four of its six dates are after it
    f.write_text(census_xml([*kids, child("A3", episodes=[cin_episode("2025-07-01")])], "2025-03-31"))
    with pytest.raises(
        LoadError,
        match=r"census.xml: 4 of its 6 dates fall after the census date 2025-03-31 \(its ReferenceDate\), most in "
        r"2025-26: a census of another year\? Correct its ReferenceDate",
    ):
        read([("cin", str(f))])
    with pytest.raises(LoadError, match=r"4 of its 6 dates fall after the census date 2025-03-31 \(--year 2024-25\)"):
        read([("cin", str(f))], year="2024-25")
    # one late date of five is the record's problem, not the census's
    f.write_text(census_xml(kids, "2026-03-31").replace("2025-06-01", "2026-06-01"))
    (ex,) = read([("cin", str(f))])
    assert [(r["column_name"], r["value"]) for r in ex.rejects] == [("AssessmentAuthorisationDate", "2026-06-01")]
    f.write_text(census_xml(kids, "2026-03-31").replace("<Year>2026</Year>", "<Year>2019</Year>"))
    with pytest.raises(
        LoadError, match=r"census.xml: its Header's Year 2019 and ReferenceDate 2026-03-31 disagree \(the census of "
    ):
        read([("cin", str(f))])


def test_a_file_of_another_type_beside_the_censuses_is_noted(tmp_path):
    (tmp_path / "cin").mkdir()
    (tmp_path / "cin" / "census.xml").write_text(census_xml([child("A1", episodes=[cin_episode("2025-05-01")])]))
    (tmp_path / "cin" / "census_2025.zip").write_bytes(b"PK")
    (ex,) = read([("cin", str(tmp_path / "cin"))])
    assert "census_2025.zip: not XML: not read (the CIN reader reads each census's XML file)" in ex.notes


def test_a_header_giving_its_reference_date_twice_differently_is_refused(tmp_path):
    f = tmp_path / "census.xml"
    text = census_xml([child("A1", episodes=[cin_episode("2025-05-01")])])
    two = "<ReferenceDate>2026-03-31</ReferenceDate><ReferenceDate>2025-03-31</ReferenceDate>"
    f.write_text(text.replace("<ReferenceDate>2026-03-31</ReferenceDate>", two))
    with pytest.raises(
        LoadError,
        match=r"census.xml: its Header gives ReferenceDate 2 times with different values \(2025-03-31, 2026-03-31\)",
    ):
        read([("cin", str(f))])
    f.write_text(text.replace("<ReferenceDate>2026-03-31</ReferenceDate>", two.replace("2025", "2026")))
    assert read([("cin", str(f))])[0].latest_month == "2026-03"  # given twice alike: one date


def test_a_childs_identifiers_in_two_blocks_are_read_as_one(tmp_path):
    """A second ChildIdentifiers was passed over: its birth date not read, a different LAchildID in it unseen."""
    kids = [
        child("A1", born=None, episodes=[cin_episode("2025-05-01")]),
        child("B1", episodes=[cin_episode("2025-06-01")]),
    ]
    text = census_xml(kids)
    text = text.replace(
        "<LAchildID>A1</LAchildID><Sex>2</Sex></ChildIdentifiers>",
        "<LAchildID>A1</LAchildID><Sex>2</Sex></ChildIdentifiers><ChildIdentifiers><PersonBirthDate>2016-05-01"
        "</PersonBirthDate></ChildIdentifiers>",
    )
    text = text.replace(
        "<LAchildID>B1</LAchildID>",
        "<LAchildID>B1</LAchildID></ChildIdentifiers><ChildIdentifiers><LAchildID>B9</LAchildID>",
    )
    f = tmp_path / "census.xml"
    f.write_text(text)
    (ex,) = read([("cin", str(f))])
    children = ex.parts_of("children")[0].data.to_pandas()
    assert children[["child_id", "date_of_birth"]].values.tolist() == [["A1", "2016-05-01"]]
    assert [(r["table_name"], r["column_name"], r["value"]) for r in ex.rejects] == [
        ("children", "LAchildID", "B9"),
        ("referrals", "LAchildID", "B9"),
    ]


def test_a_census_whose_child_id_element_is_misnamed_stops_the_load(tmp_path):
    """LAchildID written LAChildID: no child can be identified, each set aside by the reader; those rows count
    toward the loss rule, so the load stops rather than make a snapshot without children."""
    kids = [child("A1", episodes=[cin_episode("2025-05-01")]), child("A2"), child("A3")]
    f = tmp_path / "census.xml"
    f.write_text(census_xml(kids, "2026-03-31").replace("LAchildID>", "LAChildID>"))
    with pytest.raises(LoadError, match=r"^census.xml: 3 of 3 rows rejected, more than half\n"):
        load_cin(f, tmp_path)
    assert not (tmp_path / "w.duckdb").exists()  # the first load stopped: the store it began is removed


def test_a_census_is_hashed_once_for_all_its_tables(tmp_path, monkeypatch):
    """A census gives several tables, each a part naming the file: its checksum is read once, and each table's
    accounting row carries it."""
    import kpi.files

    hashed = []
    sha256 = kpi.files.sha256
    monkeypatch.setattr(kpi.files, "sha256", lambda path: hashed.append(path.name) or sha256(path))
    kids = [child("A1", episodes=[cin_episode("2025-05-01", assessments=[assessment("2025-05-02")])]), child("A2")]
    f = tmp_path / "census.xml"
    f.write_text(census_xml(kids, "2026-03-31"))
    res = load_cin(f, tmp_path)
    acc = res.accounting
    assert hashed.count("census.xml") == 1
    assert len(acc[acc["file"] == "census.xml"]) > 2


# ---------------------------------------------------------------------------------------------
# conferences recorded on the episode, CP plan reviews (issue 21)
# ---------------------------------------------------------------------------------------------

FAKE = Path("/work/shared/samples/csc-validator-be-cin/fake_CIN_data.xml")


@pytest.mark.skipif(not FAKE.exists(), reason="the CIN validator's fake data is not on this machine")
def test_the_validators_fake_census_gives_its_episodes_conferences(tmp_path):
    """The CIN validator's fake data records 350 conferences on CINdetails (DateOfInitialCPC), none under a
    Section47 (it has none): 344 load as ICPCs; 6 are dated after the census date (21 July 2022: 2022-12-07,
    2026-04-09, 2026-01-06, 2030-05-29, 2026-06-18, 2028-06-18), each listed by its line. Counted by reading the XML
    with lxml: 350 DateOfInitialCPC elements in CINdetails, 344 on or before 2022-07-21."""
    res = load_sources(read([("cin", str(FAKE))]), tmp_path / "w.duckdb")
    acc = res.accounting.set_index("table_name")
    assert acc.loc["icpcs", ["rows_read", "rows_loaded", "rows_rejected"]].tolist() == [350, 344, 6]
    late = res.rejects[res.rejects["table_name"] == "icpcs"]
    assert set(late["column_name"]) == {"DateOfInitialCPC"} and 2456 in set(late["row"])
    assert late["reason"].str.startswith("expected a date on or before the census reference date 2022-07-21").all()
    con, _ = connect(tmp_path / "w.duckdb")
    # no CP plan and no section 47 in the census: no plan made, no enquiry known
    assert con.execute("SELECT count(*), count(s47_id), count(*) FILTER (plan_made) FROM icpcs").fetchall() == [
        (344, 0, 0)
    ]
    assert con.execute("SELECT count(*) FROM icpcs WHERE conference_date = DATE '2020-09-29'").fetchall() == [(1,)]
    # no conference linked to its enquiry: the county's 3.3 (ICPCs within 15 days of the strategy discussion) is
    # not available, rather than 0 of 7 in June 2022, and 3.2 (ICPCs) counts them
    card = scorecard("2022-06", store=tmp_path / "w.duckdb", measures=["3.2", "3.3"], targets=None).set_index("measure")
    assert card.loc["3.3", "not_available"].startswith("icpcs.s47_id: no conference of the census is linked to its")
    assert card.loc["3.2", "numerator"] == 7


def test_a_conference_on_the_episode_links_to_the_enquiry_that_led_to_it(tmp_path):
    """K1's enquiry starts on 2025-03-20 (census of 2024-25); the conference is recorded on the next episode of the
    2025-26 census (2025-04-03), where a CP plan starts that day: it made the plan, and the enquiry is K1's. K2's
    episode records its conference both on CINdetails and its Section47 (2025-06-10): one conference. K3's
    conference has no enquiry in any census: loaded without one."""
    s47 = {"S47ActualStartDate": "2025-03-20", "ICPCnotRequired": "false"}
    first = [child("K1", episodes=[cin_episode("2025-03-15", "2025-03-31", s47=[s47])])]
    cpp = {"CPPstartDate": "2025-04-03", "InitialCategoryOfAbuse": "NEG"}
    both = {"S47ActualStartDate": "2025-06-01", "DateOfInitialCPC": "2025-06-10", "ICPCnotRequired": "false"}
    second = [
        child("K1", episodes=[cin_episode("2025-04-01", cpp=[cpp], DateOfInitialCPC="2025-04-03")]),
        child("K2", episodes=[cin_episode("2025-05-20", s47=[both], DateOfInitialCPC="10/06/2025")]),
        child("K3", episodes=[cin_episode("2025-07-01", DateOfInitialCPC="2025-07-15")]),
    ]
    root = tmp_path / "cin"
    root.mkdir()
    (root / "a.xml").write_text(census_xml(first, "2025-03-31"))
    text = census_xml(second, "2026-03-31")
    (root / "b.xml").write_text(text)
    res = load_cin(root, tmp_path)
    acc = res.accounting.set_index(["table_name", "file"])
    assert acc.loc[("icpcs", "b.xml"), ["rows_read", "rows_loaded", "rows_merged"]].tolist() == [4, 3, 1]
    merged = res.rejects[res.rejects["table_name"] == "icpcs"].iloc[0]
    assert (merged["row"], merged["column_name"], merged["value"]) == (
        line_of(text, "<DateOfInitialCPC>10/06/2025"),
        "DateOfInitialCPC",
        "10/06/2025",
    )
    assert merged["reason"].startswith("the same conference as the Section47's DateOfInitialCPC (row ")
    con, _ = connect(tmp_path / "w.duckdb")
    got = con.execute(
        "SELECT child_id, s47_id, conference_date::VARCHAR, plan_made FROM icpcs ORDER BY child_id"
    ).fetchall()
    assert got == [
        ("K1", "K1/2025-03-15/S47/2025-03-20", "2025-04-03", True),
        ("K2", "K2/2025-05-20/S47/2025-06-01", "2025-06-10", False),
        ("K3", None, "2025-07-15", False),
    ]
    assert con.execute("SELECT icpc_id FROM cp_plans").fetchall() == [("K1/2025-04-01/ICPC/2025-04-03",)]
    # the county's ICPCs (3.2) count all three
    assert numerators(tmp_path / "w.duckdb", "3.2", ["2025-04", "2025-06", "2025-07"]) == [1, 1, 1]


def test_cp_plan_reviews_load_with_the_date_each_was_due(tmp_path):
    """A plan starting 2025-05-01, reviewed 2025-07-25 (due 2025-08-01: 3 months after the start), 2026-02-10 (due
    2026-01-25: 6 months after the last) and, in the next census, 2026-07-01 (due 2026-08-10). A second plan's review
    before its start, and one whose date is no date, are rejected, each named by file, row and element."""
    cpp = {"CPPstartDate": "2025-05-01", "InitialCategoryOfAbuse": "NEG", "Reviews": ["2025-07-25", "2026-02-10"]}
    bad = {"CPPstartDate": "2025-09-01", "InitialCategoryOfAbuse": "NEG", "Reviews": ["2025-08-15", "2025-13-01"]}
    first = [child("K1", episodes=[cin_episode("2025-04-20", cpp=[cpp, bad])])]
    later = {**cpp, "Reviews": ["2025-07-25", "2026-02-10", "2026-07-01"]}
    second = [child("K1", episodes=[cin_episode("2025-04-20", cpp=[later])])]
    root = tmp_path / "cin"
    root.mkdir()
    text = census_xml(first, "2026-03-31").replace("<Reviews>", "\n<Reviews>").replace("<CPPreviewDate>", "\n<CPP")
    text = text.replace("\n<CPP", "\n<CPPreviewDate>")  # a review a line: its row is its own
    (root / "a.xml").write_text(text)
    (root / "b.xml").write_text(census_xml(second, "2027-03-31"))
    res = load_cin(root, tmp_path, accept_losses=True)
    con, _ = connect(tmp_path / "w.duckdb")
    got = con.execute("SELECT plan_type, due_date::VARCHAR, review_date::VARCHAR FROM reviews ORDER BY 3").fetchall()
    assert got == [
        ("CP", "2025-08-01", "2025-07-25"),
        ("CP", "2026-01-25", "2026-02-10"),
        ("CP", "2026-08-10", "2026-07-01"),
    ]
    rj = res.rejects[(res.rejects["table_name"] == "reviews") & (res.rejects["kind"] != "replaced")]
    listed = rj[["file", "row", "column_name", "value"]].values.tolist()
    assert listed == [
        ["a.xml", line_of(text, "2025-08-15"), "CPPreviewDate", "2025-08-15"],
        ["a.xml", line_of(text, "2025-13-01"), "CPPreviewDate", "2025-13-01"],
    ]
    assert rj["reason"].iloc[0] == "expected a review on or after the plan's start (CPPstartDate 2025-09-01)"
    assert "date" in rj["reason"].iloc[1]
