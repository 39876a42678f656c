import io
from contextlib import redirect_stdout

import pandas as pd

from kpi import model
from kpi.cli import main


def run(*args) -> tuple[int, str]:
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main([str(a) for a in args])
    return code, buf.getvalue()


def test_synth_load_volumes(tmp_path):
    code, out = run("synth", "--scale", "0.02", "--out", tmp_path / "syn")
    assert code == 0 and f"wrote {len(model.TABLES)} tables" in out  # every table has rows
    assert (tmp_path / "syn" / "referrals.csv").exists()
    code, out = run("load", tmp_path / "syn", "--store", tmp_path / "w.duckdb")
    assert code == 0
    assert "snapshot 1 (extract date 2026-11-01)" in out
    total = [line for line in out.splitlines() if line.startswith("total")][0].split()
    assert total[1] == total[2] and total[3] == "0"  # read = loaded, none rejected
    code, out = run("volumes", "--store", tmp_path / "w.duckdb", "--months", "3", "--format", "csv")
    assert code == 0
    df = pd.read_csv(io.StringIO(out))
    assert list(df.columns) == ["month", "volume", "kind", "count", "not_available"]
    assert df["count"].notna().all() and df["not_available"].isna().all()  # the synthetic authority supplies all
    assert sorted(df.month.unique()) == ["2026-08", "2026-09", "2026-10"]
    code, out = run("snapshots", "--store", tmp_path / "w.duckdb")
    assert "Synthshire County Council" in out


def test_load_reports_a_whole_file_problem_and_exits_non_zero(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "children.csv").write_text("child_id,sex\nK1,M\n")
    code = main(["load", str(tmp_path / "in"), "--store", str(tmp_path / "w.duckdb")])
    assert code == 2
    err = capsys.readouterr().err
    assert "load stopped, nothing changed" in err and "children.csv: missing column(s) family_id" in err


def test_report_builds_the_synthetic_store_once_and_says_where_the_report_is(tmp_path, monkeypatch):
    import kpi.cli

    calls = []
    real = kpi.cli.cmd_synth

    def small_synth(a):  # the real generator, at a test's size
        calls.append(a.out)
        a.scale = 0.02
        return real(a)

    monkeypatch.setattr(kpi.cli, "cmd_synth", small_synth)
    args = ["report", "--data", tmp_path / "syn", "--store", tmp_path / "w.duckdb", "--output", tmp_path / "out"]
    code, out = run(*args)
    report = tmp_path / "out" / "2026-10" / "report.html"
    assert code == 0 and calls == [tmp_path / "syn"]
    assert f"report: {report}" in out and report.exists()
    assert "snapshot 1 (extract date 2026-11-01)" in out  # loaded once
    code, out = run(*args)  # second time: neither generated nor loaded again
    assert code == 0 and calls == [tmp_path / "syn"] and "snapshot 1 (extract" not in out
    assert f"report: {report}" in out


def test_spc_reads_any_series(tmp_path, capsys):
    # [5, 1] x 5, then 7 months above the mean of 3 and 7 below it: two shifts (tests/test_spc.py)
    rows = [5, 1] * 5 + [4, 4.5, 4, 4.5, 4, 4.5, 4] + [2, 1.5, 2, 1.5, 2, 1.5, 2]
    f = tmp_path / "series.csv"
    f.write_text("period,value\n" + "".join(f"p{i:02d},{v}\n" for i, v in enumerate(rows)))
    code, out = run("spc", f, "--improvement", "increase", "--target", "10", "--format", "csv")
    assert code == 0
    df = pd.read_csv(io.StringIO(out))
    assert list(df.columns) == ["period", "value", "group", "mean", "lpl", "upl", "rules", "variation"]
    assert df["mean"].round(9).eq(3).all()
    assert df["rules"].fillna("").eq("shift").tolist() == [False] * 10 + [True] * 14
    err = capsys.readouterr().err
    assert "variation: special_cause_concern" in err and "assurance: consistently_missed" in err
    code, out = run("spc", f, "--improvement", "decrease", "--rebase", "p10", "p17")
    assert code == 0 and "variation: common_cause" in out and "assurance: none" in out
    f.write_text("period,value\np1,1\np2,oops\np3,2\n")
    code, _ = run("spc", f, "--improvement", "increase")
    assert code == 1
    assert "rejected: " + str(f) + " row 3, column value: 'oops': expected a number" in capsys.readouterr().err
    code, _ = run("spc", f, "--improvement", "increase", "--rebase", "p9")
    assert code == 2 and "rebase period(s) not in the series: p9" in capsys.readouterr().err


def test_an_error_a_user_can_cause_is_a_message_and_a_fault_of_ours_says_so(tmp_path, capsys, monkeypatch):
    import pytest

    import kpi.cli
    from kpi.errors import UserError

    def user_error(a):
        raise UserError("children.csv row 3, column sex: expected M, F or U")

    def fault(a):
        raise KeyError("1.0")

    monkeypatch.setattr(kpi.cli, "cmd_snapshots", user_error)
    assert main(["snapshots"]) == 2
    err = capsys.readouterr().err
    assert err == "kpi snapshots: children.csv row 3, column sex: expected M, F or U\n"
    monkeypatch.setattr(kpi.cli, "cmd_snapshots", fault)
    assert main(["snapshots"]) == 3
    err = capsys.readouterr().err
    assert "internal error (KeyError: '1.0')" in err and "--debug" in err and "Traceback" not in err
    with pytest.raises(KeyError):
        main(["snapshots", "--debug"])
