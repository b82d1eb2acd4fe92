"""Real inference engines the course builds and drives from Python, offline.

- `llamacpp_build`: builds llama.cpp's `llama-server` once from the source vendored in the pinned
  `llama-cpp-python` sdist on PyPI, into a per-version cache (`make llama-server`).
- `llamacpp`: starts it on 127.0.0.1 with the real SmolLM2-135M-Instruct GGUF, waits for `/health`,
  stops it; `smol-inference llama-server` is its command line.

Taught in text_generation_inference.md, "Local engines".
"""

from __future__ import annotations

from .llamacpp import LlamaServer, LlamaServerConfig, smollm2_gguf, start_llama_server
from .llamacpp_build import BuildError, ensure_llama_server, llama_server_binary

__all__ = ["BuildError", "LlamaServer", "LlamaServerConfig", "ensure_llama_server", "llama_server_binary",
           "smollm2_gguf", "start_llama_server"]
