"""The lesson runner's shell blocks (tests/support/lesson_shell.py): which commands run, how they are rewritten."""

from __future__ import annotations

from pathlib import Path

import pytest
from lesson_shell import ShellRunner, classify, shell_commands


@pytest.mark.parametrize("command,kind", [
    (".venv/bin/smol-inference generate \"What is 7 plus 5?\"", "run"),
    ("smol-inference --help", "run"),
    ("smol-inference serve --help", "run"),
    ("make serve", "server"),
    ("smol-inference webapp --port 8000", "server"),
    ("curl -s 127.0.0.1:8080/generate -d '{}'", "run"),
    ("curl -s http://localhost:8000/health", "run"),
    ("curl -s https://huggingface.co/api/models", "no"),
    ("make test", "no"),
    ("docker run --gpus all -p 8080:80 image", "no"),
    ("smol-inference chat-ui --endpoint http://127.0.0.1:8080", "no"),
    ("model=HuggingFaceTB/SmolLM2-360M-Instruct", "run"),
    ("python -m sglang.launch_server --model-path m", "no"),
    ("REPLICAS=3 docker compose up -d", "no"),
    ("HF_HUB_OFFLINE=1 smol-inference generate hi", "run"),
])
def test_shell_classification(command: str, kind: str) -> None:
    assert classify(command)[0] == kind


def test_shell_rewrite_uses_this_python_and_the_started_ports(tmp_path: Path) -> None:
    runner = ShellRunner(tmp_path)
    runner.ports[8080] = "127.0.0.1:5555"
    assert runner.rewrite("HF_HUB_OFFLINE=1 .venv/bin/smol-inference generate hi") == \
        f"HF_HUB_OFFLINE=1 {runner.cli} generate hi"
    assert runner.rewrite("curl -s http://127.0.0.1:8080/health") == "curl -s http://127.0.0.1:5555/health"
    assert runner.rewrite("curl -s localhost:8080/x") == "curl -s 127.0.0.1:5555/x"


def test_shell_commands_join_continuations_and_drop_comments() -> None:
    code = "# a comment\ncurl -s 127.0.0.1:8080/generate \\\n     -d '{\"a\": \"#b\"}'   # note\n\nmake serve\n"
    assert shell_commands(code) == ["curl -s 127.0.0.1:8080/generate       -d '{\"a\": \"#b\"}'", "make serve"]
