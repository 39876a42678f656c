"""The records behind a figure, for the analyst: a group's cohort, and the earlier record each repeat repeats."""

import pandas as pd
import pytest
from helpers import build_store, referral

from kpi.explore import Explorer


@pytest.fixture(scope="module")
def repeats_store(tmp_path_factory):
    """April 2024, worked out by hand from the definitions (1.7: another referral of the child in the 12 months
    before, the same day counting for the later id; 5.2: another plan that ended in the 2 years before this one
    started):

    referrals  A3 (North): A1 2023-06-01 and A2 2024-01-15 before: a re-referral, the earlier one A2 (the latest)
               B2 (South): B1 2023-03-01 is over 12 months before: not one
               C2 (South): C1 2023-11-20: a re-referral of C1
               D1, D2 (South), both 2024-04-20: D2 repeats D1 (the smaller id first); D1 not a re-referral
               E1 (North): alone
    plans      CP3 (2024-04-03): CP1 ended 2022-06-30, CP2 (started 2023-01-01) ended 2023-12-31: repeats CP2
               CP5 (2024-04-15): CP4 ended 2021-12-31, over 2 years before: not a repeat
    """
    north, south = {"locality_id": "N", "team_id": "T"}, {"locality_id": "S", "team_id": "T2"}
    refs = [
        referral("A1", "A", "2023-06-01", **north),
        referral("A2", "A", "2024-01-15", **north),
        referral("A3", "A", "2024-04-05", **north),
        referral("B1", "B", "2023-03-01", **south),
        referral("B2", "B", "2024-04-10", **south),
        referral("C1", "C", "2023-11-20", **south),
        referral("C2", "C", "2024-04-12", **south),
        referral("D1", "D", "2024-04-20", **south),
        referral("D2", "D", "2024-04-20", **south),
        referral("E1", "E", "2024-04-25", **north),
        referral("PR", "P", "2021-06-01", **north),
        referral("QR", "Q", "2020-06-01", **north),
    ]

    def plan(pid, child, ref, start, end=""):
        return {"cp_plan_id": pid, "child_id": child, "referral_id": ref, "start_date": start, "end_date": end}

    plans = [
        plan("CP1", "P", "PR", "2022-01-01", "2022-06-30"),
        plan("CP2", "P", "PR", "2023-01-01", "2023-12-31"),
        plan("CP3", "P", "PR", "2024-04-03"),
        plan("CP4", "Q", "QR", "2021-01-01", "2021-12-31"),
        plan("CP5", "Q", "QR", "2024-04-15"),
    ]
    root = tmp_path_factory.mktemp("records")
    build_store(root, {"referrals": refs, "cp_plans": plans}, extract_date="2024-05-01")
    return root / "w.duckdb"


@pytest.fixture(scope="module")
def repeats(repeats_store):
    return Explorer(repeats_store)


def _previous(c):
    """record -> (the earlier record's id, its date), None for none."""
    return {
        r.record_id: (None, None) if pd.isna(r.previous_id) else (r.previous_id, f"{r.previous_date:%Y-%m-%d}")
        for r in c.itertuples()
    }


def test_each_re_referral_names_the_referral_it_repeats(repeats):
    c = repeats.cohort("1.7", "2024-04")
    assert sorted(c["record_id"]) == ["A3", "B2", "C2", "D1", "D2", "E1"]
    counted = c[c["numerator"] > 0]
    assert _previous(counted) == {
        "A3": ("A2", "2024-01-15"),
        "C2": ("C1", "2023-11-20"),
        "D2": ("D1", "2024-04-20"),
    }
    assert c.loc[c["numerator"] == 0, ["previous_id", "previous_date"]].isna().all().all()  # B2, D1, E1


