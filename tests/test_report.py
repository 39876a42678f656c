"""The monthly batch end to end on the small synthetic authority, and the page in headless Chromium."""

import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from kpi import model
from kpi import params as pm
from kpi.catalogue import load
from kpi.cli import main
from kpi.runner import NOTEBOOKS, run

CHROMIUM = shutil.which("chromium")


@pytest.fixture(scope="module")
def batch(small_authority, tmp_path_factory):
    root, _ = small_authority
    out = tmp_path_factory.mktemp("output")
    res = run(None, root / "store.duckdb", out_root=out, progress=lambda s: None)
    assert res.ok, res.failures
    return res, root


def page_text(html: str) -> str:
    return re.sub(r"data:image/(png|svg\+xml);base64,[A-Za-z0-9+/=]+", "", html)


def test_one_report_with_every_section_and_kpi(batch):
    res, _ = batch
    assert res.report == res.out_dir / "report.html" and res.month == "2026-10"
    html = res.report.read_text()
    for anchor in (
        "summary",
        "section-volume",
        "section-process",
        "section-impact",
        "section-workforce",
        "section-audit",
        "appendix-definitions",
        "appendix-scorecard",
        "appendix-comparators",
        "appendix-data",
    ):
        assert f'id="{anchor}"' in html, anchor
        assert f'href="#{anchor}"' in html, anchor  # in the table of contents
    for m in load("county").kpis():
        assert f'id="kpi-{m.kpi}"' in html, m.kpi
    assert html.count('<img alt="Line chart of') == 19
    # each beside its XmR chart, both SVG: two figures in one div of charts on every KPI page
    assert html.count('<img alt="XmR chart of') == 19
    assert len(re.findall(r'<div class="charts"><figure><img alt="Line chart of[^"]*" src="data:image/svg\+xml;base64,'
                          r'[^"]+"/?></figure><figure><img alt="XmR chart of[^"]*Mean [^"]*process limit[^"]*" '
                          r'src="data:image/svg\+xml;base64,[^"]+"/?><figcaption class="mdc-pair">.*?</figcaption>'
                          r'</figure></div>', html)) == 19  # fmt: skip
    assert re.search(r"(Green: meets target|Amber: within tolerance|Red: outside tolerance)", html)
    assert "DRAFT" in html  # no manager's commentary given: drafted, and marked so
    # every KPI page carries its Making Data Count verdict, in words
    pages = html.split('<section aria-labelledby="kpi-')[1:]
    assert len(pages) == 19
    verdicts = ("Common cause variation", "Special cause variation: improvement", "Special cause variation: concern")
    for page in pages:
        assert "(Making Data Count, 24 months)" in page and any(v in page for v in verdicts), page[:200]
        # under its XmR chart, the verdict's two icons with their words, as in the glance table
        caption = re.search(r'<figcaption class="mdc-pair">(.*?)</figcaption>', page).group(1)
        assert caption.count("<svg") == (1 if "No target to assure" in caption else 2), caption
        assert any(w in caption for w in ("Common cause", "Special cause")), caption
        assert any(w in caption for w in ("Target consistently", "Hit and miss", "No target")), caption
    assert "Special cause variation this month" in html and "SPC variation" in html


def test_no_code_no_outside_scripts_no_child_identifiers(batch):
    res, root = batch
    html = res.report.read_text()
    text = page_text(html)
    assert "from kpi.report import" not in html and "Report.open(" not in html and "report.section(" not in html
    assert "<script src=" not in text and "cdn." not in text.lower()  # no scripts from outside
    ids = set(pd.read_csv(root / "synthetic" / "children.csv", usecols=["child_id"])["child_id"])
    words = set(re.findall(r"CH\d+", text))
    assert not (words & ids)
    dobs = set(pd.read_csv(root / "synthetic" / "children.csv", usecols=["date_of_birth"])["date_of_birth"])
    assert not any(d in text for d in list(dobs)[:2000])


