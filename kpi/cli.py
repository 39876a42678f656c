"""The ``kpi`` command: each subcommand is one call into the package."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from . import model
from .engine import BREAKDOWNS as BREAKDOWN_CHOICES
from .errors import UserError
from .readers import FORMATS
from .store import default_store

DEFAULT_SYNTH_DIR = Path("data/synthetic")


def _store_arg(p: argparse.ArgumentParser):
    p.add_argument("--store", type=Path, default=default_store(), help=f"DuckDB store file (default {default_store()})")


def cmd_synth(a) -> int:
    from .synth import SynthConfig, generate, write

    cfg = SynthConfig(seed=a.seed, scale=a.scale, end_month=a.end_month, months=a.months, anomalies=not a.no_anomalies)
    t0 = time.perf_counter()
    tables = generate(cfg)
    meta = write(tables, a.out, cfg)
    rows = sum(meta["rows"].values())
    print(
        f"wrote {len(tables)} tables, {rows:,} rows, to {a.out} in {time.perf_counter() - t0:.1f} s "
        f"(extract date {meta['extract_date']}, latest month {meta['latest_month']})"
    )
    return 0


def cmd_load(a) -> int:
    from .errors import LoadError
    from .load import load_sources
    from .readers import parse_source, read

    t0 = time.perf_counter()
    try:
        sources = [parse_source(s, a.format) for s in a.sources]
        res = load_sources(read(sources, mapping=a.mapping, year=a.year), a.store, extract_date=a.extract_date)
    except LoadError as e:
        print(f"load stopped, nothing changed: {e}", file=sys.stderr)
        return 2
    print(res.summary())
    print(f"loaded into {a.store} in {time.perf_counter() - t0:.1f} s")
    return 0


def cmd_volumes(a) -> int:
    from .store import connect, month_of
    from .volumes import volumes, wide

    con, snap = connect(a.store, a.snapshot)
    month = a.month or month_of(snap)
    df = volumes(con, month, a.months, snap)
    if a.format == "csv":
        df.to_csv(sys.stdout, index=False)
    elif a.format == "json":
        print(df.to_json(orient="records", indent=1))
    else:
        print(
            f"{snap['council'] or 'Council'}: headline volumes to {month} "
            f"(snapshot {snap['snapshot_id']}, extract {snap['extract_date'].date()})"
        )
        print(wide(df).to_string())
    return 0


def _measures_by_period(a, month: str) -> int:
    from .errors import LoadError
    from .scorecard import over_periods

    if a.by:
        print("kpi measures: --by is for monthly figures (--period month)", file=sys.stderr)
        return 2
    try:
        df = over_periods(
            month,
            a.months,
            a.period,
            catalogue=a.catalogue,
            store=a.store,
            snapshot=a.snapshot,
            aggregates=a.aggregates,
            targets=a.targets,
        )
    except (LoadError, ValueError, LookupError, FileNotFoundError) as e:
        print(f"kpi measures: {e}", file=sys.stderr)
        return 2
    if a.format == "csv":
        df.to_csv(sys.stdout, index=False)
    elif a.format == "json":
        print(df.to_json(orient="records", indent=1, force_ascii=False))
    else:
        cols = ["measure", "period", "months", "display", "calculation", "target", "tolerance", "rag", "how"]
        show = df[cols].copy()
        show.insert(1, "title", df["title"].str.slice(0, 44))
        print(show.astype(object).fillna("").to_string(index=False))
    return 0


def cmd_measures(a) -> int:
    from .errors import LoadError
    from .scorecard import scorecard

    month = a.month
    if month is None:
        if a.aggregates is not None:
            print("--month is needed with --aggregates", file=sys.stderr)
            return 2
        from .store import latest_month

        month = latest_month(a.store, a.snapshot)
    rejects: list = []
    if a.period != "month":
        return _measures_by_period(a, month)
    try:
        df = scorecard(
            month,
            a.months,
            store=a.store if (a.store_given or a.aggregates is None) else None,
            snapshot=a.snapshot,
            aggregates=a.aggregates,
            by=a.by,
            catalogue=a.catalogue,
            targets=a.targets,
            rejects=rejects,
        )
    except (LoadError, ValueError, LookupError, FileNotFoundError) as e:
        print(f"kpi measures: {e}", file=sys.stderr)
        return 2
    _print_rejects(rejects)
    if a.format == "csv":
        df.to_csv(sys.stdout, index=False)
    elif a.format == "json":
        print(df.to_json(orient="records", indent=1, force_ascii=False))
    else:
        cols = (
            ["measure", "kpi", "month"]
            + (["group"] if a.by else [])
            + ["display", "calculation", "target", "tolerance", "rag", "vs_last_month"]
        )
        show = df[cols].copy()
        # what the loaded data cannot supply says so (the reason: the not_available column of csv and json)
        show["display"] = show["display"].mask(df["not_available"].notna() & (df["display"] == ""), "not available")
        show["kpi"] = show["kpi"].map(lambda k: "" if pd.isna(k) else f"KPI {int(k)}")
        show["title"] = df["title"].str.slice(0, 48)
        print(show.astype(object).fillna("").to_string(index=False))
    return 1 if rejects else 0


def _print_rejects(rejects: list[dict]) -> None:
    """Each rejected input row, with file, row, column and why, on standard error."""
    for r in rejects:
        print(
            f"rejected: {r['file']} row {r['row']}, column {r['column_name']}: {r['value']!r}: {r['reason']}",
            file=sys.stderr,
        )


def cmd_snapshots(a) -> int:
    from .store import snapshots

    print(snapshots(a.store).to_string(index=False))
    return 0


def cmd_docs(a) -> int:
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(model.markdown() + "\n")
    print(f"wrote {a.out}")
    return 0


def cmd_report(a) -> int:
    """Set up the synthetic authority if needed, then run the latest month's report."""
    from .load import load

    if not (a.data / "extract.json").exists():
        cmd_synth(
            argparse.Namespace(seed=20250101, scale=1.0, end_month="2026-10", months=36, no_anomalies=False, out=a.data)
        )
    if not a.store.exists():
        print(load(a.data, a.store).summary())
    a.month, a.months, a.params, a.public, a.workers = None, None, None, False, None
    return cmd_run(a)


