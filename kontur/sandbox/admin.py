"""Client of the sandbox's admin API (`/admin/...`), for tests and benchmarks."""

from __future__ import annotations

from typing import Any

import httpx


class SandboxAdmin:
    def __init__(self, root_url: str, token: str, *, timeout: float = 300) -> None:
        self.root_url = root_url
        self._http = httpx.Client(
            base_url=root_url + "/admin", timeout=timeout, headers={"Authorization": f"Bearer {token}"}
        )

    def __repr__(self) -> str:  # never show the token
        return f"SandboxAdmin({self.root_url!r})"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()

    def drift(self, changes: int, seed: int | None = None) -> dict[str, int]:
        """Apply `changes` realistic changes; returns feed entries added per list."""
        return self._call("POST", "/drift", json={"changes": changes, "seed": seed})

    def continuous_drift(self, per_second: float, seed: int | None = None) -> dict[str, Any]:
        """Apply `per_second` changes per second from now on (0 stops), each stamped with the wall
        clock; returns {"per_second", "applied"} (changes made so far)."""
        return self._call("POST", "/drift/continuous", json={"per_second": per_second, "seed": seed})

    def drift_status(self) -> dict[str, Any]:
        return self._call("GET", "/drift/continuous")

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """server_error, rate_limit, drop, malformed (shares 0–1), retry_after (s), latency_ms;
        malformed_ids={"premises": {12: "id", 13: "updated_at", 14: "field", 15: "missing"}} (exactly
        these records served broken, replacing the previous map); hostile=True/False."""
        if "malformed_ids" in faults:
            faults["malformed_ids"] = {
                e: {str(i): k for i, k in ids.items()} for e, ids in faults["malformed_ids"].items()
            }
        return self._call("POST", "/faults", json=faults)

    def clear_faults(self) -> dict[str, Any]:
        """Every fault off (malformed_ids included); hostile mode stays as it is."""
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

    def record(self, entity: str, record_id: int) -> dict[str, Any]:
        """One live record as on the wire (HTTPStatusError 404 when absent or withdrawn)."""
        return self._call("GET", f"/records/{entity}/{record_id}")

    def patch_record(self, entity: str, record_id: int, **fields: Any) -> dict[str, Any]:
        """Set wire fields of a record (validated by the wire model; 422 otherwise). The record is
        served again with a new updated_at (and published to Kafka). Returns it as served."""
        return self._call("PATCH", f"/records/{entity}/{record_id}", json=fields)

    def delete_record(self, entity: str, record_id: int) -> dict[str, Any]:
        """Withdraw a record: a tombstone in the feeds (and on Kafka). Returns the tombstone."""
        return self._call("DELETE", f"/records/{entity}/{record_id}")

    def edge_cases(self) -> dict[str, int]:
        """Name -> id of the records --edge-cases added (see kontur/sandbox/edge_cases.py)."""
        return self._call("GET", "/edge-cases")

    def users(self) -> list[dict[str, Any]]:
        return self._call("GET", "/users")

    def agencies(self) -> list[dict[str, Any]]:
        return self._call("GET", "/agencies")

    def create_client(
        self, *, agent_id: int, fixing_type: str, expiration_date: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """A sandbox client with Brusnika's fixing decided by the caller. Optional fields: fullname,
        phone_number (default a fresh +770… number), comment, actived_date, fixing_type_updated_at.
        Timestamps are RFC 3339 strings. Found afterwards by /clients/search."""
        body = {
            "agent_id": agent_id,
            "fixing_type": fixing_type,
            "expiration_date": expiration_date,
            **fields,
        }
        return self._call("POST", "/clients", json=body)

    def update_client(self, client_id: int, **fields: Any) -> dict[str, Any]:
        """Change fixing_type, expiration_date (None clears it), agent_id, fullname, comment,
        actived_date or fixing_type_updated_at of any client (generated or created)."""
        return self._call("PATCH", f"/clients/{client_id}", json=fields)

    def client(self, client_id: int) -> dict[str, Any]:
        return self._call("GET", f"/clients/{client_id}")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SandboxAdmin:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
