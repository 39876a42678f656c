"""What may be published: the public version's suppression of small counts, and the search of a page (and the
files beside it) for a child's identifier or date of birth.

Suppression (docs/assumptions.md A65, A66) follows the GSS and DfE practice for official statistics: a count
of 1 to 5 children is shown as ``[c]``, 0 is a true zero, and whatever would let a suppressed count be worked
back is suppressed too. It is applied once, to the figures (:func:`publish`); every part of a public report
(text, tables, alt text, charts, changes, SPC, drafted commentary, appendices, the files beside the page) is
then made from the published figures alone, so nothing on it can depend on a value that was suppressed.
"""

from __future__ import annotations

import html.parser
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SUPPRESSED = "[c]"
SMALL = 6  # counts from 1 to SMALL - 1 are suppressed
WHY_COUNTS = "a count behind it is 1 to 5, or could be worked out from the figures published beside it"
WHY_NO_COUNTS = "it was supplied without the counts behind it, so it cannot be checked for small counts"


def small(x) -> np.ndarray:
    """Whether each value is a count to suppress: more than 0 and less than 6 (NaN: no)."""
    v = pd.to_numeric(pd.Series(x), errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        return (v > 0) & (v < SMALL)


YEARLY = ("ytd", "fy")  # windows counted from April: the year to date, or the whole year's projection


def cumulative(measure) -> bool:
    """A figure counted over the financial year (to date, or the whole year's projection): consecutive months'
    counts differ by about a month's own count, so a rise of 1 to 5 gives one back (A66)."""
    return bool(measure.parts) and all(p.window in YEARLY for p in measure.parts)


def _link(measure):
    """What a yearly measure counts, its window aside: measures with the same link count the same records over
    the year (the year to date and the year end's projection of one cohort), so their difference is a count."""
    if not cumulative(measure):
        return None
    return tuple((p.source, p.table, p.date, p.start, p.end, p.role, p.key) for p in measure.parts)


def linked(catalogue) -> dict[str, tuple[str, ...]]:
    """Each yearly measure of the catalogue that shares what it counts with another: the group's references."""
    groups: dict[tuple, list[str]] = {}
    for m in catalogue.measures:
        if (key := _link(m)) is not None:
            groups.setdefault(key, []).append(m.ref)
    return {r: tuple(g) for g in groups.values() if len(g) > 1 for r in g}


def publish(card: pd.DataFrame, catalogue) -> pd.DataFrame:
    """The public version of scorecard rows (measure, month, unit, numerator, denominator, value, display, ...).

    Primary suppression: a figure with any count behind it of 1 to 5 (the numerator, the denominator and, for a
    percentage, the denominator less the numerator); a figure other than a count given without its counts.
    Secondary: a year-to-date figure whose counts rose by 1 to 5 since the last month published in the year (the
    difference is that month's count). A suppressed figure loses its numerator, denominator, value, working, RAG
    and comparisons; a change (since the month or the year before) is kept only between two published figures.
    ``suppressed`` marks the rows, ``suppression`` says why. Already published rows are returned as they are."""
    if "suppressed" in card:
        return card
    out = card.copy()
    n, d, v = (pd.to_numeric(out[c], errors="coerce") for c in ("numerator", "denominator", "value"))
    percent = (out["unit"] == "percent").to_numpy()
    primary = small(n) | small(d) | (percent & small(d - n))
    unchecked = (v.notna() & n.isna()).to_numpy()
    count = (out["unit"] == "count").to_numpy()
    primary |= unchecked & (~count | small(v))
    hidden = _secondary(out, primary, catalogue)
    out["suppressed"] = hidden
    out["suppression"] = np.where(hidden, np.where(unchecked & ~count, WHY_NO_COUNTS, WHY_COUNTS), None)
    out["suppression"] = out["suppression"].astype(object).where(hidden, None)
    out.loc[hidden, ["numerator", "denominator", "value"]] = np.nan
    if "month_value" in out:  # a windowed figure's own month (kpi.scorecard): its counts are published figures too
        mn, md = (pd.to_numeric(out[c], errors="coerce") for c in ("month_numerator", "month_denominator"))
        own = small(mn) | small(md) | (percent & small(md - mn)) | (out["month_value"].notna() & mn.isna()).to_numpy()
        out.loc[own, ["month_numerator", "month_denominator", "month_value"]] = np.nan
    if "before_value" in out:  # the previous definition's figure (kpi.scorecard, A172): published figures too
        bn, bd = (pd.to_numeric(out[c], errors="coerce") for c in ("before_numerator", "before_denominator"))
        given = out["before_value"].notna().to_numpy()
        # its counts, and how they differ from the current definition's (one cohort may hold the other: "ever"
        # holds "within 2 years", so the difference is a count of children)
        prev = small(bn) | small(bd) | (percent & small(bd - bn)) | small((bn - n).abs()) | small((bd - d).abs())
        prev = given & (prev | bn.isna().to_numpy())
        out.loc[prev, ["before_numerator", "before_denominator", "before_value"]] = np.nan
        out["before_display"] = out["before_display"].astype(object)
        out.loc[prev, "before_display"] = SUPPRESSED
    out.loc[hidden, "display"] = SUPPRESSED
    out.loc[hidden, "calculation"] = ""
    for col in ("rag", "vs_statistical_neighbours", "vs_england"):
        if col in out:
            out[col] = out[col].astype(object).where(~hidden, None)
    if "rag_text" in out:
        out.loc[hidden, "rag_text"] = f"Suppressed ({SUPPRESSED})"
    # a change is the difference of two figures: published only when both are
    key = dict(zip(zip(out["measure"], out["month"], strict=True), hidden, strict=True))
    for n_back, name in ((1, "month"), (12, "year")):
        if f"change_{name}" not in out:
            continue
        before = [_earlier(m, n_back) for m in out["month"]]
        other = np.array([key.get((r, b), True) for r, b in zip(out["measure"], before, strict=True)])
        keep = ~(hidden | other)
        out[f"change_{name}"] = pd.to_numeric(out[f"change_{name}"], errors="coerce").where(keep)
        out[f"vs_last_{name}"] = out[f"vs_last_{name}"].astype(object).where(keep, None)
    return out


def _earlier(month: str, n: int) -> str:
    y, m = int(month[:4]), int(month[5:7]) - n
    while m < 1:
        y, m = y - 1, m + 12
    return f"{y:04d}-{m:02d}"


def _secondary(card: pd.DataFrame, primary: np.ndarray, catalogue) -> np.ndarray:
    """The rows to suppress, primary and secondary: a yearly figure whose counts rose by 1 to 5 since the last
    month published in its financial year; of linked yearly measures (:func:`linked`), a year-to-date figure and a
    year end's projection of the same month both when their counts differ by 1 to 5 (the difference is a count of
    children), and both when they are the same counts and one is suppressed. Repeated until nothing more is
    suppressed, as each suppression changes the month a later one is compared with."""
    hidden = primary.copy()
    pos = {ref: card.index.get_indexer(rows) for ref, rows in card.groupby("measure", sort=False).groups.items()}
    yearly = [ref for ref in pos if cumulative(catalogue[ref])]
    links = linked(catalogue)
    groups = {links[r] for r in yearly if r in links}
    window = {r: "fy" in {p.window for p in catalogue[r].parts} for r in yearly}
    counts = pd.DataFrame({c: pd.to_numeric(card[c], errors="coerce") for c in ("numerator", "denominator")})
    counts["rest"] = counts["denominator"] - counts["numerator"]
    while True:
        before = hidden.copy()
        for ref in yearly:
            hidden[pos[ref]] |= _ytd_rises(card.iloc[pos[ref]], hidden[pos[ref]])
        for group in groups:
            rows = np.concatenate([pos[r] for r in group if r in pos])
            sub = card.iloc[rows]
            for _, at in pd.Series(range(len(rows))).groupby(sub["month"].to_numpy()):
                idx = rows[at.to_numpy()]
                c = counts.iloc[idx].to_numpy(dtype=float)
                fy = np.array([window[r] for r in sub["measure"].iloc[at.to_numpy()]])
                diff = np.abs(c[:, None, :] - c[None, :, :])  # each pair of the month's linked figures
                with np.errstate(invalid="ignore"):
                    close = ((diff > 0) & (diff < SMALL)).any(axis=2)  # the difference is a small count
                    same = (diff == 0).all(axis=2)  # one figure twice (by March, the year end is the year to date)
                h = hidden[idx]
                pair = (fy[:, None] != fy[None, :]) & (close | (same & (h[:, None] | h[None, :])))
                hidden[idx] |= pair.any(axis=1)
        if (hidden == before).all():
            return hidden


def _ytd_rises(rows: pd.DataFrame, primary: np.ndarray) -> np.ndarray:
    """Months of a year-to-date series to suppress because their counts less those of the last month published
    in the same financial year are 1 to 5 (a month's own count)."""
    order = np.argsort(rows["month"].to_numpy(), kind="stable")
    hide = np.zeros(len(rows), dtype=bool)
    last, year = None, None
    for i in order:
        r = rows.iloc[i]
        fy = int(r["month"][:4]) - (int(r["month"][5:7]) < 4)
        if fy != year:
            last, year = None, fy
        if primary[i] or pd.isna(r["value"]):
            continue
        counts = np.array([r["numerator"], r["denominator"]], dtype=float)
        counts = np.append(counts, counts[1] - counts[0])
        if last is not None and small(counts - last).any():
            hide[i] = True
            continue
        last = counts
    return hide


ACCOUNTING = ("rows_read", "rows_loaded", "rows_rejected", "rows_merged")


def publish_accounting(acc: pd.DataFrame) -> pd.DataFrame:
    """Rows read, loaded, rejected and merged by table and file, with counts of 1 to 5 suppressed (missing) and,
    where one of loaded, rejected and merged is, the rows read as well (read = loaded + rejected + merged)."""
    out = acc.copy()
    cols = [c for c in ACCOUNTING if c in out]
    for c in cols:
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("Int64")
    hide = pd.DataFrame({c: small(out[c].astype(float)) for c in cols}, index=out.index)
    parts = [c for c in cols if c != "rows_read"]
    if "rows_read" in hide:
        hide["rows_read"] |= hide[parts].sum(axis=1) == 1
    for c in cols:
        out[c] = out[c].mask(hide[c])
    return out


def publish_drivers(drivers: pd.DataFrame) -> pd.DataFrame:
    """The statements of what moved a figure (:func:`kpi.drivers.for_report`) that may be published: none resting
    on a group with a count of 1 to 5 (its ``smallest`` numerator or denominator in the months compared), as its
    share of the change and its own SPC would speak of so few children (A119)."""
    if drivers is None or drivers.empty:
        return drivers
    return drivers[~small(drivers["smallest"])].reset_index(drop=True)


# ------------------------------------------------------------------ personal data in a page


@dataclass(frozen=True)
class Finding:
    kind: str  # "child identifier", "family identifier", "date of birth"
    value: str
    where: str

    def __str__(self) -> str:
        return f"{self.kind} {self.value!r} in {self.where}"


class _Segments(html.parser.HTMLParser):
    """A page's text as (where, text) pieces: each text node and each alt, title or aria-label attribute,
    placed by the headings it falls under (the page's title left out below it) and a table row's own heading."""

    HEADINGS = {"h1", "h2", "h3", "h4"}
    ATTRIBUTES = {"alt": "chart's alt text", "title": "title", "aria-label": "label"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[tuple[str, str]] = []
        self.headings: dict[int, str] = {}  # level -> text of the heading in force
        self.row, self._in, self._level = None, None, 0
        self._row_head = False
        self._skip = 0

    def _where(self, extra: str = "") -> str:
        inner = [t for k, t in sorted(self.headings.items()) if k > 1]
        path = " > ".join(inner) or self.headings.get(1) or "the top of the page"
        row = f", row {self.row}" if self.row else ""
        return f"{path}{row}{extra}"

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        if tag in self.HEADINGS:
            self._in, self.row, self._level = [], None, int(tag[1])
        if tag == "tr":
            self.row = None
        if tag == "th" and ("scope", "row") in attrs:
            self._row_head = True
        for name, value in attrs:
            if name in self.ATTRIBUTES and value:
                self.out.append((self._where(f" ({self.ATTRIBUTES[name]})"), value))

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        if tag in self.HEADINGS and self._in is not None:
            self.headings = {k: t for k, t in self.headings.items() if k < self._level}
            self.headings[self._level] = " ".join("".join(self._in).split())
            self._in = None
        if tag == "th":
            self._row_head = False

    def handle_data(self, data):
        if self._skip:
            return
        if self._in is not None:
            self._in.append(data)
        if self._row_head and data.strip():
            self.row = data.strip()
        if data.strip():
            self.out.append((self._where(), data))


def page_segments(page: str, name: str = "the page") -> list[tuple[str, str]]:
    """The text of an HTML page (never its embedded images' data), piece by piece with where it stands."""
    p = _Segments()
    p.feed(re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=\s]+", "", page))
    return [(f"{name}: {w}", t) for w, t in p.out]


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # a traceback's colours: "\x1b[0;31mCH12" would hide CH12 behind 'm'


def notebook_segments(path: Path, sources: bool = False) -> list[tuple[str, str]]:
    """The text of an executed notebook's outputs (HTML, plain text, streams, errors; colour codes left out), by
    cell; ``sources``: the cells' code too."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    out = []
    for i, cell in enumerate(nb.cells):
        if sources:
            out.append((f"{Path(path).name} cell {i} code", cell.get("source", "")))
        for o in cell.get("outputs", []):
            where = f"{Path(path).name} cell {i}"
            if o.get("output_type") == "stream":
                out.append((where, ANSI.sub("", o.get("text", ""))))
            elif o.get("output_type") == "error":
                text = f"{o.get('ename', '')}: {o.get('evalue', '')}\n" + "\n".join(o.get("traceback", []))
                out.append((where, ANSI.sub("", text)))
            else:
                data = o.get("data", {})
                if "text/html" in data:
                    out += page_segments(data["text/html"], where)
                elif "text/plain" in data:
                    out.append((where, ANSI.sub("", data["text/plain"])))
    return out


def redact_notebook(path: Path, findings: list[Finding]) -> None:
    """An executed notebook with each value found replaced by what it is, in its cells' code and every output's
    text (streams, errors and their tracebacks, HTML, plain text, JSON; colour codes dropped). Images are left:
    their pixels cannot be searched (the report's charts draw figures, never a child's id)."""
    import nbformat

    if not findings:
        return
    nb = nbformat.read(path, as_version=4)

    def clean(text):
        text = "".join(text) if isinstance(text, list) else text
        return redact(ANSI.sub("", text), findings)

    for cell in nb.cells:
        cell.source = clean(cell.get("source", ""))
        for o in cell.get("outputs", []):
            if "text" in o:
                o["text"] = clean(o["text"])
            if o.get("output_type") == "error":
                o["ename"], o["evalue"] = clean(o.get("ename", "")), clean(o.get("evalue", ""))
                o["traceback"] = [clean(t) for t in o.get("traceback", [])]
            data = o.get("data", {})
            for kind in list(data):
                if kind.startswith("text/") or kind.endswith("json"):
                    data[kind] = clean(data[kind]) if isinstance(data[kind], str | list) else data[kind]
    nbformat.write(nb, path)


# Every child and family id of the store is looked for, whatever its shape (letters, digits, spaces, commas,
# apostrophes, '#', letters beyond ASCII, no digit at all): literally, case ignored, bounded by what is neither
# a letter nor a digit, so "CH9" is found in "CH9-CH0" and "CH0_x". A plain number (and an id of one or two
# characters) is an identifier only where the text says so ("child 1234", "children 4521 and 4522", "ID: 1234"):
# a council whose ids are 1, 2, 3, ... would otherwise have every figure taken for one (A67).
WORD = re.compile(r"[^\W_]+")  # a run of letters and digits (any alphabet)
ID_LABEL = re.compile(
    r"(?i)\b(?:child(?:ren)?(?:'s)?|young (?:person|people)(?:'s)?|persons?|people|clients?|cases?|famil(?:y|ies)"
    r"|households?|la ?child ?ids?|child_?ids?|person_?ids?|ids?|identifiers?|upns?|nhs)"
    r"(?:\s*(?:ids?|no\.?|nos\.?|numbers?|refs?))?\s*[:#=,]?\s*(?:no\.?\s*)?$"
)
# the ids listed before one, back to the label that carries through the list ("child: 4521, 4522 and 4523")
LISTED = re.compile(r"(?i)(?:[^\W_]*\d[^\W_]*\s*(?:,|;|/|&|\band\b|\bor\b)\s*)+$")
DOB_LABEL = re.compile(r"(?i)\b(?:born(?:\s+on)?|d\.?o\.?b\.?|date\s+of\s+birth|birth\s*date|birthday)\s*[:=]?\s*$")
MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
DATE = re.compile(
    rf"(?i)\b(\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{MONTHS})[a-z]*\.?,?\s+\d{{4}})\b"
)


def _iso(date: str) -> str | None:
    """A written date as YYYY-MM-DD (day first, as in England), or None."""
    try:
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", date):
            return pd.Timestamp(date).strftime("%Y-%m-%d")
        return pd.to_datetime(date.replace(",", ""), dayfirst=True).strftime("%Y-%m-%d")
    except (ValueError, OverflowError):
        return None


def _plain(text: str) -> str:
    """Text as searched: compatibility forms folded (full-width "ＣＨ１２" is "CH12", a letter and its accent one
    character) and invisible format characters (zero-width spaces and joiners) dropped, so neither hides an id."""
    if text.isascii():
        return text
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if unicodedata.category(ch) != "Cf")


def _figure_like(ident: str) -> bool:
    """An id a figure or a word of the page could be: a plain number (no leading zero), or one or two characters."""
    return (ident.isdigit() and not (ident.startswith("0") and len(ident) > 2)) or len(ident) <= 2


def _labelled(text: str, start: int) -> bool:
    """Whether the text labels what starts at ``start`` as an id, directly or as one of a list after a label."""
    before = text[max(0, start - 120) : start]
    return bool(ID_LABEL.search(LISTED.sub("", before)) or ID_LABEL.search(before))


def _store_ids(words: set[str], con) -> list[tuple[str, str, str | None]]:
    """(id, kind, date of birth) of the store's child and family ids whose first run of letters and digits is
    one of ``words`` (lower case): the only ids the text can hold."""
    if not words:
        return []
    con.register("_kpi_words", pd.DataFrame({"w": sorted(words)}))
    first = "lower(regexp_extract(trim({0}), '[\\pL\\pM\\pN]+'))"
    try:
        rows = con.execute(
            f"SELECT trim(child_id), trim(family_id), strftime(date_of_birth, '%Y-%m-%d') FROM children "
            f"WHERE {first.format('child_id')} IN (SELECT w FROM _kpi_words) "
            f"OR {first.format('family_id')} IN (SELECT w FROM _kpi_words)"
        ).fetchall()
    finally:
        con.unregister("_kpi_words")
    out = []
    for child, family, dob in rows:
        if child and WORD.search(child):
            out.append((child, "child identifier", dob))
        if family and WORD.search(family):
            out.append((family, "family identifier", None))
    return out


def find_personal(segments: list[tuple[str, str]], con) -> list[Finding]:
    """Children's identifiers (child and family ids) and dates of birth in text pieces, from the store's
    ``children`` table on the open connection ``con`` (its snapshot's search path set).

    Every id of the store is looked for as written there, case ignored, bounded by what is neither a letter nor
    a digit; one that a figure could be (a plain number, one or two characters) only where the text labels it
    as an id (a label carries through a list of them). A date of birth is any date the text labels so ("born",
    "DOB", "date of birth"), or a child's own date of birth written within a few words of that child's id."""
    segments = [(where, _plain(text)) for where, text in segments]
    words = {w.group().lower() for _, text in segments for w in WORD.finditer(text)}
    words |= {unicodedata.normalize("NFD", w) for w in words if not w.isascii()}  # as a store may hold them
    ids: dict[str, list[tuple[str, str | None]]] = {}  # an id's first word, lower case -> (id, kind, dob)
    for ident, kind, dob in _store_ids(words, con):
        ident = _plain(ident)
        ids.setdefault(WORD.search(ident).group().lower(), []).append((ident, kind, dob))
    patterns = {
        ident: re.compile(rf"(?<![^\W_]){re.escape(ident)}(?![^\W_])", re.I) for v in ids.values() for ident, *_ in v
    }
    found: list[Finding] = []
    for where, text in segments:
        spots = []  # (start, end, id, dob) of each id of the store in the text
        for w in WORD.finditer(text):
            for ident, kind, dob in ids.get(w.group().lower(), ()):
                at = w.start() - WORD.search(ident).start()  # where the id would start (it may begin with '#')
                m = patterns[ident].match(text, at) if at >= 0 else None
                if m is None:
                    continue
                spots.append((m.start(), m.end(), dob))
                if not _figure_like(ident) or _labelled(text, m.start()):
                    found.append(Finding(kind, m.group(), where))
        for m in DATE.finditer(text):
            iso = _iso(m.group())
            if iso is None:
                continue
            labelled = DOB_LABEL.search(text[max(0, m.start() - 30) : m.start()])
            near = any(dob == iso and m.start() - 80 <= e and b <= m.end() + 80 for b, e, dob in spots)
            if labelled or near:  # "DOB 02/03/2015", or a child's own date of birth near their id
                found.append(Finding("date of birth", m.group(), where))
    return list(dict.fromkeys(found))


def redact(text: str, findings: list[Finding]) -> str:
    """The text (as searched: :func:`_plain`) with each value found replaced by what it is ("[child identifier]")."""
    if not findings:
        return text
    text = _plain(text)
    for f in sorted(findings, key=lambda f: -len(f.value)):
        text = re.sub(rf"(?<![^\W_]){re.escape(f.value)}(?![^\W_])", f"[{f.kind}]", text, flags=re.I)
    return text


# ------------------------------------------------------------------ notebook outputs and git


def notebook_filter_problem(root: Path) -> str | None:
    """Why notebook outputs could reach git from the clone at ``root`` (None: they cannot, or it is no clone).
    .gitattributes sends notebooks through the nbstripout filter, but git silently stages a notebook whole when
    the filter is not configured in the clone, as after `conda env create` without `make git-filters` (A69)."""
    import shlex
    import shutil
    import subprocess

    git = shutil.which("git")
    if git is None or not (Path(root) / ".git").exists():
        return None

    def config(key: str) -> str:
        got = subprocess.run([git, "-C", str(root), "config", "--get", key], capture_output=True, text=True)
        return got.stdout.strip()

    fix = "run `make git-filters` in the clone"
    clean = config("filter.nbstripout.clean")
    if not clean:
        return f"{root}: the nbstripout filter is not set up, so git would commit notebooks with their outputs; {fix}"
    if config("filter.nbstripout.required") != "true":
        return f"{root}: the nbstripout filter is not required, so git would stage a notebook it cannot clean; {fix}"
    program = shlex.split(clean)[0]
    if shutil.which(program) is None and not Path(program).is_file():
        return f"{root}: the nbstripout filter runs {program}, which does not exist (a removed environment?); {fix}"
    return None
