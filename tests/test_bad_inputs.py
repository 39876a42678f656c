"""Every kind of bad input and fault of tests/bad_inputs.py, tried through the `kpi` command: a clear refusal
naming what was wrong, or a load that accounts for every row; never a traceback; and docs/bad-inputs.md says what
each gives today."""

import duckdb
import pytest
from bad_inputs import CASES, DOCS, documented, run

DOCUMENTED = documented()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_bad_input_gets_a_clear_outcome(case, tmp_path):
    folder = tmp_path / case.id
    got = run(case, folder)
    said = got.out + got.err
    assert "Traceback" not in said and "internal error" not in said, said
    codes = {"refused": 2, "rejected": 0, "ok": 0}
    want = codes[case.expect] if case.expect in codes else int(case.expect.split()[1])
    assert got.code == want, said
    for fragment in case.says:
        assert fragment in said, (fragment, said)
    store = folder / "w.duckdb"
    if got.code == 0 and store.exists():  # a load: every row read is loaded, rejected or merged
        with duckdb.connect(str(store), read_only=True) as con:
            if con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta'").fetchone()[0]:
                bad = con.execute(
                    "SELECT table_name, file FROM meta.load_accounting "
                    "WHERE rows_read <> rows_loaded + rows_rejected + coalesce(rows_merged, 0)"
                ).fetchall()
                assert bad == [], bad
    assert DOCUMENTED.get(case.id) == got.line(folder), f"{DOCS.name} is out of date: run python tests/bad_inputs.py"


def test_the_table_has_every_case_once_and_enough_kinds():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 150
    assert set(DOCUMENTED) == set(ids)
