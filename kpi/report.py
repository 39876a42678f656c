"""What the report notebooks show: the month at a glance, section pages, appendices.

Notebooks stay thin: a parameters cell and one call per part, e.g. ``Report.open(month, ...).section("volume")``.
Everything shown is aggregate (the scorecard): no child-level record reaches a notebook through this
module. Output is HTML (headings with stable anchors, charts as embedded SVG with alt text), so the page
reads the same in JupyterLab and in the rendered report.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import params as params_mod
from . import privacy
from .calendar import add_months, month_label, month_start
from .catalogue import KINDS, Catalogue, Measure, load
from .prose import markdown_html
from .spc import MONTHS as SPC_MONTHS
from .spc import VARIATION_TEXT, spc_of
from .status import PROVISIONAL

# The store, the engine and the charting stack are imported where used: a notebook that draws no chart
# (the summary, the appendices) then starts in half the time.
ROOT = Path(__file__).resolve().parent.parent


RAG_STYLE = {  # text, symbol and colour: never colour alone
    "green": ("Green", "●", "#1b7837"),
    "amber": ("Amber", "◆", "#8c4a00"),
    "red": ("Red", "■", "#b2182b"),
    None: ("No RAG", "○", "#444444"),
}
SPC_SHORT = {
    "common_cause": "Common cause",
    "special_cause_improvement": "Special cause: improvement",
    "special_cause_concern": "Special cause: concern",
    "special_cause_neither": "Special cause: a volume's change",
    None: "Too few figures",
}
SHOWN_MONTHS = 13
SMALL = privacy.SMALL  # counts from 1 to 5 are suppressed in the public version, as official statistics do


def catalogue_for(p: params_mod.MonthParams) -> Catalogue:
    """The month's catalogue, with the council's published comparators when params give its code (the DfE's, or a
    nation's table the params name in ``published``)."""
    cat = load(p.catalogue)
    if p.la_code:
        from . import comparators

        cat = comparators.council_catalogue(cat, p.la_code, p.month, p.comparator_year, p.published)
    return cat


def months_from_april(month: str) -> int:
    """The months to compute for a report of ``month``: its SPC_MONTHS, and those before them back to an April.
    A year-to-date figure is suppressed by its rise since the last month published in its financial year
    (:func:`kpi.privacy.publish`), so it is decided from that April on: from the window's first month, that
    month would always be published (nothing to compare it with), and a month suppressed in one release would
    be shown in the next, whose window starts a month later (A100)."""
    first = (int(month[5:7]) - SPC_MONTHS) % 12 + 1  # the calendar month of the window's first month
    return SPC_MONTHS + (first - 4) % 12


def quarter_title(month: str) -> str | None:
    """'Quarter 2 2026-27 (July to September 2026)' for a month that ends a financial quarter (June, September,
    December, March); None for another month (A109)."""
    from .calendar import period_of

    if int(month[5:7]) % 3:
        return None
    year, q = period_of(month, "quarter").split(" Q")
    first = pd.Timestamp(month + "-01") - pd.DateOffset(months=2)
    return f"Quarter {q} {year} ({first:%B} to {pd.Timestamp(month + '-01'):%B %Y})"


def outturn_year(month: str) -> tuple[str, str]:
    """The financial year before ``month``'s, and its last month: ('2025-26', '2026-03') for 2026-09."""
    from .calendar import period_of

    y = int(month[:4]) - (int(month[5:7]) < 4)  # the year the month's financial year starts in
    return period_of(f"{y}-03", "year"), f"{y}-03"


def outturn(month: str, cat: Catalogue, public: bool = False, **kw) -> pd.DataFrame:
    """Last year's outturn of each measure (A109): its figure over the financial year before ``month``'s, as
    ``kpi measures --period year`` gives it (a flow summed over April to March; a month-end, rolling, year-to-date
    or projected figure at March). ``public``: through :func:`kpi.privacy.publish`, as a month's figures are."""
    from .scorecard import over_periods

    year, march = outturn_year(month)
    out = over_periods(march, 1, "year", catalogue=cat, **kw)
    if public:
        out = out.assign(month=march, unit=[cat[r].unit for r in out["measure"]])
        out = privacy.publish(out, cat).drop(columns=["month", "unit"])
    return out.assign(year=year)


def last_months(card: pd.DataFrame, n: int = SPC_MONTHS) -> pd.DataFrame:
    """The scorecard's last ``n`` months (what is shown and published, once suppression is decided)."""
    keep = sorted(card["month"].unique())[-n:]
    return card[card["month"].isin(keep)].reset_index(drop=True)


def snapshot_fields(public: bool) -> tuple[str, ...]:
    """What of the snapshot's description goes beside a report (data/snapshot.json, and so manifest.json). Never
    the load's note: it counts rejected rows (a count a public page suppresses) and quotes rejected values, a child's
    id among them, which the search for ids cannot find as that child is not in the store. Not in a public run,
    the extract's path either (A101)."""
    shown = ("snapshot_id", "extract_date", "loaded_at", "council", "latest_month")
    return shown if public else (*shown, "source")


def prepare_data(
    month: str, store: str | Path, p: params_mod.MonthParams, out: Path | None = None, public: bool = False
) -> Path:
    """Compute the month's scorecard once and write what the notebooks need (all of it aggregate); ``public``:
    the published figures only (:func:`kpi.privacy.publish`), so no file of a public run holds a small count."""
    import tempfile

    from .engine import Context
    from .scorecard import scorecard
    from .store import accounting_of, availability_of, connect

    out = Path(out) if out else Path(tempfile.mkdtemp(prefix="kpi-report-"))
    out.mkdir(parents=True, exist_ok=True)
    con, snap = connect(store, p.snapshot)
    cat = catalogue_for(p)
    ctx = Context.prepare(con, snap)
    card = scorecard(
        month,
        months_from_april(month),
        context=ctx,
        catalogue=cat,
        year_on_year=False,
        aggregates=p.aggregates,
        monthly=True,  # a windowed figure's own month, which its SPC judges (A122)
    )
    (last_months(privacy.publish(card, cat)) if public else card).to_parquet(out / "scorecard.parquet", index=False)
    from .drivers import for_report

    found = for_report(ctx, cat, card, month)  # what moved each KPI that changed notably (A116)
    (privacy.publish_drivers(found) if public else found).to_parquet(out / "drivers.parquet", index=False)
    if cat.quarterly:  # last year's outturn beside this year's figures (A109)
        outturn(month, cat, public, context=ctx, aggregates=p.aggregates).to_parquet(out / "outturn.parquet")
    sid = int(snap["snapshot_id"])
    accounting = accounting_of(con, sid)
    (privacy.publish_accounting(accounting) if public else accounting).to_parquet(
        out / "accounting.parquet", index=False
    )
    avail = availability_of(con, sid)
    avail.to_parquet(out / "availability.parquet", index=False)
    snap = {
        k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in snap.items() if k in snapshot_fields(public)
    }
    (out / "snapshot.json").write_text(json.dumps(snap, default=str))
    con.close()
    return out


def report_for(month: str, store: str | Path, p: params_mod.MonthParams) -> Report:
    """The month's report from the params ``p`` as given (its catalogue, comparators, aggregates and, when
    ``p.public``, the published figures alone), not from a params file."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kpi-report-") as tmp:
        d = prepare_data(month, store, p, Path(tmp), public=p.public)
        card, snap = pd.read_parquet(d / "scorecard.parquet"), json.loads((d / "snapshot.json").read_text())
        accounting, availability = (pd.read_parquet(d / f"{n}.parquet") for n in ("accounting", "availability"))
        outturn, found = read_outturn(d), read_drivers(d)
    return Report(month, card, catalogue_for(p), p, snap, p.public, accounting, availability, outturn, found)


def read_outturn(d: Path) -> pd.DataFrame | None:
    """The prepared data's outturn (a quarterly set's), or None."""
    return pd.read_parquet(d / "outturn.parquet") if (d / "outturn.parquet").exists() else None


def read_drivers(d: Path) -> pd.DataFrame | None:
    """The prepared data's drivers (what moved each KPI that changed notably), or None."""
    return pd.read_parquet(d / "drivers.parquet") if (d / "drivers.parquet").exists() else None


