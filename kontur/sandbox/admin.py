"""Client of the sandbox's admin API (`/admin/...`), for tests and benchmarks."""

from __future__ import annotations

from typing import Any

import httpx


class SandboxAdmin:
    def __init__(self, root_url: str, token: str, *, timeout: float = 300) -> None:
        self.root_url = root_url
        self._http = httpx.Client(base_url=root_url + "/admin", timeout=timeout,
                                  headers={"Authorization": f"Bearer {token}"})

    def __repr__(self) -> str:  # never show the token
        return f"SandboxAdmin({self.root_url!r})"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()

    def drift(self, changes: int, seed: int | None = None) -> dict[str, int]:
        """Apply `changes` realistic changes; returns feed entries added per list."""
        return self._call("POST", "/drift", json={"changes": changes, "seed": seed})

    def set_faults(self, **faults: float) -> dict[str, Any]:
        """server_error, rate_limit (shares 0–1), retry_after (s), latency_ms, drop, malformed."""
        return self._call("POST", "/faults", json=faults)

    def clear_faults(self) -> dict[str, Any]:
        return self._call("DELETE", "/faults")

    def faults(self) -> dict[str, Any]:
        return self._call("GET", "/faults")

    def reset(self) -> dict[str, Any]:
        return self._call("POST", "/reset")

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/stats")

    def records(self, entity: str) -> list[dict[str, Any]]:
        """Every live record of a list exactly as on the wire, never malformed by faults."""
        return self._call("GET", f"/records/{entity}")

    def users(self) -> list[dict[str, Any]]:
        return self._call("GET", "/users")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SandboxAdmin:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
