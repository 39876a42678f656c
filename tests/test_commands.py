"""The commands with bad arguments: months outside the data, partial months, malformed months and options, a
failed run; each a message of a line or two naming what is wrong and what was expected, exit 2, no traceback."""

import io
import json
import shutil
from contextlib import redirect_stdout
from pathlib import Path

import duckdb
import nbformat
import pandas as pd
import pytest
from helpers import build_store, referral

from kpi import params as pm
from kpi.calendar import Coverage, MonthError, parse_month, parse_span
from kpi.cli import main
from kpi.runner import NOTEBOOKS, run
from kpi.store import META_DDL, connect, coverage


def cli(*args) -> tuple[int, str]:
    """`kpi ARGS`: the exit code and standard output."""
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main([str(a) for a in args])
    return code, buf.getvalue()


def refused(capsys, *args) -> str:
    """`kpi ARGS` refused as a user's mistake: exit 2, one or two lines on standard error, no traceback."""
    with pytest.raises(SystemExit) as e:  # argparse's own refusals exit through SystemExit
        raise SystemExit(cli(*args)[0])
    err = capsys.readouterr().err
    assert e.value.code == 2, err
    assert 1 <= len(err.strip().splitlines()) <= 2 and "Traceback" not in err and "internal error" not in err, err
    return err


@pytest.fixture(scope="module")
def mid_month(tmp_path_factory):
    """A hand-made store whose extract was taken on 15 November 2026: referrals from September, two of them in
    November before the 15th. It covers 2026-09 to 2026-10, and 2026-11 in part (to 14 November)."""
    root = tmp_path_factory.mktemp("mid")
    refs = [
        referral("R1", "K1", "2026-09-03"),
        referral("R2", "K2", "2026-10-05"),
        referral("R3", "K3", "2026-11-02"),
        referral("R4", "K4", "2026-11-14"),
    ]
    build_store(root, {"referrals": refs}, extract_date="2026-11-15").con.close()
    return root / "w.duckdb"


# ------------------------------------------------------------------------------------------------ months covered


def test_the_months_a_snapshot_covers(mid_month, small_authority):
    con, snap = connect(mid_month)
    cov = coverage(con, snap)
    con.close()
    assert (cov.first, cov.last, cov.partial, str(cov.to_day)) == ("2026-09", "2026-10", "2026-11", "2026-11-14")
    assert cov.starts == {"referrals": "2026-09"}
    # the synthetic authority: its front door from 2021-11, when its first CIN plans start too (scale 0.05);
    # children in care since 2008 and plans that ended before 2021-11 (A182) do not make 2015 part of its history
    root, _ = small_authority
    con, snap = connect(root / "store.duckdb")
    cov = coverage(con, snap)
    con.close()
    assert (cov.first, cov.last, cov.partial) == ("2021-11", "2026-10", None)
    assert cov.starts["contacts"] == "2021-11" and cov.starts["referrals"] < "2021-01"


def test_a_store_without_the_front_door_starts_at_its_earliest_record(tmp_path):
    """A store of children in care alone (as from an SSDA903 return): its history starts at its first record."""
    eps = [
        {"episode_id": "E1", "child_id": "C1", "period_id": "P1", "start_date": "2024-03-10", "rne": "S"},
        {"episode_id": "E2", "child_id": "C2", "period_id": "P2", "start_date": "2025-06-01", "rne": "S"},
    ]
    build_store(tmp_path, {"care_episodes": eps}, extract_date="2026-04-01").con.close()
    con, snap = connect(tmp_path / "w.duckdb")
    cov = coverage(con, snap)
    con.close()
    # and it ends with its latest record's month, not the extract date's (docs/assumptions.md A90)
    assert (cov.first, cov.last, cov.partial, cov.starts) == ("2024-03", "2025-06", None, {})


def test_coverage_checks_every_month_asked():
    cov = Coverage("2024-01", "2026-10", pd.Timestamp("2026-11-20").date(), "2026-11", {"contacts": "2024-01"}, "s")
    cov.check(["2024-01", "2026-10"])
    cov.check("2026-11", partial=True)
    with pytest.raises(MonthError, match=r"2026-11 is a partial month: .* 20 November 2026, so its figures run to 19 "):
        cov.check(["2026-10", "2026-11"])
    with pytest.raises(MonthError, match="2026-12 is after the data: s .* covers 2024-01 to 2026-10, and 2026-11 in"):
        cov.check("2026-12", partial=True)
    with pytest.raises(MonthError, match="2023-12 is before the data's history: .*the records of its contacts start"):
        cov.check(["2023-12", "2024-01"])