def test_manifest_and_executed_notebooks_are_kept(batch):
    res, _ = batch
    m = json.loads((res.out_dir / "manifest.json").read_text())
    assert m["status"] == "ok" and m["month"] == "2026-10" and m["report"] == "report.html"
    assert m["snapshot"]["snapshot_id"] == 1
    assert len(m["inputs"]["extract_files"]) == len(model.TABLES) and all(
        len(h) == 64 for h in m["inputs"]["extract_files"].values()
    )
    # the section notebook once for each of the catalogue's sections, in its order
    sections = [
        f"02_section-{i:02d}-{k}.ipynb" for i, k in enumerate(["volume", "process", "impact", "workforce", "audit"], 1)
    ]
    assert {n["notebook"] for n in m["notebooks"]} == {"01_summary.ipynb", *sections, "03_appendices.ipynb"}
    assert m["packages"]["papermill"] and m["timings_seconds"]["total"] > 0
    # what the figures were made from, by hash, and the code that made them
    from kpi.files import sha256
    from kpi.runner import ROOT, code_version

    assert m["inputs"]["catalogue_sha256"] == sha256(ROOT / "kpi" / "catalogues" / "county.yaml")
    assert m["inputs"]["targets_sha256"] is None or len(m["inputs"]["targets_sha256"]) == 64
    assert m["code_version"] == code_version() and m["code_version"].startswith(m["packages"]["csc-kpi-workbook"])
    assert m["scorecard_xlsx"] == "scorecard.xlsx" and (res.out_dir / "scorecard.xlsx").exists()
    kept = sorted(p.name for p in (res.out_dir / "notebooks").glob("*.ipynb"))
    assert len(kept) == 7
    nb = nbformat.read(res.out_dir / "notebooks" / "02_section-03-impact.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert 'section = "impact"' in injected[0].source


def test_same_inputs_same_figures(batch, tmp_path):
    res, root = batch
    again = run(None, root / "store.duckdb", out_root=tmp_path, progress=lambda s: None)

    def glance(path):  # the month at a glance, the KPI table included
        t = page_text(path.read_text())
        return t[t.index('id="summary"') : t.index('id="section-volume"')]

    assert glance(res.report) == glance(again.report)
    a, b = (pd.read_parquet(r.out_dir / "data" / "scorecard.parquet") for r in (res, again))
    pd.testing.assert_frame_equal(a, b)


def test_a_failing_notebook_is_named_and_the_good_report_stays(batch, tmp_path):
    res, root = batch
    books = tmp_path / "books"
    books.mkdir()
    shutil.copy(NOTEBOOKS / "01_summary.ipynb", books / "01_summary.ipynb")
    broken = nbformat.read(NOTEBOOKS / "03_appendices.ipynb", as_version=4)
    broken.cells.append(nbformat.v4.new_code_cell("report.section('no such section')"))
    nbformat.write(broken, books / "06_audit.ipynb")
    out = tmp_path / "out"
    (out / "2026-10").mkdir(parents=True)
    (out / "2026-10" / "report.html").write_text("the last good report")
    lines = []
    bad = run(None, root / "store.duckdb", out_root=out, notebook_dir=books, progress=lines.append)
    assert not bad.ok and bad.report is None
    assert [f["notebook"] for f in bad.failures] == ["06_audit.ipynb"]
    assert "KeyError" in bad.failures[0]["error"]
    # the cell is numbered as in the executed notebook kept for the analyst (parameters injected)
    kept = nbformat.read(out / "2026-10" / "failed" / "notebooks" / "06_audit.ipynb", as_version=4)
    assert kept.cells[bad.failures[0]["cell"]].source == "report.section('no such section')"
    assert any("06_audit.ipynb: FAILED at cell" in line for line in lines)
    assert any("01_summary.ipynb: done" in line for line in lines)  # the others ran
    assert (out / "2026-10" / "report.html").read_text() == "the last good report"
    assert json.loads((out / "2026-10" / "failed" / "manifest.json").read_text())["status"] == "failed"


def test_notebooks_do_not_share_variables(batch, tmp_path):
    """Each notebook runs on a kernel of its own: none can lean on another's variables."""
    res, root = batch
    books = tmp_path / "books"
    books.mkdir()
    for name, code in (("01_first", "leftover = 1"), ("02_second", "print(leftover)")):
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells = [nbformat.v4.new_code_cell(code)]
        nbformat.write(nb, books / f"{name}.ipynb")
    bad = run(
        None, root / "store.duckdb", out_root=tmp_path / "out", notebook_dir=books, workers=1, progress=lambda s: None
    )
    assert [(f["notebook"], f["error"]) for f in bad.failures] == [
        ("02_second.ipynb", "NameError: name 'leftover' is not defined")
    ]


def test_managers_commentary_replaces_the_draft(batch, tmp_path):
    res, root = batch
    p = tmp_path / "2026-10.yaml"
    p.write_text(
        "month: 2026-10\ncouncil: Test Council\ncommentary:\n  '1.7': Re-referrals rose in East; a review "
        "of closures is under way.\nnotes: Data for October is provisional.\n"
    )
    out = run(
        "2026-10",
        root / "store.duckdb",
        params_file=p,
        out_root=tmp_path / "o",
        notebook_dir=_only(tmp_path, "01_summary", "02_section"),
        progress=lambda s: None,
    )
    html = out.report.read_text()
    section = html[html.index('id="kpi-3"') : html.index('id="kpi-1"') if False else None]
    kpi3 = section[: section.index("</section>")]
    assert "Re-referrals rose in East; a review of closures is under way." in kpi3 and "DRAFT" not in kpi3
    assert "Test Council" in html and "Data for October is provisional." in html


def _only(tmp_path, *names) -> Path:
    d = tmp_path / "only"
    d.mkdir(exist_ok=True)
    for n in names:
        shutil.copy(NOTEBOOKS / f"{n}.ipynb", d / f"{n}.ipynb")
    return d


def test_params_are_validated():
    with pytest.raises(pm.ParamsError, match="month: expected a month YYYY-MM"):
        pm.parse({"month": "October"}, "p.yaml")
    with pytest.raises(pm.ParamsError, match="unknown field"):
        pm.parse({"month": "2026-10", "comentary": {}}, "p.yaml")
    p = pm.parse({"month": "2026-10", "commentary": {"1.7": "Text", 2.2: "More"}}, "p.yaml")
    assert p.commentary == {"1.7": "Text", "2.2": "More"}


def test_params_new_drafts_commentary_for_managers(small_authority, tmp_path, capsys):
    root, _ = small_authority
    code = main(["params", "new", "2026-10", "--store", str(root / "store.duckdb"), "--dir", str(tmp_path)])
    assert code == 0
    p = pm.load(tmp_path / "2026-10.yaml")
    assert p.month == "2026-10" and len(p.commentary) == 19
    assert all(t.startswith("DRAFT: ") for t in p.commentary.values())
    assert main(["params", "new", "2026-10", "--store", str(root / "store.duckdb"), "--dir", str(tmp_path)]) == 2


def _browser():
    if CHROMIUM is None:
        message = "Debian's chromium is not installed (make test installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    return sync_playwright()


def test_the_page_in_headless_chromium(batch, tmp_path):
    res, _ = batch
    with _browser() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(res.report.as_uri())
        assert page.locator("h1").first.inner_text().startswith("Synthshire County Council")
        assert page.locator("section.kpi").count() == 19
        assert page.locator("img[alt^='Line chart of']").count() == 19
        assert page.locator("img[alt^='XmR chart of']").count() == 19
        # side by side, each about 480 pixels wide, in the page's one font (the charts' DejaVu Sans)
        trend, chart = (page.locator("section:has(#kpi-3) .charts img").nth(i) for i in (0, 1))
        a, b = trend.bounding_box(), chart.bounding_box()
        assert abs(a["y"] - b["y"]) < 1 and b["x"] >= a["x"] + a["width"] and 440 <= a["width"] <= 500
        assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith('"DejaVu Sans"')
        broken = page.evaluate("[...document.images].filter(i => !i.complete || i.naturalWidth === 0).length")
        assert broken == 0
        assert page.get_by_text("Red: outside tolerance").count() + page.get_by_text("Green: meets target").count() > 0
        assert all(u.startswith(("file:", "data:")) for u in requests), requests  # nothing fetched from outside
        page.screenshot(path=str(res.out_dir / "screenshot.png"), full_page=False)
        page.pdf(path=str(tmp_path / "report.pdf"))  # prints: one page per KPI, by the print styles
        assert (tmp_path / "report.pdf").read_bytes()[:5] == b"%PDF-"
        assert (tmp_path / "report.pdf").read_bytes().count(b"/Type /Page\n") >= 19 or (
            (tmp_path / "report.pdf").read_bytes().count(b"/Type /Page") >= 19
        )
        page.locator("#kpi-3").scroll_into_view_if_needed()
        page.screenshot(path=str(res.out_dir / "screenshot-kpi3.png"))
        assert (res.out_dir / "screenshot.png").stat().st_size > 10_000
        from axe_playwright_python.sync_playwright import Axe

        results = Axe().run(page)
        serious = [
            (v["id"], v["impact"], len(v["nodes"]))
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == []
        browser.close()


def _glance_fits(page) -> bool:
    """Nothing wider than the window: neither the page nor the KPI table within its wrapper scrolls sideways."""
    return page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth && [...document.querySelectorAll('.glance-wrap')]"
        ".every(w => w.scrollWidth <= w.clientWidth)"
    )


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]


