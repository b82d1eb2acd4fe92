"""Course-server replicas and HTTP helpers the lesson-2 checks share.

Every replica a check starts serves one copy of the model (`preloaded`), so a check can hold that
model's forward passes (hold.py) and knows exactly what each replica is doing. The HTTP calls use
httpx directly: a check must not depend on the client code the learner is being tested on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from .config import HTTP_TIMEOUT_S, POLL_S, WAIT_S


def load_model(model_id: str) -> tuple[Any, Any, int | None]:
    """(model, tokenizer, context) as the course server loads them, for `start_server(preloaded=...)`."""
    from ..server import ServerConfig
    from ..server.lifecycle.loading import load

    return load(ServerConfig(model_id=model_id))


def start_replicas(stack: ExitStack, model_id: str, preloaded: Any, *flag_sets: dict) -> list[Any]:
    """One replica per flag set, all on `preloaded`; each stops when `stack` closes."""
    from ..server import start_server

    return [stack.enter_context(start_server(model_id=model_id, preloaded=preloaded, quiet=True, **flags))
            for flags in flag_sets]


def scrape(url: str) -> Any:
    """The replica's /metrics, parsed (client/prom.py's Metrics: .value(), .quantile(), ...)."""
    import httpx

    from ..client.prom import Metrics

    return Metrics.parse(httpx.get(f"{url}/metrics", timeout=HTTP_TIMEOUT_S).text)


def generate(url: str, prompt: str, max_new_tokens: int) -> int:
    """POST /generate once, no retries; the HTTP status."""
    import httpx

    body = {"inputs": prompt, "parameters": {"max_new_tokens": max_new_tokens}}
    return httpx.post(f"{url}/generate", json=body, timeout=HTTP_TIMEOUT_S).status_code


def in_threads(calls: list[Callable[[], Any]]) -> tuple[list[threading.Thread], list[Any]]:
    """Start each call on a daemon thread; results (or the exception raised) land in the list, in order."""
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - reported by the check
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    return threads, results


def join(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(HTTP_TIMEOUT_S)


def wait_for(condition: Callable[[], bool], timeout_s: float = WAIT_S) -> bool:
    """Poll `condition` every POLL_S for at most `timeout_s`; True once it holds."""
    pause = threading.Event()
    for _ in range(max(1, int(timeout_s / POLL_S))):
        if condition():
            return True
        pause.wait(POLL_S)
    return condition()
