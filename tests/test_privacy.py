"""Privacy: the public version holds no count of 1 to 5 nor anything from which one follows; no child's
identifier or date of birth reaches a page or a file beside it; notebook outputs never reach git."""

import base64
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from kpi import params as pm
from kpi import report as report_mod
from kpi.catalogue import load
from kpi.charts import alt_text, kpi_chart, xmr_alt_text, xmr_chart
from kpi.privacy import page_segments, publish, publish_accounting
from kpi.report import Report
from kpi.runner import leaked_identifiers, run
from tests.helpers import build_store

ROOT = Path(__file__).resolve().parents[1]
MONTHS = [f"{y}-{m:02d}" for y, m in [(2024, 11), (2024, 12)] + [(2025, k) for k in range(1, 13)]] + [
    f"2026-{k:02d}" for k in range(1, 11)
]
COUNTY = load("county")
SCORECARD = load("scorecard")


def rows(ref, cat, figures):
    """Scorecard-like rows of one measure: figures maps month -> (numerator, denominator)."""
    m = cat[ref]
    out = []
    for month, (n, d) in figures.items():
        value = n if m.unit == "count" else 100 * n / d if m.unit == "percent" else n / d
        out.append(
            {
                "measure": ref,
                "unit": m.unit,
                "month": month,
                "numerator": float(n),
                "denominator": np.nan if d is None else float(d),
                "value": float(value),
                "display": f"{value:.0f}",
                "calculation": f"{n}/{d}",
                "rag": "green",
                "rag_text": "Green: meets target",
                "change_month": np.nan,
                "vs_last_month": None,
                "vs_statistical_neighbours": "better",
            }
        )
    df = pd.DataFrame(out)
    df["change_month"] = df["value"].diff()
    df["vs_last_month"] = np.where(df["change_month"].notna(), "better", None)
    return df


# ------------------------------------------------------------------ the rules, on hand-made figures


def test_every_count_behind_a_figure_is_checked():
    count = rows(
        "6.17", COUNTY, {"2026-07": (0, None), "2026-08": (3, None), "2026-09": (5, None), "2026-10": (6, None)}
    )
    pct = rows("1.7", COUNTY, {"2026-07": (4, 40), "2026-08": (38, 40), "2026-09": (20, 40), "2026-10": (0, 3)})
    rate = rows("1.5", COUNTY, {"2026-09": (3, 146874), "2026-10": (60, 146874)})
    avg = rows("8.3", COUNTY, {"2026-09": (30, 4), "2026-10": (200, 25)})
    got = publish(pd.concat([count, pct, rate, avg], ignore_index=True), COUNTY)
    shown = dict(zip(zip(got["measure"], got["month"], strict=True), got["display"], strict=True))
    # counts: 0 is a true zero, 1 to 5 suppressed, 6 shown
    assert [shown[("6.17", m)] for m in ("2026-07", "2026-08", "2026-09", "2026-10")] == ["0", "[c]", "[c]", "6"]
    # percent: a small numerator, a small remainder (38 of 40: 2 were not), 0 of 3 (3 were not) suppressed
    assert [shown[("1.7", m)] for m in ("2026-07", "2026-08", "2026-09", "2026-10")] == ["[c]", "[c]", "50", "[c]"]
    assert shown[("1.5", "2026-09")] == "[c]" and shown[("1.5", "2026-10")] != "[c]"  # the population is public
    assert shown[("8.3", "2026-09")] == "[c]" and shown[("8.3", "2026-10")] != "[c]"  # an average over 4 workers
    hidden = got[got["suppressed"]]
    assert hidden[["numerator", "denominator", "value"]].isna().all().all()
    assert (hidden["calculation"] == "").all() and hidden["rag"].isna().all()
    assert hidden["vs_statistical_neighbours"].isna().all()
    assert publish(got, COUNTY) is got  # published figures are published as they are


def test_a_figure_given_without_its_counts_is_suppressed_unless_a_large_count():
    df = pd.DataFrame(
        {
            "measure": ["SCC/011b", "CP/REG", "CP/REG"],
            "unit": ["percent", "count", "count"],
            "month": ["2026-09"] * 3,
            "numerator": [np.nan] * 3,
            "denominator": [np.nan] * 3,
            "value": [71.0, 4.0, 40.0],
            "display": ["71%", "4", "40"],
            "calculation": [""] * 3,
        }
    )
    df.loc[1, "month"] = "2026-08"
    got = publish(df, SCORECARD)
    assert got["display"].tolist() == ["[c]", "[c]", "40"]
    assert "without the counts" in got["suppression"].iloc[0]


def test_a_change_is_shown_only_between_two_published_figures():
    pct = rows(
        "1.7",
        COUNTY,
        {"2026-06": (20, 40), "2026-07": (3, 40), "2026-08": (20, 40), "2026-09": (22, 40), "2026-10": (10, 40)},
    )
    got = publish(pct, COUNTY).set_index("month")
    # 07 is suppressed: its change from 06, and 08's change from it, would give its figure back
    assert got.loc[["2026-07", "2026-08"], "change_month"].isna().all()
    assert got.loc[["2026-07", "2026-08"], "vs_last_month"].isna().all()
    assert got.loc["2026-09", "change_month"] == pytest.approx(5.0) and got.loc["2026-09", "vs_last_month"] == "better"
    assert np.isnan(got.loc["2026-06", "change_month"])  # the month before is not among the figures: not known


