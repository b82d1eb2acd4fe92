"""The `llama` fixture of the llama.cpp tests: one real llama-server per test module (support/llamacpp_helpers.py)."""

from __future__ import annotations

from llamacpp_helpers import llama

__all__ = ["llama"]  # pytest finds a conftest's fixtures by name
