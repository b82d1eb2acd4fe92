"""llama.cpp, a real inference engine the course builds and drives from Python, offline.

- `build`: builds llama.cpp's `llama-server` once from the source vendored in the pinned
  `llama-cpp-python` sdist on PyPI, into a per-version cache (`make llama-server`).
- `llama_server`: starts it on 127.0.0.1 with the real SmolLM2-135M-Instruct GGUF, waits for `/health`,
  stops it; `smol-inference llama-server` (`cli`) is its command line.

Names are imported lazily, so `python -m smol_inference.llamacpp.build` runs its module once.
Taught in text_generation_inference/local_engines.md, "Local engines: llama.cpp, Ollama and MLX".
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {"LlamaServer": "llama_server", "LlamaServerConfig": "llama_server",
            "start_llama_server": "llama_server", "BuildError": "build",
            "ensure_llama_server": "build", "llama_server_binary": "build"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