def test_a_year_to_date_rise_of_one_to_five_is_suppressed():
    # SCC/010 counts referrals over the financial year to date: May less April is May's own referrals
    ytd = rows(
        "SCC/010",
        SCORECARD,
        {
            "2026-04": (10, 40),  # published
            "2026-05": (13, 50),  # 3 more re-referrals than April: May's own count is 3, suppressed
            "2026-06": (20, 60),  # 10 more than April, the last published: shown
            "2026-07": (20, 70),  # no more re-referrals, 10 more referrals not re-referred: shown (0 is true)
            "2026-08": (26, 78),  # 6 more re-referrals but 2 more referrals not re-referred (52 less 50): suppressed
            "2027-04": (8, 30),  # a new year starts again
        },
    )
    got = publish(ytd, SCORECARD).set_index("month")["display"]
    assert got.to_dict() == {
        "2026-04": "25",
        "2026-05": "[c]",
        "2026-06": "33",
        "2026-07": "29",
        "2026-08": "[c]",
        "2027-04": "27",
    }


def test_a_windowed_figures_own_month_is_published_only_with_counts_above_five():
    # SCC/010 (re-referrals over the year to date) with its months' own counts (kpi.scorecard's monthly): June's
    # own 7 of 20 is published; July's own 0 of 10 too (0 is not suppressed); August's own 4 of 12 and
    # September's own 8 of 10 (2 not re-referred) are not, though September's year-to-date figure is
    ytd = rows(
        "SCC/010", SCORECARD, {"2026-06": (20, 60), "2026-07": (20, 70), "2026-08": (24, 82), "2026-09": (32, 92)}
    )
    own = [(7, 20), (0, 10), (4, 12), (8, 10)]
    ytd["month_numerator"] = [float(n) for n, _ in own]
    ytd["month_denominator"] = [float(d) for _, d in own]
    ytd["month_value"] = [100 * n / d for n, d in own]
    got = publish(ytd, SCORECARD).set_index("month")
    assert got["month_value"].round(1).tolist()[:2] == [35.0, 0.0]
    assert got.loc[["2026-08", "2026-09"], ["month_numerator", "month_denominator", "month_value"]].isna().all().all()
    # the year to date of August is suppressed by its own rule (4 more than July); September's is published
    assert got["suppressed"].tolist() == [False, False, True, False]


def test_a_year_end_projection_and_its_year_to_date_twin_are_suppressed_together():
    # SCC/033e counts care leavers turning 19 from April to the month (ytd); SCC/033e-P everyone turning 19 in the
    # year (fy). By March the two count the same people, so the projection must not publish what the ytd hides.
    ytd = rows("SCC/033e", SCORECARD, {"2026-02": (14, 20), "2026-03": (24, 28)})  # March: 4 not suitable
    fy = rows("SCC/033e-P", SCORECARD, {"2026-02": (26, 38), "2026-03": (24, 28)})
    # SCC/033f 8/19 beside SCC/033f-P 13/28: 5 more in work among those to turn 19, read off by subtraction
    f_ytd = rows("SCC/033f", SCORECARD, {"2025-12": (8, 19)})
    f_fy = rows("SCC/033f-P", SCORECARD, {"2025-12": (13, 28)})
    # SCC/033d, counting the same care leavers, 1 not in touch: suppressed alone (its twin, not 033e, would tell)
    d_ytd = rows("SCC/033d", SCORECARD, {"2026-02": (19, 20)})
    card = pd.concat([ytd, fy, f_ytd, f_fy, d_ytd], ignore_index=True)
    got = publish(card, SCORECARD)
    shown = dict(zip(zip(got["measure"], got["month"], strict=True), got["display"], strict=True))
    assert shown[("SCC/033d", "2026-02")] == "[c]"
    assert shown[("SCC/033e", "2026-02")] == "70" and shown[("SCC/033e-P", "2026-02")] == "68"  # 12, 18, 6 apart
    assert shown[("SCC/033e", "2026-03")] == "[c]"
    assert shown[("SCC/033e-P", "2026-03")] == "[c]"  # its twin, published alone, would say 24 of 28
    assert shown[("SCC/033f", "2025-12")] == "[c]" and shown[("SCC/033f-P", "2025-12")] == "[c]"
    # the projection is a yearly figure too: a rise of 1 to 5 since the last published month gives one back
    proj = publish(rows("SCC/033d-P", SCORECARD, {"2026-01": (20, 30), "2026-02": (23, 40)}), SCORECARD)
    assert proj["display"].tolist() == ["67", "[c]"]


