"""Opening and checking the store: a path that is not a store, or a store that is damaged, is refused by name with
what was expected, by the load (which then changes nothing) and by every command that reads it."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from helpers import minimal_extract

from kpi import store as kpi_store
from kpi.cli import main
from kpi.load import load
from kpi.store import connect, record_path

READING = (["snapshots"], ["measures"], ["volumes"])


@pytest.fixture
def extract(tmp_path):
    return minimal_extract(tmp_path / "in")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out + out.err


def refused_everywhere(capsys, store, extract, expected: str):
    """Every command that reads the store, and the load, exit 2 with the store's path and ``expected``; the load
    changes nothing."""
    before = store.read_bytes() if store.is_file() else None
    for argv in READING:
        code, out = run(capsys, *argv, "--store", store)
        assert code == 2, out
        assert f"kpi {argv[0]}: {store}: " in out and expected in out, out
        assert "internal error" not in out
    code, out = run(capsys, "load", extract, "--store", store, "--extract-date", "2024-06-01")
    assert code == 2, out
    assert f"{store}: " in out and expected in out, out
    if before is not None:
        assert store.read_bytes() == before


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda p: p.mkdir(), "a folder; expected a store"),
        (lambda p: p.write_bytes(b""), "an empty file; expected a store"),
        (lambda p: p.write_text("snapshot_id,extract_date\n1,2024-06-01\n"), "not a DuckDB database file"),
        (lambda p: p.write_bytes(os.urandom(50_000)), "not a DuckDB database file"),
        (lambda p: os.symlink(p.name, p), "a symbolic link to nothing (or a loop of them)"),
    ],
    ids=["folder", "empty", "text", "random-bytes", "symlink-loop"],
)
def test_a_path_that_is_not_a_store_is_refused_by_name(tmp_path, capsys, extract, make, expected):
    store = tmp_path / "w.duckdb"
    make(store)
    refused_everywhere(capsys, store, extract, expected)


def test_a_duckdb_database_that_is_not_a_store_is_refused_and_not_written(tmp_path, capsys, extract):
    store = tmp_path / "other.duckdb"
    with duckdb.connect(str(store)) as con:
        con.execute("CREATE TABLE accounts AS SELECT 1 AS id")
    refused_everywhere(capsys, store, extract, "a DuckDB database but not a store (it has no meta.snapshots)")
    with duckdb.connect(str(store), read_only=True) as con:
        assert "meta" not in {r[0] for r in con.execute("SELECT schema_name FROM duckdb_schemas()").fetchall()}


def test_a_store_that_does_not_exist_or_cannot_be_made(tmp_path, capsys, extract):
    code, out = run(capsys, "measures", "--store", tmp_path / "none.duckdb")
    assert code == 2 and f"{tmp_path / 'none.duckdb'}: no store; run `kpi load DIR --store" in out
    code, out = run(
        capsys, "load", extract, "--store", extract / "children.csv" / "w.duckdb", "--extract-date", "2024-06-01"
    )
    assert code == 2 and f"cannot be made: {extract / 'children.csv'} is a file, not a folder" in out


@pytest.fixture
def immutable(tmp_path):
    """A file even root cannot write (chattr +i), made writable again afterwards."""
    made = []

    def make(path):
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
            pytest.skip("chattr +i is not available here")
        made.append(path)

    yield make
    for p in made:
        subprocess.run(["chattr", "-i", str(p)])


def test_a_read_only_store_is_read_but_not_loaded_into(tmp_path, capsys, extract, immutable):
    store = tmp_path / "w.duckdb"
    load(extract, store, extract_date="2024-06-01")
    immutable(store)
    code, out = run(capsys, "load", extract, "--store", store, "--extract-date", "2024-06-01")
    assert code == 2 and f"kpi load: {store}: read-only (the file or its folder): the load cannot write to it" in out
    code, out = run(capsys, "snapshots", "--store", store)
    assert code == 0, out


def test_a_store_in_use_by_a_load_is_named_so(tmp_path, capsys, extract):
    store = tmp_path / "w.duckdb"
    load(extract, store, extract_date="2024-06-01")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(store)!r}); print('open', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        code, out = run(capsys, "snapshots", "--store", store)
        assert code == 2 and f"{store}: in use by another program (a load still running?)" in out, out
    finally:
        holder.kill()
        holder.wait()


def flip_a_bit(path, at: int) -> None:
    with open(path, "r+b") as f:
        f.seek(at)
        b = f.read(1)
        f.seek(at)
        f.write(bytes([b[0] ^ 0x04]))


@pytest.fixture(scope="module")
def loaded_store(tmp_path_factory):
    """A store with two snapshots of the small authority, and its record; copied by each test that damages it."""
    from kpi.synth import SynthConfig, generate, write

    root = tmp_path_factory.mktemp("damage")
    cfg = SynthConfig(scale=0.05)
    write(generate(cfg), root / "syn", cfg)
    load(root / "syn", root / "w.duckdb")
    load(root / "syn", root / "w.duckdb")
    return root / "w.duckdb"


def damaged_copy(store, tmp_path, how: str):
    copy = tmp_path / "w.duckdb"
    shutil.copy(store, copy)
    shutil.copy(kpi_store.record_path(store), kpi_store.record_path(copy))
    size = copy.stat().st_size
    if how == "truncated":
        os.truncate(copy, size // 2)
    else:  # one bit, in the middle of the data
        flip_a_bit(copy, size // 2 + 123)
    return copy


@pytest.mark.parametrize("how", ["truncated", "bit-flipped"])
def test_a_damaged_store_is_refused_before_the_load_writes_and_by_every_reader(
    loaded_store, tmp_path, capsys, extract, how
):
    store = damaged_copy(loaded_store, tmp_path, how)
    refused_everywhere(capsys, store, extract, "damaged, cannot be read (reading table ")
    assert "restore it from a backup, or load into a new store" in run(capsys, "snapshots", "--store", store)[1]


def test_a_damaged_store_without_a_record_is_refused_by_the_load(loaded_store, tmp_path, capsys, extract):
    """A store from before records were kept, or whose load died, is read through before a load writes to it."""
    store = damaged_copy(loaded_store, tmp_path, "bit-flipped")
    kpi_store.record_path(store).unlink()
    before = store.read_bytes()
    code, out = run(capsys, "load", extract, "--store", store, "--extract-date", "2024-06-01")
    assert code == 2 and "damaged, cannot be read" in out, out
    assert store.read_bytes() == before


def test_a_store_changed_by_another_program_or_copied_is_checked_and_taken(loaded_store, tmp_path, extract):
    store = tmp_path / "w.duckdb"
    shutil.copy(loaded_store, store)  # a copy: a new time and inode, the same bytes
    shutil.copy(kpi_store.record_path(loaded_store), kpi_store.record_path(store))
    assert connect(store)[1]["snapshot_id"] == 2
    with duckdb.connect(str(store)) as con:  # a whole store changed by another program: checked through, taken
        con.execute("CREATE TABLE meta.notes AS SELECT 'kept' AS note")
    con, snap = connect(store)
    con.close()
    assert load(extract, store, extract_date="2024-06-01").snapshot_id == 3
    record = json.loads(kpi_store.record_path(store).read_text())
    assert record["state"] == "loaded" and record["size"] == store.stat().st_size


def test_the_store_is_never_hashed_whole_and_scanned_only_when_it_changed(loaded_store, tmp_path, extract, monkeypatch):
    """A load records the store's size, time and inode; a store still as recorded is not read through; one whose
    time changed (copied, touched) is scanned once, block by block, and recorded anew. Hashing the whole store on
    every load cost more with every snapshot kept."""
    import kpi.files

    def no_hash(path):
        if Path(path).resolve().parent == store.parent.resolve() and Path(path).suffix == ".duckdb":
            raise AssertionError(f"the store was hashed: {path}")
        return real_hash(path)

    real_hash = kpi.files.sha256
    store = tmp_path / "w.duckdb"
    shutil.copy(loaded_store, store)
    shutil.copy(kpi_store.record_path(loaded_store), kpi_store.record_path(store))
    monkeypatch.setattr(kpi.files, "sha256", no_hash)
    monkeypatch.setattr(kpi_store, "sha256", no_hash, raising=False)
    scans = []
    real_scan = kpi_store.scan
    monkeypatch.setattr(kpi_store, "scan", lambda p: (scans.append(p), real_scan(p))[1])
    connect(store)[0].close()  # a copy: its time and inode are not those recorded
    assert scans == [store]
    connect(store)[0].close()  # recorded anew: not scanned again
    assert load(extract, store, extract_date="2024-06-01").snapshot_id == 3
    assert scans == [store]
    connect(store)[0].close()
    assert scans == [store] and "sha256" not in json.loads(kpi_store.record_path(store).read_text())
    os.utime(store, ns=(0, 0))  # touched: scanned again
    connect(store)[0].close()
    assert scans == [store, store]


def test_a_store_error_is_a_user_error_raised_from_the_store(tmp_path):
    (tmp_path / "w.duckdb").write_text("not a store")
    with pytest.raises(kpi_store.StoreError, match="not a DuckDB database file"):
        connect(tmp_path / "w.duckdb")


CATALOGUE = """
sections: [{key: volume, title: Volume}]
measures:
  - {ref: "1.6", title: Referrals, section: volume, unit: count, kind: flow, direction: lower,
     definition: Referrals in the month., parts: [{events: referrals, date: referral_date}]}
  - {ref: "X.1", title: Referrals of a sort, section: volume, unit: percent, kind: flow, direction: higher,
     definition: A council's own measure.,
     parts: [{events: referrals, date: referral_date, num: "READS"}]}
