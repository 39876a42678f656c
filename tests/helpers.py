"""Helpers shared by the tests: hand-made extracts and stores."""

import csv
from pathlib import Path

from kpi.load import load


def write_csv(directory: Path, name: str, rows: list[dict] | list[list], header: list[str] | None = None) -> Path:
    """Write rows (dicts, or lists under an explicit header) as directory/name.csv."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.csv"
    with open(path, "w", newline="") as f:
        if header is None:
            header = list(rows[0]) if rows else []
            rows = [[r.get(h, "") for h in header] for r in rows]
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def minimal_extract(directory: Path) -> Path:
    """A small valid extract: two localities, two teams, three children, their referrals."""
    write_csv(directory, "localities", [{"locality_id": "N", "name": "North"}, {"locality_id": "S", "name": "South"}])
    write_csv(
        directory,
        "teams",
        [
            {
                "team_id": "N-A",
                "name": "North Assessment",
                "service": "ASSESSMENT",
                "locality_id": "N",
                "frontline": "Y",
            },
            {"team_id": "LC", "name": "Leaving care", "service": "LEAVING_CARE", "locality_id": "", "frontline": "N"},
        ],
    )
    write_csv(
        directory,
        "children",
        [
            {
                "child_id": "K1",
                "family_id": "F1",
                "date_of_birth": "2015-03-01",
                "sex": "M",
                "ethnicity": "WBRI",
                "disability": "N",
                "locality_id": "N",
            },
            {
                "child_id": "K2",
                "family_id": "F1",
                "date_of_birth": "2018-07-15",
                "sex": "F",
                "ethnicity": "WBRI",
                "disability": "N",
                "locality_id": "N",
            },
            {
                "child_id": "K3",
                "family_id": "F2",
                "date_of_birth": "2010-12-31",
                "sex": "F",
                "ethnicity": "MWBC",
                "disability": "Y",
                "locality_id": "S",
            },
        ],
    )
    write_csv(
        directory,
        "referrals",
        [
            {
                "referral_id": "R1",
                "child_id": "K1",
                "contact_id": "",
                "referral_date": "2024-01-10",
                "source": "6",
                "primary_need": "N1",
                "homeless": "N",
                "team_id": "N-A",
                "locality_id": "N",
                "closure_date": "2024-03-01",
                "closure_reason": "RC8",
            },
            {
                "referral_id": "R2",
                "child_id": "K2",
                "contact_id": "",
                "referral_date": "2024-02-10",
                "source": "2A",
                "primary_need": "N4",
                "homeless": "N",
                "team_id": "N-A",
                "locality_id": "N",
                "closure_date": "",
                "closure_reason": "",
            },
            {
                "referral_id": "R3",
                "child_id": "K3",
                "contact_id": "",
                "referral_date": "2024-02-20",
                "source": "3A",
                "primary_need": "N2",
                "homeless": "N",
                "team_id": "N-A",
                "locality_id": "S",
                "closure_date": "",
                "closure_reason": "",
            },
        ],
    )
    return directory


BASE_TABLES = {
    "localities": [{"locality_id": "N", "name": "North"}, {"locality_id": "S", "name": "South"}],
    "teams": [
        {"team_id": "T", "name": "Assessment", "service": "ASSESSMENT", "locality_id": "N", "frontline": "Y"},
        {"team_id": "T2", "name": "Assessment South", "service": "ASSESSMENT", "locality_id": "S", "frontline": "Y"},
    ],
    "population": [
        {"year": 2024, "locality_id": "N", "age": 5, "sex": "M", "count": 6000},
        {"year": 2024, "locality_id": "S", "age": 12, "sex": "F", "count": 4000},
    ],
}


def referral(rid, child, date, **kw):
    """A hand-made referral (police, abuse or neglect) for build_store; keyword arguments override."""
    return {
        "referral_id": rid,
        "child_id": child,
        "referral_date": date,
        "source": "6",
        "primary_need": "N1",
        "homeless": "N",
        **kw,
    }


def screened_contact(cid, at, done, rag="RED"):
    """A hand-made contact of child A (police), screened RED or AMBER at ``at``, completed at ``done``, no further action."""
    return {
        "contact_id": cid,
        "child_id": "A",
        "contact_at": at,
        "source": "6",
        "screening_rag": rag,
        "completed_at": done,
        "outcome": "NFA",
    }


def supervision(sid, child, due, done=""):
    """A hand-made case supervision of a child held by social worker SW1: due, and done (empty: not recorded)."""
    return {"supervision_id": sid, "child_id": child, "staff_id": "SW1", "due_date": due, "supervision_date": done}


def s47_rows(enquiries) -> dict[str, list[dict]]:
    """Rows of one referral (1 February 2024), strategy discussion and S47 enquiry per child, from
    (child, start, end, outcome) tuples: the discussion held on the day the enquiry starts."""
    rows = {"referrals": [], "strategy_discussions": [], "s47_enquiries": []}
    for c, start, end, outcome in enquiries:
        rows["referrals"].append(referral(f"R{c}", c, "2024-02-01"))
        rows["strategy_discussions"].append(
            {"strategy_id": f"SD{c}", "child_id": c, "referral_id": f"R{c}", "decision_date": start}
            | {"held_date": start, "outcome": "S47"}
        )
        rows["s47_enquiries"].append(
            {"s47_id": f"S{c}", "child_id": c, "referral_id": f"R{c}", "strategy_id": f"SD{c}", "start_date": start}
            | {"end_date": end, "outcome": outcome}
        )
    return rows


def build_store(root: Path, tables: dict[str, list[dict]], extract_date: str = "2026-01-01"):
    """Write hand-made records (columns not given filled from the data model) and load them.

    Returns an engine Context on the loaded snapshot. Children named in any table are created
    (born 2015-01-01, locality N) unless given.
    """
    from kpi import model
    from kpi.engine import Context
    from kpi.store import connect

    tables = {**BASE_TABLES, **tables}
    kids = {r["child_id"] for rows in tables.values() for r in rows if r.get("child_id")}
    given = {r["child_id"] for r in tables.get("children", [])}
    tables["children"] = tables.get("children", []) + [{"child_id": k} for k in sorted(kids - given)]
    for name, rows in tables.items():
        t = model.table(name)
        full = []
        for i, r in enumerate(rows):
            row = {}
            for c in t.columns:
                if c.name in r:
                    row[c.name] = r[c.name]
                elif not c.required:
                    row[c.name] = ""
                elif c.name == "locality_id":
                    row[c.name] = "N"
                elif c.name == "team_id":
                    row[c.name] = "T"
                elif c.name == "date_of_birth":
                    row[c.name] = "2015-01-01"
                elif c.type == "code":
                    row[c.name] = next(iter(c.codes))
                elif c.type == "bool":
                    row[c.name] = "N"
                elif c.type in ("int", "float"):
                    row[c.name] = 1
                elif c.type == "id" and not c.ref:
                    row[c.name] = f"{name[:3].upper()}{i + 1}"
                else:
                    raise ValueError(f"hand-made {name} row {i + 1} needs {c.name}")
            full.append([row[h] for h in t.column_names])
        write_csv(root / "in", name, full, header=t.column_names)
    res = load(root / "in", root / "w.duckdb", extract_date=extract_date)
    assert res.rejects.empty, res.rejects.to_string()
    con, snap = connect(root / "w.duckdb")
    return Context.prepare(con, snap)


def figure(ctx, ref: str, month: str, by: str | None = None):
    """One measure for one month from the county catalogue: a row (or, with by, rows by group)."""
    from kpi.catalogue import load as load_catalogue
    from kpi.engine import compute

    df = compute(ctx, load_catalogue("county"), [month], by=by, refs=[ref])
    if by:
        return df.set_index("grp")
    return df.iloc[0]


def leaver_contacts(contacts: dict[str, list[tuple]]) -> list[dict]:
    """care_leaver_contacts rows from {child: [(date, in touch, activity, suitable), ...]}; accommodation U
    (independent living) when in touch."""
    return [
        {
            "contact_id": f"{c}-{i}",
            "child_id": c,
            "contact_date": d,
            "in_touch": touch,
            "activity": act,
            "accommodation": "U" if touch == "YES" else "",
            "suitable": suit,
        }
        for c, rows in contacts.items()
        for i, (d, touch, act, suit) in enumerate(rows)
    ]


def within_20_miles(parts: dict[str, dict]):
    """A catalogue of stock measures "children in care placed within 20 miles", one per ref with its part."""
    import yaml

    from kpi.catalogue import parse

    measures = [
        {
            "ref": ref,
            "title": "Children in care placed within 20 miles",
            "section": "impact",
            "unit": "percent",
            "kind": "stock",
            "direction": "higher",
            "definition": "Children in care at the month end whose latest placement is within 20 miles.",
            "parts": [{"open": "care_episodes"} | part],
        }
        for ref, part in parts.items()
    ]
    return parse(yaml.safe_dump({"sections": [{"key": "impact", "title": "Impact"}], "measures": measures}))
