"""The OpenAPI document the server publishes at /api-doc/openapi.json: its routes, bodies and every answer.

TGI publishes its spec at the same path (docs/openapi.json in its repository); the response shapes
(api/response_schemas.py) follow that file's `GenerateResponse`, `Details`, `Token`, `Info`, `ChatCompletion`,
`CompletionFinal` and `ErrorResponse`. FastAPI documents request bodies from api/tgi_schemas.py but not
what the routes return (they build JSONResponse/StreamingResponse themselves) and it documents a
422 shape the server never sends; `build` fixes both so that a schema-driven fuzzer (schemathesis,
tests/server/test_server_fuzz.py) can hold every answer to the document.
text_generation_inference/differences_from_tgi.md, "The API".
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .response_schemas import (ChatCompletion, ChatCompletionChunk, ChatTokenizeResponse, CompletionChunk,
                               CompletionFinal, ErrorResponse, GenerateResponse, Info, ModelList, SimpleToken,
                               StreamResponse)
from ..errors import STATUS
from .responses_schemas import Response, ResponseStreamEvent


MODELS: list[type[BaseModel]] = [ErrorResponse, GenerateResponse, ChatTokenizeResponse, SimpleToken,
                                 ChatCompletion, CompletionFinal, Info, ModelList, StreamResponse,
                                 ChatCompletionChunk, CompletionChunk, Response, ResponseStreamEvent]
DONE = "[DONE]"
TEXT = {"text/plain": {"schema": {"type": "string"}}}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _sse(*events: str, done: bool = False) -> dict[str, Any]:
    """An event stream whose `data:` payloads are JSON of one of `events` (or ErrorResponse once the
    stream started), then `[DONE]` on the OpenAI routes. `schema` describes one event (OpenAPI 3.1)."""
    payload = {"type": "string", "contentMediaType": "application/json",
               "contentSchema": {"anyOf": [_ref(name) for name in (*events, "ErrorResponse")]}}
    data = {"anyOf": [{"const": DONE}, payload]} if done else payload
    return {"text/event-stream": {"schema": {"type": "object", "required": ["data"], "properties": {"data": data}}}}


def _errors(*types: str) -> dict[str, dict[str, Any]]:
    """One documented response per status among TGI error types (all share ErrorResponse)."""
    statuses = sorted({STATUS[t] for t in types})
    return {str(code): {"description": ", ".join(t for t in types if STATUS[t] == code),
                        "content": _json(_ref("ErrorResponse"))} for code in statuses}


GENERATION_ERRORS = ("validation", "generation", "overloaded", "unhealthy", "shutting_down", "authorization",
                     "payload_too_large", "unsupported_media_type")
BODY_ERRORS = ("validation", "unhealthy", "payload_too_large", "unsupported_media_type")
ONE_OF_BODIES = {"anyOf": [_ref("GenerateRequest"), _ref("ChatRequest"), _ref("CompletionRequest")]}
#: (method, path) -> 200 content; every other documented status comes from the error lists.
OK_CONTENT: dict[tuple[str, str], dict[str, Any] | None] = {
    ("post", "/generate"): _json(_ref("GenerateResponse")),
    ("post", "/generate_stream"): _sse("StreamResponse"),
    ("post", "/"): {**_json({"type": "array", "items": _ref("GenerateResponse")}), **_sse("StreamResponse")},
    ("post", "/tokenize"): _json({"type": "array", "items": _ref("SimpleToken")}),
    ("post", "/v1/chat/completions"): {**_json(_ref("ChatCompletion")), **_sse("ChatCompletionChunk", done=True)},
    ("post", "/v1/completions"): {**_json(_ref("CompletionFinal")), **_sse("CompletionChunk", done=True)},
    ("post", "/v1/responses"): {**_json(_ref("Response")), **_sse("ResponseStreamEvent")},
    ("post", "/invocations"): {**_json({"anyOf": [_ref("GenerateResponse"), _ref("ChatCompletion"),
                                                  _ref("CompletionFinal")]}),
                               **_sse("StreamResponse", "ChatCompletionChunk", "CompletionChunk", done=True)},
    ("post", "/chat_tokenize"): _json(_ref("ChatTokenizeResponse")),
    ("get", "/v1/models"): _json(_ref("ModelList")),
    ("get", "/health"): None,
    ("get", "/ping"): None,
    ("get", "/info"): _json(_ref("Info")),
    ("get", "/metrics"): TEXT,
}
ERRORS = {"/generate": GENERATION_ERRORS, "/generate_stream": GENERATION_ERRORS, "/": GENERATION_ERRORS,
          "/v1/chat/completions": GENERATION_ERRORS + ("template_error", "tool_error"),
          "/v1/completions": GENERATION_ERRORS, "/v1/responses": GENERATION_ERRORS + ("template_error", "tool_error"),
          "/invocations": GENERATION_ERRORS + ("template_error", "tool_error"),
          "/tokenize": BODY_ERRORS + ("authorization",),
          "/chat_tokenize": BODY_ERRORS + ("template_error", "tool_error"),
          "/health": ("healthcheck",), "/ping": ("healthcheck",)}


def build(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document with the true responses of every route (cached on the app)."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, routes=app.routes, description=__doc__.split("\n")[0])
    _, defs = models_json_schema([(m, "serialization") for m in MODELS],
                                 ref_template="#/components/schemas/{model}")
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(defs.get("$defs", {}))
    for name in ("HTTPValidationError", "ValidationError"):      # FastAPI's 422 shape: never sent here
        schemas.pop(name, None)
    for (method, path), content in OK_CONTENT.items():
        operation = doc["paths"][path][method]
        ok: dict[str, Any] = {"description": "Successful response"}
        if content is not None:
            ok["content"] = content
        operation["responses"] = {"200": ok, **_errors(*ERRORS.get(path, ()))}
        if path == "/invocations":
            operation["requestBody"] = {"required": True, "content": _json(ONE_OF_BODIES)}
    app.openapi_schema = doc
    return doc
