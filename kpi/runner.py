"""The monthly batch: run the report notebooks with papermill, render one HTML with nbconvert.

``run()`` computes the month's scorecard once, then executes the notebooks in ``notebooks/`` with papermill,
one worker per core, each notebook on a kernel of its own (no notebook can lean on another's variables),
keeps the executed notebooks under ``output/YYYY-MM/notebooks/``, merges them into
one self-contained page (``output/YYYY-MM/report.html``: no code, charts embedded, a table of contents)
and writes ``manifest.json``. A failing notebook stops nothing else; it is named with its cell and error,
the run fails, the last good run's files are left together in place and the failed run's manifest and
notebooks are kept in ``output/YYYY-MM/failed/``. Before a report is written its text is checked
for every child identifier in the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import os
import queue
import re
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from . import params as params_mod
from . import pdf as pdf_mod
from . import prose, workbook
from .errors import UserError
from .privacy import Finding, find_personal, notebook_segments, page_segments, redact, redact_notebook

# jsonschema (imported through nbformat by papermill and nbconvert) loads the optional rfc3987_syntax
# package when it is installed, and that builds a grammar for 2 s of CPU on this project's machines: two
# seconds of every run. Notebook validation never checks the IRI formats it serves, so the batch does
# without it.
sys.modules.setdefault("rfc3987_syntax", None)

ROOT = Path(__file__).resolve().parent.parent
XLSX = "scorecard.xlsx"  # beside report.html: the scorecard for Excel (kpi.workbook)
PDF = "report.pdf"  # beside report.html when asked for: the page printed by headless Chromium (kpi.pdf)
NOTEBOOKS = ROOT / "notebooks"
TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class RunResult:
    month: str
    out_dir: Path
    report: Path | None
    failures: list[dict] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    failed_dir: Path | None = None  # a failed run's record: its manifest and executed notebooks

    @property
    def ok(self) -> bool:
        return not self.failures and self.report is not None


@dataclass(frozen=True)
class Job:
    """One notebook run of the batch: the notebook, the executed copy's name, and its own parameters."""

    source: Path
    name: str
    params: dict


def notebooks(directory: Path = NOTEBOOKS, sections: list[str] | None = None) -> list[Job]:
    """The report's notebooks in order; a ``*_section`` notebook once for each of the catalogue's sections."""
    jobs = []
    for nb in sorted(directory.glob("[0-9][0-9]_*.ipynb")):
        if nb.stem.endswith("_section"):
            jobs += [
                Job(nb, f"{nb.stem}-{i:02d}-{key}.ipynb", {"section": key})
                for i, key in enumerate(sections or [], start=1)
            ]
        else:
            jobs.append(Job(nb, nb.name, {}))
    return jobs


# Every wait is bounded: a kernel's start, and each cell (report cells take seconds; a cell still running after
# this is reported as failed rather than waited on for ever).
START_TIMEOUT = 120
CELL_TIMEOUT = 600


# How papermill runs every notebook of the project (the batch's and the explore notebooks'): on the project's
# kernel, from its root, no progress bar, and no kernel log on the console: a warning about loopback TCP for every
# notebook, and an "ERROR | KeyboardInterrupt caught in kernel" when a busy machine interrupts a kernel being shut
# down after its notebook finished; a cell's own error reaches the run through papermill, with its cell.
KERNEL = {
    "kernel_name": "python3",
    "progress_bar": False,
    "cwd": str(ROOT),
    "extra_arguments": ["--IPKernelApp.log_level=CRITICAL"],
}


