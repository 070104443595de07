"""Session-wide fixtures: the real servers the tests talk to are started once per session.

Sub-folders add their own fixtures in their own conftest.py; this file holds only what several
folders share: the sandbox, and the launch options of Debian's Chromium.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from kontur.sandbox.server import RunningSandbox
    from tests.support.sandboxes import SandboxFactory

# Shared fixtures of tests/support: the sandbox factories (`sandboxes`, `module_sandboxes`,
# `session_sandboxes`) and the session's PostgreSQL server (`postgres`).
pytest_plugins = ["tests.support.sandboxes", "tests.support.ops_store"]

# Small enough to start in about a second, large enough for several cities, projects and buildings.
TEST_SCALE = float(os.environ.get("KONTUR_TEST_SCALE", "0.02"))
TEST_SEED = 20261126

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def sandbox(session_sandboxes: SandboxFactory) -> RunningSandbox:
    """A real sandbox server on 127.0.0.1, shared by the session. Tests that mutate its data in ways
    others would notice (faults, drift) use their own instance instead (`sandboxes`,
    `module_sandboxes`), or reset it when done."""
    return session_sandboxes(scale=TEST_SCALE, seed=TEST_SEED)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium: Playwright cannot download its own browser on these machines, and the closed
    network needs the background services switched off."""
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ],
    }
