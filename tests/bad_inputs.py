"""Kinds of bad input and fault, each tried through the `kpi` command as a user would meet it.

Every case writes its inputs into a folder of its own, runs one `kpi` command in this process and records what
the user gets: the exit code and the first line that says what happened. ``tests/test_bad_inputs.py`` runs them
all and checks each outcome (a clear refusal, or a load that accounts for every row; never a traceback), and that
``docs/bad-inputs.md`` shows what each case gives today. ``python tests/bad_inputs.py`` rewrites that table.

A case names the fragments the user must be told (the file, the row or field, what was expected); the outcome's
text is compared with the table after the case's own folder is taken out of it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import shutil
import socket
import sys
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import minimal_extract, write_csv  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "bad-inputs.md"
EXTRACT = "2024-06-01"  # the extract date of the hand-made extracts


@dataclass(frozen=True)
class Case:
    id: str
    area: str
    kind: str  # the kind of input or fault, in words
    build: Callable[[Path], list]  # writes the inputs into the folder; returns the kpi command's arguments
    expect: str  # "refused" (exit 2), "rejected" (loads; the rows named are rejected), "ok" (exit 0), "exit N"
    says: tuple[str, ...] = ()  # what the user must be told (fragments of stdout + stderr)


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    def line(self, folder: Path) -> str:
        """What the user is told, in a line: a load's totals and first rejected row, else the first line printed."""
        total = re.search(r"^total\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", self.out, re.M)
        if self.code == 0 and total:
            shown = "loaded: {} read, {} loaded, {} rejected, {} merged".format(*total.groups())
            first = re.search(r"^\s+(\S.* row \d+.*)$", self.out, re.M)
            if first:
                shown += f"; first: {first.group(1)}"
        else:
            lines = [x.strip() for x in (self.err if self.code else self.out).splitlines() if x.strip()]
            shown = lines[0] if lines else "(nothing printed)"
        shown = shown.replace(str(folder) + "/", "").replace(str(folder), ".")
        shown = shown.replace(str(ROOT), "$PROJECT")  # the same table wherever the project is cloned
        shown = re.sub(r"\b\d+\.\d+ s\b", "N s", shown)
        shown = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", shown)  # a test server's port
        shown = shown.replace(f"({date.today().isoformat()})", "(TODAY)")  # the table the same on any day
        return f"exit {self.code}: {shown}"


def kpi(args: list) -> Outcome:
    from kpi.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:  # argparse's own refusals
            code = e.code if isinstance(e.code, int) else 2
    return Outcome(code, out.getvalue(), err.getvalue())


# ---------------------------------------------------------------------------------------------
# Inputs: a small valid extract of each format, and ways to damage it
# ---------------------------------------------------------------------------------------------


def std(d: Path) -> Path:
    """The minimal standard extract (tests/helpers.py): two localities, two teams, three children, their referrals."""
    return minimal_extract(d / "in")


def cells(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def put(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


def edit(d: Path, table: str, row: int, column: str, value: str) -> Path:
    """The minimal extract with one cell changed (row 1 is the first record)."""
    src = std(d)
    rows = cells(src / f"{table}.csv")
    rows[row][rows[0].index(column)] = value
    put(src / f"{table}.csv", rows)
    return src


def load_args(d: Path, src, *more) -> list:
    return ["load", src, "--store", d / "w.duckdb", *more]


def std_load(table: str, row: int, column: str, value: str, *more):
    def build(d: Path) -> list:
        return load_args(d, edit(d, table, row, column, value), "--extract-date", EXTRACT, *more)

    return build


def std_file(table: str, text: str | bytes, *more):
    """The minimal extract with one file's content replaced."""

    def build(d: Path) -> list:
        src = std(d)
        p = src / f"{table}.csv"
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text, encoding="utf-8")
        return load_args(d, src, "--extract-date", EXTRACT, *more)

    return build


def std_with(change: Callable[[Path], None], *more, dated: bool = True):
    """The minimal extract changed by a function of its folder (``dated``: with --extract-date)."""

    def build(d: Path) -> list:
        src = std(d)
        change(src)
        return load_args(d, src, *(("--extract-date", EXTRACT) if dated else ()), *more)

    return build


def header(table: str) -> str:
    from kpi import model

    return ",".join(model.table(table).column_names)


CHILD_ROW = "K9,F9,2016-01-01,M,WBRI,N,N"
REFERRAL = "R9,K1,,2024-03-01,6,N1,N,N-A,N,,"


def add_rows(table: str, *rows: str):
    def change(src: Path) -> None:
        with open(src / f"{table}.csv", "a", encoding="utf-8") as f:
            f.write("".join(r + "\n" for r in rows))

    return change


def population_with(column: str, value) -> Callable[[Path], None]:
    """A population of four cells of which the last has ``column`` set to ``value``."""

    def change(src: Path) -> None:
        rows = [{"year": 2024, "locality_id": "N", "age": a, "sex": "M", "count": 600} for a in (3, 4, 5, 6)]
        rows[-1][column] = value
        write_csv(src, "population", rows)

    return change


def staff_fte(value: str) -> Callable[[Path], None]:
    """Three staff in team N-A, the last with an FTE of ``value``."""

    def change(src: Path) -> None:
        row = {"role": "SW", "team_id": "N-A", "employment": "PERM", "newly_qualified": "N", "overseas": "",
               "start_date": "2020-01-01", "end_date": ""}  # fmt: skip
        write_csv(src, "staff", [row | {"staff_id": f"S{i}", "fte": f} for i, f in enumerate(("1", "0.5", value))])

    return change


def ids_as_numbers(src: Path) -> None:
    """children.csv's ids written 007, 008, 009, and referrals.parquet holding them as the integers 7, 8, 9."""
    import pandas as pd

    kids = pd.read_csv(src / "children.csv", dtype=str, keep_default_na=False)
    kids["child_id"] = ["007", "008", "009"]
    kids.to_csv(src / "children.csv", index=False)
    refs = pd.read_csv(src / "referrals.csv", dtype=str, keep_default_na=False)
    refs["child_id"] = [7, 8, 9]
    (src / "referrals.csv").unlink()
    refs.to_parquet(src / "referrals.parquet", index=False)


def with_population(src: Path) -> Path:
    write_csv(src, "population", [{"year": 2024, "locality_id": "N", "age": 5, "sex": "M", "count": 6000}])
    return src


# SSDA903: one return, one child in care since 2023 and one care leaver -------------------------------------

EPISODES = "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN"
HEADER = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB"
OC3 = "CHILD,DOB,IN_TOUCH,ACTIV,ACCOM"


def ssda903(d: Path, episodes: list[str] | None = None, headers: list[str] | None = None, folder: str = "2023-24"):
    """One year's return (2023-24) in a folder named after it: C1 in care since May 2023, C2 leaving care at 18 in
    February 2024 (its OC3 row, and C2's Header row)."""
    root = d / "903"
    (root / folder).mkdir(parents=True, exist_ok=True)
    (root / folder / "header.csv").write_text(
        "\n".join([HEADER, *(headers or ["C1,1,01/06/2010,WBRI,,,", "C2,2,20/02/2006,BAFR,,,"])]) + "\n"
    )
    (root / folder / "episodes.csv").write_text(
        "\n".join(
            [
                EPISODES,
                *(
                    episodes
                    or [
                        "C1,10/05/2023,S,C2,N1,U4,PR1,,,,AB1 2,AB3 4,SC000001",
                        "C2,01/04/2021,S,V2,N4,U6,PR1,19/02/2024,E17,,AB1 2,AB1 2,SC000003",
                    ]
                ),
            ]
        )
        + "\n"
    )
    (root / folder / "oc3.csv").write_text(OC3 + "\nC2,20/02/2006,YES,F2,D1\n")
    return root


def s903(episodes=None, headers=None, *more, change: Callable[[Path], None] | None = None, folder: str = "2023-24"):
    def build(d: Path) -> list:
        root = ssda903(d, episodes, headers, folder)
        if change:
            change(root / folder)
        return load_args(d, root, "--format", "ssda903", *more)

    return build


def ep(child="C1", decom="10/05/2023", dec="", place="U4", ls="C2", rne="S", rec="") -> str:
    return f"{child},{decom},{rne},{ls},N1,{place},PR1,{dec},{rec},,AB1 2,AB3 4,SC000001"


def write_file(name: str, text: str | bytes):
    def change(folder: Path) -> None:
        p = folder / name
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text)

    return change


# CIN census ----------------------------------------------------------------------------------------------

CHILD = """<Child><ChildIdentifiers><LAchildID>{id}</LAchildID><PersonBirthDate>{dob}</PersonBirthDate><Sex>{sex}</Sex>
</ChildIdentifiers><ChildCharacteristics><Ethnicity>WBRI</Ethnicity><Disabilities><Disability>NONE</Disability>
</Disabilities></ChildCharacteristics><CINdetails><CINreferralDate>{ref}</CINreferralDate><ReferralSource>{source}
</ReferralSource><PrimaryNeedCode>N1</PrimaryNeedCode>{closure}<Assessments><AssessmentActualStartDate>{ref}
</AssessmentActualStartDate></Assessments></CINdetails></Child>"""


def census_xml(children: list[dict] | None = None, year: int = 2024, root: str = "Message", ns: str = "") -> str:
    kids = children if children is not None else [{"id": "A1"}, {"id": "A2", "sex": "1"}]
    body = "".join(
        CHILD.format(
            **(
                {"dob": "2016-05-01", "sex": "2", "ref": f"{year}-01-25", "source": "6", "closure": ""}
                | {k: v for k, v in c.items() if k != "closed"}
                | (
                    {
                        "closure": f"<CINclosureDate>{c['closed']}</CINclosureDate><ReasonForClosure>RC8</ReasonForClosure>"
                    }
                    if c.get("closed")
                    else {}
                )
            )
        )
        for c in kids
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<{root}{ns}><Header><CollectionDetails><Collection>CIN</Collection>'
        f"<Year>{year}</Year><ReferenceDate>{year}-03-31</ReferenceDate></CollectionDetails><Source><LEA>999</LEA>"
        f"</Source></Header><Children>{body}</Children></{root}>\n"
    )


def cin(text: str | bytes | Callable[[Path], None], *more, name: str = "census.xml"):
    def build(d: Path) -> list:
        (d / "cin").mkdir(parents=True, exist_ok=True)
        if callable(text):
            text(d / "cin")
            src = d / "cin"
        else:
            src = d / "cin" / name
            if isinstance(text, bytes):
                src.write_bytes(text)
            else:
                src.write_text(text)
        return load_args(d, src, "--format", "cin", *more)

    return build


# Annex A -------------------------------------------------------------------------------------------------

COMMON = ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age of Child (Years)"]
LIST3 = COMMON + ["Date of Referral", "Referral Source", "Referral NFA?", "Number of Referrals in Last 12 Months"]


def workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def list3_rows(n: int = 3) -> list[list]:
    import datetime as dt

    return [
        [f"P{i}", "b) Female", "a) WBRI", dt.datetime(2015, 1, 25), 9, dt.datetime(2024, 2, 7), "q) 6: Police", "No", 0]
        for i in range(1, n + 1)
    ]


