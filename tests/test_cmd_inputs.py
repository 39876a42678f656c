"""The commands' inputs beside the store: aggregates, targets, comparators, SPC series, catalogues; each bad one
refused with file, row, column and reason, or read correctly."""

import re

import pytest
from bad_inputs import MEASURE  # one contacts measure, the smallest catalogue

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


def test_report_never_writes_the_synthetic_authority_over_a_councils_folder(tmp_path, capsys, monkeypatch):
    import kpi.cli

    def no_synth(a):  # generating here would overwrite the council's files
        raise AssertionError(f"synthetic data generated into {a.out}")

    monkeypatch.setattr(kpi.cli, "cmd_synth", no_synth)
    council = tmp_path / "council"
    council.mkdir()
    (council / "referrals.csv").write_text("child_id,referral_id\nC1,R1\n")
    code = kpi.cli.main(["report", "--data", council, "--store", tmp_path / "w.duckdb", "--output", tmp_path / "o"])
    err = capsys.readouterr().err
    assert code == 2 and f"--data: {council} is not empty and holds no synthetic extract: not overwritten" in err
    assert [p.name for p in council.iterdir()] == ["referrals.csv"] and not (tmp_path / "w.duckdb").exists()
    monkeypatch.undo()  # kpi synth too: not over a folder of other files, nor a file
    assert kpi.cli.main(["synth", "--out", council, "--scale", "0.05"]) == 2
    assert kpi.cli.main(["synth", "--out", council / "referrals.csv", "--scale", "0.05"]) == 2
    err = capsys.readouterr().err
    assert "is not empty" in err and "referrals.csv is a file; expected a folder" in err
    assert (council / "referrals.csv").read_text() == "child_id,referral_id\nC1,R1\n"


@pytest.mark.parametrize(
    "args, says",
    [
        (["synth", "--scale", "0.0001"], "--scale: expected a number from 0.001 to 100, not '0.0001'"),
        (["synth", "--scale", "inf"], "--scale: expected a number from 0.001 to 100, not 'inf'"),
        (["synth", "--seed", "-1"], "--seed: expected a whole number of 0 or more, not '-1'"),
        (
            ["load", "--format", "sql", "sqlite:///x.db", "--sql-timeout", "nan"],
            "--sql-timeout: expected a number from",
        ),
        (["load", "--format", "sql", "sqlite:///x.db", "--sql-timeout", "1e308"], "--sql-timeout: expected a number"),
    ],
)
def test_numbers_out_of_range_are_refused_on_the_command_line(args, says, tmp_path, capsys):
    from kpi.cli import main

    assert main([*args, "--out" if args[0] == "synth" else "--store", tmp_path / "x"]) == 2
    err = capsys.readouterr().err
    assert says in err and "internal error" not in err and not (tmp_path / "x").exists()


def targets_file(tmp_path, text):
    return write(tmp_path / "targets.yaml", text)


def test_targets_keys_are_read_as_written(tmp_path):
    from kpi.catalogue import load_targets

    # unquoted, YAML reads 6.10 as the number 6.1: it is measure 6.10's target (higher is better: 95 above 90)
    assert COUNTY["6.10"].direction == "higher"
    got = load_targets(targets_file(tmp_path, "2026-27:\n  6.10: {target: 95, tolerance: 90}\n"), COUNTY)
    assert got == {"2026-27": {"6.10": {"target": 95, "tolerance": 90}}}


