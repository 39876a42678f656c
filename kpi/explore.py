"""Analysts' drill-down: a measure by any breakdown, what drove a change, the records behind a figure.

For JupyterLab and the explore notebooks, never for the report (``cohort`` is record level)::

    from kpi.explore import Explorer
    x = Explorer()                                   # the store's latest snapshot
    x.series("KPI 3")                                # 24 months with RAG and SPC, as the report
    x.breakdown("1.7", "locality", months=13)        # by any breakdown
    x.drivers("1.7", "locality", before="2025-11..2026-04", after="2026-05..2026-10")
    x.cohort("1.7", "2026-10")                       # the referrals behind October's figure
    x.story("1.7").text                              # the SPC verdict and what drove it, in words

How a change is split between groups, and which groups are worth naming: :mod:`kpi.drivers`, which the report
uses too.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .calendar import add_months, month_label, month_start, months_back
from .catalogue import Catalogue, Measure, load
from .drivers import CODE_LABELS, STORY_BREAKDOWNS, decompose, labels, months_of, periods, rank_breakdowns  # noqa: F401
from .engine import BREAKDOWNS, Context, compute
from .engine import cohort as _cohort
from .narrative import _fmt
from .scorecard import DEFAULT_TARGETS, scorecard
from .spc import ASSURANCE_TEXT, SPC, VARIATION_TEXT, spc_of
from .spc import MONTHS as SPC_MONTHS
from .store import connect

# The banner at the top of every working copy of an explore notebook (kpi.runner.with_banner), in JupyterLab and in
# the page `kpi explore` renders: its tables can show children's records (Explorer.cohort).
PERSONAL_DATA = (
    "Personal data: this page can hold children's records (identifiers, dates, characteristics). For the analyst's "
    "own checking only: keep it on the council's systems; never put it in git, a report, an email or a shared folder."
)


def banner():
    """The personal-data banner, for a notebook's first cell (IPython HTML; its styles inline, as the rendered page
    has no JupyterLab theme)."""
    from html import escape

    from IPython.display import HTML

    head, _, rest = PERSONAL_DATA.partition(": ")
    return HTML(
        '<div class="personal-data" role="alert" style="border: 3px solid #b00020; background: #fdecea; '
        'color: #1a1a1a; padding: 0.6rem 0.9rem; margin: 0.3rem 0; font-size: 15px;">'
        f"<strong>{escape(head)}</strong>: {escape(rest)}</div>"
    )


# explore notebooks written about one measure (their text, charts and questions are its): (catalogue, reference)
NOTEBOOK_FOR = {"re_referrals": ("county", "1.7")}


def span_label(months: list[str]) -> str:
    """'October 2026' or 'May to October 2026'."""
    a, b = (pd.Timestamp(m + "-01") for m in (months[0], months[-1]))
    if a == b:
        return f"{b:%B %Y}"
    return f"{a:%B}{'' if a.year == b.year else f' {a.year}'} to {b:%B %Y}"


@dataclass
class Story:
    """The SPC verdict on a measure's latest month and the groups behind its movement."""

    measure: Measure
    month: str
    spc: SPC
    before: list[str]
    after: list[str]
    drivers: dict[str, pd.DataFrame] = field(default_factory=dict)
    group_spc: tuple[str, str, SPC] | None = None  # (breakdown, group, its SPC): the first breakdown's top group

    def top(self, by: str) -> str | None:
        """The group that did most to move the figure the way it moved."""
        d = self.drivers.get(by)
        return None if d is None or d.empty else d["label"].iloc[0]

    @property
    def text(self) -> str:
        m = self.measure
        out = [f"{m.ref} {m.title}: {_verdict(self.spc)}"]
        d = next(iter(self.drivers.values()), None)
        if d is not None:
            a, b = d.attrs["value_before"], d.attrs["value_after"]
            out.append(
                f"It moved from {_fmt(m, a)} ({span_label(self.before)}) to {_fmt(m, b)} ({span_label(self.after)})."
            )
        if self.group_spc is not None:
            by, group, g = self.group_spc
            out.append(f"{group} on its own ({by.replace('_', ' ')}): {_verdict(g)}")
        for by, d in self.drivers.items():
            if d.empty or not d.attrs["change"]:
                continue
            first = d.iloc[0]
            share = first["share_of_change"]
            how = ""
            if pd.notna(first["rate_effect"]) and pd.notna(first["mix_effect"]):
                how = (
                    " mostly through its own figure"
                    if abs(first["rate_effect"]) >= abs(first["mix_effect"])
                    else " mostly through its share of the cases"
                )
            out.append(
                f"By {by.replace('_', ' ')}, {first['label']} did most to move it "
                f"({share:.0%} of the change{',' if how else ''}{how})."
            )
        return " ".join(out)


