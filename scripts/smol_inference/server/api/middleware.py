"""ASGI guards in front of every route: body size limit (413) and the API key (401).

TGI: `--payload-limit` caps request bodies (axum DefaultBodyLimit) and `--api-key` makes the
generation routes require `Authorization: Bearer <key>` while health, info and metrics stay open.
The key is compared in constant time (hmac.compare_digest). An exception no route handled is
logged here with its traceback and answered 500 `internal` without one (the connection survives).
Pure ASGI, so streaming and disconnect detection pass through untouched.
text_generation_inference/security.md, "Security".
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import INTERNAL

log = logging.getLogger("smol_inference.server")

#: Routes that stay open when an API key is set (TGI's unauthenticated routes).
OPEN_PATHS = ("/health", "/ping", "/info", "/metrics", "/v1/models", "/chat_tokenize", "/docs",
              "/api-doc/openapi.json", "/docs/oauth2-redirect")


async def send_error(send: Send, status: int, error: str, error_type: str,
                     extra_headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"error": error, "error_type": error_type}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               *extra_headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class GuardMiddleware:
    """413 for bodies over `payload_limit` bytes; 401 for a missing/wrong key on protected routes."""

    def __init__(self, app: ASGIApp, payload_limit: int, api_key: str | None) -> None:
        if payload_limit < 1:
            raise ValueError("payload_limit must be >= 1")
        self.app, self.limit = app, payload_limit
        self.key = f"Bearer {api_key}".encode() if api_key else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if self.key is not None and scope["path"] not in OPEN_PATHS and scope["method"] != "OPTIONS":
            given = headers.get(b"authorization", b"")
            if not hmac.compare_digest(given, self.key):
                await send_error(send, 401, "Unauthorized", "authorization",
                                 [(b"www-authenticate", b"Bearer")])
                return
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await send_error(send, 413, f"Payload too large: limit is {self.limit} bytes", "payload_too_large")
            return
        if length is None and scope["method"] in ("POST", "PUT", "PATCH"):
            buffered = await self._buffered(receive, send)     # chunked body: count it before the app sees it
            if buffered is None:
                return
            receive = buffered
        await self._guarded(scope, receive, send)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; an escaping exception is logged and, if nothing was sent yet, answered 500."""
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:  # a bug: the log gets the traceback, the client never does
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if not started:
                await send_error(send, 500, INTERNAL, "internal")

    async def _buffered(self, receive: Receive, send: Send) -> Receive | None:
        """Read a body of unknown length up to the limit; None (after a 413) when it is longer."""
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.limit:
                await send_error(send, 413, f"Payload too large: limit is {self.limit} bytes", "payload_too_large")
                return None
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        return replay