@pytest.mark.parametrize(
    "text, says",
    [
        ("2026-27:\n  '1.7': {target: 17, tolerance: 20}\n  '1.7': {target: 5, tolerance: 9}\n", "1.7 is given twice"),
        ("2026-27:\n  6.1: {target: 1}\n  '6.1': {target: 2}\n", "6.1 is given twice"),
        ("2026-27:\n  '1.7': {target: .inf, tolerance: 20}\n", "1.7: target must be a number or TBC, not inf"),
        ("2026-27:\n  '1.7': {target: .nan}\n", "1.7: target must be a number or TBC, not nan"),
        ("2026-27:\n  '1.7': {target: true}\n", "1.7: target must be a number or TBC, not True"),
        ("2026-27:\n  - '1.7'\n", "2026-27: expected a mapping of measures"),
        ("- 2026-27\n", "expected a mapping of financial years"),
    ],
)
def test_a_bad_targets_file_is_refused_for_measures_and_run_alike(tmp_path, text, says):
    from kpi.catalogue import CatalogueError
    from kpi.scorecard import scorecard

    f = targets_file(tmp_path, text)
    a = write(tmp_path / "a.csv", "month,measure,numerator,denominator\n2026-05,1.7,4,40\n")
    with pytest.raises(CatalogueError, match=f"{f}: .*{says}"):
        scorecard("2026-05", aggregates=a, catalogue=COUNTY, targets=f)  # as kpi run's report data reads it


def test_run_and_measures_read_the_projects_targets_wherever_kpi_runs(tmp_path, monkeypatch):
    from kpi import catalogue, params, scorecard
    from kpi.cli import main

    assert scorecard.DEFAULT_TARGETS == catalogue.TARGETS == params.PARAMS_DIR / "targets.yaml"
    # a targets file in the folder kpi runs from is not the project's: neither command reads it
    (tmp_path / "params").mkdir()
    targets_file(tmp_path / "params", "2026-27:\n  '1.7': {target: 1, tolerance: 2}\n")
    a = write(tmp_path / "a.csv", "month,measure,numerator,denominator\n2026-05,1.7,4,40\n")
    monkeypatch.chdir(tmp_path)
    card = scorecard.scorecard("2026-05", aggregates=a, catalogue=COUNTY).set_index("measure")
    assert card.loc["1.7", "target"] == COUNTY["1.7"].target != 1
    # kpi params new writes where kpi run reads: the project's params folder, not ./params
    import kpi.cli

    seen = []
    monkeypatch.setattr(kpi.cli, "cmd_params_new", lambda a: seen.append(a.dir) or 0)
    assert main(["params", "new", "2026-10"]) == 0 and seen == [params.PARAMS_DIR]


CONTACTS = (
    MEASURE
    + """  - ref: "1.1"
    title: Contacts, counted against every pair of a hundred million numbers
    section: volume
    unit: count
    kind: flow
    direction: lower
    definition: A join without a condition.
    parts: [{events: contacts, date: contact_at, where: "(SELECT count(*) FROM range(100000000) a, range(100000000) b) > 0"}]
"""
)


def test_a_measure_whose_query_never_ends_is_stopped_and_named(tmp_path, monkeypatch):
    from helpers import build_store

    from kpi import engine
    from kpi.catalogue import CatalogueError, parse
    from kpi.engine import compute

    ctx = build_store(tmp_path, {"contacts": [{"contact_id": "K1", "child_id": "C1", "contact_at": "2025-11-03"}]})
    monkeypatch.setattr(engine, "QUERY_SECONDS", 1)
    with pytest.raises(CatalogueError, match=r"measure 1.1: its query ran longer than 1 s and was stopped"):
        compute(ctx, parse(CONTACTS, "cart"), ["2025-11"])
    # the measures without it are counted
    assert compute(ctx, parse(CONTACTS, "cart"), ["2025-11"], refs=["1.0"])["numerator"].tolist() == [1]