def test_a_year_to_date_month_is_suppressed_whichever_month_the_window_starts(small_authority, tmp_path):
    # SCC/010 year to date: August 2024 rose by 3 re-referrals since July, so it is suppressed; the June 2026
    # report's 24 months start in July 2024, July 2026's in August 2024, where nothing came before it to compare
    root, _ = small_authority
    lines = ["month,measure,numerator,denominator,value"]
    for i in range(28):  # 2024-04 to 2026-07: 10 re-referrals of 20 referrals a month, 13 of 50 by August 2024
        y, m = 2024 + (3 + i) // 12, (3 + i) % 12 + 1
        k = (m - 4) % 12 + 1  # months into the financial year
        n, d = (43, 110) if (y, m) == (2024, 8) else (10 * k, 20 * k + 20)
        lines.append(f"{y}-{m:02d},SCC/010,{n},{d},")
    (tmp_path / "agg.csv").write_text("\n".join(lines) + "\n")
    p = pm.MonthParams(month="2026-07", catalogue="scorecard", aggregates=tmp_path / "agg.csv")
    shown = {}
    for month in ("2026-06", "2026-07"):
        d = report_mod.prepare_data(month, root / "store.duckdb", p, tmp_path / month, public=True)
        card = pd.read_parquet(d / "scorecard.parquet")
        assert card["month"].nunique() == 24  # the months before the window decide suppression, then go
        s = card[card["measure"] == "SCC/010"].set_index("month")["display"]
        shown[month] = s.get("2024-08")
    assert shown == {"2026-06": "[c]", "2026-07": "[c]"}


def test_data_quality_counts_cannot_be_worked_back():
    acc = pd.DataFrame(
        {
            "table_name": ["referrals", "children", "contacts", "visits"],
            "file": ["r.csv", "c.csv", "k.csv", "v.csv"],
            "rows_read": [100, 3, 50, 40],
            "rows_loaded": [97, 3, 50, 30],
            "rows_rejected": [3, 0, 0, 4],
            "rows_merged": [0, 0, 0, 6],
        }
    )
    got = publish_accounting(acc).astype(object).where(lambda d: d.notna(), "[c]")
    assert got.iloc[0, 2:].tolist() == ["[c]", 97, "[c]", 0]  # read hidden too: 100 - 97 - 0 would be 3
    assert got.iloc[1, 2:].tolist() == ["[c]", "[c]", 0, 0]
    assert got.iloc[2, 2:].tolist() == [50, 50, 0, 0]
    assert got.iloc[3, 2:].tolist() == ["[c]", 30, "[c]", 6]


# ------------------------------------------------------------------ nothing on the page depends on a suppressed count


def _figures(changes: dict) -> str:
    """Hand-made monthly figures for five measures over 24 months (numerator, denominator), as an aggregates file."""
    lines = ["month,measure,numerator,denominator,value"]
    for i, m in enumerate(MONTHS):
        figs = {
            "1.7": (8 + i % 5, 40),  # KPI 3, a percentage
            "6.17": (7 + i % 6, ""),  # KPI 9, a count
            "1.5": (50 + i % 7, 146874),  # a rate per 10,000
            "8.3": (200 + i, 25),  # KPI 17, an average
            "1.2": (30 + i % 4, 40),  # KPI 2, never small
        }
        for ref, (n, d) in figs.items():
            n, d = changes.get((ref, m), (n, d))
            value = f"{n / d:.4f}" if ref == "8.3" else ""
            lines.append(f"{m},{ref},{n},{d},{value}")
    return "\n".join(lines) + "\n"


SMALL_A = {
    ("1.7", "2025-12"): (3, 40),
    ("1.7", "2026-10"): (38, 40),  # the latest month: 2 referrals were not re-referrals
    ("6.17", "2026-03"): (2, ""),
    ("6.17", "2026-09"): (4, ""),  # the month before the latest
    ("1.5", "2026-06"): (3, 146874),
    ("8.3", "2026-07"): (30, 4),  # an average over 4 workers
}
SMALL_B = {  # other small counts in the same places
    ("1.7", "2025-12"): (4, 40),
    ("1.7", "2026-10"): (37, 40),
    ("6.17", "2026-03"): (5, ""),
    ("6.17", "2026-09"): (1, ""),
    ("1.5", "2026-06"): (5, 146874),
    ("8.3", "2026-07"): (41, 5),
}


def _page(tmp_path, name, changes, rejected, monkeypatch) -> str:
    """Every part of a public report made from hand-made figures (HTML, charts embedded)."""
    from kpi.scorecard import scorecard

    path = tmp_path / f"{name}.csv"
    path.write_text(_figures(changes))
    history = scorecard("2026-10", 24, aggregates=path, catalogue=COUNTY, year_on_year=False, targets=None)
    accounting = pd.DataFrame(
        {
            "table_name": ["referrals"],
            "file": ["referrals.csv"],
            "sha256": [""],
            "rows_read": [97 + rejected],  # 97 loaded either way: only the suppressed counts differ
            "rows_loaded": [97],
            "rows_rejected": [rejected],
            "rows_merged": [0],
        }
    )
    p = pm.MonthParams(month="2026-10", path=None)
    r = Report("2026-10", history, COUNTY, p, {"snapshot_id": 1, "council": "Testshire"}, True, accounting, None)
    shown = []
    monkeypatch.setattr(report_mod, "_show", shown.append)
    r.title()
    r.contents()
    r.heading("summary")
    r.glance()
    r.summary()
    for key in r.section_keys():
        r.heading(key)
        r.section(key)
    r.definitions()
    r.full_scorecard()
    r.comparators()
    r.data_quality()
    return "\n".join(shown)


