"""Measure catalogues: each council's set of measures, declared as data and checked when loaded.

A catalogue is a YAML file in ``kpi/catalogues/`` (``county.yaml`` is the improvement board set of
seed 003). Each measure says what it is (reference, title, section, unit, kind, direction,
definition and its history, data source), what good looks like (target, tolerance, comparators)
and how it is computed: one or more *parts*, each a cohort of records (``events`` dated in a
window, or records ``open`` at the month end) contributing to the numerator and denominator.
:mod:`kpi.engine` turns the parts into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import model
from .errors import UserError
from .files import KeysAsWritten

CATALOGUES = Path(__file__).parent / "catalogues"


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    intro: str = ""


# The sections of a catalogue that declares none (the county improvement board's). A catalogue's own
# `sections:` list gives its report its sections, their order and their introductions.
DEFAULT_SECTIONS = (
    Section(
        "volume",
        "Volume of activity",
        "How much work came in and how many children the service holds: contacts, referrals and re-referrals, "
        "assessments, S47 enquiries and conferences, and children in need, on plans and in care per 10,000 children.",
    ),
    Section(
        "process",
        "Process",
        "How well the work is done and how quickly: timeliness of contacts, assessments, conferences and strategy "
        "meetings; conversion; repeat plans.",
    ),
    Section(
        "impact",
        "Impact",
        "What children experience: visits, placement stability, health, education, and how care leavers are doing.",
    ),
    Section("workforce", "Workforce", "The people doing the work: agency rates, caseloads and supervision."),
    Section(
        "audit", "Audit", "What case audits say about the quality of practice, and whether managers complete them."
    ),
)
SECTIONS = {s.key: s.title for s in DEFAULT_SECTIONS}
UNITS = {"count", "percent", "rate", "average"}
KINDS = {"flow": "flow in the month", "stock": "stock at the month end", "rolling12": "rolling 12 months"}
DIRECTIONS = {"higher", "lower", "none"}  # none: a volume, neither rise nor fall is better (A110)
WINDOWS = {"month", "ytd", "12m", "fy"}  # fy: the whole financial year, months to come included (projections)
# What a measure declared `from: catalogue/ref` takes from that measure: how it is computed and what it means,
# not the other council's targets, comparators, KPI numbers or section.
INHERITED = ("title", "unit", "kind", "direction", "definition", "parts", "decimals", "history", "source", "settles")
PART_KEYS = {
    "events",
    "open",
    "date",
    "start",
    "end",
    "where",
    "num",
    "num_value",
    "den_value",
    "role",
    "key",
    "window",
    "team",
}


class CatalogueError(UserError, ValueError):
    pass


@dataclass(frozen=True)
class Part:
    source: str  # "events" or "open"
    table: str
    date: str | None = None  # events: the date (a column of t, or an expression)
    start: str = "start_date"  # open: the interval
    end: str = "end_date"
    where: str = "TRUE"
    num: str | None = None  # a condition: the row counts in the numerator when true
    num_value: str | None = None  # or a number to add to the numerator
    den_value: str | None = None  # a number to add to the denominator (default 1 for ratios)
    role: str = "both"  # "num" or "den": this part feeds only one side
    key: str = "child_id"  # open: one row per key at each month end
    window: str = "month"  # events: the month, the financial year to date, or the 12 months to its end
    team: str | None = None  # the column of t giving the team for breakdowns (default t.team_id)


# How many months after a change of definition the previous definition is still computed beside the new one, so
# that the board sees what the change did to the figure, as seed 000's paper shows both (A170)
OVERLAP = 6
# What a history entry's `before:` may say of the previous definition; the rest (ref, section, source) is the
# measure's own. title, definition, label and parts are required: a previous definition is computed, not described.
BEFORE_KEYS = {"title", "definition", "label", "parts", "direction", "unit", "kind", "decimals"}
HISTORY_KEYS = {"from", "change", "before", "overlap"}


@dataclass(frozen=True)
class Change:
    """A change of a measure's definition: the first month on the new one (``start``, YYYY-MM), what changed and,
    where the previous definition can be computed from the records, that definition (``before``, a Measure of the
    same reference) with a short ``label`` for the chart ("ever had a plan"), computed for the months before the
    change and the ``overlap`` months from it."""

    start: str
    change: str
    before: Measure | None = None
    label: str = ""
    overlap: int = OVERLAP

    @property
    def until(self) -> str:
        """The first month without the previous definition's figure."""
        y, m = divmod(int(self.start[:4]) * 12 + int(self.start[5:7]) - 1 + self.overlap, 12)
        return f"{y:04d}-{m + 1:02d}"

    def covers(self, month: str) -> bool:
        """Whether the previous definition is computed for ``month``."""
        return month < self.until