@pytest.mark.parametrize(
    "given, says",
    [
        ("empty.yaml", "empty.yaml: measures: expected a list of one measure or more"),
        ("passwd", "passwd: not a catalogue; expected a YAML file of measures (.yaml)"),
        (".", ": not a catalogue; expected a YAML file"),
        ("none.yaml", "none.yaml: no such file"),
    ],
)
def test_what_is_not_a_catalogue_is_said(tmp_path, given, says):
    from kpi.catalogue import CatalogueError

    write(tmp_path / "empty.yaml", "sections: []\nmeasures: []\n")
    write(tmp_path / "passwd", "root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(CatalogueError, match=re.escape(says)):
        load_catalogue(tmp_path / given)


@pytest.fixture(scope="module")
def minimal_store(tmp_path_factory):
    """A store of the minimal extract: children and their referrals, no contacts."""
    from helpers import minimal_extract

    from kpi.load import load

    root = tmp_path_factory.mktemp("minimal")
    load(minimal_extract(root / "in"), root / "w.duckdb", extract_date="2024-06-01")
    return root / "w.duckdb"


@pytest.mark.parametrize(
    "args, says",
    [
        (["1.7", "--notebook", "../01_summary"], "--notebook: expected the name of a notebook in notebooks/explore"),
        (["1.7", "--notebook", "/tmp/x"], "not '/tmp/x'"),
        (["6.0", "--notebook", "re_referrals"], "--notebook re_referrals: written about measure 1.7 of the county"),
        (["1.0"], "1.0 Number of contacts: not available in snapshot 1 of"),
        (["1.7", "--out", "FILE"], "--out: FILE is a file; expected the folder"),
        (["1.7", "--by", "nonsense"], "argument --by: invalid choice: 'nonsense' (choose from 'age_band',"),
        (
            ["1.7", "--by", "placement_type"],
            "--by placement_type: the records of 1.7 % of referrals which are repeat referrals have no placement type;"
            " expected one of locality, team, age_band, sex, ethnicity, source, primary_need",
        ),
        (["1.7", "--before", "2026-13..2026-14"], "argument --before: expected a month YYYY-MM (e.g. 2026-10), not"),
        (["1.7", "--after", "2024-03"], "argument --after: expected two months YYYY-MM..YYYY-MM"),
        (["1.7", "--before", "2024-04..2024-02"], "argument --before: 2024-04..2024-02 ends before it starts"),
        (
            ["1.7", "--before", "2024-03..2024-04", "--after", "2024-01..2024-03"],
            "--after 2024-01..2024-03: starts before --before 2024-03..2024-04 ends; expected the later window after",
        ),
        (["1.7", "--after", "2024-04..2024-05"], "--after: given alone; expected both windows, --before and --after"),
        (
            ["1.7", "--before", "2023-11..2023-12", "--after", "2024-01..2024-02"],  # the store: 2024-01 to 02
            "--before 2023-11 is before the data's history: snapshot 1",
        ),
        (
            ["1.7", "--month", "2024-01", "--before", "2023-11..2023-12", "--after", "2024-01..2024-02"],
            "--after 2024-01..2024-02: ends after the month explored, 2024-01; expected it to end by then",
        ),
    ],
)
def test_explore_checks_what_it_is_asked_before_running_a_notebook(minimal_store, tmp_path, capsys, args, says):
    from kpi.cli import main

    (tmp_path / "FILE").write_text("x\n")
    args = [str(tmp_path / "FILE") if x == "FILE" else x for x in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "out")]
    assert main(["explore", *args, "--store", minimal_store]) == 2
    err = capsys.readouterr().err
    assert says.replace("FILE", str(tmp_path / "FILE")) in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()  # no notebook run