def direction_text(m: Measure) -> str:
    """Which way is better, or for a volume (no direction in its catalogue) that neither is (A110)."""
    if m.direction is None:
        return "a volume: neither a rise nor a fall is better in itself"
    return f"{m.direction} is better"


def _show(markup: str) -> None:
    from IPython.display import HTML, display

    display(HTML(markup))


def signed(x: float, decimals: int) -> str:
    """A change with its sign, and none when it rounds to nothing (not "-0.0")."""
    text = f"{x:+.{decimals}f}"
    return text[1:] if float(text) == 0 else text


def _count_only(row: pd.Series) -> bool:
    """A rate shown by its count: no population to divide it by (the scorecard's rate_not_available)."""
    return isinstance(row.get("rate_not_available"), str) and pd.notna(row.get("numerator"))


def _e(x) -> str:
    return html.escape("" if x is None or (isinstance(x, float) and pd.isna(x)) else str(x))


def month_name(m: str) -> str:
    return pd.Timestamp(m + "-01").strftime("%B %Y")


def month_abbr(m: str) -> str:
    return pd.Timestamp(m + "-01").strftime("%b %Y")


def _svg_img(svg: bytes, alt: str) -> str:
    """An SVG chart as an image of the page (its own document: its ids and styles cannot meet the page's)."""
    return f'<img alt="{_e(alt)}" src="data:image/svg+xml;base64,{base64.b64encode(svg).decode()}">'


def rag_badge(rag: str | None, text: str | None = None) -> str:
    word, symbol, colour = RAG_STYLE[rag if isinstance(rag, str) else None]
    label = text or word
    return (
        f'<span class="rag" style="border:2px solid {colour};color:{colour};padding:1px 8px;'
        f'border-radius:4px;font-weight:bold;white-space:nowrap">{symbol} {_e(label)}</span>'
    )


