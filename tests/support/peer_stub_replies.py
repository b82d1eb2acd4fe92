"""What the engine stubs answer (tests/support/peer_stubs.py): token budgets, schema instances, tool calls, SSE.

Structured outputs and tool calls, which both engines document on the chat route (`response_format`
json_schema, `tools` with `tool_choice` "required" or a named function), answer a fixed instance of the
schema (`example_of`): enough for client code to run, not a grammar engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

DEFAULT_MAX_TOKENS = 16
MAX_MODEL_LEN = 2048


#: Strings tried, in order, against a schema's `pattern`.
_STRING_CANDIDATES = ("Paris", "France", "Ab", "a", "x", "0")


def example_of(schema: dict[str, Any]) -> Any:
    """A fixed instance of a JSON Schema: first enum value, first matching candidate string, 0, true, []."""
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return example_of(schema[key][0])
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {name: example_of(sub) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return []
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return 0
    pattern = schema.get("pattern")
    return next((c for c in _STRING_CANDIDATES if pattern is None or re.fullmatch(pattern.strip("^$"), c)), "x")


def tool_call(body: dict[str, Any]) -> dict[str, Any] | None:
    """The call a `tools` request gets: the named function, else the first one; None for "none"/"auto"."""
    choice, tools = body.get("tool_choice"), body.get("tools") or []
    if not tools or choice in (None, "none", "auto"):
        return None
    wanted = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
    function = next((t["function"] for t in tools if t["function"]["name"] == wanted), tools[0]["function"])
    return {"id": "call_stub0", "type": "function",
            "function": {"name": function["name"], "arguments": json.dumps(example_of(function.get("parameters", {})))}}


def structured_text(body: dict[str, Any]) -> str | None:
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return json.dumps(example_of(fmt["json_schema"].get("schema", {})))
    return "{}" if fmt.get("type") == "json_object" else None


def max_tokens(body: dict[str, Any]) -> int:
    value = body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS
    return max(1, min(int(value), MAX_MODEL_LEN))


def sse(chunks: AsyncIterator[dict[str, Any]]) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        async for chunk in chunks:
            yield f"data: {json.dumps(chunk)}\n\n".encode()
        yield b"data: [DONE]\n\n"

    return StreamingResponse(body(), media_type="text/event-stream")
