"""Project-wide pytest set-up: the notebooks (run by nbval) read a small synthetic store.

`make test` collects `tests/` and `notebooks/`; nbval runs each notebook in a kernel that inherits this
process's environment, so $KPI_STORE, set here once notebooks are collected, is the store they open.
"""

import os
import tempfile
from pathlib import Path


def pytest_collection_modifyitems(session, config, items):
    if os.environ.get("KPI_STORE") or not any(str(i.path).endswith(".ipynb") for i in items):
        return
    from kpi.load import load
    from kpi.synth import SynthConfig, generate, write

    root = Path(tempfile.mkdtemp(prefix="kpi-nbval-"))
    cfg = SynthConfig(scale=0.05)
    write(generate(cfg), root / "synthetic", cfg)
    load(root / "synthetic", root / "store.duckdb")
    os.environ["KPI_STORE"] = str(root / "store.duckdb")
