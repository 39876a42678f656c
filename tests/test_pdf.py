"""The report printed (``kpi run --pdf``: A4 through headless Chromium, kpi.pdf) and read on a phone."""

import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from lxml import html as lhtml

from kpi import pdf
from kpi.cli import main
from kpi.errors import UserError
from kpi.runner import PDF, RunResult, _replace, render, run

CHROMIUM = shutil.which("chromium")
COUNCIL, MONTH = "Synthshire County Council", "October 2026"
NEAR_EMPTY = 300  # characters of text besides the header, on a page with no image (docs/assumptions.md A134)
RAG = ("● Green", "◆ Amber", "■ Red", "○ No RAG")


def _chromium() -> str:
    if CHROMIUM is None:
        message = "Debian's chromium is not installed (make test installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="module")
def printed(small_authority, tmp_path_factory):
    """The small authority's county report, run with the PDF asked for."""
    _chromium()
    root, _ = small_authority
    out = tmp_path_factory.mktemp("printed")
    res = run(None, root / "store.duckdb", out_root=out, progress=lambda s: None, pdf=True)
    assert res.ok, res.failures
    return res


def _pages(path: Path) -> list[tuple[str, object]]:
    """Each page's text, whitespace made single spaces, and the page."""
    from pypdf import PdfReader

    return [(" ".join(p.extract_text().split()), p) for p in PdfReader(path).pages]


def _header(i: int, n: int) -> str:
    return f"{COUNCIL}: performance report, {MONTH} Page {i} of {n}"


def _visible_text(page: Path) -> str:
    doc = lhtml.fromstring(page.read_text(encoding="utf-8"))
    for junk in doc.xpath("//style|//script|//title"):
        junk.getparent().remove(junk)
    return " ".join(doc.text_content().split())


def test_the_report_prints_beside_the_page_and_the_manifest_says_so(printed):
    out = printed.out_dir
    assert (out / PDF).read_bytes()[:5] == b"%PDF-"
    m = json.loads((out / "manifest.json").read_text())
    assert m["report_pdf"] == PDF and m["report_pdf_pages"] == len(_pages(out / PDF)) and m["timings_seconds"]["pdf"]


def test_every_page_has_the_header_and_the_county_report_fits_45_a4_pages(printed):
    pages = _pages(printed.out_dir / PDF)
    assert 19 < len(pages) <= 45
    for i, (text, page) in enumerate(pages, start=1):
        assert _header(i, len(pages)) in text, (i, text[-120:])
        w, h = sorted((float(page.mediabox.width), float(page.mediabox.height)))
        assert (round(w), round(h)) == (595, 842), i  # A4, portrait or landscape


def test_the_pdf_keeps_every_rag_word_of_the_page(printed):
    """Every RAG symbol and word of the page (each KPI's and the tables' RAG columns) is in the PDF's text as often
    as on the page: no table's last columns cut off."""
    texts = [t for t, _ in _pages(printed.out_dir / PDF)]  # read once: pypdf takes seconds a read
    page, text = _visible_text(printed.report), " ".join(texts)
    for word in RAG + ("Green: meets target", "Amber: within tolerance", "Red: outside tolerance"):
        assert text.count(word) == page.count(word), word
    assert sum(page.count(w) for w in RAG) > 19 * 2  # each KPI's, and the tables'
    # each KPI's page holds its figure and its RAG in words
    doc = lhtml.fromstring(printed.report.read_text(encoding="utf-8"))
    for section in doc.xpath("//section[contains(@class, 'kpi')]"):
        title = " ".join(section.xpath(".//h3")[0].text_content().split())
        first = " ".join(section.xpath(".//p")[0].text_content().split())  # "October 2026: 25% ■ Red: outside ..."
        assert any(title in t and first in t for t in texts), title


def test_no_page_is_near_empty_or_holds_only_a_heading(printed):
    doc = lhtml.fromstring(printed.report.read_text(encoding="utf-8"))
    headings = {" ".join(h.text_content().split()) for h in doc.xpath("//h1|//h2|//h3|//h4|//caption")}
    pages = _pages(printed.out_dir / PDF)
    for i, (text, page) in enumerate(pages, start=1):
        body = text.replace(_header(i, len(pages)), "").strip()
        assert body not in headings, (i, body)
        assert len(body) >= NEAR_EMPTY or list(page.images), (i, body)


