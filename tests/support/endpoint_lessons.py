"""Lesson 2 and its notebook run top to bottom with TGI_URL at another engine (llama.cpp, "a vLLM").

Shared by tests/peers/test_llamacpp_lesson.py and tests/peers/test_real_engines.py; each test then asserts what that
engine's run must show (lesson 2, "The same deployment with vLLM and SGLang").
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "tgi_deployment.ipynb"
#: Bound on one notebook cell (the sweeps and replicas of the exercises take tens of seconds).
NOTEBOOK_CELL_TIMEOUT_S = 300


def run_lesson_two(url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Every block of every lesson-2 page (the pages text_generation_inference.md links) against `url`, page by
    page: none may fail, every Python block runs or skips itself; returns the runs' output."""
    lesson_tests = str(ROOT / "tests" / "lessons")  # the lesson runner's subprocess lives in test_lessons.py
    if lesson_tests not in sys.path:
        sys.path.insert(0, lesson_tests)
    from lesson_report import _check_course
    from test_lessons import PYTHON_LANGS, run_in_subprocess

    monkeypatch.setenv("TGI_URL", url)
    pages = _check_course().linked_pages(ROOT / "text_generation_inference.md")
    assert pages, "text_generation_inference.md links no page"
    outputs = []
    for page in pages:
        report, output = run_in_subprocess(page, tmp_path)
        assert not report.error, f"{page.name}: {report.summary()}\n{report.error}\n{output[-4000:]}"
        assert report.count("ran", PYTHON_LANGS) + report.count("skipped", PYTHON_LANGS) == \
            sum(b.lang in PYTHON_LANGS for b in report.blocks)
        outputs.append(output)
    return "\n".join(outputs)


def run_deployment_notebook(url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """notebooks/tgi_deployment.ipynb against `url` (a failing cell raises); returns its printed text."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    monkeypatch.setenv("TGI_URL", url)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    NotebookClient(notebook, timeout=NOTEBOOK_CELL_TIMEOUT_S, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    return "".join(str(out.get("text", "")) for cell in notebook.cells if cell.cell_type == "code"
                   for out in cell.get("outputs", []))
