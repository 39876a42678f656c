"""Monthly parameters: one YAML per month in ``params/`` (``params/2026-10.yaml``).

    month: 2026-10
    council: Synthshire County Council
    snapshot: 3              # the store snapshot the report is built from (omit: the latest)
    catalogue: county
    la_code: 825             # the council's DfE code: statistical neighbours, England and rank from the
                             # DfE's published tables (data/comparators); omit: the catalogue's figures
    published: ../data/comparators/published_wales.csv
                             # or a nation's published table (`kpi comparators import FILE.csv --nation
                             # Wales`): la_code is then the council's code in it (W06000010); its average,
                             # the council's published figure and rank among the nation's councils
    commentary:              # the managers' text per measure reference; drafts are used where absent
      "1.7": |
        Re-referrals rose ...
    notes: Anything the board should know about this month's data.

``kpi params new YYYY-MM`` starts one from the previous month's, with drafted commentary for managers
to edit.

Every field is checked, and a mistake is an error naming the file, the field and what was expected, never
ignored: :func:`parse` checks each field's form, :func:`check` what needs the store, the catalogue or the
published comparators (docs/assumptions.md A62). A path (``catalogue``, ``aggregates``) is read from the
params file's folder when relative, and must lie inside the project or that folder: a params file cannot
make a report read files from elsewhere (a file named on the command line can: ``kpi measures --aggregates``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .calendar import MonthError, parse_month
from .errors import UserError
from .files import KeysAsWritten

ROOT = Path(__file__).resolve().parent.parent
PARAMS_DIR = ROOT / "params"  # the project's, wherever it runs from
FIELDS = {
    "month",
    "council",
    "snapshot",
    "catalogue",
    "commentary",
    "notes",
    "public",
    "la_code",
    "comparator_year",
    "aggregates",
    "published",
}


class ParamsError(UserError, ValueError):
    pass


@dataclass
class MonthParams:
    month: str
    council: str = ""
    snapshot: int | None = None
    catalogue: str = "county"  # a name in kpi/catalogues, or the path of a catalogue file (checked, absolute)
    commentary: dict[str, str] = field(default_factory=dict)
    notes: str = ""
    public: bool = False
    la_code: str | None = None  # the council's DfE code (old_la_code): published comparators and rank
    comparator_year: str | None = None  # the DfE year to compare with (default: the latest published)
    aggregates: Path | None = None  # monthly figures of measures without records (kpi.aggregates), beside the store's
    published: Path | None = None  # a nation's published table (kpi.comparators.import_published), la_code's in it
    path: Path | None = None


def _text(doc: dict, key: str, where: str) -> str:
    v = doc.get(key)
    if v is None:
        return ""
    if isinstance(v, dict | list):
        raise ParamsError(f"{where}: {key}: expected text, not a {'mapping' if isinstance(v, dict) else 'list'}")
    return str(v).strip()


def parse(doc: dict, where: str, base: Path | None = None) -> MonthParams:
    """The params of a parsed YAML document, each field's form checked; ``base``: the folder relative paths are
    read from (the params file's), and the folder besides the project they may lie in."""
    if not isinstance(doc, dict):
        raise ParamsError(f"{where}: expected a mapping of month, council, commentary, ...")
    unknown = set(doc) - FIELDS
    if unknown:
        raise ParamsError(
            f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}; expected {', '.join(sorted(FIELDS))}"
        )
    try:  # the months of every command: calendar.parse_month
        month = parse_month("" if doc.get("month") is None else doc["month"], "month")
    except MonthError as e:
        raise ParamsError(f"{where}: {e}") from None
    snap = doc.get("snapshot")
    # a bool is an int to Python; 0 was once read as "the latest"
    if snap is not None and (isinstance(snap, bool) or not isinstance(snap, int) or snap < 1):
        raise ParamsError(
            f"{where}: snapshot: expected a snapshot number of the store (1 or more; `kpi snapshots` lists them), or "
            f"no snapshot field for the latest; not {snap!r}"
        )
    public = doc.get("public", False)
    if not isinstance(public, bool):  # "false" as text is true to Python
        raise ParamsError(f"{where}: public: expected true or false (without quotes), not {public!r}")
    commentary = doc.get("commentary") or {}
    if not isinstance(commentary, dict):
        raise ParamsError(f"{where}: commentary: expected a mapping of measure references to text")
    for k, v in commentary.items():
        if isinstance(v, dict | list):
            raise ParamsError(f"{where}: commentary: {k}: expected text, not a {type(v).__name__}")
    la_code = doc.get("la_code")
    published = _text(doc, "published", where)
    if published and la_code is not None and (isinstance(la_code, bool) or not str(la_code).strip()):
        raise ParamsError(f"{where}: la_code: expected the council's code in the published table, not {la_code!r}")
    if published and doc.get("comparator_year") is not None:
        raise ParamsError(
            f"{where}: comparator_year: a year of the DfE's figures; a published table is compared at the last year "
            f"it holds before the month's financial year"
        )
    if published and la_code is None:
        raise ParamsError(f"{where}: published: needs la_code, the council's code in the published table")
    if (
        not published
        and la_code is not None
        and (isinstance(la_code, bool) or not re.fullmatch(r"\d{3}", str(la_code).strip()))
    ):
        raise ParamsError(
            f"{where}: la_code: expected the DfE code of an English council, three digits (825), not {la_code!r}"
        )
    year = doc.get("comparator_year")
    if year is not None and (isinstance(year, bool) or not re.fullmatch(r"\d{4}", str(year).strip())):
        raise ParamsError(
            f"{where}: comparator_year: expected a year of the DfE's published figures (2025), not {year!r}"
        )
    catalogue = _text(doc, "catalogue", where) or "county"
    if Path(catalogue).suffix or "/" in catalogue:  # a path, not a name
        catalogue = str(_inside(catalogue, "catalogue", where, base))
    aggregates = _text(doc, "aggregates", where)
    return MonthParams(
        month=month,
        council=_text(doc, "council", where),
        snapshot=snap,
        catalogue=catalogue,
        commentary={str(k): str(v).strip() for k, v in commentary.items() if v},
        notes=_text(doc, "notes", where),
        public=public,
        la_code=str(la_code).strip() if la_code is not None else None,
        comparator_year=str(year).strip() if year is not None else None,
        aggregates=_inside(aggregates, "aggregates", where, base) if aggregates else None,
        published=_inside(published, "published", where, base) if published else None,
    )