def _execute(nb: Path, out: Path, parameters: dict) -> dict:
    """Run one notebook with papermill on a kernel of its own; a cell error or a time-out is final.

    Kernels kept warm and reused across notebooks (new clients on a running kernel) were tried for speed
    (8 s a month against 15 s): on this machine they lost a message now and then, and papermill then
    waited for ever on an idle kernel, a cell time-out not applying to a kernel it did not start."""
    import papermill as pm

    t = time.perf_counter()
    try:
        pm.execute_notebook(
            str(nb),
            str(out),
            parameters=parameters,
            start_timeout=START_TIMEOUT,
            execution_timeout=CELL_TIMEOUT,
            log_output=False,
            **KERNEL,
        )
        return {"notebook": out.name, "ok": True, "seconds": time.perf_counter() - t}
    except pm.PapermillExecutionError as e:
        cell, source = _error_cell(str(out))
        return {
            "notebook": out.name,
            "ok": False,
            "seconds": time.perf_counter() - t,
            "cell": cell,
            "source": source,
            "error": f"{e.ename}: {e.evalue}",
        }
    except (RuntimeError, TimeoutError) as e:  # the kernel did not start or died; a cell over CELL_TIMEOUT
        return {
            "notebook": out.name,
            "ok": False,
            "seconds": time.perf_counter() - t,
            "cell": None,
            "error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
        }


