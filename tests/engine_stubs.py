"""Stand-ins for vLLM's and SGLang's OpenAI servers on 127.0.0.1: exactly their documented routes, no more.

They let tests point `TGI_URL` at "a vLLM" or "an SGLang" without a GPU, to prove that the lesson-2 code
that should run there runs, and that the TGI-only parts skip. Routes and shapes follow the engines'
docs and sources; anything else answers FastAPI's 404 `{"detail": "Not Found"}` as both engines do:

* vLLM (vllm/entrypoints/openai/api_server.py; docs.vllm.ai, "OpenAI-Compatible Server", "Production
  Metrics"): GET /health, /ping, /version, /v1/models (`ModelList` of `ModelCard` with `owned_by: "vllm"`
  and `max_model_len`), /metrics (`vllm:*`); POST /v1/chat/completions, /v1/completions, /tokenize.
* SGLang (docs.sglang.io, "SGLang Native APIs", "OpenAI APIs", "Production Metrics"): GET /health,
  /health_generate, /get_model_info, /get_server_info, /v1/models (`owned_by: "sglang"`), /metrics
  (`sglang:*`, as with `--enable-metrics`); POST /generate (its own body: `text`, `sampling_params`),
  /v1/chat/completions, /v1/completions.

Replies are canned words (" w0 w1 ..."), one every STEP_S, so the load gauges and latency histograms
move with real concurrency. The gauges and histograms are real prometheus_client objects. Structured
outputs and tool calls, which both engines document on the chat route (`response_format` json_schema,
`tools` with `tool_choice` "required" or a named function), answer a fixed instance of the schema
(`example_of`): enough for client code to run, not a grammar engine.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from smol_inference.webapp import BackgroundServer

STEP_S = 0.004
DEFAULT_MAX_TOKENS = 16
MAX_MODEL_LEN = 2048
BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: engine -> (prefix, running gauge, waiting gauge, queue histogram or None)
NAMES = {
    "vllm": ("vllm:", "num_requests_running", "num_requests_waiting", "request_queue_time_seconds"),
    "sglang": ("sglang:", "num_running_reqs", "num_queue_reqs", None),
}


class _Telemetry:
    def __init__(self, engine: str, model: str) -> None:
        prefix, running, waiting, queue = NAMES[engine]
        labels = ["model_name"]
        self.registry = CollectorRegistry()
        self.model = model
        self.running = Gauge(prefix + running, "requests running", labels, registry=self.registry)
        self.waiting = Gauge(prefix + waiting, "requests waiting", labels, registry=self.registry)
        self.ttft = Histogram(prefix + "time_to_first_token_seconds", "TTFT", labels, buckets=BUCKETS,
                              registry=self.registry)
        self.e2e = Histogram(prefix + "e2e_request_latency_seconds", "e2e", labels, buckets=BUCKETS,
                             registry=self.registry)
        self.queue = (Histogram(prefix + queue, "queue", labels, buckets=BUCKETS, registry=self.registry)
                      if queue else None)
        self.success = Counter(prefix + "request_success", "finished requests", labels, registry=self.registry)
        for metric in (self.running, self.waiting):
            metric.labels(model).set(0)

    async def words(self, count: int) -> AsyncIterator[str]:
        """`count` canned tokens, STEP_S apart, counted as one running request while they flow."""
        start = time.monotonic()
        self.running.labels(self.model).inc()
        if self.queue is not None:
            self.queue.labels(self.model).observe(0.0)
        try:
            for i in range(count):
                await asyncio.sleep(STEP_S)
                if i == 0:
                    self.ttft.labels(self.model).observe(time.monotonic() - start)
                yield f" w{i}"
        finally:
            self.running.labels(self.model).dec()
            self.e2e.labels(self.model).observe(time.monotonic() - start)
            self.success.labels(self.model).inc()


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


def _tool_call(body: dict[str, Any]) -> dict[str, Any] | None:
    """The call a `tools` request gets: the named function, else the first one; None for "none"/"auto"."""
    choice, tools = body.get("tool_choice"), body.get("tools") or []
    if not tools or choice in (None, "none", "auto"):
        return None
    wanted = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
    function = next((t["function"] for t in tools if t["function"]["name"] == wanted), tools[0]["function"])
    return {"id": "call_stub0", "type": "function",
            "function": {"name": function["name"], "arguments": json.dumps(example_of(function.get("parameters", {})))}}


def _structured_text(body: dict[str, Any]) -> str | None:
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return json.dumps(example_of(fmt["json_schema"].get("schema", {})))
    return "{}" if fmt.get("type") == "json_object" else None


def _max_tokens(body: dict[str, Any]) -> int:
    value = body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS
    return max(1, min(int(value), MAX_MODEL_LEN))


def _sse(chunks: AsyncIterator[dict[str, Any]]) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        async for chunk in chunks:
            yield f"data: {json.dumps(chunk)}\n\n".encode()
        yield b"data: [DONE]\n\n"

    return StreamingResponse(body(), media_type="text/event-stream")


def create_app(engine: str, model: str) -> FastAPI:
    """A FastAPI app with `engine`'s ("vllm" | "sglang") documented routes, serving `model`."""
    app = FastAPI()
    tel = _Telemetry(engine, model)
    card = {"id": model, "object": "model", "created": 0, "owned_by": engine, "root": model, "parent": None,
            "max_model_len": MAX_MODEL_LEN}
    app.state.requests = []  # (method, path) of every request, for tests

    @app.middleware("http")
    async def record(request: Request, call_next):  # noqa: ANN202
        app.state.requests.append((request.method, request.url.path))
        return await call_next(request)

    @app.get("/health")
    async def health() -> PlainTextResponse:
        return PlainTextResponse("")

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [card]}

    @app.get("/metrics")
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(tel.registry).decode(), media_type="text/plain; version=0.0.4")

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        body = await request.json()
        base = {"id": "chatcmpl-stub", "created": 0, "model": model}
        count = _max_tokens(body)
        call, structured = _tool_call(body), _structured_text(body)
        if call is not None and body.get("stream"):
            arguments = call["function"]["arguments"]
            head = {**call, "index": 0, "function": {"name": call["function"]["name"], "arguments": ""}}
            pieces = [arguments[:len(arguments) // 2], arguments[len(arguments) // 2:]]

            async def tool_chunks() -> AsyncIterator[dict[str, Any]]:
                deltas = [{"role": "assistant", "tool_calls": [head]}] + [
                    {"tool_calls": [{"index": 0, "function": {"arguments": p}}]} for p in pieces]
                for delta in deltas:
                    yield {**base, "object": "chat.completion.chunk",
                           "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                yield {**base, "object": "chat.completion.chunk",
                       "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}
            return _sse(tool_chunks())
        if call is not None or structured is not None:
            message = ({"role": "assistant", "content": None, "tool_calls": [call]} if call is not None
                       else {"role": "assistant", "content": structured})
            return {**base, "object": "chat.completion",
                    "choices": [{"index": 0, "message": message,
                                 "finish_reason": "tool_calls" if call is not None else "stop"}],
                    "usage": {"prompt_tokens": 8, "completion_tokens": 8, "total_tokens": 16}}
        if body.get("stream"):
            async def chunks() -> AsyncIterator[dict[str, Any]]:
                yield {**base, "object": "chat.completion.chunk",
                       "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
                async for word in tel.words(count):
                    yield {**base, "object": "chat.completion.chunk",
                           "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
                yield {**base, "object": "chat.completion.chunk",
                       "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}
            return _sse(chunks())
        text = "".join([w async for w in tel.words(count)])
        return {**base, "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "length"}],
                "usage": {"prompt_tokens": 8, "completion_tokens": count, "total_tokens": 8 + count}}

    @app.post("/v1/completions")
    async def completions(request: Request) -> Any:
        body = await request.json()
        count = _max_tokens(body)
        base = {"id": "cmpl-stub", "created": 0, "model": model}
        if body.get("stream"):
            async def chunks() -> AsyncIterator[dict[str, Any]]:
                async for word in tel.words(count):
                    yield {**base, "object": "text_completion",
                           "choices": [{"index": 0, "text": word, "logprobs": None, "finish_reason": None}]}
            return _sse(chunks())
        text = "".join([w async for w in tel.words(count)])
        return {**base, "object": "text_completion",
                "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": "length"}],
                "usage": {"prompt_tokens": 8, "completion_tokens": count, "total_tokens": 8 + count}}

    if engine == "vllm":
        @app.get("/ping")
        async def ping() -> PlainTextResponse:
            return PlainTextResponse("")

        @app.get("/version")
        async def version() -> dict[str, str]:
            return {"version": "0.0.0-stub"}

        @app.post("/tokenize")
        async def tokenize(request: Request) -> dict[str, Any]:
            body = await request.json()
            tokens = list(range(len(str(body.get("prompt", "")).split())))
            return {"count": len(tokens), "max_model_len": MAX_MODEL_LEN, "tokens": tokens}
    else:
        @app.get("/health_generate")
        async def health_generate() -> PlainTextResponse:
            return PlainTextResponse("")

        @app.get("/get_model_info")
        async def model_info() -> dict[str, Any]:
            return {"model_path": model, "tokenizer_path": model, "is_generation": True}

        @app.get("/get_server_info")
        async def server_info() -> dict[str, Any]:
            return {"model_path": model, "context_length": MAX_MODEL_LEN, "enable_metrics": True}

        @app.post("/generate")
        async def generate(request: Request) -> Any:
            body = await request.json()
            if "text" not in body and "input_ids" not in body:  # TGI's {"inputs": ...} is not SGLang's body
                return JSONResponse({"error": {"message": "Either text or input_ids should be provided."}},
                                    status_code=400)
            count = int((body.get("sampling_params") or {}).get("max_new_tokens") or DEFAULT_MAX_TOKENS)
            text = "".join([w async for w in tel.words(count)])
            return {"text": text, "meta_info": {"prompt_tokens": 8, "completion_tokens": count,
                                                "finish_reason": {"type": "length", "length": count}}}
    return app


class EngineStub:
    """`with EngineStub("vllm", model) as stub: TGIClient(stub.url)`; `stub.requests` lists what was asked."""

    def __init__(self, engine: str, model: str) -> None:
        if engine not in NAMES:
            raise ValueError(f"engine must be one of {sorted(NAMES)}, got {engine!r}")
        self.app = create_app(engine, model)
        self._server = BackgroundServer(self.app)
        self.url = ""

    @property
    def requests(self) -> list[tuple[str, str]]:
        return list(self.app.state.requests)

    def __enter__(self) -> EngineStub:
        self._server.start()
        self.url = self._server.url
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