def test_the_month_on_one_screen_in_headless_chromium(batch):
    """At 1280x800 the KPI table starts on the first screen, every KPI in number order with its RAG word, its 13
    months as a named trend line, and its SPC verdicts in words; nothing wider than the window; every KPI page
    links back to the top."""
    from kpi.glance import ASSURANCE_WORDS, VARIATION_WORDS
    from kpi.report import Report

    res, root = batch
    r = Report.open("2026-10", root / "store.duckdb", data_dir=res.out_dir / "data")
    kpis = r.catalogue.kpis()
    months = sorted(r.card["month"].unique())
    assert len(months) == 13 and months[-1] == "2026-10"
    with _browser() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(res.report.as_uri())
        table = page.locator("table.glance")
        assert table.count() == 1
        top = table.bounding_box()["y"]
        head, first = (table.locator("tr").nth(i).bounding_box() for i in (0, 1))
        assert 0 <= top < head["y"] + head["height"] <= first["y"] + first["height"] <= 800
        assert _glance_fits(page)
        rows = table.locator("tbody tr")
        assert rows.count() == len(kpis) == 19
        for i, m in enumerate(kpis):
            row = rows.nth(i)
            text = row.inner_text()
            assert re.match(rf"KPI {m.kpi}\b", text), (i, text)  # in number order
            latest = r.latest(m.ref)
            word = {"green": "Green", "amber": "Amber", "red": "Red"}.get(latest["rag"], "No RAG")
            assert word in text and r._display(latest) in text
            spark = row.locator("svg[role='img']")
            assert spark.count() == 1
            label = spark.get_attribute("aria-label")
            first_shown = r._display(r.series(m.ref).iloc[0])
            assert f"Oct 2025: {first_shown};" in label and label.endswith(f"Oct 2026: {r._display(latest)}")
            each = label.split(": ", 1)[1].split("; ")  # after "Trend of KPI n, 13 months, Oct 2025 to Oct 2026: "
            assert [x[:8] for x in each] == [f"{pd.Timestamp(x + '-01'):%b %Y}" for x in months]
            spc = r.verdict(m.ref)
            assert VARIATION_WORDS[spc.variation] in text and ASSURANCE_WORDS[spc.assurance] in text
        # every KPI page has its way back to the top, and it goes there
        pages = page.locator("section.kpi")
        assert pages.count() == 19
        for i in range(19):
            assert pages.nth(i).locator("a[href='#top']").count() == 1
        page.locator("section.kpi").last.locator("a[href='#top']").click()
        page.wait_for_function("window.scrollY < 50")
        assert 0 <= page.locator("h1#top").bounding_box()["y"] < 800
        # printed on A4 portrait (794 px wide at 96 dpi), the table keeps every column within the page
        page.emulate_media(media="print")
        page.set_viewport_size({"width": 794, "height": 1123})
        wrap, body = (page.locator(x).bounding_box() for x in (".glance-wrap", "body"))
        box = table.bounding_box()
        assert body["x"] <= box["x"] and box["x"] + box["width"] <= wrap["x"] + wrap["width"] <= 794
        assert page.locator("a.to-top, .to-top").first.is_hidden()  # no link to click on paper
        browser.close()


