"""Server-sent events as TGI and OpenAI stream them: one `data: <json>` event per chunk, a blank line
after each, `data: [DONE]` at the end of an OpenAI stream, and `:` comments as keep-alives.

The framing of the WHATWG HTML standard, "Server-sent events" (text/event-stream), as TGI's router
writes it (router/src/server.rs, axum's `Sse`). Shared by the lesson-1 web app (webapp.py) and the
course server (server/api/streaming.py). text_generation_inference.md, "Streaming".
"""

from __future__ import annotations

import json
from typing import Any

#: Response headers of a stream: no caching, and no buffering by a reverse proxy (nginx's header).
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
#: The data of OpenAI's last event.
DONE = "[DONE]"
#: A comment line: keeps the connection alive, and clients skip it.
KEEP_ALIVE = ":\n\n"


def sse(data: dict[str, Any] | str) -> str:
    """One event: a JSON object, or a string sent as is (DONE)."""
    return f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n"