def test_months_are_real_months():
    assert parse_month(" 2026-10 ") == "2026-10"
    assert parse_span("2025-11..2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    for bad in ("2026-13", "2026-00", "2026-1", "26-10", "October", "2026-10-01", "", "2026/10"):
        with pytest.raises(MonthError, match="expected a month YYYY-MM"):
            parse_month(bad)
    for bad, why in (("2026-10..2026-01", "ends before it starts"), ("2026-01..", "expected a month"), ("x", "two")):
        with pytest.raises(MonthError, match=why):
            parse_span(bad)


def test_a_month_after_the_extract_or_before_its_history_is_refused_by_every_command(small_authority, tmp_path, capsys):
    root, _ = small_authority
    store = root / "store.duckdb"
    out = tmp_path / "out"
    covers = "covers 2021-11 to 2026-10"
    for month, what in (("2030-01", "is after the data"), ("2015-01", "is before the data's history")):
        for args in (
            ["run", "--month", month, "--output", out],
            ["params", "new", month, "--dir", tmp_path / "params"],
            ["measures", "--month", month],
            ["volumes", "--month", month],
            ["explore", "1.7", "--month", month, "--out", out],
        ):
            err = refused(capsys, *args, "--store", store)
            assert f"{month} {what}: snapshot 1 of {store}" in err and covers in err, err
    for span, first in (("2026-10..2030-01", "2026-11 is after"), ("2015-01..2026-10", "2015-01 is before")):
        err = refused(capsys, "run", "--months", span, "--output", out, "--store", store)
        assert f"month {first} the data" in err and covers in err, err
    err = refused(capsys, "measures", "--month", "2021-10", "--store", store)
    assert "the records of its contacts and early_help_episodes and cin_plans start in 2021-11" in err
    # months asked for together: every one of them is checked
    err = refused(capsys, "measures", "--month", "2022-06", "--months", "12", "--store", store)
    assert "--months 2021-07 is before the data's history" in err
    err = refused(capsys, "volumes", "--month", "2022-01", "--months", "4", "--store", store)
    assert "--months 2021-10 is before" in err
    err = refused(capsys, "measures", "--month", "2022-03", "--period", "quarter", "--months", "2", "--store", store)
    assert "--months 2021-10 is before" in err  # the quarters October to December 2021 and January to March 2022
    assert not out.exists() and not (tmp_path / "params").exists()  # nothing was made


def test_a_partial_month_only_when_asked_for_and_said_so(mid_month, tmp_path, capsys):
    err = refused(capsys, "measures", "--month", "2026-11", "--store", mid_month)
    assert "2026-11 is a partial month: the extract was taken on 15 November 2026, so its figures run to 14 " in err
    assert "give --partial" in err
    refused(capsys, "volumes", "--month", "2026-11", "--store", mid_month)
    refused(capsys, "run", "--month", "2026-11", "--store", mid_month, "--output", tmp_path / "o")
    refused(capsys, "params", "new", "2026-11", "--store", mid_month, "--dir", tmp_path)
    # by default the latest complete month
    code, out = cli("volumes", "--store", mid_month, "--format", "csv")
    assert code == 0 and set(pd.read_csv(io.StringIO(out))["month"]) == {"2026-10"}
    # asked for: November's two referrals to the 14th
    code, out = cli(
        "volumes", "--month", "2026-11", "--months", "3", "--partial", "--store", mid_month, "--format", "csv"
    )
    df = pd.read_csv(io.StringIO(out)).set_index(["volume", "month"])
    assert code == 0 and df.loc["Referrals", "count"].tolist() == [1, 1, 2]
    code, out = cli("measures", "--month", "2026-11", "--partial", "--store", mid_month, "--format", "csv")
    card = pd.read_csv(io.StringIO(out), dtype={"measure": str}).set_index("measure")
    assert code == 0 and card.loc["1.6", "numerator"] == 2
    # the params drafted for it say so in their notes (shown in the report's introduction)
    assert cli("params", "new", "2026-11", "--partial", "--store", mid_month, "--dir", tmp_path)[0] == 0
    notes = pm.load(tmp_path / "2026-11.yaml").notes
    assert "Partial month: the data were extracted on 15 November 2026, so the figures run to 14 November 2026" in notes


def test_a_partial_months_report_is_labelled_partial(mid_month, tmp_path):
    books = tmp_path / "books"
    books.mkdir()
    shutil.copy(NOTEBOOKS / "01_summary.ipynb", books / "01_summary.ipynb")
    res = run("2026-11", mid_month, out_root=tmp_path / "o", notebook_dir=books, progress=lambda s: None, partial=True)
    assert res.ok, res.failures
    page = res.report.read_text()
    assert "<title>Council: performance report, November 2026 (partial month: to 14 November 2026)</title>" in page
    note = "Partial month: the data were extracted on 15 November 2026, so the figures for November 2026 run to 14 "
    assert note in page and page.index(note) < page.index('id="summary"')  # under the title
    assert "Figures to 14 November 2026 (a partial month), from the data extract of 15 November 2026" in page
    assert "Figures to the end of November 2026" not in page
    assert json.loads((res.out_dir / "manifest.json").read_text())["partial"] == {"figures_to": "2026-11-14"}
    # a complete month asked for with --partial is not labelled
    res = run("2026-10", mid_month, out_root=tmp_path / "o", notebook_dir=books, progress=lambda s: None, partial=True)
    assert "partial" not in res.report.read_text().lower() and "partial" not in json.loads(
        (res.out_dir / "manifest.json").read_text()
    )


# ------------------------------------------------------------------------------------------------ bad arguments

STORE = "STORE"  # replaced by the small authority's store


@pytest.mark.parametrize(
    "args, expected",
    [
        (["run", "--month", "2026-13"], "argument --month: expected a month YYYY-MM (e.g. 2026-10), not '2026-13'"),
        (["run", "--month", "Oct-26"], "expected a month YYYY-MM"),
        (["run", "--months", "2026-01..2026-13"], "argument --months: expected a month YYYY-MM"),
        (["run", "--months", "2026-10..2026-08"], "2026-10..2026-08 ends before it starts"),
        (["run", "--months", "2026-10"], "expected two months YYYY-MM..YYYY-MM"),
        (["run", "--month", "2026-10", "--months", "2026-09..2026-10"], "not allowed with argument --month"),
        (["run", "--workers", "0"], "argument --workers: expected a whole number of 1 or more, not '0'"),
        (["run", "--params", "NOFILE"], "no-such-file: cannot be read: No such file or directory; expected a params"),
        (["run", "--params", "BADYAML"], "bad.yaml: cannot be read as YAML"),
        (["run", "--output", "FILE"], "output folder FILE/2026-10: cannot be made: Not a directory"),
        (["params", "new", "2026-13"], "argument month: expected a month YYYY-MM"),
        (["params", "new", "2026-10", "--dir", "FILE"], "--dir: FILE is a file; expected the folder of the params"),
        (["params", "new"], "the following arguments are required: month"),
        (["measures", "--month", "2026-13"], "argument --month: expected a month"),
        (["measures", "--months", "0"], "argument --months: expected a whole number of 1 or more, not '0'"),
        (["measures", "--months", "-3"], "not '-3'"),
        (["measures", "--months", "two"], "not 'two'"),
        (["measures", "--snapshot", "0"], "argument --snapshot: expected a whole number of 1 or more"),
        (["measures", "--snapshot", "9"], "--snapshot: STORE holds no snapshot 9; expected one of 1"),
        (["measures", "--by", "nope"], "argument --by: invalid choice: 'nope'"),
        (["measures", "--by", "team", "--period", "quarter"], "--by is for monthly figures"),
        (["measures", "--catalogue", "nope"], "no catalogue 'nope' (known: county, journey, scorecard)"),
        (["measures", "--aggregates", "AGG"], "--month is needed with --aggregates"),
        (["measures", "--aggregates", "NOFILE", "--month", "2026-10"], "--aggregates: no file"),
        (["measures", "--aggregates", "BADAGG", "--month", "2026-10"], "missing column(s) numerator, denominator"),
        (["measures", "--aggregates", "AGG", "--month", "2026-10", "--by", "team"], "--by needs record-level data"),
        (["measures", "--targets", "NOFILE"], "--targets: no file"),
        (["measures", "--targets", "BADYAML"], "cannot be read as YAML"),
        (["measures", "--targets", "UNKNOWN"], "2026-27: no measure 9.99 in the county catalogue"),
        (["measures", "--targets", "BADYEAR"], "2026: expected a financial year YYYY-YY"),
        (["measures", "--targets", "BADNUMBER"], "target must be a number or TBC, not 'high'"),
        (
            ["measures", "--targets", "WRONGSIDE"],
            "1.7: tolerance 10 is on the better side of target 17; expected it above",
        ),
        (["volumes", "--month", "2026-1"], "argument --month: expected a month YYYY-MM"),
        (["volumes", "--months", "0"], "argument --months: expected a whole number of 1 or more"),
        (["volumes", "--snapshot", "5"], "--snapshot: STORE holds no snapshot 5"),
        (["volumes", "--store", "NOSTORE"], "no store; run `kpi load DIR --store"),
        (["snapshots", "--store", "NOSTORE"], "no store; run `kpi load DIR --store"),
        (["volumes", "--store", "EMPTYSTORE"], "holds no snapshot yet; expected a loaded store: kpi load DIR --store"),
        (["explore", "nope"], "no measure 'nope' in the county catalogue; expected a reference (1.7) or a KPI number"),
        (["explore", "KPI 99"], "no measure 'KPI 99'"),
        (["explore", "KPI x"], "no measure 'KPI x'"),
        (["explore", "1.7", "--notebook", "nope"], "--notebook: no notebook 'nope'"),
        (["explore", "1.7", "--catalogue", "nope"], "no catalogue 'nope'"),
        (["explore", "1.7", "--month", "2026-13"], "argument --month: expected a month"),
        (["comparators", "show"], "show needs --la CODE"),
        (["comparators", "show", "--la", "junk"], "--la: junk is not the DfE code of an English council"),
        (["comparators", "show", "--la", "999"], "--la: 999 is not the DfE code"),
        (["comparators", "show", "--la", "825", "--year", "1999"], "--year: "),
        (["comparators", "import"], "import needs the folder of the DfE's CSV tables"),
        (["comparators", "import", "NOFILE"], "no such folder"),
        (["comparators", "list"], "argument action: invalid choice: 'list'"),
        (["spc", "NOFILE", "--improvement", "increase"], "no such file; expected a CSV of period,value"),
        (["spc", "NOTSERIES", "--improvement", "increase"], "expected columns period,value"),
        (["spc", "BINARY", "--improvement", "increase"], "cannot be read as text"),
        (["spc", "SERIES", "--improvement", "up"], "argument --improvement: invalid choice: 'up'"),
        (["spc", "SERIES", "--improvement", "increase", "--baseline", "0"], "argument --baseline: expected a whole"),
        (["spc", "SERIES", "--improvement", "increase", "--target", "nan"], "argument --target: expected a number"),
        (["synth", "--scale", "0"], "argument --scale: expected a number from 0.001 to 100, not '0'"),
        (["synth", "--scale", "-1"], "expected a number from 0.001 to 100"),
        (["synth", "--months", "0"], "argument --months: expected a whole number of 1 or more"),
        (["synth", "--end-month", "2026-13"], "argument --end-month: expected a month YYYY-MM"),
        (["docs", "--out", "FILE/x.md"], "--out: cannot write FILE/x.md: FILE is a file"),
        (["nope"], "argument command: invalid choice: 'nope'"),
    ],
)
def test_a_mistake_on_the_command_line_is_a_message(small_authority, tmp_path, capsys, args, expected):
    root, _ = small_authority
    store = root / "store.duckdb"
    (tmp_path / "bad.yaml").write_text("2026-27: {1.7: [unclosed\n")
    (tmp_path / "unknown.yaml").write_text('"2026-27":\n  "9.99": {target: 1, tolerance: 2}\n')
    (tmp_path / "year.yaml").write_text('"2026":\n  "1.7": {target: 17, tolerance: 20}\n')
    (tmp_path / "number.yaml").write_text('"2026-27":\n  "1.7": {target: high, tolerance: 20}\n')
    (tmp_path / "side.yaml").write_text('"2026-27":\n  "1.7": {target: 17, tolerance: 10}\n')  # lower is better
    (tmp_path / "not-series.csv").write_text("month,count\n2026-01,3\n")
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00\x01period,value\n")
    (tmp_path / "series.csv").write_text("period,value\np1,1\np2,2\n")
    (tmp_path / "agg.csv").write_text("month,measure,numerator,denominator\n")
    (tmp_path / "bad-agg.csv").write_text("month,measure\n2026-10,1.7\n")
    (tmp_path / "file").write_text("a file, not a folder")
    with duckdb.connect(str(tmp_path / "empty.duckdb")) as con:  # a store made, nothing loaded
        con.execute(META_DDL)
    names = {
        "EMPTYSTORE": tmp_path / "empty.duckdb",
        "STORE": store,
        "AGG": tmp_path / "agg.csv",
        "BADAGG": tmp_path / "bad-agg.csv",
        "NOFILE": tmp_path / "no-such-file",
        "NOSTORE": tmp_path / "no.duckdb",
        "BADYAML": tmp_path / "bad.yaml",
        "UNKNOWN": tmp_path / "unknown.yaml",
        "BADYEAR": tmp_path / "year.yaml",
        "BADNUMBER": tmp_path / "number.yaml",
        "WRONGSIDE": tmp_path / "side.yaml",
        "NOTSERIES": tmp_path / "not-series.csv",
        "BINARY": tmp_path / "binary.csv",
        "SERIES": tmp_path / "series.csv",
        "FILE": tmp_path / "file",
    }
    args = [str(names.get(a, a)) if "/" not in a else str(names[a.split("/")[0]]) + a[a.index("/") :] for a in args]
    if args[0] in ("run", "measures", "volumes", "explore", "params") and not {"--store", "--aggregates"} & set(args):
        args += ["--store", str(store)]
    if args[0] in ("run", "explore") and not {"--output", "--out"} & set(args):
        args += ["--output" if args[0] == "run" else "--out", str(tmp_path / "out")]
    if args[0] == "params" and "--dir" not in args:
        args += ["--dir", str(tmp_path / "params")]
    err = refused(capsys, *args)
    assert expected.replace("STORE", str(store)).replace("FILE", str(tmp_path / "file")) in err, err
    assert not (tmp_path / "out").exists() and not (tmp_path / "params").exists()


# ------------------------------------------------------------------------------------------------ volumes


def test_volumes_of_a_store_from_an_ssda903_return_alone_say_what_is_not_available(tmp_path, capsys):
    from test_readers import returns_903

    store = tmp_path / "w.duckdb"
    assert main(["load", "--format", "ssda903", str(returns_903(tmp_path / "903")), "--store", str(store)]) == 0
    capsys.readouterr()
    code, out = cli("volumes", "--store", store, "--month", "2022-05", "--months", "2", "--format", "csv")
    assert code == 0
    df = pd.read_csv(io.StringIO(out)).set_index(["volume", "month"])
    # in care at the end of April 2022: C2 (since April 2021); of May: C1 too, come into care on 10 May
    assert df.loc["Children in care", "count"].tolist() == [1, 2]
    assert df.loc["Children starting to be looked after", "count"].tolist() == [0, 1]
    assert df.loc["Contacts", "count"].isna().all() and df.loc["Referrals", "count"].isna().all()
    assert df.loc[("Contacts", "2022-05"), "not_available"].startswith("contacts: ")
    code, out = cli("volumes", "--store", store, "--month", "2022-05")
    assert code == 0
    assert "Contacts" in out and "not available" in out and "not available: Contacts: contacts: " in out


# ------------------------------------------------------------------------------------------------ a failed run


def test_a_failed_run_keeps_the_last_good_run_together_and_its_own_record_beside_it(
    small_authority, tmp_path, capsys, monkeypatch
):
    root, _ = small_authority
    store = root / "store.duckdb"
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir()
    shutil.copy(NOTEBOOKS / "01_summary.ipynb", good / "01_summary.ipynb")
    shutil.copytree(good, bad)
    broken = nbformat.v4.new_notebook()
    broken.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    broken.cells = [nbformat.v4.new_code_cell("raise ValueError('no such figure')")]
    nbformat.write(broken, bad / "02_broken.ipynb")
    out = tmp_path / "out"
    first = run("2026-10", store, out_root=out, notebook_dir=good, progress=lambda s: None)
    assert first.ok
    month = out / "2026-10"
    before = {p.relative_to(month): p.read_bytes() for p in month.rglob("*") if p.is_file()}
    assert {str(p) for p in before} >= {"report.html", "manifest.json", "notebooks/01_summary.ipynb"}

    lines = []
    failed = run("2026-10", store, out_root=out, notebook_dir=bad, progress=lines.append)
    assert not failed.ok and failed.failed_dir == month / "failed"
    after = {p.relative_to(month): p.read_bytes() for p in month.rglob("*") if p.is_file() and "failed" not in p.parts}
    assert after == before  # report, manifest, notebooks and data: the last good run's, untouched
    record = json.loads((month / "failed" / "manifest.json").read_text())
    assert record["status"] == "failed" and record["failures"][0]["error"] == "ValueError: no such figure"
    assert sorted(p.name for p in (month / "failed" / "notebooks").iterdir()) == ["01_summary.ipynb", "02_broken.ipynb"]
    assert f"its notebooks and manifest in {month / 'failed'}; the last good report is unchanged" in lines[-1]
    good_run = ["data", "manifest.json", "notebooks", "report.html", "scorecard.xlsx"]
    assert sorted(p.name for p in month.iterdir()) == sorted([*good_run, "failed"])

    # the command says where the failed run's record is
    import kpi.runner

    monkeypatch.setattr(kpi.runner, "NOTEBOOKS", bad)
    code, _ = cli("run", "--month", "2026-10", "--store", store, "--output", out)
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert code == 1 and "failed: 02_broken.ipynb cell 3 (raise ValueError('no such figure')): ValueError" in err
    assert f"kpi run: 2026-10 failed: its notebooks and manifest are in {month / 'failed'}; the last good" in err

    # the next good run replaces the last good one and the failed record it supersedes
    again = run("2026-10", store, out_root=out, notebook_dir=good, progress=lambda s: None)
    assert again.ok and not (month / "failed").exists()
    assert sorted(p.name for p in month.iterdir()) == good_run
    assert json.loads((month / "manifest.json").read_text())["status"] == "ok"


def test_a_run_that_fails_before_its_notebooks_leaves_nothing_behind(small_authority, tmp_path, monkeypatch):
    """A fault while the scorecard is computed: no build folder is left in the month's output."""
    import kpi.report

    root, _ = small_authority

    def broken(*a, **k):
        raise RuntimeError("a fault of the workbook's")

    monkeypatch.setattr(kpi.report, "prepare_data", broken)
    with pytest.raises(RuntimeError):
        run("2026-10", root / "store.duckdb", out_root=tmp_path, progress=lambda s: None)
    assert list((tmp_path / "2026-10").iterdir()) == []


def test_run_months_checks_every_month_before_running_any(small_authority, tmp_path, capsys):
    root, _ = small_authority
    err = refused(capsys, "run", "--months", "2026-09..2026-11", "--store", root / "store.duckdb", "--output", tmp_path)
    assert "month 2026-11 is after the data" in err
    assert list(Path(tmp_path).iterdir()) == []


def test_run_checks_each_month_once(small_authority, tmp_path, monkeypatch):
    """`kpi run` checks every month before running any, and does not check it again as it runs it."""
    import kpi.runner

    root, _ = small_authority
    calls, real = [], kpi.runner.checked
    monkeypatch.setattr(kpi.runner, "checked", lambda *a, **k: calls.append(a[0]) or real(*a, **k))

    def produce(month, *_):  # the notebooks themselves are not what is counted here
        return kpi.runner.RunResult(month=month, out_dir=tmp_path / month, report=tmp_path / month / "report.html")

    monkeypatch.setattr(kpi.runner, "_produce", produce)
    code, _ = cli("run", "--months", "2026-09..2026-10", "--store", root / "store.duckdb", "--output", tmp_path)
    assert code == 0 and calls == ["2026-09", "2026-10"]


def test_a_run_of_months_ends_with_how_many_were_written_and_failed(small_authority, tmp_path, monkeypatch, capsys):
    """One month of two fails: the command carries on, exits 1 and its last line counts both."""
    import kpi.runner

    root, _ = small_authority

    def produce(month, *_):  # 2026-09 written, 2026-10 failed (the notebooks themselves are not what is tested)
        ok = month == "2026-09"
        return kpi.runner.RunResult(
            month=month,
            out_dir=tmp_path / month,
            report=tmp_path / month / "report.html" if ok else None,
            failures=[] if ok else [{"notebook": "01_summary.ipynb", "cell": None, "error": "ValueError: x"}],
            failed_dir=None if ok else tmp_path / month / "failed",
        )

    monkeypatch.setattr(kpi.runner, "_produce", produce)
    code, out = cli("run", "--months", "2026-09..2026-10", "--store", root / "store.duckdb", "--output", tmp_path)
    assert code == 1 and "kpi run: 2026-10 failed" in capsys.readouterr().err
    assert out.splitlines()[-1] == "2 months: 1 written, 1 failed (2026-09..2026-10)"


# ------------------------------------------------------------------------------------------------ one latest month


@pytest.fixture(scope="module")
def stated_partial(tmp_path_factory):
    """A store whose extract.json says its latest month is 2026-11, taken on 20 November 2026: November is partial
    (to the 19th), so its latest complete month is 2026-10, for the notebooks and the Explorer as for commands."""
    root = tmp_path_factory.mktemp("stated")
    refs = [referral("R1", "K1", "2026-09-03"), referral("R2", "K2", "2026-10-05"), referral("R3", "K3", "2026-11-19")]
    build_store(root, {"referrals": refs}, extract_date="2026-11-20").con.close()
    (root / "in" / "extract.json").write_text(json.dumps({"extract_date": "2026-11-20", "latest_month": "2026-11"}))
    from kpi.load import load

    load(root / "in", root / "w.duckdb")
    return root / "w.duckdb"


def test_the_notebooks_and_the_explorer_take_the_latest_month_as_the_commands_do(stated_partial, tmp_path):
    from kpi.explore import Explorer
    from kpi.report import Report
    from kpi.store import latest_month

    assert latest_month(stated_partial) == "2026-10"
    assert Report.open(None, stated_partial, data_dir=tmp_path / "d").month == "2026-10"
    for month, why in (("2030-01", "is after the data"), ("2026-11", "is a partial month"), ("2015-01", "is before")):
        with pytest.raises(MonthError, match=f"month {month} {why}"):
            Report.open(month, stated_partial)
    report = Report.open("2026-11", stated_partial, partial=True)  # asked for: November to the 19th
    assert report.latest("1.6")["numerator"] == 1
    ex = Explorer(stated_partial)
    assert ex.latest_month == "2026-10" and ex.series("1.6")["month"].iloc[-1] == "2026-10"
    with pytest.raises(MonthError, match="month 2030-01 is after the data"):
        ex.series("1.6", month="2030-01")
    with pytest.raises(MonthError, match="month 2026-11 is a partial month"):
        ex.cohort("1.6", month="2026-11")


def test_the_last_month_covered_is_never_after_the_latest_record(tmp_path):
    """An extract date months after its data (mistyped, or a return's): no months of zeros after the last record."""
    refs = [referral("R1", "K1", "2026-09-03"), referral("R2", "K2", "2026-11-14")]
    build_store(tmp_path, {"referrals": refs}, extract_date="2027-06-01").con.close()
    con, snap = connect(tmp_path / "w.duckdb")
    cov = coverage(con, snap)
    con.close()
    assert (cov.first, cov.last, cov.partial) == ("2026-09", "2026-11", None)
    with pytest.raises(MonthError, match="2027-05 is after the data"):
        cov.check("2027-05")


def test_an_extract_date_more_than_a_year_ahead_is_refused(tmp_path, capsys):
    from helpers import minimal_extract

    d = minimal_extract(tmp_path / "in")
    err = refused(capsys, "load", d, "--store", tmp_path / "w.duckdb", "--extract-date", "2099-01-01")
    assert "--extract-date 2099-01-01 is more than a year after today" in err
    (d / "extract.json").write_text(json.dumps({"extract_date": "2062-04-01"}))
    err = refused(capsys, "load", d, "--store", tmp_path / "w.duckdb")
    assert "the sources' extract date (extract.json, a return's dates) 2062-04-01 is more than a year after" in err
    assert not (tmp_path / "w.duckdb").exists()


def test_an_ssda903_return_covers_its_collection_years_only(tmp_path, capsys):
    """Two years' returns (2022-23, 2023-24) with a child in care since April 2021: they cover April 2022 on."""
    from test_readers import returns_903

    store = tmp_path / "w.duckdb"
    assert main(["load", "--format", "ssda903", str(returns_903(tmp_path / "903")), "--store", str(store)]) == 0
    con, snap = connect(store)
    cov = coverage(con, snap)
    con.close()
    assert cov.first == "2022-04"
    err = refused(capsys, "volumes", "--store", store, "--month", "2022-03")
    assert "2022-03 is before the data's history" in err and "its sources cover months from 2022-04" in err


@pytest.mark.parametrize(
    "content, expected",
    [
        (b'["extract_date", "2024-06-01"]', "extract.json: a JSON list, not an object"),
        (b'{"extract_date": "2024-06-01", "latest_month": "2024-5"}', "latest_month '2024-5' is not a month"),
        (b'{"extract_date": "2024-06-01", "latest_month": "junk"}', "latest_month 'junk' is not a month"),
        (
            b'{"extract_date": "2024-06-01", "latest_month": "2024-08"}',
            "latest_month 2024-08 is after the month of its extract_date (2024-06-01)",
        ),
        (b'{"extract_date": "2024-06-01", "latest_month": 202405}', "latest_month is 202405, not text"),
        (b'{"extract_date": "2024-06-01", "council": ["Bucks"]}', 'council is ["Bucks"], not text'),
        (b'{"extract_date": "2024-06-01", "council": "  "}', "council '  ' is not a council's name"),
        (b'{"extract_date": "2024-06-01", "council": "Bucks\xe9"}', "extract.json: not UTF-8 text (byte 49)"),
        (None, "extract.json: not a file"),
    ],
)
def test_what_an_extract_says_of_itself_is_checked(tmp_path, capsys, content, expected):
    """latest_month and council are kept with the snapshot and move every default month and the report's title."""
    from helpers import minimal_extract

    d = minimal_extract(tmp_path / "in")
    if content is None:
        (d / "extract.json").mkdir()
    else:
        (d / "extract.json").write_bytes(content)
    err = refused(capsys, "load", d, "--store", tmp_path / "w.duckdb")
    assert expected in err and "internal error" not in err
    assert not (tmp_path / "w.duckdb").exists()


def test_two_runs_of_one_month_at_once_the_second_is_refused_naming_the_first(mid_month, tmp_path, monkeypatch, capsys):
    """Another process runs 2026-10 into the same folder: a second run is refused, naming it; once that process
    has died (its lock file left behind), a run takes the folder over, and removes the lock when done."""
    import subprocess
    import sys

    import kpi.runner

    out = tmp_path / "o" / "2026-10"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from kpi.runner import month_lock\n"
            f"with month_lock(Path({str(out)!r}), '2026-10', print):\n"
            "    print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**__import__("os").environ, "PYTHONPATH": str(Path(kpi.runner.__file__).parent.parent)},
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        produced = []
        monkeypatch.setattr(kpi.runner, "_produce", lambda *a: produced.append(a[0]) or "made")
        err = refused(capsys, "run", "--month", "2026-10", "--store", mid_month, "--output", tmp_path / "o")
        assert f"output folder {out}: another run of 2026-10 is under way (process {holder.pid} on " in err
        assert produced == []
    finally:
        holder.kill()
        holder.wait()
    assert (out / kpi.runner.LOCK).exists()  # left by the process killed
    said = []
    assert run("2026-10", mid_month, out_root=tmp_path / "o", progress=said.append) == "made"
    assert produced == ["2026-10"] and not (out / kpi.runner.LOCK).exists()
    assert any(f"took over the lock of a run that ended without finishing (process {holder.pid} " in s for s in said)


def test_a_partial_month_shown_by_volumes_and_measures_is_labelled(mid_month, capsys):
    """Its rows carry the last day counted (CSV, JSON, the table's column), and a line says so; a complete month's
    output is as before."""
    capsys.readouterr()
    code, out = cli(
        "volumes", "--month", "2026-11", "--months", "2", "--partial", "--store", mid_month, "--format", "csv"
    )
    err = capsys.readouterr().err
    df = pd.read_csv(io.StringIO(out), keep_default_na=False)
    assert code == 0 and set(df.loc[df["month"] == "2026-11", "partial"]) == {"figures to 2026-11-14"}
    assert set(df.loc[df["month"] == "2026-10", "partial"]) == {""}
    assert "2026-11 is partial: the extract was taken on 15 November 2026, so its figures run to 14 November" in err
    code, out = cli("volumes", "--month", "2026-11", "--months", "2", "--partial", "--store", mid_month)
    assert code == 0 and "2026-11 (partial, to 14 Nov)" in out
    code, out = cli("measures", "--month", "2026-11", "--partial", "--store", mid_month, "--format", "json")
    rows = [r for r in json.loads(out) if r["measure"] == "1.6"]
    assert code == 0 and {r["month"]: r["partial"] for r in rows}["2026-11"] == "figures to 2026-11-14"
    code, out = cli("measures", "--month", "2026-11", "--partial", "--store", mid_month, "--period", "quarter")
    assert code == 0 and "figures to 2026-11-14" in out  # the quarter holding it: 2026-27 Q3
    code, out = cli("measures", "--month", "2026-10", "--store", mid_month, "--format", "csv")
    assert code == 0 and "partial" not in pd.read_csv(io.StringIO(out)).columns


def test_a_return_covers_its_whole_collection_year_without_a_record_in_its_last_month(tmp_path):
    """The 2023-24 return's last episode starts in February 2024: March 2024 is still a month it covers. The load
    says which months the snapshot covers."""
    from test_readers import returns_903

    store = tmp_path / "w.duckdb"
    code, out = cli("load", "--format", "ssda903", returns_903(tmp_path / "903"), "--store", store)
    assert code == 0 and "snapshot 1 (extract of 1 April 2024) covers 2022-04 to 2024-03" in out
    con, snap = connect(store)
    cov = coverage(con, snap)
    con.close()
    assert (cov.first, cov.last) == ("2022-04", "2024-03")


def test_kpi_explore_of_the_partial_month_tells_its_notebook(mid_month, tmp_path, capsys):
    """The notebook's Explorer checks its month as the command does: asked with --partial, it is let through."""
    code, out = cli("explore", "1.6", "--month", "2026-11", "--partial", "--store", mid_month, "--out", tmp_path)
    assert code == 0, capsys.readouterr().err
    nb = nbformat.read(tmp_path / "measure-1.6-2026-11.ipynb", as_version=4)
    assert (
        "partial = True" in nb.cells[nb.cells.index(next(c for c in nb.cells if "injected" in str(c.metadata)))].source
    )
    err = refused(capsys, "explore", "1.6", "--month", "2026-11", "--store", mid_month, "--out", tmp_path)
    assert "2026-11 is a partial month" in err
