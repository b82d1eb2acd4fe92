"""Helpers for the course-server tests that are not fixtures: a slow test model, a subprocess server.

`python tests/support/server_helpers.py STEP_S serve [FLAGS]` runs the real `smol-inference serve` (launcher,
signals, uvicorn) with the bundled model wrapped in `SlowNoEosModel`, so a subprocess can hold a
stream open for a known time (tests/server/test_server_shutdown.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()


class SlowNoEosModel:
    """The real model, but each forward sleeps and eos can never win: requests run to max_new_tokens.

    Lets overload, disconnect and shutdown tests hold a request open for a known time without a big model.
    """

    def __init__(self, model: Any, eos_ids: list[int], step_s: float) -> None:
        self._model, self._eos, self._step_s = model, eos_ids, step_s

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def __call__(self, **kwargs: Any) -> Any:
        time.sleep(self._step_s)
        out = self._model(**kwargs)
        out.logits[..., self._eos] = float("-inf")
        return out


@dataclass
class ServeProcess:
    """`smol-inference serve` (optionally on the slow model) in a subprocess on 127.0.0.1."""

    port: int
    flags: list[str] = field(default_factory=list)
    step_s: float | None = None           # None: the plain `smol-inference` command
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float) -> "ServeProcess":
        from smol_inference.server.lifecycle.background import wait_healthy

        prefix = ([sys.executable, str(HERE), str(self.step_s)] if self.step_s is not None
                  else [sys.executable, "-m", "smol_inference.cli"])
        model = [] if "--model-id" in self.flags else ["--model-id", "tiny-instruct"]     # tests name their model
        self.process = subprocess.Popen([*prefix, "serve", "--port", str(self.port), "--torch-threads", "1",
                                         *model, *self.flags], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            wait_healthy(self.url, timeout_s)
        except Exception:
            self.kill()
            raise
        return self

    def terminate(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout_s: float) -> tuple[int, str]:
        """(exit code, everything the server printed); kills it if it outlives `timeout_s`."""
        assert self.process is not None
        try:
            out, _ = self.process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        return self.process.returncode, out

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=10)


def _slow_serve(step_s: float, argv: list[str]) -> int:
    from smol_inference import cli
    from smol_inference.server.lifecycle import loading

    real = loading.load

    def slow_load(config: Any) -> tuple[Any, Any, int | None]:
        model, tokenizer, context = real(config)
        return SlowNoEosModel(model, [tokenizer.eos_token_id], step_s), tokenizer, context

    loading.load = slow_load
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(_slow_serve(float(sys.argv[1]), sys.argv[2:]))
