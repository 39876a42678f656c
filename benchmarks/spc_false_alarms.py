"""How often SPC calls special cause where nothing was planted: synthetic authorities without anomalies.

For each seed: generate an authority with ``--no-anomalies``, load it, compute the 19 KPIs for the
months the report's verdicts use (``kpi.spc.MONTHS``), and run Making Data Count SPC on each. Prints,
per seed and overall, the share of KPIs whose latest month is flagged special cause, beside the same
rules' rate on pure noise (normal series of the same length), which is what chance alone gives.

    .venv/bin/python benchmarks/spc_false_alarms.py --seeds 10 --scale 0.5
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--scale", type=float, default=0.5)
    from kpi.spc import MONTHS

    ap.add_argument("--months", type=int, default=MONTHS)
    a = ap.parse_args()

    from kpi.catalogue import load as load_catalogue
    from kpi.engine import Context
    from kpi.load import load
    from kpi.scorecard import scorecard
    from kpi.spc import spc_of, xmr
    from kpi.store import connect
    from kpi.synth import SynthConfig, generate, write

    cat = load_catalogue("county")
    kpis = cat.kpis()
    flagged, total, by_kpi = 0, 0, {m.ref: 0 for m in kpis}
    by_kind = {"flow": [0, 0], "stock": [0, 0]}  # flagged, series: flows in the month against stocks/rolling
    t0 = time.perf_counter()
    for seed in range(1, a.seeds + 1):
        with tempfile.TemporaryDirectory() as d:
            cfg = SynthConfig(seed=seed, scale=a.scale, anomalies=False)
            write(generate(cfg), Path(d) / "syn", cfg)
            load(Path(d) / "syn", Path(d) / "w.duckdb")
            con, snap = connect(Path(d) / "w.duckdb")
            card = scorecard(
                snap["latest_month"],
                a.months,
                context=Context.prepare(con, snap),
                catalogue=cat,
                measures=[m.ref for m in kpis],
                year_on_year=False,
            )
            con.close()
        hits = []
        for m in kpis:
            s = spc_of(m, card[card["measure"] == m.ref])
            if s.variation and s.variation != "common_cause":
                hits.append(f"KPI {m.kpi} ({s.latest['rules']})")
                by_kpi[m.ref] += 1
            total += s.variation is not None
            kind = by_kind["flow" if m.kind == "flow" else "stock"]
            kind[0] += s.variation not in (None, "common_cause")
            kind[1] += s.variation is not None
        flagged += len(hits)
        print(
            f"seed {seed}: {len(hits)} of {len(kpis)} KPIs special cause in the latest month: {', '.join(hits) or '-'}"
        )
    rng = np.random.default_rng(0)
    noise = np.mean([xmr(rng.normal(size=a.months)).variation != "common_cause" for _ in range(4000)])
    print(
        f"\n{a.seeds} authorities (scale {a.scale}, no anomalies), {total} KPI series of {a.months} months: "
        f"latest month special cause in {flagged} ({flagged / total:.1%}); pure noise under the same rules: "
        f"{noise:.1%} ({time.perf_counter() - t0:.0f} s)"
    )
    for kind, (f, n) in by_kind.items():
        what = "flows in the month" if kind == "flow" else "month-end stocks and rolling 12 months"
        print(f"  {what}: {f} of {n} ({f / max(n, 1):.1%})")
    often = {ref: n for ref, n in by_kpi.items() if n}
    print(
        "by KPI:", ", ".join(f"KPI {cat[r].kpi}: {n}" for r, n in sorted(often.items(), key=lambda x: -x[1])) or "none"
    )


if __name__ == "__main__":
    main()
