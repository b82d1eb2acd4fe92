"""smol_inference: the code behind the LLM inference course.

Lesson 1 (inference_pipeline.md) uses the pipeline helpers; lesson 2
(text_generation_inference.md) uses the client, the course server and the load generator.
Imports are lazy so that `import smol_inference` stays fast and torch-free.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .settings import TINY_MODEL

__version__ = "0.1.0"

_LAZY = {
    "resolve_model": "models",
    "build_random_model": "models",
    "load_generator": "pipeline",
    "chat": "pipeline",
    "stream_chat": "pipeline",
    "generate_static_batch": "pipeline",
    "generate_batch": "pipeline",  # deprecated alias of generate_static_batch
    "PRESETS": "pipeline",
    "TGIClient": "client",
    "AsyncTGIClient": "client",
}

__all__ = ["TINY_MODEL", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'smol_inference' has no attribute {name!r}")
