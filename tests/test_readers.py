"""The readers of the statutory formats, on small files written by hand from the published specifications
(SSDA903 column lists and codes, the CIN census XML structure, Ofsted's Annex A headers): the records and
measures that come out, and the errors for malformed files."""

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from helpers import write_csv

from kpi.catalogue import load as load_catalogue
from kpi.engine import Context, compute
from kpi.errors import LoadError
from kpi.load import load_sources
from kpi.readers import parse_source, read
from kpi.scorecard import scorecard
from kpi.store import connect

COUNTY = load_catalogue("county")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.lstrip())
    return path


def population(directory: Path, year: int = 2024) -> Path:
    """The standard format's localities and a 0-17 population of 10,000 (rates per 10,000 are then counts)."""
    write_csv(directory, "localities", [{"locality_id": "L1", "name": "County"}])
    write_csv(
        directory,
        "population",
        [
            {"year": year, "locality_id": "L1", "age": 5, "sex": "M", "count": 5000},
            {"year": year, "locality_id": "L1", "age": 5, "sex": "F", "count": 5000},
        ],
    )
    return directory


# ---------------------------------------------------------------------------------------------
# SSDA903
# ---------------------------------------------------------------------------------------------

EPISODES = "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN\n"
HEADER = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n"


def returns_903(root: Path) -> Path:
    """Two years' returns, in folders, with files named as a council might name them.

    2022-23: C1 comes into care on 10/05/2022 and moves on 01/09/2022 (the return ends with that placement
    open); C2 has been in care since 2021 and leaves on 19/02/2023, the day before turning 18.
    2023-24 restates C1's second episode (it ended on 15/01/2024), adds the next, and holds an episode with a
    placement code that does not exist; OC3 has C2 at their 19th birthday, in touch, in education, in
    semi-independent accommodation that is suitable (D1).
    """
    write(root / "2023" / "children.csv", HEADER + "C1,1,01/06/2010,WBRI,,,\nC2,2,20/02/2005,BAFR,,,\n")
    write(
        root / "2023" / "placements.csv",
        EPISODES
        + "C1,10/05/2022,S,C2,N1,U4,PR1,01/09/2022,X1,,AB1 2,AB3 4,SC000001\n"
        + "C1,01/09/2022,P,C2,N1,K2,PR4,,,CHILD,AB1 2,AB5 6,SC000002\n"
        + "C2,01/04/2021,S,V2,N4,U6,PR1,19/02/2023,E17,,AB1 2,AB1 2,SC000003\n",
    )
    write(
        root / "2024" / "a.csv",
        EPISODES
        + "C1,01/09/2022,P,C2,N1,K2,PR4,15/01/2024,X1,CHILD,AB1 2,AB5 6,SC000002\n"
        + "C1,15/01/2024,P,C2,N1,U4,PR1,,,,AB1 2,AB7 8,SC000004\n"
        + "C3,20/02/2024,S,C2,N1,ZZ,PR1,,,,AB1 2,AB7 8,SC000005\n",
    )
    write(
        root / "2024" / "b.csv", HEADER + "C1,1,01/06/2010,WBRI,,,\nC2,2,20/02/2005,BAFR,,,\nC3,2,01/01/2015,WBRI,,,\n"
    )
    write(root / "2024" / "c.csv", "CHILD,DOB,IN_TOUCH,ACTIV,ACCOM\nC2,20/02/2005,YES,F2,D1\n")
    return root