def test_explore_writes_only_where_git_never_takes_its_notebooks(minimal_store, tmp_path, capsys):
    """Its notebooks hold children's records: a folder git would take in, the project's notebooks/ and a month's
    report folder are refused before anything runs; the project's own output/explore is one git ignores."""
    import subprocess

    from kpi.cli import main
    from kpi.runner import NOTEBOOKS, ROOT

    repo = tmp_path / "repo"
    (repo / "output" / "2024-05").mkdir(parents=True)
    (repo / "output" / "2024-05" / "manifest.json").write_text("{}\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".gitignore").write_text("/output/\n")
    cases = [
        (repo / "work", "--out: REPO/work is not ignored by git, and the notebooks written there hold children's"),
        (repo / "output" / "2024-05" / "x", "--out: REPO/output/2024-05/x is in a report's folder; expected a"),
        (NOTEBOOKS / "explore", f"--out: {NOTEBOOKS / 'explore'} is in the project's notebooks; expected a folder"),
    ]
    for out, says in cases:
        assert main(["explore", "1.7", "--store", minimal_store, "--out", out]) == 2
        err = capsys.readouterr().err
        assert says.replace("REPO", str(repo)) in err and len(err.strip().splitlines()) == 1, err
        assert not (repo / "work").exists()
    if (ROOT / ".git").exists():  # a git checkout (not an installed copy): the default folder is ignored
        r = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", "output/explore/measure-1.7.ipynb"])
        assert r.returncode == 0


@pytest.mark.parametrize("code", ["ENOSPC", "EROFS", "EACCES"])
def test_a_disk_that_will_not_take_a_file_is_a_line_naming_it(tmp_path, capsys, monkeypatch, code):
    import errno
    import os

    import kpi.synth
    from kpi.cli import main

    where = str(tmp_path / "syn" / "contacts.csv")

    def refuse(*_):  # as the machine would, part way through writing
        raise OSError(getattr(errno, code), os.strerror(getattr(errno, code)), where)

    monkeypatch.setattr(kpi.synth, "write", refuse)
    assert main(["synth", "--scale", "0.001", "--out", tmp_path / "syn"]) == 2
    err = capsys.readouterr().err
    assert err == f"kpi synth: cannot write or read {where}: {os.strerror(getattr(errno, code))}\n"


def test_a_reader_that_stops_early_ends_it_quietly(tmp_path):
    import subprocess
    import sys

    series = tmp_path / "s.csv"
    series.write_text("period,value\n" + "".join(f"p{i},{i % 7}\n" for i in range(20000)))
    cmd = [sys.executable, "-m", "kpi.cli", "spc", str(series), "--improvement", "increase"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    p.stdout.readline()  # the reader takes a line and goes (kpi spc ... | head -1)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait() == 141 and err == "", err


def test_make_clean_leaves_nothing_of_the_store(tmp_path):
    import shutil
    import subprocess
    from pathlib import Path

    if shutil.which("make") is None:
        pytest.skip("no make")
    makefile = Path(__file__).resolve().parent.parent / "Makefile"
    store = tmp_path / "data" / "warehouse.duckdb"
    store.parent.mkdir()
    for name in ("warehouse.duckdb", "warehouse.duckdb.check", "warehouse.duckdb.wal", "warehouse.duckdb.123.tmp"):
        (store.parent / name).write_text("x")
    keep = write(store.parent / "council.csv", "x")
    args = ["make", "-f", makefile, "clean", f"STORE={store}", f"SYNTH={tmp_path / 'syn'}", f"VENV={tmp_path / 'v'}"]
    subprocess.run([str(a) for a in args], cwd=tmp_path, check=True, capture_output=True)
    assert list(store.parent.iterdir()) == [keep]


@pytest.mark.parametrize(
    "args, says",
    [
        (["load", "EXTRACT", "--year", "2026"], "--year is for ssda903 and cin sources; none of those given is one"),
        (["load", "EXTRACT", "--mapping", "m.yaml"], "--mapping is for sql sources; none of those given is one"),
        (["load", "cin:EXTRACT", "--sql-timeout", "5"], "--sql-timeout is for sql sources; none of those given is one"),
        (["measures", "--aggregates", "AGG", "--month", "2026-05", "--snapshot", "1"], "--snapshot chooses a snapshot"),
    ],
)
def test_an_option_that_would_be_ignored_is_refused(tmp_path, capsys, args, says):
    from helpers import minimal_extract

    from kpi.cli import main

    names = {"EXTRACT": str(minimal_extract(tmp_path / "in")), "AGG": str(tmp_path / "a.csv")}
    write(tmp_path / "a.csv", "month,measure,numerator,denominator\n2026-05,1.7,4,40\n")
    args = [names.get(x, x.replace("EXTRACT", names["EXTRACT"])) for x in args]
    store = ["--store", str(tmp_path / "w.duckdb")] if args[0] == "load" else []
    assert main([*args, *store, *(["--extract-date", "2024-06-01"] if store else [])]) == 2
    err = capsys.readouterr().err
    assert says in err and not (tmp_path / "w.duckdb").exists(), err
