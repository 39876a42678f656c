"""The ``kpi`` command: each subcommand is one call into the package."""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import sys
import time
from pathlib import Path

import pandas as pd

from . import model
from .engine import BREAKDOWNS as BREAKDOWN_CHOICES
from .errors import UserError
from .params import PARAMS_DIR
from .readers import FORMATS
from .store import default_store

COMPARATORS_DIR = Path(__file__).resolve().parent.parent / "data" / "comparators"  # the project's (kpi.comparators)
DEFAULT_SYNTH_DIR = Path("data/synthetic")
# errors of writing the machine gives (disk full, over quota, read-only, not allowed): said in a line, not a fault
DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


class _Parser(argparse.ArgumentParser):
    """A mistake on the command line in one line, naming the option and what was expected (not argparse's usage
    block before it)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (`{self.prog} --help` lists the options)\n")


def _type(check, name: str):
    """An argparse type from a check raising ValueError (or a UserError) with the expected form in its message."""

    def convert(text: str):
        try:
            return check(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    convert.__name__ = name
    return convert


def _month_check(text: str) -> str:
    from .calendar import parse_month

    return parse_month(text, what=None)


def _span_check(text: str) -> list[str]:
    from .calendar import parse_span

    return parse_span(text, what=None)


def _whole(least: int):
    def check(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            n = None
        if n is None or n < least:
            raise ValueError(f"expected a whole number of {least} or more, not {text!r}")
        return n

    return check


def _between(least: float, most: float):
    def check(text: str) -> float:
        try:
            x = float(text)
        except ValueError:
            x = float("nan")
        if not least <= x <= most:  # nan fails both
            raise ValueError(f"expected a number from {least:g} to {most:g}, not {text!r}")
        return x

    return check


def _finite(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        x = float("nan")
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError(f"expected a number, not {text!r}")
    return x


MONTH = _type(_month_check, "month")
SPAN = _type(_span_check, "months")
POSITIVE = _type(_whole(1), "number")
NUMBER = _type(_finite, "number")
# the synthetic authority: from 0.001 of the seed county (below, some tables get no rows and it cannot be made) to 100 times
# the seed county (the load is measured at 50); a seed as numpy's generator takes it (0 or more)
SCALE = _type(_between(0.001, 100), "number")
SEED = _type(_whole(0), "number")
SECONDS = _type(_between(0.001, 86400), "seconds")  # up to a day: beyond, the drivers' timers overflow


def _store_arg(p: argparse.ArgumentParser):
    p.add_argument("--store", type=Path, default=default_store(), help=f"DuckDB store file (default {default_store()})")


def _partial_arg(p: argparse.ArgumentParser):
    p.add_argument(
        "--partial",
        action="store_true",
        help="allow the month the extract was taken in, when taken after its 1st: figures to the day before, "
        "labelled partial",
    )


def _synthetic_folder(out: Path, option: str, *, replace: bool) -> None:
    """Refuse to generate the synthetic authority where it would overwrite anything else: ``out`` must be a new or
    empty folder (or, with ``replace``, one a earlier ``kpi synth`` wrote, as its extract.json says)."""
    import json

    if out.exists() and not out.is_dir():
        raise UserError(f"{option}: {out} is a file; expected a folder to write the synthetic authority's CSV files in")
    if not out.exists() or not any(out.iterdir()):
        return
    try:
        ours = json.loads((out / "extract.json").read_text()).get("generator") == "kpi synth"
    except (OSError, ValueError, AttributeError):
        ours = False
    if not (replace and ours):
        raise UserError(
            f"{option}: {out} is not empty and holds no synthetic extract: not overwritten; give a new or empty "
            f"folder for the synthetic authority (a council's own data: kpi load, then kpi run)"
        )


def cmd_synth(a) -> int:
    from .synth import SynthConfig, generate, write

    _synthetic_folder(a.out, "--out", replace=True)
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


def _options_apply(sources: list[tuple[str, str]], options: dict) -> None:
    """Refuse a reader's option given with no source of a format whose reader takes it (else silently unused)."""
    import inspect

    from .readers import reader

    for option, value in options.items():
        if value is None:
            continue
        name = option.lstrip("-").replace("-", "_")
        takes = [f for f in FORMATS if name in inspect.signature(reader(f)).parameters]
        if not any(fmt in takes for fmt, _ in sources):
            raise UserError(
                f"{option} is for {' and '.join(takes)} sources; none of those given is one "
                f"({', '.join(sorted({fmt for fmt, _ in sources}))}): leave it out, or prefix the source (cin:FILE)"
            )