@dataclass(frozen=True)
class Measure:
    ref: str
    title: str
    section: str
    unit: str
    kind: str
    direction: str | None  # None: a volume, described neutrally (rose, fell), with no RAG
    definition: str
    parts: tuple[Part, ...]
    decimals: int = 0
    target: float | None = None
    tolerance: float | None = None
    statistical_neighbours: float | None = None
    england: float | None = None
    comparator_year: str | None = None
    # what the comparators count where it is not the measure's definition ("any previous plan"): shown beside
    # them, and the figure is not judged better or worse against them (A205)
    comparator_definition: str | None = None
    national_name: str = "England"  # the name of the national figure `england` ("Wales average": A208)
    # where the DfE's published tables hold this measure: {table, value, where} (kpi.comparators)
    dfe: dict | None = None
    published: float | None = None  # the council's own published figure, for the comparator year
    rank: str | None = None  # its position among its statistical neighbours ("3rd of 11")
    source: str = ""
    kpi: int | None = None
    kpi_title: str | None = None
    history: tuple[Change, ...] = ()
    supplied: bool = False  # no records in the data model: given as monthly figures (aggregates file) only
    # days after the month's end before its figure is final (outcomes of the month's events come later): a month
    # whose end plus these days is after the extract date is provisional (kpi.scorecard, A200)
    settles: int | None = None

    @property
    def before(self) -> Change | None:
        """The change of definition whose previous definition is computed beside this one (at most one)."""
        return next((h for h in self.history if h.before is not None), None)

    @property
    def yearly(self) -> bool:
        """Its figure counts from April (year to date, or the whole year's projection): each financial year's
        series starts again."""
        return any(p.window in ("ytd", "fy") for p in self.parts)

    def comparator_name(self, which: str) -> str:
        """A comparator's name as the report shows it: "England", "Neighbours"; with its definition where it is
        not the measure's ("England, any previous plan")."""
        name = self.national_name if which == "england" else "Neighbours"
        return f"{name}, {self.comparator_definition}" if self.comparator_definition else name

    @property
    def label(self) -> str:
        return f"KPI {self.kpi}" if self.kpi else self.ref


@dataclass
class Catalogue:
    name: str
    title: str
    council: str
    measures: list[Measure]
    path: Path | None = None
    sections: dict[str, Section] = field(default_factory=lambda: {s.key: s for s in DEFAULT_SECTIONS})
    by_ref: dict[str, Measure] = field(init=False)
    quarterly: bool = False  # `reported: quarterly`: a quarter's scorecard, beside last year's outturn (A109)

    def __post_init__(self):
        self.by_ref = {m.ref: m for m in self.measures}

    def section_measures(self, key: str) -> list[Measure]:
        return [m for m in self.measures if m.section == key]

    def __getitem__(self, ref: str) -> Measure:
        try:
            return self.by_ref[str(ref)]
        except KeyError:
            raise KeyError(f"no measure {ref!r} in the {self.name} catalogue") from None

    def kpis(self) -> list[Measure]:
        return sorted((m for m in self.measures if m.kpi), key=lambda m: m.kpi)


def _num(v, where: str, field_: str) -> float | None:
    if v is None or v == "TBC":
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        raise CatalogueError(f"{where}: {field_} must be a number or TBC, not {v!r}") from None


def _part(d: dict, where: str) -> Part:
    unknown = set(d) - PART_KEYS
    if unknown:
        raise CatalogueError(f"{where}: unknown part field(s) {', '.join(sorted(unknown))}")
    if ("events" in d) == ("open" in d):
        raise CatalogueError(f"{where}: a part is either `events: TABLE` or `open: TABLE`")
    source = "events" if "events" in d else "open"
    table = d[source]
    if table not in model.TABLE_BY_NAME:
        raise CatalogueError(f"{where}: no table {table!r} in the data model")
    if source == "events" and not d.get("date"):
        raise CatalogueError(f"{where}: an events part needs `date`")
    if d.get("window", "month") not in WINDOWS:
        raise CatalogueError(f"{where}: window must be one of {', '.join(sorted(WINDOWS))}")
    if d.get("role", "both") not in ("both", "num", "den"):
        raise CatalogueError(f"{where}: role must be num or den")
    if d.get("num") and d.get("num_value"):
        raise CatalogueError(f"{where}: give num (a condition) or num_value (a number), not both")
    fields = {k: v for k, v in d.items() if k not in ("events", "open")}
    return Part(source=source, table=table, **{k: str(v) for k, v in fields.items()})