def test_the_public_page_is_the_same_whatever_the_suppressed_counts_are(tmp_path, monkeypatch):
    """Text, alt text, every chart's pixels, changes, RAG, SPC, drafted commentary and appendices: a public page
    made with one set of small counts is byte for byte the page made with another."""
    a = _page(tmp_path, "a", SMALL_A, 3, monkeypatch)
    b = _page(tmp_path, "b", SMALL_B, 4, monkeypatch)
    assert a == b
    text = re.sub(r"data:image/(?:png|svg\+xml);base64,[A-Za-z0-9+/=]+", "", a)
    kpi3 = text[text.index('id="kpi-3"') : text.index('id="kpi-4"')]
    assert "October 2026: [c]" in kpi3 and "No SPC verdict this month" in kpi3
    assert "Suppressed ([c]): Dec-25, Oct-26" in kpi3  # the alt text names the gaps
    # a published figure does change the page: the comparison above can fail
    c = _page(tmp_path, "c", SMALL_A | {("1.7", "2026-08"): (11, 40)}, 3, monkeypatch)
    assert c != a


# ------------------------------------------------------------------ a public run, decoded completely


@pytest.fixture(scope="module")
def public_batch(small_authority, tmp_path_factory):
    root, _ = small_authority
    out = tmp_path_factory.mktemp("public")
    res = run(None, root / "store.duckdb", out_root=out, progress=lambda s: None, public=True)
    assert res.ok, res.failures
    truth = report_mod.prepare_data("2026-10", root / "store.duckdb", pm.for_month("2026-10"), out / "truth")
    return res, root, report_mod.last_months(pd.read_parquet(truth / "scorecard.parquet"))  # the page's 24 months


def test_the_loads_note_is_never_published_and_the_manifest_says_public(public_batch, tmp_path):
    import duckdb

    res, root, _ = public_batch
    manifest = json.loads((res.out_dir / "manifest.json").read_text())
    assert manifest["public"] is True
    beside = json.loads((res.out_dir / "data" / "snapshot.json").read_text())
    assert "note" not in manifest["snapshot"] and "note" not in beside and "source" not in beside
    # a note counting rejected rows and quoting a rejected value (a child not in the store, so not searched for)
    store = tmp_path / "store.duckdb"
    shutil.copy(root / "store.duckdb", store)
    con = duckdb.connect(str(store))
    note = "care_leavers.csv: 20 of 24 rows rejected, e.g. row 2 'CH99999' not a known child"
    con.execute("UPDATE meta.snapshots SET note = ?", [note])
    con.close()
    for public in (True, False):
        d = report_mod.prepare_data("2026-10", store, pm.MonthParams(month="2026-10"), tmp_path / str(public), public)
        text = (d / "snapshot.json").read_text()
        assert "CH99999" not in text and "rejected" not in text
        assert ("source" in json.loads(text)) is not public  # the extract's path: for the council's own runs only


def _small_in_truth(t: pd.DataFrame) -> pd.Series:
    """The rows whose own counts (numerator, denominator, and what a percentage's denominator leaves) are 1-5."""

    def s(x):
        return (x > 0) & (x < 6)

    n, d = t["numerator"], t["denominator"]
    return s(n) | s(d) | ((t["unit"] == "percent") & s(d - n))


def test_the_public_scorecard_xlsx_holds_the_published_figures_alone(public_batch):
    """scorecard.xlsx beside a public page: each figure whose real counts are 1 to 5 is [c], with its numerator
    and denominator; no count of 1 to 5 is in it; the figures kept are the real ones."""
    from openpyxl import load_workbook

    res, _, truth = public_batch
    wb = load_workbook(res.out_dir / "scorecard.xlsx")
    score, counts = (list(wb[n].iter_rows(values_only=True)) for n in ("Scorecard", "Counts"))
    months = sorted(truth["month"].unique())
    assert [h for h in score[0][7:] if not h.endswith(" RAG")] == months  # the page's 24 months
    cell = {(r[0], h): v for r in score[1:] for h, v in zip(score[0], r, strict=True)}
    cell |= {(r[0], h): v for r in counts[1:] for h, v in zip(counts[0], r, strict=True)}
    small = truth[_small_in_truth(truth)]
    assert len(small) > 50
    for r in small.itertuples():
        shown = [cell[(r.measure, f"{r.month}{s}")] for s in ("", " RAG", " numerator", " denominator")]
        assert shown == ["[c]", "Suppressed ([c])", "[c]", "[c]"], (r.measure, r.month)
    numbers = [v for r in counts[1:] for v in r[7:] if isinstance(v, int | float)]
    assert numbers and not any(0 < v < 6 for v in numbers)
    one = truth[~_small_in_truth(truth) & truth["numerator"].gt(5) & truth["denominator"].gt(5)].iloc[0]
    if cell[(one.measure, one.month)] != "[c]":  # not suppressed for another reason (a year-to-date rise)
        assert cell[(one.measure, f"{one.month} numerator")] == one.numerator