def _error_cell(path: str) -> tuple[int | None, str]:
    """The index (in the executed notebook kept for the analyst) and first line of the cell that failed."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for i, c in enumerate(nb.cells):
        if c.cell_type == "code" and any(o.get("output_type") == "error" for o in c.get("outputs", [])):
            return i, c.source.splitlines()[0] if c.source else ""
    return None, ""


def run(
    month: str | None = None,
    store: Path | str | None = None,
    params_file: Path | str | None = None,
    out_root: Path | str = "output",
    workers: int | None = None,
    public: bool = False,
    notebook_dir: Path | None = None,
    progress=print,
    partial: bool = False,
    ready: tuple | None = None,
    pdf: bool = False,
) -> RunResult:
    """Run the month's report into ``out_root/month`` (the month, the params and the store checked first:
    :func:`checked`, unless ``ready`` is what it returned for them). A good run replaces the last good one's
    report, manifest, notebooks and data together; a failed run leaves them as they were and keeps its own record
    (manifest and executed notebooks) in ``out_root/month/failed/``. With ``pdf`` the page is also printed to
    ``report.pdf`` (:mod:`kpi.pdf`; kpi.pdf.NoChromium before anything is run if there is no Chromium)."""
    t0 = time.perf_counter()
    chromium = pdf_mod.find_chromium() if pdf else None
    month, store, p, cat, partial = ready or checked(month, store, params_file, partial)
    public = public or p.public
    out = Path(out_root).resolve() / month
    build = out / f".build-{os.getpid()}"
    with month_lock(out, month, progress):
        shutil.rmtree(build, ignore_errors=True)
        try:
            (build / "notebooks").mkdir(parents=True)
        except OSError as e:
            raise UserError(f"output folder {out}: cannot be made: {e.strerror}") from None
        try:
            return _produce(
                month, store, p, cat, out, build, workers, public, notebook_dir, progress, partial, t0, chromium
            )
        finally:
            shutil.rmtree(build, ignore_errors=True)


LOCK = ".run.lock"  # in a month's output folder while a run of it is under way


@contextlib.contextmanager
def month_lock(out: Path, month: str, progress=print):
    """The month's output folder held by this run alone: a second run of it at once is refused naming the first
    (two runs would each replace the other's files, the last one winning). The lock is the kernel's (flock) on
    ``out/.run.lock``, so a run that died holds none: its file is taken over (and said so). Removed at the end,
    after checking that the file locked is still the one at the path (a run that opened it before it went is
    not let in on an unlinked file)."""
    import fcntl
    import socket

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"output folder {out}: cannot be made: {e.strerror}") from None
    path = out / LOCK
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise UserError(f"output folder {out}: cannot be written: {e.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 300).decode(errors="replace").strip() or "a process that has just started"
            os.close(fd)
            raise UserError(
                f"output folder {out}: another run of {month} is under way ({holder}); wait for it to finish, or "
                "give another --output"
            ) from None
        try:
            current = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            current = False
        if current:
            break
        os.close(fd)  # its run ended and removed it as this one opened it: again
    try:
        stale = os.read(fd, 300).decode(errors="replace").strip()
        if stale:
            progress(f"[{month}] took over the lock of a run that ended without finishing ({stale})")
        os.ftruncate(fd, 0)
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        os.pwrite(fd, f"process {os.getpid()} on {socket.gethostname()}, started {started}".encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)


FAILED = "failed"  # beside a month's last good run: the record of its latest failed run


def checked(month: str | None, store: Path | str | None, params_file: Path | str | None, partial: bool = False):
    """What a run needs, checked before anything is made (a UserError naming what is wrong): the month (the
    latest complete one if None) is a real month the snapshot covers (the partial month only with ``partial``),
    the params and what they name can be used, the snapshot exists. Returns (month, store, params, catalogue,
    the snapshot's Coverage if the month is its partial month, else None)."""
    from .calendar import parse_month
    from .store import default_store, open_snapshot

    month = parse_month(month, "month") if month is not None else None
    store = Path(store or default_store()).resolve()
    p = params_mod.load(params_file) if params_file else params_mod.for_month(month) if month else None
    con, snap, cov = open_snapshot(store, p.snapshot if p else None, f"{p.path}: snapshot" if p else "snapshot")
    con.close()
    if p is None:  # the latest month of the latest snapshot, unless its params choose another snapshot
        month = cov.last
        p = params_mod.for_month(month)
        if p.snapshot not in (None, snap["snapshot_id"]):
            con, snap, cov = open_snapshot(store, p.snapshot, f"{p.path}: snapshot")
            con.close()
    month = month or p.month
    if p.month != month:
        raise params_mod.ParamsError(f"{p.path}: month: is {p.month}, not {month}")
    cov.check(month, partial, "month")
    cat = params_mod.check(p)
    return month, store, p, cat, cov if partial and month == cov.partial else None  # a whole month is not partial


def _produce(
    month, store, p, cat, out, build, workers, public, notebook_dir, progress, partial, t0, chromium=None
) -> RunResult:
    """The run itself, in ``build``; then its files put in ``out`` (or, failed, in ``out/failed``); the page printed
    to PDF by ``chromium`` if given."""
    import pandas as pd

    from .report import prepare_data

    timings = {}
    books = notebooks(notebook_dir or NOTEBOOKS, list(cat.sections))
    workers = workers or min(len(books), os.cpu_count() or 1)
    progress(f"[{month}] computing the scorecard from {store}")
    data = prepare_data(month, store, p, build / "data", public=public)
    # the scorecard for Excel, from the same (in a public run, published) figures as the page
    workbook.write(pd.read_parquet(data / "scorecard.parquet"), cat, build / XLSX)
    timings["scorecard"] = time.perf_counter() - t0
    parameters = {
        "month": month,
        "store": str(store),
        "params_file": str(p.path.resolve()) if p.path else None,
        "data_dir": str(data),
        "public": public,
    }
    results = []
    progress(f"[{month}] running {len(books)} notebooks, {workers} at a time")
    todo = queue.SimpleQueue()
    for nb in books:
        todo.put(nb)

    def worker() -> None:
        try:
            work()
        finally:  # papermill left this thread an event loop: closed, not a ResourceWarning on the console at exit
            with contextlib.suppress(RuntimeError):
                asyncio.get_event_loop_policy().get_event_loop().close()

    def work() -> None:
        while True:
            try:
                nb = todo.get_nowait()
            except queue.Empty:
                return
            r = _execute(nb.source, build / "notebooks" / nb.name, parameters | nb.params)
            if not r["ok"]:  # a cell's error can quote a value: never a child's identifier or date of birth
                said = [("error", r["error"]), ("cell", r.get("source") or "")]
                found = _personal(store, data, said)
                r["error"], r["source"] = (redact(t, found) for _, t in said)
            results.append(r)
            timings[r["notebook"]] = r["seconds"]
            what = "done" if r["ok"] else f"FAILED at cell {r['cell']} ({r.get('source', '')}): {r['error']}"
            progress(f"[{month}]   {r['notebook']}: {what} ({r['seconds']:.1f} s)")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for f in [pool.submit(worker) for _ in range(workers)]:
            f.result()
    failures = [r for r in results if not r["ok"]]
    report, leaked, extra_pdf = None, [], {}
    if not failures:
        t = time.perf_counter()
        notice = (
            f"Partial month: the data were extracted on {partial.extract_date:%-d %B %Y}, so the figures for "
            f"{month_name(month)} run to {partial.to_day:%-d %B %Y}, not to the month's end."
            if partial
            else None
        )
        executed = [build / "notebooks" / nb.name for nb in books]
        page = render(executed, _title(p, data, month, partial), notice)
        leaked = leaked_identifiers(page, store, data, executed, prose.segments(p))
        if leaked:
            shown = "; ".join(map(str, leaked[:5])) + (f"; and {len(leaked) - 5} more" if len(leaked) > 5 else "")
            failures.append(
                {
                    "notebook": "report.html",
                    "cell": None,
                    "error": f"personal data found, report not written: {shown}",
                }
            )
            for nb in executed:  # nor is any left beside the page in an executed notebook's outputs
                if any(f.where.startswith(f"{nb.name} ") for f in leaked):
                    _clear_outputs(nb)
        else:
            (build / "report.html").write_text(page, encoding="utf-8")
            report = out / "report.html"
        timings["render"] = time.perf_counter() - t
    if report and chromium:
        t = time.perf_counter()
        try:
            pages = pdf_mod.write(build / "report.html", build / PDF, _title(p, data, month, partial), chromium)
            extra_pdf = {"report_pdf": PDF, "report_pdf_pages": pages}
        except UserError as e:  # Chromium would not start or print: the run fails, naming it
            failures.append({"notebook": PDF, "cell": None, "error": str(e)})
            report = None
        timings["pdf"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    extra = {"partial": {"figures_to": partial.to_day.isoformat()}} if partial else {}
    extra = {"report_pdf": None} | (extra_pdf if report else {}) | extra
    leaked = leaked if report is None else []
    _manifest(build, month, p, cat, store, data, results, failures, timings, report, leaked, extra, public)
    if report:  # with the figures behind the page (aggregates only), for analysts and for checking re-runs
        _replace(out, build, ["report.html", PDF, XLSX, "manifest.json", "notebooks", "data"])  # no PDF: none left
        shutil.rmtree(out / FAILED, ignore_errors=True)  # an earlier failure of the month is superseded
        printed = f" and {PDF} ({extra_pdf['report_pdf_pages']} A4 pages)" if chromium else ""
        progress(
            f"[{month}] wrote {report} ({report.stat().st_size / 1e6:.1f} MB){printed} in {timings['total']:.1f} s"
        )
        return RunResult(month, out, report, failures, timings)
    # executed notebooks are kept (failed ones too, for their error banners), apart from the last good run's,
    # searched as the page is and each id or date of birth in their code or outputs replaced by what it is
    for nb in sorted((build / "notebooks").glob("*.ipynb")):
        found = _personal(store, data, notebook_segments(nb, sources=True))
        redact_notebook(nb, found)
    _replace(out / FAILED, build, ["manifest.json", "notebooks"])
    good = "the last good report is unchanged" if (out / "report.html").exists() else "no good report of it yet"
    progress(f"[{month}] FAILED: {len(failures)} failure(s), its notebooks and manifest in {out / FAILED}; {good}")
    return RunResult(month, out, report, failures, timings, out / FAILED)


def _replace(dest: Path, build: Path, names: list[str]) -> None:
    """Put ``names`` from ``build`` in ``dest`` in place of what it held under those names: the old ones moved
    aside first and deleted last, so ``dest`` holds one run's files, never a mix of two runs' (a name the run did not
    make, as report.pdf when not asked for, is removed)."""
    dest.mkdir(parents=True, exist_ok=True)
    old = build / "replaced"
    old.mkdir()
    for name in names:
        if (dest / name).exists():
            os.replace(dest / name, old / name)
    for name in names:
        if (build / name).exists():
            os.replace(build / name, dest / name)
    shutil.rmtree(old)


EXPLORE = NOTEBOOKS / "explore"
BANNER_TAG = "personal-data-banner"  # the first cell of a working copy: kpi.explore.banner()


def with_banner(nb):
    """The notebook with the personal-data banner as its first cell (once: a copy that has it is left as it is)."""
    import nbformat

    if not any(BANNER_TAG in c.get("metadata", {}).get("tags", []) for c in nb.cells):
        cell = nbformat.v4.new_code_cell("from kpi.explore import banner\n\nbanner()", metadata={"tags": [BANNER_TAG]})
        cell.id = BANNER_TAG
        nb.cells.insert(0, cell)
    return nb


def working_copies(dest: Path | str, source: Path = EXPLORE) -> list[tuple[Path, bool]]:
    """Copies of the explore notebooks in ``dest`` (a folder git ignores) to open in JupyterLab, each with the
    personal-data banner first; an analyst's existing copy is kept as it is. Each copy's path, and whether it was
    made now."""
    import nbformat

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    made = []
    for nb in sorted(source.glob("*.ipynb")):
        copy = dest / nb.name
        new = not copy.exists()
        if new:
            nbformat.write(with_banner(nbformat.read(nb, as_version=4)), copy)
        made.append((copy, new))
    return made


def _window(months, what: str) -> list[str] | None:
    """A comparison window given as months or "YYYY-MM..YYYY-MM" (None: none given)."""
    from .calendar import parse_span

    if months is None:
        return None
    return parse_span(months, what) if isinstance(months, str) else list(months)


def explore(
    measure: str,
    month: str | None,
    store: Path | str,
    notebook: str = "measure",
    out_dir: Path | str = "output/explore",
    progress=print,
    catalogue: str = "county",
    partial: bool = False,
    by: str | None = None,
    before=None,
    after=None,
) -> Path:
    """Run ``notebooks/explore/NOTEBOOK.ipynb`` for a measure (reference or KPI number) with papermill, the
    personal-data banner first, and render it to a page beside it (the same name, ``.html``); the executed
    notebook's path. ``by`` (a breakdown) and the windows compared, ``before`` and ``after`` (months, or
    "YYYY-MM..YYYY-MM"), are the notebook's parameters of those names. A UserError for an unknown notebook or
    measure, a month the store does not cover (the partial month only with ``partial``), or windows that are not
    two, in order, to the month explored; RuntimeError naming the cell and error if the notebook fails."""
    import nbformat
    import papermill as pm

    from .calendar import parse_month
    from .catalogue import load
    from .store import open_snapshot

    nb = EXPLORE / f"{notebook}.ipynb"
    if not nb.exists():
        names = sorted(p.stem for p in nb.parent.glob("*.ipynb"))
        raise UserError(f"--notebook: no notebook {notebook!r} in {nb.parent}; expected one of {', '.join(names)}")
    month = parse_month(month, "--month") if month is not None else None
    before, after = _window(before, "--before"), _window(after, "--after")
    cat = load(catalogue)
    text = str(measure).strip()
    kpi = re.fullmatch(r"(?i)kpi\s*(\d+)", text)
    m = next((m for m in cat.kpis() if m.kpi == int(kpi[1])), None) if kpi else cat.by_ref.get(text)
    if m is None:
        raise UserError(
            f"no measure {measure!r} in the {cat.name} catalogue; expected a reference (1.7) or a KPI number "
            f"(KPI 3) of it: KPIs 1 to {max((k.kpi for k in cat.kpis()), default=0)}"
        )
    con, _, cov = open_snapshot(store)
    con.close()
    month = month or cov.last
    cov.check(month, partial)
    params = {"measure": m.ref, "month": month, "store": str(Path(store).resolve())}
    if before is not None or after is not None:
        params |= _windows(before, after, month, cov, partial)
    if by is not None:
        params["by"] = by
    if partial and month == cov.partial:  # the notebook's Explorer checks its month as the command did
        params["partial"] = True
    if catalogue != "county":  # the re-referrals notebook is the county's; the measure template takes any set
        params["catalogue"] = catalogue
    out = Path(out_dir) / f"{notebook}-{m.ref}-{month}{f'-{by}' if by else ''}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".html").unlink(missing_ok=True)  # a failed run leaves no page of an earlier one beside it
    nbformat.write(with_banner(nbformat.read(nb, as_version=4)), out)
    progress(f"running {nb.name} for {m.ref} {m.title}, {month}")
    try:
        pm.execute_notebook(str(out), str(out), parameters=params, **KERNEL)
    except pm.PapermillExecutionError as e:
        raise RuntimeError(f"{out} failed at cell {e.cell_index}: {e.ename}: {e.evalue}") from None
    page = render([out], f"{m.ref} {m.title}, {month_name(month)}: explore (personal data)")
    out.with_suffix(".html").write_text(page, encoding="utf-8")
    return out


def _windows(before, after, month: str, cov, partial: bool) -> dict:
    """The windows compared, checked: both given, the earlier first, covered by the snapshot, to the month
    explored; as the notebook's parameters ("YYYY-MM..YYYY-MM")."""
    if before is None or after is None:
        raise UserError(
            f"{'--after' if before is None else '--before'}: given alone; expected both windows, --before and "
            "--after (YYYY-MM..YYYY-MM), or neither (the notebook's own: the 12 months before the latest signal, and "
            "the signal)"
        )
    span = {"--before": f"{before[0]}..{before[-1]}", "--after": f"{after[0]}..{after[-1]}"}
    if after[0] <= before[-1]:
        raise UserError(
            f"--after {span['--after']}: starts before --before {span['--before']} ends; expected the later window "
            "after the earlier one"
        )
    if after[-1] > month:
        raise UserError(
            f"--after {span['--after']}: ends after the month explored, {month}; expected it to end by then"
        )
    cov.check(before, partial, "--before")
    cov.check(after, partial, "--after")
    return {"before": span["--before"], "after": span["--after"]}


def _title(p, data: Path, month: str, partial=None) -> str:
    snap = json.loads((data / "snapshot.json").read_text())
    council = p.council or snap.get("council") or "Council"
    part = f" (partial month: to {partial.to_day:%-d %B %Y})" if partial else ""
    return f"{council}: performance report, {month_name(month)}{part}"


def month_name(month: str) -> str:
    import pandas as pd

    return f"{pd.Timestamp(month + '-01'):%B %Y}"


def render(executed: list[Path], title: str, notice: str | None = None) -> str:
    """One page from the executed notebooks: outputs only, stderr dropped, cells renumbered; a ``notice`` (a partial
    month's) set out under the page's title (the first output of its first cell)."""
    import nbformat
    from nbconvert import HTMLExporter

    merged = nbformat.v4.new_notebook()
    merged.metadata = {
        "title": title,
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    for path in executed:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            tags = cell.get("metadata", {}).get("tags", [])
            if {"parameters", "injected-parameters", "remove-from-report"} & set(tags):
                continue
            if cell.cell_type == "code":
                cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")]
                if not cell.outputs:
                    continue
            if notice and not merged.cells and cell.cell_type == "code":  # under the title, its first output
                note = f'<p role="note"><strong>{html.escape(notice)}</strong></p>'
                cell.outputs.insert(1, nbformat.v4.new_output("display_data", data={"text/html": note}))
            cell.id = f"c{len(merged.cells):04d}"
            merged.cells.append(cell)
    exporter = HTMLExporter(template_name="report", extra_template_basedirs=[str(TEMPLATES)])
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(merged, resources={"metadata": {"name": title}})
    return body


def leaked_identifiers(
    page: str, store: Path, data: Path, executed: list[Path] = (), written: list[tuple[str, str]] = ()
) -> list[Finding]:
    """Children's identifiers and dates of birth of the report's snapshot in the page, in the outputs of the
    executed notebooks kept beside it, in the snapshot's description and in ``written`` (the managers' text as
    read, :func:`kpi.prose.segments`), each with where it stands (the page's heading and table row, the notebook's
    cell): :func:`kpi.privacy.find_personal` says what counts."""
    segments = page_segments(page)
    for nb in executed:
        if Path(nb).exists():
            segments += notebook_segments(Path(nb))
    segments.append(("data/snapshot.json", (data / "snapshot.json").read_text()))
    segments += written  # the managers' text as read, whole where the page splits it at its bold (kpi.prose)
    return _personal(store, data, segments)


def _personal(store: Path, data: Path, segments: list[tuple[str, str]]) -> list[Finding]:
    from .store import connect

    snap = json.loads((data / "snapshot.json").read_text())
    con, _ = connect(store, int(snap["snapshot_id"]))
    try:
        return find_personal(segments, con)
    finally:
        con.close()


def _clear_outputs(path: Path) -> None:
    """Remove an executed notebook's outputs (the cells stay, to be run again)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, path)


def _sha256(path: Path | None) -> str | None:
    from .files import sha256

    return sha256(path) if path and Path(path).exists() else None


def code_version(root: Path = ROOT) -> str:
    """The package's version, and the git commit it was run from when ``root`` is a git checkout
    ("0.1.0+git.1a2b3c4d5e6f", "+dirty" when files differ from it); the version alone otherwise."""
    import subprocess

    try:
        version = metadata.version("csc-kpi-workbook")
    except metadata.PackageNotFoundError:
        version = "unknown"
    git = shutil.which("git")
    if git is None or not (Path(root) / ".git").exists():
        return version
    try:
        head = subprocess.run([git, "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(
            [git, "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return version
    if head.returncode != 0 or not head.stdout.strip():
        return version
    return f"{version}+git.{head.stdout.strip()[:12]}" + ("+dirty" if dirty.stdout.strip() else "")


def _manifest(out, month, p, cat, store, data, results, failures, timings, report, leaked=(), extra=None, public=False):
    """manifest.json beside the page: what it was made from, whether it is the public version, and how the run went
    (a leak's values left out; the snapshot as data/snapshot.json describes it, without the load's note)."""
    import pandas as pd

    from .catalogue import TARGETS

    failures = [f | {"error": redact(f["error"], leaked)} for f in failures]
    snap = json.loads((data / "snapshot.json").read_text())
    acc = pd.read_parquet(data / "accounting.parquet")
    versions = {}
    for pkg in ("csc-kpi-workbook", "pandas", "duckdb", "pyarrow", "papermill", "nbconvert", "seaborn", "matplotlib"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    manifest = {
        "month": month,
        "status": "ok" if report else "failed",
        "public": public,
        "report": report.name if report else None,
        "report_bytes": (out / report.name).stat().st_size if report else None,
        "scorecard_xlsx": XLSX if report else None,
        "code_version": code_version(),
        "snapshot": snap,
        "inputs": {
            "store": str(store),
            "params_file": str(p.path) if p.path else None,
            "params_sha256": _sha256(p.path) if p.path else None,
            "catalogue_file": str(cat.path) if cat.path else None,
            "catalogue_sha256": _sha256(cat.path),
            "targets_file": str(TARGETS) if TARGETS.exists() else None,  # as kpi.scorecard uses it
            "targets_sha256": _sha256(TARGETS),
            "extract_files": {r.file or r.table_name: r.sha256 for r in acc.itertuples() if r.sha256},
        },
        "commentary_from_managers": sorted(r for r in p.commentary if not p.commentary[r].upper().startswith("DRAFT")),
        "packages": versions,
        "python": sys.version.split()[0],
        "notebooks": sorted(results, key=lambda r: r["notebook"]),
        "failures": failures,
        "timings_seconds": {k: round(v, 2) for k, v in timings.items()},
    } | (extra or {})
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