def _inside(text: str, key: str, where: str, base: Path | None) -> Path:
    """A file a params file names: read from the params file's folder when relative; it must exist and lie inside
    the project or that folder (links followed)."""
    base = (base or Path.cwd()).resolve()
    path = (base / Path(text).expanduser()).resolve()
    allowed = [ROOT, base]
    if not any(path.is_relative_to(d) for d in allowed):
        raise ParamsError(
            f"{where}: {key}: {text} lies outside the project ({ROOT}) and the params file's folder; expected a "
            f"file inside them (a file elsewhere can be given on the command line)"
        )
    if not path.is_file():
        raise ParamsError(f"{where}: {key}: no file {path}; expected an existing file (relative to {base})")
    return path


def load(path: Path | str) -> MonthParams:
    path = Path(path)
    try:
        doc = yaml.load(path.read_text(), Loader=KeysAsWritten)
    except OSError as e:
        raise ParamsError(f"{path}: cannot be read: {e.strerror}; expected a params file (YAML)") from None
    except (UnicodeDecodeError, yaml.YAMLError) as e:
        raise ParamsError(f"{path}: cannot be read as YAML: {' '.join(str(e).split())}") from None
    p = parse(doc, str(path), path.parent)
    p.path = path
    return p


def for_month(month: str, directory: Path = PARAMS_DIR) -> MonthParams:
    """The month's params file if there is one, else defaults (all commentary drafted)."""
    path = Path(directory) / f"{month}.yaml"
    if path.exists():
        p = load(path)
        if p.month != month:
            raise ParamsError(f"{path}: month: says {p.month}, not {month} as its name does")
        return p
    return MonthParams(month=month)


