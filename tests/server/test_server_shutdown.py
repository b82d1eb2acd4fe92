"""SIGTERM drains `smol-inference serve`: new requests get 503 `shutting_down`, /health 503, the stream
already running finishes, then the process exits 0 (a real subprocess on 127.0.0.1, slow test model);
past --shutdown-grace-seconds the rest are failed. The API key never reaches the server's output;
with no --hostname it listens on 127.0.0.1 only."""

from __future__ import annotations

import json
import threading
import time

import httpx
import psutil
import pytest
from conftest import POLL_S, SLOW_STEP_S, WAIT_S, sse_events
from server_helpers import ServeProcess, SlowNoEosModel

SECRET = "s3cr3t-shutdown-key"
KEY = {"Authorization": f"Bearer {SECRET}"}


def start(grace_s: float) -> ServeProcess:
    from smol_inference.ports import free_port

    flags = ["--api-key", SECRET, "--shutdown-grace-seconds", str(grace_s)]
    return ServeProcess(free_port(), flags, step_s=SLOW_STEP_S).start(WAIT_S * 3)


def stream_in_thread(url: str, max_new: int) -> tuple[threading.Thread, list[str], threading.Event]:
    """Read one /generate_stream on a thread; `first` is set once a token arrived."""
    events: list[str] = []
    first = threading.Event()

    def read() -> None:
        with httpx.stream("POST", url + "/generate_stream", headers=KEY, timeout=WAIT_S,
                          json={"inputs": "Hello", "parameters": {"max_new_tokens": max_new}}) as response:
            for line in response.iter_lines():
                events.extend(sse_events([line]))
                first.set()

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    assert first.wait(WAIT_S), "the stream never started"
    return thread, events, first


def wait_for(condition, timeout_s: float = WAIT_S) -> None:
    for _ in range(int(timeout_s / POLL_S)):
        if condition():
            return
        time.sleep(POLL_S)
    pytest.fail(f"not true after {timeout_s}s")


def test_sigterm_drains_then_exits_0():
    server = start(grace_s=WAIT_S)
    try:
        assert httpx.post(server.url + "/generate", headers={"Authorization": "Bearer wrong"},
                          json={"inputs": "x"}, timeout=WAIT_S).status_code == 401
        listening = {c.laddr.ip for c in psutil.Process(server.process.pid).net_connections(kind="inet")
                     if c.status == psutil.CONN_LISTEN}
        assert listening == {"127.0.0.1"}                                   # no --hostname: loopback only
        thread, events, _ = stream_in_thread(server.url, max_new=80)        # about 2.4 s of generation
        server.terminate()
        wait_for(lambda: httpx.get(server.url + "/health", timeout=WAIT_S).status_code == 503)
        refused = httpx.post(server.url + "/generate", headers=KEY, timeout=WAIT_S,
                             json={"inputs": "Hello", "parameters": {"max_new_tokens": 1}})
        assert refused.status_code == 503
        assert refused.json() == {"error": "Server is shutting down", "error_type": "shutting_down"}
        assert httpx.get(server.url + "/health", timeout=WAIT_S).json()["error_type"] == "healthcheck"
        thread.join(WAIT_S)
        final = json.loads(events[-1])
        assert "error" not in final and final["generated_text"] is not None and final["index"] == 80
        code, output = server.wait(WAIT_S)
    finally:
        server.kill()
    assert code == 0, output
    assert "draining 1 request(s)" in output and "drained: every admitted request was answered" in output
    assert SECRET not in output and "Traceback" not in output


def test_grace_period_over_fails_the_rest(tiny_model):
    """The same drain in-process (ServerHandle.drain): past the grace the running stream gets an error
    event and the server stops, long before the stream would have ended."""
    from conftest import start_test_server

    model, tokenizer, context = tiny_model
    slow = SlowNoEosModel(model, [tokenizer.eos_token_id], SLOW_STEP_S)
    handle = start_test_server((slow, tokenizer, context), api_key=SECRET, shutdown_grace_seconds=0.5)
    try:
        thread, events, _ = stream_in_thread(handle.url, max_new=400)       # about 12 s: far past the grace
        started = time.monotonic()
        handle.drain(WAIT_S)
        thread.join(WAIT_S)
        assert json.loads(events[-1]) == {"error": "Request failed during generation: Server is shutting down",
                                          "error_type": "generation"}
        assert time.monotonic() - started < WAIT_S / 2 and not handle._thread.is_alive()
    finally:
        handle.stop()