def annex(sheets: Callable[[], dict[str, list[list]]] | None = None, *more, raw: bytes | None = None,
          name: str = "annex.xlsx", dated: bool = True):  # fmt: skip
    def build(d: Path) -> list:
        p = d / name
        if raw is not None:
            p.write_bytes(raw)
        else:
            workbook(p, sheets() if sheets else {"List 3": [LIST3, *list3_rows()]})
        return load_args(d, p, "--format", "annex-a", *(("--extract-date", EXTRACT) if dated else ()), *more)

    return build


# SQL: a SQLite database (SQLAlchemy's own driver) -----------------------------------------------------------


def sqlite(d: Path, tables: dict[str, str] | None = None) -> str:
    """The minimal extract as SQLite tables of text (or the statements given), and its URL."""
    import sqlite3

    db = d / "council.db"
    con = sqlite3.connect(db)
    if tables is None:
        src = std(d)
        for p in sorted(src.glob("*.csv")):
            rows = cells(p)
            cols = ", ".join(f'"{c}" TEXT' for c in rows[0])
            con.execute(f'CREATE TABLE "{p.stem}" ({cols})')
            con.executemany(f'INSERT INTO "{p.stem}" VALUES ({", ".join("?" * len(rows[0]))})', rows[1:])
    else:
        for sql in tables.values():
            con.execute(sql)
    con.commit()
    con.close()
    return f"sqlite:///{db}"


def sql_case(tables: dict[str, str] | None = None, mapping: str | None = None, *more, url: str | None = None):
    def build(d: Path) -> list:
        u = url or sqlite(d, tables)
        args = load_args(d, u, "--format", "sql", "--extract-date", EXTRACT, *more)
        if mapping is not None:
            (d / "map.yaml").write_text(mapping)
            args += ["--mapping", d / "map.yaml"]
        return args

    return build


def silent_server(d: Path) -> str:
    """A PostgreSQL URL to a local socket that accepts connections and never answers."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    held = []

    def accept():
        with contextlib.suppress(OSError):
            while True:
                held.append(s.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    return f"postgresql://reader@127.0.0.1:{s.getsockname()[1]}/csc"


# Stores: a loaded store of the minimal extract, or damaged ones ----------------------------------------------

_CACHE: dict[str, Path] = {}


def synthetic_store(d: Path) -> Path:
    """A copy of a small synthetic authority's store (generated and loaded once a session)."""
    if "synthetic" not in _CACHE:
        import tempfile

        from kpi.load import load
        from kpi.synth import SynthConfig, generate, write

        root = Path(tempfile.mkdtemp(prefix="kpi-bad-inputs-"))
        cfg = SynthConfig(scale=0.02)
        write(generate(cfg), root / "syn", cfg)
        load(root / "syn", root / "store.duckdb")
        _CACHE["synthetic"] = root / "store.duckdb"
    d.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(_CACHE["synthetic"], d / "store.duckdb"))


def minimal_store(d: Path) -> Path:
    from kpi.load import load

    load(std(d), d / "w.duckdb", extract_date=EXTRACT)
    return d / "w.duckdb"


def store_bytes(content: bytes | None, *command):
    """A store path holding the given bytes (None: a directory), used by a command."""

    def build(d: Path) -> list:
        p = d / "store.duckdb"
        if content is None:
            p.mkdir(parents=True)
        else:
            d.mkdir(parents=True, exist_ok=True)
            p.write_bytes(content)
        return (
            [*command, "--store", p]
            if command[0] != "load"
            else ["load", std(d), "--store", p, "--extract-date", EXTRACT]
        )

    return build