def _measure(d: dict, where: str, sections: dict[str, Section]) -> Measure:
    for f in ("ref", "title", "section", "unit", "kind", "direction", "definition") + (
        () if d.get("supplied") else ("parts",)
    ):
        if f not in d:
            raise CatalogueError(f"{where}: missing {f}")
    ref = str(d["ref"])
    where = f"{where} (measure {ref})"
    if d["section"] not in sections:
        raise CatalogueError(
            f"{where}: section must be one of the catalogue's sections ({', '.join(sections)}), not {d['section']!r}"
        )
    if d["unit"] not in UNITS:
        raise CatalogueError(f"{where}: unit must be one of {', '.join(sorted(UNITS))}, not {d['unit']!r}")
    if d["kind"] not in KINDS:
        raise CatalogueError(f"{where}: kind must be one of {', '.join(KINDS)}, not {d['kind']!r}")
    if d["direction"] not in DIRECTIONS:
        raise CatalogueError(f"{where}: direction must be higher, lower or none, not {d['direction']!r}")
    target = _num(d.get("target"), where, "target")
    tolerance = _num(d.get("tolerance"), where, "tolerance")
    if d["direction"] == "none" and (target is not None or tolerance is not None):
        raise CatalogueError(f"{where}: direction none (a volume) has no target or tolerance: give it a direction")
    if target is not None and tolerance is not None:
        wrong = tolerance > target if d["direction"] == "higher" else tolerance < target
        if wrong:
            side = "below" if d["direction"] == "higher" else "above"
            raise CatalogueError(
                f"{where}: {d['direction']} is better, so the tolerance ({tolerance:g}) must lie {side} "
                f"or at the target ({target:g})"
            )
    comp = d.get("comparators") or {}
    dfe = comp.get("dfe")
    if dfe is not None and (
        not isinstance(dfe, dict) or not {"table", "value"} <= set(dfe) or set(dfe) - {"table", "value", "where"}
    ):
        raise CatalogueError(f"{where}: comparators.dfe needs `table` and `value` (and optionally `where`)")
    unknown = set(comp) - {"statistical_neighbours", "england", "year", "dfe", "definition"}
    if unknown:
        raise CatalogueError(f"{where}: unknown comparators field(s) {', '.join(sorted(unknown))}")
    if "definition" in comp and not (isinstance(comp["definition"], str) and comp["definition"].strip()):
        raise CatalogueError(f"{where}: comparators.definition: expected what the comparators count, in words")
    window = d.get("window")  # the measure's window for every events part (a set's year-to-date version)
    parts = tuple(
        _part({**p, "window": window} if window and "events" in p else p, f"{where} part {i + 1}")
        for i, p in enumerate(d.get("parts") or [])
    )
    if d.get("supplied") and parts:
        raise CatalogueError(f"{where}: a supplied measure has no parts (its figures come from the aggregates file)")
    if (
        parts
        and d["unit"] in ("percent", "average")
        and not any(p.num or p.num_value or p.role == "num" for p in parts)
    ):
        raise CatalogueError(f"{where}: a {d['unit']} needs a numerator: num or num_value, or a part with role num")
    history = _history(d, where, sections)
    settles = d.get("settles")
    if settles is not None and (isinstance(settles, bool) or not isinstance(settles, int) or not 0 < settles <= 366):
        raise CatalogueError(
            f"{where}: settles must be a whole number of days from 1 to 366 (how long after the month's end its "
            f"figure is final), not {settles!r}"
        )
    return Measure(
        ref=ref,
        title=d["title"],
        section=d["section"],
        unit=d["unit"],
        kind=d["kind"],
        direction=None if d["direction"] == "none" else d["direction"],
        definition=" ".join(str(d["definition"]).split()),
        parts=parts,
        decimals=int(d.get("decimals", 2 if d["unit"] == "average" else 0)),
        target=target,
        tolerance=tolerance,
        statistical_neighbours=_num(comp.get("statistical_neighbours"), where, "statistical_neighbours"),
        england=_num(comp.get("england"), where, "england"),
        comparator_year=comp.get("year"),
        comparator_definition=" ".join(comp["definition"].split()) if comp.get("definition") else None,
        dfe={**dfe, "where": {str(k): str(v) for k, v in (dfe.get("where") or {}).items()}} if dfe else None,
        source=d.get("source", ""),
        kpi=d.get("kpi"),
        kpi_title=d.get("kpi_title"),
        history=history,
        supplied=bool(d.get("supplied", False)),
        settles=settles,
    )


