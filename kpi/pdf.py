"""The report as a PDF: ``report.html`` printed to A4 by headless Chromium, driven by Playwright.

Chromium is the system's (``make browser`` installs Debian's; ``KPI_CHROMIUM`` names another), never a browser
Playwright downloads. Playwright is used rather than ``chromium --print-to-pdf`` for the page headers: Chromium
does not draw CSS ``@page`` margin boxes, and its own header (the file's URL and the date) cannot be changed, while
Playwright's ``header_template`` prints the council, the month and "Page x of y" on every page. The page's print
styles (``kpi/templates/report/index.html.j2``) do the rest; here a table too wide for A4 portrait is marked
(``print-wide``) and so printed on landscape pages (the ``wide`` named page) with all its columns.
"""

from __future__ import annotations

import html
import os
import re
import shutil
from pathlib import Path

from .errors import UserError

NAMES = ("chromium", "chromium-browser")  # Debian's and Ubuntu's names on PATH
ENV = "KPI_CHROMIUM"  # the path of another Chromium (or Chrome)
A4_TEXT_WIDTH_PX = 703  # 210 mm less 12 mm margins each side, at 96 px to the inch: where tables are measured
MARGIN = {"top": "16mm", "bottom": "12mm", "left": "12mm", "right": "12mm"}
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"]


class NoChromium(UserError):
    """No Chromium to print with: the message says what to install."""


def find_chromium() -> str:
    """The Chromium to print with: ``$KPI_CHROMIUM`` if set, else ``chromium`` or ``chromium-browser`` on PATH;
    NoChromium naming what to install if there is none."""
    given = os.environ.get(ENV)
    if given:
        found = shutil.which(given)
        if found is None:
            raise NoChromium(f"--pdf: {ENV}={given} is not a program that can be run; unset it or name Chromium")
        return found
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise NoChromium(
        "--pdf: Chromium was not found (looked for chromium and chromium-browser on PATH, and $KPI_CHROMIUM): "
        "`make browser` installs Debian's chromium, or set KPI_CHROMIUM to a Chromium or Chrome; "
        "the HTML report needs no browser"
    )


def header(title: str) -> str:
    """Playwright's header template: the report's title (council and month) and "Page x of y"."""
    return (
        '<div style="font: 8pt sans-serif; color: #333; width: 100%; margin: 0 12mm; display: flex; '
        'justify-content: space-between; gap: 1em">'
        f"<span>{html.escape(title)}</span>"
        '<span style="white-space: nowrap">Page <span class="pageNumber"></span> of '
        '<span class="totalPages"></span></span></div>'
    )


# Chromium lays a box out at the width of the page its first part is on: a landscape page's table must not sit
# inside a box begun on a portrait page. So each cell's outputs (and each Markdown cell) are made children of the
# page's body, in order, before the wide ones are marked.
FLATTEN = """() => {
  const main = document.querySelector('main') || document.body;
  const parts = [];
  for (const cell of [...main.children]) {
    const outs = cell.querySelectorAll(':scope .jp-OutputArea-child');
    if (cell.classList.contains('jp-CodeCell') && outs.length) parts.push(...outs);
    else parts.push(cell);
  }
  for (const part of parts) document.body.appendChild(part);
  if (main !== document.body) main.remove();
  return parts.length;
}"""


# Each part holding a table wider than the A4 text width, laid out as printed, is marked to print on landscape pages;
# so is a heading just before it (no page holds only a heading) and a table just after it (not a page of its own
# between two landscape ones). Returns how many parts were marked.
MARK_WIDE = """() => {
  const wide = p => p && p.classList.contains('print-wide');
  const mark = p => p.classList.add('print-wide');
  const parts = [...document.body.children];
  for (const part of parts) {
    if ([...part.querySelectorAll('table')].some(t => t.scrollWidth > part.clientWidth + 1)) mark(part);
  }
  for (const [i, part] of parts.entries()) {
    const before = parts[i - 1];
    if (!wide(part) || !before || wide(before)) continue;
    if (before.querySelector('h2, h3') && !before.querySelector('table, img, section')) mark(before);
  }
  for (const [i, part] of parts.entries()) {
    if (!wide(part) && wide(parts[i - 1]) && part.querySelector('table') && !part.querySelector('h2, section')) mark(part);
  }
  return parts.filter(wide).length;
}"""


def write(page: Path, pdf: Path, title: str, chromium: str | None = None) -> int:
    """Print ``page`` (an HTML file) to ``pdf``: A4, a header with ``title`` and the page number on every page, wide
    tables on landscape pages. The number of pages. NoChromium if there is no Chromium; a UserError if it fails.
    Called where an event loop runs (a run started from JupyterLab), it prints from a thread of its own, as
    Playwright's synchronous API cannot run inside one."""
    import asyncio

    exe = chromium or find_chromium()
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _print(page, pdf, title, exe)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_print, page, pdf, title, exe).result()


def _print(page: Path, pdf: Path, title: str, exe: str) -> int:
    from playwright.sync_api import Error, sync_playwright

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=ARGS)
            try:
                tab = browser.new_page(viewport={"width": A4_TEXT_WIDTH_PX, "height": 1000})
                tab.goto(Path(page).resolve().as_uri())
                tab.emulate_media(media="print")
                tab.evaluate(FLATTEN)
                tab.evaluate(MARK_WIDE)
                tab.pdf(
                    path=str(pdf),
                    format="A4",
                    margin=MARGIN,
                    print_background=True,
                    display_header_footer=True,
                    header_template=header(title),
                    footer_template="<span></span>",
                    prefer_css_page_size=True,  # the landscape pages of wide tables (@page wide)
                )
            finally:
                browser.close()
    except Error as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"report.pdf: Chromium ({exe}) could not print the report: {first}") from None
    return pages(pdf)


def pages(pdf: Path) -> int:
    """The number of pages of a PDF Chromium wrote (its page objects, which it does not compress)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", Path(pdf).read_bytes()))