def test_ssda903_returns_combine_into_one_history(tmp_path):
    src = returns_903(tmp_path / "903")
    res = load_sources(
        read([("ssda903", str(src)), ("standard", str(population(tmp_path / "std")))]), tmp_path / "w.duckdb"
    )
    assert res.extract_date == dt.date(2024, 4, 1)  # the day after the latest return's 31 March
    rej = res.rejects.set_index(["file", "row"])
    # the earlier return's open episode is restated by the later return, not lost
    assert rej.loc[("2023/placements.csv", 3), "reason"] == "restated by the later return: 2024/a.csv row 2"
    assert rej.loc[("2024/a.csv", 4), "column_name"] == "PLACE"  # reported in the return's own column name
    assert "expected one of the placement_type codes" in rej.loc[("2024/a.csv", 4), "reason"]
    assert rej.loc[("2023/children.csv", 2), "reason"] == "restated by the later return: 2024/b.csv row 2"
    # restated rows are merged into their later version, not rejected (A86)
    acc = res.accounting.groupby("table_name")[["rows_read", "rows_loaded", "rows_rejected", "rows_merged"]].sum()
    assert acc.loc["care_episodes"].tolist() == [6, 4, 1, 1]
    assert acc.loc["children"].tolist() == [5, 3, 0, 2]

    con, _ = connect(tmp_path / "w.duckdb")
    eps = con.execute(
        "SELECT child_id, period_id, start_date, end_date, placement_type FROM care_episodes ORDER BY child_id, start_date"
    ).fetchall()
    assert eps == [
        ("C1", "C1/10/05/2022", dt.date(2022, 5, 10), dt.date(2022, 9, 1), "U4"),
        ("C1", "C1/10/05/2022", dt.date(2022, 9, 1), dt.date(2024, 1, 15), "K2"),  # the later return's version
        ("C1", "C1/10/05/2022", dt.date(2024, 1, 15), None, "U4"),
        ("C2", "C2/01/04/2021", dt.date(2021, 4, 1), dt.date(2023, 2, 19), "U6"),
    ]
    assert con.execute("SELECT sex FROM children WHERE child_id = 'C2'").fetchall() == [("F",)]
    assert con.execute("SELECT status, left_care_date FROM care_leavers").fetchall() == [
        ("FORMER", dt.date(2023, 2, 19))
    ]
    assert con.execute(
        "SELECT contact_date, in_touch, activity, accommodation, suitable FROM care_leaver_contacts"
    ).fetchall() == [(dt.date(2024, 2, 20), "YES", "F2", "D", True)]

    ctx = Context.prepare(con, connect(tmp_path / "w.duckdb")[1])
    df = compute(ctx, COUNTY, ["2024-01", "2024-02"], refs=["6.0", "7.0", "7.3"]).set_index(["measure", "month"])
    # looked after at the end of January 2024: C1 only, per 10,000 of a population of 10,000
    assert df.loc[("6.0", "2024-01"), ["numerator", "denominator", "value"]].tolist() == [1, 10000, 1.0]
    assert df.loc[("7.0", "2024-02"), "value"] == 100.0  # C2 in touch at the end of February
    assert df.loc[("7.3", "2024-02"), "value"] == 100.0  # and suitably accommodated


def test_what_ssda903_cannot_supply_is_not_available(tmp_path):
    src = returns_903(tmp_path / "903")
    load_sources(read([("ssda903", str(src)), ("standard", str(population(tmp_path / "std")))]), tmp_path / "w.duckdb")
    card = scorecard("2024-01", store=tmp_path / "w.duckdb", targets=None, measures=["6.0", "6.8", "6.16", "1.7"])
    card = card.set_index("measure")
    assert card.loc["6.0", "display"] == "1"
    assert pd.isna(card.loc["6.0", "not_available"])
    # within 20 miles needs distances; unregistered placements need registration: SSDA903 has neither
    assert card.loc["6.8", "display"] == "" and "postcodes are partial" in card.loc["6.8", "not_available"]
    assert "registered" in card.loc["6.16", "not_available"]
    assert "children in care and care leavers only" in card.loc["1.7", "not_available"]


def test_ssda903_file_with_no_table_header_stops_the_load(tmp_path):
    write(tmp_path / "903" / "notes.csv", "CHILD,NOTES\nC1,hello\n")
    with pytest.raises(LoadError, match=r"notes.csv: not a table of the SSDA903 return.*CHILD, NOTES"):
        read([("ssda903", str(tmp_path / "903"))])