def cmd_load(a) -> int:
    from .errors import LoadError
    from .load import load_sources
    from .readers import parse_source, read
    from .readers.population import with_population

    t0 = time.perf_counter()
    sources = [parse_source(s, a.format) for s in a.sources]
    _options_apply(sources, {"--mapping": a.mapping, "--sql-timeout": a.sql_timeout, "--year": a.year})
    try:
        extracts = read(sources, mapping=a.mapping, sql_timeout=a.sql_timeout, year=a.year)
        res = load_sources(
            with_population(extracts, a.la_code), a.store, extract_date=a.extract_date, accept_losses=a.accept_losses
        )
    except LoadError as e:
        print(f"load stopped, nothing changed: {e}", file=sys.stderr)
        return 2
    print(res.summary())
    print(f"loaded into {a.store} in {time.perf_counter() - t0:.1f} s")
    from .store import open_snapshot

    con, _, cov = open_snapshot(a.store, res.snapshot_id)  # the months the commands will report, said once
    con.close()
    print(cov.describe().replace(f" of {a.store}", "", 1))
    return 0


def _snapshot(a, months_of):
    """The snapshot a command reads (``--snapshot``, else the latest), with the months it asks for checked against
    what it covers: ``months_of(latest complete month)`` gives them, from --month or that default.
    Returns (connection, snapshot row, the months)."""
    from .store import open_snapshot

    con, snap, cov = open_snapshot(a.store, a.snapshot)
    months = months_of(a.month or cov.last)
    try:
        cov.check(months, a.partial, "--month" if len(months) == 1 else "--months")
    except UserError:
        con.close()
        raise
    a.partial_month = cov if cov.partial in months else None  # shown: labelled (_label_partial)
    return con, snap, months


def _label_partial(a, df: pd.DataFrame, key: str = "month") -> pd.DataFrame:
    """A partial month shown is labelled: a ``partial`` column giving the last day its figures count on its rows
    (and on those of the quarter or year holding it, with ``key="period"``), and a line on standard error. Nothing
    is added when no partial month is shown."""
    cov = getattr(a, "partial_month", None)
    if cov is None or df.empty:
        return df
    from .calendar import period_of

    mine = cov.partial if key == "month" else period_of(cov.partial, a.period)
    df = df.copy()
    df["partial"] = df[key].map(lambda v: f"figures to {cov.to_day.isoformat()}" if v == mine else "")
    print(
        f"{mine} is partial: the extract was taken on {cov.extract_date:%-d %B %Y}, so its figures run to "
        f"{cov.to_day:%-d %B %Y} (column partial)",
        file=sys.stderr,
    )
    return df


def cmd_volumes(a) -> int:
    from .calendar import months_back
    from .volumes import volumes, wide

    con, snap, months = _snapshot(a, lambda m: months_back(m, a.months))
    month = months[-1]
    df = _label_partial(a, volumes(con, month, a.months, snap))
    con.close()
    if a.format == "csv":
        df.to_csv(sys.stdout, index=False)
    elif a.format == "json":
        print(df.to_json(orient="records", indent=1))
    else:
        print(
            f"{snap['council'] or 'Council'}: headline volumes to {month} "
            f"(snapshot {snap['snapshot_id']}, extract {snap['extract_date'].date()})"
        )
        table = wide(df.drop(columns="partial", errors="ignore"))
        if a.partial_month:  # the partial month's column says so
            cov = a.partial_month
            table = table.rename(columns={cov.partial: f"{cov.partial} (partial, to {cov.to_day:%-d %b})"})
        print(table.to_string())
        for name, why in (
            df.dropna(subset=["not_available"]).drop_duplicates("volume")[["volume", "not_available"]].values
        ):
            print(f"not available: {name}: {why}")
    return 0


def _targets(a, cat):
    """The targets file (--targets, else the project's params/targets.yaml if there is one), checked."""
    from .catalogue import TARGETS, load_targets

    if a.targets is not None and not a.targets.is_file():
        raise UserError(f"--targets: no file {a.targets}; expected a YAML file of targets by financial year")
    return load_targets(a.targets or (TARGETS if TARGETS.exists() else None), cat)


def _measures_months(a, month: str) -> list[str]:
    """The months --month and --months ask for: by period, every month of the periods shown."""
    from .calendar import months_back, period_months, period_of

    if a.period == "month":
        return months_back(month, a.months)
    span = months_back(month, period_months(month, a.period) * a.months + 11)
    wanted = list(dict.fromkeys(period_of(m, a.period) for m in span))[-a.months :]
    return [m for m in span if period_of(m, a.period) in wanted]