def test_a_groups_records_by_label_or_code(repeats):
    south = repeats.cohort("1.7", "2024-04", by="locality", group="South")
    assert sorted(south["record_id"]) == ["B2", "C2", "D1", "D2"]
    assert _previous(repeats.cohort("KPI 3", "2024-04", numerator=True, by="locality", group="South")) == {
        "C2": ("C1", "2023-11-20"),
        "D2": ("D1", "2024-04-20"),
    }
    assert sorted(repeats.cohort("1.7", "2024-04", by="locality", group="N")["record_id"]) == ["A3", "E1"]
    assert repeats.cohort("1.7", "2024-04", by="locality", group="West").empty
    with pytest.raises(ValueError, match="cannot break down by 'shoe_size'"):
        repeats.cohort("1.7", "2024-04", by="shoe_size", group="x")
    with pytest.raises(ValueError, match="both by and group"):
        repeats.cohort("1.7", "2024-04", by="locality")


def test_a_repeat_plan_names_the_plan_it_repeats(repeats):
    c = repeats.cohort("5.2", "2024-04")
    assert _previous(c) == {"CP3": ("CP2", "2023-01-01"), "CP5": (None, None)}
    assert c.set_index("record_id")["numerator"].to_dict() == {"CP3": 1, "CP5": 0}


def test_a_measure_of_no_repeats_has_no_previous_record(repeats):
    c = repeats.cohort("1.6", "2024-04")
    assert len(c) == 6 and "previous_id" not in c.columns