# ---------------------------------------------------------------------------------------------
# CIN census
# ---------------------------------------------------------------------------------------------

CENSUS = """
<?xml version="1.0" encoding="utf-8"?>
<Message>
  <Header>
    <CollectionDetails><Collection>CIN</Collection><Year>2024</Year><ReferenceDate>2024-03-31</ReferenceDate></CollectionDetails>
    <Source><SourceLevel>L</SourceLevel><LEA>999</LEA></Source>
  </Header>
  <Children>
    <Child>
      <ChildIdentifiers>
        <LAchildID>A1</LAchildID>
        <PersonBirthDate>2016-05-01</PersonBirthDate>
        <Sex>2</Sex>
      </ChildIdentifiers>
      <ChildCharacteristics>
        <Ethnicity>WBRI</Ethnicity>
        <Disabilities><Disability>NONE</Disability></Disabilities>
      </ChildCharacteristics>
      <CINdetails>
        <CINreferralDate>2024-01-25</CINreferralDate>
        <ReferralSource>6</ReferralSource>
        <PrimaryNeedCode>N1</PrimaryNeedCode>
        <Assessments>
          <AssessmentActualStartDate>2024-02-01</AssessmentActualStartDate>
          <AssessmentAuthorisationDate>2024-02-15</AssessmentAuthorisationDate>
        </Assessments>
        <Section47>
          <S47ActualStartDate>2024-02-05</S47ActualStartDate>
          <DateOfInitialCPC>2024-02-20</DateOfInitialCPC>
          <ICPCnotRequired>false</ICPCnotRequired>
        </Section47>
        <ChildProtectionPlans>
          <CPPstartDate>2024-02-20</CPPstartDate>
          <InitialCategoryOfAbuse>NEG</InitialCategoryOfAbuse>
        </ChildProtectionPlans>
      </CINdetails>
    </Child>
    <Child>
      <ChildIdentifiers>
        <LAchildID>A2</LAchildID>
        <PersonBirthDate>2012-09-09</PersonBirthDate>
        <Sex>1</Sex>
      </ChildIdentifiers>
      <ChildCharacteristics>
        <Ethnicity>AIND</Ethnicity>
        <Disabilities><Disability>HEAR</Disability></Disabilities>
      </ChildCharacteristics>
      <CINdetails>
        <CINreferralDate>2023-11-20</CINreferralDate>
        <ReferralSource>2A</ReferralSource>
        <PrimaryNeedCode>N4</PrimaryNeedCode>
        <Assessments>
          <AssessmentActualStartDate>2023-11-20</AssessmentActualStartDate>
          <AssessmentAuthorisationDate>2024-02-20</AssessmentAuthorisationDate>
        </Assessments>
      </CINdetails>
      <CINdetails>
        <CINreferralDate>2024-03-01</CINreferralDate>
        <ReferralSource>ZZ</ReferralSource>
        <PrimaryNeedCode>N4</PrimaryNeedCode>
      </CINdetails>
    </Child>
  </Children>
</Message>
"""