def _amount(m: Measure, v, signed: bool = False) -> str:
    """A figure, change or contribution of a breakdown's table: a percentage's changes in points, a period's counts
    (months averaged) and rates to one decimal, an average to its measure's decimals."""
    if v is None or pd.isna(v):
        return ""
    places = max(m.decimals, 1) if m.unit in ("percent", "average") else 1
    v = 0.0 if round(v, places) == 0 else v  # not "-0.0"
    text = f"{v:+,.{places}f}" if signed and v else f"{v:,.{places}f}"
    if m.unit == "percent":
        return text + (" pts" if signed else "%")
    return text


def _own(variation, first) -> str:
    """A group's own SPC in a cell: 'concern since May 2026', 'common cause'."""
    if variation is None or pd.isna(variation):
        return ""
    if not str(variation).startswith("special"):
        return "common cause"
    kind = str(variation).removeprefix("special_cause_").replace("neither", "a shift")
    return f"{kind} since {pd.Timestamp(first + '-01'):%b %Y}" if first else kind


def _share(v) -> str:
    return "" if v is None or pd.isna(v) else f"{v:.0%}".replace("-0%", "0%")  # no sign on what rounds to 0


def drivers_view(m: Measure, d: pd.DataFrame, rows: int | None = None) -> pd.DataFrame:
    """A breakdown's groups as an analyst reads them (from :func:`kpi.drivers.rank_breakdowns`'s decompositions):
    group, figure before and after, change, contribution to the change overall, share of the change, share of the
    cases and special cause on its own limits; largest part in the change first, formatted."""
    if d is None:  # a breakdown not tried
        d = pd.DataFrame(columns=["label", "value_before", "value_after", "contribution", "share_of_change", "weight"])
        d = d.assign(group_variation=None, group_since=None)
    d = d.head(rows) if rows else d
    return pd.DataFrame(
        {
            "Group": d["label"].astype(str),
            "Before": [_amount(m, v) for v in d["value_before"]],
            "After": [_amount(m, v) for v in d["value_after"]],
            "Change": [
                _amount(m, b - a, signed=True) for a, b in zip(d["value_before"], d["value_after"], strict=True)
            ],
            "Contribution": [_amount(m, v, signed=True) for v in d["contribution"]],
            "Share of the change": [_share(v) for v in d["share_of_change"]],
            "Share of the cases": [_share(v) for v in d["weight"]],
            "Own SPC": [_own(v, f) for v, f in zip(d["group_variation"], d["group_since"], strict=True)],
        }
    ).set_index("Group")


def ranking_view(ranked: pd.DataFrame) -> pd.DataFrame:
    """The ranking of :func:`kpi.drivers.rank_breakdowns`, formatted: where is it? first."""
    return pd.DataFrame(
        {
            "Rank": [str(r) if pd.notna(r) else "" for r in ranked["rank"]],
            "Breakdown": ranked["breakdown"].str.replace("_", " "),
            "Top group": [
                "" if pd.isna(g) else f"{g} (mostly {w})" if isinstance(w, str) else str(g)
                for g, w in zip(ranked["label"], ranked["within"], strict=True)
            ],
            "Share of the change": [_share(v) for v in ranked["share_of_change"]],
            "Share of the cases": [_share(v) for v in ranked["weight"]],
            "Beyond its size": [f"{v:+.0%}" if v else "" for v in ranked["score"]],
            "Own SPC": [_own(v, f) for v, f in zip(ranked["group_variation"], ranked["group_since"], strict=True)],
            "Note": ranked["note"],
        }
    ).set_index("Rank")