def test_a_public_report_decoded_completely_holds_no_small_count(public_batch):
    res, _, truth = public_batch
    page = res.report.read_text()
    published = pd.read_parquet(res.out_dir / "data" / "scorecard.parquet")
    # the figures beside the page are the published ones: every small count of the real figures suppressed,
    # every other figure as it is
    key = ["measure", "month"]
    both = truth.merge(published, on=key, suffixes=("", "_pub"))
    assert len(both) == len(truth) == len(published)
    small = _small_in_truth(both)
    assert small.sum() > 50  # the small authority has plenty of small counts
    assert both.loc[small, "suppressed"].all()
    assert (both.loc[small, "display_pub"] == "[c]").all()
    assert both.loc[small, ["numerator_pub", "denominator_pub", "value_pub"]].isna().all().all()
    kept = ~both["suppressed"]
    pd.testing.assert_series_equal(
        both.loc[kept, "numerator_pub"], both.loc[kept, "numerator"], check_names=False, check_dtype=False
    )
    assert not _small_in_truth(published).any()
    # a change is published only between two published months
    hidden = {(r.measure, r.month) for r in published[published["suppressed"]].itertuples()}
    for r in published[published["change_month"].notna()].itertuples():
        y, m = int(r.month[:4]), int(r.month[5:])
        before = f"{y - (m == 1)}-{12 if m == 1 else m - 1:02d}"
        assert (r.measure, r.month) not in hidden and (r.measure, before) not in hidden
    # every chart is the chart of the published figures alone, its alt text too
    card = published[published["month"].isin(sorted(published["month"].unique())[-13:])]
    pages = page.split('<section aria-labelledby="kpi-')[1:]
    charts = 0
    public = Report.open(res.month, data_dir=res.out_dir / "data", public=True)
    ours, theirs = (d.sort_values(key)["value"].reset_index(drop=True) for d in (public.history, published))
    pd.testing.assert_series_equal(ours, theirs)  # the SPC drawn is of the published figures alone
    for m in COUNTY.kpis():
        section = next(p for p in pages if p.startswith(f'{m.kpi}"'))
        img = re.search(
            r'<img alt="(Line chart[^"]*|Chart[^"]*)" src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', section
        )
        series = card[card["measure"] == m.ref]
        if img is None:
            assert series["value"].isna().all()
            continue
        charts += 1
        assert base64.b64decode(img.group(2)) == kpi_chart(m, series), m.ref
        assert html.unescape(img.group(1)) == alt_text(m, series), m.ref
        # and its XmR chart that of the SPC of the published figures (the report's, from the data beside it)
        xmr = re.search(r'<img alt="(XmR chart[^"]*)" src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', section)
        spc = public.spc(m.ref)
        assert base64.b64decode(xmr.group(2)) == xmr_chart(m, spc), m.ref
        assert html.unescape(xmr.group(1)) == xmr_alt_text(m, spc), m.ref
    assert charts >= 14  # KPI 6's repeat plans are 1 to 3 a month at this scale: every month suppressed
    # Appendix 2 shows [c] wherever a real figure had a small count
    months = sorted(card["month"].unique())[-7:]
    small_cells = {(r.measure, r.month) for r in truth[_small_in_truth(truth)].itertuples()}
    appendix = page[page.index('id="appendix-scorecard"') : page.index('id="appendix-comparators"')]
    table_rows = re.findall(r"<tr><th scope=[\"']row[\"']>([^<]+)</th>((?:<td>.*?</td>)+)</tr>", appendix)
    assert len(table_rows) == len(COUNTY.measures)
    checked = 0
    for ref, cells in table_rows:
        tds = re.findall(r"<td>(.*?)</td>", cells)[3:10]
        for month, td in zip(months, tds, strict=True):
            if (ref, month) in small_cells:
                assert td == "[c]", (ref, month, td)
                checked += 1
    assert checked > 20
    # the load's accounting beside the page: no count of 1 to 5
    acc = pd.read_parquet(res.out_dir / "data" / "accounting.parquet")
    for c in ("rows_read", "rows_loaded", "rows_rejected", "rows_merged"):
        assert not ((acc[c] > 0) & (acc[c] < 6)).fillna(False).any(), c
    # the executed notebooks beside the page show nothing the page does not: the same text, the same images
    page_text = {t.strip() for _, t in page_segments(page)}
    page_images = set(re.findall(r"data:image/(?:png|svg\+xml);base64,([A-Za-z0-9+/=]+)", page))
    assert len(page_images) >= 30  # the KPI pages' charts: the check below is not of an empty set
    for nb in (res.out_dir / "notebooks").glob("*.ipynb"):
        for cell in nbformat.read(nb, as_version=4).cells:
            for o in cell.get("outputs", []):
                assert o["output_type"] == "display_data", (nb.name, o["output_type"])
                shown = o["data"]["text/html"]
                assert {t.strip() for _, t in page_segments(shown)} <= page_text, nb.name
                assert set(re.findall(r"data:image/(?:png|svg\+xml);base64,([A-Za-z0-9+/=]+)", shown)) <= page_images
    # and the manifest holds what the run was made from, no figure
    manifest = json.loads((res.out_dir / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["failures"] == []
    assert "numerator" not in json.dumps(manifest) and "scorecard" not in json.dumps(manifest["inputs"])


# ------------------------------------------------------------------ identifiers and dates of birth


@pytest.fixture(scope="module")
def numeric_ids(tmp_path_factory):
    """A store whose child ids are plain numbers 1 to 13000 (every figure of the small authority's page is
    one of them) and whose family ids are F1, F2, ...; child 4523 was born on 2 March 2015."""
    root = tmp_path_factory.mktemp("numeric")
    kids = [
        {"child_id": str(i), "family_id": f"F{i}", "date_of_birth": "2015-03-02" if i == 4523 else "2016-01-01"}
        for i in range(1, 13001)
    ]
    ctx = build_store(root, {"children": kids})
    ctx.con.close()
    data = root / "data"
    data.mkdir()
    (data / "snapshot.json").write_text(json.dumps({"snapshot_id": 1}))
    return root / "w.duckdb", data


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Rose with CH9-CH0.", ["CH9", "CH0"]),  # ids joined by separators
        ("see CH9/CH0", ["CH9", "CH0"]),
        ("CH0_x moved", ["CH0"]),
        ("children 4521 and 4522", ["4521", "4522"]),  # a plural label, carried through the list
        ("child, 4521", ["4521"]),
        ("child: 4521, 4522 and 4523", ["4521", "4522", "4523"]),
        ("ch x1 moved twice", ["ch x1"]),  # a space, a comma, an apostrophe, '#', a letter beyond ASCII, no digit
        ("for case A,7 only", ["A,7"]),
        ("O'Neil1 moved", ["O'Neil1"]),
        ("ref #77 now", ["#77"]),
        ("ÇHX3 went home", ["ÇHX3"]),
        ("Kestrel left care", ["Kestrel"]),
        ("ＣＨ９ moved", ["CH9"]),  # full-width letters and digits
        ("CH\u200b9 moved", ["CH9"]),  # a zero-width space inside it
        ("C\u0327HX3 went home", ["ÇHX3"]),  # the letter and its accent as two characters
        ("\u00c977 left", ["É77"]),  # ... or so in the store (below), and as one in the text
        ("4521 referrals; 12 of 40 children; a rate of 4521.5", []),  # figures, unlabelled
    ],
)
def test_every_id_of_the_store_is_found_whatever_its_shape(text, expected):
    import duckdb

    from kpi.privacy import find_personal

    con = duckdb.connect()
    con.execute("CREATE TABLE children (child_id VARCHAR, family_id VARCHAR, date_of_birth DATE)")
    ids = ["CH9", "CH0", "CH X1", "A,7", "O'NEIL1", "#77", "ÇHX3", "KESTREL", "4521", "4522", "4523", "12", "E\u030177"]
    con.executemany("INSERT INTO children VALUES (?, NULL, DATE '2015-01-01')", [[i] for i in ids])
    found = find_personal([("the page", text)], con)
    assert [f.value for f in found] == expected
    assert all(f.kind == "child identifier" for f in found)


