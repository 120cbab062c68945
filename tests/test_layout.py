"""The layout docs/architecture.md promises: rooms, size limits, and the arrows that must never exist."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("sessionmgr", "harness")
MAX_MODULE_LINES = 420
MAX_CLASS_LINES = 260

# (importing room, rooms it must never import)
FORBIDDEN: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "sessionmgr",
        (
            "harness",
            "sessionmgr.cli",
            "sessionmgr.report",
            "sessionmgr.monitoring",
            "sessionmgr.trace",
        ),
    ),
    ("sessionmgr.recovery", ("sessionmgr.manager", "harness", "sessionmgr.cli", "sessionmgr.report")),
    ("sessionmgr.store", ("sessionmgr.manager", "sessionmgr.recovery", "harness", "sessionmgr.cli")),
    ("sessionmgr.trace", ("sessionmgr.monitoring", "sessionmgr.report", "sessionmgr.cli", "harness")),
    ("sessionmgr.report", ("sessionmgr.monitoring", "sessionmgr.cli", "harness")),
    ("sessionmgr.monitoring", ("sessionmgr.cli", "sessionmgr.report", "harness")),
)


def modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, path


def room(module: str) -> str:
    """The room a module lives in: its sub-package, or the core for top-level sessionmgr modules."""
    if module == "sessionmgr.__main__":  # ``python -m sessionmgr`` is the command line
        return "sessionmgr.cli"
    parts = module.split(".")
    if parts[0] == "sessionmgr" and len(parts) > 1 and (ROOT / "sessionmgr" / parts[1]).is_dir():
        return ".".join(parts[:2])
    return parts[0]


def imports(path: Path) -> Iterator[tuple[str, bool]]:
    """Every absolute import in a module, and whether it sits at module level (not lazy, not for typing)."""
    tree = ast.parse(path.read_text())
    lazy: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.If):
            lazy.update(id(child) for child in ast.walk(node) if child is not node)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, id(node) not in lazy
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, id(node) not in lazy


def test_no_forbidden_arrow() -> None:
    """No room imports a room that docs/architecture.md says it must never import."""
    offences = []
    for name, path in modules():
        here = room(name)
        for source, banned in FORBIDDEN:
            if here != source:
                continue
            for target, _eager in imports(path):
                if any(target == b or target.startswith(b + ".") for b in banned):
                    offences.append(f"{name} imports {target}")
    assert offences == []


@pytest.mark.parametrize(("name", "path"), list(modules()), ids=[n for n, _ in modules()])
def test_module_and_class_sizes(name: str, path: Path) -> None:
    """No module is over ~400 lines and no class over ~250."""
    source = path.read_text()
    assert source.count("\n") <= MAX_MODULE_LINES, f"{name} has {source.count(chr(10))} lines"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            assert length <= MAX_CLASS_LINES, f"{name}.{node.name} has {length} lines"


def test_no_import_cycle_at_module_level() -> None:
    """Module-level imports between our modules form no cycle (lazy imports inside functions may break one)."""
    graph: dict[str, set[str]] = {}
    names = {name for name, _ in modules()}
    for name, path in modules():
        graph[name] = {t for t, eager in imports(path) if eager and t in names and t != name}
    # a package importing its own submodules to re-export them is not a cycle
    for name in graph:
        graph[name] = {t for t in graph[name] if not t.startswith(name + ".")}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, stack: list[str]) -> bool:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycle.extend([*stack[stack.index(target) :], target] if target in stack else [node, target])
                return True
            if state.get(target) is None and visit(target, [*stack, target]):
                return True
        state[node] = 2
        return False

    for node in sorted(graph):
        if state.get(node) is None and visit(node, [node]):
            break
    assert cycle == []


def test_importing_sessionmgr_loads_no_outer_room() -> None:
    """``import sessionmgr`` pulls in neither prometheus_client, click, the harness nor the report."""
    code = (
        "import sys, sessionmgr, sessionmgr.monitoring\n"
        "bad = [m for m in ('prometheus_client', 'harness', 'sessionmgr.report', 'sessionmgr.cli', 'faker')"
        " if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""


def test_public_api_names_exist() -> None:
    """Everything in ``sessionmgr.__all__`` and ``sessionmgr.monitoring.__all__`` can be imported."""
    import sessionmgr
    import sessionmgr.monitoring

    for module in (sessionmgr, sessionmgr.monitoring):
        missing = [n for n in module.__all__ if not hasattr(module, n)]
        assert missing == []
