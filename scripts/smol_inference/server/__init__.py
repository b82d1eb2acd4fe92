"""The TGI-compatible course server (lesson 2): same HTTP API as Text Generation Inference, small engine.

Read it in this order: engine/ (queue -> scheduler -> cache -> sampler -> engine), then
validation.py, api/tgi_routes.py / api/openai_routes.py, app.py; DATA_FLOW.md follows one request.
Start it with `smol-inference serve` or, in Python, `start_server()` (background thread, returns a handle
with `.url` and `.stop()`).
Contract: TGI's docs/openapi.json (served by TGI at /api-doc/openapi.json).
text_generation_inference/serve_and_query.md, "Setup".
"""

from __future__ import annotations

from typing import Any

from .config import ServerConfig

__all__ = ["ServerConfig", "ServerHandle", "create_app", "start_server"]


def __getattr__(name: str) -> Any:  # lazy: importing the package must not import torch
    if name in ("start_server", "ServerHandle"):
        from .lifecycle import background

        return getattr(background, name)
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module 'smol_inference.server' has no attribute {name!r}")
