"""The monthly params files: every field checked, a mistake an error naming the file, the field and what was
expected, before a run makes anything."""

import os
from pathlib import Path

import pytest

from kpi import params as pm
from kpi.errors import UserError
from kpi.runner import run


def params(folder: Path, text: str, month: str = "2026-10") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{month}.yaml"
    path.write_text(f"month: {month}\n" + text)
    return path


def refused(path: Path, *expected: str) -> str:
    """The params file refused when read and checked, the message naming the file and what was expected."""
    with pytest.raises(pm.ParamsError) as e:
        pm.check(pm.load(path))
    for x in (str(path), *expected):
        assert x in str(e.value), str(e.value)
    return str(e.value)


def test_a_params_file_that_reads_and_checks(tmp_path):
    (tmp_path / "figures.csv").write_text("month,measure,numerator,denominator\n2026-10,1.7,4,40\n")
    path = params(
        tmp_path,
        "council: Test Council\nsnapshot: 1\npublic: true\nla_code: 825\ncomparator_year: 2024\n"
        "aggregates: figures.csv\ncommentary:\n  6.10: Health assessments on time.\n  '1.7': Re-referrals.\n",
    )
    p = pm.load(path)
    assert (p.snapshot, p.public, p.la_code, p.comparator_year) == (1, True, "825", "2024")
    assert p.aggregates == tmp_path / "figures.csv"  # read from the params file's folder
    # 6.10 unquoted is the number 6.1 to YAML: it stays KPI 11's 6.10, not the measure 6.1
    assert p.commentary == {"6.10": "Health assessments on time.", "1.7": "Re-referrals."}
    cat = pm.check(p)
    assert cat["1.7"].comparator_year == "2024 (DfE)"


@pytest.mark.parametrize(
    "text, expected",
    [
        ('public: "false"', "public: expected true or false (without quotes), not 'false'"),
        ("public: 1", "public: expected true or false"),
        ("snapshot: 0", "snapshot: expected a snapshot number of the store (1 or more"),
        ("snapshot: -2", "not -2"),
        ('snapshot: "3"', "not '3'"),
        ("snapshot: true", "not True"),
        ("la_code: junk", "la_code: expected the DfE code of an English council, three digits (825), not 'junk'"),
        ("la_code: [825]", "la_code: expected the DfE code"),
        ("comparator_year: twenty", "comparator_year: expected a year of the DfE's published figures (2025)"),
        ("council: [a, b]", "council: expected text, not a list"),
        ("notes: {a: b}", "notes: expected text, not a mapping"),
        ("commentary: [text]", "commentary: expected a mapping of measure references to text"),
        ("commentary:\n  '1.7': {a: b}", "commentary: 1.7: expected text"),
        ("commentry: {}", "unknown field(s) commentry"),
        ("commentary:\n  '1.7': a\n  '1.7': b", "cannot be read as YAML: 1.7 is given twice"),
        ("council: [unclosed", "cannot be read as YAML"),
        ("catalogue: no-such.yaml", "catalogue: no file"),
        ("aggregates: no-such.csv", "aggregates: no file"),
        ("aggregates: ../elsewhere/figures.csv", "aggregates: ../elsewhere/figures.csv lies outside the project"),
        ("catalogue: /etc/hostname.yaml", "catalogue: /etc/hostname.yaml lies outside the project"),
    ],
)
def test_a_field_of_the_wrong_form_is_refused_naming_it(tmp_path, text, expected):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "figures.csv").write_text("month,measure,numerator,denominator\n")
    path = params(tmp_path / "params", text + "\n")
    with pytest.raises(pm.ParamsError) as e:
        pm.load(path)
    assert str(path) in str(e.value) and expected in str(e.value), str(e.value)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("commentary:\n  '9.99': text", "commentary: 9.99 is no measure of the county catalogue"),
        ("commentary:\n  '1.0': text", "commentary: 1.0 is not a KPI of the county catalogue"),
        ("commentary:\n  6.1: text", "commentary: 6.1 is not a KPI"),
        ("catalogue: journey\ncommentary:\n  '1.7': text", "1.7 is no measure of the journey catalogue"),
        ("catalogue: nope", "catalogue: no catalogue 'nope' (known: county, journey, scorecard)"),
        ("la_code: 999", "la_code: 999 is not the DfE code of an English council in the published comparators"),
        ("la_code: 825\ncomparator_year: 1999", "comparator_year: the published comparators hold no year 1999"),
        ("comparator_year: 2024", "comparator_year: needs la_code"),
    ],
)
def test_what_a_field_names_must_exist(tmp_path, text, expected):
    refused(params(tmp_path, text + "\n"), expected)