def test_explore_renders_a_page_with_the_banner_for_a_browser(small_authority, tmp_path, capfd):
    """`kpi explore` runs the notebook with the options as its parameters, the personal-data banner first, and
    renders it beside the executed notebook: the page opened in headless Chromium shows the banner and the tables."""
    import nbformat
    from test_report import CHROMIUM, _browser

    from kpi.cli import main

    root, _ = small_authority
    args = ["explore", "1.7", "--by", "locality", "--before", "2025-11..2026-04", "--after", "2026-05..2026-10"]
    assert main([*args, "--store", str(root / "store.duckdb"), "--out", str(tmp_path)]) == 0
    executed = tmp_path / "measure-1.7-2026-10-locality.ipynb"
    page = executed.with_suffix(".html")
    said = capfd.readouterr()
    assert said.out.splitlines()[-1] == str(page.resolve())  # the path to open, last
    assert "IPKernelApp" not in said.err, said.err  # no kernel log (TCP warning, KeyboardInterrupt) on the console
    nb = nbformat.read(executed, as_version=4)
    injected = next(c.source for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    for line in ('by = "locality"', 'before = "2025-11..2026-04"', 'after = "2026-05..2026-10"', 'measure = "1.7"'):
        assert line in injected
    first = nb.cells[0].outputs[0]["data"]["text/html"]
    assert "Personal data" in first and "personal-data" in first  # in the notebook's output, for JupyterLab
    with _browser() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        view = browser.new_page(viewport={"width": 1200, "height": 900})
        view.goto(page.as_uri())
        alert = view.locator("div.personal-data[role=alert]")
        assert alert.count() == 1 and alert.is_visible()
        assert alert.inner_text().startswith("Personal data: this page can hold children's records")
        assert alert.bounding_box()["y"] < 100  # the first thing on the page
        assert "personal data" in view.title()
        # "Where is it?": the ranked table (kpi.explore.ranking_view) of the breakdown asked for, its rank (if it
        # stands out on this small authority: the planted one is tests/test_explore.py's slow test) in the row header
        ranked = view.locator(".jp-OutputArea-output table", has_text="Beyond its size")
        assert ranked.count() == 1 and ranked.is_visible()
        assert "Share of the change" in ranked.inner_text()
        assert ranked.locator("tbody tr").first.locator("td").first.inner_text() == "locality"
        by_locality = view.locator(".jp-OutputArea-output table", has_text="East")  # the localities' own table
        assert any("West" in by_locality.nth(i).inner_text() for i in range(by_locality.count()))
        browser.close()


def test_working_copies_have_the_banner_and_keep_an_analysts_own(tmp_path):
    import nbformat

    from kpi.runner import EXPLORE, working_copies

    names = sorted(p.name for p in EXPLORE.glob("*.ipynb"))
    made = working_copies(tmp_path / "lab")
    assert [(p.name, new) for p, new in made] == [(n, True) for n in names]
    nb = nbformat.read(tmp_path / "lab" / names[0], as_version=4)
    assert nb.cells[0].source == "from kpi.explore import banner\n\nbanner()"
    assert nb.cells[1:] == nbformat.read(EXPLORE / names[0], as_version=4).cells  # the rest as the project's
    (tmp_path / "lab" / names[0]).write_text("my own work\n")
    again = working_copies(tmp_path / "lab")
    assert [new for _, new in again] == [False] * len(names)
    assert (tmp_path / "lab" / names[0]).read_text() == "my own work\n"


def test_kpi_lab_dry_run_says_what_it_would_start(repeats_store, tmp_path, capsys):
    """`make lab` runs `kpi lab`: JupyterLab on the project's kernel, the store as $KPI_STORE, on the working
    copies; --dry-run says so and makes nothing."""
    import shutil
    import subprocess
    import sys

    from kpi.cli import main
    from kpi.runner import ROOT

    path = repeats_store
    assert main(["lab", "--store", path, "--dir", tmp_path / "lab", "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:3] == [f"copy {tmp_path / 'lab' / 'measure.ipynb'}", f"copy {tmp_path / 'lab' / 're_referrals.ipynb'}"]
    assert out[-1] == (
        f"KPI_STORE={path.resolve()} {sys.executable} -m jupyterlab --notebook-dir={(tmp_path / 'lab').resolve()} "
        "--MultiKernelManager.default_kernel_name=python3"
    )
    assert not (tmp_path / "lab").exists()
    assert main(["lab", "--store", tmp_path / "none.duckdb", "--dry-run"]) == 2
    assert main(["lab", "--store", path, "--dir", tmp_path / "lab", "--dry-run", "--", "--port", "8890"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("default_kernel_name=python3 --port 8890")
    if shutil.which("make"):
        made = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True).stdout
        assert ".venv/bin/kpi lab --store data/warehouse.duckdb --dir output/explore" in made.splitlines()
        args = ["make", "-n", "lab", "LAB_ARGS=--port 8890 --no-browser"]
        made = subprocess.run(args, cwd=ROOT, capture_output=True, text=True).stdout
        assert ".venv/bin/kpi lab --store data/warehouse.duckdb --dir output/explore -- --port 8890 --no-browser" in (
            made.splitlines()
        )


def test_the_breakdowns_a_measures_records_have():
    from kpi.catalogue import load
    from kpi.engine import breakdowns_of

    county = load("county")
    # children in care: a placement, no referral source; contacts: no team of their own; referrals: no placement
    assert breakdowns_of(county["6.0"]) == ["locality", "team", "age_band", "sex", "ethnicity", "placement_type"]
    assert breakdowns_of(county["1.0"]) == ["locality", "age_band", "sex", "ethnicity"]
    assert "placement_type" not in breakdowns_of(county["1.7"]) and "source" in breakdowns_of(county["1.7"])


def test_a_failed_explore_leaves_no_earlier_page_beside_it(repeats_store, tmp_path, capsys, monkeypatch):
    import papermill

    from kpi.cli import main

    def fail(*_, **__):
        raise papermill.PapermillExecutionError(4, 1, "x.story(measure)", "ValueError", "boom", [])

    monkeypatch.setattr(papermill, "execute_notebook", fail)
    stale = tmp_path / "measure-1.7-2024-04.html"
    stale.write_text("<p>an earlier run's page</p>\n")
    assert main(["explore", "1.7", "--store", repeats_store, "--out", tmp_path]) == 1
    assert "failed at cell 4: ValueError: boom" in capsys.readouterr().err
    assert not stale.exists()
