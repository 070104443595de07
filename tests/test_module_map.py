"""DEVELOPERS.md's module map matches the tree: every module is named in the row of its package, and
every path the map names exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TICKED = re.compile(r"`([^`]+)`")


def _map_rows() -> list[tuple[str, str]]:
    text = (ROOT / "DEVELOPERS.md").read_text()
    section = text.split("\n## Modules\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 2 and not set(cells[0]) <= {"-", " "}:
            rows.append((cells[0], "|".join(cells[1:])))
    return rows


def _named(first: str) -> list[str]:
    return [t for t in TICKED.findall(first) if t.startswith(("kontur/", "pages/", "app.py"))]


def test_every_module_is_in_the_map() -> None:
    rows = _map_rows()
    missing = []
    for path in sorted((ROOT / "kontur").rglob("*.py")):
        rel = path.relative_to(ROOT)
        if path.name in {"__init__.py", "__main__.py"} or "migrations" in rel.parts:
            continue
        package = f"{rel.parent.as_posix()}/"
        found = False
        for first, rest in rows:
            names = _named(first)
            words = set(TICKED.findall(first + rest)) | {w for t in TICKED.findall(first) for w in t.split()}
            if rel.as_posix() in names or any(
                n == package and (path.stem in words or path.name in words) for n in names
            ):
                found = True
                break
            # A row naming several files of one package: `kontur/ui/a.py`, `b.py`, ...
            if any(n.startswith(package) for n in names) and path.name in first:
                found = True
                break
        if not found:
            missing.append(rel.as_posix())
    assert not missing, f"DEVELOPERS.md's module map does not name: {missing}"


def test_every_path_in_the_map_exists() -> None:
    gone = []
    for first, rest in _map_rows():
        for name in _named(first):
            if not (ROOT / name).exists():
                gone.append(name)
        names = _named(first)
        if len(names) == 1 and names[0].endswith("/"):
            for extra in re.findall(r"`([a-z_]+\.py)`", rest):
                if not list((ROOT / names[0]).rglob(extra)):
                    gone.append(f"{names[0]}{extra}")
        if names and names[0].endswith(".py"):
            base = Path(names[0]).parent
            for extra in re.findall(r"`([a-z_]+\.py)`", first):
                if not (ROOT / base / extra).exists():
                    gone.append(f"{base}/{extra}")
    assert not gone, f"DEVELOPERS.md's module map names what is not in the tree: {gone}"