def test_a_file_outside_the_project_and_the_params_folder_is_refused_even_through_a_link(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "figures.csv").write_text("month,measure,numerator,denominator\n")
    folder = tmp_path / "params"
    folder.mkdir()
    os.symlink(outside, folder / "link")
    with pytest.raises(pm.ParamsError, match="aggregates: link/figures.csv lies outside the project"):
        pm.load(params(folder, "aggregates: link/figures.csv\n"))
    # the same file named on the command line is the user's choice (kpi measures --aggregates): not refused here
    (folder / "figures.csv").write_text("month,measure,numerator,denominator\n")
    assert pm.load(params(folder, "aggregates: figures.csv\n")).aggregates == folder / "figures.csv"


def test_a_rejected_aggregates_row_is_an_error_naming_file_row_column_and_why(tmp_path):
    (tmp_path / "figures.csv").write_text(
        "month,measure,numerator,denominator\n2026-10,1.7,4,40\n2026-10,1.2,x,40\n2026-13,1.7,1,2\n"
    )
    message = refused(
        params(tmp_path, "aggregates: figures.csv\n"),
        f"aggregates: {tmp_path / 'figures.csv'} row 3, column numerator: 'x': expected a number",
        "(and 1 more rejected rows)",
        "kpi measures --aggregates",
    )
    assert len(message.splitlines()) == 1


def test_a_run_checks_its_params_before_making_anything(small_authority, tmp_path):
    root, _ = small_authority
    store = root / "store.duckdb"
    out = tmp_path / "out"
    (tmp_path / "figures.csv").write_text("month,measure,numerator,denominator\n2026-10,SCC/011b,x,60\n")
    for text, expected in (
        ("snapshot: 7", "snapshot: " + str(store) + " holds no snapshot 7; expected one of 1"),
        ("catalogue: scorecard\naggregates: figures.csv", "row 2, column numerator: 'x': expected a number"),
        ('public: "false"', "public: expected true or false"),
        ("la_code: 999", "la_code: 999 is not the DfE code"),
        ("commentary:\n  '9.99': text", "commentary: 9.99 is no measure"),
    ):
        path = params(tmp_path, text + "\n")
        with pytest.raises(UserError) as e:
            run("2026-10", store, params_file=path, out_root=out, progress=lambda s: None)
        assert str(path) in str(e.value) and expected in str(e.value), str(e.value)
        assert not out.exists()


def test_a_month_file_for_another_month_is_refused(tmp_path):
    path = params(tmp_path, "", month="2026-09")
    path.rename(tmp_path / "2026-10.yaml")
    with pytest.raises(pm.ParamsError, match=r"2026-10.yaml: month: says 2026-09, not 2026-10 as its name does"):
        pm.for_month("2026-10", tmp_path)


@pytest.mark.parametrize("month", ["2026-13", "October", "26-10", ""])
def test_a_params_month_is_checked_as_every_commands_month(month):
    from kpi.calendar import MonthError, parse_month

    with pytest.raises(MonthError) as said:
        parse_month(month, "month")
    with pytest.raises(pm.ParamsError) as e:
        pm.parse({"month": month}, "p.yaml")
    assert str(e.value) == f"p.yaml: {said.value}"


def test_a_nations_published_table_takes_the_councils_own_code(tmp_path):
    """`published:` names a nation's table (kpi comparators import FILE.csv); la_code is then the council's code in
    it, any code, and the catalogue comes back with that nation's figures."""
    from test_comparators import SCORECARD, WALES

    from kpi import comparators as cp

    (tmp_path / "wales.csv").write_text(WALES)
    cp.import_published(tmp_path / "wales.csv", SCORECARD, "Wales", tmp_path / "t")
    ok = params(tmp_path, "catalogue: scorecard\nla_code: W1\npublished: t/published_wales.csv\n", "2026-09")
    cat = pm.check(pm.load(ok))
    assert (cat["SCC/011b"].rank, cat["SCC/011b"].national_name) == ("2nd of 4 in Wales", "Wales average")
    assert "published: " in pm.dump(pm.load(ok))  # carried to next month's params
    for text, expected in (
        ("la_code: W9\npublished: t/published_wales.csv", "la_code: W9 is not a council of the published table"),
        ("published: t/published_wales.csv", "published: needs la_code"),
        ("la_code: W1\npublished: t/none.csv", "published: no file"),
        ("la_code: W1\ncomparator_year: 2025\npublished: t/published_wales.csv", "comparator_year: a year of the DfE"),
        ("la_code: W1\npublished: wales.csv", "published: "),  # the raw table, not imported: refused, named
        ("la_code: W1", "la_code: expected the DfE code of an English council, three digits"),
    ):
        refused(params(tmp_path, "catalogue: scorecard\n" + text + "\n", "2026-09"), expected)