def test_public_version_suppresses_small_counts(batch):
    """The public page shows each figure as kpi.privacy.publish leaves it: counts of 1 to 5, and percentages whose
    numerator or remainder is 1 to 5, as [c] with no working; 0 and 6 shown."""
    import pandas as pd

    from kpi.privacy import publish
    from kpi.report import Report

    res, root = batch
    r = Report.open("2026-10", root / "store.duckdb", data_dir=res.out_dir / "data", public=True)
    count, pct = r.latest("6.16").copy(), r.latest("1.7").copy()
    rows = []
    for n in (0, 3, 5, 6):  # a count
        row = count.copy()
        row["numerator"], row["value"], row["display"] = n, n, str(n)
        rows.append(row)
    for n, d in ((4, 40), (38, 40), (20, 40)):  # a percentage: a small numerator, a small remainder, neither
        row = pct.copy()
        row["numerator"], row["denominator"], row["value"], row["display"] = n, d, 100 * n / d, "x%"
        row["calculation"] = f"{n}/{d} = {n / d:.2f}"
        rows.append(row)
    card = pd.DataFrame(rows).drop(columns=["suppressed", "suppression"]).reset_index(drop=True)
    card["month"] = [f"2030-{i:02d}" for i in range(1, len(card) + 1)]  # apart: no change links two of them
    shown = publish(card, r.catalogue)
    assert [r._display(x) for _, x in shown.iterrows()] == ["0", "[c]", "[c]", "6", "[c]", "[c]", "x%"]
    assert r._working(r.catalogue["1.7"], shown.iloc[4]).startswith("Suppressed ([c]): a count behind it is 1 to 5")
    assert r._working(r.catalogue["1.7"], shown.iloc[6]) == "20/40 = 0.50"


