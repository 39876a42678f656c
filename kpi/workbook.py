"""The scorecard as an Excel workbook (``scorecard.xlsx`` beside the report), for councils that circulate and
annotate it: every measure by month, made from the scorecard the report is made from (in a public run, the
published figures alone: :func:`kpi.privacy.publish` has been applied to it, so a suppressed figure is ``[c]``).

Sheets: *Scorecard* (a row per measure: reference, KPI number, title, unit, direction, target, tolerance, then per
month its value, stored as a number with the measure's number format, and its RAG as a word, both cells filled in
the RAG's colour), *Counts* (the numerator and denominator behind each value) and *Definitions*. The header row
and the measure's reference, KPI number and title are frozen; each data sheet has an autofilter (A107).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .privacy import SUPPRESSED

RAG_WORDS = {"green": "Green", "amber": "Amber", "red": "Red"}
NO_RAG = "No RAG"
# Excel's own "good, neutral, bad" fills: light enough for black text, and the word says the RAG too
RAG_FILLS = {"green": "C6EFCE", "amber": "FFEB9C", "red": "FFC7CE"}
HEAD = ["Ref", "KPI", "Title", "Unit", "Direction", "Target", "Tolerance"]
FROZEN = "D2"  # the header row, and ref, KPI and title


def number_format(unit: str, decimals: int) -> str:
    """Excel's number format for a measure's values: its decimals, and a % sign for a percentage stored as 23.4."""
    base = "0" if decimals <= 0 else "0." + "0" * decimals
    return f'{base}"%"' if unit == "percent" else base


def _before_title(m) -> str:
    from .charts import before_label

    return f"Previous definition ({before_label(m)}): {m.before.before.title}"


def _previous(m, rows: list) -> tuple[list, list] | None:
    """The Scorecard and Counts rows of a measure's previous definition (its ``before_*`` figures, no RAG: the RAG
    is on the current definition), or None where no month shown has one."""
    if m.before is None or not any(r is not None and isinstance(getattr(r, "before_display", None), str) for r in rows):
        return None
    b = m.before.before
    head = [f"{m.ref} before", None, _before_title(m), b.unit, b.direction or "none (a volume)", None, None]
    values, nums = [], []
    for r in rows:
        shown = getattr(r, "before_display", None) if r is not None else None
        if shown == SUPPRESSED:
            values += [SUPPRESSED, None]
            nums += [SUPPRESSED, SUPPRESSED]
        elif isinstance(shown, str):
            values += [_num(r.before_value), None]
            nums += [_num(r.before_numerator), _num(r.before_denominator)]
        else:
            values += [None, None]
            nums += [None, None]
    return head + values, head + nums


def _num(x):
    return None if x is None or pd.isna(x) else float(x)


def write(card: pd.DataFrame, catalogue, path: Path | str) -> Path:
    """Write ``card`` (scorecard rows: measure, month, numerator, denominator, value, display, target, tolerance,
    rag and, when published, suppressed) as ``path``. Target and tolerance are the latest month's (A107)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    months = sorted(card["month"].unique())
    rows = {(r.measure, r.month): r for r in card.itertuples(index=False)}
    refs = [m.ref for m in catalogue.measures if any((m.ref, mo) in rows for mo in months)]
    bold = Font(bold=True)
    fills = {k: PatternFill("solid", fgColor=v) for k, v in RAG_FILLS.items()}

    wb = Workbook()
    score, counts, defs = wb.active, wb.create_sheet("Counts"), wb.create_sheet("Definitions")
    score.title = "Scorecard"
    score.append(HEAD + [h for mo in months for h in (mo, f"{mo} RAG")])
    counts.append(HEAD + [h for mo in months for h in (f"{mo} numerator", f"{mo} denominator")])
    for ref in refs:
        m = catalogue[ref]
        last = next(rows[(ref, mo)] for mo in reversed(months) if (ref, mo) in rows)
        head = [ref, m.kpi, m.title, m.unit, m.direction or "none (a volume)", _num(last.target), _num(last.tolerance)]
        values, nums = [], []
        for mo in months:
            r = rows.get((ref, mo))
            hidden = r is not None and bool(getattr(r, "suppressed", False))
            value = None if r is None else _num(r.value)
            if hidden:
                values += [SUPPRESSED, f"Suppressed ({SUPPRESSED})"]
                nums += [SUPPRESSED, SUPPRESSED]
                continue
            shown = value if value is not None else (r.display or None if r is not None else None)
            rag = r.rag if r is not None and isinstance(r.rag, str) else None
            values += [shown, RAG_WORDS.get(rag, NO_RAG) if r is not None else None]
            nums += [_num(r.numerator) if r is not None else None, _num(r.denominator) if r is not None else None]
        score.append(head + values)
        counts.append(head + nums)
        fmt = number_format(m.unit, m.decimals)
        i = score.max_row
        for col in (6, 7):
            score.cell(i, col).number_format = fmt
        for j, mo in enumerate(months):
            r = rows.get((ref, mo))
            cells = score.cell(i, 8 + 2 * j), score.cell(i, 9 + 2 * j)
            cells[0].number_format = fmt
            rag = r.rag if r is not None and isinstance(r.rag, str) else None
            if rag in fills:
                for c in cells:
                    c.fill = fills[rag]
            cells[1].alignment = Alignment(horizontal="center")
        prev = _previous(m, [rows.get((ref, mo)) for mo in months])
        if prev:  # the previous definition's figures, in a row of their own under the measure's (A173)
            score.append(prev[0])
            counts.append(prev[1])
            b = m.before.before
            for j in range(len(months)):
                score.cell(score.max_row, 8 + 2 * j).number_format = number_format(b.unit, b.decimals)
    defs.append(["Ref", "KPI", "Title", "Section", "Unit", "Direction", "Definition", "Source"])
    for ref in refs:
        m = catalogue[ref]
        defs.append([ref, m.kpi, m.title, m.section, m.unit, m.direction or "none (a volume)", m.definition, m.source])
        if m.before is not None:
            b = m.before.before
            defs.append([f"{ref} before", None, _before_title(m), b.section, b.unit, b.direction or "none (a volume)",
                         f"{b.definition} Until {m.before.start}: {m.before.change}", b.source])  # fmt: skip
    for ws, widths in ((score, [7, 6, 48, 10, 10, 9, 10]), (counts, [7, 6, 48, 10, 10, 9, 10]), (defs, [7, 6, 48])):
        for c in ws[1]:
            c.font = bold
            c.alignment = Alignment(wrap_text=True, vertical="top")
        for k in range(1, ws.max_column + 1):
            ws.column_dimensions[get_column_letter(k)].width = widths[k - 1] if k <= len(widths) else 12
        ws.freeze_panes = FROZEN
        ws.auto_filter.ref = ws.dimensions
    defs.column_dimensions["G"].width = 80
    path = Path(path)
    wb.save(path)
    return path
