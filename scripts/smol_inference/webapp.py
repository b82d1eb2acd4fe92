"""The lesson-1 web app: a FastAPI server around one text-generation pipeline.

Routes and shapes follow Text Generation Inference's API, cut down (TGI's docs/openapi.json):
`POST /generate` (JSON body `{inputs | messages, parameters}`), `POST /generate_stream` (server-sent
events, `data: {json}`), `GET /health`; errors are `{"error", "error_type"}` with TGI's wording
("Input validation error: ...", status 422, also for text that is not valid Unicode). A conversation
ending with an assistant message is continued; stop strings follow OpenAI's rule (pipeline.py). The
model runs off the event loop, one request at a time (a lock), which is exactly the limit that serving
engines remove. Taught in inference_pipeline.md, "A simple web server".

Start it with `smol-inference webapp` or `uvicorn --factory smol_inference.webapp:create_app`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, model_validator

from . import settings
from .json_body import JsonBodyOnly
from .presets import GenerationParams
from .pipeline import GenerationResult, chat, check_prompt, load_generator, make_params, stream_chat
from .errors import PREFIX
from .json_text import invalid_unicode
from .sse import sse


#: Generation parameters the web app reads from `parameters` (GenerationParams' fields and `preset`).
KNOWN = frozenset(f.name for f in dataclasses.fields(GenerationParams)) | {"preset"}


class Message(BaseModel):
    model_config = {"extra": "forbid"}
    role: Literal["system", "user", "assistant"]
    content: str


class GenerateRequest(BaseModel):
    """`inputs` (one user prompt) or `messages` (a conversation), plus generation `parameters`."""

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [
        {"inputs": "What is 7 plus 5?", "parameters": {"max_new_tokens": 20}},
        {"messages": [{"role": "user", "content": "Who are you?"}], "parameters": {"temperature": 0.7, "seed": 0}},
    ]}}
    inputs: str | None = None
    messages: list[Message] | None = Field(default=None, min_length=1)
    # Checked by GenerationParams (the one home of the rules); "preset" picks a starting point.
    parameters: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        if (where := invalid_unicode(data)) is not None:
            raise ValueError(f"`{where}` is not valid Unicode text (a lone surrogate cannot be encoded as UTF-8)")
        return data

    @model_validator(mode="after")
    def _one_prompt(self) -> GenerateRequest:
        if (self.inputs is None) == (self.messages is None):
            raise ValueError("give exactly one of `inputs` (a prompt) or `messages` (a conversation)")
        if self.inputs is not None and not self.inputs.strip():
            raise ValueError("`inputs` cannot be empty")
        return self

    def prompt(self) -> str | list[dict]:
        return self.inputs if self.inputs is not None else [m.model_dump() for m in self.messages or []]


class ValidationFailure(Exception):
    """Invalid input found after parsing (bad parameter value, prompt too long): answered with 422."""


def _error(status: int, message: str, error_type: str) -> JSONResponse:
    return JSONResponse({"error": PREFIX.get(error_type, "") + message, "error_type": error_type}, status_code=status)


def _details(result: GenerationResult) -> dict[str, Any]:
    return {"finish_reason": result.finish_reason, "generated_tokens": result.generated_tokens,
            "prompt_tokens": result.prompt_tokens, "seed": result.seed,
            "time_to_first_token_s": round(result.time_to_first_token_s, 4),
            "tokens_per_s": round(result.tokens_per_s, 2)}


def create_app(generator: Any = None, *, model: str | None = None, device: str = "auto",
               dtype: str = "auto") -> FastAPI:
    """The app around `generator`, or around `load_generator(model)` loaded at start-up."""
    state: dict[str, Any] = {"generator": generator}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["lock"] = asyncio.Lock()  # one request on the model at a time; made on the serving loop
        if state["generator"] is None:
            state["generator"] = await anyio.to_thread.run_sync(
                lambda: load_generator(model, device=device, dtype=dtype))
        yield

    app = FastAPI(title="smol-inference lesson-1 web app", lifespan=lifespan)
    app.add_middleware(JsonBodyOnly)            # 415 for a body not sent as JSON, as TGI answers

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                parts.append("the request body is not valid JSON")
                continue
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            msg = str(err.get("msg", "")).removeprefix("Value error, ")
            parts.append(f"{where}: {msg}" if where else msg)
        return _error(422, "; ".join(parts), "validation")

    @app.exception_handler(ValidationFailure)
    async def _invalid_value(_: Request, exc: ValidationFailure) -> JSONResponse:
        return _error(422, str(exc), "validation")

    def _params(request: GenerateRequest) -> GenerationParams:
        # `null` means "use the default" (the preset's value, else GenerationParams'), as on TGI and the
        # course server; an unknown name is still refused, null or not.
        options = {name: value for name, value in request.parameters.items() if value is not None or name not in KNOWN}
        try:
            return make_params(options.pop("preset", None), **options)
        except (ValueError, TypeError) as exc:
            raise ValidationFailure(f"parameters: {exc}") from None

    @app.get("/health")
    async def health() -> dict[str, Any]:
        g = state["generator"]
        return {"status": "ok", "model": g.model.name_or_path, "device": str(g.model.device)}

    @app.post("/generate")
    async def generate(request: GenerateRequest) -> dict[str, Any]:
        params = _params(request)
        async with state["lock"]:
            try:  # the model call blocks for seconds: run it in a worker thread, not on the event loop
                result = await anyio.to_thread.run_sync(lambda: chat(state["generator"], request.prompt(),
                                                                     preset=params))
            except ValueError as exc:
                raise ValidationFailure(str(exc)) from None
        return {"generated_text": result.text, "details": _details(result)}

    @app.post("/generate_stream")
    async def generate_stream(request: GenerateRequest) -> StreamingResponse:
        params = _params(request)
        async with state["lock"]:  # check the prompt before the 200 goes out, so a bad one still gets 422
            try:
                await anyio.to_thread.run_sync(lambda: check_prompt(state["generator"], request.prompt(), params))
            except ValueError as exc:
                raise ValidationFailure(str(exc)) from None

        async def events() -> AsyncIterator[str]:
            async with state["lock"]:  # held for the whole stream, released even when the client goes away
                stream = None
                try:
                    stream = await anyio.to_thread.run_sync(
                        lambda: stream_chat(state["generator"], request.prompt(), preset=params))
                    chunks, index, pending = iter(stream), 0, None
                    while (chunk := await anyio.to_thread.run_sync(next, chunks, None)) is not None:
                        if pending is not None:  # send one behind, so the last event can carry the full text
                            index += 1
                            yield sse({"index": index, "token": {"text": pending}, "generated_text": None,
                                        "details": None})
                        pending = chunk
                    result = stream.result
                    yield sse({"index": index + 1, "token": {"text": pending or ""},
                                "generated_text": result.text if result else None,
                                "details": _details(result) if result else None})
                except Exception as exc:  # noqa: BLE001 - once streaming started the status is 200: report in-band
                    yield sse({"error": PREFIX["generation"] + str(exc), "error_type": "generation"})
                finally:
                    if stream is not None:
                        stream.close()  # the client may have gone: stop generating at the next token
                        with anyio.CancelScope(shield=True):
                            await anyio.to_thread.run_sync(stream.join, settings.STREAM_TOKEN_TIMEOUT_S)

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


class BackgroundServer:
    """Serve an ASGI app with uvicorn in a background thread (notebooks, tests); port 0 picks a free port.

    `with BackgroundServer(create_app(generator)) as server: httpx.get(server.url + "/health")`;
    leaving the block (or `stop()`) shuts it down cleanly. inference_pipeline.md, "A simple web server".
    """

    def __init__(self, app: Any, *, host: str = settings.DEFAULT_HOST, port: int = 0,
                 timeout_s: float = settings.SERVER_START_TIMEOUT_S) -> None:
        import uvicorn

        self.timeout_s = timeout_s
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="webapp", daemon=True)
        self.url = ""

    def start(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + self.timeout_s
        while not self._server.started:  # bounded: a server that cannot start fails loudly
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the web app did not start (port taken? model failed to load?)")
            time.sleep(0.05)
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(self.timeout_s)
        if self._thread.is_alive():
            raise RuntimeError("the web app did not stop in time")

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None,
                        help="hub id, local path or 'tiny-instruct' (default: resolve_model())")
    parser.add_argument("--host", default=settings.DEFAULT_HOST, help="interface to listen on (default: loopback)")
    parser.add_argument("--port", type=int, default=settings.DEFAULT_WEBAPP_PORT)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps")
    parser.add_argument("--dtype", default="auto", help="auto, float32, float16, bfloat16")


def run(args: argparse.Namespace) -> int:
    import uvicorn

    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be in 1..65535, got {args.port}")
    generator = load_generator(args.model, device=args.device, dtype=args.dtype)
    print(f"[smol_inference] web app on http://{args.host}:{args.port} (POST /generate, /generate_stream)")
    uvicorn.run(create_app(generator), host=args.host, port=args.port, log_level="warning")
    return 0