def _history(d: dict, where: str, sections: dict[str, Section]) -> tuple[Change, ...]:
    """A measure's history: its changes of definition, each with the previous definition's computation if given."""
    import re

    items = d.get("history") or []
    if not isinstance(items, list):
        raise CatalogueError(f"{where}: history must be a list of {{from, change}} entries")
    out = []
    for i, h in enumerate(items):
        at = f"{where} history entry {i + 1}"
        if not isinstance(h, dict) or not {"from", "change"} <= set(h):
            raise CatalogueError(f"{where}: each history entry needs `from` (YYYY-MM) and `change`")
        unknown = set(h) - HISTORY_KEYS
        if unknown:
            raise CatalogueError(
                f"{at}: unknown field(s) {', '.join(sorted(unknown))}; expected {', '.join(sorted(HISTORY_KEYS))}"
            )
        start = str(h["from"])
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", start):
            raise CatalogueError(f"{at}: from must be a month YYYY-MM (2024-12), not {h['from']!r}")
        overlap = h.get("overlap", OVERLAP)
        if isinstance(overlap, bool) or not isinstance(overlap, int) or not 0 <= overlap <= 24:
            raise CatalogueError(f"{at}: overlap must be a whole number of months from 0 to 24, not {overlap!r}")
        before, label = None, ""
        if h.get("before") is not None:
            b = h["before"]
            if not isinstance(b, dict):
                raise CatalogueError(f"{at}: before must be a mapping (title, definition, label, parts, ...)")
            unknown = set(b) - BEFORE_KEYS
            if unknown:
                raise CatalogueError(
                    f"{at}: before: unknown field(s) {', '.join(sorted(unknown))}; expected {', '.join(sorted(BEFORE_KEYS))}"
                )
            missing = [k for k in ("title", "definition", "label", "parts") if not b.get(k)]
            if missing:
                raise CatalogueError(f"{at}: before needs {', '.join(missing)}: the previous definition, computed")
            own = {k: d[k] for k in ("ref", "section", "unit", "kind", "direction", "decimals", "source") if k in d}
            label = " ".join(str(b["label"]).split())
            b = {k: v for k, v in b.items() if k != "label"}
            before = _measure({**own, **b}, f"{at} before", sections)
        out.append(Change(start, " ".join(str(h["change"]).split()), before, label, overlap))
    if sum(c.before is not None for c in out) > 1:
        raise CatalogueError(f"{where}: only one history entry may carry `before` (the previous definition)")
    return tuple(out)


def _inherit(d: dict, where: str, read: dict, seen: tuple[str, ...] = ()) -> dict:
    """A measure declared ``from: catalogue/ref``: that measure's computation and meaning, then this entry's
    own fields over them. ``read`` keeps each other catalogue's measures once parsed (a set reusing a dozen
    county measures would otherwise parse the county's file a dozen times, in every report notebook)."""
    if "from" not in d:
        return d
    src = str(d["from"])
    name, _, ref = src.partition("/")
    if not ref:
        raise CatalogueError(f"{where}: from must be CATALOGUE/REF (county/1.7), not {src!r}")
    if src in seen:
        raise CatalogueError(f"{where}: from {src} refers back to itself")
    path = CATALOGUES / f"{name}.yaml"
    if not path.exists():
        raise CatalogueError(f"{where}: from {src}: no catalogue {name!r}")
    if name not in read:
        read[name] = {str(m.get("ref")): m for m in (read_yaml(path.read_text()) or {}).get("measures", [])}
    base = read[name].get(ref)
    if base is None:
        raise CatalogueError(f"{where}: from {src}: no measure {ref} in the {name} catalogue")
    base = _inherit(base, f"{path} (measure {ref})", read, (*seen, src))
    out = {k: base[k] for k in INHERITED if k in base}
    dfe = (base.get("comparators") or {}).get("dfe")
    if d.get("unit", base.get("unit")) != base.get("unit"):
        dfe = None  # a count of what is published as a rate is not comparable with it
    # where the definition is published comes with it, and what that published figure counts where it differs;
    # the other council's comparator figures do not
    published = (
        {"dfe": dfe} | {k: v for k, v in (base.get("comparators") or {}).items() if k == "definition"} if dfe else {}
    )
    if dfe:
        out["comparators"] = published
    own = {k: v for k, v in d.items() if k != "from"}
    if dfe and "comparators" in own and "dfe" not in (own["comparators"] or {}):
        own["comparators"] = {**published, **own["comparators"]}
    return out | own


