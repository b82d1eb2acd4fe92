"""Lesson 2 and its notebook, top to bottom, with TGI_URL at llama.cpp's server (the real SmolLM2).

The OpenAI-API blocks (chat, streaming, usage, errors) run against a real engine; the TGI-only blocks
skip themselves through `TGIClient.speaks_tgi()` (lesson 2, "The same deployment with vLLM and
SGLang").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from llamacpp_helpers import llama  # noqa: F401 - the module's server fixture

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "tgi_deployment.ipynb"
NOTEBOOK_CELL_TIMEOUT_S = 300


def test_lesson_two_runs_against_llama_cpp(llama, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
                                           tmp_path: Path) -> None:
    from test_lessons import PYTHON_LANGS, run_in_subprocess

    monkeypatch.setenv("TGI_URL", llama.url)
    report, output = run_in_subprocess(ROOT / "text_generation_inference.md", tmp_path)
    assert not report.error, f"{report.summary()}\n{report.error}\n{output[-4000:]}"
    assert report.count("ran", PYTHON_LANGS) + report.count("skipped", PYTHON_LANGS) == \
        sum(b.lang in PYTHON_LANGS for b in report.blocks)
    assert "smollm2-135m-instruct" in output  # the blocks talked to llama.cpp, not to a course server


def test_lesson_two_notebook_runs_against_llama_cpp(llama, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    monkeypatch.setenv("TGI_URL", llama.url)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    NotebookClient(notebook, timeout=NOTEBOOK_CELL_TIMEOUT_S, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = "".join(str(out.get("text", "")) for cell in notebook.cells if cell.cell_type == "code"
                      for out in cell.get("outputs", []))
    assert "smollm2-135m-instruct" in outputs