def test_a_run_of_months(batch, tmp_path):
    """`kpi run --months` as a log monitor sees it, in a process of its own with every Python warning shown: the
    run's own progress lines (no kernel log, no warning), ending with a summary line."""
    import subprocess
    import sys

    from kpi.runner import ROOT

    res, root = batch
    books = _only(tmp_path, "01_summary")  # keep the test short: the summary notebook only
    script = (
        "import sys; from pathlib import Path; import kpi.runner; from kpi.cli import main; "
        f"kpi.runner.NOTEBOOKS = Path({str(books)!r}); sys.exit(main(sys.argv[1:]))"
    )
    args = [
        "run",
        "--store",
        str(root / "store.duckdb"),
        "--months",
        "2026-08..2026-10",
        "--output",
        str(tmp_path / "out"),
    ]
    env = os.environ | {"PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "default"}
    got = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert got.returncode == 0, got.stderr
    lines = (got.stdout + got.stderr).splitlines()
    own = re.compile(r"\[2026-(08|09|10)\] |report: ")
    assert [x for x in lines if not own.match(x)] == ["3 months: 3 written, 0 failed (2026-08..2026-10)"]
    assert lines[-1] == "3 months: 3 written, 0 failed (2026-08..2026-10)" and got.stderr == ""
    assert not re.search(r"(?i)error|warn|traceback", got.stdout)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["2026-08", "2026-09", "2026-10"]
    assert all((tmp_path / "out" / m / "scorecard.xlsx").exists() for m in ("2026-08", "2026-09", "2026-10"))
    assert all((tmp_path / "out" / m / "report.html").exists() for m in ("2026-08", "2026-09", "2026-10"))
    assert main(["run", "--store", str(root / "store.duckdb"), "--months", "2026-10..2026-08"]) == 2


def test_published_comparators_and_rank_in_the_appendix(batch, tmp_path):
    """With the council's DfE code in params, Appendix 3 shows the DfE's figures and the council's rank."""
    res, root = batch
    p = tmp_path / "2026-10.yaml"
    p.write_text("month: 2026-10\ncouncil: Test Council\nla_code: 825\n")
    out = run(
        "2026-10",
        root / "store.duckdb",
        params_file=p,
        out_root=tmp_path / "o",
        notebook_dir=_only(tmp_path, "03_appendices"),
        progress=lambda s: None,
    )
    html = out.report.read_text()
    appendix = html[html.index('id="appendix-comparators"') :]
    appendix = appendix[: appendix.index("</table>")]
    row = next(r for r in appendix.split("<tr>") if "1.7</th>" in r)
    # the DfE's 2025 figures for Buckinghamshire (825): neighbours' mean 21.9, England 22.6, own 22.8, 9th of 11
    cells = re.findall(r"<td>([^<]*)</td>", row)
    assert cells[2] == "21.9%" and cells[4] == "22.6%" and cells[6] == "2025 (DfE)"
    assert cells[7] == "22.8%" and cells[8] == "9th of 11; 110th of 153 in England"
    assert "Rank among neighbours" in appendix


@pytest.mark.parametrize(
    "catalogue, month, sections",
    [
        ("journey", "2026-10", ["Contacts and referrals", "Children subject to child in need plans", "Workforce"]),
        ("scorecard", "2026-09", ["Referral and assessment", "Child protection", "Care leavers at 19"]),
    ],
)
def test_each_councils_set_makes_its_report(batch, tmp_path, catalogue, month, sections):
    """The params choose the set; the report follows its sections, order and KPIs. A month's figure the
    aggregates file the params name gives replaces the one computed from records."""
    _, root = batch
    (tmp_path / "figures.csv").write_text("month,measure,numerator,denominator\n2026-09,SCC/011b,45,60\n")
    p = tmp_path / f"{month}.yaml"
    figures = f"aggregates: {tmp_path / 'figures.csv'}\n" if catalogue == "scorecard" else ""  # its measure's
    p.write_text(f"month: {month}\ncatalogue: {catalogue}\n{figures}")
    out = run(month, root / "store.duckdb", params_file=p, out_root=tmp_path / "o", progress=lambda s: None)
    assert out.ok, out.failures
    text = page_text(out.report.read_text())
    found = [text.index(f">{s}</h2>") for s in sections]
    assert found == sorted(found)  # in the set's order
    assert "Volume of activity</h2>" not in text  # not the county's sections
    cat = load(catalogue)
    for m in cat.kpis():
        assert f'id="kpi-{m.kpi}"' in text
    if CHROMIUM:  # the KPI table, a quarterly set's outturn column and all, fits a 1280 px window
        with _browser() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(out.report.as_uri())
            assert page.locator("table.glance tbody tr").count() == len(cat.kpis()) and _glance_fits(page)
            browser.close()
    if catalogue == "journey":  # a change of definition comes with a measure reused from the county set
        defs = text[text.index('id="appendix-definitions"') : text.index('id="appendix-scorecard"')]
        assert "Changed from 2024-12" in defs and "D12" in defs
    if catalogue == "scorecard":
        kpi1 = text[text.index('id="kpi-1"') :]
        page = kpi1[: kpi1.index("</section>")]
        assert "September 2026: 75.0%" in page and "45/60 = 0.750" in page
        projection = text[text.index('id="kpi-4"') :]
        assert "likely year end position" in projection[: projection.index("</section>")]


def test_a_store_loaded_before_merges_and_availability_were_recorded_still_reports(batch, tmp_path):
    import duckdb

    from kpi.report import prepare_data

    _, root = batch
    store = tmp_path / "old.duckdb"
    shutil.copy(root / "store.duckdb", store)
    with duckdb.connect(str(store)) as con:
        con.execute("ALTER TABLE meta.load_accounting DROP COLUMN rows_merged")
        con.execute("DROP TABLE meta.availability")
    data = prepare_data("2026-10", store, pm.MonthParams(month="2026-10"), tmp_path / "data")
    assert pd.read_parquet(data / "accounting.parquet")["rows_merged"].eq(0).all()
    assert pd.read_parquet(data / "availability.parquet").empty


def test_a_cell_that_never_finishes_is_not_waited_on_for_ever(batch, tmp_path, monkeypatch):
    """A cell over the time allowed fails its notebook, named with the time-out, instead of holding the run."""
    from kpi import runner

    monkeypatch.setattr(runner, "CELL_TIMEOUT", 3)
    _, root = batch
    books = _only(tmp_path, "01_summary")
    nb = nbformat.read(books / "01_summary.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import time\n\ntime.sleep(60)"))
    nbformat.write(nb, books / "01_summary.ipynb")
    out = run(
        None, root / "store.duckdb", out_root=tmp_path / "o", notebook_dir=books, workers=1, progress=lambda s: None
    )
    assert not out.ok and out.report is None
    assert out.failures[0]["notebook"] == "01_summary.ipynb" and "CellTimeoutError" in out.failures[0]["error"]
    assert out.timings["01_summary.ipynb"] < 30


