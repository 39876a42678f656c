"""Benchmark: one month's whole run (`kpi run`) beside the serial baseline the issue describes.

    .venv/bin/python benchmarks/bench_report.py --store data/warehouse.duckdb

The baseline runs six trivial notebooks one after another with papermill, each importing pandas and
seaborn and drawing one chart, and renders each with nbconvert: the cost of the tools before any data
work (about 18 s on this project's machines, per the issue). Target: the whole run under 10 s; the
report under 5 MB.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import nbformat
import papermill as pm
from nbconvert import HTMLExporter

BASELINE_CELL = """import pandas as pd, seaborn as sns, matplotlib
matplotlib.use("Agg")
ax = sns.lineplot(data=pd.DataFrame({"x": range(13), "y": range(13)}), x="x", y="y")"""


def baseline(tmp: Path) -> float:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(BASELINE_CELL)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src = tmp / "baseline.ipynb"
    nbformat.write(nb, src)
    t = time.perf_counter()
    for i in range(6):
        out = tmp / f"baseline-{i}.ipynb"
        pm.execute_notebook(str(src), str(out), kernel_name="python3", progress_bar=False)
        HTMLExporter().from_filename(str(out))
    return time.perf_counter() - t


def main() -> None:
    from kpi.runner import run

    p = argparse.ArgumentParser()
    p.add_argument("--store", type=Path, default=Path("data/warehouse.duckdb"))
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = baseline(Path(tmp))
        res = run(None, a.store, out_root=Path(tmp) / "output", progress=lambda s: None)
        size = res.report.stat().st_size / 1e6
    t = res.timings
    books = ", ".join(f"{k[3:-6]} {v:.1f}" for k, v in t.items() if k.endswith(".ipynb"))
    print(f"serial baseline (6 trivial notebooks, papermill + nbconvert each): {base:5.1f} s")
    print(
        f"kpi run, {res.month}: {t['total']:5.1f} s (scorecard {t['scorecard']:.1f} s, "
        f"render {t['render']:.1f} s; notebooks, 2 at a time: {books})"
    )
    print(f"report: {size:.2f} MB")


if __name__ == "__main__":
    main()
