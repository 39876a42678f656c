"""Fixtures shared by the tests: small and full synthetic authorities, built once per session."""

import pytest

from kpi.load import load
from kpi.synth import SynthConfig, generate, write


@pytest.fixture(scope="session")
def small_authority(tmp_path_factory):
    """A small synthetic authority (scale 0.05), written and loaded once for the session."""
    root = tmp_path_factory.mktemp("small")
    cfg = SynthConfig(scale=0.05)
    write(generate(cfg), root / "synthetic", cfg)
    result = load(root / "synthetic", root / "store.duckdb")
    return root, result


@pytest.fixture(scope="session")
def full_authority(tmp_path_factory):
    """The default synthetic authority (scale 1), written and loaded once for the session."""
    root = tmp_path_factory.mktemp("full")
    cfg = SynthConfig()
    write(generate(cfg), root / "synthetic", cfg)
    result = load(root / "synthetic", root / "store.duckdb")
    return root, result
