"""Lesson 2 and its notebook, top to bottom, with TGI_URL at llama.cpp's server (the real SmolLM2).

The OpenAI-API blocks (chat, streaming, usage, errors) run against a real engine; the TGI-only blocks
skip themselves through `TGIClient.speaks_tgi()` (lesson 2, "The same deployment with vLLM and
SGLang").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from endpoint_lessons import run_deployment_notebook, run_lesson_two


def test_lesson_two_runs_against_llama_cpp(llama, monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    output = run_lesson_two(llama.url, monkeypatch, tmp_path)
    assert "smollm2-135m-instruct" in output  # the blocks talked to llama.cpp, not to a course server


def test_lesson_two_notebook_runs_against_llama_cpp(llama, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "smollm2-135m-instruct" in run_deployment_notebook(llama.url, monkeypatch)
