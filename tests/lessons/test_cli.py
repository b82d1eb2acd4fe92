"""`smol-inference generate`: real model, real process, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "COURSE_MODEL": "tiny-instruct"}  # the bundled model: its answers are known
    return subprocess.run([sys.executable, "-m", "smol_inference.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_generate_answers_with_bundled_model():
    result = run_cli("generate", "What is 7 plus 5?")
    assert result.returncode == 0, result.stderr
    assert "12" in result.stdout
    assert "tiny-instruct" in result.stdout  # the one line saying which model and why


def test_generate_raw_completion_runs():
    result = run_cli("generate", "--raw", "--max-new-tokens", "5", "The capital of France")
    assert result.returncode == 0, result.stderr


def test_sampling_with_seed_is_reproducible():
    args = ("generate", "--temperature", "1.5", "--seed", "3", "--max-new-tokens", "12", "Hello!")
    assert run_cli(*args).stdout == run_cli(*args).stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (("generate", "--max-new-tokens", "-3", "hi"), "positive integer"),
        (("generate", "--temperature", "-1", "hi"), ">= 0"),
        (("generate", "--model", "./no/such/model", "hi"), "does not exist"),
        (("generate", "   "), "must not be empty"),
    ],
)
def test_bad_arguments_give_one_line_error(args, message):
    result = run_cli(*args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