def read_yaml(text: str):
    """YAML as safe_load reads it, with libyaml's C parser where PyYAML has it (ten times faster: the
    catalogue is read by every report notebook)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def parse(text: str, name: str = "catalogue", path: Path | None = None) -> Catalogue:
    try:
        doc = read_yaml(text)
    except yaml.YAMLError as e:
        raise CatalogueError(f"{path or name}: not valid YAML: {e}") from None
    where = str(path or name)
    if not isinstance(doc, dict) or "measures" not in doc:
        raise CatalogueError(f"{where}: expected a mapping with `measures`")
    if not isinstance(doc["measures"], list) or not doc["measures"]:
        raise CatalogueError(f"{where}: measures: expected a list of one measure or more")
    sections = _sections(doc.get("sections"), where)
    read: dict = {}
    measures = [_measure(_inherit(m, where, read), where, sections) for m in doc["measures"]]
    refs = [m.ref for m in measures]
    dupes = sorted({r for r in refs if refs.count(r) > 1})
    if dupes:
        raise CatalogueError(f"{where}: measure reference(s) {', '.join(dupes)} declared more than once")
    kpis = [m.kpi for m in measures if m.kpi]
    dupes = sorted({k for k in kpis if kpis.count(k) > 1})
    if dupes:
        raise CatalogueError(f"{where}: KPI number(s) {', '.join(map(str, dupes))} given to more than one measure")
    empty = [k for k in sections if not any(m.section == k for m in measures)]
    if empty:
        raise CatalogueError(f"{where}: section(s) {', '.join(empty)} have no measures")
    if doc.get("reported", "monthly") not in ("monthly", "quarterly"):
        raise CatalogueError(f"{where}: reported must be monthly or quarterly, not {doc['reported']!r}")
    return Catalogue(
        name=name,
        title=doc.get("title", name),
        council=doc.get("council", ""),
        measures=measures,
        path=path,
        sections=sections,
        quarterly=doc.get("reported") == "quarterly",
    )


def _sections(items, where: str) -> dict[str, Section]:
    if items is None:
        return {s.key: s for s in DEFAULT_SECTIONS}
    if not isinstance(items, list) or not all(isinstance(i, dict) and {"key", "title"} <= set(i) for i in items):
        raise CatalogueError(f"{where}: sections must be a list of {{key, title, intro}}")
    keys = [str(i["key"]) for i in items]
    if len(set(keys)) != len(keys):
        raise CatalogueError(f"{where}: a section key is declared more than once")
    return {
        str(i["key"]): Section(str(i["key"]), str(i["title"]), " ".join(str(i.get("intro", "")).split())) for i in items
    }


def previous(catalogue: Catalogue, refs: list[str] | None = None) -> Catalogue:
    """The previous definitions of the catalogue's measures (of ``refs``) whose history gives one (:class:`Change`):
    a catalogue of them, each under its measure's reference, for the engine to compute."""
    measures = [catalogue[r] for r in refs] if refs else catalogue.measures
    before = [m.before.before for m in measures if m.before]
    sections = {m.section: catalogue.sections[m.section] for m in before}
    return Catalogue(catalogue.name, catalogue.title, catalogue.council, before, catalogue.path, sections)


def load(name_or_path: str | Path = "county") -> Catalogue:
    """A catalogue by name (``county``) or path (a .yaml file)."""
    p = Path(name_or_path)
    known = ", ".join(sorted(x.stem for x in CATALOGUES.glob("*.yaml")))
    named = not p.suffix and len(p.parts) == 1 and not p.exists()  # a name (a file or folder here is a path)
    if named:
        p = CATALOGUES / f"{name_or_path}.yaml"
        if not p.exists():
            raise CatalogueError(f"no catalogue {str(name_or_path)!r} (known: {known})")
    elif p.suffix.lower() not in (".yaml", ".yml") or p.is_dir():
        raise CatalogueError(
            f"{p}: not a catalogue; expected a YAML file of measures (.yaml) or a catalogue's name ({known})"
        )
    elif not p.is_file():
        raise CatalogueError(f"{p}: no such file; expected a YAML file of measures (.yaml) or a name ({known})")
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise CatalogueError(f"{p}: cannot be read: {getattr(e, 'strerror', None) or e}") from None
    return parse(text, p.stem, p)


