"""Managers' commentary and notes as Markdown: rendered (lists, bold), nothing of the writer's passing through as
markup, notes labelled, and `kpi params new` naming each KPI beside its reference."""

import html
from html.parser import HTMLParser

import pytest
import yaml

from kpi import params as pm
from kpi import prose
from kpi import report as report_mod
from kpi.catalogue import load
from kpi.cli import main
from kpi.files import KeysAsWritten
from kpi.privacy import page_segments
from kpi.prose import markdown_html
from kpi.report import Report
from kpi.runner import leaked_identifiers
from tests import test_privacy
from tests.test_privacy import rows
from tests.test_report import CHROMIUM, _browser

COUNTY = load("county")
numeric_ids = test_privacy.numeric_ids  # a store whose child ids are 1 to 13000, family ids F1, ... (a fixture)

LIST = "Re-referrals **rose** in October:\n\n- East: *two* teams short\n- West: steady\n\n1. Audit\n2. Review"


def test_markdown_lists_bold_and_paragraphs():
    out = markdown_html(LIST)
    assert "<p>Re-referrals <strong>rose</strong> in October:</p>" in out
    assert "<ul>\n<li>East: <em>two</em> teams short</li>\n<li>West: steady</li>\n</ul>" in out
    assert "<ol>\n<li>Audit</li>\n<li>Review</li>\n</ol>" in out
    assert markdown_html("One.\n\nTwo.") == "<p>One.</p>\n<p>Two.</p>"


@pytest.mark.parametrize(
    "text, shown",
    [
        ("<script>alert(1)</script> rose", "&lt;script&gt;alert(1)&lt;/script&gt; rose"),
        ("East <img src=x onerror=alert(1)> fell", "East &lt;img src=x onerror=alert(1)&gt; fell"),
        ('<a href="javascript:alert(1)">see</a>', "&lt;a href=&quot;javascript:alert(1)&quot;&gt;see&lt;/a&gt;"),
        ("[the audit](javascript:alert(1))", "<p>the audit</p>"),
        ("[the audit]( JaVaScRiPt:alert(1))", "<p>the audit</p>"),
        ("[x](data:text/html,hi)", "<p>x</p>"),
        ("![a chart](https://example.org/c.png)", "<p>a chart</p>"),  # an image is its description: nothing fetched
        ("# Big", "<p><strong>Big</strong></p>"),  # the page's headings stay its outline
    ],
)
def test_html_scripts_and_unsafe_links_do_not_pass_through(text, shown):
    out = markdown_html(text)
    assert shown in out
    assert _tags(out) <= {("p", ()), ("strong", ())}, out  # no element or attribute of the writer's


def _tags(page: str) -> set:
    """Every element of the page with its attributes."""
    found = set()

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.add((tag, tuple(attrs)))

    Tags().feed(page)
    return found


def test_a_safe_link_is_kept_with_its_address_readable():
    out = markdown_html("See [the audit](https://example.org/a?x=1&y=2).")
    assert '<a href="https://example.org/a?x=1&amp;y=2" title="https://example.org/a?x=1&amp;y=2"' in out
    # the address is read by the page's search for ids (the title attribute is one of its pieces)
    assert ("the page: the top of the page (title)", "https://example.org/a?x=1&y=2") in page_segments(out)


def _page(monkeypatch, params):
    history = rows("1.7", COUNTY, {"2026-09": (20, 40), "2026-10": (12, 40)})
    for col, v in (("target", 25.0), ("tolerance", 5.0), ("rate_not_available", None)):
        history[col] = v
    shown = []
    monkeypatch.setattr(report_mod, "_show", shown.append)
    r = Report("2026-10", history, COUNTY, params, {"snapshot_id": 1, "council": "Test"}, public=False)
    return r, shown


def test_kpi_commentary_is_rendered_markdown_and_drafts_still_marked(monkeypatch):
    params = pm.MonthParams(month="2026-10", commentary={"1.7": LIST + "\n\n<script>x()</script>"})
    r, shown = _page(monkeypatch, params)
    r.kpi_page(COUNTY["1.7"])
    comment = shown[-1].split("<h4>Commentary</h4>")[1]
    assert "<li>East: <em>two</em> teams short</li>" in comment and "<strong>rose</strong>" in comment
    assert "<script>" not in comment and "&lt;script&gt;x()&lt;/script&gt;" in comment
    params.commentary["1.7"] = "DRAFT: - **not** a manager's"
    r.kpi_page(COUNTY["1.7"])
    comment = shown[-1].split("<h4>Commentary</h4>")[1]
    assert "<strong>DRAFT</strong> (drafted from the figures" in comment and "not</strong> a manager" not in comment