def cmd_measures(a) -> int:
    from .catalogue import load
    from .engine import Context
    from .errors import LoadError
    from .scorecard import over_periods, scorecard

    if a.by and a.period != "month":
        raise UserError("--by is for monthly figures (--period month)")
    cat = load(a.catalogue)
    targets = _targets(a, cat)
    context = con = None
    if a.aggregates is None or a.store_given:
        con, snap, months = _snapshot(a, lambda m: _measures_months(a, m))
        context = Context.prepare(con, snap)
        month = months[-1]
    elif a.snapshot is not None:  # the store is not read with --aggregates alone
        raise UserError("--snapshot chooses a snapshot of the store: give --store too, or leave --snapshot out")
    elif a.month is None:
        raise UserError("--month is needed with --aggregates (or --store, for the store's latest month)")
    else:
        month = a.month
    if a.by and context is None:
        raise UserError("--by needs record-level data: the aggregates file has no breakdowns (give --store too)")
    if a.aggregates is not None and not a.aggregates.is_file():
        raise UserError(f"--aggregates: no file {a.aggregates}; expected a CSV of month,measure,numerator,denominator")
    rejects: list = []
    kw = {"context": context, "aggregates": a.aggregates, "catalogue": cat, "targets": targets}
    try:
        if a.period != "month":
            df = over_periods(month, a.months, a.period, **kw)
        else:
            df = scorecard(month, a.months, by=a.by, rejects=rejects, **kw)
    except LoadError as e:
        raise UserError(str(e)) from None
    finally:
        if con is not None:
            con.close()
    _print_rejects(rejects)
    if con is not None:
        df = _label_partial(a, df, "month" if a.period == "month" else "period")
    if a.format == "csv":
        df.to_csv(sys.stdout, index=False)
    elif a.format == "json":
        print(df.to_json(orient="records", indent=1, force_ascii=False))
    elif a.period != "month":
        cols = ["measure", "period", "months", "display", "calculation", "target", "tolerance", "rag", "how"]
        cols += ["partial"] if "partial" in df else []
        show = df[cols].copy()
        show.insert(1, "title", df["title"].str.slice(0, 44))
        print(show.astype(object).fillna("").to_string(index=False))
    else:
        cols = (
            ["measure", "kpi", "month"]
            + (["group"] if a.by else [])
            + ["display", "calculation", "target", "tolerance", "rag", "vs_last_month"]
            + (["partial"] if "partial" in df else [])
        )
        show = df[cols].copy()
        # what the loaded data cannot supply says so (the reason: the not_available column of csv and json)
        show["display"] = show["display"].mask(df["not_available"].notna() & (df["display"] == ""), "not available")
        show["kpi"] = show["kpi"].map(lambda k: "" if pd.isna(k) else f"KPI {int(k)}")
        show["title"] = df["title"].str.slice(0, 48)
        if df["before_display"].notna().any():  # a changed definition's previous figure (kpi.scorecard, A170)
            show["previous"] = df["before_display"]
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
    try:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(model.markdown() + "\n")
    except OSError as e:
        file = next((d for d in a.out.parents if d.exists() and not d.is_dir()), None)
        raise UserError(f"--out: cannot write {a.out}: {f'{file} is a file' if file else e.strerror}") from None
    print(f"wrote {a.out}")
    return 0


def cmd_report(a) -> int:
    """Set up the synthetic authority if needed, then run the latest month's report."""
    from .load import load

    if not (a.data / "extract.json").exists():  # generated only into a new or empty folder
        _synthetic_folder(a.data, "--data", replace=False)
        cmd_synth(
            argparse.Namespace(seed=20250101, scale=1.0, end_month="2026-10", months=36, no_anomalies=False, out=a.data)
        )
    if not a.store.exists():
        print(load(a.data, a.store).summary())
    a.month, a.months, a.params, a.public, a.workers, a.partial = None, None, None, False, None, False
    a.pdf = _chromium_found()  # make report: the PDF too where Chromium is found, said so where not
    return cmd_run(a)


def _chromium_found() -> bool:
    from .pdf import NoChromium, find_chromium

    try:
        find_chromium()
    except NoChromium as e:
        print(f"report.pdf skipped: {str(e).removeprefix('--pdf: ')}")
        return False
    return True