@dataclass
class Report:
    month: str
    history: pd.DataFrame  # the scorecard: 24 months to ``month``, for SPC
    catalogue: Catalogue
    params: params_mod.MonthParams
    snapshot: dict
    public: bool = False

    accounting: pd.DataFrame | None = None
    availability: pd.DataFrame | None = None
    outturn: pd.DataFrame | None = None  # a quarterly set's: last year's figure of each measure (A109)
    drivers: pd.DataFrame | None = None  # what moved each KPI that changed notably (kpi.drivers.for_report)

    def __post_init__(self):
        if self.public:  # everything below is made from the published figures alone
            self.history = privacy.publish(self.history, self.catalogue)
            if self.accounting is not None:
                self.accounting = privacy.publish_accounting(self.accounting)
            self.drivers = privacy.publish_drivers(self.drivers)
        self.history = last_months(self.history)  # the months before, back to an April: suppression's (A100)
        shown = sorted(self.history["month"].unique())[-SHOWN_MONTHS:]
        self.card = self.history[self.history["month"].isin(shown)]  # what the page shows: 13 months
        self._spc = {}

    @classmethod
    def open(
        cls,
        month: str | None = None,
        store: str | Path | None = None,
        params_file: str | Path | None = None,
        data_dir: str | Path | None = None,
        public: bool = False,
        partial: bool = False,
    ) -> Report:
        """The month's report data: from the runner's ``data_dir`` if it has it, else computed from the store, whose
        snapshot must cover the month, as for every command (the latest complete one if None; its partial month
        only with ``partial``): a MonthError otherwise (:meth:`kpi.calendar.Coverage.check`)."""
        from .calendar import parse_month
        from .store import default_store, open_snapshot

        store = Path(store) if store else default_store()
        p = params_mod.load(params_file) if params_file else None
        d = Path(data_dir) if data_dir else None
        computed = d is None or not (d / "scorecard.parquet").exists()  # the runner's data was checked when made
        if computed or month is None:
            month = parse_month(month, "month") if month is not None else None
            con, _, cov = open_snapshot(store, p.snapshot if p else None, "snapshot")
            con.close()
            month = month or cov.last
            if computed:
                cov.check(month, partial, "month")
        p = p or params_mod.for_month(month)
        cat = catalogue_for(p)
        if d is None or not (d / "scorecard.parquet").exists():
            d = prepare_data(month, store, p, d)
        history = pd.read_parquet(d / "scorecard.parquet")
        accounting = pd.read_parquet(d / "accounting.parquet")
        availability = pd.read_parquet(d / "availability.parquet") if (d / "availability.parquet").exists() else None
        snap = json.loads((d / "snapshot.json").read_text())
        return cls(
            month, history, cat, p, snap, public or p.public, accounting, availability, read_outturn(d), read_drivers(d)
        )

    # ------------------------------------------------------------------ helpers
    def commentary(self, ref: str) -> str | None:
        """A manager's commentary on the measure; None where there is none or it is still a draft (marked DRAFT):
        a draft is drafted again from the figures shown, as one drafted from other figures (those a public page
        suppresses, or another month's) can say what the page does not (A102)."""
        text = (self.params.commentary.get(ref) or "").strip()
        return None if not text or text.upper().startswith("DRAFT") else text

    def series(self, ref: str) -> pd.DataFrame:
        return self.card[self.card["measure"] == ref]

    def spc(self, ref: str):
        """Making Data Count SPC of the measure over the 24 months to the report's month (in the public version,
        of the published figures alone: a suppressed month is a gap, left out of the mean and limits)."""
        if ref not in self._spc:
            self._spc[ref] = spc_of(self.catalogue[ref], self.history[self.history["measure"] == ref])
        return self._spc[ref]

    def latest(self, ref: str) -> pd.Series:
        s = self.series(ref)
        return s[s["month"] == self.month].iloc[0]

    @staticmethod
    def _hidden(row: pd.Series) -> bool:
        """Suppressed in the public version."""
        return bool(row.get("suppressed", False))

    def verdict(self, ref: str):
        """The SPC of the measure when it speaks of the report's month; None when that month's figure is
        suppressed (a verdict on an earlier month would pass for this one's)."""
        return None if self._hidden(self.latest(ref)) else self.spc(ref)

    def _count(self, x) -> str:
        if x is None or pd.isna(x):
            return ""
        if self.public and 0 < x < SMALL:
            return privacy.SUPPRESSED
        return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"

    def _display(self, row: pd.Series) -> str:
        if self._hidden(row):
            return privacy.SUPPRESSED
        if not row["display"]:
            return "not available"
        if bool(row.get("provisional", False)):  # not final yet: shown, not judged (kpi.scorecard, A200)
            return f"{row['display']} (provisional)"
        return row["display"]

    @staticmethod
    def _rag(row: pd.Series) -> str:
        """A row's RAG badge; a provisional figure's says so in words, with no RAG's colour (A200)."""
        if bool(row.get("provisional", False)) and row["rag_text"] == PROVISIONAL:  # words that wrap, no badge
            return f'<span class="rag provisional" style="color:#444444;font-weight:bold">○ {_e(PROVISIONAL)}</span>'
        return rag_badge(row["rag"])

    @staticmethod
    def _before(row: pd.Series) -> str | None:
        """The previous definition's figure of a row (kpi.scorecard's ``before_display``), or None."""
        shown = row.get("before_display")
        return shown if isinstance(shown, str) and shown else None

    def _cell(self, m: Measure, row: pd.Series) -> str:
        """A scorecard cell: the figure, and the previous definition's beside it where the month has one."""
        before = self._before(row) if m.before else None
        extra = f'<br><span class="before">{_e(m.before.label)}: {_e(before)}</span>' if before else ""
        return _e(self._display(row)) + extra

    def _both(self, m: Measure) -> str:
        """A KPI page's table of both definitions' figures for the months shown from its change (the overlap)."""
        from .charts import before_label

        if m.before is None:
            return ""
        s = self.series(m.ref).sort_values("month")
        s = s[(s["month"] >= m.before.start) & s.apply(self._before, axis=1).notna()]
        if s.empty:
            return ""
        rows = "".join(
            f"<tr><th scope='row'>{month_name(r['month'])}</th><td>{_e(self._display(r))}</td>"
            f"<td>{_e(self._before(r))}</td></tr>"
            for _, r in s.iterrows()
        )
        return (
            f'<table class="both"><caption>Both definitions from {month_name(m.before.start)}, for '
            f"{m.before.overlap} months (the RAG is on the current one)</caption><thead><tr><th scope='col'>Month</th>"
            f"<th scope='col'>Current definition</th><th scope='col'>Previous ({_e(before_label(m))})</th></tr>"
            f"</thead><tbody>{rows}</tbody></table>"
        )

    def _working(self, m: Measure, row: pd.Series) -> str:
        if not row["display"]:
            why = row.get("not_available")
            if isinstance(why, str) and why.startswith("supplied"):
                return "Not available: given as a monthly figure (the params' aggregates file), and none was given."
            if isinstance(why, str) and why.startswith("before the data's history"):
                return _e(f"No figure: {why}.")
            if isinstance(why, str) and why:  # "table[.column]: why; ..." -> the names (the reasons: Appendix 4)
                names = ", ".join(dict.fromkeys(w.split(": ")[0] for w in why.split("; ")))
                return _e(f"Not available: the data loaded has no {names} (Appendix 4 says why).")
            return "No figure for this month."
        if self._hidden(row):
            return _e(f"Suppressed ({privacy.SUPPRESSED}): {row.get('suppression') or privacy.WHY_COUNTS}.")
        if m.unit == "count":
            return f"{self._count(row['numerator'])} in {month_name(self.month)}."
        if _count_only(row):  # a rate without a population: its count, and why there is no rate
            return _e(f"{self._count(row['numerator'])}; no rate per 10,000: {row['rate_not_available']}.")
        if pd.isna(row["numerator"]) or not row["calculation"]:
            return "Supplied as a figure, without numerator and denominator."
        return _e(row["calculation"])

    def _change(self, m: Measure, row: pd.Series) -> str:
        ch = row["change_month"]
        if ch is None or pd.isna(ch):
            before = self.series(m.ref)
            before = before[before["month"] < row["month"]].tail(1)
            if self._hidden(row) or (len(before) and self._hidden(before.iloc[0])):
                return f"Not shown: this month's or the month before's figure is suppressed ({privacy.SUPPRESSED})."
            return "No figure for the month before."
        unit = {"percent": " percentage points", "rate": " per 10,000"}.get(m.unit, "")
        word = {"better": "better", "worse": "worse", "same": "no change", "higher": "a rise", "lower": "a fall"}.get(
            row["vs_last_month"], ""
        )
        if bool(row.get("provisional", False)):  # a figure not final yet is not judged (A200)
            word = "provisional, not judged"
        return f"{signed(ch, max(m.decimals, 1) if m.unit != 'count' else 0)}{unit} since last month ({word})."

    def _figures_to(self) -> str:
        """'the end of October 2026', or for the month the extract was taken in after its 1st (a partial month,
        reported only when asked for), the day before the extract: '19 November 2026 (a partial month)'."""
        extract = self.snapshot.get("extract_date")
        if extract is not None and pd.notna(extract):
            day = pd.Timestamp(extract)
            if day.strftime("%Y-%m") == self.month and day.day > 1:
                return f"{day - pd.Timedelta(days=1):%-d %B %Y} (a partial month)"
        return f"the end of {month_name(self.month)}"

    # ------------------------------------------------------------------ parts
    def title(self) -> None:
        council = self.params.council or self.snapshot.get("council") or "Council"
        extract = self.snapshot.get("extract_date")
        extract = pd.Timestamp(extract).strftime("%d %B %Y") if extract is not None and pd.notna(extract) else "unknown"
        quarter = quarter_title(self.month) if self.catalogue.quarterly else None
        _show(f"""<h1 id="top">{_e(council)}: children's social care performance, {quarter or month_name(self.month)}</h1>
{self._quarter_note()}<p>Figures to {self._figures_to()}, from the data extract of {extract}
(snapshot {_e(self.snapshot.get("snapshot_id", ""))}). RAG is shown in words and symbols as well as colour:
{rag_badge("green", "Green: meets target")} {rag_badge("amber", "Amber: within tolerance")}
{rag_badge("red", "Red: outside tolerance")}. Commentary marked <strong>DRAFT</strong> was drafted from the figures
and has not been written by a manager.{self._public_note()}{self._notes_pointer()}</p>""")

    def notes(self) -> None:
        """The params' notes on the month, shown below the month at a glance (the table first, A113)."""
        _show(f'<div id="notes">{self._notes()}</div>' if self.params.notes else "")

    def _notes_pointer(self) -> str:
        """Where the month's notes are, when there are any: below the KPI table (A113)."""
        if not self.params.notes:
            return ""
        return (
            f' <a href="#notes">Notes on {month_name(self.month)}</a> from the team preparing this report follow'
            " the table."
        )

    def _notes(self) -> str:
        """The params' notes, labelled as the month's notes from whoever prepared the report, not a KPI's commentary
        (A106); Markdown, as commentary is."""
        if not self.params.notes:
            return ""
        return (
            f'<div class="month-notes" role="note" aria-label="Notes on {month_name(self.month)}">'
            f"<p><strong>Notes on {month_name(self.month)}</strong> (from the team preparing this report, on the "
            f"month's data; each KPI's commentary is on its page):</p>\n{markdown_html(self.params.notes)}</div>"
        )

    def _quarter_note(self) -> str:
        """A quarterly set's report of a month within a quarter: says so (A109)."""
        from .calendar import period_of

        if not self.catalogue.quarterly or quarter_title(self.month):
            return ""
        year, q = period_of(self.month, "quarter").split(" Q")
        return (
            f"<p>A quarterly scorecard reported within Quarter {q} {year}, which is not over: the quarter's "
            f"scorecard is the report of its last month.</p>"
        )

    def outturn_of(self, ref: str) -> str:
        """Last year's outturn of the measure as shown (suppressed or not available said so); "" for a monthly set."""
        if self.outturn is None:
            return ""
        row = self.outturn[self.outturn["measure"] == ref]
        if row.empty:
            return ""
        row = row.iloc[0]
        return privacy.SUPPRESSED if bool(row.get("suppressed", False)) else row["display"] or "not available"

    def _outturn_head(self) -> str:
        if self.outturn is None or self.outturn.empty:
            return ""
        return f'<th scope="col">{_e(self.outturn["year"].iloc[0])} outturn</th>'

    def _outturn_cell(self, ref: str) -> str:
        return f"<td>{_e(self.outturn_of(ref))}</td>" if self._outturn_head() else ""

    def _public_note(self) -> str:
        if not self.public:
            return ""
        return (
            f" Public version: a figure with a count of 1 to 5 children behind it (or one that would let such a count"
            f" be worked out) is suppressed as {privacy.SUPPRESSED}, as official statistics do; 0 is a true zero."
            f" Changes, RAG, comparisons and SPC are shown only from published figures."
        )

    def contents(self) -> None:
        items = ['<li><a href="#summary">The month at a glance</a></li>']
        for key, sec in self.catalogue.sections.items():
            kpis = [m for m in self.catalogue.kpis() if m.section == key]
            name = sec.title
            sub = "".join(
                f'<li><a href="#kpi-{m.kpi}">KPI {m.kpi}: {_e(m.kpi_title or m.title)}</a></li>' for m in kpis
            )
            items.append(f'<li><a href="#section-{key}">{name}</a>{f"<ul>{sub}</ul>" if sub else ""}</li>')
        items += [
            '<li><a href="#appendix-definitions">Appendix 1: definitions</a></li>',
            '<li><a href="#appendix-scorecard">Appendix 2: scorecard</a></li>',
            '<li><a href="#appendix-comparators">Appendix 3: comparators</a></li>',
            '<li><a href="#appendix-data">Appendix 4: data quality</a></li>',
        ]
        _show(f'<nav aria-label="Contents"><h2 id="contents">Contents</h2><ul>{"".join(items)}</ul></nav>')

    def _tally(self) -> str:
        """How many KPIs are green, amber, red and without a RAG this month, as badges."""
        rags = [self.latest(m.ref)["rag"] for m in self.catalogue.kpis()]
        counts = {k: sum(1 for r in rags if (r if isinstance(r, str) else None) == k) for k in RAG_STYLE}
        return " ".join(f"{rag_badge(k, f'{RAG_STYLE[k][0]}: {n}')}" for k, n in counts.items())

    def _figure_at(self, ref: str, month: str) -> str:
        """The measure's figure in ``month`` as shown (suppressed, or not available, said so)."""
        s = self.series(ref)
        row = s[s["month"] == month]
        return self._display(row.iloc[0]) if len(row) else "not available"

    def _counts(self, m: Measure, r: pd.Series) -> str:
        """A figure's numerator/denominator as shown beside it: none for a count, or for a suppressed figure."""
        if m.unit == "count" or self._hidden(r) or pd.isna(r["numerator"]):
            return ""
        if pd.isna(r["denominator"]):
            return self._count(r["numerator"])
        return f"{self._count(r['numerator'])}/{self._count(r['denominator'])}"

    def _target_cell(self, m: Measure, r: pd.Series) -> str:
        """Target and tolerance with the side that meets them (meeting one exactly meets it, A103)."""
        if pd.isna(r["target"]) and pd.isna(r["tolerance"]):
            return "not set"
        sign = {"higher": "&ge;", "lower": "&le;"}.get(m.direction, "")
        t, tol = (
            ("not set" if pd.isna(x) else f"{sign}{self._fmt_threshold(m, x)}") for x in (r["target"], r["tolerance"])
        )
        return f"Target {t}<br>Tolerance {tol}"

    def _comparator_cell(self, m: Measure, r: pd.Series) -> str:
        """The latest published comparators (statistical neighbours, England), how this month's figure compares,
        and their year; "none published" where there are none (A115)."""
        parts = []
        for which in ("statistical_neighbours", "england"):
            v, vs = getattr(m, which), r.get(f"vs_{which}")
            if v is not None and not pd.isna(v):
                name = "Neighbours" if which == "statistical_neighbours" else m.national_name
                mark = "*" if m.comparator_definition else ""  # another definition: said below, as on the chart
                parts.append(
                    f"{_e(name)}{mark} {self._fmt_threshold(m, v)}" + (f" ({_e(vs)})" if isinstance(vs, str) else "")
                )
        if not parts:
            return '<span class="none">none published</span>'
        if m.published is not None and m.statistical_neighbours is None:  # a nation's table: where we stood (A208)
            ours, rank = self._ours(m)
            parts.append(f"Ours {ours}" + (f"<br>{_e(rank)}" if rank else ""))
        if m.comparator_definition:
            parts.append(  # may wrap: the cell stays as narrow as its figures (the table fits the screen)
                f'<small style="white-space:normal">* {_e(m.comparator_definition)}: a different definition, '
                "not compared</small>"
            )
        year = f"<br><small>{_e(m.comparator_year)}</small>" if m.comparator_year else ""
        return "<br>".join(parts) + year

    def _trend(self, m: Measure) -> str:
        """The KPI's 13 months as an inline SVG line, named for screen readers by each month's figure as shown;
        a suppressed or missing month is a gap (nothing drawn for it, A114)."""
        from . import glance as gl

        s = self.series(m.ref).sort_values("month")
        values = [None if self._hidden(x) or pd.isna(x["value"]) else float(x["value"]) for _, x in s.iterrows()]
        shown = [self._display(x) for _, x in s.iterrows()]
        months = [month_abbr(x) for x in s["month"]]
        return gl.sparkline(values, gl.trend_label(f"Trend of KPI {m.kpi}", months, shown))

    def _mdc_cells(self, m: Measure) -> str:
        """The Making Data Count variation and assurance: icon and words (for a suppressed month, why none)."""
        return "".join(f"<td>{x}</td>" for x in self._mdc(m))

    def _mdc(self, m: Measure) -> tuple[str, str]:
        """The Making Data Count variation and assurance icons, each with its words (the glance table's, and
        under a KPI page's XmR chart)."""
        from . import glance as gl

        spc = self.verdict(m.ref)
        if spc is None:
            none = f"Suppressed ({privacy.SUPPRESSED})"
            return none, none
        last = spc.latest
        side = None
        if last is not None and not pd.isna(last["mean"]) and last["value"] != last["mean"]:
            side = "high" if last["value"] > last["mean"] else "low"
        variation = gl.with_words(gl.variation_icon(spc.variation, side), gl.variation_words(spc.variation, side))
        assurance = gl.with_words(gl.assurance_icon(spc.assurance), gl.ASSURANCE_WORDS[spc.assurance])
        return variation, assurance

    def glance(self) -> None:
        """The month on one screen: one row per KPI in number order, with this month's figure and its working,
        target and tolerance, RAG, last month, the same month last year, the 13 months' trend, the Making Data
        Count variation and assurance, and the published comparators (A111)."""
        before, year_ago = (month_label(add_months(month_start(self.month), -n)) for n in (1, 12))
        rows = []
        for m in self.catalogue.kpis():
            r = self.latest(m.ref)
            counts = self._counts(m, r)
            rows.append(
                f"<tr><th scope='row'><a href='#kpi-{m.kpi}'>KPI {m.kpi}</a> {_e(m.kpi_title or m.title)}</th>"
                f"<td class='figure'><strong>{_e(self._display(r))}</strong>"
                f"{f'<br><small>{_e(counts)}</small>' if counts else ''}</td>"
                f"<td class='nowrap'>{self._target_cell(m, r)}</td><td>{self._rag(r)}</td>{self._outturn_cell(m.ref)}"
                f"<td class='figure'>{_e(self._figure_at(m.ref, before))}</td>"
                f"<td class='figure'>{_e(self._figure_at(m.ref, year_ago))}</td>"
                f"<td>{self._trend(m)}</td>{self._mdc_cells(m)}<td class='nowrap'>{self._comparator_cell(m, r)}</td></tr>"
            )
        _show(f"""<div class="glance-wrap"><table class="glance" id="glance">
<caption>The {len(rows)} KPIs in {month_name(self.month)}: {self._tally()}</caption>
<thead><tr><th scope="col">KPI</th><th scope="col">{month_abbr(self.month)}<br><small>(number)</small></th>
<th scope="col">Target, tolerance</th><th scope="col">RAG</th>{self._outturn_head()}
<th scope="col">{month_abbr(before)}</th><th scope="col">{month_abbr(year_ago)}</th>
<th scope="col">Trend, 13 months</th><th scope="col">SPC variation</th>
<th scope="col">SPC assurance</th><th scope="col">Comparators</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table></div>
<p class="glance-key">SPC: Making Data Count's rules over {SPC_MONTHS} months. Variation: common cause (a wave) is
the usual month-to-month noise; special cause (an arrow: the side of the average the month lies on, high or low) is a
real change, an improvement or a concern. Assurance: whether the process, as it runs, will meet the target (a tick),
miss it (a cross), or meet it in some months only (a question mark). Each KPI's page has its chart and
commentary.</p>""")

    def summary(self) -> None:
        from .narrative import spc_sentence

        kpis = self.catalogue.kpis()
        rows = [(m, self.latest(m.ref)) for m in kpis]
        moved = []
        for m, r in rows:
            prev = self.series(m.ref)
            prev = prev[prev["month"] < self.month].tail(1)
            before = prev["rag"].iloc[0] if len(prev) and isinstance(prev["rag"].iloc[0], str) else None
            now = r["rag"] if isinstance(r["rag"], str) else None
            if before and now and before != now:
                moved.append(
                    f"<li>KPI {m.kpi} {_e(m.kpi_title or m.title)}: {rag_badge(before)} to {rag_badge(now)}"
                    f" ({_e(self._display(r))})</li>"
                )
        changes = []
        for m, r in rows:
            if m.unit == "percent" and pd.notna(r["change_month"]) and not bool(r.get("provisional", False)):
                changes.append((abs(r["change_month"]), m, r))
        changes.sort(key=lambda x: -x[0])
        big = "".join(
            f"<li>KPI {m.kpi} {_e(m.kpi_title or m.title)}: {_e(self._display(r))}, "
            f"{r['change_month']:+.1f} points ({_e(r['vs_last_month'])})</li>"
            for _, m, r in changes[:5]
        )
        special = "".join(
            f"<li>KPI {m.kpi} {_e(m.kpi_title or m.title)}: {_e(SPC_SHORT[self.verdict(m.ref).variation].lower())}. "
            f"{_e(spc_sentence(self.verdict(m.ref), m, headline=False))}</li>"
            for m, _ in rows
            if self.verdict(m.ref) and (self.verdict(m.ref).variation or "").startswith("special")
        )
        _show(f"""<h3>Moved between green, amber and red since last month</h3>
<ul>{"".join(moved) or "<li>None.</li>"}</ul>
<h3>Special cause variation this month</h3>
<p>Statistical process control (NHS England's Making Data Count rules, over {SPC_MONTHS} months) separates a
real change from the month-to-month noise of the process.</p>
<ul>{special or "<li>None: every KPI shows common cause variation.</li>"}</ul>
<h3>Largest changes since last month</h3><ul>{big or "<li>None.</li>"}</ul>""")
        _show(self._why_summary())

    def drivers_of(self, ref: str) -> pd.DataFrame | None:
        """What moved the measure (:func:`kpi.drivers.for_report`): its groups named, none if its figure this month is
        suppressed (the public version) or it did not change notably."""
        if self.drivers is None or self._hidden(self.latest(ref)):
            return None
        rows = self.drivers[self.drivers["measure"] == ref]
        if rows.empty:
            return None
        if self.public:  # its figure over the months compared would let a suppressed month's be worked out
            first = rows["before"].iloc[0].split("..")[0]
            h = self.history[(self.history["measure"] == ref) & (self.history["month"] >= first)]
            if h["suppressed"].fillna(False).astype(bool).any():
                return None
        return rows

    def _why(self, m: Measure) -> str:
        """The KPI page's "Why it moved" paragraph ("" when nothing is worth naming)."""
        from .narrative import driver_sentence

        said = driver_sentence(m, self.drivers_of(m.ref))
        if not said:
            return ""
        return (
            f'<p class="why"><strong>Why it moved</strong> (the groups that explain most of the change): {_e(said)}</p>'
        )

    def _why_summary(self) -> str:
        """The summary's list of what moved the KPIs that changed notably or show special cause."""
        from .narrative import driver_statements

        found = ((m, self.drivers_of(m.ref)) for m in self.catalogue.kpis())
        items = "".join(
            f"<li><a href='#kpi-{m.kpi}' style='text-decoration:underline'>KPI {m.kpi} {_e(m.kpi_title or m.title)}</a>: "
            f"{_e('; '.join(driver_statements(d)))}.</li>"
            for m, d in found
            if d is not None
        )
        if not items:
            return ""
        return (
            "<h3>Why they moved</h3><p>Where a KPI changed notably or shows special cause, the groups (locality, team, "
            "age, ...) that explain most of the change, with their share of it and their own SPC verdict:</p>"
            f"<ul>{items}</ul>"
        )

    def _spc_text(self, m: Measure) -> str:
        """The KPI page's SPC paragraph: the verdict and why, or why there is none."""
        from .narrative import spc_sentence

        spc = self.verdict(m.ref)
        if spc is None:
            return (
                f"<strong>No SPC verdict this month</strong>: the month's figure is suppressed ({privacy.SUPPRESSED})."
            )
        return (
            f"<strong>{_e(VARIATION_TEXT[spc.variation])}</strong> (Making Data Count, {SPC_MONTHS} months).\n"
            f"{_e(spc_sentence(spc, m, headline=False))}"
        )

    def heading(self, key: str) -> None:
        """A section's heading and the catalogue's introduction to it (the summary's: its notebook's)."""
        if key == "summary":
            _show('<h2 id="summary">The month at a glance</h2>')
        else:
            sec = self.catalogue.sections[key]
            _show(f'<h2 id="section-{key}">{_e(sec.title)}</h2>' + (f"<p>{_e(sec.intro)}</p>" if sec.intro else ""))

    def section_keys(self, key: str | None = None) -> list[str]:
        """The catalogue's sections in order (``key``: that one, checked)."""
        if key is None:
            return list(self.catalogue.sections)
        if key not in self.catalogue.sections:
            raise KeyError(
                f"no section {key!r} in the {self.catalogue.name} catalogue: {', '.join(self.catalogue.sections)}"
            )
        return [key]

    def section(self, key: str) -> None:
        """Each KPI of the section on its own page, then its other measures in a table."""
        measures = self.catalogue.section_measures(key)
        name = self.catalogue.sections[key].title
        for m in sorted((m for m in measures if m.kpi), key=lambda m: m.kpi):
            self.kpi_page(m)
        others = [m for m in measures if not m.kpi]
        if others:
            self._table(others, f"Other measures: {name.lower()}", f"others-{key}")

    def kpi_page(self, m: Measure) -> None:
        from .narrative import draft

        s = self.series(m.ref)
        r = self.latest(m.ref)
        commentary = self.commentary(m.ref)
        if commentary:
            comment = f'<div class="commentary">{markdown_html(commentary)}</div>'
        else:
            comment = (
                f"<p><strong>DRAFT</strong> (drafted from the figures, not yet written by a manager): "
                f"{_e(draft(m, s))}</p>"  # what moved it is said above it (_why), not twice
            )
        chart = self._charts(m)
        target = "not set" if pd.isna(r["target"]) else self._fmt_threshold(m, r["target"])
        tolerance = "not set" if pd.isna(r["tolerance"]) else self._fmt_threshold(m, r["tolerance"])
        changed = [h for h in m.history]
        change_note = "".join(f"<p><em>Definition changed from {_e(h.start)}:</em> {_e(h.change)}</p>" for h in changed)
        _show(f"""<section class="kpi" aria-labelledby="kpi-{m.kpi}">
<h3 id="kpi-{m.kpi}">KPI {m.kpi}: {_e(m.kpi_title or m.title)}</h3>
<p><strong>{month_name(self.month)}: {_e(self._display(r))}</strong> {rag_badge(r["rag"], r["rag_text"])}</p>
{f"<p>{_e(self.outturn['year'].iloc[0])} outturn: {_e(self.outturn_of(m.ref))}.</p>" if self._outturn_head() else ""}
<p>Target {target}; tolerance {tolerance}; {direction_text(m)}.
Measure {m.ref}: {_e(m.title)}.</p>
<p>Calculation: {self._working(m, r)} Change: {self._change(m, r)}</p>
{f"<p>Population (0-17): {_e(r.get('population_used'))}.</p>" if isinstance(r.get("population_used"), str) else ""}
{self._both(m)}
<p class="spc">{self._spc_text(m)}</p>
{self._why(m)}
{chart}
<h4>Commentary</h4>{comment}{change_note}
<p class="to-top"><a href="#top">Back to the top: the month at a glance</a></p>
</section>""")

    def _charts(self, m: Measure) -> str:
        """A KPI page's two charts side by side: its last 13 months, and its XmR chart (24 months) beside the
        verdict, so the verdict can be checked; each SVG with its alt text, or a sentence saying why there is none."""
        from .charts import alt_text, kpi_chart, xmr_alt_text, xmr_chart

        s, spc = self.series(m.ref), self.spc(m.ref)
        first = month_name(s["month"].min())
        if s["value"].notna().any():
            trend = _svg_img(kpi_chart(m, s), alt_text(m, s))
        elif "suppressed" in s and s["suppressed"].any():  # the public version: every figure shown suppressed
            trend = f"<p><em>No chart: every figure from {_e(first)} to {_e(month_name(self.month))} is suppressed ({privacy.SUPPRESSED}).</em></p>"
        else:  # no figure in any month: no chart of target lines alone
            trend = f"<p><em>No chart: no figures for {_e(first)} to {_e(month_name(self.month))}.</em></p>"
        if spc.points["mean"].notna().any():
            xmr = _svg_img(xmr_chart(m, spc), xmr_alt_text(m, spc))
            if self.verdict(m.ref) is not None:  # the verdict's icons under the chart that shows it
                xmr += f'<figcaption class="mdc-pair">{"".join(self._mdc(m))}</figcaption>'
        else:
            xmr = "<p><em>No XmR chart: fewer than two figures to set its limits.</em></p>"
        return f'<div class="charts"><figure>{trend}</figure><figure>{xmr}</figure></div>'

    def _ours(self, m: Measure) -> tuple[str, str]:
        """The council's own published figure and its rank as shown; in the public version a count of 1 to 5 is
        suppressed, and its rank with it (the rank would tell it)."""
        if m.published is None:
            return "", m.rank or ""
        if self.public and m.unit == "count" and privacy.small(m.published)[0]:
            return privacy.SUPPRESSED, ""
        return self._fmt_threshold(m, m.published), m.rank or ""

    def _threshold_or_blank(self, m: Measure, v: float | None) -> str:
        return "" if v is None else self._fmt_threshold(m, v)

    def _fmt_threshold(self, m: Measure, v: float) -> str:
        return f"{v:g}%" if m.unit == "percent" else f"{v:g}"

    def _table(self, measures: list[Measure], caption: str, anchor: str) -> None:
        shown = 6 if self._outturn_head() else 7  # the outturn takes a month's place: the table fits the page
        months = sorted(self.card["month"].unique())[-shown:]
        head = "".join(f'<th scope="col">{pd.Timestamp(x + "-01"):%b-%y}</th>' for x in months)
        body = []
        for m in measures:
            s = self.series(m.ref).set_index("month")
            r = self.latest(m.ref)
            cells = "".join(f"<td>{self._cell(m, s.loc[x])}</td>" for x in months)
            t = "" if pd.isna(r["target"]) else self._fmt_threshold(m, r["target"])
            tol = "" if pd.isna(r["tolerance"]) else self._fmt_threshold(m, r["tolerance"])
            body.append(
                f"<tr><th scope='row'>{_e(m.ref)}</th><td>{_e(m.title)}</td><td>{t}</td><td>{tol}</td>"
                f"{self._outturn_cell(m.ref)}{cells}<td>{_e(self._working(m, r)) if m.unit != 'count' else ''}</td>"
                f"<td>{self._rag(r)}</td></tr>"
            )
        _show(f"""<table id="{anchor}"><caption>{_e(caption)}</caption><thead><tr><th scope="col">Ref</th>
<th scope="col">Measure</th><th scope="col">Target</th><th scope="col">Tolerance</th>{self._outturn_head()}{head}
<th scope="col">Number</th><th scope="col">RAG</th></tr></thead><tbody>{"".join(body)}</tbody></table>""")

    # ------------------------------------------------------------------ appendices
    def definitions(self) -> None:
        rows = []
        for m in self.catalogue.measures:
            changes = "".join(f"<br><em>Changed from {_e(h.start)}:</em> {_e(h.change)}" for h in m.history)
            kpi = f"KPI {m.kpi}" if m.kpi else ""
            rows.append(
                f"<tr><th scope='row'>{_e(m.ref)}</th><td>{kpi}</td><td>{_e(m.title)}</td>"
                f"<td>{_e(m.definition)}{changes}</td><td>{_e(KINDS[m.kind])}</td><td>{_e(m.source)}</td></tr>"
            )
        rows = "".join(rows)
        _show(f"""<h2 id="appendix-definitions">Appendix 1: definitions</h2>
<table><caption>Measure definitions, with changes of definition</caption><thead><tr><th scope="col">Ref</th>
<th scope="col">KPI</th><th scope="col">Measure</th><th scope="col">Definition</th><th scope="col">Kind</th>
<th scope="col">Source</th></tr></thead><tbody>{rows}</tbody></table>""")

    def full_scorecard(self) -> None:
        _show('<h2 id="appendix-scorecard">Appendix 2: scorecard</h2>')
        for key, sec in self.catalogue.sections.items():
            self._table(self.catalogue.section_measures(key), f"Scorecard: {sec.title.lower()}", f"scorecard-{key}")

    def comparators(self) -> None:
        rows = []
        published = any(m.published is not None for m in self.catalogue.measures)
        nation = next((m.national_name for m in self.catalogue.measures if m.national_name != "England"), None)
        published_head = (
            '<th scope="col">Our published figure</th>'
            f'<th scope="col">{"Rank in " + _e(nation.removesuffix(" average")) if nation else "Rank among neighbours; in England"}</th>'
            if published
            else ""
        )
        if nation:  # a nation's published table (A208)
            published_note = (
                f"<p>The {_e(nation)} and our own published figure are from the published table of every council "
                f"of {_e(nation.removesuffix(' average'))}, for the last year it holds before this financial year: "
                "the average is the mean of the councils' published figures (a figure not published left out); the "
                "rank places the council among every council with a published figure, 1st being best, ties sharing "
                "the better place.</p>"
            )
        elif published:
            published_note = (
                "<p>Statistical neighbours, England and our own published figure are the DfE's published figures for "
                "the year shown (the neighbours' figure is the mean of those published); the rank places the council "
                "among itself and its ten statistical neighbours, then among every council with a published figure, "
                "1st being best.</p>"
            )
        else:
            published_note = ""
        for m in self.catalogue.measures:
            if m.statistical_neighbours is None and m.england is None:
                continue
            r = self.latest(m.ref)
            other = (  # published for another definition: said under the title, and no position (A205)
                f"<br><small>Comparators of a different definition: {_e(m.comparator_definition)}; not compared."
                "</small>"
                if m.comparator_definition
                else ""
            )
            rows.append(
                f"<tr><th scope='row'>{_e(m.ref)}</th><td>{_e(m.title)}{other}</td><td>{_e(self._display(r))}</td>"
                + (  # a nation's table has no statistical neighbours: no empty columns for them
                    ""
                    if nation
                    else f"<td>{self._threshold_or_blank(m, m.statistical_neighbours)}</td>"
                    f"<td>{_e(r['vs_statistical_neighbours'] or '')}</td>"
                )
                + f"<td>{self._threshold_or_blank(m, m.england)}</td><td>{_e(r['vs_england'] or '')}</td>"
                f"<td>{_e(m.comparator_year or '')}</td>"
                + ("<td>{}</td><td>{}</td>".format(*map(_e, self._ours(m))) if published else "")
                + "</tr>"
            )
        _show(f"""<h2 id="appendix-comparators">Appendix 3: comparators</h2>
<table><caption>{month_name(self.month)} against {"the " + _e(nation) if nation else "statistical neighbours and England"}</caption><thead><tr>
<th scope="col">Ref</th><th scope="col">Measure</th><th scope="col">{month_name(self.month)}</th>
{"" if nation else '<th scope="col">Statistical neighbours</th><th scope="col">Position</th>'}<th scope="col">{_e(nation or "England")}</th>
<th scope="col">Position</th><th scope="col">Year</th>{published_head}</tr></thead><tbody>{"".join(rows)}</tbody></table>
{published_note}""")

    def data_quality(self) -> None:
        """Rows read, loaded and rejected per table (never the rejected values, which may identify a child)."""
        accounting = self.accounting
        if accounting is None or accounting.empty:
            _show('<h2 id="appendix-data">Appendix 4: data quality</h2><p>No load accounting available.</p>')
            return

        def n(x) -> str:  # a suppressed count is missing in the public version's accounting
            if pd.isna(x):
                return privacy.SUPPRESSED if self.public else "0"
            return f"{int(x):,}"

        rows = "".join(
            f"<tr><th scope='row'>{_e(r.table_name)}</th><td>{_e(r.file if isinstance(r.file, str) else 'not supplied')}</td>"
            f"<td>{n(r.rows_read)}</td><td>{n(r.rows_loaded)}</td><td>{n(r.rows_rejected)}</td>"
            f"<td>{n(getattr(r, 'rows_merged', 0))}</td></tr>"
            for r in accounting.itertuples()
        )
        gaps = ""
        if self.availability is not None and len(self.availability):
            items = "".join(
                f"<li><strong>{_e(r.table_name + ('.' + r.column_name if isinstance(r.column_name, str) else ''))}</strong>: "
                f"{_e(r.reason)}</li>"
                for r in self.availability.itertuples()
            )
            gaps = (
                "<h3>What the data loaded cannot supply</h3><p>Measures that need these are shown as not available, "
                f"not as zero.</p><ul>{items}</ul>"
            )
        _show(f"""<h2 id="appendix-data">Appendix 4: data quality</h2>
<p>The load used by this report (snapshot {_e(self.snapshot.get("snapshot_id", ""))}): every row read was loaded
or rejected with its reason.</p><table><caption>Rows read, loaded and rejected, by table</caption><thead><tr>
<th scope="col">Table</th><th scope="col">Source</th><th scope="col">Read</th><th scope="col">Loaded</th>
<th scope="col">Rejected</th><th scope="col">Merged</th></tr></thead><tbody>{rows}</tbody></table>
<p>Merged: a record given by more than one source (a child in both the SSDA903 and the CIN census), loaded once.</p>
{gaps}""")
