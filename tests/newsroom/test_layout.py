"""The shape of the tree, checked: apps import each other without circles, the project package
depends on no app, and no module grows past what one can read."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "articles", "newsletters", "pictures", "api")
PACKAGES = ("newsroom", *APPS)
MAX_MODULE_LINES = 400
MAX_BENCH_MODULE_LINES = 350


def modules() -> dict[str, Path]:
    """Every module of the project's packages, by dotted name (migrations left out)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `name` imports anywhere in its text, functions included."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports_of(name, path, known) for name, path in found.items()}


def cycle_through(start: str, edges: dict[str, set[str]]) -> list[str] | None:
    stack, seen = [(start, [start])], set()
    while stack:
        node, trail = stack.pop()
        for nxt in edges.get(node, ()):
            if nxt == start:
                return [*trail, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*trail, nxt]))
    return None


def test_no_module_of_the_apps_imports_itself_round_a_circle():
    edges = graph()
    # A package importing its own submodules (for its names) is not a circle of code.
    edges = {
        name: {t for t in targets if not t.startswith(f"{name}.")}
        for name, targets in edges.items()
    }
    circles = [c for name in edges if (c := cycle_through(name, edges))]
    assert not circles, "\n".join(" → ".join(c) for c in circles)


def test_the_project_package_imports_no_app_except_in_its_url_configuration():
    edges = graph()
    offending = {
        name: sorted(t for t in targets if t.split(".")[0] in APPS)
        for name, targets in edges.items()
        if name.startswith("newsroom") and name != "newsroom.urls"
    }
    assert {name: targets for name, targets in offending.items() if targets} == {}


@pytest.mark.parametrize("package", APPS)
def test_no_app_module_is_longer_than_one_can_read(package):
    long = {
        str(path.relative_to(ROOT)): lines
        for name, path in modules().items()
        if name.split(".")[0] == package
        and (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_the_benchmarks_stay_smaller_than_what_they_measure():
    """bench/ was a third of the tree; consolidated, it was 1,988 lines. Benchmarks that later
    capabilities need (pictures, the edge) may add to it, as long as it stays under a fifth of
    the code it measures, in modules of a readable size."""
    files = [p for p in (ROOT / "bench").rglob("*") if p.is_file() and "results" not in p.parts]
    sizes = {p: len(p.read_text().splitlines()) for p in files if p.suffix in {".py", ".lua"}}
    measured = sum(len(path.read_text().splitlines()) for path in modules().values())
    assert sum(sizes.values()) < measured / 5, (sum(sizes.values()), measured)
    assert {
        str(p.relative_to(ROOT)) for p, n in sizes.items() if n > MAX_BENCH_MODULE_LINES
    } == set()
