"""The hash-pinned locks the install script installs from agree with the hand-edited requirements."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s;\\]+)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("-r "):
            pins |= _pins(path.parent / line[3:].strip())
            continue
        match = PIN.match(line)
        if match:
            pins[_norm(match[1])] = match[3]
    return pins


def _locked(path: Path) -> dict[str, list[str]]:
    """Each locked package with its hashes (continuation lines after the pin)."""
    locked: dict[str, list[str]] = {}
    current = None
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = f"{_norm(match[1])}=={match[3]}"
            locked[current] = []
        elif current and line.strip().startswith("--hash=sha256:"):
            locked[current].append(line.strip().removesuffix("\\").strip())
        elif not line.startswith(" "):
            current = None
    return locked


@pytest.mark.parametrize(
    "name", ["requirements-tools", "requirements", "requirements-dev", "requirements-bench"]
)
def test_lock_pins_every_requirement_with_hashes(name: str) -> None:
    wanted = _pins(ROOT / f"{name}.txt")
    locked = _locked(ROOT / f"{name}.lock")
    assert wanted, f"{name}.txt pins nothing"
    missing = {f"{pkg}=={ver}" for pkg, ver in wanted.items()} - set(locked)
    assert not missing, f"{name}.lock is stale (run scripts/lock.sh): {sorted(missing)}"
    unhashed = [pin for pin, hashes in locked.items() if not hashes]
    assert not unhashed, f"{name}.lock has packages without hashes: {unhashed}"
    assert "--require-hashes" in (ROOT / "scripts" / "install.sh").read_text()