def test_numeric_ids_that_equal_figures_do_not_block_a_report(public_batch, numeric_ids):
    res, _, _ = public_batch
    store, data = numeric_ids
    page = res.report.read_text()
    text = " ".join(t for _, t in page_segments(page))
    figures = {int(t) for t in re.findall(r"(?<![\d.,])\d+(?![\d.,])", text.replace(",", "")) if 0 < int(t) <= 13000}
    assert len(figures) > 100  # many figures of the page are child ids in this store
    assert leaked_identifiers(page, store, data) == []


def _kpi3_commentary(page: str, text: str) -> str:
    """The page with text added to KPI 3's commentary."""
    i = page.index("<h4>Commentary</h4>", page.index('id="kpi-3"'))
    return page[:i] + f"<h4>Commentary</h4><p>{text}</p>" + page[i + len("<h4>Commentary</h4>") :]


@pytest.mark.parametrize(
    "planted, kind, value",
    [
        ("Child 4523 was re-referred twice.", "child identifier", "4523"),
        ("See LAchildID: 812 for the pattern.", "child identifier", "812"),
        ("The rise is one family (F77).", "family identifier", "F77"),
        ("One young person, DOB 02/03/2015, accounts for it.", "date of birth", "02/03/2015"),
        ("4523 (born 2015-03-02) was re-referred.", "date of birth", "2015-03-02"),
        ("Case 4523, 2015-03-02, WBRI, East.", "date of birth", "2015-03-02"),
    ],
)
def test_a_planted_identifier_is_found_and_placed(public_batch, numeric_ids, planted, kind, value):
    res, _, _ = public_batch
    store, data = numeric_ids
    found = leaked_identifiers(_kpi3_commentary(res.report.read_text(), planted), store, data)
    assert any(f.kind == kind and f.value == value for f in found), found
    f = next(f for f in found if f.value == value)
    assert re.fullmatch(r"the page: Volume of activity > KPI 3: [^>]+ > Commentary", f.where), f.where