def cmd_run(a) -> int:
    from .pdf import find_chromium
    from .runner import checked, run

    if a.pdf:  # no Chromium to print with: said before anything is run
        find_chromium()
    months = a.months or [a.month]
    ready = [checked(month, a.store, a.params, a.partial) for month in months]  # every month before any is run
    code, written = 0, 0
    for month, ready_ in zip(months, ready, strict=True):
        res = run(
            month,
            a.store,
            a.params,
            a.output,
            workers=a.workers,
            public=a.public,
            partial=a.partial,
            ready=ready_,
            pdf=a.pdf,
        )
        if res.ok:
            print(f"report: {res.report}")
            if a.pdf:
                print(f"pdf: {res.out_dir / 'report.pdf'}")
            written += 1
            continue
        for f in res.failures:
            where = f"cell {f['cell']} ({f.get('source', '')})" if f.get("cell") is not None else "the page"
            print(f"failed: {f['notebook']} {where}: {f['error']}", file=sys.stderr)
        kept = "the last good report is unchanged" if (res.out_dir / "report.html").exists() else "no report written"
        print(
            f"kpi run: {res.month} failed: its notebooks and manifest are in {res.failed_dir}; {kept}", file=sys.stderr
        )
        code = 1
    if len(months) > 1:  # the batch's last line, for whoever (or whatever) watches its log
        print(run_summary(months, written))
    return code


def run_summary(months: list[str], written: int) -> str:
    """A run of several months in one line: "3 months: 3 written, 0 failed (2026-08..2026-10)"."""
    return f"{len(months)} months: {written} written, {len(months) - written} failed ({months[0]}..{months[-1]})"


def cmd_params_new(a) -> int:
    """Start params/YYYY-MM.yaml from the previous month's, with drafted commentary for managers to edit."""
    import dataclasses

    from . import params as pm
    from .calendar import add_months, month_label, month_start
    from .narrative import draft
    from .report import report_for
    from .store import open_snapshot

    path = a.dir / f"{a.month}.yaml"
    if path.exists() and not a.force:
        raise UserError(f"{path} exists; --force to start it again")
    if a.dir.exists() and not a.dir.is_dir():
        raise UserError(f"--dir: {a.dir} is a file; expected the folder of the params files")
    con, _, cov = open_snapshot(a.store)
    con.close()
    cov.check(a.month, a.partial, "month")
    # the previous month's params carried over (council, catalogue, public, la_code, comparator_year, aggregates):
    # only the month, the snapshot (the latest), the notes and the commentary start again
    prev = pm.for_month(month_label(add_months(month_start(a.month), -1)), a.dir)
    new = dataclasses.replace(prev, month=a.month, snapshot=None, notes="", commentary={})
    pm.check(new)  # what it names (catalogue, comparators, aggregates) is used to draft: errors name its file
    r = report_for(a.month, a.store, new)  # public: drafted from the published figures alone
    new.council = new.council or str(r.snapshot.get("council") or "")
    if a.month == cov.partial:
        new.notes = (
            f"Partial month: the data were extracted on {cov.extract_date:%-d %B %Y}, so the figures run to "
            f"{cov.to_day:%-d %B %Y}, not to the month's end."
        )
    for m in r.catalogue.kpis():
        new.commentary[m.ref] = "DRAFT: " + draft(m, r.series(m.ref), r.verdict(m.ref), r.drivers_of(m.ref))
    try:
        a.dir.mkdir(parents=True, exist_ok=True)
        path.write_text(pm.dump(new, {m.ref: f"KPI {m.kpi}: {m.kpi_title or m.title}" for m in r.catalogue.kpis()}))
    except OSError as e:
        raise UserError(f"--dir: cannot write {path}: {e.strerror}") from None
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
                raise UserError("import needs the folder of the DfE's CSV tables: kpi comparators import FOLDER")
            if a.source.is_file():  # a nation's tidy table: la_code, measure, year, value
                if not a.nation:
                    raise UserError(
                        f"{a.source}: a published table needs --nation, whose councils it holds (--nation Wales)"
                    )
                target, table, unknown = cp.import_published(a.source, cat, a.nation, a.dir)
                print(
                    f"{int(table['value'].notna().sum())} published figures ({int(table['value'].isna().sum())} not "
                    f"published) of {table['la_code'].nunique()} councils of {a.nation} for "
                    f"{table['measure'].nunique()} measures of the {cat.name} catalogue (years "
                    f"{', '.join(sorted(table['year'].unique()))}), written to {target}; name it in a month's params "
                    f"as published: with the council's la_code"
                )
                if unknown:
                    print(f"not in the {cat.name} catalogue, so not kept: {', '.join(unknown)}")
                return 0
            if a.nation:
                raise UserError("--nation: for a published table (a CSV file), not a folder of the DfE's tables")
            if not a.source.is_dir():
                raise UserError(f"{a.source}: no such folder; expected the folder of the DfE's CSV tables")
            figures, sn, not_found = cp.import_tables(a.source, cat, a.dir)
            years = ", ".join(sorted(figures["year"].unique()))
            print(f"{len(figures)} published figures for {figures['measure'].nunique()} measures (years {years}),")
            print(f"and {sn['la_code'].nunique()} councils' statistical neighbours, written to {a.dir}")
            if not_found:
                print(f"not found, so not compared: {', '.join(not_found)}")
            return 0
        if not a.la:
            raise UserError("show needs --la CODE (the council's DfE code, e.g. 825)")
        figures, neighbours = cp.read(a.dir)
        if a.la not in set(neighbours["la_code"]):
            raise UserError(
                f"--la: {a.la} is not the DfE code of an English council in {a.dir} "
                f"({neighbours['la_code'].nunique()} councils; e.g. 825 Buckinghamshire)"
            )
        years = sorted(set(figures["year"].astype(str)))
        if a.year is not None and a.year not in years:
            raise UserError(f"--year: {a.dir} holds no year {a.year}; expected one of {years[0]} to {years[-1]}")
        t = cp.for_council(cat, a.la, figures, neighbours, year=a.year)
    except LoadError as e:
        raise UserError(str(e)) from None
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

    if not a.file.is_file():
        raise UserError(f"{a.file}: no such file; expected a CSV of period,value")
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
    except UnicodeDecodeError:
        raise UserError(f"{a.file}: cannot be read as text (UTF-8); expected a CSV of period,value") from None
    except ValueError as e:
        raise UserError(str(e)) from None
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