"""


@pytest.mark.parametrize(
    "reads",
    [
        "(SELECT count(*) FROM read_csv('/etc/passwd')) > 0",
        "(SELECT count(*) FROM glob('/etc/*')) > 0",
        "(SELECT count(*) FROM read_text('/etc/hostname')) > 0",
        "(SELECT count(*) FROM read_parquet('STORE')) > 0",
    ],
    ids=["read_csv", "glob", "read_text", "the-store-as-parquet"],
)
def test_a_catalogue_cannot_read_files_and_is_named(tmp_path, capsys, extract, reads):
    store = tmp_path / "w.duckdb"
    load(extract, store, extract_date="2024-06-01")
    cat = tmp_path / "own.yaml"
    cat.write_text(CATALOGUE.replace("READS", reads.replace("STORE", str(store))))
    code, out = run(capsys, "measures", "--store", store, "--catalogue", cat, "--month", "2024-02", "--format", "csv")
    assert code == 2, out
    if "STORE" in reads:  # the store's own file is not barred (DuckDB's own), nor a leak: named all the same
        assert "kpi measures: measure X.1: Invalid Input Error: No magic bytes found" in out, out
    else:
        assert "kpi measures: measure X.1: its SQL reaches outside the store (Permission Error" in out, out
    assert "root:" not in out


def test_file_access_stays_off_once_a_context_is_prepared(tmp_path, extract):
    from kpi.engine import Context

    store = tmp_path / "w.duckdb"
    load(extract, store, extract_date="2024-06-01")
    con, snap = connect(store)
    ctx = Context.prepare(con, snap)
    Context.prepare(con, snap)  # prepared again on the same connection: still works, still off
    for sql in ("SET enable_external_access = true", "SET lock_configuration = false", "RESET lock_configuration"):
        with pytest.raises(duckdb.Error):
            ctx.con.execute(sql)
    with pytest.raises(duckdb.PermissionException):
        ctx.con.execute("SELECT * FROM read_csv('/etc/passwd')")
    assert ctx.con.execute("SELECT count(*) FROM children").fetchall() == [(3,)]
    con.close()


def test_a_store_damaged_where_only_a_query_reads_it_is_named(tmp_path, capsys):
    """A store no load recorded (A75: opened unchecked) whose damage lies in a block only a measure's query reads:
    the command says the store is damaged, not that the workbook failed."""
    load(minimal_extract(tmp_path / "in"), tmp_path / "w.duckdb", extract_date="2024-06-01")
    store = tmp_path / "w.duckdb"
    record_path(store).unlink()
    whole, block = store.read_bytes(), 262144
    for b in range(1, len(whole) // block):  # the first block whose damage the store's opening does not meet
        data = bytearray(whole)
        for i in range(b * block + 8, (b + 1) * block, 97):
            data[i] ^= 0xFF
        store.write_bytes(bytes(data))
        if run(capsys, "snapshots", "--store", store)[0] == 0:
            break
    else:
        pytest.fail("no block of the store is read by a query alone")
    code, out = run(capsys, "measures", "--month", "2024-02", "--store", store)
    assert code == 2 and f"kpi measures: {store}: damaged, cannot be read (" in out and "internal error" not in out


def test_a_database_error_that_is_not_damage_stays_a_fault_of_ours(monkeypatch, capsys):
    import kpi.cli

    def fails(a):
        raise duckdb.BinderException('Binder Error: Referenced column "x" not found')

    monkeypatch.setattr(kpi.cli, "cmd_snapshots", fails)
    code, out = run(capsys, "snapshots")
    assert code == 3 and "internal error (BinderException" in out


def test_a_first_load_that_stops_leaves_no_store_behind(tmp_path, capsys, extract):
    """A store made by a load that then stopped (here: more than half of children.csv's rows rejected) is removed,
    with its record; a store that held snapshots before keeps them, as it was."""
    rows = (extract / "children.csv").read_text().splitlines()
    head = rows[0].split(",")
    dob = head.index("date_of_birth")
    bad = [rows[0]] + [",".join(v if i != dob else "junk" for i, v in enumerate(r.split(","))) for r in rows[1:]]
    broken = tmp_path / "broken"
    shutil.copytree(extract, broken)
    (broken / "children.csv").write_text("\n".join(bad) + "\n")
    store = tmp_path / "new" / "w.duckdb"
    code, out = run(capsys, "load", broken, "--store", store, "--extract-date", "2024-06-01")
    assert code == 2 and "children.csv" in out, out
    assert not store.exists() and not record_path(store).exists() and list(store.parent.iterdir()) == []
    assert run(capsys, "load", extract, "--store", store, "--extract-date", "2024-06-01")[0] == 0
    code, out = run(capsys, "load", broken, "--store", store, "--extract-date", "2024-06-01")
    con, snap = connect(store)
    con.close()
    assert code == 2 and snap["snapshot_id"] == 1