def cmd_run(a) -> int:
    from .params import ParamsError
    from .runner import run

    months = [a.month]
    if getattr(a, "months", None):
        from .calendar import month_label, month_start, months_back

        try:
            first, last = a.months.split("..")
            n = (
                (month_start(last).year - month_start(first).year) * 12
                + month_start(last).month
                - month_start(first).month
            )
            months = months_back(month_label(month_start(last)), n + 1)
        except ValueError:
            print(f"kpi run: --months must be YYYY-MM..YYYY-MM, not {a.months!r}", file=sys.stderr)
            return 2
        if n < 0:
            print(f"kpi run: --months {a.months} ends before it starts", file=sys.stderr)
            return 2
    code = 0
    for month in months:
        code = max(code, _run_month(a, month, run, ParamsError))
    return code


def _run_month(a, month, run, ParamsError) -> int:
    try:
        res = run(month, a.store, a.params, a.output, workers=a.workers, public=a.public)
    except (ParamsError, LookupError, FileNotFoundError) as e:
        print(f"kpi run: {e}", file=sys.stderr)
        return 2
    if not res.ok:
        for f in res.failures:
            where = f"cell {f['cell']} ({f.get('source', '')})" if f.get("cell") is not None else "the page"
            print(f"failed: {f['notebook']} {where}: {f['error']}", file=sys.stderr)
        return 1
    print(f"report: {res.report}")
    return 0


