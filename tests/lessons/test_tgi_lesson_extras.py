"""Lesson 2 runs unchanged against an endpoint named by TGI_URL, and leaves that endpoint running.

tests/lessons/test_lessons.py runs lesson 2's first page the way CI does (TGI_URL unset: the lesson
starts and stops its own course server). This test runs it again the way a learner with a real TGI
deployment would: TGI_URL names a server that is already up (the course server the test session
shares, tests/support/served.py, or the real one when TGI_URL is set for `make test-docker`), so the first
block must use it and the last block must not stop it. text_generation_inference/serve_and_query.md, "Setup".
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from served import endpoint
from test_lessons import run_in_subprocess

ROOT = Path(__file__).resolve().parents[2]
LESSON = ROOT / "text_generation_inference" / "serve_and_query.md"


def test_lesson_2_runs_against_tgi_url_and_leaves_it_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = endpoint()
    monkeypatch.setenv("TGI_URL", url)
    report, output = run_in_subprocess(LESSON, tmp_path)
    assert not report.error, f"{report.summary()}\n\n{report.error}\n\n--- output (tail) ---\n{output[-4000:]}"
    assert f"{url} ready after" in output, "the first block must use $TGI_URL"
    assert "course server stopped" not in output, "the last block must not stop a server it did not start"
    assert httpx.get(f"{url}/health", timeout=10).status_code == 200
