"""Managers' text (the params' commentary and notes) as Markdown, made safe for the page.

Managers write as in council papers: bullet and numbered lists, **bold**, *italics*, paragraphs, a link. Markdown
is rendered by mistune (the Markdown library nbconvert renders notebooks with), with nothing of the writer's
passing through as markup: raw HTML and scripts are shown as the text they are, a link is kept only to an
http(s) or mailto address (its address in its title, so the page's search for children's ids reads it) and is
otherwise its text alone, an image is its description alone (the page fetches nothing), and a heading is a bold
paragraph (the page's own headings stay its outline). docs/assumptions.md A105.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import mistune

LINK_SCHEMES = {"http", "https", "mailto"}


class _Safe(mistune.HTMLRenderer):
    def link(self, text: str, url: str, title: str | None = None) -> str:
        url = url.strip()
        if urlsplit(url).scheme.lower() not in LINK_SCHEMES or any(c in url for c in "\x00\r\n\t"):
            return text  # javascript:, data:, file:, a relative address: the link's text alone
        return f'<a href="{html.escape(url)}" title="{html.escape(url)}" rel="noopener noreferrer">{text}</a>'

    def image(self, text: str, url: str, title: str | None = None) -> str:
        return text  # its description: a page fetches nothing

    def heading(self, text: str, level: int, **attrs) -> str:
        return f"<p><strong>{text}</strong></p>\n"

    def inline_html(self, html: str) -> str:
        return mistune.escape(html)

    def block_html(self, html: str) -> str:
        return f"<p>{mistune.escape(html.strip())}</p>\n"


_markdown = mistune.create_markdown(renderer=_Safe(escape=True), plugins=["strikethrough"])


def markdown_html(text: str) -> str:
    """A manager's Markdown as HTML, nothing written as HTML passing through."""
    return _markdown(text or "").strip()


_BLOCK = re.compile(r"</?(?:p|li|ul|ol|blockquote|pre|hr|br|h[1-6])\b[^>]*>")


def plain_text(text: str) -> str:
    """A manager's Markdown as a reader reads it: the marks dropped, each paragraph and item on a line of its own.
    A page splits ``Child **4523**`` or ``CH00**42**`` into pieces at its bold; this is what the search for
    children's ids reads whole (A105)."""
    text = html.unescape(re.sub(r"<[^>]*>", "", _BLOCK.sub("\n", markdown_html(text))))
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def segments(params) -> list[tuple[str, str]]:
    """The month's commentary and notes (:class:`kpi.params.MonthParams`) as read, with where each is written."""
    out = [(f"the params' commentary on {ref}", plain_text(t)) for ref, t in params.commentary.items()]
    return out + ([("the params' notes", plain_text(params.notes))] if params.notes else [])