def targets_for(measure: Measure, month: str, overrides: dict | None) -> tuple[float | None, float | None]:
    """Target and tolerance in force for a month: a financial year's override, else the catalogue's.

    ``overrides`` is the parsed ``params/targets.yaml``: ``{"2025-26": {"1.7": {"target": 17, "tolerance": 20}}}``.
    """
    target, tolerance = measure.target, measure.tolerance
    if overrides:
        y, m = int(month[:4]), int(month[5:7])
        start = y if m >= 4 else y - 1
        fy = f"{start}-{(start + 1) % 100:02d}"
        o = (overrides.get(fy) or {}).get(measure.ref)
        if o:
            target = _num(o.get("target", target), f"targets {fy}", "target")
            tolerance = _num(o.get("tolerance", tolerance), f"targets {fy}", "tolerance")
    return target, tolerance


TARGETS = Path(__file__).resolve().parent.parent / "params" / "targets.yaml"  # the project's, wherever kpi runs


def load_targets(path: Path | str | None, catalogue: Catalogue) -> dict | None:
    """A targets file, checked (a CatalogueError naming the file, year and measure): financial years YYYY-YY, each
    a mapping of the catalogue's measures to ``{target: N, tolerance: N}``, each a finite number or TBC, the
    tolerance on the worse side of the target. Keys are read as written (``6.10:`` is measure 6.10, not 6.1) and
    a key given twice is refused. None when ``path`` is None or (the project's default) does not exist."""
    import math
    import re

    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        raise CatalogueError(f"targets: no file {path}; expected a YAML file of targets by financial year")
    try:
        doc = yaml.load(path.read_text(), Loader=KeysAsWritten)
    except yaml.MarkedYAMLError as e:  # where in the file, not in the text given to YAML
        mark = e.problem_mark or e.context_mark
        raise CatalogueError(
            f"{path}: cannot be read as YAML: line {mark.line + 1}: {e.problem or e.context}"
        ) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise CatalogueError(f"{path}: cannot be read as YAML: {' '.join(str(e).split())}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise CatalogueError(f"{path}: expected a mapping of financial years (2026-27) to measures")
    out = {}
    for year, measures in doc.items():
        year = str(year)
        if not re.fullmatch(r"\d{4}-\d{2}", year) or (int(year[:4]) + 1) % 100 != int(year[5:]):
            raise CatalogueError(f"{path}: {year}: expected a financial year YYYY-YY (2026-27)")
        if measures is None:
            measures = {}
        if not isinstance(measures, dict):
            raise CatalogueError(f"{path}: {year}: expected a mapping of measures to {{target: N, tolerance: N}}")
        out[year] = {}
        for ref, t in measures.items():
            ref = str(ref)
            if ref not in catalogue.by_ref:
                raise CatalogueError(f"{path}: {year}: no measure {ref} in the {catalogue.name} catalogue")
            if not isinstance(t, dict) or not set(t) <= {"target", "tolerance"}:
                raise CatalogueError(f"{path}: {year}: {ref}: expected {{target: N, tolerance: N}}, not {t!r}")
            for k, v in t.items():
                if isinstance(v, bool) or (isinstance(v, float) and not math.isfinite(v)):
                    raise CatalogueError(f"{path}: {year}: {ref}: {k} must be a number or TBC, not {v!r}")
            out[year][ref] = t
            m = catalogue[ref]
            if m.direction is None:
                raise CatalogueError(f"{path}: {year}: {ref}: a volume (direction none in the catalogue) has no target")
            target, tolerance = targets_for(m, f"{year[:4]}-04", {year: {ref: t}})  # each a number or TBC
            if None not in (target, tolerance) and (
                tolerance > target if m.direction == "higher" else tolerance < target
            ):
                raise CatalogueError(
                    f"{path}: {year}: {ref}: tolerance {tolerance:g} is on the better side of target {target:g}; "
                    f"expected it {'below' if m.direction == 'higher' else 'above'} ({m.direction} is better)"
                )
    return out
