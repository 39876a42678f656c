"""The package's rooms: the loading wing flows one way (readers -> checks -> load -> store) and no module imports
one that imports it back."""

import ast
from pathlib import Path

KPI = Path(__file__).resolve().parent.parent / "kpi"


def imports() -> dict[str, set[str]]:
    """Each module of the package (kpi.x, kpi.readers.y) and the package's modules it imports, anywhere in it."""
    out = {}
    for path in KPI.rglob("*.py"):
        rel = path.relative_to(KPI.parent).with_suffix("")
        parts = list(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        name = ".".join(parts)
        package = parts if rel.name == "__init__" else parts[:-1]
        got = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                mod = ".".join(base + ([node.module] if node.module else []))
                if not mod.startswith("kpi"):
                    continue
                got.add(mod)
                got |= {f"{mod}.{a.name}" for a in node.names}  # `from . import model` names a module
            elif isinstance(node, ast.Import):
                got |= {a.name for a in node.names if a.name.startswith("kpi")}
        out[name] = got
    return {m: {i for i in got if i in out and i != m} for m, got in out.items()}


def test_no_module_imports_one_that_imports_it_back():
    graph = imports()

    def reach(m, seen):
        for n in graph[m]:
            if n not in seen:
                seen.add(n)
                reach(n, seen)
        return seen

    cycles = sorted(m for m in graph if m in reach(m, set()) and m != "kpi")
    assert cycles == [], cycles


def test_the_loading_wing_flows_one_way():
    graph = imports()
    readers = {m for m in graph if m == "kpi.readers" or m.startswith("kpi.readers.")}
    for m in readers:
        assert not graph[m] & {"kpi.checks", "kpi.load", "kpi.store"}, (m, graph[m])
    assert not graph["kpi.checks"] & (readers | {"kpi.load", "kpi.store"})
    assert not graph["kpi.store"] & (readers | {"kpi.checks", "kpi.load"})
    assert {"kpi.readers", "kpi.checks", "kpi.store"} <= graph["kpi.load"]
