"""How often the report calls special cause where nothing was planted: synthetic authorities without anomalies.

For each seed: generate an authority with ``--no-anomalies`` (steady: ``SynthConfig.steady``), load it, open
the report's data for its latest month exactly as ``kpi run`` does (:meth:`kpi.report.Report.open`), and take
the report's own SPC verdict on each KPI (:meth:`kpi.report.Report.verdict`: :func:`kpi.spc.spc_of` over the
report's ``kpi.spc.MONTHS`` months). Prints, per seed and overall, the share of KPIs whose latest month is
special cause, by what the verdict is on (``SPC.basis``: flows, month-end stocks, a window's monthly flow),
beside the same rules' rate on pure noise (normal series of the same length), which is what chance alone
gives, and on first-order autoregressive noise judged as a stock.

    .venv/bin/python benchmarks/spc_false_alarms.py --seeds 6 --scale 0.5
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--scale", type=float, default=0.5)
    a = ap.parse_args()

    from kpi.load import load
    from kpi.report import Report
    from kpi.spc import MONTHS, xmr
    from kpi.synth import SynthConfig, generate, write

    flagged, total, by_kpi = 0, 0, Counter()
    by_basis: dict[str, list[int]] = {}  # flagged, series
    t0 = time.perf_counter()
    for seed in range(1, a.seeds + 1):
        with tempfile.TemporaryDirectory() as d:
            cfg = SynthConfig(seed=seed, scale=a.scale, anomalies=False)
            write(generate(cfg), Path(d) / "syn", cfg)
            load(Path(d) / "syn", Path(d) / "w.duckdb")
            rep = Report.open(cfg.end_month, store=Path(d) / "w.duckdb", data_dir=Path(d) / "data")
        hits = []
        for m in rep.catalogue.kpis():
            s = rep.verdict(m.ref)
            if s is None or s.variation is None:
                continue
            special = s.variation != "common_cause"
            if special:
                hits.append(f"KPI {m.kpi} ({s.latest['rules']})")
                by_kpi[m.kpi] += 1
            total += 1
            tally = by_basis.setdefault(s.basis, [0, 0])
            tally[0] += special
            tally[1] += 1
        flagged += len(hits)
        kpis = len(rep.catalogue.kpis())
        print(f"seed {seed}: {len(hits)} of {kpis} KPIs special cause in the latest month: {', '.join(hits) or '-'}")
    rng = np.random.default_rng(0)
    noise = np.mean([xmr(rng.normal(size=MONTHS)).variation != "common_cause" for _ in range(4000)])

    def ar1(phi: float, n: int = 100) -> np.ndarray:
        x = np.zeros(n)
        e = rng.normal(size=n)
        for t in range(1, n):
            x[t] = phi * x[t - 1] + e[t]
        return x[-MONTHS:]

    ar = {
        phi: np.mean([xmr(ar1(phi), autocorrelated=True).variation != "common_cause" for _ in range(1000)])
        for phi in (0.6, 0.9)
    }
    print(
        f"\n{a.seeds} authorities (scale {a.scale}, no anomalies), {total} KPI series of {MONTHS} months: "
        f"latest month special cause in {flagged} ({flagged / max(total, 1):.1%}); pure noise under the same rules: "
        f"{noise:.1%}; autoregressive noise judged as a stock: "
        + ", ".join(f"{r:.1%} at phi {phi}" for phi, r in ar.items())
        + f" ({time.perf_counter() - t0:.0f} s)"
    )
    for basis, (f, n) in by_basis.items():
        print(f"  {basis}: {f} of {n} ({f / max(n, 1):.1%})")
    print("by KPI:", ", ".join(f"KPI {k}: {n}" for k, n in by_kpi.most_common()) or "none")


if __name__ == "__main__":
    main()