def cmd_params_new(a) -> int:
    """Start params/YYYY-MM.yaml from the previous month's, with drafted commentary for managers to edit."""
    from . import params as pm
    from .calendar import add_months, month_label, month_start
    from .narrative import draft
    from .report import Report

    path = a.dir / f"{a.month}.yaml"
    if path.exists() and not a.force:
        print(f"{path} exists; --force to start it again", file=sys.stderr)
        return 2
    prev = pm.for_month(month_label(add_months(month_start(a.month), -1)), a.dir)
    r = Report.open(a.month, a.store)
    new = pm.MonthParams(
        month=a.month, council=prev.council or str(r.snapshot.get("council") or ""), catalogue=prev.catalogue, notes=""
    )
    for m in r.catalogue.kpis():
        new.commentary[m.ref] = "DRAFT: " + draft(m, r.series(m.ref), r.spc(m.ref))
    a.dir.mkdir(parents=True, exist_ok=True)
    path.write_text(pm.dump(new))
    print(
        f"wrote {path}: commentary drafted for {len(new.commentary)} KPIs; edit it, removing DRAFT where a "
        f"manager has written the text"
    )
    return 0


def cmd_comparators(a) -> int:
    from . import comparators as cp
    from .catalogue import load
    from .errors import LoadError

    cat = load(a.catalogue)
    try:
        if a.action == "import":
            if not a.source:
                print("kpi comparators import needs the folder of the DfE's CSV tables", file=sys.stderr)
                return 2
            figures, sn, not_found = cp.import_tables(a.source, cat, a.dir)
            years = ", ".join(sorted(figures["year"].unique()))
            print(f"{len(figures)} published figures for {figures['measure'].nunique()} measures (years {years}),")
            print(f"and {sn['la_code'].nunique()} councils' statistical neighbours, written to {a.dir}")
            if not_found:
                print(f"not found, so not compared: {', '.join(not_found)}")
            return 0
        if not a.la:
            print("kpi comparators show needs --la CODE (the council's DfE code, e.g. 825)", file=sys.stderr)
            return 2
        t = cp.for_council(cat, a.la, *cp.read(a.dir), year=a.year)
    except LoadError as e:
        print(f"comparators: {e}", file=sys.stderr)
        return 2
    t.insert(1, "title", [cat[r].title for r in t["measure"]])
    for col, of in (("rank", "of"), ("rank_england", "of_england")):
        t[col] = [
            f"{cp.ordinal(int(r))} of {int(n)}" if pd.notna(r) else "" for r, n in zip(t[col], t[of], strict=True)
        ]
    t = t.drop(columns=["of", "of_england"])
    if a.format == "csv":
        t.to_csv(sys.stdout, index=False)
    else:
        print(t.to_string(index=False))
    return 0


