"""Monthly parameters: one YAML per month in ``params/`` (``params/2026-10.yaml``).

    month: 2026-10
    council: Synthshire County Council
    snapshot: 3              # the store snapshot the report is built from (omit: the latest)
    catalogue: county
    la_code: 825             # the council's DfE code: statistical neighbours, England and rank from the
                             # DfE's published tables (data/comparators); omit: the catalogue's figures
    commentary:              # the managers' text per measure reference; drafts are used where absent
      "1.7": |
        Re-referrals rose ...
    notes: Anything the board should know about this month's data.

``kpi params new YYYY-MM`` starts one from the previous month's, with drafted commentary for managers
to edit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .catalogue import read_yaml
from .errors import UserError

PARAMS_DIR = Path(__file__).resolve().parent.parent / "params"  # the project's, wherever it runs from
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
}


class ParamsError(UserError, ValueError):
    pass


@dataclass
class MonthParams:
    month: str
    council: str = ""
    snapshot: int | None = None
    catalogue: str = "county"
    commentary: dict[str, str] = field(default_factory=dict)
    notes: str = ""
    public: bool = False
    la_code: str | None = None  # the council's DfE code (old_la_code): published comparators and rank
    comparator_year: str | None = None  # the DfE year to compare with (default: the latest published)
    aggregates: Path | None = None  # monthly figures of measures without records (kpi.aggregates), beside the store's
    path: Path | None = None


def parse(doc: dict, where: str) -> MonthParams:
    if not isinstance(doc, dict):
        raise ParamsError(f"{where}: expected a mapping of month, council, commentary, ...")
    unknown = set(doc) - FIELDS
    if unknown:
        raise ParamsError(
            f"{where}: unknown field(s) {', '.join(sorted(unknown))}; expected {', '.join(sorted(FIELDS))}"
        )
    month = str(doc.get("month", ""))
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise ParamsError(f"{where}: month must be YYYY-MM, not {month!r}")
    snap = doc.get("snapshot")
    if snap is not None and not isinstance(snap, int):
        raise ParamsError(f"{where}: snapshot must be a whole number, not {snap!r}")
    commentary = doc.get("commentary") or {}
    if not isinstance(commentary, dict):
        raise ParamsError(f"{where}: commentary must map measure references to text")
    return MonthParams(
        month=month,
        council=str(doc.get("council") or ""),
        snapshot=snap,
        catalogue=str(doc.get("catalogue") or "county"),
        commentary={str(k): str(v).strip() for k, v in commentary.items() if v},
        notes=str(doc.get("notes") or "").strip(),
        public=bool(doc.get("public", False)),
        la_code=str(doc["la_code"]) if doc.get("la_code") is not None else None,
        comparator_year=str(doc["comparator_year"]) if doc.get("comparator_year") is not None else None,
        aggregates=Path(doc["aggregates"]) if doc.get("aggregates") else None,
    )


def load(path: Path | str) -> MonthParams:
    path = Path(path)
    try:
        doc = read_yaml(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ParamsError(f"{path}: cannot be read: {e}") from None
    p = parse(doc, str(path))
    p.path = path
    return p


def for_month(month: str, directory: Path = PARAMS_DIR) -> MonthParams:
    """The month's params file if there is one, else defaults (all commentary drafted)."""
    path = Path(directory) / f"{month}.yaml"
    if path.exists():
        p = load(path)
        if p.month != month:
            raise ParamsError(f"{path}: says month {p.month}, not {month}")
        return p
    return MonthParams(month=month)


def dump(p: MonthParams) -> str:
    doc = {"month": p.month, "council": p.council}
    if p.snapshot is not None:
        doc["snapshot"] = p.snapshot
    doc["catalogue"] = p.catalogue
    if p.la_code:
        doc["la_code"] = p.la_code
    if p.comparator_year:
        doc["comparator_year"] = p.comparator_year
    if p.aggregates:
        doc["aggregates"] = str(p.aggregates)
    doc["notes"] = p.notes
    doc["commentary"] = p.commentary
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
