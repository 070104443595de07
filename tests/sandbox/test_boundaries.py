"""The sandbox stands for Brusnika: it imports nothing of Kontur but the wire models and the process
helpers, its own modules import one another one way (no cycles, TYPE_CHECKING and function-level
imports included, as import-linter counts them), and no module is over 450 lines but the generator's
tables. Read from the source with `ast`, so a new import anywhere is seen."""

from __future__ import annotations

import ast
from pathlib import Path

import kontur.sandbox

PACKAGE = Path(kontur.sandbox.__file__).parent
ALLOWED = ("kontur.models", "kontur.processes")
LONG_ALLOWED = {"data.py"}  # the generator's tables and vocabulary


def _imports(path: Path) -> list[str]:
    """Every module a file imports, relative ones resolved inside kontur.sandbox."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = "kontur.sandbox" + (f".{node.module}" if node.module else "")
                out += [base] if node.module else [f"kontur.sandbox.{a.name}" for a in node.names]
            else:
                out.append(node.module or "")
    return out


def test_the_sandbox_imports_only_models_and_processes_of_kontur():
    offending = {}
    for path in PACKAGE.glob("*.py"):
        bad = [
            m
            for m in _imports(path)
            if m.split(".")[0] == "kontur"
            and not m.startswith("kontur.sandbox")
            and not m.startswith(ALLOWED)
        ]
        if bad:
            offending[path.name] = bad
    assert offending == {}


def test_the_sandbox_modules_import_one_another_one_way():
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    graph = {
        p.stem: {
            m.split(".")[2]
            for m in _imports(p)
            if m.startswith("kontur.sandbox.") and m.split(".")[2] in modules
        }
        - {p.stem}
        for p in PACKAGE.glob("*.py")
    }
    state: dict[str, int] = {}  # 1 visiting, 2 done
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_no_sandbox_module_is_over_450_lines_but_the_generator():
    long = {
        p.name: n
        for p in PACKAGE.glob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 450 and p.name not in LONG_ALLOWED
    }
    assert long == {}
