"""Lesson 2 and its notebook, top to bottom, with TGI_URL at llama.cpp's server (the real SmolLM2).

The OpenAI-API blocks (chat, streaming, usage, errors) run against a real engine; the TGI-only blocks
skip themselves through `TGIClient.speaks_tgi()` (lesson 2, "The same deployment with vLLM and
SGLang").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from endpoint_lessons import run_deployment_notebook, run_lesson_two
from llamacpp_helpers import llama  # noqa: F401 - the module's server fixture


def test_lesson_two_runs_against_llama_cpp(llama, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
                                           tmp_path: Path) -> None:
    output = run_lesson_two(llama.url, monkeypatch, tmp_path)
    assert "smollm2-135m-instruct" in output  # the blocks talked to llama.cpp, not to a course server


def test_lesson_two_notebook_runs_against_llama_cpp(llama, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    assert "smollm2-135m-instruct" in run_deployment_notebook(llama.url, monkeypatch)
