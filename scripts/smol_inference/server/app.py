"""The course server's HTTP app: TGI's routes, errors and health, around the engine.

Routes and behaviour follow TGI's router (router/src/server.rs); the contract is
TGI's docs/openapi.json. The model
loads on a background thread (lifecycle/startup.py) so the port opens at once and `/health` says 503
until the model is loaded and has answered a warm-up request, as TGI's health check does. `create_app` is what
`smol-inference serve` and `background.start_server` run. text_generation_inference/serve_and_query.md, "Setup".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from .api import openai_routes, openapi, responses_routes, tgi_routes
from .lifecycle import loading, startup
from .config import DEFAULT_VALIDATION_WORKERS, ENGINE_STOP_S, ServerConfig
from .errors import INTERNAL, ApiError
from .metrics import CONTENT_TYPE, ServerMetrics
from ..json_body import JsonBodyOnly
from .api.middleware import GuardMiddleware

log = logging.getLogger("smol_inference.server")
ROUTER_NAME = "text-generation-router"
PIPELINE_TAG = "text-generation"
HTTP_BAD_REQUEST = 400
GENERATION_PATHS = {"/", "/generate", "/generate_stream", "/v1/chat/completions", "/v1/completions", "/invocations"}


def create_app(config: ServerConfig | None = None, *, preloaded: tuple[Any, Any, int | None] | None = None,
               on_fatal: Callable[[str], None] | None = None) -> Any:
    """The ASGI app (FastAPI behind the payload/API-key guard).

    `preloaded` = (model, tokenizer, context) skips loading; `on_fatal(message)` is called on the loader
    thread if the model cannot be loaded (the launcher uses it to exit instead of staying unhealthy).
    """
    config = config or ServerConfig()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loader = threading.Thread(target=startup.start, args=(app, config, preloaded, on_fatal), name="smol-loader",
                                  daemon=True)
        loader.start()
        yield
        service = app.state.service
        if service is not None:
            service.ready = False
            service.engine.stop(ENGINE_STOP_S)

    app = FastAPI(title="smol-inference course server (TGI-compatible)", version=__version__,
                  openapi_url="/api-doc/openapi.json", docs_url="/docs", redoc_url=None, lifespan=lifespan)
    app.state.service, app.state.config, app.state.load_error = None, config, None
    app.state.metrics = ServerMetrics()
    app.state.model_name = loading.display_name(config.model_id)
    app.state.created = int(time.time())
    app.include_router(tgi_routes.router)
    app.include_router(openai_routes.router)
    app.include_router(responses_routes.router)
    _add_handlers(app)
    _add_info_routes(app)
    app.openapi = lambda: openapi.build(app)  # type: ignore[method-assign]  # FastAPI's documented override
    app.add_middleware(JsonBodyOnly)                         # 415 for a body that is not JSON, as TGI (axum)
    if config.cors_allow_origin:
        app.add_middleware(CORSMiddleware, allow_origins=config.cors_allow_origin, allow_methods=["*"],
                           allow_headers=["*"])
    return GuardMiddleware(app, config.payload_limit, config.api_key)


def _add_handlers(app: FastAPI) -> None:
    def count_invalid(request: Request) -> None:
        """A body rejected before any route ran still counts, on generation routes, as TGI counts it."""
        if request.url.path in GENERATION_PATHS:
            app.state.metrics.request_count.inc()
            app.state.metrics.failure("validation")

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def bad_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        message = f"Failed to deserialize the JSON body into the target type: {where or 'body'}: " \
                  f"{first.get('msg', 'invalid body')}"
        count_invalid(request)
        return JSONResponse({"error": message, "error_type": "validation"}, status_code=422)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        """A bug: answered in TGI's shape without a traceback (api/middleware.py logs it with one)."""
        return JSONResponse({"error": INTERNAL, "error_type": "internal"}, status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == HTTP_BAD_REQUEST:            # FastAPI: a body that is not UTF-8 text
            count_invalid(request)
            return JSONResponse({"error": "Failed to parse the request body as UTF-8 JSON",
                                 "error_type": "validation"}, status_code=422)
        kind = "not_found" if exc.status_code == 404 else "http"
        return JSONResponse({"error": str(exc.detail), "error_type": kind}, status_code=exc.status_code)


def _add_info_routes(app: FastAPI) -> None:
    def healthy() -> bool:
        service = app.state.service
        return service is not None and service.ready and not service.draining and service.engine.alive

    @app.get("/health", tags=["Text Generation Inference"])
    async def health() -> Response:
        """200 once the model is loaded and answers; 503 before, after a fatal error and while draining."""
        if healthy():
            return Response(status_code=200)
        return JSONResponse({"error": "unhealthy", "error_type": "healthcheck"}, status_code=503)

    @app.get("/ping", tags=["Text Generation Inference"])
    async def ping() -> Response:
        """SageMaker-style liveness, same answer as /health."""
        return await health()

    @app.get("/info", tags=["Text Generation Inference"])
    async def info() -> dict[str, Any]:
        """TGI's `Info`: model and router limits."""
        cfg: ServerConfig = app.state.config
        return {
            "model_id": app.state.model_name, "model_sha": None, "model_pipeline_tag": PIPELINE_TAG,
            "max_concurrent_requests": cfg.max_concurrent_requests, "max_best_of": cfg.max_best_of,
            "max_stop_sequences": cfg.max_stop_sequences, "max_input_tokens": cfg.max_input_tokens,
            "max_total_tokens": cfg.max_total_tokens, "validation_workers": DEFAULT_VALIDATION_WORKERS,
            "max_client_batch_size": cfg.max_client_batch_size, "router": ROUTER_NAME,
            "version": __version__, "sha": None, "docker_label": None,
        }

    @app.get("/metrics", tags=["Text Generation Inference"])
    async def metrics() -> Response:
        """Prometheus text with TGI's metric names."""
        return Response(app.state.metrics.render(), media_type=CONTENT_TYPE)
