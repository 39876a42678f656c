"""Published comparators from DfE-shaped tables written by hand: the neighbours' mean, England, the rank."""

import re
from pathlib import Path

import pandas as pd
import pytest

from kpi import comparators as cp
from kpi.catalogue import load
from kpi.errors import LoadError

COUNTY = load("county")
HEAD = "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,old_la_code,new_la_code,la_name,category,"


def dfe_tables(d: Path) -> Path:
    """Re-referrals (lower is better) for England and four councils over two years; council 900's neighbours
    are 901, 902 and 903, and 903's 2025 figure is suppressed."""
    d.mkdir()
    rows = [
        ("2025", "National", "", "", "", "22.6"),
        ("2025", "Local authority", "900", "E1", "Ourshire", "20.0"),
        ("2025", "Local authority", "901", "E2", "Aville", "18.0"),
        ("2025", "Local authority", "902", "E3", "Bville", "25.0"),
        ("2025", "Local authority", "903", "E4", "Cville, City of", "c"),
        ("2024", "National", "", "", "", "21.0"),
        ("2024", "Local authority", "900", "E1", "Ourshire", "17.0"),
        ("2024", "Local authority", "901", "E2", "Aville", "17.0"),
        ("2024", "Local authority", "902", "E3", "Bville", "30.0"),
        ("2024", "Local authority", "903", "E4", "Cville, City of", "16.0"),
        ("2025", "Regional", "", "", "North", "99"),
    ]
    text = (
        HEAD
        + "rereferral_percent\n"
        + "".join(
            f'{y},Reporting year,{lvl},E92000001,England,,,{code},{new},"{name}",Referrals,{v}\n'
            for y, lvl, code, new, name, v in rows
        )
    )
    (d / "c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv").write_text(text)
    (d / "sn_model_2025_wide.csv").write_text(
        "old_la_code,la_name,region_ind,region_name,SN_1,SN_1P,SN_2,SN_2P,SN_3,SN_3P\n"
        "900,Ourshire,1,North,901,Close,902,Close,903,Close\n"
    )
    return d


def test_neighbours_mean_england_and_rank(tmp_path):
    figures, sn, not_found = cp.import_tables(dfe_tables(tmp_path / "dfe"), COUNTY, tmp_path / "out")
    assert set(figures["measure"]) == {"1.7"}  # the only measure whose table is there
    assert "5.2 (d3_cpps_subsequent_plan*.csv)" in not_found
    assert "Regional" not in set(figures["level"])
    t = cp.for_council(COUNTY, "900", *cp.read(tmp_path / "out")).set_index("measure")
    r = t.loc["1.7"]
    # 2025: neighbours 18.0 and 25.0 published (903 suppressed): mean 21.5; lower is better, so among
    # 20.0, 18.0 and 25.0 the council is 2nd of 3
    assert (r["year"], r["council"], r["statistical_neighbours"], r["england"]) == ("2025", 20.0, 21.5, 22.6)
    assert (r["neighbours_published"], r["rank"], r["of"]) == (2, 2, 3)
    assert (r["rank_england"], r["of_england"]) == (2, 3)  # all councils with a 2025 figure: 900, 901, 902
    old = cp.for_council(COUNTY, "900", *cp.read(tmp_path / "out"), year="2024").set_index("measure").loc["1.7"]
    # 2024: 17, 30, 16 -> mean 21.0; 16 < 17 = 17 < 30: the council shares 2nd place with Aville
    assert (old["statistical_neighbours"], old["england"], old["rank"], old["of"]) == (21.0, 21.0, 2, 4)


def test_the_catalogue_takes_the_published_figures(tmp_path):
    cp.import_tables(dfe_tables(tmp_path / "dfe"), COUNTY, tmp_path / "out")
    cat = cp.apply(COUNTY, cp.for_council(COUNTY, "900", *cp.read(tmp_path / "out")))
    m = cat["1.7"]
    assert (m.statistical_neighbours, m.england, m.published, m.rank, m.comparator_year) == (
        21.5,
        22.6,
        20.0,
        "2nd of 3; 2nd of 3 in England",
        "2025 (DfE)",
    )
    assert cat["2.2"].statistical_neighbours == COUNTY["2.2"].statistical_neighbours  # not published: unchanged