def spc_table(m: Measure, spc: SPC) -> pd.DataFrame:
    """The SPC verdict on the latest month as a small table: figure, mean, process limits, variation, the rules
    that fired, assurance against the target and what was judged."""
    last = spc.latest
    if last is None:
        return pd.DataFrame({"": ["no figures"]}, index=["Variation"])
    rules = str(last["rules"] or "").replace("_", " ").replace(",", ", ")
    rows = {
        "Latest month": span_label([str(last["period"])]),
        "Figure": _amount(m, last["value"]),
        "Mean": _amount(m, last["mean"]),
        "Process limits": f"{_amount(m, last['lpl'])} to {_amount(m, last['upl'])}" if pd.notna(last["upl"]) else "",
        "Variation": VARIATION_TEXT[spc.variation],
        "Rules": rules or "none",
        "Assurance": ASSURANCE_TEXT[spc.assurance] if spc.assurance else "no target",
        "Judged on": spc.basis,
    }
    return pd.DataFrame({"": list(rows.values())}, index=list(rows))


@dataclass
class Panel:
    """A heading, a sentence and a table with a chart beside it, for a notebook (HTML) or a console (text)."""

    heading: str
    sentence: str
    table: pd.DataFrame | None = None
    chart: bytes | None = None

    def _repr_html_(self) -> str:
        table = "" if self.table is None else f'<div style="flex:0 1 24em">{self.table.to_html()}</div>'
        img = (
            f'<img style="{"flex:1 1 32em;min-width:0;" if table else ""}max-width:100%" '
            f'alt="Chart: {html.escape(self.heading)}" '
            f'src="data:image/png;base64,{base64.b64encode(self.chart).decode()}">'
            if self.chart
            else ""
        )
        return (
            f"<h4>{html.escape(self.heading)}</h4><p>{html.escape(self.sentence)}</p>"
            '<div style="display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start">'
            f"{table}{img}</div>"
        )

    def __repr__(self) -> str:
        table = "" if self.table is None else "\n" + self.table.to_string()
        return f"{self.heading}\n{self.sentence}{table}"


def where_text(m: Measure, ranked: pd.DataFrame) -> str:
    """The ranking in words: how the figure moved between the periods compared, the top group and its own SPC,
    and the breakdowns the measure's records have not."""
    out = [f"{m.ref} {m.title}"]
    if ranked.attrs.get("unavailable"):
        return f"{out[0]}: {ranked.attrs['unavailable']}. No records, so no breakdowns."
    if "change" in ranked.attrs:
        a, b = ranked.attrs["value_before"], ranked.attrs["value_after"]
        change = _amount(m, ranked.attrs["change"], signed=True)
        out[0] += (
            f" moved from {_fmt(m, a)} ({span_label(ranked.attrs['before'])}) to {_fmt(m, b)} "
            f"({span_label(ranked.attrs['after'])}), {change}."
        )
    top = ranked[ranked["rank"] == 1]
    if top.empty:
        out.append("No group of any breakdown explains more of the change than its share of the cases.")
    else:
        t = top.iloc[0]
        name = f"{t['label']}{f' (mostly {t.within})' if isinstance(t['within'], str) else ''}"
        own = _own(t["group_variation"], t["group_since"])
        out.append(
            f"Where: {name}, by {t['breakdown'].replace('_', ' ')}: {t['share_of_change']:.0%} of the change with "
            f"{t['weight']:.0%} of the cases; on its own limits {own or 'too few figures to judge'}."
        )
    missing = ranked.loc[ranked["note"].str.startswith("not recorded"), "breakdown"].str.replace("_", " ")
    if len(missing):
        out.append(f"Not recorded for this measure, so not tried: {', '.join(missing)}.")
    return " ".join(out)


def breakdown_tables(m: Measure, ranked: pd.DataFrame, rows: int = 8) -> Panel:
    """Each breakdown tried, in the ranking's order, as :func:`drivers_view` tables (at most ``rows`` groups)."""
    parts = []
    for _, r in ranked.iterrows():
        d = ranked.attrs["drivers"].get(r["breakdown"])
        if d is None:
            continue
        note = f" <em>({html.escape(r['note'])})</em>" if r["note"] else ""
        head = f"<h4>By {html.escape(r['breakdown'].replace('_', ' '))}{note}</h4>"
        parts.append(head + drivers_view(m, d, rows).to_html())
    return _Html("".join(parts), "\n".join(ranked["breakdown"]))


