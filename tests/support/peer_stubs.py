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

Replies are canned words (tests/support/peer_stub_telemetry.py, which also holds the real prometheus_client
gauges and histograms); structured outputs and tool calls answer a fixed instance of the schema
(tests/support/peer_stub_replies.py, `example_of`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from peer_stub_replies import (  # noqa: F401 - example_of: re-exported
    DEFAULT_MAX_TOKENS,
    MAX_MODEL_LEN,
    example_of,
    max_tokens,
    sse,
    structured_text,
    tool_call,
)
from peer_stub_telemetry import BUCKETS, NAMES, STEP_S, Telemetry  # noqa: F401 - BUCKETS, STEP_S: re-exported
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import generate_latest

from smol_inference.webapp import BackgroundServer


def create_app(engine: str, model: str) -> FastAPI:
    """A FastAPI app with `engine`'s ("vllm" | "sglang") documented routes, serving `model`."""
    app = FastAPI()
    tel = Telemetry(engine, model)
    card = {"id": model, "object": "model", "created": 0, "owned_by": engine, "root": model, "parent": None,
            "max_model_len": MAX_MODEL_LEN}
    app.state.requests = []  # (method, path) of every request, for tests

    @app.middleware("http")
    async def record(request: Request, call_next):
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
        count = max_tokens(body)
        call, structured = tool_call(body), structured_text(body)
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
            return sse(tool_chunks())
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
            return sse(chunks())
        text = "".join([w async for w in tel.words(count)])
        return {**base, "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "length"}],
                "usage": {"prompt_tokens": 8, "completion_tokens": count, "total_tokens": 8 + count}}

    @app.post("/v1/completions")
    async def completions(request: Request) -> Any:
        body = await request.json()
        count = max_tokens(body)
        base = {"id": "cmpl-stub", "created": 0, "model": model}
        if body.get("stream"):
            async def chunks() -> AsyncIterator[dict[str, Any]]:
                async for word in tel.words(count):
                    yield {**base, "object": "text_completion",
                           "choices": [{"index": 0, "text": word, "logprobs": None, "finish_reason": None}]}
            return sse(chunks())
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
