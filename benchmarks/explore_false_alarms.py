"""How often the Explorer's ranking (``Explorer.where``, every breakdown) names a group as special cause where
nothing was planted: an authority made with ``kpi synth --no-anomalies``.

For each measure of the catalogues asked (default all three), the ranking's named groups (each ranked breakdown's
top group: informative, :func:`kpi.drivers.informative`) are judged on their own limits; a measure is a false alarm
when one of them is special cause. Also counted, for scale: measures where any group of any breakdown (the drivers
tables' "Own SPC") is special cause, named or not.

    .venv/bin/python benchmarks/explore_false_alarms.py --scale 0.5            # builds a steady authority
    .venv/bin/python benchmarks/explore_false_alarms.py --store /tmp/calm.duckdb
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", type=Path, help="a store loaded from a --no-anomalies authority")
    ap.add_argument("--scale", type=float, default=0.5)
    ap.add_argument("--seed", type=int, help="the synthetic authority's seed (default its own)")
    ap.add_argument("--catalogue", action="append", help="county, journey, scorecard (default all)")
    a = ap.parse_args()

    from kpi.explore import Explorer

    store = a.store
    if store is None:
        from kpi.load import load
        from kpi.synth import SynthConfig, generate, write

        root = Path(tempfile.mkdtemp(prefix="kpi-calm-"))
        cfg = SynthConfig(scale=a.scale, anomalies=False, **({"seed": a.seed} if a.seed else {}))
        write(generate(cfg), root / "synthetic", cfg)
        load(root / "synthetic", root / "store.duckdb")
        store = root / "store.duckdb"
    named_alarm = any_alarm = tried = 0
    t0 = time.perf_counter()
    for name in a.catalogue or ["county", "journey", "scorecard"]:
        x = Explorer(store, catalogue=name)
        for m in x.catalogue.measures:
            if x.context.unavailable(m):
                continue
            try:
                r = x.where(m.ref)
            except Exception as e:  # noqa: BLE001 - said, and counted as not tried
                print(f"{name} {m.ref}: {type(e).__name__}: {e}")
                continue
            tried += 1
            ranked = r[r["rank"].notna()]
            special = ranked[ranked["group_variation"].fillna("").str.startswith("special")]
            alarm_any = any(
                d["group_variation"].fillna("").str.startswith("special").any() for d in r.attrs["drivers"].values()
            )
            named_alarm += not special.empty
            any_alarm += alarm_any
            if not special.empty:
                s = special.iloc[0]
                print(
                    f"{name} {m.ref} ({m.unit}, {m.kind}): names {s['breakdown']} {s['label']} {s['group_variation']}"
                )
    print(
        f"{tried} measures in {time.perf_counter() - t0:.0f} s: a named group special cause in {named_alarm} "
        f"({named_alarm / tried:.1%}); none named in {tried - named_alarm} ({1 - named_alarm / tried:.1%}). "
        f"Any group of any breakdown special cause (named or not): {any_alarm} ({any_alarm / tried:.1%})."
    )


if __name__ == "__main__":
    main()
