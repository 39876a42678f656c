"""Benchmark: the measure engine on a loaded store, each run in its own process (time and peak memory).

    .venv/bin/python benchmarks/bench_engine.py                     # builds the default authority first
    .venv/bin/python benchmarks/bench_engine.py --store PATH        # an existing store
    .venv/bin/python benchmarks/bench_engine.py --scale 50          # synth + load + score a country-sized one
    .venv/bin/python benchmarks/bench_engine.py --data DIR          # load + score an extract already made
    .venv/bin/python benchmarks/bench_engine.py --data DIR --repeat 5   # five times, then min, median and max

Targets (issue #3): full catalogue for 24 months under 2 s; all measures for 36 months by locality under
5 s; at scale 50, load and score the full catalogue for 24 months under 60 s within 8 GB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCORE = """
import json, resource, sys, time
from kpi.catalogue import load
from kpi.engine import Context, compute
from kpi.calendar import months_back
from kpi.store import connect
store, months, by = sys.argv[1], int(sys.argv[2]), (sys.argv[3] or None)
con, snap = connect(store)
t = time.perf_counter()
ctx = Context.prepare(con, snap)
df = compute(ctx, load("county"), months_back(snap["latest_month"], months), by=by)
print(json.dumps({"seconds": time.perf_counter() - t, "rows": len(df),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
CLI = """
import json, resource, sys, time
from kpi.cli import main
t = time.perf_counter()
code = main(sys.argv[1:])
print(json.dumps({"seconds": time.perf_counter() - t, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(script: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def machine_check() -> float:
    """Seconds for a fixed piece of pure Python: how fast the machine is running now (shared machines vary
    by 1.5x from minute to minute; quote this beside the figures)."""
    t = time.perf_counter()
    s = 0
    for i in range(10_000_000):
        s += i
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--store", type=Path)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--data", type=Path, help="an extract already made (kpi synth --out DIR): load and score it")
    p.add_argument("--repeat", type=int, default=1, help="load and score (or score) this many times, then the spread")
    a = p.parse_args()
    print(f"machine check: {machine_check():.2f} s (10M additions in Python)")
    totals: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = a.data
        if a.store is None and data is None:
            data = Path(tmp) / "syn"
            synth = run(CLI, "synth", "--scale", str(a.scale), "--out", str(data))
            print(f"scale {a.scale:g}: synth {synth['seconds']:.1f} s ({synth['peak_mb']:,.0f} MB peak)")
        elif data is not None:
            a.scale = json.loads((data / "extract.json").read_text())["config"]["scale"]
        for i in range(a.repeat):
            if a.repeat > 1:
                print(f"run {i + 1} of {a.repeat} (machine check {machine_check():.2f} s)")
            store = a.store
            if store is None:
                store = Path(tmp) / f"w{i}.duckdb"
                load = run(CLI, "load", str(data), "--store", str(store))
                print(f"scale {a.scale:g}: load {load['seconds']:.1f} s ({load['peak_mb']:,.0f} MB peak)")
            for months, by in ((24, ""), (36, "locality")):
                r = run(SCORE, str(store), str(months), by)
                what = f"full catalogue, {months} months" + (f", by {by}" if by else "")
                print(f"  {what:<40} {r['seconds']:6.2f} s  {r['peak_mb']:8,.0f} MB peak  ({r['rows']:,} rows)")
                if a.scale != 1.0 and a.store is None:
                    total = load["seconds"] + r["seconds"]
                    print(f"  load + score {months} months: {total:.1f} s")
                    totals.setdefault(f"load + score {months} months", []).append(total)
                    break
                totals.setdefault(what, []).append(r["seconds"])
            if a.store is None:
                store.unlink()
    if a.repeat > 1:
        for what, xs in totals.items():
            xs = sorted(xs)
            print(f"{what}: min {xs[0]:.2f}, median {xs[len(xs) // 2]:.2f}, max {xs[-1]:.2f} s over {len(xs)} runs")
    print(f"machine check: {machine_check():.2f} s")


if __name__ == "__main__":
    main()
