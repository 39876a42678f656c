"""scorecard.xlsx (kpi.workbook) from small hand-made scorecards, opened again with openpyxl."""

import pandas as pd
import pytest
from openpyxl import load_workbook

from kpi import workbook
from kpi.catalogue import load
from kpi.privacy import publish


@pytest.fixture(scope="module")
def cat():
    return load("county")


def _row(measure, month, n, d, value, rag, unit, target, tolerance):
    return {
        "measure": measure,
        "month": month,
        "unit": unit,
        "numerator": n,
        "denominator": d,
        "value": value,
        "display": "" if value is None else f"{value:g}",
        "calculation": "",
        "target": target,
        "tolerance": tolerance,
        "rag": rag,
        "rag_text": rag,
    }


def _card():
    # 1.7 (KPI 3, a percentage, lower is better: target 18, tolerance 21) and 6.16 (a count, target 0, tolerance 5)
    return pd.DataFrame(
        [
            _row("1.7", "2026-09", 8, 40, 20.0, "amber", "percent", 18.0, 21.0),
            _row("1.7", "2026-10", 12, 40, 30.0, "red", "percent", 18.0, 21.0),
            _row("6.16", "2026-09", 0, None, 0.0, "green", "count", 0.0, 5.0),
            _row("6.16", "2026-10", 3, None, 3.0, "amber", "count", 0.0, 5.0),
        ]
    )


def _cells(ws):
    head = [c.value for c in ws[1]]
    return head, {r[0]: dict(zip(head, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)}


def test_values_rag_words_and_fills_and_counts(cat, tmp_path):
    path = workbook.write(_card(), cat, tmp_path / "scorecard.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["Scorecard", "Counts", "Definitions"]
    ws = wb["Scorecard"]
    head, rows = _cells(ws)
    assert head == workbook.HEAD + ["2026-09", "2026-09 RAG", "2026-10", "2026-10 RAG"]
    assert list(rows) == ["1.7", "6.16"]  # the catalogue's order
    r = rows["1.7"]
    assert (r["KPI"], r["Unit"], r["Direction"], r["Target"], r["Tolerance"]) == (3, "percent", "lower", 18, 21)
    assert (r["2026-09"], r["2026-09 RAG"], r["2026-10"], r["2026-10 RAG"]) == (20, "Amber", 30, "Red")
    assert (rows["6.16"]["2026-09"], rows["6.16"]["2026-09 RAG"], rows["6.16"]["KPI"]) == (0, "Green", None)
    # numbers are numbers, with the measure's format; the value and its RAG filled in the RAG's colour
    value = ws.cell(2, head.index("2026-10") + 1)
    assert value.data_type == "n" and value.number_format == '0"%"'
    assert ws.cell(3, head.index("2026-09") + 1).number_format == "0"
    for name, colour in (("2026-10", "FFC7CE"), ("2026-10 RAG", "FFC7CE"), ("2026-09", "FFEB9C")):
        assert ws.cell(2, head.index(name) + 1).fill.fgColor.rgb.endswith(colour)
    assert ws.cell(3, head.index("2026-09") + 1).fill.fgColor.rgb.endswith("C6EFCE")
    # the header row and the measure's ref, KPI and title frozen; a filter over the whole table
    assert ws.freeze_panes == "D2" and ws.auto_filter.ref == "A1:K3"
    head, counts = _cells(wb["Counts"])
    assert (counts["1.7"]["2026-10 numerator"], counts["1.7"]["2026-10 denominator"]) == (12, 40)
    assert (counts["6.16"]["2026-10 numerator"], counts["6.16"]["2026-10 denominator"]) == (3, None)
    assert wb["Counts"].freeze_panes == "D2" and wb["Counts"].auto_filter.ref
    _, defs = _cells(wb["Definitions"])
    assert defs["1.7"]["Definition"] == cat["1.7"].definition and len(defs) == 2


def test_public_version_has_only_the_published_figures(cat, tmp_path):
    """Published (kpi.privacy.publish): 8/40 and 12/40 stay; 6.16's 3 is suppressed, and its 0 is a true zero."""
    path = workbook.write(publish(_card(), cat), cat, tmp_path / "scorecard.xlsx")
    wb = load_workbook(path)
    _, rows = _cells(wb["Scorecard"])
    assert (rows["1.7"]["2026-10"], rows["1.7"]["2026-10 RAG"]) == (30, "Red")
    assert (rows["6.16"]["2026-10"], rows["6.16"]["2026-10 RAG"]) == ("[c]", "Suppressed ([c])")
    assert (rows["6.16"]["2026-09"], rows["6.16"]["2026-09 RAG"]) == (0, "Green")
    _, counts = _cells(wb["Counts"])
    assert (counts["6.16"]["2026-10 numerator"], counts["6.16"]["2026-10 denominator"]) == ("[c]", "[c]")
    assert counts["1.7"]["2026-09 numerator"] == 8
    # the suppressed count appears nowhere in the workbook's cells as a number
    ws = wb["Scorecard"]
    col = [c.value for c in ws[1]].index("2026-10") + 1
    assert ws.cell(3, col).fill.fgColor.rgb in ("00000000", None)