def test_each_kpi_begins_a_page_its_two_charts_side_by_side_on_it(tmp_path):
    """A hand-made page like the report's: a section's heading, then three KPIs each with two charts in
    ``<div class="charts">`` and a "Why it moved" paragraph, and a table of 24 columns. Printed, each KPI is on a
    page of its own with both charts (stacked, the two would not fit one page), the first under the section's heading;
    the table is on a landscape page with all its columns, its heading with it."""
    exe = _chromium()
    chart = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 600 450" width="600" role="img"><title>{}</title><rect width="600" height="450" fill="#ddd"/></svg>'  # noqa: E501
    outputs = ['<h2 id="section-x">Section X</h2><p>What the section is about.</p>']
    for k in (1, 2, 3):
        outputs.append(
            f'<section class="kpi" aria-labelledby="kpi-{k}"><h3 id="kpi-{k}">KPI {k}: Measure {k}</h3>'
            f"<p>October 2026: {k}0% ■ Red: outside tolerance</p>"
            f'<div class="charts"><figure>{chart.format("trend")}<figcaption>Trend of KPI {k}</figcaption></figure>'
            f"<figure>{chart.format('xmr')}<figcaption>XmR chart of KPI {k}</figcaption></figure></div>"
            f"<p>Why it moved: East locality, {k}0% of the rise.</p><h4>Commentary</h4><p>Words of KPI {k}.</p>"
            "</section>"
        )
    cols = [f"Col{c:02d}" for c in range(1, 25)]
    outputs.append('<h2 id="appendix-y">Appendix Y</h2>')
    outputs.append(
        '<table id="wide"><caption>A wide table</caption><thead><tr>'
        + "".join(f"<th>{c}</th>" for c in cols)
        + "</tr></thead><tbody><tr>"
        + "".join(f"<td>{c}v</td>" for c in cols)
        + "</tr></tbody></table>"
    )
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": o}) for o in outputs]
    nb.cells = [cell]
    nbformat.write(nb, tmp_path / "made.ipynb")
    page = tmp_path / "report.html"
    page.write_text(render([tmp_path / "made.ipynb"], f"{COUNCIL}: performance report, {MONTH}"))
    n = pdf.write(page, tmp_path / PDF, f"{COUNCIL}: performance report, {MONTH}", exe)
    pages = _pages(tmp_path / PDF)
    assert n == len(pages) == 4, [t[:60] for t, _ in pages]
    for k in (1, 2, 3):
        on = [i for i, (t, _) in enumerate(pages) if f"KPI {k}: Measure {k}" in t]
        assert len(on) == 1, k
        text = pages[on[0]][0]
        assert f"Trend of KPI {k}" in text and f"XmR chart of KPI {k}" in text and f"Words of KPI {k}" in text, k
    assert "Section X" in pages[0][0] and "KPI 1: Measure 1" in pages[0][0]
    text, last = pages[-1]
    assert float(last.mediabox.width) > float(last.mediabox.height)  # landscape
    assert "Appendix Y" in text and all(f"{c}v" in text for c in cols)
    assert all(float(p.mediabox.width) < float(p.mediabox.height) for _, p in pages[:-1])


def test_run_pdf_without_chromium_names_what_to_install(small_authority, tmp_path, monkeypatch, capsys):
    root, _ = small_authority
    monkeypatch.setattr(pdf, "NAMES", ("no-such-chromium-here",))
    monkeypatch.delenv(pdf.ENV, raising=False)
    code = main(["run", "--pdf", "--store", root / "store.duckdb", "--output", tmp_path / "out"])
    err = capsys.readouterr().err
    assert code == 2 and "Chromium was not found" in err and "make browser" in err and "KPI_CHROMIUM" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()  # said before anything was run
    monkeypatch.setenv(pdf.ENV, str(tmp_path / "not-a-browser"))
    assert main(["run", "--pdf", "--store", root / "store.duckdb", "--output", tmp_path / "out"]) == 2
    assert f"KPI_CHROMIUM={tmp_path / 'not-a-browser'} is not a program" in capsys.readouterr().err
    monkeypatch.setenv(pdf.ENV, shutil.which("sh"))
    assert pdf.find_chromium() == shutil.which("sh")  # the one named is used


