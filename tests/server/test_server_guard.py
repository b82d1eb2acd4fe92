"""Protections: 429 at max_concurrent_requests, 401 without the API key, 413 over the payload limit,
a client that goes away frees its slot at the next step, loopback by default; metrics follow along."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time

import httpx
import pytest

from conftest import POLL_S, WAIT_S, metric, sse_events

KEY = {"Authorization": "Bearer sesame"}
LONG = 300            # tokens: about 9 s on the slow model, far longer than any check below


@pytest.fixture()
def slow(slow_server):
    with httpx.Client(base_url=slow_server.url, timeout=WAIT_S, headers=KEY) as client:
        wait_idle(client)
        yield client
        wait_idle(client)


def gauges(client: httpx.Client) -> tuple[float, float]:
    text = client.get("/metrics").text
    return metric(text, "tgi_queue_size"), metric(text, "tgi_batch_current_size")


def wait_gauges(client: httpx.Client, wanted: tuple[float, float], timeout_s: float = 5.0) -> float:
    """Seconds until (queue size, batch size) equals `wanted`; fails after `timeout_s`."""
    start = time.monotonic()
    for _ in range(int(timeout_s / POLL_S)):
        if gauges(client) == wanted:
            return time.monotonic() - start
        time.sleep(POLL_S)
    pytest.fail(f"(queue, batch) is {gauges(client)}, not {wanted}, after {timeout_s}s")


def wait_idle(client: httpx.Client, timeout_s: float = 5.0) -> float:
    return wait_gauges(client, (0.0, 0.0), timeout_s)


def open_stream(stack: contextlib.ExitStack, client: httpx.Client, max_new: int = LONG):
    response = stack.enter_context(client.stream("POST", "/generate_stream", json={
        "inputs": "Hello", "parameters": {"max_new_tokens": max_new}}))
    assert response.status_code == 200
    lines = response.iter_lines()                  # keep it referenced: closing it closes the stream
    assert sse_events([next(lines)])               # admitted and generating
    return lines


def test_overload_gives_429_at_once_and_slot_frees_on_disconnect(slow):
    failures = metric(slow.get("/metrics").text, "tgi_request_failure", 'err="overloaded"')
    with contextlib.ExitStack() as stack:
        streams = [open_stream(stack, slow), open_stream(stack, slow)]
        wait_gauges(slow, (0.0, 2.0))
        start = time.monotonic()
        refused = slow.post("/generate", json={"inputs": "Hello", "parameters": {"max_new_tokens": 1}})
        assert refused.status_code == 429 and time.monotonic() - start < 2.0
        assert refused.json() == {"error": "Model is overloaded", "error_type": "overloaded"}
        assert slow.get("/health").status_code == 200
        assert all(next(lines) is not None for lines in streams)      # still streaming
    # both streams were dropped mid-generation: their slots come back at the next step
    assert wait_idle(slow) < 2.0
    assert metric(slow.get("/metrics").text, "tgi_request_failure", 'err="overloaded"') == failures + 1
    ok = slow.post("/generate", json={"inputs": "Hello", "parameters": {"max_new_tokens": 2, "details": True}})
    assert ok.status_code == 200 and ok.json()["details"]["finish_reason"] == "length"


def test_blocking_request_disconnect_frees_the_slot(slow_server, slow):
    start = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(slow_server.url + "/generate", headers=KEY, timeout=httpx.Timeout(WAIT_S, read=0.5),
                   json={"inputs": "Hello", "parameters": {"max_new_tokens": LONG}})
    wait_idle(slow)
    assert time.monotonic() - start < 5.0                # far less than the ~9 s the request would take


def test_metrics_move_as_requests_flow(slow):
    before = slow.get("/metrics").text
    with contextlib.ExitStack() as stack:
        lines = open_stream(stack, slow, max_new=40)
        wait_gauges(slow, (0.0, 1.0))
        events = sse_events(lines)
    assert '"generated_text"' in events[-1]
    wait_idle(slow)
    after = slow.get("/metrics").text
    for name in ("tgi_request_count", "tgi_request_success", "tgi_request_generated_tokens_count",
                 "tgi_request_duration_count", "tgi_request_queue_duration_count"):
        assert metric(after, name) == metric(before, name) + 1, name
    assert metric(after, "tgi_request_generated_tokens_sum") == metric(before, "tgi_request_generated_tokens_sum") + 40
    assert metric(after, "tgi_batch_inference_count", 'method="decode"') >= \
        metric(before, "tgi_batch_inference_count", 'method="decode"') + 39
    assert metric(after, "tgi_batch_inference_success", 'method="prefill"') > 0
    assert metric(after, "tgi_batch_max_total_tokens") > 0


def test_api_key_guards_generation_routes_only(slow_server):
    url = slow_server.url
    for path in ("/generate", "/generate_stream", "/", "/v1/chat/completions", "/v1/completions", "/tokenize"):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "sesame"}):
            response = httpx.post(url + path, json={"inputs": "x"}, headers=headers, timeout=WAIT_S)
            assert response.status_code == 401 and response.json()["error_type"] == "authorization", path
    for path in ("/health", "/ping", "/info", "/metrics", "/v1/models"):
        assert httpx.get(url + path, timeout=WAIT_S).status_code == 200, path
    assert httpx.post(url + "/tokenize", json={"inputs": "x"}, headers=KEY, timeout=WAIT_S).status_code == 200


def test_payload_limit_gives_413(slow):
    big = {"inputs": "x" * 5000, "parameters": {"max_new_tokens": 1}}
    response = slow.post("/generate", json=big)
    assert response.status_code == 413 and response.json()["error_type"] == "payload_too_large"

    def chunks():                                    # no content-length: the limit is counted while reading
        yield b'{"inputs": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}'

    chunked = slow.post("/generate", content=chunks(), headers={"content-type": "application/json"})
    assert chunked.status_code == 413
    small = slow.post("/generate", json={"inputs": "x", "parameters": {"max_new_tokens": 1}})
    assert small.status_code == 200


def test_serve_command_binds_loopback_and_says_so():
    from smol_inference.ports import free_port
    from smol_inference.server.lifecycle.background import wait_healthy
    from smol_inference.server.lifecycle.launcher import banner
    from smol_inference.server.config import ServerConfig

    assert "loopback only" in banner(ServerConfig()) and "127.0.0.1" in banner(ServerConfig())
    assert "ALL interfaces" in banner(ServerConfig(hostname="0.0.0.0"))
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "smol_inference.cli", "serve", "--port", str(port),
                                "--model-id", "tiny-instruct", "--max-concurrent-requests", "3",
                                "--torch-threads", "1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", WAIT_S * 3)
        info = httpx.get(f"http://127.0.0.1:{port}/info", timeout=WAIT_S).json()
        assert info["model_id"] == "tiny-instruct" and info["max_concurrent_requests"] == 3
    finally:
        process.terminate()
        _, err = process.communicate(timeout=WAIT_S)
    assert f"http://127.0.0.1:{port} (loopback only" in err


def test_start_server_fails_fast_on_a_missing_model(tmp_path):
    from smol_inference.server import start_server

    start = time.monotonic()
    with pytest.raises((RuntimeError, FileNotFoundError)):
        start_server(model_id=str(tmp_path / "no-such-model"), timeout_s=WAIT_S)
    assert time.monotonic() - start < WAIT_S


def test_health_is_503_until_a_model_answers(tmp_path):
    import threading

    import uvicorn

    from smol_inference.server import ServerConfig, create_app
    from smol_inference.ports import free_port

    port = free_port()
    config = ServerConfig(model_id=str(tmp_path / "missing"), port=port)
    server = uvicorn.Server(uvicorn.Config(create_app(config), host=config.hostname, port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(int(WAIT_S / POLL_S)):          # wait for the port, bounded
            with contextlib.suppress(httpx.TransportError):
                health = httpx.get(url + "/health", timeout=WAIT_S)
                break
            time.sleep(POLL_S)
        assert health.status_code == 503 and health.json() == {"error": "unhealthy", "error_type": "healthcheck"}
        refused = httpx.post(url + "/generate", json={"inputs": "x"}, timeout=WAIT_S)
        assert refused.status_code == 503 and "Traceback" not in refused.text
    finally:
        server.should_exit = True
        thread.join(WAIT_S)


def test_mixed_traffic_within_the_limit_is_never_refused(tiny_model):
    """Clients == max_concurrent_requests: streams, blocking, cancelled and invalid requests; no 429,
    every accepted request answered once, gauges back to 0 (a short soak)."""
    import asyncio

    from conftest import start_test_server

    clients, total = 4, 40
    handle = start_test_server(tiny_model, max_concurrent_requests=clients)
    outcomes: list[str] = []

    async def one(client: httpx.AsyncClient, i: int) -> None:
        body = {"inputs": "Hello", "parameters": {"max_new_tokens": 1 + i % 12, "do_sample": i % 2 == 0,
                                                  "seed": i}}
        kind = ("blocking", "stream", "cancel", "invalid")[i % 4]
        if kind == "invalid":
            body["parameters"]["top_p"] = 2.0
        if kind in ("blocking", "invalid"):
            outcomes.append(f"{kind}:{(await client.post('/generate', json=body)).status_code}")
            return
        async with client.stream("POST", "/generate_stream", json=body) as response:
            events = []
            async for line in response.aiter_lines():
                events.append(line)
                if kind == "cancel":
                    break
            done = kind == "cancel" or any('"generated_text": "' in e for e in events)
            outcomes.append(f"{kind}:{response.status_code}:{done}")

    async def main() -> None:
        limit = asyncio.Semaphore(clients)
        async with httpx.AsyncClient(base_url=handle.url, timeout=WAIT_S) as client:
            async def bounded(i: int) -> None:
                async with limit:
                    await one(client, i)
            await asyncio.wait_for(asyncio.gather(*(bounded(i) for i in range(total))), WAIT_S * 3)

    try:
        asyncio.run(main())
        with httpx.Client(base_url=handle.url, timeout=WAIT_S) as client:
            wait_idle(client)
        assert len(outcomes) == total and not any(":429" in o for o in outcomes), outcomes
        assert sorted(set(outcomes)) == ["blocking:200", "cancel:200:True", "invalid:422", "stream:200:True"]
    finally:
        handle.stop()


def test_cors_is_off_unless_asked(server, tiny_model):
    from conftest import start_test_server

    preflight = {"Origin": "http://example.org", "Access-Control-Request-Method": "POST"}
    closed = httpx.options(server.url + "/generate", headers=preflight, timeout=WAIT_S)
    assert "access-control-allow-origin" not in closed.headers
    handle = start_test_server(tiny_model, cors_allow_origin=["http://example.org"])
    try:
        opened = httpx.options(handle.url + "/generate", headers=preflight, timeout=WAIT_S)
        assert opened.headers["access-control-allow-origin"] == "http://example.org"
    finally:
        handle.stop()
