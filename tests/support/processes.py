"""Waiting for a server process the tests started (the OIDC provider, a Streamlit app) to answer."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from tests.support.waiting import eventually


def _tail(log: Path | None) -> str:
    return log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""


def wait_http(url: str, proc: subprocess.Popen[bytes], *, timeout: float, log: Path | None = None) -> None:
    """Until `url` answers 200. The process exiting first is a failure at once (with its log's tail);
    so is the deadline passing."""

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}:\n{_tail(log)}")
        try:
            return httpx.get(url, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    eventually(ready, timeout=timeout, interval=0.2, what=f"{url} answering 200", describe=lambda: _tail(log))
