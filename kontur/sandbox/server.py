"""Start the sandbox as a subprocess (`python -m kontur.sandbox`) and hand back where it listens.

Used by the test fixtures, the benchmarks and the dashboard's embedded-sandbox mode. The child runs
in its own process group so `stop()` takes down everything it started, and it is told the token
through the environment, never on the command line (where `ps` would show it).
"""

from __future__ import annotations

import os
import secrets
import selectors
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kontur.processes import stop_process_group

from .admin import SandboxAdmin

_REPO = Path(__file__).resolve().parents[2]


class SandboxStartError(RuntimeError):
    """The sandbox process exited or did not report READY in time."""


@dataclass
class RunningSandbox:
    root_url: str  # http://127.0.0.1:PORT
    api_url: str  # root_url + "/api/v1"
    token: str = field(repr=False)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def admin(self) -> SandboxAdmin:
        return SandboxAdmin(self.root_url, self.token)

    def stop(self) -> None:
        """Terminate the process group and wait for it (SIGKILL if it does not leave in 10 s)."""
        proc = self.process
        if proc is None:
            return
        try:
            stop_process_group(proc)
        finally:
            if proc.stdout is not None:
                proc.stdout.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def start_sandbox(
    *,
    scale: float = 0.02,
    seed: int = 7,
    token: str | None = None,
    port: int = 0,
    extra_args: Sequence[str] = (),
    timeout: float = 120,
) -> RunningSandbox:
    """Run a sandbox on 127.0.0.1 and wait until it answers. `port=0` picks a free port."""
    token = token or secrets.token_urlsafe(24)
    env = {**os.environ, "SANDBOX_TOKEN": token, "PYTHONUNBUFFERED": "1"}
    cmd = [
        sys.executable,
        "-m",
        "kontur.sandbox",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--seed",
        str(seed),
        "--scale",
        repr(float(scale)),
        *extra_args,
    ]
    proc = subprocess.Popen(
        cmd, cwd=_REPO, env=env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True
    )
    running = RunningSandbox("", "", token, proc)
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    buffer = b""
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SandboxStartError(f"sandbox did not start within {timeout:.0f} s")
            if selector.select(timeout=min(left, 0.5)):
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    raise SandboxStartError(f"sandbox exited with code {proc.wait()}")
                buffer += chunk
                for line in buffer.splitlines():
                    if line.startswith(b"READY "):
                        bound = int(line.split()[1])
                        running.root_url = f"http://127.0.0.1:{bound}"
                        running.api_url = running.root_url + "/api/v1"
                        return running
            elif proc.poll() is not None:
                raise SandboxStartError(f"sandbox exited with code {proc.returncode}")
    except BaseException:
        running.stop()
        raise
    finally:
        selector.close()