def damaged(how: str, *command):
    """A loaded store, truncated or with bytes flipped, then used by a command."""

    def build(d: Path) -> list:
        p = minimal_store(d)
        data = bytearray(p.read_bytes())
        if how == "truncated":
            data = data[: len(data) // 2]
        else:
            for i in range(len(data) // 3, len(data) // 3 + 4096, 7):
                data[i] ^= 0xFF
        p.write_bytes(bytes(data))
        if command[0] == "load":
            return ["load", std(d / "again"), "--store", p, "--extract-date", EXTRACT]
        return [*command, "--store", p]

    return build


def on_synthetic(*command):
    def build(d: Path) -> list:
        return [*command, "--store", synthetic_store(d)]

    return build


def params(text: str, *more):
    """`kpi run` of the synthetic authority's latest month with a params file."""

    def build(d: Path) -> list:
        store = synthetic_store(d)
        (d / "2026-10.yaml").write_text(text)
        return [
            "run",
            "--month",
            "2026-10",
            "--store",
            store,
            "--params",
            d / "2026-10.yaml",
            "--output",
            d / "out",
            *more,
        ]

    return build


def catalogue(text: str, *more):
    def build(d: Path) -> list:
        store = synthetic_store(d)
        (d / "cat.yaml").write_text(text)
        return ["measures", "--month", "2026-10", "--store", store, "--catalogue", d / "cat.yaml", *more]

    return build


MEASURE = """
sections: [{key: volume, title: Volume}]
measures:
  - ref: "1.0"
    title: Contacts
    section: volume
    unit: count
    kind: flow
    direction: lower
    definition: Contacts received in the month.
    parts: [{events: contacts, date: contact_at}]
"""


def series(text: str, *more):
    def build(d: Path) -> list:
        d.mkdir(parents=True, exist_ok=True)
        (d / "series.csv").write_text(text)
        return ["spc", d / "series.csv", "--improvement", "increase", *more]

    return build


def store_ids(store: Path, n: int = 2) -> list[str]:
    """``n`` child ids of a store's latest snapshot."""
    from kpi.store import connect

    con, _ = connect(store)
    try:
        return [
            r[0] for r in con.execute(f"SELECT child_id FROM children ORDER BY child_id LIMIT {n} OFFSET 7").fetchall()
        ]
    finally:
        con.close()


def commentary_with(text: Callable[[list[str]], str], *more):
    """`kpi run` of the synthetic authority's latest month, KPI 3's commentary written from two of its child ids."""

    def build(d: Path) -> list:
        args = params("")(d)
        said = text(store_ids(d / "store.duckdb")).replace('"', '\\"')
        (d / "2026-10.yaml").write_text(f'month: 2026-10\ncommentary:\n  "1.7": "{said}"\n')
        return [*args, *more]

    return build


def params_new(previous: str | None, *more, existing: str | None = None):
    """`kpi params new 2026-10` on the synthetic authority, after a given 2026-09 params file (and 2026-10 one)."""

    def build(d: Path) -> list:
        store = synthetic_store(d)
        (d / "params").mkdir()
        if previous is not None:
            (d / "params" / "2026-09.yaml").write_text(previous)
        if existing is not None:
            (d / "params" / "2026-10.yaml").write_text(existing)
        return ["params", "new", "2026-10", "--store", store, "--dir", d / "params", *more]

    return build


def zipped(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    return buf.getvalue()


def with_files(files: dict[str, str], *command):
    """(f-cmds) Text files written into the case's folder, then `kpi COMMAND` with ``{name}`` in an argument
    replaced by that file's path (``{store}``: a small synthetic authority's store)."""

    def build(d: Path) -> list:
        d.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (d / name).parent.mkdir(parents=True, exist_ok=True)
            (d / name).write_text(text)
        out = []
        for a in command:
            if a == "{store}":
                out.append(synthetic_store(d))
            elif isinstance(a, str) and a.startswith("{") and a.endswith("}"):
                out.append(d / a[1:-1])
            else:
                out.append(a)
        return out

    return build


LIST1 = COMMON + ["Date of Contact", "Contact Source"]


def list1_rows(n: int) -> list[list]:
    """List 1 rows of children P1..Pn (as list3_rows), born 25/01/2015."""
    import datetime as dt

    return [[f"P{i}", "b) Female", "a) WBRI", dt.datetime(2015, 1, 25), 9, dt.datetime(2024, 2, 1), "q) 6: Police"]
            for i in range(1, n + 1)]  # fmt: skip


def born_2016(rows: list[list]) -> list[list]:
    """The rows with their Date of Birth (the fourth column) 01/01/2016."""
    import datetime as dt

    return [r[:3] + [dt.datetime(2016, 1, 1)] + r[4:] for r in rows]


def _second_children(d: Path) -> Path:
    """A second source holding K1 again, born on another day."""
    src = d / "second"
    write_csv(
        src, "children", [["K1", "F1", "2012-01-01", "M", "WBRI", "N", "N"]], header=header("children").split(",")
    )
    return src


# ---------------------------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------------------------

R, J, OK = "refused", "rejected", "ok"
# fmt: off
CASES: list[Case] = [
    # ---- the standard format: whole files
    Case("std-missing-column", "standard", "a table file without one of its columns",
         std_file("children", "child_id,sex\nK1,M\n"), R, ("children.csv", "missing column(s)", "family_id")),
    Case("std-duplicate-column", "standard", "a column named twice in a header",
         std_file("localities", "locality_id,name,name\nN,North,Nord\nS,South,Sud\n"), R, ("localities.csv", "name", "more than once")),
    Case("std-extra-column", "standard", "a column the data model does not have",
         std_file("localities", "locality_id,name,colour\nN,North,red\nS,South,blue\n"), OK, ("colour",)),
    Case("std-empty-file", "standard", "a table file of 0 bytes", std_file("localities", ""), R, ("localities.csv",)),
    Case("std-blank-lines-only", "standard", "a table file of blank lines only", std_file("localities", "\n\n\n"), R, ("localities.csv",)),
    Case("std-header-only-parent", "standard", "a header-only file that other tables depend on (children)",
         std_file("children", header("children") + "\n"), R, ("children.csv",)),
    Case("std-header-only-leaf", "standard", "a header-only file nothing depends on (referrals)",
         std_file("referrals", header("referrals") + "\n"), OK, ()),
    Case("std-no-tables", "standard", "a folder with no file named after a table",
         lambda d: load_args(d, (d / "x").mkdir(parents=True) or d / "x", "--extract-date", EXTRACT), R, ("no file named after a table",)),
    Case("std-no-folder", "standard", "a folder that does not exist",
         lambda d: load_args(d, d / "nowhere", "--extract-date", EXTRACT), R, ("nowhere",)),
    Case("std-file-is-directory", "standard", "a table 'file' that is a directory",
         std_with(lambda s: ((s / "localities.csv").unlink(), (s / "localities.csv").mkdir())), R, ("localities.csv",)),
    Case("std-latin1", "standard", "a file saved as Latin-1 (Windows) with an accented name",
         std_file("localities", "locality_id,name\nN,Nörth\nS,South\n".encode("latin-1")), R, ("localities.csv",)),
    Case("std-utf16", "standard", "a file saved as UTF-16",
         std_file("localities", "locality_id,name\nN,North\nS,South\n".encode("utf-16")), R, ("localities.csv",)),
    Case("std-bom", "standard", "a UTF-8 file with a byte-order mark",
         std_file("localities", "\ufefflocality_id,name\nN,North\nS,South\n".encode()), OK, ()),
    Case("std-crlf", "standard", "Windows line endings (CRLF)",
         std_file("localities", b"locality_id,name\r\nN,North\r\nS,South\r\n"), OK, ()),
    Case("std-semicolons", "standard", "a file separated by semicolons",
         std_file("localities", "locality_id;name\nN;North\nS;South\n"), R, ("localities.csv", "separated by ';'")),
    Case("std-ragged-line", "standard", "a line with more fields than the header",
         std_with(add_rows("localities", "E,East,extra")), J, ("localities.csv", "row 4", "malformed line")),
    Case("std-quoted-newline", "standard", "a quoted value spanning two lines, then a bad row: its own line",
         std_file("localities", 'locality_id,name\nN,"North\nand more"\nS,South\n,Nameless\n'), J, ("localities.csv", "row 5", "locality_id")),
    Case("std-blank-line-inside", "standard", "a blank line between rows, then a bad row: its own line",
         std_file("localities", "locality_id,name\nN,North\n\nS,South\n,Nameless\n"), J, ("localities.csv", "row 5", "locality_id")),
    Case("std-huge-field", "standard", "a 10 MB field",
         std_file("localities", "locality_id,name\nN,North\nS," + "x" * 10_000_000 + "\n"), R, ("localities.csv",)),
    Case("std-extract-json-bad", "standard", "an extract.json that is not JSON",
         std_with(lambda s: (s / "extract.json").write_text("{extract_date: 2024"), dated=False), R, ("extract.json",)),
    Case("std-no-extract-date", "standard", "no extract date (no extract.json, no --extract-date)",
         lambda d: load_args(d, std(d)), R, ("--extract-date",)),
    Case("std-extract-date-junk", "standard", "an --extract-date that is not a date",
         lambda d: load_args(d, std(d), "--extract-date", "June"), R, ("June",)),
    Case("std-extract-date-impossible", "standard", "an --extract-date of 31 February",
         lambda d: load_args(d, std(d), "--extract-date", "2024-02-31"), R, ("2024-02-31",)),
    # ---- the standard format: rows
    Case("row-bad-date", "standard", "a date that is not a date", std_load("children", 1, "date_of_birth", "soon"), J,
         ("children.csv", "row 2", "date_of_birth", "expected a date")),
    Case("row-impossible-date", "standard", "31 February", std_load("children", 1, "date_of_birth", "31/02/2015"), J,
         ("children.csv", "date_of_birth")),
    Case("row-uk-date", "standard", "a date written DD/MM/YYYY", std_load("children", 1, "date_of_birth", "01/03/2015"), OK, ()),
    Case("row-date-midnight", "standard", "a date with a midnight time (as spreadsheets export)",
         std_load("children", 1, "date_of_birth", "01/03/2015 00:00"), OK, ()),
    Case("row-date-with-time", "standard", "a date with a time of day in a date column",
         std_load("children", 1, "date_of_birth", "01/03/2015 10:30"), J, ("children.csv", "date_of_birth")),
    Case("row-us-date", "standard", "a date written MM/DD/YYYY with a month over 12",
         std_load("children", 1, "date_of_birth", "03/25/2015"), J, ("children.csv", "date_of_birth")),
    Case("row-two-digit-year", "standard", "a date with a two-digit year",
         std_load("children", 1, "date_of_birth", "01/03/15"), J, ("children.csv", "date_of_birth")),
    Case("row-future-date", "standard", "an event after the extract date", std_load("referrals", 1, "referral_date", "2025-01-10"), J,
         ("referrals.csv", "referral_date", "before the extract date")),
    Case("row-bad-code", "standard", "a code not in the code list", std_load("children", 1, "sex", "X"), J,
         ("children.csv", "row 2", "sex", "expected one of")),
    Case("row-code-lower-case", "standard", "a code in lower case", std_load("children", 1, "ethnicity", "wbri"), J,
         ("children.csv", "ethnicity")),
    Case("row-bad-bool", "standard", "a yes/no value that is neither", std_load("children", 1, "disability", "maybe"), J,
         ("children.csv", "disability", "Y or N")),
    Case("row-bool-words", "standard", "yes/no written Yes, TRUE, 0", std_load("children", 1, "disability", "Yes"), OK, ()),
    Case("row-missing-required", "standard", "a required value left empty", std_load("children", 1, "sex", ""), J,
         ("children.csv", "sex", "required value is missing")),
    Case("row-padded", "standard", "values with spaces around them", std_load("children", 1, "sex", "  M "), OK, ()),
    Case("row-nbsp", "standard", "a value with a no-break space around it", std_load("children", 1, "sex", "\u00a0M"), OK, ()),
    Case("row-duplicate-id", "standard", "an id given twice", std_load("children", 2, "child_id", "K1"), J,
         ("children.csv", "child_id", "duplicate")),
    Case("row-unresolved-ref", "standard", "a reference to a record that does not exist", std_load("referrals", 1, "team_id", "NOPE"), J,
         ("referrals.csv", "team_id", "expected a team_id loaded in teams")),
    Case("row-cascade", "standard", "a child rejected, and the rows that hang off it",
         std_load("children", 1, "sex", "X"), J, ("children.csv", "row 2", "sex")),
    Case("row-date-order", "standard", "a closure before its referral", std_load("referrals", 1, "closure_date", "2023-01-01"), J,
         ("referrals.csv", "closure_date", "on or after referral_date")),
    Case("row-whole-number-decimal", "standard", "a whole number written 5.5", std_with(population_with("age", "5.5")), J,
         ("population.csv", "row 5", "age", "whole number")),
    Case("row-whole-number-hex", "standard", "a whole number written 0x1F", std_with(population_with("count", "0x1F")), J,
         ("population.csv", "row 5", "count", "whole number")),
    Case("row-whole-number-exponent", "standard", "a whole number written 1e2", std_with(population_with("count", "1e2")), J,
         ("population.csv", "row 5", "count", "whole number")),
    Case("row-whole-number-underscore", "standard", "a whole number written 1_000", std_with(population_with("count", "1_000")), J,
         ("population.csv", "row 5", "count", "whole number")),
    Case("row-whole-number-comma", "standard", "a whole number with a thousands separator 6,000", std_with(population_with("count", "6,000")), J,
         ("population.csv", "row 5", "count", "whole number")),
    Case("row-negative-count", "standard", "a negative population count", std_with(population_with("count", "-3")), J,
         ("population.csv", "row 5", "count", "at least 0")),
    Case("row-number-inf", "standard", "a number written inf", std_with(staff_fte("inf")), J, ("staff.csv", "row 4", "fte", "expected a number")),
    Case("row-number-comma-decimal", "standard", "a number with a decimal comma 0,5", std_with(staff_fte("0,5")), J, ("staff.csv", "row 4", "fte")),
    Case("row-population-twice", "standard", "a population row given twice", std_with(lambda s: write_csv(s, "population", [{"year": 2024, "locality_id": "N", "age": 5, "sex": "M", "count": 6000}] * 2)), J,
         ("population.csv",)),
    Case("row-most-rejected", "standard", "every referral's date in a layout the checks do not read",
         std_with(lambda s: put(s / "referrals.csv", [r if i == 0 else r[:3] + ["10.01.2024"] + r[4:] for i, r in enumerate(cells(s / "referrals.csv"))])), R,
         ("referrals.csv",)),
    Case("parquet-int-ids", "standard", "ids stored as integers in Parquet files (7 against K7)", std_with(ids_as_numbers), R, ("referrals.parquet", "stored as numbers", "'007'")),
    Case("parquet-not-parquet", "standard", "a .parquet file that is not Parquet",
         std_with(lambda s: ((s / "localities.csv").unlink(), (s / "localities.parquet").write_text("locality_id,name\n"))), R, ("localities.parquet",)),
    Case("two-sources-population", "standard", "the population in two sources of one load",
         lambda d: ["load", with_population(std(d)), f"standard:{with_population(std(d / 'second'))}", "--store", d / "w.duckdb", "--extract-date", EXTRACT], OK, ("merged",)),
    # ---- SSDA903
    Case("903-ok", "ssda903", "one year's return", s903(), OK, ()),
    Case("903-header-only-header", "ssda903", "a header-only Header table", s903(change=write_file("header.csv", HEADER + "\n")), R, ("header.csv",)),
    Case("903-header-only-episodes", "ssda903", "a header-only Episodes table", s903(change=write_file("episodes.csv", EPISODES + "\n")), OK, ()),
    Case("903-stray-2099", "ssda903", "one episode ending 01/01/2099 in a 2023-24 return",
         s903([ep(), ep("C2", "01/04/2021", "01/01/2099", "U6", "V2", rec="E17"), ep("C3", "01/06/2023", "01/09/2023", rec="E11")], None, "--accept-losses"), J, ("episodes.csv", "DEC", "2099")),
    Case("903-dates-with-time", "ssda903", "dates exported with a time (dd/mm/yyyy 00:00)",
         s903([ep(decom="10/05/2023 00:00"), ep("C2", "01/04/2021 00:00", "19/02/2024 00:00", "U6", "V2", rec="E17")]), OK, ()),
    Case("903-duplicate-column", "ssda903", "a column named twice (two DECOM)",
         s903(change=write_file("episodes.csv", EPISODES + ",DECOM\n" + ep() + ",11/05/2023\n")), R, ("episodes.csv", "DECOM")),
    Case("903-not-a-return", "ssda903", "a CSV that is not a table of the return",
         s903(change=write_file("notes.csv", "CHILD,NOTES\nC1,hello\n")), R, ("notes.csv", "not a table of the SSDA903 return")),
    Case("903-bad-place", "ssda903", "a placement code that does not exist", s903([ep(place="ZZ"), ep("C2", "01/04/2021", "19/02/2024", "U6", "V2", rec="E17")]), J, ("episodes.csv", "PLACE", "expected one of")),
    Case("903-bad-sex", "ssda903", "SEX 3 in the Header", s903(headers=["C1,3,01/06/2010,WBRI,,,", "C2,2,20/02/2006,BAFR,,,"]), J, ("header.csv", "SEX")),
    Case("903-dob-after-extract", "ssda903", "a date of birth after the return's year", s903(headers=["C1,1,01/06/2030,WBRI,,,", "C2,2,20/02/2006,BAFR,,,"]), J, ("header.csv", "DOB")),
    Case("903-reviews", "ssda903", "a Reviews table (looked after reviews, loaded with the date each was due)",
         s903(change=write_file("reviews.csv", "CHILD,DOB,REVIEW,REVIEW_CODE\nC1,01/06/2010,01/08/2023,PN1\n")), OK, ()),
    Case("903-two-headers", "ssda903", "two Header tables in one year's folder",
         s903(change=write_file("header2.csv", HEADER + "\nC3,1,01/06/2012,WBRI,,,\n")), R, ("Header",)),
    Case("903-empty-folder", "ssda903", "a folder with no CSV file", lambda d: load_args(d, (d / "e").mkdir(parents=True) or d / "e", "--format", "ssda903"), R, ("no CSV",)),
    Case("903-not-found", "ssda903", "a path that does not exist", lambda d: load_args(d, d / "none", "--format", "ssda903"), R, ("none",)),
    Case("903-latin1", "ssda903", "a return saved as Latin-1", s903(change=write_file("header.csv", (HEADER + "\nC1,1,01/06/2010,WBRI,,,\nC2,2,20/02/2005,BAFR,,,\nC3,1,01/06/2011,WBRI,,,é\n").encode("latin-1"))), OK, ("header.csv", "Windows-1252")),
    Case("903-care-leaver-no-episode", "ssda903", "an OC3 care leaver whose episodes are in an earlier return",
         s903(change=write_file("oc3.csv", OC3 + "\nC2,20/02/2006,YES,F2,D1\nC9,01/01/2005,YES,F2,D1\n"), headers=["C1,1,01/06/2010,WBRI,,,", "C2,2,20/02/2006,BAFR,,,", "C9,1,01/01/2005,WBRI,,,"]), OK, ()),
    Case("903-year-option", "ssda903", "--year given for a folder not named by year", s903(None, None, "--year", "2023-24", folder="return"), OK, ()),
    Case("903-year-junk", "ssda903", "--year that is not a year", s903(None, None, "--year", "soon"), R, ("soon",)),
    # ---- CIN census
    Case("cin-ok", "cin", "one census", cin(census_xml()), OK, ()),
    Case("cin-malformed", "cin", "XML that is not well formed", cin("<Message><Children>"), R, ("census.xml", "not well-formed")),
    Case("cin-not-census", "cin", "well-formed XML that is not a census", cin("<Workforce><Worker/></Workforce>"), R, ("census.xml", "not a CIN census")),
    Case("cin-empty-file", "cin", "an empty XML file", cin(""), R, ("census.xml",)),
    Case("cin-namespace", "cin", "a census whose elements carry a namespace",
         cin(census_xml(ns=' xmlns="http://www.dfe.gov.uk/CIN"')), OK, ()),
    Case("cin-no-child-id", "cin", "a child with no LAchildID", cin(census_xml([{"id": ""}, {"id": "A2"}])), J, ("census.xml", "LAchildID")),
    Case("cin-bad-date", "cin", "a referral date that is not a date", cin(census_xml([{"id": "A1", "ref": "25/13/2024"}, {"id": "A2"}, {"id": "A3"}])), J, ("census.xml", "CINreferralDate")),
    Case("cin-bad-source", "cin", "a referral source code that does not exist", cin(census_xml([{"id": "A1", "source": "ZZ"}, {"id": "A2"}, {"id": "A3"}])), J, ("census.xml", "ReferralSource")),
    Case("cin-no-xml", "cin", "a folder with no .xml file", cin(lambda f: None), R, ("no .xml",)),
    Case("cin-entity", "cin", "XML with an external entity (XXE)",
         cin(census_xml([{"id": "&x;"}, {"id": "A2"}, {"id": "A3"}]).replace("<Message>", '<!DOCTYPE Message [<!ENTITY x SYSTEM "file:///etc/hostname">]><Message>', 1)), OK, ()),
    Case("cin-two-years", "cin", "last year's census beside this year's (an episode closed this year)",
         cin(lambda f: ((f / "2023.xml").write_text(census_xml([{"id": "A1", "ref": "2023-01-25"}], 2023)),
                        (f / "2024.xml").write_text(census_xml([{"id": "A1", "ref": "2023-01-25", "closed": "2023-06-01"}], 2024)))), OK, ()),
    Case("cin-child-twice", "cin", "one child given twice in one census", cin(census_xml([{"id": "A1"}, {"id": "A1"}])), J, ("census.xml", "LAchildID")),
    # ---- Annex A
    Case("annex-ok", "annex-a", "a workbook with List 3", annex(), OK, ()),
    Case("annex-not-xlsx", "annex-a", "a CSV renamed .xlsx", annex(raw=b"Child Unique ID,Gender\nP1,b) Female\n"), R, ("annex.xlsx",)),
    Case("annex-empty", "annex-a", "an empty .xlsx file", annex(raw=b""), R, ("annex.xlsx",)),
    Case("annex-zip-not-xlsx", "annex-a", "a zip file that is not a workbook", annex(raw=zipped({"a.txt": b"hello"})), R, ("annex.xlsx",)),
    Case("annex-xls", "annex-a", "an old .xls workbook (OLE2)", annex(raw=b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504, name="annex.xls"), R, ("annex.xls",)),
    Case("annex-title-rows", "annex-a", "title rows above a list's header", annex(lambda: {"List 3": [["Annex A: List 3"], ["As at 31/03/2024"], [], LIST3, *list3_rows()]}), OK, ()),
    Case("annex-renamed-key", "annex-a", "a list whose key header is renamed",
         annex(lambda: {"List 3": [[*LIST3[:5], "Referral Date", *LIST3[6:]], *list3_rows()]}), OK, ()),
    Case("annex-key-unknown-title", "annex-a", "a list's key column under a title Ofsted does not use",
         annex(lambda: {"List 3": [[*LIST3[:5], "When referred", *LIST3[6:]], *list3_rows()]}), R, ("List 3", "Date of Referral")),
    Case("annex-duplicate-header", "annex-a", "a column header given twice", annex(lambda: {"List 3": [[*LIST3, "Referral Source"], *[r + ["x"] for r in list3_rows()]]}), R, ("Referral Source",)),
    Case("annex-list8", "annex-a", "List 8 (children in care), which is not loaded",
         annex(lambda: {"List 3": [LIST3, *list3_rows()], "List 8": [[*COMMON, "Date Started to be Looked After"], ["P1", "b) Female", "a) WBRI", None, 9, None]]}), OK, ()),
    Case("annex-notes-sheet", "annex-a", "a sheet that is not a list", annex(lambda: {"List 3": [LIST3, *list3_rows()], "Notes": [["Notes"], ["not a list"]]}), OK, ()),
    Case("annex-no-list", "annex-a", "a workbook with no list the workbook reads", annex(lambda: {"Notes": [["Notes"], ["x"]]}), R, ("annex.xlsx",)),
    Case("annex-missing-column", "annex-a", "List 3 without its Referral Source column", annex(lambda: {"List 3": [LIST3[:6], *[r[:6] for r in list3_rows()]]}), R, ("Referral Source",)),
    Case("annex-bad-code", "annex-a", "a referral source the template does not have", annex(lambda: {"List 3": [LIST3, *list3_rows(2), ["P9", *list3_rows(1)[0][1:6], "zz) Aliens", "No", 0]]}), J, ("Referral Source",)),
    Case("annex-na", "annex-a", "cells holding #N/A", annex(lambda: {"List 3": [LIST3, *list3_rows(2), ["P9", *list3_rows(1)[0][1:2], "#N/A", *list3_rows(1)[0][3:]]]}), J, ("Ethnicity",)),
    Case("annex-text-dates", "annex-a", "dates typed as text 07/02/2024", annex(lambda: {"List 3": [LIST3, [*list3_rows(1)[0][:5], "07/02/2024", *list3_rows(1)[0][6:]]]}), OK, ()),
    Case("annex-no-extract-date", "annex-a", "a workbook loaded without an extract date", annex(dated=False), R, ("--extract-date",)),
    # ---- SQL (SQLite through SQLAlchemy)
    Case("sql-ok", "sql", "the standard tables in a database", sql_case(), OK, ()),
    Case("sql-bad-url", "sql", "a URL that is not a database URL", sql_case(url="not a url"), R, ("not a url",)),
    Case("sql-unknown-driver", "sql", "a URL for a driver that is not installed", sql_case(url="mssql+pyodbc://u:secret@host/db"), R, ("mssql",)),
    Case("sql-password-hidden", "sql", "a URL with a password, to a server that refuses", sql_case(url="postgresql://u:s3cret@127.0.0.1:1/db"), R, ("127.0.0.1",)),
    Case("sql-no-tables", "sql", "a database holding none of the tables", sql_case({"x": "CREATE TABLE other (a TEXT)"}), R, ("none of the data model's tables",)),
    Case("sql-missing-column", "sql", "a standard table without one of its columns", sql_case({"l": "CREATE TABLE localities (locality_id TEXT)"}), R, ("localities", "name")),
    Case("sql-mapping-missing", "sql", "a mapping file that does not exist", lambda d: sql_case()(d) + ["--mapping", d / "nope.yaml"], R, ("nope.yaml",)),
    Case("sql-mapping-not-yaml", "sql", "a mapping that is not valid YAML", sql_case(None, "tables: [unclosed"), R, ("map.yaml",)),
    Case("sql-mapping-unknown-table", "sql", "a mapping naming a table the model does not have", sql_case(None, "tables:\n  kids: {from: children, columns: {child_id: child_id}}\n"), R, ("kids",)),
    Case("sql-mapping-unknown-column", "sql", "a mapping naming a column the table does not have", sql_case(None, "tables:\n  localities: {from: localities, columns: {locality_id: locality_id, colour: name}}\n"), R, ("colour",)),
    Case("sql-mapping-bad-query", "sql", "a mapping query that fails", sql_case(None, "tables:\n  localities: {sql: SELEKT nothing}\n"), R, ("localities",)),
    Case("sql-mapping-their-column-missing", "sql", "a mapping naming a council column that does not exist", sql_case(None, "tables:\n  localities: {from: localities, columns: {locality_id: area_code, name: name}}\n"), R, ("area_code",)),
    Case("sql-silent-server", "sql", "a server that accepts the connection and never answers",
         lambda d: load_args(d, silent_server(d), "--format", "sql", "--extract-date", EXTRACT, "--sql-timeout", "2"), R, ("127.0.0.1", "no answer")),
    # ---- the store
    Case("store-directory", "store", "a store path that is a directory", store_bytes(None, "snapshots"), R, ("store.duckdb",)),
    Case("store-empty", "store", "a store file of 0 bytes", store_bytes(b"", "snapshots"), R, ("store.duckdb",)),
    Case("store-text", "store", "a store file that is text", store_bytes(b"hello, I am not a database\n", "snapshots"), R, ("store.duckdb",)),
    Case("store-random", "store", "a store file of random bytes", store_bytes(bytes(range(256)) * 64, "snapshots"), R, ("store.duckdb",)),
    Case("store-missing", "store", "a store that does not exist", lambda d: ["measures", "--store", d / "none.duckdb"], R, ("none.duckdb", "kpi load")),
    Case("store-truncated-load", "store", "a new load into a truncated store", damaged("truncated", "load"), R, ("w.duckdb",)),
    Case("store-flipped-load", "store", "a new load into a store with flipped bytes", damaged("flipped", "load"), R, ("w.duckdb",)),
    Case("store-truncated-read", "store", "reading a truncated store", damaged("truncated", "snapshots"), R, ("w.duckdb",)),
    Case("store-text-load", "store", "a load into a store path holding text", store_bytes(b"not a database", "load"), R, ("store.duckdb",)),
    Case("store-no-snapshot", "store", "a --snapshot the store does not have", lambda d: ["measures", "--store", minimal_store(d), "--month", "2024-05", "--snapshot", "7"], R, ("7",)),
    # ---- commands and months
    Case("run-month-13", "commands", "kpi run --month 2026-13", on_synthetic("run", "--month", "2026-13"), R, ("2026-13",)),
    Case("run-month-after", "commands", "a month after the extract", on_synthetic("run", "--month", "2030-01"), R, ("2030-01",)),
    Case("run-month-before", "commands", "a month before any record", on_synthetic("run", "--month", "2015-01"), R, ("2015-01",)),
    Case("run-months-backwards", "commands", "--months that ends before it starts", on_synthetic("run", "--months", "2026-10..2026-08"), R, ("2026-10..2026-08",)),
    Case("run-months-junk", "commands", "--months that is not a range", on_synthetic("run", "--months", "autumn"), R, ("autumn",)),
    Case("params-new-month-13", "commands", "kpi params new 2026-13", lambda d: on_synthetic("params", "new", "2026-13", "--dir", d / "params")(d), R, ("2026-13",)),
    Case("params-new-month-after", "commands", "kpi params new for a month after the extract", lambda d: on_synthetic("params", "new", "2030-01", "--dir", d / "params")(d), R, ("2030-01",)),
    Case("measures-month-junk", "commands", "kpi measures --month junk", on_synthetic("measures", "--month", "junk"), R, ("junk",)),
    Case("measures-month-after", "commands", "kpi measures for a month after the extract", on_synthetic("measures", "--month", "2030-01"), R, ("2030-01",)),
    Case("measures-months-zero", "commands", "kpi measures --months 0", on_synthetic("measures", "--months", "0"), R, ("--months",)),
    Case("measures-by-junk", "commands", "kpi measures --by a breakdown that does not exist", on_synthetic("measures", "--by", "planet"), R, ("planet",)),
    Case("measures-catalogue-unknown", "commands", "--catalogue naming no catalogue", on_synthetic("measures", "--catalogue", "nowhere"), R, ("nowhere",)),
    Case("measures-targets-bad-yaml", "commands", "a targets file that is not valid YAML",
         lambda d: on_synthetic("measures", "--targets", (d.mkdir(parents=True, exist_ok=True), (d / "t.yaml").write_text("2026-27: [oops"), d / "t.yaml")[2])(d), R, ("t.yaml",)),
    Case("measures-targets-unknown", "commands", "a targets file naming an unknown measure",
         lambda d: on_synthetic("measures", "--targets", (d.mkdir(parents=True, exist_ok=True), (d / "t.yaml").write_text('"2026-27": {"99.9": {target: 1, tolerance: 2}}\n'), d / "t.yaml")[2])(d), R, ("99.9",)),
    Case("measures-aggregates-bad-rows", "commands", "an aggregates file with bad rows",
         lambda d: (d.mkdir(parents=True, exist_ok=True), (d / "a.csv").write_text("month,measure,numerator,denominator\n2025-01,1.0,12,\n2025-13,1.0,x,\n"), ["measures", "--month", "2025-01", "--aggregates", d / "a.csv"])[2], "exit 1", ("a.csv", "row 3")),
    Case("volumes-903-only", "commands", "kpi volumes on a store from an SSDA903 return alone",
         lambda d: (kpi(s903()(d)), ["volumes", "--store", d / "w.duckdb", "--month", "2024-01"])[1], OK, ()),
    Case("explore-unknown-measure", "commands", "kpi explore of a measure that does not exist", on_synthetic("explore", "99.9"), R, ("99.9",)),
    Case("explore-unknown-notebook", "commands", "kpi explore --notebook that does not exist", on_synthetic("explore", "1.7", "--notebook", "nope"), R, ("nope",)),
    Case("spc-no-file", "commands", "kpi spc of a file that does not exist", lambda d: ["spc", d / "none.csv", "--improvement", "increase"], R, ("none.csv",)),
    Case("spc-not-series", "commands", "kpi spc of a CSV without period and value", series("a,b\n1,2\n"), R, ("series.csv",)),
    Case("spc-bad-value", "commands", "kpi spc with a value that is not a number", series("period,value\np1,1\np2,oops\np3,2\n"), "exit 1", ("series.csv", "row 3")),
    Case("spc-empty", "commands", "kpi spc of a header-only series", series("period,value\n"), R, ("series.csv",)),
    Case("comparators-la-junk", "commands", "kpi comparators show --la junk", lambda d: ["comparators", "show", "--la", "junk"], R, ("junk",)),
    Case("comparators-year-junk", "commands", "kpi comparators show --year 1850", lambda d: ["comparators", "show", "--la", "825", "--year", "1850"], R, ("1850",)),
    Case("comparators-import-nothing", "commands", "kpi comparators import of an empty folder",
         lambda d: ["comparators", "import", (d / "e").mkdir(parents=True) or d / "e", "--dir", d / "out"], R, ("e",)),
    # ---- the month's params
    Case("params-public-string", "params", 'public: "false" (a string)', params('month: 2026-10\npublic: "false"\n'), R, ("public",)),
    Case("params-snapshot-zero", "params", "snapshot: 0", params("month: 2026-10\nsnapshot: 0\n"), R, ("snapshot",)),
    Case("params-snapshot-missing", "params", "a snapshot the store does not have", params("month: 2026-10\nsnapshot: 9\n"), R, ("snapshot", "9")),
    Case("params-comparator-year-junk", "params", "a comparator_year that is not a published year", params("month: 2026-10\nla_code: 825\ncomparator_year: soon\n"), R, ("comparator_year",)),
    Case("params-commentary-unknown", "params", "commentary for a measure the catalogue does not have", params('month: 2026-10\ncommentary:\n  "99.9": Text\n'), R, ("99.9",)),
    Case("params-la-code-junk", "params", "an la_code that is not a council's code", params("month: 2026-10\nla_code: junk\n"), R, ("la_code",)),
    Case("params-catalogue-missing", "params", "a catalogue that does not exist", params("month: 2026-10\ncatalogue: nowhere\n"), R, ("catalogue",)),
    Case("params-catalogue-outside", "params", "a catalogue path outside the project", params("month: 2026-10\ncatalogue: /etc/hostname\n"), R, ("catalogue",)),
    Case("params-aggregates-missing", "params", "an aggregates file that does not exist", params("month: 2026-10\naggregates: nowhere.csv\n"), R, ("aggregates",)),
    Case("params-aggregates-outside", "params", "an aggregates path outside the project", params("month: 2026-10\naggregates: /etc/passwd\n"), R, ("aggregates",)),
    Case("params-unknown-field", "params", "a field the params do not have", params("month: 2026-10\ncolour: blue\n"), R, ("colour",)),
    Case("params-month-mismatch", "params", "a params file for another month", params("month: 2026-09\n"), R, ("2026-09",)),
    Case("params-not-mapping", "params", "params that are a list, not a mapping", params("- month\n- 2026-10\n"), R, ("2026-10.yaml",)),
    Case("params-bad-yaml", "params", "params that are not valid YAML", params("month: [2026-10\n"), R, ("2026-10.yaml",)),
    Case("params-file-missing", "params", "a --params file that does not exist",
         lambda d: ["run", "--month", "2026-10", "--store", synthetic_store(d), "--params", d / "none.yaml"], R, ("none.yaml",)),
    # ---- catalogues
    Case("catalogue-not-yaml", "catalogue", "a catalogue that is not valid YAML", catalogue("measures: [oops"), R, ("cat.yaml",)),
    Case("catalogue-unknown-table", "catalogue", "a measure counting a table that does not exist",
         catalogue(MEASURE.replace("events: contacts", "events: contactz")), R, ("contactz",)),
    Case("catalogue-reads-files", "catalogue", "a measure whose SQL reads a file on the machine",
         catalogue(MEASURE.replace("date: contact_at}", "date: contact_at, where: \"t.source IN (SELECT column0 FROM read_csv('/etc/passwd'))\"}")), R, ("1.0",)),
    Case("catalogue-duplicate-ref", "catalogue", "two measures with one reference", catalogue(MEASURE + MEASURE.split("measures:")[1]), R, ("1.0",)),
    Case("catalogue-bad-unit", "catalogue", "a measure with a unit that does not exist", catalogue(MEASURE.replace("unit: count", "unit: dozens")), R, ("dozens",)),
    Case("catalogue-tolerance-wrong-side", "catalogue", "a tolerance on the better side of its target",
         catalogue(MEASURE.replace("direction: lower", "direction: lower\n    target: 10\n    tolerance: 5")), R, ("tolerance",)),
    # ---- f-privacy
    Case("privacy-id-joined", "privacy", "commentary naming two children's ids joined by a hyphen (CH9-CH0)",
         commentary_with(lambda k: f"Driven by {k[0]}-{k[1]}."), "exit 1", ("personal data found", "Commentary")),
    Case("privacy-id-list-lower", "privacy", "commentary listing children's ids in lower case after a plural label",
         commentary_with(lambda k: f"children {k[0].lower()} and {k[1].lower()} moved"), "exit 1", ("personal data found",)),
    Case("params-new-after-public", "commands", "kpi params new after a public month on the scorecard catalogue",
         params_new("month: 2026-09\ncatalogue: scorecard\npublic: true\n"), OK, ("wrote",)),
    Case("params-new-previous-bad-catalogue", "commands", "kpi params new after a month naming no catalogue",
         params_new("month: 2026-09\ncatalogue: nowhere\n"), R, ("2026-09.yaml", "catalogue")),
    Case("params-new-force-broken", "commands", "kpi params new --force over a params file that is not YAML",
         params_new(None, "--force", existing="month: [broken\n"), OK, ("wrote",)),
    Case("params-new-previous-broken", "commands", "kpi params new after a month whose params are not YAML",
         params_new("month: [broken\n"), R, ("2026-09.yaml",)),
    # ---- f-cmds
    Case("aggregates-nan-inf", "commands", "aggregates with nan and inf figures",
         with_files({"a.csv": "month,measure,numerator,denominator\n2025-01,1.7,nan,40\n2025-01,1.6,inf,\n"}, "measures", "--month", "2025-01", "--aggregates", "{a.csv}"), "exit 1", ("a.csv", "row 2", "numerator")),
    Case("aggregates-negative", "commands", "aggregates with a negative count",
         with_files({"a.csv": "month,measure,numerator,denominator\n2025-01,1.6,-3,\n"}, "measures", "--month", "2025-01", "--aggregates", "{a.csv}"), "exit 1", ("a.csv", "row 2", "0 or more")),
    Case("aggregates-zero-denominator", "commands", "aggregates with a percentage over a denominator of 0",
         with_files({"a.csv": "month,measure,numerator,denominator\n2025-01,1.7,0,0\n"}, "measures", "--month", "2025-01", "--aggregates", "{a.csv}"), "exit 1", ("a.csv", "row 2", "denominator")),
    Case("aggregates-numerator-above", "commands", "aggregates with a percentage's numerator above its denominator",
         with_files({"a.csv": "month,measure,numerator,denominator\n2025-01,1.7,50,40\n"}, "measures", "--month", "2025-01", "--aggregates", "{a.csv}"), "exit 1", ("a.csv", "row 2", "numerator")),
    Case("aggregates-column-twice", "commands", "aggregates with a column named twice",
         with_files({"a.csv": "month,measure,numerator,denominator,numerator\n2025-01,1.6,3,,9\n"}, "measures", "--month", "2025-01", "--aggregates", "{a.csv}"), R, ("a.csv", "numerator", "twice")),
    Case("aggregates-blank-lines", "commands", "aggregates with blank lines before a bad row",
         with_files({"a.csv": "month,measure,numerator,denominator\n\n\n2025-01,1.6,x,\n"}, "measures", "--month", "2025-01", "--aggregates", "{a.csv}"), "exit 1", ("a.csv", "row 4")),
    Case("spc-latest-first", "commands", "kpi spc of a series latest first (sorted by month)",
         with_files({"s.csv": "period,value\n" + "".join(f"2025-{m:02d},{m}\n" for m in range(12, 0, -1))}, "spc", "{s.csv}", "--improvement", "increase"), OK, ("2025-01",)),
    Case("spc-labels-out-of-order", "commands", "kpi spc of labels with months out of order",
         with_files({"s.csv": "period,value\nbaseline,5\n2025-02,1\n2025-01,2\n"}, "spc", "{s.csv}", "--improvement", "increase"), R, ("s.csv", "row 4", "time order")),
    Case("comparators-import-one-table", "commands", "kpi comparators import of a folder with one table, over earlier figures",
         lambda d: (shutil.copytree(ROOT / "data" / "comparators", d / "dir"), (d / "new").mkdir(), (d / "new" / "d3_cpps_subsequent_plan_2026.csv").write_text("time_period,geographic_level,new_la_code,old_la_code,la_name,CPP_subsequent_percent\n2026,National,,,,23.0\n"), ["comparators", "import", d / "new", "--dir", d / "dir"])[3], OK, ("1 published figures",)),
    Case("report-data-council-folder", "commands", "kpi report --data a council's folder (no extract.json)",
         with_files({"council/referrals.csv": "child_id,referral_id\nC1,R1\n"}, "report", "--data", "{council}", "--store", "{w.duckdb}", "--output", "{out}"), R, ("--data", "council", "not overwritten")),
    Case("synth-out-file", "commands", "kpi synth --out a file",
         with_files({"f.txt": "x\n"}, "synth", "--out", "{f.txt}", "--scale", "0.05"), R, ("--out", "f.txt", "is a file")),
    Case("synth-out-not-empty", "commands", "kpi synth --out a folder of other files",
         with_files({"d/notes.txt": "x\n"}, "synth", "--out", "{d}", "--scale", "0.05"), R, ("--out", "not empty")),
    Case("targets-key-twice", "commands", "a targets file giving a measure twice",
         with_files({"a.csv": "month,measure,numerator,denominator\n2026-05,1.7,4,40\n", "t.yaml": "2026-27:\n  '1.7': {target: 17, tolerance: 20}\n  '1.7': {target: 5, tolerance: 9}\n"}, "measures", "--month", "2026-05", "--aggregates", "{a.csv}", "--targets", "{t.yaml}", "--format", "csv"), R, ("t.yaml", "1.7", "twice")),
    Case("targets-unquoted-6.10", "commands", "a targets file with 6.10 unquoted (YAML's 6.1)",
         with_files({"a.csv": "month,measure,numerator,denominator\n2026-05,1.7,4,40\n", "t.yaml": "2026-27:\n  6.10: {target: 95, tolerance: 90}\n"}, "measures", "--month", "2026-05", "--aggregates", "{a.csv}", "--targets", "{t.yaml}", "--format", "csv"), OK, ()),
    Case("targets-inf", "commands", "a target of .inf",
         with_files({"a.csv": "month,measure,numerator,denominator\n2026-05,1.7,4,40\n", "t.yaml": "2026-27:\n  '1.7': {target: .inf, tolerance: 20}\n"}, "measures", "--month", "2026-05", "--aggregates", "{a.csv}", "--targets", "{t.yaml}", "--format", "csv"), R, ("t.yaml", "1.7", "target")),
    Case("targets-nan", "commands", "a tolerance of .nan",
         with_files({"a.csv": "month,measure,numerator,denominator\n2026-05,1.7,4,40\n", "t.yaml": "2026-27:\n  '1.7': {target: 17, tolerance: .nan}\n"}, "measures", "--month", "2026-05", "--aggregates", "{a.csv}", "--targets", "{t.yaml}", "--format", "csv"), R, ("t.yaml", "1.7", "tolerance")),
    Case("targets-boolean", "commands", "a target of true",
         with_files({"a.csv": "month,measure,numerator,denominator\n2026-05,1.7,4,40\n", "t.yaml": "2026-27:\n  '1.7': {target: true}\n"}, "measures", "--month", "2026-05", "--aggregates", "{a.csv}", "--targets", "{t.yaml}", "--format", "csv"), R, ("t.yaml", "1.7", "target")),
    Case("targets-year-list", "commands", "a targets year that is a list",
         with_files({"a.csv": "month,measure,numerator,denominator\n2026-05,1.7,4,40\n", "t.yaml": "2026-27:\n  - '1.7'\n"}, "measures", "--month", "2026-05", "--aggregates", "{a.csv}", "--targets", "{t.yaml}", "--format", "csv"), R, ("t.yaml", "2026-27")),
    Case("catalogue-empty", "catalogue", "a catalogue with no measures (measures: [])", catalogue("sections: []\nmeasures: []\n"), R, ("cat.yaml", "measures")),
    Case("catalogue-not-yaml-path", "catalogue", "--catalogue a file without a suffix (/etc/passwd)",
         lambda d: ["measures", "--month", "2026-10", "--store", synthetic_store(d), "--catalogue", "/etc/passwd"], R, ("/etc/passwd", "not a catalogue")),
    Case("catalogue-folder", "catalogue", "--catalogue a folder",
         lambda d: ["measures", "--month", "2026-10", "--store", synthetic_store(d), "--catalogue", d], R, ("not a catalogue",)),
    Case("explore-notebook-path", "commands", "kpi explore --notebook ../01_summary (a report notebook)", on_synthetic("explore", "1.7", "--notebook", "../01_summary"), R, ("--notebook", "../01_summary")),
    Case("explore-notebook-other-measure", "commands", "kpi explore of 6.0 in the re-referrals notebook", on_synthetic("explore", "6.0", "--notebook", "re_referrals"), R, ("re_referrals", "1.7", "6.0")),
    Case("explore-out-file", "commands", "kpi explore --out a file",
         with_files({"f.txt": "x\n"}, "explore", "1.7", "--store", "{store}", "--out", "{f.txt}"), R, ("--out", "f.txt", "is a file")),
    Case("explore-not-available", "commands", "kpi explore of a measure the store cannot compute (no contacts)",
         lambda d: ["explore", "1.0", "--store", minimal_store(d), "--out", d / "out"], R, ("1.0", "not available", "contacts")),
    Case("load-year-standard", "commands", "kpi load --year with standard sources only",
         lambda d: ["load", std(d), "--year", "2026", "--store", d / "w.duckdb", "--extract-date", EXTRACT], R, ("--year", "ssda903")),
    Case("load-mapping-cin", "commands", "kpi load --mapping with a CIN census source",
         lambda d: ["load", f"cin:{d / 'census.xml'}", "--mapping", d / "m.yaml", "--store", d / "w.duckdb"], R, ("--mapping", "sql")),
    Case("measures-snapshot-aggregates", "commands", "kpi measures --snapshot with --aggregates and no --store",
         with_files({"a.csv": "month,measure,numerator,denominator\n2025-01,1.6,3,\n"}, "measures", "--month", "2025-01", "--aggregates", "{a.csv}", "--snapshot", "2"), R, ("--snapshot", "--store")),
    Case("params-month-13", "params", "a params file for month 2026-13", params("month: 2026-13\n"), R, ("2026-10.yaml", "month", "2026-13")),
    Case("spc-column-twice", "commands", "kpi spc of a series naming period twice",
         with_files({"s.csv": "period,value,period\n2025-01,1,x\n"}, "spc", "{s.csv}", "--improvement", "increase"), R, ("s.csv", "period", "twice")),
    Case("spc-impossible-date", "commands", "kpi spc of a series with 2025-02-30",
         with_files({"s.csv": "period,value\n2025-02-30,1\n2025-03,2\n2025-04,3\n"}, "spc", "{s.csv}", "--improvement", "increase"), "exit 1", ("s.csv", "row 2", "2025-02-30")),
    Case("aggregates-extra-field", "commands", "aggregates with a row of more fields than the header",
         with_files({"a.csv": "month,measure,numerator,denominator\n2025-01,1.6,3,,9\n"}, "measures", "--month", "2025-01", "--aggregates", "{a.csv}"), "exit 1", ("a.csv", "row 2", "fields")),
    Case("aggregates-empty-file", "commands", "an empty aggregates file",
         with_files({"a.csv": ""}, "measures", "--month", "2025-01", "--aggregates", "{a.csv}"), R, ("a.csv", "empty")),
    Case("comparators-show-no-neighbours", "commands", "kpi comparators show of a folder without the SN file",
         lambda d: (d.mkdir(parents=True, exist_ok=True), shutil.copy(ROOT / "data" / "comparators" / "dfe.csv", d / "dfe.csv"), ["comparators", "show", "--la", "825", "--dir", d])[2], R, ("statistical_neighbours.csv",)),
    Case("comparators-damaged-figures", "commands", "kpi comparators show of a dfe.csv that is not text",
         lambda d: (shutil.copytree(ROOT / "data" / "comparators", d / "c"), (d / "c" / "dfe.csv").write_bytes(b"\xff\xfe\x00garbage"), ["comparators", "show", "--la", "825", "--dir", d / "c"])[2], R, ("dfe.csv", "cannot be read")),
    Case("comparators-figure-not-number", "commands", "kpi comparators show of a dfe.csv with a value that is not a number",
         lambda d: (shutil.copytree(ROOT / "data" / "comparators", d / "c"), (d / "c" / "dfe.csv").write_text((d / "c" / "dfe.csv").read_text().replace(",22.8\n", ",lots\n", 1)), ["comparators", "show", "--la", "825", "--dir", d / "c"])[2], R, ("dfe.csv", "value", "lots")),
    # ---- f-readers
    Case("fr-annex-1904-serial", "annex-a", "a 1904-dated workbook with dates as serial numbers in unformatted cells",
         lambda d: load_args(d, fr_annex_1904(d), "--format", "annex-a", "--extract-date", EXTRACT), OK, ()),
    Case("fr-parquet-utc", "standard", "a Parquet timestamp in UTC late on a month's last day (23:30 on 30 April)",
         std_with(lambda s: fr_contacts_utc(s)), OK, ()),
    Case("fr-sql-blob", "sql", "a BLOB column (bytes) where text is expected",
         sql_case({"localities": "CREATE TABLE localities AS SELECT 'N' AS locality_id, X'FFFE4E00' AS name"}), R,
         ("localities", "column name", "holds bytes")),
    Case("fr-cin-dates-z", "cin", "a census whose dates are XML dateTimes in UTC (2024-01-25T00:00:00Z)",
         cin(census_xml([{"id": "A1", "ref": "2024-01-25T00:00:00Z"}, {"id": "A2"}, {"id": "A3"}])), J, ("census.xml", "CINreferralDate", "expected a date")),
    Case("fr-cin-reference-year-early", "cin", "a census whose ReferenceDate is a year early (its records dated after it)",
         cin(census_xml([{"id": "A1", "ref": "2024-05-01"}, {"id": "A2", "ref": "2024-06-01"}], 2024)), R, ("census.xml", "fall after the census date 2024-03-31")),
    Case("fr-cin-year-disagrees", "cin", "a census whose Year (2019) disagrees with its ReferenceDate (2024)",
         cin(census_xml().replace("<Year>2024</Year>", "<Year>2019</Year>")), R, ("census.xml", "Year 2019", "disagree")),
    Case("fr-903-open-episodes-wrong-folder", "ssda903", "a return of open episodes (no DEC) in the folder of the year before",
         s903([ep("C1", "10/05/2024"), ep("C2", "01/06/2024", place="U6")], folder="2023-24"), R, ("2023-24", "DECOM", "2024-25")),
    Case("fr-903-year-option-wrong", "ssda903", "--year a year early for a return",
         s903(None, None, "--year", "2022-23", folder="return"), R, ("--year states the collection year 2022-23", "check --year")),
    Case("fr-std-file-case", "standard", "Localities.CSV (the table's file named in another case)",
         std_with(lambda s: (s / "localities.csv").rename(s / "Localities.CSV")), R, ("Localities.CSV", "named like table localities")),
    Case("fr-std-file-gz", "standard", "localities.csv.gz (the table's file compressed)",
         std_with(lambda s: (s / "localities.csv").rename(s / "localities.csv.gz")), R, ("localities.csv.gz", "named like table localities")),
    Case("fr-std-trailing-comma", "standard", "a trailing comma on every line of a file",
         std_with(lambda s: (s / "teams.csv").write_text("".join(x + ",\n" for x in (s / "teams.csv").read_text().splitlines()))), OK, ()),
    Case("fr-903-semicolons", "ssda903", "an Episodes file separated by semicolons",
         s903(change=lambda f: (f / "episodes.csv").write_text((f / "episodes.csv").read_text().replace(",", ";"))), R, ("episodes.csv", "separated by ';'")),
    Case("fr-903-huge-field", "ssda903", "a value over 128 KB (a quote never closed) in an Episodes file",
         s903(change=write_file("episodes.csv", EPISODES + '\nC1,"' + "x" * 140000 + '",S\n')), R, ("episodes.csv", "line 2, column DECOM")),
    Case("fr-903-xlsx-beside", "ssda903", "an Episodes table saved as .xlsx beside the CSV tables",
         s903(change=write_file("episodes2.xlsx", b"PK")), OK, ()),
    Case("fr-cin-zip-beside", "cin", "a zipped census beside the census XML",
         cin(lambda f: ((f / "census.xml").write_text(census_xml()), (f / "old.zip").write_bytes(b"PK"))), OK, ()),
    Case("fr-cin-reference-z", "cin", "a ReferenceDate written as an XML dateTime in UTC",
         cin(census_xml().replace("<ReferenceDate>2024-03-31</ReferenceDate>", "<ReferenceDate>2024-03-31T00:00:00Z</ReferenceDate>")), R, ("census.xml", "ReferenceDate")),
    Case("fr-cin-two-referral-dates", "cin", "a CINdetails with two different CINreferralDates",
         cin(census_xml([{"id": "A1"}, {"id": "A2"}, {"id": "A3"}]).replace("<CINreferralDate>2024-01-25</CINreferralDate>", "<CINreferralDate>2024-01-25</CINreferralDate><CINreferralDate>2024-01-26</CINreferralDate>", 1)), J, ("census.xml", "CINreferralDate", "given twice")),
    Case("fr-cin-two-ethnicities", "cin", "a child with two different Ethnicity elements",
         cin(census_xml().replace("<Ethnicity>WBRI</Ethnicity>", "<Ethnicity>WBRI</Ethnicity><Ethnicity>WIRI</Ethnicity>", 1)), J, ("census.xml", "Ethnicity", "given twice")),
    Case("fr-cin-same-id-twice", "cin", "a Child with the same LAchildID given twice alike",
         cin(census_xml([{"id": "A1</LAchildID><LAchildID>A1"}, {"id": "A2"}])), OK, ()),
    Case("fr-903-dec-z", "ssda903", "an episode end date written as an XML dateTime (2024-02-19T00:00:00Z)",
         s903([ep(), ep("C2", "01/04/2021", "2024-02-19T00:00:00Z", "U6", "V2", rec="E17")]), R, ("oc3.csv", "DEC", "2024-02-19T00:00:00Z")),
    Case("fr-903-unpadded-iso", "ssda903", "an episode start date 2021-4-1 (ISO without leading zeros)",
         s903([ep(), ep("C2", "2021-4-1", "19/02/2024", "U6", "V2", rec="E17")]), J, ("episodes.csv", "DECOM", "2021-4-1")),
    Case("fr-std-other-files", "standard", "other files and a folder beside the tables (children_old.csv, notes.txt, 2023/)",
         std_with(lambda s: ((s / "children_old.csv").write_text("x\n"), (s / "notes.txt").write_text("hi\n"), (s / "2023").mkdir())), OK, ()),
    Case("fr-sql-mixed-types", "sql", "a SQLite column mixing numbers and text (ids 7 and 'N')",
         sql_case({"localities": "CREATE TABLE localities AS SELECT 7 AS locality_id, 'Seven' AS name UNION ALL SELECT 'N', 'North'"}), OK, ()),
    Case("fr-sql-text-z", "sql", "a timestamp stored as text with a Z (2024-05-01T10:00:00Z)",
         sql_case({"localities": "CREATE TABLE localities AS SELECT 'N' AS locality_id, 'North' AS name",
                   "children": "CREATE TABLE children AS SELECT 'K1' AS child_id, NULL AS family_id, '2015-01-01T00:00:00Z' AS date_of_birth, 'M' AS sex, 'WBRI' AS ethnicity, 'N' AS disability, 'N' AS locality_id"}),
         "exit 2", ("date_of_birth",)),
    Case("fr-annex-serial-out-of-range", "annex-a", "a date column holding a small number (5), not a date",
         annex(lambda: {"List 3": [LIST3, *[[*r[:5], 5, *r[6:]] for r in list3_rows()]]}), "exit 2", ("Date of Referral",)),
    Case("fr-cin-two-reference-dates", "cin", "a Header with two different ReferenceDates",
         cin(census_xml().replace("<ReferenceDate>2024-03-31</ReferenceDate>", "<ReferenceDate>2024-03-31</ReferenceDate><ReferenceDate>2023-03-31</ReferenceDate>")), R, ("census.xml", "ReferenceDate 2 times")),
    Case("fr-cin-two-identifier-blocks", "cin", "a Child whose identifiers come in two ChildIdentifiers blocks, a different LAchildID in the second",
         cin(census_xml([{"id": "A1"}, {"id": "A2"}, {"id": "A3"}]).replace("<LAchildID>A1</LAchildID>", "<LAchildID>A1</LAchildID></ChildIdentifiers><ChildIdentifiers><LAchildID>A7</LAchildID>", 1)), J, ("census.xml", "LAchildID", "A7")),
    Case("fr-cin-two-ids", "cin", "a Child with two different LAchildIDs",
         cin(census_xml([{"id": "A1</LAchildID><LAchildID>A9"}, {"id": "A2"}, {"id": "A3"}])), J, ("census.xml", "LAchildID", "A9")),
    # ---- f-load: what readers set aside, merges, the load's edges
    Case("load-903-malformed-most", "load", "an SSDA903 Episodes table most of whose lines have a field too many",
         s903([ep() + ",x", ep("C2", "01/04/2021", "19/02/2024", "U6", "V2", rec="E17") + ",x"]), R,
         ("episodes.csv", "2 of 2 rows rejected", "more than half")),
    Case("load-903-malformed-one", "load", "an SSDA903 Episodes line with a field too many, the other fine",
         s903([ep() + ",x", ep("C2", "01/04/2021", "19/02/2024", "U6", "V2", rec="E17"), ep("C1", "01/01/2024")]), J,
         ("episodes.csv row 2: malformed line",)),
    Case("load-903-late-dob", "load", "an SSDA903 child born after the return's year end (its episodes fall with it)",
         s903(None, ["C1,1,01/06/2030,WBRI,,,", "C2,2,20/02/2006,BAFR,,,", "C3,1,01/01/2012,WBRI,,,"], "--accept-losses"),
         J, ("header.csv row 2", "DOB", "fell with it")),
    Case("load-903-two-years-restated", "load", "two SSDA903 years restating the same child and episode",
         lambda d: (ssda903(d, folder="2022-23", episodes=["C1,10/05/2022,S,C2,N1,U4,PR1,,,,AB1 2,AB3 4,SC000001",
                                                           "C2,01/04/2021,S,V2,N4,U6,PR1,10/02/2023,E13,,AB1 2,AB1 2,SC000003"]),
                    load_args(d, ssda903(d), "--format", "ssda903"))[1], OK, ()),
    Case("load-cin-child-id-misnamed", "load", "a CIN census with LAchildID written LAChildID",
         cin(census_xml().replace("LAchildID>", "LAChildID>")), R, ("census.xml", "rows rejected", "more than half")),
    Case("load-cin-wrong-reference-date", "load", "a CIN census whose ReferenceDate is before its referrals",
         cin(census_xml().replace("<ReferenceDate>2024-03-31", "<ReferenceDate>2023-03-31").replace("<Year>2024", "<Year>2023")),
         R, ("census.xml", "fall after the census date 2023-03-31")),
    Case("load-annex-ref-most", "load", "an Annex A List 3 with most rows #REF!",
         annex(lambda: {"List 3": [LIST3, *[r[:5] + ["#REF!"] + r[6:] for r in list3_rows(3)], *list3_rows(1)]}), R,
         ("List 3", "more than half")),
    Case("load-annex-header-only", "load", "an Annex A workbook whose List 3 has a header only",
         annex(lambda: {"List 3": [LIST3]}), R, ("nothing to load",)),
    Case("load-all-header-only", "load", "a standard extract whose every file has its header only",
         std_with(lambda src: [f.write_text(f.read_text().splitlines()[0] + "\n") for f in src.glob("*.csv")]), R,
         ("nothing to load: every file holds no rows",)),
    Case("load-child-conflict", "load", "the same child in two sources with a different date of birth",
         lambda d: ["load", std(d), _second_children(d), "--store", d / "w.duckdb", "--extract-date", EXTRACT], OK,
         ("1 with values differing",)),
    Case("load-id-zero-width-after", "load", "a child id with a zero-width space after it (a second K1)",
         std_with(add_rows("children", "K1\u200b,F9,2016-01-01,M,WBRI,N,N")), J, ("children.csv", "duplicate child_id")),
    Case("load-id-bom-before", "load", "a child id with a byte order mark before it",
         std_with(add_rows("children", "\ufeffK9,F9,2016-01-01,M,WBRI,N,N")), OK, ()),
    Case("load-id-control-after", "load", "a child id with a control character (BEL) after it",
         std_with(add_rows("children", "K9\x07,F9,2016-01-01,M,WBRI,N,N")), OK, ()),
    Case("load-id-zero-width-inside", "load", "a child id with a zero-width space inside it",
         std_with(add_rows("children", "K\u200b9,F9,2016-01-01,M,WBRI,N,N")), J, ("children.csv", "invisible characters")),
    Case("load-id-nbsp-around", "load", "a referral's child id with no-break spaces around it",
         std_with(add_rows("referrals", "R9,\u00a0K1\u00a0,,2024-03-01,6,N1,N,N-A,N,,")), OK, ()),
    Case("load-date-year-1", "load", "a date of birth in year 0001",
         std_load("children", 3, "date_of_birth", "0001-01-01"), J, ("children.csv", "expected a date from 1900")),
    Case("load-date-1899", "load", "a referral date of 31/12/1899", std_load("referrals", 1, "referral_date", "31/12/1899"),
         J, ("referrals.csv", "expected a date from 1900")),
    Case("load-date-1900", "load", "a date of birth of 1900-01-01 (the first accepted)",
         std_load("children", 3, "date_of_birth", "1900-01-01"), OK, ()),
    Case("load-malformed-then-blank", "load", "a malformed line followed by a blank line",
         std_with(add_rows("children", "K9,F9", "")), J, ("children.csv row 5: malformed line: has 2 fields, expected 7",)),
    Case("load-rejects-path-taken", "load", "the rejects file's path taken by a folder (as a full disk refuses it)",
         lambda d: ((d / "w-rejects-1.csv").mkdir(), load_args(d, edit(d, "children", 1, "sex", "X"), "--extract-date",
                    EXTRACT, "--accept-losses"))[1], R, ("w-rejects-1.csv", "cannot be written")),
    Case("load-typed-date-future", "load", "one referral date after the extract date in a file of typed dates",
         std_load("referrals", 2, "referral_date", "2030-01-01"), J, ("referrals.csv", "before the extract date")),
    Case("load-date-order-903", "load", "an SSDA903 episode ending before it starts",
         s903([ep(), ep("C2", "01/03/2024", "19/02/2024", "U6", "V2", rec="E17")]), J, ("DEC", "on or after DECOM")),
    Case("load-most-rejected-message", "load", "a table most of whose rows are rejected (the message's wording)",
         std_file("localities", "locality_id,name\n,North\n,South\n"), R, ("localities.csv", "2 of 2 rows rejected")),
    Case("load-id-tab-inside-ref", "load", "a referral's child id with a tab inside it (K<TAB>1)",
         std_with(add_rows("referrals", "R9,K\t1,,2024-03-01,6,N1,N,N-A,N,,")), J, ("referrals.csv", "invisible characters")),
    Case("load-datetime-1899", "load", "a contact's date and time in 1899",
         std_with(lambda src: (src / "contacts.csv").write_text(header("contacts") + "\nC9,K1,1899-12-31 10:00,6,,,\n"
                  "C8,K1,2024-01-01 10:00,6,,,\nC7,K2,2024-01-02 10:00,6,,,\n")), J, ("contacts.csv", "from 1900")),
    Case("load-cin-one-late-closure", "load", "a CIN census with one of three referrals closed after its reference date",
         cin(census_xml([{"id": "A1", "closed": "2024-04-02"}, {"id": "A2"}, {"id": "A3"}])), J,
         ("census.xml", "CINclosureDate", "on or before the census reference date")),
    Case("load-annex-child-differs", "load", "an Annex A child in List 1 and List 3 with two dates of birth",
         annex(lambda: {"List 1": [LIST1, *list1_rows(2)],
                        "List 3": [LIST3, *born_2016(list3_rows(2))]}), OK,
         ("2 merged row(s) (2 with values differing from the row kept)",)),
    Case("load-903-outside-model-only", "load", "an SSDA903 return with a UASC table (outside the model)",
         s903(change=write_file("uasc.csv", "CHILD,SEX,DOB,DUC\nC1,1,01/06/2010,01/06/2028\n")), OK, ()),
    # ---- f-store
    Case("std-extract-json-list", "standard", "an extract.json that is a JSON list, not an object",
         std_with(lambda s: (s / "extract.json").write_text('["2024-06-01"]'), dated=False), R, ("extract.json", "object")),
    Case("std-extract-json-dir", "standard", "a folder named extract.json",
         std_with(lambda s: (s / "extract.json").mkdir(), dated=False), R, ("extract.json", "not a file")),
    Case("std-extract-json-latin1", "standard", "an extract.json that is not UTF-8",
         std_with(lambda s: (s / "extract.json").write_bytes(b'{"extract_date": "2024-06-01", "council": "Bucks\xe9"}'), dated=False), R, ("extract.json", "UTF-8")),
    Case("std-extract-json-month-short", "standard", 'extract.json latest_month "2024-5"',
         std_with(lambda s: (s / "extract.json").write_text('{"extract_date": "2024-06-01", "latest_month": "2024-5"}'), dated=False), R, ("extract.json", "latest_month", "YYYY-MM")),
    Case("std-extract-json-month-ahead", "standard", "extract.json latest_month after the extract date's month",
         std_with(lambda s: (s / "extract.json").write_text('{"extract_date": "2024-06-01", "latest_month": "2024-09"}'), dated=False), R, ("extract.json", "2024-09")),
    Case("std-extract-json-council-number", "standard", "extract.json council that is a number",
         std_with(lambda s: (s / "extract.json").write_text('{"extract_date": "2024-06-01", "council": 825}'), dated=False), R, ("extract.json", "council")),
    Case("load-extract-date-2099", "standard", "--extract-date 2099-01-01 (far ahead of the data)",
         lambda d: load_args(d, std(d), "--extract-date", "2099-01-01"), R, ("2099-01-01", "more than a year")),
    Case("std-extract-json-null", "standard", "an extract.json holding null",
         std_with(lambda s: (s / "extract.json").write_text("null"), dated=False), R, ("extract.json", "object")),
    Case("std-extract-json-broken-link", "standard", "extract.json a symbolic link to nothing",
         std_with(lambda s: (s / "extract.json").symlink_to(s / "nowhere.json"), dated=False), R, ("extract.json", "not a file")),
    Case("std-extract-json-date-number", "standard", "extract.json extract_date written as a number",
         std_with(lambda s: (s / "extract.json").write_text('{"extract_date": 20240601}'), dated=False), R, ("extract.json", "extract_date")),
    Case("sql-mapping-latest-month-short", "sql", "a mapping's latest_month 2024-1",
         sql_case(None, "latest_month: 2024-1\ntables:\n  localities: {from: localities, columns: {locality_id: locality_id, name: name}}\n"), R, ("latest_month", "2024-1")),
    Case("sql-mapping-council-number", "sql", "a mapping's council written as a number (825)",
         sql_case(None, "council: 825\ntables:\n  localities: {from: localities, columns: {locality_id: locality_id, name: name}}\n"), R, ("council", "825")),
    Case("volumes-903-before-year", "commands", "kpi volumes before an SSDA903 return's collection year (its children's older episodes)",
         lambda d: (kpi(s903()(d)), ["volumes", "--store", d / "w.duckdb", "--month", "2022-01"])[1], R, ("2022-01", "2023-04")),
]
# fmt: on


# f-readers helpers -----------------------------------------------------------------------------------------


def fr_contacts_utc(src: Path) -> None:
    """A contact at 2024-04-30 23:30 UTC (1 May 00:30 in England) given in contacts.parquet."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    stamp = pa.array([dt.datetime(2024, 4, 30, 23, 30)], pa.timestamp("us", tz="UTC"))
    row = {"contact_id": ["CU1"], "child_id": ["K1"], "contact_at": stamp, "source": ["1A"]}
    row |= {"screening_rag": pa.nulls(1, pa.string()), "completed_at": pa.nulls(1, pa.timestamp("us"))}
    row |= {"outcome": pa.nulls(1, pa.string())}
    pq.write_table(pa.table(row), src / "contacts.parquet")
    (src / "contacts.csv").unlink(missing_ok=True)


def fr_annex_1904(d: Path) -> Path:
    """List 3 in a workbook dated from 1904, its referral dates serial numbers (43867: 7 February 2024)."""
    import openpyxl
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    wb = openpyxl.Workbook()
    wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.title = "List 3"
    for r in [LIST3, *list3_rows()]:
        ws.append([43867 if i == 5 else v for i, v in enumerate(r)] if r is not LIST3 else r)
    d.mkdir(parents=True, exist_ok=True)
    wb.save(d / "annex.xlsx")
    return d / "annex.xlsx"


def run(case: Case, folder: Path) -> Outcome:
    folder.mkdir(parents=True, exist_ok=True)
    return kpi(case.build(folder))


def table(outcomes: dict[str, str]) -> str:
    """The docs page: every case, what it tries and what the user gets."""
    areas = dict.fromkeys(c.area for c in CASES)
    lines = [
        "# Bad inputs and faults: what the user gets",
        "",
        "Each row is a case of `tests/bad_inputs.py`, run through the `kpi` command by `tests/test_bad_inputs.py`,",
        "which checks the outcome below is what the case gives today (a refusal naming the file and field, or a load",
        "that accounts for every row; never a traceback). Rewritten by `python tests/bad_inputs.py`.",
        f"{len(CASES)} cases: " + ", ".join(f"{a} {sum(c.area == a for c in CASES)}" for a in areas) + ".",
        "",
        "| case | area | kind of input or fault | what the user gets |",
        "|---|---|---|---|",
    ]
    for c in CASES:
        got = outcomes[c.id].replace("|", "\\|")
        lines.append(f"| `{c.id}` | {c.area} | {c.kind} | {got} |")
    return "\n".join(lines) + "\n"


def documented() -> dict[str, str]:
    """The outcome each case has in docs/bad-inputs.md."""
    out = {}
    if DOCS.exists():
        for line in DOCS.read_text().splitlines():
            m = re.match(r"^\| `([^`]+)` \| [^|]+ \| .*? \| (exit .*) \|$", line)
            if m:
                out[m.group(1)] = m.group(2).replace("\\|", "|")
    return out


if __name__ == "__main__":
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="kpi-bad-inputs-"))
    got = {}
    for c in CASES:
        o = run(c, root / c.id)
        got[c.id] = o.line(root / c.id)
        print(f"{c.id}: {got[c.id]}", file=sys.stderr)
    DOCS.write_text(table(got))
    print(f"wrote {DOCS} ({len(CASES)} cases)")
