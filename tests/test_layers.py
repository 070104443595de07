"""The code's shape, checked rather than described: the import contracts of `.importlinter`, thin pages,
package inits without logic, and modules small enough to read."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]

# Pages lay out widgets. They reach data through kontur.ui (cached, scoped reads) and the forms, never
# a database, the network or the cache/store/sync machinery underneath.
PAGE_FORBIDDEN = (
    "httpx",
    "duckdb",
    "sqlalchemy",
    "psycopg",
    "confluent_kafka",
    "kontur.client",
    "kontur.cache",
    "kontur.store",
    "kontur.load",
    "kontur.sync",
    "kontur.kafka",
    "kontur.runtime",
    "kontur.scheduler",
    "kontur.retry",
)
SQL = re.compile(
    r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE)\b", re.I | re.S
)
MAX_LINES = 450
# A declarative table of names and streets the sandbox draws from, not logic.
LONG_ALLOWED = {ROOT / "kontur" / "sandbox" / "data.py"}


def _imports(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def test_import_contracts_are_kept() -> None:
    run = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout
    assert run.stdout.count(" KEPT") >= 3, run.stdout


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_pages_only_lay_out(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    bad = [
        name for name in _imports(tree) if any(name == f or name.startswith(f + ".") for f in PAGE_FORBIDDEN)
    ]
    assert not bad, f"{path.name} imports {bad}: pages go through kontur.ui and kontur.forms"
    sql = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value)
    ]
    assert not sql, f"{path.name} holds SQL: {sql[:1]}"


def _package_inits() -> list[Path]:
    return sorted((ROOT / "kontur").rglob("__init__.py"))


@pytest.mark.parametrize("path", _package_inits(), ids=lambda p: str(p.parent.relative_to(ROOT)))
def test_package_inits_hold_no_logic(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    allowed = (ast.Import, ast.ImportFrom, ast.Expr, ast.Assign, ast.AnnAssign)
    logic = [type(node).__name__ for node in tree.body if not isinstance(node, allowed)]
    assert not logic, f"{path} defines {logic}: logic belongs in a named module"
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            assert [getattr(t, "id", None) for t in targets] == ["__all__"], f"{path}: only __all__"


def _modules() -> list[Path]:
    found = [*ROOT.glob("kontur/**/*.py"), *ROOT.glob("pages/*.py"), *ROOT.glob("tests/**/*.py")]
    found += [*ROOT.glob("bench/*.py"), ROOT / "app.py"]
    return sorted(p for p in found if ".venv" not in p.parts)


def test_no_module_is_over_450_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in _modules()
        if p not in LONG_ALLOWED and (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split these by what they own: {long}"
