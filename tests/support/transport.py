"""`CountingTransport`: real HTTP (httpx's own transport underneath) that records every request that
actually went out. Put under a client's retry layer it counts attempts, retries included.

- `requests`: (method, path, headers) per request, in order;
- `sent`: the same as "METHOD /path" strings (what the form tests compare against);
- `outcomes`: per request, the status answered or the transport error's class name when none came;
- `statuses`: a Counter of the statuses answered; `failures()`: 429/5xx/no answer; `count()`.
"""

from __future__ import annotations

from collections import Counter

import httpx


class CountingTransport(httpx.BaseTransport):
    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.outcomes: list[int | str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path, dict(request.headers)))
        try:
            response = self._inner.handle_request(request)
        except httpx.TransportError as exc:
            self.outcomes.append(type(exc).__name__)
            raise
        self.outcomes.append(response.status_code)
        return response

    @property
    def sent(self) -> list[str]:
        return [f"{method} {path}" for method, path, _ in self.requests]

    @property
    def statuses(self) -> Counter[int]:
        return Counter(o for o in self.outcomes if isinstance(o, int))

    def failures(self) -> int:
        """Requests answered with 429/5xx or not answered at all."""
        return sum(1 for o in self.outcomes if isinstance(o, str) or o == 429 or o >= 500)

    def count(self, method: str | None = None, path_suffix: str = "") -> int:
        return sum(
            1 for m, p, _ in self.requests if (method is None or m == method) and p.endswith(path_suffix)
        )

    def close(self) -> None:
        self._inner.close()