def test_make_report_prints_where_chromium_is_found_and_says_it_skipped_it_otherwise(tmp_path, monkeypatch, capsys):
    import kpi.runner

    asked = []

    def fake_run(month, store, params, out, **kw):
        asked.append(kw["pdf"])
        return RunResult("2026-10", tmp_path, tmp_path / "report.html")

    monkeypatch.setattr(kpi.runner, "checked", lambda *a: None)
    monkeypatch.setattr(kpi.runner, "run", fake_run)
    (tmp_path / "syn").mkdir()
    (tmp_path / "syn" / "extract.json").write_text("{}")
    (tmp_path / "w.duckdb").write_text("")
    args = ["report", "--data", tmp_path / "syn", "--store", tmp_path / "w.duckdb", "--output", tmp_path]
    monkeypatch.delenv(pdf.ENV, raising=False)
    monkeypatch.setattr(pdf, "NAMES", ("no-such-chromium-here",))
    assert main(args) == 0
    said = capsys.readouterr().out
    assert "report.pdf skipped: Chromium was not found" in said and "make browser" in said
    monkeypatch.setenv(pdf.ENV, shutil.which("sh"))
    assert main(args) == 0
    assert "pdf: " in capsys.readouterr().out
    assert asked == [False, True]


def test_a_run_without_the_pdf_leaves_no_older_pdf_beside_the_new_page(tmp_path):
    dest, build = tmp_path / "out", tmp_path / "build"
    dest.mkdir()
    build.mkdir()
    (dest / "report.html").write_text("old")
    (dest / PDF).write_text("the old run's")
    (build / "report.html").write_text("new")
    _replace(dest, build, ["report.html", PDF])
    assert sorted(p.name for p in dest.iterdir()) == ["report.html"] and (dest / "report.html").read_text() == "new"


def test_on_a_phone_wide_tables_scroll_in_their_own_box_and_the_contents_are_one_column(printed):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=pdf.ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(printed.report.as_uri())
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the page never scrolls sideways
        boxes = page.evaluate(
            """() => [...document.querySelectorAll('table')].map(t => {
                 const box = t.closest('.glance-wrap, .jp-OutputArea-output');  // the box it scrolls in
                 return {id: t.id, table: t.scrollWidth, width: box.clientWidth, scroll: box.scrollWidth,
                         right: box.getBoundingClientRect().right};
               })"""
        )
        wide = [b for b in boxes if b["table"] > b["width"]]
        assert len(wide) >= 5, boxes  # the scorecard's tables at least
        for b in boxes:
            assert b["right"] <= 390 and b["scroll"] >= b["table"], b  # all of it reachable, inside the screen
        # scrolled sideways, a wide table's first column stays where it was
        shift = page.evaluate(
            """() => {
                 const t = document.querySelector('table[id^="scorecard-"]');
                 const box = t.closest('.jp-OutputArea-output'), first = t.tBodies[0].rows[0].cells[0];
                 const second = t.tBodies[0].rows[0].cells[1];
                 const before = [first.getBoundingClientRect().left, second.getBoundingClientRect().left];
                 box.scrollLeft = 200;
                 return [first.getBoundingClientRect().left - before[0], second.getBoundingClientRect().left - before[1]];
               }"""
        )
        assert abs(shift[0]) <= 1 and shift[1] < -100, shift  # (to the subpixel)
        lefts = page.evaluate(
            "[...document.querySelectorAll('nav > ul > li')].map(li => li.getBoundingClientRect().left)"
        )
        assert len(lefts) > 5 and len(set(lefts)) == 1, lefts  # one column
        page.set_viewport_size({"width": 1280, "height": 800})
        lefts = page.evaluate(
            "[...document.querySelectorAll('nav > ul > li')].map(li => li.getBoundingClientRect().left)"
        )
        assert len(set(lefts)) == 2  # two on a wider screen
        browser.close()


def test_a_chromium_that_cannot_print_is_named_and_printing_works_inside_an_event_loop(tmp_path):
    import asyncio

    exe = _chromium()
    page = tmp_path / "page.html"
    page.write_text("<html><head><title>t</title></head><body><h1>A page</h1><p>Words.</p></body></html>")
    with pytest.raises(UserError, match=r"report.pdf: Chromium \(/bin/false\) could not print the report"):
        pdf.write(page, tmp_path / "no.pdf", "Council: performance report, October 2026", "/bin/false")
    assert not (tmp_path / "no.pdf").exists()

    async def in_a_notebook():  # JupyterLab's kernel runs an event loop
        return pdf.write(page, tmp_path / PDF, "Council: performance report, October 2026", exe)

    assert asyncio.run(in_a_notebook()) == 1
    assert "Council: performance report, October 2026 Page 1 of 1" in _pages(tmp_path / PDF)[0][0]


def test_the_pdf_header_names_the_council_and_escapes_it():
    made = pdf.header("A & B Council: performance report, October 2026")
    assert "A &amp; B Council: performance report, October 2026" in made
    assert '<span class="pageNumber"></span>' in made and '<span class="totalPages"></span>' in made
    assert re.search(r"font:\s*8pt", made)
