"""Response classes shared by the sandbox's routers."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse, Response


class JSONBytes(JSONResponse):
    """Pre-rendered JSON passed through as is (a JSONResponse so OpenAPI documents it as JSON)."""

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else super().render(content)


def json_response(status: int, payload: Any) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")
