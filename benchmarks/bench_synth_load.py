"""Benchmark: `kpi synth` then `kpi load`, each in its own process, with wall time and peak memory.

    .venv/bin/python benchmarks/bench_synth_load.py            # the default authority (scale 1)
    .venv/bin/python benchmarks/bench_synth_load.py --scale 50 # a country-sized authority

Targets (issue #2): synth + load of the default authority under 30 s; synth at scale 50 under 5 minutes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEP = """
import json, resource, sys, time
from kpi.cli import main
t = time.perf_counter()
code = main(sys.argv[1:])
print(json.dumps({"code": code, "seconds": time.perf_counter() - t,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def step(*args: str) -> dict:
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", STEP, *args], capture_output=True, text=True, check=True).stdout
    res = json.loads(out.strip().splitlines()[-1])
    res["wall"] = time.perf_counter() - t  # including interpreter start and imports
    return res


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--keep", type=Path, help="directory to keep the output in (default: a temporary one)")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = a.keep or Path(tmp)
        synth = step("synth", "--scale", str(a.scale), "--out", str(root / "synthetic"))
        rows = sum(json.loads((root / "synthetic" / "extract.json").read_text())["rows"].values())
        size = sum(f.stat().st_size for f in (root / "synthetic").glob("*.csv")) / 1e6
        load = step("load", str(root / "synthetic"), "--store", str(root / "store.duckdb"))
        store = (root / "store.duckdb").stat().st_size / 1e6
    print(f"scale {a.scale:g}: {rows:,} rows, {size:,.0f} MB of CSV, store {store:,.0f} MB")
    print(f"  synth  {synth['wall']:7.1f} s wall  {synth['peak_mb']:8,.0f} MB peak")
    print(f"  load   {load['wall']:7.1f} s wall  {load['peak_mb']:8,.0f} MB peak")
    print(f"  total  {synth['wall'] + load['wall']:7.1f} s")


if __name__ == "__main__":
    main()