def cmd_spc(a) -> int:
    """Making Data Count SPC of any series (a CSV of period,value)."""
    from .spc import ASSURANCE_TEXT, VARIATION_TEXT, read_series, xmr

    try:
        series, rejects = read_series(a.file)
        if series.empty:
            raise ValueError(f"{a.file}: no row with a period and a number to chart")
        spc = xmr(
            series["value"],
            series["period"],
            improvement=a.improvement,
            target=a.target,
            baseline=a.baseline,
            rebase=a.rebase or (),
            screen=not a.no_screen,
        )
    except ValueError as e:
        print(f"kpi spc: {e}", file=sys.stderr)
        return 2
    _print_rejects(rejects)
    pts = spc.points[["period", "value", "group", "mean", "lpl", "upl", "rules", "variation"]]
    if a.format == "csv":
        pts.to_csv(sys.stdout, index=False)
    else:
        print(pts.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    latest = spc.latest
    print(
        f"variation: {spc.variation} ({VARIATION_TEXT[spc.variation]}, at {latest['period']})\n"
        f"assurance: {spc.assurance or 'none'} ({ASSURANCE_TEXT[spc.assurance]})"
        + ("\ntrial limits: fewer than 13 points in the latest group" if spc.trial else ""),
        file=sys.stderr if a.format == "csv" else sys.stdout,
    )
    return 1 if rejects else 0


def cmd_explore(a) -> int:
    """Start an explore notebook for a measure with papermill (it opens nothing by itself)."""
    from .runner import explore

    try:
        out = explore(a.measure, a.month, a.store, a.notebook, a.out, progress=print, catalogue=a.catalogue)
    except (KeyError, ValueError, FileNotFoundError, LookupError) as e:
        print(f"kpi explore: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:  # the notebook failed: its cell and error
        print(f"kpi explore: {e}", file=sys.stderr)
        return 1
    print(f"wrote {out}: open it in JupyterLab (.venv/bin/jupyter lab {out})")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="kpi",
        description="Children's social care KPI workbook",
        epilog="--debug, anywhere on the line, shows the traceback of an error instead of its message.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("synth", help="generate the synthetic authority as one CSV per table")
    s.add_argument("--out", type=Path, default=DEFAULT_SYNTH_DIR)
    s.add_argument("--scale", type=float, default=1.0, help="size relative to the seed county (default 1)")
    s.add_argument("--seed", type=int, default=20250101)
    s.add_argument("--end-month", default="2026-10", help="last complete month (YYYY-MM)")
    s.add_argument("--months", type=int, default=36, help="months in the reporting window (default 36)")
    s.add_argument("--no-anomalies", action="store_true", help="plant no anomalies")
    s.set_defaults(func=cmd_synth)

    s = sub.add_parser(
        "load",
        help="validate a council's data (standard files, SSDA903, CIN census, Annex A, a SQL database) and load it "
        "as a new snapshot",
        description="Each SOURCE is read in --format, or in the format it is prefixed with (cin:census.xml); "
        "several sources make one snapshot, e.g. ssda903:returns/ cin:census.xml standard:workforce/",
    )
    s.add_argument("sources", nargs="+", metavar="SOURCE", help="a directory, file or database URL")
    s.add_argument("--format", choices=FORMATS, default="standard", help="format of sources without a prefix")
    s.add_argument("--mapping", type=Path, help="sql: YAML naming the council's own tables and columns")
    s.add_argument(
        "--year", help="ssda903, cin: the collection year of a single return or census, e.g. 2026 or 2025-26"
    )
    _store_arg(s)
    s.add_argument("--extract-date", help="date of the extract (default: extract.json, else today)")
    s.set_defaults(func=cmd_load)

    s = sub.add_parser("volumes", help="headline flows and month-end stocks")
    _store_arg(s)
    s.add_argument("--month", help="YYYY-MM (default: the snapshot's latest month)")
    s.add_argument("--months", type=int, default=1)
    s.add_argument("--snapshot", type=int)
    s.add_argument("--format", choices=["table", "csv", "json"], default="table")
    s.set_defaults(func=cmd_volumes)

    s = sub.add_parser("measures", help="the scorecard: every measure's figures, calculation and RAG")
    _store_arg(s)
    s.add_argument("--month", help="YYYY-MM (default: the store's latest month)")
    s.add_argument("--months", type=int, default=1, help="the N months (or periods) ending with --month's")
    s.add_argument(
        "--period",
        choices=["month", "quarter", "year"],
        default="month",
        help="figures by financial quarter or year (April to March) instead of by month",
    )
    s.add_argument("--snapshot", type=int)
    s.add_argument("--aggregates", type=Path, help="CSV of month,measure,numerator,denominator[,value]")
    s.add_argument("--by", choices=sorted(BREAKDOWN_CHOICES), help="break every measure down by this")
    s.add_argument("--catalogue", default="county", help="measure set: a name in kpi/catalogues or a path")
    s.add_argument(
        "--targets",
        type=Path,
        default=Path("params/targets.yaml"),
        help="targets and tolerances by financial year (default params/targets.yaml, if present)",
    )
    s.add_argument("--format", choices=["table", "csv", "json"], default="table")
    s.set_defaults(func=cmd_measures)

    s = sub.add_parser("snapshots", help="list the loads kept in the store")
    _store_arg(s)
    s.set_defaults(func=cmd_snapshots)

    s = sub.add_parser("docs", help="write docs/data-model.md from the data model")
    s.add_argument("--out", type=Path, default=Path("docs/data-model.md"))
    s.set_defaults(func=cmd_docs)

    s = sub.add_parser("report", help="produce the latest month's report from the synthetic authority")
    _store_arg(s)
    s.add_argument("--data", type=Path, default=DEFAULT_SYNTH_DIR)
    s.add_argument("--output", type=Path, default=Path("output"))
    s.set_defaults(func=cmd_report)

    s = sub.add_parser("run", help="run the report notebooks for a month and render output/YYYY-MM/report.html")
    _store_arg(s)
    s.add_argument("--month", help="YYYY-MM (default: the store's latest month)")
    s.add_argument("--months", help="a run of months, A..B (YYYY-MM..YYYY-MM), one report each")
    s.add_argument("--params", type=Path, help="the month's params file (default: params/YYYY-MM.yaml if present)")
    s.add_argument("--output", type=Path, default=Path("output"))
    s.add_argument("--workers", type=int, help="notebooks run at once (default: one per core)")
    s.add_argument("--public", action="store_true", help="suppress counts of 1 to 5 as official statistics do")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser(
        "comparators",
        help="published comparators: import the DfE's tables; show a council's neighbours, England and rank",
    )
    s.add_argument("action", choices=["import", "show"])
    s.add_argument("source", nargs="?", type=Path, help="import: the folder of the DfE's CSV tables")
    s.add_argument("--dir", type=Path, default=Path("data/comparators"), help="where the imported figures are kept")
    s.add_argument("--la", help="show: the council's DfE code (old_la_code, e.g. 825)")
    s.add_argument("--year", help="show: the DfE year (default: the latest published)")
    s.add_argument("--catalogue", default="county")
    s.add_argument("--format", choices=["table", "csv"], default="table")
    s.set_defaults(func=cmd_comparators)

    s = sub.add_parser("spc", help="Making Data Count SPC of a series: a CSV of period,value")
    s.add_argument("file", type=Path)
    s.add_argument("--improvement", choices=["increase", "decrease"], required=True, help="which way is better")
    s.add_argument("--target", type=float)
    s.add_argument("--baseline", type=int, help="limits from the first N points of each group only")
    s.add_argument("--rebase", nargs="+", metavar="PERIOD", help="start new limits at these periods")
    s.add_argument("--no-screen", action="store_true", help="keep large moving ranges (as NHS England's Excel tools)")
    s.add_argument("--format", choices=["table", "csv"], default="table")
    s.set_defaults(func=cmd_spc)

    s = sub.add_parser("explore", help="run an explore notebook for a measure (papermill; opens nothing)")
    s.add_argument("measure", help="a reference (1.7) or KPI number (KPI 3)")
    s.add_argument("--month", help="YYYY-MM (default: the store's latest month)")
    _store_arg(s)
    s.add_argument("--notebook", default="measure", help="notebooks/explore/NAME.ipynb (default measure)")
    s.add_argument("--catalogue", default="county", help="the measure set the measure is in (measure notebook)")
    s.add_argument("--out", type=Path, default=Path("output/explore"))
    s.set_defaults(func=cmd_explore)

    s = sub.add_parser("params", help="monthly parameter files")
    psub = s.add_subparsers(dest="params_command", required=True)
    s = psub.add_parser("new", help="start params/YYYY-MM.yaml with drafted commentary")
    s.add_argument("month")
    _store_arg(s)
    s.add_argument("--dir", type=Path, default=Path("params"))  # relative to where kpi runs
    s.add_argument("--force", action="store_true")
    s.set_defaults(func=cmd_params_new)

    argv = sys.argv[1:] if argv is None else [str(x) for x in argv]
    debug = "--debug" in argv  # anywhere on the line: a traceback instead of a message
    argv = [x for x in argv if x != "--debug"]
    a = p.parse_args(argv)
    a.store_given = "--store" in argv
    a.debug = debug
    try:
        return a.func(a)
    except UserError as e:
        if debug:
            raise
        print(f"kpi {a.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"kpi {a.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - a fault of the workbook's own: a message, the traceback with --debug
        if debug:
            raise
        first = str(e).splitlines()[0] if str(e) else ""
        print(
            f"kpi {a.command}: internal error ({type(e).__name__}: {first}); this is a fault of the workbook, not of "
            f"your data: run again with --debug for the traceback, and report it",
            file=sys.stderr,
        )
        return 3


if __name__ == "__main__":
    sys.exit(main())