def test_notes_are_labelled_as_the_months_notes(monkeypatch):
    r, shown = _page(monkeypatch, pm.MonthParams(month="2026-10", notes="Data are **provisional**:\n\n- East late"))
    r.title()
    assert '<a href="#notes">Notes on October 2026</a> from the team preparing this report follow' in shown[-1]
    r.notes()  # below the month at a glance (A113)
    page = shown[-1]
    notes = page[page.index('<div class="month-notes"') :]
    assert notes.startswith('<div class="month-notes" role="note" aria-label="Notes on October 2026">')
    assert "<strong>Notes on October 2026</strong> (from the team preparing this report" in notes
    assert "<p>Data are <strong>provisional</strong>:</p>" in notes and "<li>East late</li>" in notes
    r, shown = _page(monkeypatch, pm.MonthParams(month="2026-10"))
    r.title()
    r.notes()
    assert "month-notes" not in "".join(shown) and "#notes" not in "".join(shown)  # no notes, no label


def test_an_id_in_rendered_commentary_is_still_read_by_the_search(monkeypatch):
    r, shown = _page(monkeypatch, pm.MonthParams(month="2026-10", commentary={"1.7": "- driven by **CH0042**"}))
    r.kpi_page(COUNTY["1.7"])
    texts = [t for _, t in page_segments(shown[-1])]
    assert "CH0042" in texts


def test_params_new_writes_each_kpis_title_beside_its_reference(small_authority, tmp_path):
    root, _ = small_authority
    assert main(["params", "new", "2026-10", "--store", str(root / "store.duckdb"), "--dir", str(tmp_path)]) == 0
    text = (tmp_path / "2026-10.yaml").read_text()
    for m in COUNTY.kpis():
        title = " ".join((m.kpi_title or m.title).split())
        assert f'  "{m.ref}": |-  # KPI {m.kpi}: {title}\n    DRAFT: ' in text, m.ref
    p = pm.load(tmp_path / "2026-10.yaml")  # the file still loads, the comments no part of the text
    assert set(p.commentary) == {m.ref for m in COUNTY.kpis()}
    assert all(t.startswith("DRAFT: ") and "# KPI" not in t for t in p.commentary.values())


def test_dump_round_trips_markdown_and_awkward_text():
    commentary = {"1.7": LIST, "6.10": "a: b # not a comment", "2.2": "tab\there", "3.1": "bell\x07"}
    p = pm.MonthParams(month="2026-10", council="C", notes="N", commentary=commentary)
    text = pm.dump(p, {"1.7": "KPI 3: % of\nre-referrals"})
    assert '  "1.7": |-  # KPI 3: % of re-referrals\n' in text  # a title's line break would end the comment
    assert pm.parse(yaml.load(text, Loader=KeysAsWritten), "p.yaml").commentary == commentary


def test_commentary_list_renders_as_a_list_in_chromium(monkeypatch, tmp_path):
    params = pm.MonthParams(month="2026-10", commentary={"1.7": LIST + "\n\n<img src=x onerror=document.title='x'>"})
    r, shown = _page(monkeypatch, params)
    r.kpi_page(COUNTY["1.7"])
    page = tmp_path / "p.html"
    page.write_text(f"<!doctype html><html><head><title>t</title></head><body>{shown[-1]}</body></html>")
    with _browser() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        tab = browser.new_page()
        requests = []
        tab.on("request", lambda q: requests.append(q.url))
        tab.goto(page.as_uri())
        items = tab.locator(".commentary ul > li")
        assert items.all_inner_texts() == ["East: two teams short", "West: steady"]
        assert tab.locator(".commentary ol > li").count() == 2
        assert tab.locator(".commentary li em").inner_text() == "two"
        assert tab.locator(".commentary img").count() == 0 and tab.title() == "t"  # shown as text, never run
        assert "<img src=x onerror" in tab.locator(".commentary").inner_text()
        assert requests == [page.as_uri()]
        browser.close()
    assert html.escape("<img") in shown[-1]


def test_plain_text_reads_an_id_split_by_bold_whole():
    assert prose.plain_text("Child **4523** and CH00**42**:\n\n- East\n- *West*") == (
        "Child 4523 and CH0042:\nEast\nWest"
    )
    p = pm.MonthParams(month="2026-10", commentary={"1.7": "x &amp; <b>y</b>"}, notes="N **1**")
    assert prose.segments(p) == [
        ("the params' commentary on 1.7", "x &amp; <b>y</b>"),  # as shown: the HTML typed, as text
        ("the params' notes", "N 1"),
    ]


@pytest.mark.parametrize(
    "text, found",
    [
        ("Driven by child **4523** in East.", ["child identifier '4523' in the params' commentary on 1.7"]),
        ("Driven by F**4523** in East.", ["family identifier 'F4523' in the params' commentary on 1.7"]),
        ("- DOB **02/03/2015**", ["date of birth '02/03/2015' in the params' commentary on 1.7"]),
        ("Driven by **4523** children.", []),  # a figure, not labelled as an id
    ],
)
def test_an_id_split_by_markdown_still_stops_the_run(numeric_ids, text, found):
    store, data = numeric_ids
    page = markdown_html(text)
    p = pm.MonthParams(month="2026-10", commentary={"1.7": text})
    assert leaked_identifiers(page, store, data) == []  # the page alone: its pieces split at the bold
    assert [str(f) for f in leaked_identifiers(page, store, data, written=prose.segments(p))] == found