def _explore_checks(a) -> None:
    """What kpi explore is asked, checked before a notebook runs: a notebook of notebooks/explore by name (no path
    out of it), one written about a measure only for that measure, a folder for --out, a measure the store can
    compute (else why not)."""
    import re

    from .catalogue import load
    from .engine import Context, breakdowns_of
    from .explore import NOTEBOOK_FOR
    from .store import open_snapshot

    if not re.fullmatch(r"[A-Za-z0-9_-]+", a.notebook):
        raise UserError(
            f"--notebook: expected the name of a notebook in notebooks/explore (measure, re_referrals), not "
            f"{a.notebook!r}"
        )
    if a.out.exists() and not a.out.is_dir():
        raise UserError(f"--out: {a.out} is a file; expected the folder to write the executed notebook in")
    _private_folder(a.out, "--out")
    cat = load(a.catalogue)
    text = str(a.measure).strip()
    kpi = re.fullmatch(r"(?i)kpi\s*(\d+)", text)
    m = next((m for m in cat.kpis() if m.kpi == int(kpi[1])), None) if kpi else cat.by_ref.get(text)
    if m is None:
        return  # unknown: said by runner.explore, with the KPIs there are
    allowed = breakdowns_of(m)
    if a.by is not None and a.by not in allowed:
        raise UserError(
            f"--by {a.by}: the records of {m.ref} {m.title} have no {a.by.replace('_', ' ')}; expected one of "
            f"{', '.join(allowed)}"
        )
    only = NOTEBOOK_FOR.get(a.notebook)
    if only and only != (cat.name, m.ref):
        raise UserError(
            f"--notebook {a.notebook}: written about measure {only[1]} of the {only[0]} catalogue, not {m.ref} of "
            f"the {cat.name}; expected --notebook measure for it"
        )
    con, snap, _ = open_snapshot(a.store)
    try:
        why = Context.prepare(con, snap).unavailable(m)
    finally:
        con.close()
    if why:
        raise UserError(f"{m.ref} {m.title}: not available in snapshot {snap['snapshot_id']} of {a.store}: {why}")