def test_missing_tables_and_councils_are_said(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    with pytest.raises(LoadError, match=r"holds none of the DfE tables.*1.7 \(c1_children_in_need_referrals\*.csv\)"):
        cp.import_tables(d, COUNTY, tmp_path / "out")
    cp.import_tables(dfe_tables(tmp_path / "dfe"), COUNTY, tmp_path / "out")
    with pytest.raises(LoadError, match="no statistical neighbours for LA code '123'"):
        cp.for_council(COUNTY, "123", *cp.read(tmp_path / "out"))


def test_the_projects_published_figures_match_the_dfe_release():
    """data/comparators holds the DfE's 2025 figures: Buckinghamshire (825) re-referrals 22.8%, England 22.6%."""
    figures, sn = cp.read()
    t = cp.for_council(COUNTY, "825", figures, sn).set_index("measure")
    assert (t.loc["1.7", "council"], t.loc["1.7", "england"]) == (22.8, 22.6)
    assert len(sn[sn["la_code"] == "825"]) == 10
    assert pd.notna(t.loc["6.0", "rank"])


def test_a_reused_measure_keeps_where_it_is_published_unless_its_unit_changes(tmp_path):
    cp.import_tables(dfe_tables(tmp_path / "dfe"), COUNTY, tmp_path / "out")
    journey = load("journey")
    t = cp.for_council(journey, "900", *cp.read(tmp_path / "out")).set_index("measure")
    assert t.loc["D4", "council"] == 20.0  # repeat referrals, reused from county 1.7
    assert journey["D4"].statistical_neighbours is None  # the seed county's own comparators do not come along
    assert journey["D15"].dfe is None  # children cared for as a count: the DfE publishes a rate per 10,000


def test_importing_one_new_table_keeps_every_other_measures_figures(tmp_path):
    cp.import_tables(dfe_tables(tmp_path / "dfe"), COUNTY, tmp_path / "out")
    # a later folder with the repeat child protection plans table and the SN model only
    new = tmp_path / "new"
    new.mkdir()
    (new / "d3_cpps_subsequent_plan_2025.csv").write_text(
        HEAD + "CPP_subsequent_percent\n"
        "2025,Reporting year,National,E92000001,England,,,,,,Plans,23.0\n"
        "2025,Reporting year,Local authority,E92000001,England,,,900,E1,Ourshire,Plans,19.0\n"
    )
    (new / "sn_model_2025_wide.csv").write_text((tmp_path / "dfe" / "sn_model_2025_wide.csv").read_text())
    figures, _, _ = cp.import_tables(new, COUNTY, tmp_path / "out")
    assert set(figures["measure"]) == {"5.2"}  # what this import read
    t = cp.for_council(COUNTY, "900", *cp.read(tmp_path / "out")).set_index("measure")
    assert (t.loc["1.7", "council"], t.loc["5.2", "council"], t.loc["5.2", "england"]) == (20.0, 19.0, 23.0)
    # the 1.7 table again, without an SN model: its figures replaced (not doubled), the neighbours kept
    again = tmp_path / "again"
    again.mkdir()
    for f in (tmp_path / "dfe").glob("c1_*.csv"):
        (again / f.name).write_text(f.read_text().replace(",20.0\n", ",21.0\n"))
    cp.import_tables(again, COUNTY, tmp_path / "out")
    figures, sn = cp.read(tmp_path / "out")
    assert len(figures[figures["measure"] == "1.7"]) == 10 and len(figures[figures["measure"] == "5.2"]) == 2
    assert cp.for_council(COUNTY, "900", figures, sn).set_index("measure").loc["1.7", "council"] == 21.0
    assert sorted(sn.loc[sn["la_code"] == "900", "neighbour_code"]) == ["901", "902", "903"]


@pytest.mark.parametrize(
    "damage, says",
    [
        (lambda t: b"\xff\xfe" + t, "cannot be read as the imported CSV"),
        (lambda t: b"a,b\n1,2\n", "missing column(s) measure, source, year"),
        (lambda t: t.replace(b",20.0\n", b",twenty\n"), "column value: 'twenty' is not a number"),
    ],
)
def test_damaged_imported_figures_are_refused_by_name(tmp_path, damage, says):
    cp.import_tables(dfe_tables(tmp_path / "dfe"), COUNTY, tmp_path / "out")
    f = tmp_path / "out" / "dfe.csv"
    f.write_bytes(damage(f.read_bytes()))
    with pytest.raises(LoadError, match=f"{f}: .*{re.escape(says)}"):
        cp.read(tmp_path / "out")
    with pytest.raises(LoadError, match=re.escape(says)):  # nor imported over (its other figures would be lost)
        cp.import_tables(dfe_tables(tmp_path / "dfe2"), COUNTY, tmp_path / "out")


SCORECARD = load("scorecard")
# Five Welsh councils' published figures (seed 002's national indicators), worked by hand:
# SCC/011b (higher is better) 2025-26: W1 60, W2 70, W3 60 (tied with W1), W4 suppressed (c), W5 50
#   published 4, mean (60 + 70 + 60 + 50) / 4 = 60.0; W2 1st; W1 and W3 2nd (ties share the better place); W5 4th
# SCC/025 (higher) 2025-26: W2 80, W3 90, W5 85; W1 and W4 missing: mean 85.0, W1 unranked
# SCC/004 (lower) 2025-26: W1 10, W2 10, W3 12.5, W4 8, W5 8: W4 and W5 1st, W1 and W2 3rd of 5, W3 5th; mean 9.7
# SCC/011b 2024-25: W1 57.4 alone: last year's at a quarter of 2025-26; XYZ/1 is no measure of the set
WALES = """la_code,measure,year,value,la_name
W1,SCC/011b,2025-26,60.0,Oneshire
W2,SCC/011b,2025/26,70,Twoshire
W3,SCC/011b,2025-26,60,Threeshire
W4,SCC/011b,2025-26,c,Fourshire
W5,SCC/011b,2025-26,50,Fiveshire
W2,SCC/025,2025-26,80,
W3,SCC/025,2025-26,90,
W5,SCC/025,2025-26,85,
W1,SCC/004,2025-26,10,
W2,SCC/004,2025-26,10,
W3,SCC/004,2025-26,12.5,
W4,SCC/004,2025-26,8,
W5,SCC/004,2025-26,8,
W1,SCC/011b,2024-25,57.4,
W1,XYZ/1,2025-26,3,
"""


def wales(tmp_path) -> Path:
    (tmp_path / "wales.csv").write_text(WALES)
    target, table, unknown = cp.import_published(tmp_path / "wales.csv", SCORECARD, "Wales", tmp_path / "out")
    assert target == tmp_path / "out" / "published_wales.csv" and unknown == ["XYZ/1"]
    assert len(table) == 14 and table["value"].isna().sum() == 1  # W4's c: not published
    return target


def test_a_nations_table_ranks_every_council_and_averages_the_published(tmp_path):
    table = cp.read_published(wales(tmp_path))
    t = cp.for_nation(SCORECARD, "W1", table, "2026-09").set_index("measure")
    assert list(t.index) == ["SCC/011b", "SCC/025", "SCC/004"]  # the catalogue's order
    assert (t.loc["SCC/011b", "year"], t.loc["SCC/011b", "council"], t.loc["SCC/011b", "average"]) == (
        "2025-26",
        60.0,
        60.0,
    )
    assert (t.loc["SCC/011b", "rank"], t.loc["SCC/011b", "of"]) == (2, 4)
    assert pd.isna(t.loc["SCC/025", "council"]) and pd.isna(t.loc["SCC/025", "rank"])  # W1 missing
    assert t.loc["SCC/025", "average"] == 85.0
    assert (t.loc["SCC/004", "rank"], t.loc["SCC/004", "of"], t.loc["SCC/004", "average"]) == (3, 5, 9.7)
    ranks = {la: cp.for_nation(SCORECARD, la, table, "2026-09").set_index("measure").loc["SCC/011b", "rank"]
             for la in ("W2", "W3", "W4", "W5")}  # fmt: skip
    assert ranks["W2"] == 1 and ranks["W3"] == 2 and pd.isna(ranks["W4"]) and ranks["W5"] == 4
    # at a quarter of 2025-26, last year is 2024-25: W1 alone published SCC/011b then; nothing else
    t = cp.for_nation(SCORECARD, "W1", table, "2025-12").set_index("measure")
    assert list(t.index) == ["SCC/011b"] and (t.loc["SCC/011b", "year"], t.loc["SCC/011b", "rank"]) == ("2024-25", 1)
    cat = cp.council_catalogue(SCORECARD, "W1", "2026-09", published=tmp_path / "out" / "published_wales.csv")
    m = cat["SCC/011b"]
    assert (m.england, m.national_name, m.published, m.rank, m.comparator_year) == (
        60.0,
        "Wales average",
        60.0,
        "2nd of 4 in Wales",
        "2025-26 (published)",
    )
    assert m.statistical_neighbours is None and m.comparator_name("england") == "Wales average"
    assert cat["SCC/025"].published is None and cat["SCC/025"].rank is None and cat["SCC/025"].england == 85.0


@pytest.mark.parametrize(
    "text, expected",
    [
        ("la_code,measure,year\nW1,SCC/011b,2025-26\n", "wales.csv: row 1: missing column(s) value; expected the"),
        ("la_code,measure,year,value\nW1,SCC/011b,2025-26,60\nW2,SCC/011b,2025-26,sixty\n",
         "wales.csv: row 3, column value: 'sixty' is not a number"),
        ("la_code,measure,year,value\nW1,SCC/011b,2025-26,60\nW2,SCC/011b,2025-26,70\nW1,SCC/011b,2025/26,61\n",
         "wales.csv: row 4, columns la_code, measure, year: W1, SCC/011b, 2025-26 given again (first at row 2)"),
        ("la_code,measure,year,value\nW1,SCC/011b,2025,60\n", "wales.csv: row 2, column year: '2025' is not a financ"),
        ("la_code,measure,year,value\n,SCC/011b,2025-26,60\n", "wales.csv: row 2, column la_code: empty"),
        ("la_code,measure,year,value\nW1,XYZ/1,2025-26,60\n", "holds none of the scorecard catalogue's measures"),
    ],
)  # fmt: skip
def test_a_bad_published_table_is_refused_naming_its_row_and_column(tmp_path, text, expected):
    (tmp_path / "wales.csv").write_text(text)
    with pytest.raises(LoadError, match=re.escape(expected)):
        cp.import_published(tmp_path / "wales.csv", SCORECARD, "Wales", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_kpi_comparators_import_reads_a_nations_table_and_refuses_a_bad_one_with_a_message(tmp_path, capsys):
    from kpi.cli import main

    (tmp_path / "wales.csv").write_text(WALES)
    assert main(["comparators", "import", str(tmp_path / "wales.csv"), "--nation", "Wales", "--catalogue",
                 "scorecard", "--dir", str(tmp_path / "out")]) == 0  # fmt: skip
    said = capsys.readouterr().out
    assert "13 published figures (1 not published) of 5 councils of Wales for 3 measures" in said
    assert "not in the scorecard catalogue, so not kept: XYZ/1" in said
    assert (tmp_path / "out" / "published_wales.csv").exists()
    (tmp_path / "bad.csv").write_text("la_code,measure,year,value\nW1,SCC/011b,2025-26,6O\n")
    for args, expected in (
        (["--nation", "Wales"], "bad.csv: row 2, column value: '6O' is not a number"),
        ([], "bad.csv: a published table needs --nation"),
    ):
        code = main(["comparators", "import", str(tmp_path / "bad.csv"), "--catalogue", "scorecard", *args])
        err = capsys.readouterr().err
        assert code == 2 and expected in err and "Traceback" not in err, err