@dataclass
class _Html:
    markup: str
    text: str

    def _repr_html_(self) -> str:
        return self.markup

    def __repr__(self) -> str:
        return self.text


def _verdict(spc: SPC) -> str:
    """'special cause variation: concern (outside limits).': the variation and the rules behind it."""
    rules = spc.latest["rules"].replace("_", " ") if spc.latest is not None else ""
    return VARIATION_TEXT[spc.variation].lower() + (f" ({rules})." if rules else ".")


class Explorer:
    """One snapshot of the store, prepared once for many questions."""

    def __init__(
        self,
        store: Path | str | None = None,
        snapshot: int | None = None,
        catalogue: Catalogue | str = "county",
        targets: Path | str | dict | None = DEFAULT_TARGETS,
        partial: bool = False,
    ):
        """``partial``: the snapshot's partial month (its extract date's, to the day before) may be asked for."""
        from .store import coverage, default_store

        store = Path(store) if store else default_store()
        con, snap = connect(store, snapshot)
        self.context = Context.prepare(con, snap)
        self.snapshot = snap
        self.catalogue = load(catalogue) if isinstance(catalogue, str) else catalogue
        self.targets = targets
        self.coverage = coverage(con, snap, store)
        self.partial = partial
        self.latest_month = self.coverage.last  # the default month, as every command's
        self._labels: dict[str, dict] = {}

    def _month(self, month: str | None) -> str:
        """The month asked (the latest complete one if None), checked as the commands check theirs: a MonthError
        naming the months the snapshot covers if it lies outside them."""
        from .calendar import parse_month

        month = parse_month(month, "month") if month is not None else self.latest_month
        self.coverage.check(month, self.partial, "month")
        return month

    # ---------------------------------------------------------------- measures and series
    def measure(self, name: str) -> Measure:
        """A measure by reference ('1.7') or KPI number ('KPI 3', 'kpi3')."""
        s = str(name).strip()
        if s.lower().startswith("kpi"):
            n = int(s[3:].strip())
            for m in self.catalogue.kpis():
                if m.kpi == n:
                    return m
            raise KeyError(f"no KPI {n} in the {self.catalogue.name} catalogue")
        return self.catalogue[s]

    def series(
        self,
        name: str,
        month: str | None = None,
        months: int = SPC_MONTHS,
        by: str | None = None,
        group: str | None = None,
    ) -> pd.DataFrame:
        """The measure's scorecard rows for ``months`` months to ``month``, with each point's SPC; with ``by``
        and ``group`` (a label or code, e.g. by="locality", group="East"), that group's own series."""
        m = self.measure(name)
        df = self._rows(m, month, months, by, group)
        s = spc_of(m, df)
        cols = ["mean", "lpl", "upl", "variation", "rules"]
        return pd.concat([df.reset_index(drop=True), s.points[cols].reset_index(drop=True)], axis=1)

    def _rows(self, m: Measure, month, months: int, by: str | None, group) -> pd.DataFrame:
        """The scorecard rows of the whole authority, or with ``by`` of one group."""
        if by is None:
            return self._card(m, month, months)
        df = self.breakdown(m.ref, by, month, months)
        rows = df[(df["label"] == group) | (df["group"] == group)]
        if rows.empty:
            raise KeyError(f"no group {group!r} by {by}: choose one of {', '.join(map(str, df['label'].unique()))}")
        return rows.reset_index(drop=True)

    def _card(self, m: Measure, month: str | None, months: int, by: str | None = None) -> pd.DataFrame:
        return scorecard(
            self._month(month),
            months,
            context=self.context,
            catalogue=self.catalogue,
            targets=self.targets,
            measures=[m.ref],
            by=by,
            year_on_year=False,
            monthly=True,  # the SPC of a windowed figure is on its own month's, as in the report (A122)
        )

    def spc(
        self,
        name: str,
        month: str | None = None,
        months: int = SPC_MONTHS,
        by: str | None = None,
        group: str | None = None,
    ) -> SPC:
        """Making Data Count SPC of the measure (or of one group's series), with new limits from each change
        of its definition."""
        m = self.measure(name)
        return spc_of(m, self._rows(m, month, months, by, group))

    def breakdown(self, name: str, by: str, month: str | None = None, months: int = 13) -> pd.DataFrame:
        """The measure by ``by`` (locality, team, age band, ...), one row per month and group, with labels."""
        m = self.measure(name)
        labels = self._label_map(by)
        df = self._card(m, month, months, by=by)
        df.insert(df.columns.get_loc("group") + 1, "label", df["group"].map(labels))
        return df

    def wide(self, name: str, by: str, month: str | None = None, months: int = 13) -> pd.DataFrame:
        """The breakdown as a table: a row per group, a column per month (values)."""
        df = self.breakdown(name, by, month, months)
        return df.pivot_table(index="label", columns="month", values="value", dropna=False, sort=True)

    # ---------------------------------------------------------------- what drove a change
    def drivers(self, name: str, by: str, before, after) -> pd.DataFrame:
        """Each group's part in the change of the measure between two periods, largest first."""
        m = self.measure(name)
        a, b = months_of(before), months_of(after)
        months = sorted(set(a) | set(b))
        self._month(months[-1])  # the latest month compared is one the snapshot covers (earlier ones may precede it)
        groups = compute(self.context, self.catalogue, months, by=by, refs=[m.ref])
        total = compute(self.context, self.catalogue, months, refs=[m.ref])
        out = decompose(m, groups, total, a, b, by)
        out.insert(1, "label", out["group"].map(self._label_map(by)))
        return out

    def windows(self, name: str, month: str | None = None, before=None, after=None) -> tuple[list[str], list[str]]:
        """The months compared: ``before`` and ``after`` as given ('2026-05..2026-10', a month or a list), else the
        story's choice (:func:`kpi.drivers.periods`): the latest signal or 3 months to ``month``, and the 12 before."""
        month = self._month(month if month is not None or after is None else months_of(after)[-1])
        if after is None:
            after = periods(self.spc(name, month), month)[1]
        after = months_of(after)
        if before is None:
            before = months_back(month_label(add_months(month_start(after[0]), -1)), 12)
        return months_of(before), after

    def where(self, name: str, month: str | None = None, by=None, before=None, after=None) -> pd.DataFrame:
        """Where is it? Each breakdown (``by``: one or several; None: every one) ranked by how much of the change
        its groups explain beyond their size, with its top group's own SPC (:func:`kpi.drivers.rank_breakdowns`).
        Breakdowns the measure's records have not, or that repeat another, come last, said why."""
        m = self.measure(name)
        before, after = self.windows(m.ref, month, before, after)
        month = after[-1] if month is None else self._month(month)
        months = sorted(set(months_back(month, SPC_MONTHS)) | set(before) | set(after))
        by = list(BREAKDOWNS) if by is None else [by] if isinstance(by, str) else list(by)
        total = compute(self.context, self.catalogue, months, refs=[m.ref])
        groups = {b: compute(self.context, self.catalogue, months, by=b, refs=[m.ref]) for b in by}
        team_locality = dict(self.context.con.execute("SELECT team_id, locality_id FROM teams").fetchall())
        names = {b: self._label_map(b) for b in by}
        out = rank_breakdowns(m, groups, total, before, after, team_locality, names)
        out.attrs.update(measure=m.ref, month=month, unavailable=self.context.unavailable(m))
        return out

    def top_chart(self, ranked: pd.DataFrame) -> Panel:
        """The ranking's top breakdown month by month, its top group in bold (or why there is none)."""
        first = ranked["breakdown"].iloc[0]
        if first not in ranked.attrs["drivers"]:
            return Panel("No breakdown", "None of the breakdowns is recorded for this measure.")
        m, month, top = ranked.attrs["measure"], ranked.attrs["month"], ranked["label"].iloc[0]
        chart = self.breakdown_chart(m, first, month, highlight=None if pd.isna(top) else top)
        return Panel(f"By {first.replace('_', ' ')}, month by month", "", None, chart)

    def verdict(self, name: str, month: str | None = None, by: str | None = None, group: str | None = None) -> Panel:
        """Is it real? The SPC verdict on the latest month (or a group's, on its own limits) in words
        (:func:`kpi.narrative.spc_sentence`), as a small table, and its XmR chart beside it."""
        from .narrative import spc_sentence

        m = self.measure(name)
        spc = self.spc(m.ref, month, by=by, group=group)
        heading = f"{m.ref} {m.title}" + (f": {group} ({by.replace('_', ' ')}) on its own limits" if group else "")
        return Panel(heading, spc_sentence(spc, m), spc_table(m, spc), self.spc_chart(m.ref, month, by=by, group=group))

    def top_verdict(self, ranked: pd.DataFrame) -> Panel:
        """The verdict on the ranking's top group on its own limits (or why there is none)."""
        top = ranked[ranked["rank"] == 1]
        if top.empty:
            return Panel("No group ranked", "No group of any breakdown explains more of the change than its size.")
        t = top.iloc[0]
        return self.verdict(ranked.attrs["measure"], ranked.attrs["month"], t["breakdown"], t["label"])

    def cohort(
        self,
        name: str,
        month: str | None = None,
        numerator: bool = False,
        by: str | None = None,
        group: str | None = None,
    ) -> pd.DataFrame:
        """The records behind the measure's figure for a month, with child characteristics and team
        (``numerator=True``: only those counted in the numerator; ``by`` and ``group``, a label or code as
        :meth:`series` takes them: only that group's, e.g. by="locality", group="East"). A repeat measure's
        records (re-referrals, repeat plans) carry the earlier one each repeats: previous_id, previous_date.
        Record level: for the analyst only, never for a report or a shared file."""
        from .engine import BREAKDOWNS

        m = self.measure(name)
        if (by is None) != (group is None):
            raise ValueError("cohort: give both by and group (e.g. by='locality', group='East'), or neither")
        if self.context.unavailable(m):  # supplied as figures: no records behind them
            return pd.DataFrame(columns=["record_table", "record_id", "child_id", "numerator", "denominator"])
        df = _cohort(self.context, m, self._month(month))
        if numerator:
            df = df[df["numerator"] > 0]
        if by is not None:
            names = self._label_map(by)  # a ValueError naming the breakdowns for an unknown one
            codes = df[BREAKDOWNS[by]]
            df = df[(codes.astype(str) == str(group)) | (codes.map(names) == group)]
        return df.reset_index(drop=True)

    # ---------------------------------------------------------------- pictures (PNG, for IPython.display.Image)
    def spc_chart(
        self,
        name: str,
        month: str | None = None,
        months: int = SPC_MONTHS,
        by: str | None = None,
        group: str | None = None,
    ) -> bytes:
        from .charts import spc_chart

        return spc_chart(self.measure(name), self.spc(name, month, months, by, group), group)

    def breakdown_chart(
        self, name: str, by: str, month: str | None = None, months: int = 13, highlight: str | None = None
    ) -> bytes:
        from .charts import breakdown_chart

        return breakdown_chart(self.measure(name), self.breakdown(name, by, month, months), highlight)

    def story(
        self,
        name: str,
        month: str | None = None,
        by=STORY_BREAKDOWNS,
        months: int = SPC_MONTHS,
        window: int | None = None,
    ) -> Story:
        """The SPC verdict on the latest month, and for each breakdown which groups drove the movement.

        The change looked at is from the 12 months before the latest signal to the signal itself (its
        special-cause points, at most 6 months), or, with no signal, to the latest 3 months; ``window``
        fixes the months after instead."""
        m = self.measure(name)
        month = self._month(month)
        s = self.spc(m.ref, month, months)
        before, after = periods(s, month, window)
        by = [by] if isinstance(by, str) else list(by)
        drivers = {b: self.drivers(m.ref, b, before, after) for b in by}
        story = Story(m, month, s, before, after, drivers)
        first = by[0] if by else None
        if first and story.top(first) is not None:  # the group that moved it most, on its own limits
            story.group_spc = (first, story.top(first), self.spc(m.ref, month, months, first, story.top(first)))
        return story

    # ---------------------------------------------------------------- labels
    def _label_map(self, by: str):
        if by not in self._labels:
            self._labels[by] = labels(self.context.con, by)
        return self._labels[by]