def test_an_id_in_a_catalogue_definition_names_its_row(public_batch, numeric_ids):
    res, _, _ = public_batch
    store, data = numeric_ids
    page = res.report.read_text()
    i = page.index("</td>", page.index('<th scope="row">1.7</th>', page.index('id="appendix-definitions"')))
    page = page[:i] + " (as for child 123)" + page[i:]
    found = leaked_identifiers(page, store, data)
    assert [str(f) for f in found] == ["child identifier '123' in the page: Appendix 1: definitions, row 1.7"]


def test_a_run_with_a_childs_id_in_its_commentary_writes_no_report(small_authority, tmp_path):
    root, _ = small_authority
    kid = pd.read_csv(root / "synthetic" / "children.csv", usecols=["child_id"])["child_id"].iloc[1234]
    params = tmp_path / "2026-10.yaml"
    params.write_text(
        f'month: "2026-10"\ncommentary:\n  "1.7": "Driven by {kid} in East."\nnotes: "Checked on {kid.lower()}."\n'
    )
    res = run("2026-10", root / "store.duckdb", params, out_root=tmp_path / "out", progress=lambda s: None)
    assert not res.ok and res.report is None and not (res.out_dir / "report.html").exists()
    error = res.failures[0]["error"]
    assert f"child identifier '{kid}' in the page: Volume of activity > KPI 3: " in error  # which id, and where
    assert f"child identifier '{kid.lower()}' in the page: " in error  # whatever its case
    beside = (res.failed_dir / "manifest.json").read_text() + "".join(
        p.read_text() for p in (res.failed_dir / "notebooks").glob("*.ipynb")
    )
    beside = re.sub(r"data:image/(?:png|svg\+xml);base64,[A-Za-z0-9+/=\\n]+", "", beside)
    assert not re.search(rf"\b{kid}\b", beside, re.I) and "[child identifier]" in beside


def test_a_failing_cells_error_never_quotes_a_childs_id(small_authority, tmp_path):
    root, _ = small_authority
    kid = pd.read_csv(root / "synthetic" / "children.csv", usecols=["child_id"])["child_id"].iloc[2345]
    books = tmp_path / "books"
    books.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(f'raise ValueError("no placement for {kid}")')]
    nbformat.write(nb, books / "01_x.ipynb")
    said = []
    res = run("2026-10", root / "store.duckdb", out_root=tmp_path / "out", notebook_dir=books, progress=said.append)
    assert not res.ok
    assert res.failures[0]["error"] == "ValueError: no placement for [child identifier]"
    assert not any(kid in s for s in said)
    assert kid not in (res.failed_dir / "manifest.json").read_text()


def test_params_new_keeps_the_months_settings_and_drafts_from_the_published_figures(small_authority, tmp_path):
    from kpi.cli import main

    root, _ = small_authority
    store = root / "store.duckdb"
    (tmp_path / "2026-09.yaml").write_text(
        'month: "2026-09"\ncouncil: Synthshire\ncatalogue: scorecard\npublic: true\nsnapshot: 1\nnotes: "Old."\n'
        'commentary:\n  SCC/025: "September was hard."\n'
    )
    (tmp_path / "2026-10.yaml").write_text("month: [broken\n")  # --force starts it again without reading it
    assert main(["params", "new", "2026-10", "--store", str(store), "--dir", str(tmp_path), "--force"]) == 0
    p = pm.load(tmp_path / "2026-10.yaml")
    assert (p.council, p.catalogue, p.public, p.snapshot, p.notes) == ("Synthshire", "scorecard", True, None, "")
    assert set(p.commentary) == {m.ref for m in SCORECARD.kpis()}  # the scorecard's KPIs, not the county's
    pm.check(p)  # so kpi run takes it
    published = report_mod.report_for("2026-10", store, p)
    for ref, text in p.commentary.items():
        if published.latest(ref)["suppressed"]:  # a draft says nothing of a figure the public page suppresses
            assert text == "DRAFT: The figure for October 2026 is suppressed ([c]).", (ref, text)
    assert any(published.latest(r)["suppressed"] for r in p.commentary)  # the case arises in this data


def test_a_page_drafts_again_where_commentary_is_still_a_draft(monkeypatch):
    history = rows("1.7", COUNTY, {"2026-09": (20, 40), "2026-10": (3, 40)})  # October's 3: suppressed in public
    for col, v in (("target", 25.0), ("tolerance", 5.0), ("rate_not_available", None)):
        history[col] = v
    params = pm.MonthParams(month="2026-10", commentary={"1.7": "DRAFT: Fell to 8% in October from 50%."})
    shown = []
    monkeypatch.setattr(report_mod, "_show", shown.append)
    r = Report("2026-10", history, COUNTY, params, {"snapshot_id": 1}, public=True)
    r.kpi_page(COUNTY["1.7"])
    commentary = html.unescape(shown[-1]).split("<h4>Commentary</h4>")[1]
    assert "8%" not in commentary  # the draft written from the unsuppressed figures is not shown: drafted again
    assert "DRAFT</strong> (drafted from the figures" in commentary and "October 2026 is suppressed ([c])" in commentary
    params.commentary["1.7"] = "Written by the manager."
    r.kpi_page(COUNTY["1.7"])
    assert "<p>Written by the manager.</p>" in shown[-1]