def _private_folder(folder: Path, option: str) -> None:
    """A folder for working copies that hold children's records: never the project's notebooks/, nor a month's
    report folder (output/YYYY-MM), nor a folder git would take in (the copies' outputs would reach it)."""
    import subprocess

    from .runner import NOTEBOOKS

    where = folder.resolve()
    if where == NOTEBOOKS or NOTEBOOKS in where.parents:
        raise UserError(f"{option}: {folder} is in the project's notebooks; expected a folder git ignores")
    if any((d / "manifest.json").exists() or (d / "report.html").exists() for d in (where, *where.parents)):
        raise UserError(f"{option}: {folder} is in a report's folder; expected a folder apart from the reports")
    top = next((d for d in (where, *where.parents) if d.is_dir()), None)
    try:  # 0: ignored, 1: git would take it in, 128: not in a git work tree
        r = subprocess.run(
            ["git", "-C", str(top), "check-ignore", "-q", str(where / "x.ipynb")], capture_output=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return
    if r.returncode == 1:
        raise UserError(
            f"{option}: {folder} is not ignored by git, and the notebooks written there hold children's records; "
            "expected a folder git ignores (output/explore)"
        )


def cmd_explore(a) -> int:
    """Run an explore notebook for a measure with papermill and render it to a page beside it (it opens nothing
    by itself)."""
    from .runner import explore

    _explore_checks(a)
    try:
        out = explore(
            a.measure,
            a.month,
            a.store,
            a.notebook,
            a.out,
            progress=print,
            catalogue=a.catalogue,
            partial=a.partial,
            by=a.by,
            before=a.before,
            after=a.after,
        )
    except RuntimeError as e:  # the notebook failed: its cell and error
        print(f"kpi explore: {e}", file=sys.stderr)
        return 1
    print(f"wrote {out} (JupyterLab: make lab) and its page, personal data, for a browser:")
    print(out.with_suffix(".html").resolve())
    return 0


def cmd_lab(a) -> int:
    """JupyterLab on the project's kernel and store, opened on working copies of the explore notebooks (made in a
    folder git ignores, an analyst's own copies kept); --dry-run says what it would do and does nothing."""
    import subprocess

    from .runner import EXPLORE, working_copies
    from .store import open_snapshot

    _private_folder(a.dir, "--dir")
    if a.dir.exists() and not a.dir.is_dir():
        raise UserError(f"--dir: {a.dir} is a file; expected the folder of the working copies")
    con, snap, cov = open_snapshot(a.store)  # a store to explore: else what is wrong with it, before a server
    con.close()
    store = a.store.resolve()
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--notebook-dir={a.dir.resolve()}",
        "--MultiKernelManager.default_kernel_name=python3",  # the project's kernel (make setup registers it)
        *a.jupyter,
    ]
    print(f"store: {cov.describe()}")
    if a.dry_run:
        for nb in sorted(EXPLORE.glob("*.ipynb")):
            copy = a.dir / nb.name
            print(f"{'keep' if copy.exists() else 'copy'} {copy}")
        print(f"KPI_STORE={store} {' '.join(command)}")
        return 0
    for copy, made in working_copies(a.dir):
        print(f"{'copied' if made else 'kept your'} {copy}")
    return subprocess.call(command, env=os.environ | {"KPI_STORE": str(store)})