def test_cin_census_records_and_measures(tmp_path):
    f = write(tmp_path / "census.xml", CENSUS)
    res = load_sources(read([("cin", str(f)), ("standard", str(population(tmp_path / "std")))]), tmp_path / "w.duckdb")
    assert res.extract_date == dt.date(2024, 4, 1)
    # the bad referral source: the census's own element name and the line of its CINdetails
    bad = res.rejects.iloc[0]
    assert (bad.file, bad.row, bad.column_name, bad.value) == ("census.xml", 56, "ReferralSource", "ZZ")
    assert len(res.rejects) == 1
    con, snap = connect(tmp_path / "w.duckdb")
    assert con.execute("SELECT child_id, sex, disability FROM children ORDER BY 1").fetchall() == [
        ("A1", "F", False),
        ("A2", "M", True),
    ]
    assert con.execute("SELECT assessment_type, count(*) FROM assessments GROUP BY 1").fetchall() == [("INITIAL", 2)]
    assert con.execute("SELECT plan_made FROM icpcs").fetchall() == [(True,)]
    assert con.execute("SELECT icpc_id IS NOT NULL, category FROM cp_plans").fetchall() == [(True, "NEG")]

    ctx = Context.prepare(con, snap)
    df = compute(ctx, COUNTY, ["2024-02"], refs=["2.2", "5.0"]).set_index("measure")
    # authorised in February: A1's after 10 working days, A2's after 63: 1 of 2 within 45
    assert df.loc["2.2", ["numerator", "denominator", "value"]].tolist() == [1, 2, 50.0]
    assert df.loc["5.0", "numerator"] == 1  # A1 on a plan at the end of February
    card = scorecard("2024-02", context=ctx, targets=None, measures=["3.1", "1.0"]).set_index("measure")
    # 3.1 counts enquiries by the month they started, so the census (no end dates) gives it: A1's, started on
    # 5 February, went to conference
    assert card.loc["3.1", ["numerator", "denominator"]].tolist() == [1, 1]
    assert pd.isna(card.loc["3.1", "not_available"])
    assert "the CIN census does not record it" in card.loc["1.0", "not_available"]


def test_malformed_cin_xml_stops_the_load(tmp_path):
    f = write(tmp_path / "bad.xml", CENSUS.replace("</Children>", ""))
    with pytest.raises(LoadError, match=r"bad.xml: not well-formed XML.*line"):
        read([("cin", str(f))])
    f = write(tmp_path / "other.xml", "<Return><Children/></Return>")
    with pytest.raises(LoadError, match=r"other.xml: not a CIN census.*found <Return>"):
        read([("cin", str(f))])


def test_a_child_in_two_formats_is_loaded_once(tmp_path):
    """A child in the CIN census and the SSDA903: one child, the first source's values, gaps filled."""
    f = write(tmp_path / "census.xml", CENSUS.replace("<LAchildID>A2</LAchildID>", "<LAchildID>C1</LAchildID>"))
    src = returns_903(tmp_path / "903")
    res = load_sources(read([("cin", str(f)), ("ssda903", str(src))]), tmp_path / "w.duckdb")
    merged = res.rejects[res.rejects["reason"].str.startswith("same child_id")]
    assert merged[["file", "row", "value"]].values.tolist() == [["2024/b.csv", 2, "C1"]]
    assert "census.xml row" in merged["reason"].iloc[0]
    con, _ = connect(tmp_path / "w.duckdb")
    # the census's values kept (disability, which SSDA903 lacks, among them)
    assert con.execute("SELECT sex, disability FROM children WHERE child_id = 'C1'").fetchall() == [("M", True)]
    acc = res.accounting.set_index(["table_name", "file"])
    assert acc.loc[("children", "2024/b.csv"), ["rows_read", "rows_loaded", "rows_merged"]].tolist() == [3, 2, 1]


def test_sources_name_their_format():
    assert parse_source("cin:census.xml") == ("cin", "census.xml")
    assert parse_source("returns/", "ssda903") == ("ssda903", "returns/")
    assert parse_source("postgresql://kpi@localhost/db", "sql") == ("sql", "postgresql://kpi@localhost/db")
    assert parse_source("C:/data") == ("standard", "C:/data")


def test_kpi_load_combines_formats_and_measures_say_not_available(tmp_path, capsys):
    from kpi.cli import main

    src = returns_903(tmp_path / "903")
    std = population(tmp_path / "std")
    store = tmp_path / "w.duckdb"
    assert main(["load", "--format", "ssda903", str(src), f"standard:{std}", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    # the restated rows are counted as merged, and kept out of the problems the summary lists (A86)
    assert "restated by the later return" not in out and "2024/a.csv row 4, column PLACE: 'ZZ'" in out
    assert main(["measures", "--store", str(store), "--month", "2024-01"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert "not available" in rows["1.0"] and "(1/10000)*10000 = 1" in rows["6.0"]
