"""The commands' inputs beside the store: aggregates, targets, comparators, SPC series, catalogues; each bad one
refused with file, row, column and reason, or read correctly."""

import pytest

from kpi import aggregates as agg
from kpi.catalogue import load as load_catalogue
from kpi.errors import LoadError

COUNTY = load_catalogue("county")


def write(path, text):
    path.write_text(text)
    return path


def test_aggregates_refuse_impossible_figures_with_row_column_and_reason(tmp_path):
    # 1.7 is a percentage (re-referrals), 1.0 a count; lines 3 and 6 are blank, numbered as the file numbers them
    assert COUNTY["1.7"].unit == "percent" and COUNTY["1.0"].unit == "count"
    f = write(
        tmp_path / "a.csv",
        "month,measure,numerator,denominator,value\n"
        "2026-01,1.7,10,40,\n"  # line 2: good
        "\n"
        "2026-02,1.7,nan,40,\n"  # 4
        "2026-03,1.7,10,inf,\n"  # 5
        "\n"
        "2026-04,1.0,-3,,\n"  # 7
        "2026-05,1.7,10,0,\n"  # 8
        "2026-06,1.7,10,-5,\n"  # 9
        "2026-07,1.7,50,40,\n"  # 10: numerator above denominator
        "2026-08,1.7,,,120\n"  # 11: a percentage above 100
        "2026-09,1.0,7,,\n",  # 12: good
    )
    rows, rej = agg.read(f, COUNTY)
    assert sorted(zip(rows["month"], rows["numerator"], strict=True)) == [("2026-01", 10.0), ("2026-09", 7.0)]
    got = list(zip(rej["row"], rej["column_name"], rej["value"], strict=True))
    assert got == [
        (4, "numerator", "nan"),
        (5, "denominator", "inf"),
        (7, "numerator", "-3"),
        (8, "denominator", "0"),
        (9, "denominator", "-5"),
        (10, "numerator", "50"),
        (11, "value", "120"),
    ]
    assert set(rej["file"]) == {"a.csv"} and rej["reason"].str.startswith("expected").all()


def test_aggregates_refuse_a_column_named_twice(tmp_path):
    f = write(tmp_path / "a.csv", "month,measure,numerator,denominator,numerator\n2026-01,1.1,3,,9\n")
    with pytest.raises(LoadError, match="row 1: column\\(s\\) numerator named twice"):
        agg.read(f, COUNTY)
