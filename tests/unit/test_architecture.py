"""The package's shape, checked from the source text (AST, milliseconds): no import cycle, no private
name imported across modules, only the CLI imports the Prefect flows, no Python module names a theme
(themes.csv is their one definition), small modules, and test modules that do not import each other.
docs/architecture.md explains the layout these rules keep."""

from __future__ import annotations

import ast
import csv
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "pipeline"
MAX_LINES = 450
MAX_TOP_MODULES = 8
LONG_BY_NATURE = {"pipeline.demo.riverford"}   # the synthetic borough's generator: data, not logic
# names that are a theme id and something else too: the extract's domestic-abuse flag column
NOT_THEMES = {"pipeline.sources.profiles": {"domestic_abuse"}}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules(*folders: str) -> dict[str, Path]:
    return {module_name(p): p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))}


@cache
def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imports(name: str, path: Path) -> list[tuple[str, str | None]]:
    """(module, imported name or None) for every import in the file, at any depth (a lazy import inside a
    function still makes a cycle)."""
    found = []
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:   # relative import
                base = ".".join(name.split(".")[: -node.level] + ([base] if base else []))
            found += [(base, alias.name) for alias in node.names]
    return found


def internal_edges() -> dict[str, set[str]]:
    """module -> the pipeline modules it imports (`from pipeline.x import y` counts y when y is a module)."""
    known = modules("pipeline")
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = set()
        for module, member in imports(name, path):
            if member and f"{module}.{member}" in known:
                targets.add(f"{module}.{member}")
            elif module in known and module != "pipeline":
                targets.add(module)
        edges[name] = targets - {name}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle():
    found = cycles(internal_edges())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_private_name_imported_from_another_module():
    offenders = []
    for name, path in modules("pipeline", "flows").items():
        for module, member in imports(name, path):
            if module.startswith(("pipeline", "flows")) and member and member.startswith("_") and not member.startswith("__"):
                offenders.append(f"{name}: from {module} import {member}")
        for node in ast.walk(tree(path)):   # module._name, where module is one of ours imported by name
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and isinstance(node.value, ast.Name) and node.value.id in imported_module_aliases(name, path)):
                offenders.append(f"{name}: {node.value.id}.{node.attr}")
    assert not offenders, "\n".join(sorted(set(offenders)))


@cache
def imported_module_aliases(name: str, path: Path) -> frozenset[str]:
    known = modules("pipeline", "flows")
    aliases = set()
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.ImportFrom) and node.module:
            aliases |= {a.asname or a.name for a in node.names if f"{node.module}.{a.name}" in known}
        elif isinstance(node, ast.Import):
            aliases |= {a.asname for a in node.names if a.asname and a.name in known}
    return frozenset(aliases)


def test_only_the_cli_imports_the_flows():
    importers = {name for name, path in modules("pipeline").items()
                 if any(module == "flows" or module.startswith("flows.") for module, _ in imports(name, path))}
    assert importers <= {"pipeline.cli"}, f"only pipeline.cli may import flows/: {sorted(importers)}"


def test_flows_hold_prefect_code_only():
    """Each flow module uses Prefect and nothing in pipeline/ beyond the run's steps and settings."""
    for name, path in modules("flows").items():
        if name == "flows":
            continue
        used = {module for module, _ in imports(name, path)}
        assert any(m == "prefect" or m.startswith("prefect.") for m in used), f"{name} does not use Prefect"


@cache
def theme_ids() -> set[str]:
    with (ROOT / "sql" / "seeds" / "themes.csv").open(newline="", encoding="utf-8") as f:
        return {row["theme"] for row in csv.DictReader(f)}


def test_no_python_module_names_a_theme():
    offenders = []
    for name, path in modules("pipeline", "flows").items():
        if name in LONG_BY_NATURE:   # the demo generator writes crimes of each kind
            continue
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                hits = (theme_ids() & {node.value} | {t for t in theme_ids() if f"'{t}'" in node.value}) \
                    - NOT_THEMES.get(name, set())
                offenders += [f"{name}:{node.lineno} {t}" for t in sorted(hits)]
    assert not offenders, "\n".join(sorted(set(offenders)))


def test_small_modules_and_a_short_top_level():
    top = [p for p in PIPELINE.glob("*.py") if p.name != "__init__.py"]
    assert len(top) <= MAX_TOP_MODULES, sorted(p.name for p in top)
    long = {name: n for name, path in modules("pipeline", "flows").items()
            if name not in LONG_BY_NATURE and (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_test_modules_do_not_import_each_other():
    """Shared builders live in tests/helpers/; a test module imports none of the others (nor conftest)."""
    offenders = []
    for name, path in modules("tests").items():
        for module, member in imports(name, path):
            target = f"{module}.{member}" if member else module
            if target.startswith(("tests.unit", "tests.integration", "tests.conftest")) or (
                    module == "tests" and member and (member.startswith("test_") or member == "conftest")):
                offenders.append(f"{name}: {target}")
    assert not offenders, "\n".join(sorted(set(offenders)))
