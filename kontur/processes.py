"""Child processes started in their own process group (the sandbox, and in tests Streamlit and the
OIDC provider): stopping one means stopping everything it started."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess


def stop_process_group(proc: subprocess.Popen, *, grace: float = 10.0) -> None:
    """SIGTERM the group, wait `grace` seconds, then SIGKILL it. A group already gone is fine."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace)
    except ProcessLookupError:
        proc.wait(timeout=grace)


def free_port(host: str = "127.0.0.1") -> int:
    """A port free on `host` right now, for a child server to listen on."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