def check(p: MonthParams, comparators: Path | None = None):
    """What a params file names outside itself, checked (a ParamsError naming the file and field): its catalogue
    can be read, the commentary is for KPIs of it, the council's code and year are in the published comparators,
    every row of the aggregates is read. (The snapshot: :func:`kpi.store.open_snapshot`.) Returns the catalogue,
    with the council's published comparators."""
    from . import aggregates as agg
    from . import comparators as cp
    from .catalogue import load as load_catalogue
    from .errors import LoadError

    where = str(p.path) if p.path else f"the params of {p.month}"
    try:
        cat = load_catalogue(p.catalogue)
    except UserError as e:
        raise ParamsError(f"{where}: catalogue: {e}") from None
    kpis = {m.ref for m in cat.kpis()}
    wrong = [r for r in p.commentary if r not in kpis]
    if wrong:
        what = "is not a KPI" if wrong[0] in cat.by_ref else "is no measure"
        raise ParamsError(
            f"{where}: commentary: {wrong[0]} {what} of the {cat.name} catalogue (commentary is shown on KPI pages); "
            f"expected a KPI's reference: {', '.join(m.ref for m in cat.kpis())}"
        )
    if p.comparator_year and not p.la_code:
        raise ParamsError(f"{where}: comparator_year: needs la_code, the council whose published figures it compares")
    if p.published:
        try:
            table = cp.read_published(p.published)
        except LoadError as e:
            raise ParamsError(f"{where}: published: {e}") from None
        if p.la_code not in set(table["la_code"]):
            raise ParamsError(
                f"{where}: la_code: {p.la_code} is not a council of the published table {p.published} "
                f"({table['la_code'].nunique()} councils of {table['nation'].iloc[0]})"
            )
        cat = cp.council_catalogue(cat, p.la_code, p.month, published=p.published)
    elif p.la_code:
        try:
            figures, neighbours = cp.read(comparators or cp.DEFAULT_DIR)
        except LoadError as e:
            raise ParamsError(f"{where}: la_code: {e}") from None
        codes = set(neighbours["la_code"])
        if p.la_code not in codes:
            raise ParamsError(
                f"{where}: la_code: {p.la_code} is not the DfE code of an English council in the published "
                f"comparators ({len(codes)} councils; e.g. 825 Buckinghamshire)"
            )
        years = sorted(set(figures["year"].astype(str)))
        if p.comparator_year and p.comparator_year not in years:
            raise ParamsError(
                f"{where}: comparator_year: the published comparators hold no year {p.comparator_year}; expected one "
                f"of {years[0]} to {years[-1]}"
            )
        cat = cp.apply(cat, cp.for_council(cat, p.la_code, figures, neighbours, year=p.comparator_year))
    if p.aggregates:
        try:
            _, rejects = agg.read(p.aggregates, cat)
        except LoadError as e:
            raise ParamsError(f"{where}: aggregates: {e}") from None
        if len(rejects):
            r = rejects.iloc[0]
            more = f" (and {len(rejects) - 1} more rejected rows)" if len(rejects) > 1 else ""
            raise ParamsError(
                f"{where}: aggregates: {p.aggregates} row {r['row']}, column {r['column_name']}: {r['value']!r}: "
                f"{r['reason']}{more}; `kpi measures --aggregates {p.aggregates} --month MONTH` lists every row"
            )
    return cat


COMMENTARY_HELP = (
    "# commentary: each KPI's, in Markdown (- a bullet, 1. a numbered item, **bold**, *italics*, a blank line\n"
    "# between paragraphs); HTML is shown as typed. Remove DRAFT once a manager has written it.\n"
)


def dump(p: MonthParams, titles: dict[str, str] | None = None) -> str:
    """The params as YAML; ``titles``: what each commentary entry's reference is ("KPI 3: % of re-referrals"), written
    as a comment beside it, so whoever edits it knows which KPI it is (A105). Commentary is written as a literal
    block (its lines as typed: a manager's Markdown list stays a list), or quoted where a block cannot hold it."""
    doc = {"month": p.month, "council": p.council}
    if p.snapshot is not None:
        doc["snapshot"] = p.snapshot
    doc["catalogue"] = p.catalogue
    if p.public:
        doc["public"] = True
    if p.la_code:
        doc["la_code"] = p.la_code
    if p.comparator_year:
        doc["comparator_year"] = p.comparator_year
    if p.aggregates:
        doc["aggregates"] = str(p.aggregates)
    if p.published:
        doc["published"] = str(p.published)
    doc["notes"] = p.notes
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    if not p.commentary:
        return text + "commentary: {}\n"
    entries = [_entry(ref, body, (titles or {}).get(ref)) for ref, body in p.commentary.items()]
    return text + COMMENTARY_HELP + "commentary:\n" + "".join(entries)


def _entry(ref: str, body: str, title: str | None) -> str:
    key = json.dumps(str(ref), ensure_ascii=False)  # a JSON string is a YAML double-quoted one
    comment = f"  # {' '.join(title.split())}" if title else ""
    body = str(body)
    if body and body == body.strip() and all(c.isprintable() or c in "\n\t" for c in body):
        lines = "".join(f"    {line}\n" if line else "\n" for line in body.split("\n"))
        return f"  {key}: |-{comment}\n{lines}"
    return f"  {key}:{comment}\n    {json.dumps(body, ensure_ascii=False)}\n"