def main(argv: list[str] | None = None) -> int:
    p = _Parser(
        prog="kpi",
        description="Children's social care KPI workbook",
        epilog="--debug, anywhere on the line, shows the traceback of an error instead of its message.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("synth", help="generate the synthetic authority as one CSV per table")
    s.add_argument("--out", type=Path, default=DEFAULT_SYNTH_DIR)
    s.add_argument(
        "--scale", type=SCALE, default=1.0, help="size relative to the seed county, 0.001 to 100 (default 1)"
    )
    s.add_argument("--seed", type=SEED, default=20250101, help="0 or more (default 20250101)")
    s.add_argument("--end-month", type=MONTH, default="2026-10", help="last complete month (YYYY-MM)")
    s.add_argument("--months", type=POSITIVE, default=36, help="months in the reporting window (default 36)")
    s.add_argument("--no-anomalies", action="store_true", help="plant no anomalies; a steady authority (A123)")
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
        "--sql-timeout",
        type=SECONDS,
        metavar="SECONDS",
        help="sql: how long a query may take (default 600; connecting: 30)",
    )
    s.add_argument(
        "--year", help="ssda903, cin: the collection year of a single return or census, e.g. 2026 or 2025-26"
    )
    _store_arg(s)
    s.add_argument(
        "--extract-date", help="the day the data was taken, YYYY-MM-DD (default: extract.json or the returns' own)"
    )
    s.add_argument(
        "--la-code",
        help="the council's DfE code (old_la_code, e.g. 825): its 0-17 population from the ONS estimates shipped "
        "(data/population/), where no source gives one",
    )
    s.add_argument(
        "--accept-losses",
        action="store_true",
        help="load even if a file loses more than half its rows to the checks, or a table others refer to is empty",
    )
    s.set_defaults(func=cmd_load)

    s = sub.add_parser("volumes", help="headline flows and month-end stocks")
    _store_arg(s)
    s.add_argument("--month", type=MONTH, help="YYYY-MM (default: the snapshot's latest complete month)")
    s.add_argument("--months", type=POSITIVE, default=1, help="the N months ending with --month's")
    s.add_argument("--snapshot", type=POSITIVE, help="a snapshot of the store (default the latest: kpi snapshots)")
    _partial_arg(s)
    s.add_argument("--format", choices=["table", "csv", "json"], default="table")
    s.set_defaults(func=cmd_volumes)

    s = sub.add_parser("measures", help="the scorecard: every measure's figures, calculation and RAG")
    _store_arg(s)
    s.add_argument("--month", type=MONTH, help="YYYY-MM (default: the store's latest complete month)")
    s.add_argument("--months", type=POSITIVE, default=1, help="the N months (or periods) ending with --month's")
    s.add_argument(
        "--period",
        choices=["month", "quarter", "year"],
        default="month",
        help="figures by financial quarter or year (April to March) instead of by month",
    )
    s.add_argument("--snapshot", type=POSITIVE, help="a snapshot of the store (default the latest: kpi snapshots)")
    _partial_arg(s)
    s.add_argument("--aggregates", type=Path, help="CSV of month,measure,numerator,denominator[,value]")
    s.add_argument("--by", choices=sorted(BREAKDOWN_CHOICES), help="break every measure down by this")
    s.add_argument("--catalogue", default="county", help="measure set: a name in kpi/catalogues or a path")
    s.add_argument(
        "--targets",
        type=Path,
        help="targets and tolerances by financial year (default the project's params/targets.yaml, if present)",
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
    which = s.add_mutually_exclusive_group()
    which.add_argument("--month", type=MONTH, help="YYYY-MM (default: the store's latest complete month)")
    which.add_argument("--months", type=SPAN, help="a run of months, A..B (YYYY-MM..YYYY-MM), one report each")
    _partial_arg(s)
    s.add_argument("--params", type=Path, help="the month's params file (default: params/YYYY-MM.yaml if present)")
    s.add_argument("--output", type=Path, default=Path("output"))
    s.add_argument("--workers", type=POSITIVE, help="notebooks run at once (default: one per core)")
    s.add_argument("--public", action="store_true", help="suppress counts of 1 to 5 as official statistics do")
    s.add_argument(
        "--pdf",
        action="store_true",
        help="also print report.pdf (A4) with headless Chromium (make browser installs it)",
    )
    s.set_defaults(func=cmd_run)

    s = sub.add_parser(
        "comparators",
        help="published comparators: import the DfE's tables or a nation's published table; show a council's "
        "neighbours, England and rank",
    )
    s.add_argument("action", choices=["import", "show"])
    s.add_argument(
        "source",
        nargs="?",
        type=Path,
        help="import: the folder of the DfE's CSV tables, or a nation's published table (CSV: la_code, measure, "
        "year, value) with --nation",
    )
    s.add_argument("--nation", help="import: whose councils a published table holds (Wales)")
    s.add_argument("--dir", type=Path, default=COMPARATORS_DIR, help="where the imported figures are kept")
    s.add_argument("--la", help="show: the council's DfE code (old_la_code, e.g. 825)")
    s.add_argument("--year", help="show: the DfE year (default: the latest published)")
    s.add_argument("--catalogue", default="county")
    s.add_argument("--format", choices=["table", "csv"], default="table")
    s.set_defaults(func=cmd_comparators)

    s = sub.add_parser("spc", help="Making Data Count SPC of a series: a CSV of period,value")
    s.add_argument("file", type=Path)
    s.add_argument("--improvement", choices=["increase", "decrease"], required=True, help="which way is better")
    s.add_argument("--target", type=NUMBER)
    s.add_argument("--baseline", type=POSITIVE, help="limits from the first N points of each group only")
    s.add_argument("--rebase", nargs="+", metavar="PERIOD", help="start new limits at these periods")
    s.add_argument("--no-screen", action="store_true", help="keep large moving ranges (as NHS England's Excel tools)")
    s.add_argument("--format", choices=["table", "csv"], default="table")
    s.set_defaults(func=cmd_spc)

    s = sub.add_parser("explore", help="run an explore notebook for a measure (papermill; opens nothing)")
    s.add_argument("measure", help="a reference (1.7) or KPI number (KPI 3)")
    s.add_argument("--month", type=MONTH, help="YYYY-MM (default: the store's latest complete month)")
    _partial_arg(s)
    _store_arg(s)
    s.add_argument("--notebook", default="measure", help="notebooks/explore/NAME.ipynb (default measure)")
    s.add_argument("--catalogue", default="county", help="the measure set the measure is in (measure notebook)")
    s.add_argument("--by", choices=sorted(BREAKDOWN_CHOICES), help="the breakdown to look at first (notebook's by)")
    s.add_argument("--before", type=SPAN, help="the earlier window compared, YYYY-MM..YYYY-MM (with --after)")
    s.add_argument("--after", type=SPAN, help="the later window compared, YYYY-MM..YYYY-MM (with --before)")
    s.add_argument(
        "--out",
        type=Path,
        default=Path("output/explore"),
        help="a folder git ignores for the executed notebook and its page, NAME-REF-MONTH.ipynb and .html "
        "(default output/explore)",
    )
    s.set_defaults(func=cmd_explore)

    s = sub.add_parser("lab", help="JupyterLab on the store and working copies of the explore notebooks (make lab)")
    _store_arg(s)
    s.add_argument(
        "--dir",
        type=Path,
        default=Path("output/explore"),
        help="a folder git ignores for the working copies (default output/explore); copies already there are kept",
    )
    s.add_argument("--dry-run", action="store_true", help="say what it would copy and run, and do nothing")
    s.add_argument(
        "jupyter", nargs="*", metavar="-- JUPYTER_OPTION", help="after --, options for JupyterLab (-- --port 8890)"
    )
    s.set_defaults(func=cmd_lab)

    s = sub.add_parser("params", help="monthly parameter files")
    psub = s.add_subparsers(dest="params_command", required=True)
    s = psub.add_parser("new", help="start params/YYYY-MM.yaml with drafted commentary")
    s.add_argument("month", type=MONTH, help="YYYY-MM")
    _partial_arg(s)
    _store_arg(s)
    s.add_argument(
        "--dir",
        type=Path,
        default=PARAMS_DIR,
        help=f"where the params files are (default {PARAMS_DIR}, read by kpi run)",
    )
    s.add_argument("--force", action="store_true")
    s.set_defaults(func=cmd_params_new)

    argv = sys.argv[1:] if argv is None else [str(x) for x in argv]
    debug = "--debug" in argv  # anywhere on the line: a traceback instead of a message
    argv = [x for x in argv if x != "--debug"]
    try:
        a = p.parse_args(argv)
    except SystemExit as e:  # a mistake on the command line (said by _Parser.error), or --help: its exit code
        return e.code if isinstance(e.code, int) else 2
    a.store_given = any(x == "--store" or x.startswith("--store=") for x in argv)
    a.debug = debug
    name = " ".join(x for x in (a.command, getattr(a, "params_command", None)) if x)
    try:
        return a.func(a)
    except UserError as e:
        if debug:
            raise
        print(f"kpi {name}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"kpi {name}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of the output stopped (kpi measures | head -1): nothing more to say
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error as Python exits
        return 141
    except Exception as e:  # noqa: BLE001 - a fault of the workbook's own: a message, the traceback with --debug
        if debug:
            raise
        if isinstance(e, OSError) and e.errno in DISK_ERRORS:
            # the machine would not let a file be written or read (a full disk, a read-only or forbidden folder):
            # not a fault of the workbook, nor of the data
            print(f"kpi {name}: cannot write or read {e.filename or 'a file'}: {e.strerror or e}", file=sys.stderr)
            return 2
        damaged = _damaged_store(e, getattr(a, "store", None))
        if damaged:  # a store no load recorded (A75), damaged since: found as a query reads it
            print(f"kpi {name}: {damaged}", file=sys.stderr)
            return 2
        first = str(e).splitlines()[0] if str(e) else ""
        print(
            f"kpi {name}: internal error ({type(e).__name__}: {first}); this is a fault of the workbook, not of "
            f"your data: run again with --debug for the traceback, and report it",
            file=sys.stderr,
        )
        return 3


def _damaged_store(e: Exception, store) -> str | None:
    """What to tell of a store found damaged by the database as a command read it, or None if ``e`` is not that."""
    import duckdb

    from .store import damaged_message

    if store is None or not isinstance(e, duckdb.Error):
        return None
    return damaged_message(Path(store), e)


if __name__ == "__main__":
    sys.exit(main())
