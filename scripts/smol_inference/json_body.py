"""Routes that read a JSON body answer 415 to a body of another `Content-Type` (or of none).

TGI's routes take their body through axum's `Json` extractor (TGI's router/Cargo.toml: axum): it
accepts `application/json` with any parameters (`; charset=utf-8`) and the `application/*+json`
types, and answers anything else, a missing header included, with 415 Unsupported Media Type
("Expected request with `Content-Type: application/json`") before the handler runs. The course
server and the lesson-1 web app give the same status and wording in their own error shape
(`{"error", "error_type"}`). Shared by both, so the web app needs nothing from the server package.
text_generation_inference.md, "Errors"; inference_pipeline.md, "A simple web server".
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable

STATUS = 415
ERROR_TYPE = "unsupported_media_type"
MESSAGE = "Expected request with `Content-Type: application/json`"

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def is_json_content_type(value: str | None) -> bool:
    """axum's rule: type `application`, subtype `json` or a `+json` suffix; parameters are ignored."""
    if not value:
        return False
    kind, _, subtype = value.split(";", 1)[0].strip().lower().partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def _json_route(scope: Scope) -> bool:
    """Whether one of the app's routes takes this POST (an unknown path stays a 404): Starlette's own match."""
    from starlette.routing import Match

    return any(route.matches(scope)[0] == Match.FULL for route in getattr(scope.get("app"), "routes", ()))


class JsonBodyOnly:
    """ASGI middleware: 415 for a POST to one of the app's routes whose body is not declared JSON."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and _json_route(scope):
            header = dict(scope.get("headers") or []).get(b"content-type", b"").decode("latin-1")
            if not is_json_content_type(header):
                body = json.dumps({"error": MESSAGE, "error_type": ERROR_TYPE}).encode()
                await send({"type": "http.response.start", "status": STATUS, "headers": [
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
