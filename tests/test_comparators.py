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