def test_a_failed_runs_notebooks_hold_no_childs_id(small_authority, tmp_path):
    root, _ = small_authority
    kids = pd.read_csv(root / "synthetic" / "children.csv", usecols=["child_id"])["child_id"]
    kid, other = kids.iloc[3456], kids.iloc[4321]
    books = tmp_path / "books"
    books.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(f'print("moved: {other.lower()}")'),
        nbformat.v4.new_code_cell(f'from IPython.display import HTML, display\ndisplay(HTML("<p>{other}</p>"))'),
        nbformat.v4.new_code_cell(f'raise ValueError("no placement for {kid}")'),
    ]
    nbformat.write(nb, books / "01_x.ipynb")
    res = run("2026-10", root / "store.duckdb", out_root=tmp_path / "out", notebook_dir=books, progress=lambda s: None)
    assert not res.ok
    kept = (res.failed_dir / "notebooks" / "01_x.ipynb").read_text()
    assert not re.search(rf"(?i){kid}|{other}", kept)  # not in the traceback, the outputs or the code
    executed = nbformat.read(res.failed_dir / "notebooks" / "01_x.ipynb", as_version=4)
    outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert outputs[0]["text"] == "moved: [child identifier]\n"  # the analyst still sees what failed, and where
    assert outputs[-1]["evalue"] == "no placement for [child identifier]"


# ------------------------------------------------------------------ notebook outputs never reach git


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.mark.skipif(shutil.which("git") is None or shutil.which("make") is None, reason="needs git and make")
def test_the_set_up_keeps_notebook_outputs_out_of_git(tmp_path):
    pytest.importorskip("nbstripout")
    repo = tmp_path / "clone"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.org")
    _git(repo, "config", "user.name", "t")
    shutil.copy(ROOT / ".gitattributes", repo / ".gitattributes")
    # the set-up step that `make report` and `make test` run, with this interpreter as the project's
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        ["make", "-s", "-C", str(repo), "-f", str(ROOT / "Makefile"), "git-filters", f"BIN={bin_dir}"], check=True
    )
    committed = ROOT / "notebooks" / "explore" / "re_referrals.ipynb"
    nb = nbformat.read(committed, as_version=4)
    cohort = nbformat.v4.new_output(
        "execute_result", {"text/plain": "   child_id  date_of_birth\n0  CH0004711  2015-03-02"}
    )
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [cohort], 7
    (repo / "notebooks").mkdir()
    nbformat.write(nb, repo / "notebooks" / "re_referrals.ipynb")
    assert "CH0004711" in (repo / "notebooks" / "re_referrals.ipynb").read_text()
    _git(repo, "add", ".")
    staged = _git(repo, "show", ":notebooks/re_referrals.ipynb")
    assert "CH0004711" not in staged and '"execution_count": null' in staged
    assert staged == committed.read_text()  # the committed notebooks come out of the filter unchanged
    _git(repo, "commit", "-q", "-m", "analysis")
    assert "CH0004711" not in _git(repo, "log", "-p")
    assert _git(repo, "status", "--porcelain") == ""  # the outputs on disk are not a change to commit


def test_make_report_and_make_test_set_the_filter_up():
    for target in ("report", "test"):
        plan = subprocess.run(
            ["make", "-n", "-C", str(ROOT), target], check=True, capture_output=True, text=True
        ).stdout
        assert "filter.nbstripout.clean" in plan and "filter.nbstripout.required true" in plan, target
    assert "*.ipynb filter=nbstripout" in (ROOT / ".gitattributes").read_text()


def test_a_clone_without_the_filter_is_told_to_set_it_up(tmp_path):
    from kpi.privacy import notebook_filter_problem

    if shutil.which("git") is None:
        pytest.skip("needs git")
    repo = tmp_path / "clone"
    repo.mkdir()
    _git(repo, "init", "-q")
    shutil.copy(ROOT / ".gitattributes", repo / ".gitattributes")
    assert "not set up" in notebook_filter_problem(repo) and "make git-filters" in notebook_filter_problem(repo)
    _git(repo, "config", "filter.nbstripout.clean", "/nowhere/python -m nbstripout")
    _git(repo, "config", "filter.nbstripout.required", "true")
    assert "/nowhere/python, which does not exist" in notebook_filter_problem(repo)
    assert notebook_filter_problem(tmp_path) is None  # not a clone: nothing to set up


def test_this_clone_keeps_notebook_outputs_out_of_git():
    """Fails in a clone made without `make` (conda env create): the filter must be set up (make git-filters)."""
    from kpi.privacy import notebook_filter_problem

    problem = notebook_filter_problem(ROOT)
    assert problem is None, problem