def test_code_version_names_the_git_commit_in_a_checkout(tmp_path):
    import subprocess

    from kpi.runner import code_version

    bare = code_version(tmp_path)  # no checkout: the version alone
    assert re.fullmatch(r"[0-9][0-9a-z.]*", bare)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "f").write_text("x")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "f"], check=True)
    subprocess.run([*git, "commit", "-qm", "f"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert code_version(tmp_path) == f"{bare}+git.{head[:12]}"
    (tmp_path / "f").write_text("y")
    assert code_version(tmp_path) == f"{bare}+git.{head[:12]}+dirty"


def test_a_change_that_rounds_to_nothing_has_no_sign():
    from kpi.report import signed

    assert [signed(x, 1) for x in (-0.04, 0.04, 0.0, -0.06, 1.25)] == ["0.0", "0.0", "0.0", "-0.1", "+1.2"]
    assert signed(-0.4, 0) == "0" and signed(3, 0) == "+3"


def test_why_it_moved_on_the_page_and_in_the_summary(batch, tmp_path):
    """A KPI's drivers (kpi.drivers.for_report's table, here made by hand) are said after its SPC paragraph and
    listed in the summary; none for a KPI without, nor in the public version where its month is suppressed. The
    run's table is aggregate: the drivers' columns, no record."""
    from test_drivers import statement

    from kpi import drivers
    from kpi.report import Report

    res, root = batch
    made = pd.read_parquet(res.out_dir / "data" / "drivers.parquet")
    assert made.columns.tolist() == drivers.COLUMNS
    r = Report.open("2026-10", root / "store.duckdb", data_dir=res.out_dir / "data")
    row = statement(within=None)  # East: 59% of the rise, special cause since May 2026 (test_drivers.py)
    r.drivers = pd.DataFrame([row])
    kpi3, kpi4 = r.catalogue["1.7"], r.catalogue["2.2"]
    said = "East locality: 59% of the rise, special cause on its own limits (concern) since May 2026."
    assert r._why(kpi3).startswith('<p class="why"><strong>Why it moved</strong>') and said in r._why(kpi3)
    assert r._why(kpi4) == ""
    summary = r._why_summary()
    assert "<h3>Why they moved</h3>" in summary and f"KPI 3 % of re-referrals</a>: {said}" in summary
    shown = []
    import kpi.report as report_mod

    original = report_mod._show
    report_mod._show = shown.append
    try:
        r.kpi_page(kpi3)
        r.summary()
    finally:
        report_mod._show = original
    page = shown[0]
    assert page.index('class="spc"') < page.index('class="why"') < page.index("<h4>Commentary</h4>")
    assert page.count(said) == 1  # not again in the page's drafted commentary
    assert said in shown[-1]
    hidden = r.history.assign(suppressed=(r.history["measure"] == "1.7") & (r.history["month"] == "2026-10"))
    r.history, r.card = hidden, hidden
    assert r.drivers_of("1.7") is None and r._why(kpi3) == ""


def test_the_public_drivers_rest_on_no_small_count(small_authority, tmp_path):
    """The public run's drivers table holds no statement on a group with a count of 1 to 5 in the months compared;
    on the small authority (a twentieth of the county) that is every one of them."""
    from kpi.privacy import small
    from kpi.report import prepare_data

    root, _ = small_authority
    p = pm.MonthParams("2026-10")
    full = pd.read_parquet(prepare_data("2026-10", root / "store.duckdb", p, tmp_path / "all") / "drivers.parquet")
    public = pd.read_parquet(
        prepare_data("2026-10", root / "store.duckdb", p, tmp_path / "pub", public=True) / "drivers.parquet"
    )
    assert small(full["smallest"]).any() and len(public) < len(full)
    assert not small(public["smallest"]).any()


@pytest.mark.slow
def test_the_planted_anomalies_are_named_on_their_kpi_pages(full_authority, tmp_path):
    """The synthetic authority's three planted anomalies (extract.json): re-referrals (KPI 3) rising in East,
    repeat CP plans (KPI 6) in the North assessment team, assessments in 45 days (KPI 4) falling in South: each
    named in its KPI page's "Why it moved", with its share of the change, and the most of it."""
    import duckdb

    root, _ = full_authority
    planted = json.loads((root / "synthetic" / "extract.json").read_text())["anomalies"]
    con = duckdb.connect(str(root / "store.duckdb"), read_only=True)
    names = dict(con.execute("SELECT locality_id, name FROM snap_1.localities").fetchall())
    names |= dict(con.execute("SELECT team_id, name FROM snap_1.teams").fetchall())
    con.close()
    kpi = {
        "re-referrals within 12 months": 3,
        "repeat child protection plans within 2 years": 6,
        "assessments authorised within 45 days": 4,
    }
    res = run(None, root / "store.duckdb", out_root=tmp_path, progress=lambda s: None)
    assert res.ok, res.failures
    html = res.report.read_text()
    for a in planted:
        page = re.search(rf'<section[^>]*aria-labelledby="kpi-{kpi[a["measure"]]}"[^>]*>(.*?)</section>', html, re.S)
        why = re.search(r'<p class="why">(.*?)</p>', page.group(1), re.S)  # after the SPC paragraph
        assert why, a
        word = {"rising": "rise", "falling": "fall"}[a["direction"]]
        name = names[a["group"]]  # East, North Assessment Team, South
        share = re.search(rf"{re.escape(name)}\b[^:;]*: (\d+)% of the {word}", why.group(1))
        assert share and int(share.group(1)) >= 50, (a, why.group(1))
    with _browser() as p:  # and as a reader sees it: on the KPI's page, shown
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        view = browser.new_page(viewport={"width": 1280, "height": 800})
        view.goto(res.report.as_uri())
        for a in planted:
            why = view.locator(f'section[aria-labelledby="kpi-{kpi[a["measure"]]}"] p.why')
            assert why.count() == 1 and why.is_visible(), a
            assert why.inner_text().startswith("Why it moved") and names[a["group"]] in why.inner_text(), a
        browser.close()


def test_params_new_drafts_what_moved_each_kpi(small_authority, tmp_path):
    """`kpi params new` drafts the commentary with what moved each KPI that changed notably, as its page says it;
    nothing of the kind for the others."""
    from kpi.narrative import driver_statements
    from kpi.report import prepare_data

    root, _ = small_authority
    store = str(root / "store.duckdb")
    found = pd.read_parquet(
        prepare_data("2026-10", store, pm.MonthParams("2026-10"), tmp_path / "d") / "drivers.parquet"
    )
    kpis = {m.ref for m in load("county").kpis()}
    moved = set(found["measure"]) & kpis
    assert moved
    assert main(["params", "new", "2026-10", "--store", store, "--dir", str(tmp_path)]) == 0
    p = pm.load(tmp_path / "2026-10.yaml")
    for ref in kpis:
        said = driver_statements(found[found["measure"] == ref])
        if ref in moved:
            assert "It moved from" in p.commentary[ref] and all(s in p.commentary[ref] for s in said), ref
        else:
            assert "It moved from" not in p.commentary[ref], ref


def test_a_comparator_of_another_definition_is_labelled_not_compared(batch, tmp_path):
    """KPI 6 (5.2, within 2 years) beside the seed's neighbours and England, which count any previous plan: the
    glance table and Appendix 3 name that definition and say no "better" or "worse" (A205); KPI 3 (1.7), of the
    same definition, is still compared."""
    res, root = batch
    out = run(
        "2026-10",
        root / "store.duckdb",
        out_root=tmp_path / "o",
        notebook_dir=_only(tmp_path, "01_summary", "03_appendices"),
        progress=lambda s: None,
    )
    html = out.report.read_text().replace("<br/>", "<br>")
    glance = html[html.index('id="glance"') : html.index("</table>", html.index('id="glance"'))]
    rows = {re.search(r'href="#kpi-(\d+)"', r).group(1): r for r in glance.split("<tr>") if 'href="#kpi-' in r}
    cell = re.findall(r'<td class="nowrap">(.*?)</td>', rows["6"])[-1]
    assert cell.startswith("Neighbours* 25%<br>England* 25%<br>")
    assert "* any previous plan: a different definition, not compared</small>" in cell
    assert not re.search(r"better|worse|same", cell)
    assert re.search(r"England 21% \((better|worse|same)\)", rows["3"])  # 1.7: the seed's 21%, compared
    appendix = html[html.index('id="appendix-comparators"') :]
    appendix = appendix[: appendix.index("</table>")]
    row = next(r for r in appendix.split("<tr>") if ">5.2</th>" in r)
    assert "Comparators of a different definition: any previous plan; not compared." in row
    cells = re.findall(r"<td>([^<]*)</td>", row)
    assert cells[-5:] == ["25%", "", "25%", "", "2023/24"]  # the figures and year, no position
    row = next(r for r in appendix.split("<tr>") if ">6.8</th>" in r)
    assert "a different definition: placed more than 20 miles away" in row


def _with_wales_table(root: Path, tmp_path: Path, table: str, figure: str, *books: str, public: bool = False) -> Path:
    """The scorecard set's September 2026 report (only ``books``) with a nation's published table imported from
    ``table`` (CSV text) and our council W1's figure ``figure`` ("measure,numerator,denominator") given."""
    from test_comparators import SCORECARD

    from kpi import comparators as cp

    (tmp_path / "wales.csv").write_text(table)
    cp.import_published(tmp_path / "wales.csv", SCORECARD, "Wales", tmp_path / "tables")
    (tmp_path / "figures.csv").write_text(f"month,measure,numerator,denominator\n2026-09,{figure}\n")
    p = tmp_path / "2026-09.yaml"
    p.write_text(
        "month: 2026-09\ncatalogue: scorecard\naggregates: figures.csv\nla_code: W1\n"
        + ("public: true\n" if public else "")
        + "published: tables/published_wales.csv\n"
    )
    out = run(
        "2026-09",
        root / "store.duckdb",
        params_file=p,
        out_root=tmp_path / "o",
        notebook_dir=_only(tmp_path, *books),
        progress=lambda s: None,
    )
    return out.report


def test_a_quarterly_scorecard_beside_a_nations_published_table(batch, tmp_path):
    """Seed 002's comparison "with other councils in Wales": with a nation's table in params (published:), the
    glance table shows the nation's average, the council's published figure of last year and its rank among the
    nation's councils; Appendix 3 the same (figures worked out in test_comparators' WALES table)."""
    from test_comparators import WALES

    _, root = batch
    report = _with_wales_table(root, tmp_path, WALES, "SCC/011b,45,60", "01_summary", "03_appendices")
    html = report.read_text().replace("<br/>", "<br>")
    glance = html[html.index('id="glance"') : html.index("</table>", html.index('id="glance"'))]
    rows = {re.search(r'href="#kpi-(\d+)"', r).group(1): r for r in glance.split("<tr>") if 'href="#kpi-' in r}
    cell = re.findall(r'<td class="nowrap">(.*?)</td>', rows["1"])[-1]  # SCC/011b: 75% this quarter (45/60)
    assert cell == "Wales average 60% (better)<br>Ours 60%<br>2nd of 4 in Wales<br><small>2025-26 (published)</small>"
    cell = re.findall(r'<td class="nowrap">(.*?)</td>', rows["3"])[-1]  # SCC/025: W1 not in the table
    assert cell.startswith("Wales average 85% (") and "Ours" not in cell and "England" not in cell
    appendix = html[html.index('id="appendix-comparators"') :]
    appendix = appendix[: appendix.index("</table>")]
    assert ">Wales average</th>" in appendix and ">Rank in Wales</th>" in appendix and "England" not in appendix
    assert "Statistical neighbours" not in appendix  # none in a nation's table: no empty columns
    row = next(r for r in appendix.split("<tr>") if ">SCC/004</th>" in r)
    cells = re.findall(r"<td>([^<]*)</td>", row)
    assert cells[-5:-3] == ["9.7%", cells[-4]] and cells[-4] in ("better", "worse", "same")  # this month's against it
    assert cells[-3:] == ["2025-26 (published)", "10%", "3rd of 5 in Wales"]
    assert "the mean of the councils' published figures" in html


def test_the_public_version_suppresses_our_published_count_of_1_to_5_and_its_rank(batch, tmp_path):
    """SCC/002 (school moves, a count) published as 3 for our council: [c] in the public version, with no rank
    (1st of 2 would tell it); the other councils' average is the nation's own published figures (A208)."""
    _, root = batch
    table = "la_code,measure,year,value\nW1,SCC/002,2025-26,3\nW2,SCC/002,2025-26,8\nW3,SCC/002,2025-26,c\n"
    appendix = _with_wales_table(root, tmp_path, table, "SCC/002,7,", "03_appendices", public=True).read_text()
    appendix = appendix[appendix.index('id="appendix-comparators"') :]
    row = next(r for r in appendix[: appendix.index("</table>")].split("<tr>") if ">SCC/002</th>" in r)
    cells = re.findall(r"<td>([^<]*)</td>", row)
    assert cells[-5:] == ["5.5", "worse", "2025-26 (published)", "[c]", ""]  # 7 moves so far against 5.5


def test_a_provisional_figure_says_so_and_has_no_rag(batch):
    """The synthetic authority's extract is of the 1st of the month after the report's: 3.1 (settles in 30 days)
    is provisional in the report's month, shown with the word in the appendix scorecard, with no RAG (A200)."""
    res, _ = batch
    html = res.report.read_text().replace("<br/>", "<br>")
    row = html[html.index('<th scope="row">3.1</th>') :]
    row = row[: row.index("</tr>")]
    assert "(provisional)" in row and "○ Provisional: not yet final</span>" in row
    assert "● Green" not in row


def test_a_provisional_months_change_is_not_judged():
    """3.1's change since last month is given, but a provisional month's is not called better or worse."""
    from kpi.catalogue import load
    from kpi.report import Report

    m = load("county")["3.1"]
    row = pd.Series({"month": "2026-10", "change_month": -17.0, "vs_last_month": None, "provisional": True})
    assert Report._change(None, m, row) == "-17.0 percentage points since last month (provisional, not judged)."
    settled = row.copy()
    settled["provisional"], settled["vs_last_month"] = False, "better"
    assert Report._change(None, m, settled).endswith("since last month (better).")
