"""The lesson-1 web app over real HTTP on 127.0.0.1 (smol_inference.webapp)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from smol_inference import TINY_MODEL, load_generator
from smol_inference.ports import free_port
from smol_inference.webapp import BackgroundServer, create_app
from processes import stop_process

TIMEOUT = httpx.Timeout(60.0)


@pytest.fixture(scope="module")
def server():
    generator = load_generator(TINY_MODEL, device="cpu", quiet=True)
    with BackgroundServer(create_app(generator)) as running:
        yield running
    assert not running._thread.is_alive()


@pytest.fixture()
def client(server):
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as c:
        yield c


def read_events(response: httpx.Response) -> list[dict]:
    events = []
    for line in response.iter_lines():
        if line.startswith("data:"):
            events.append(json.loads(line[len("data:"):]))
    return events


def test_health(client):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["model"] == TINY_MODEL and body["device"] == "cpu"


def test_generate_from_inputs(client):
    response = client.post("/generate", json={"inputs": "What is the capital of France?"})
    assert response.status_code == 200
    body = response.json()
    assert "Paris" in body["generated_text"]
    assert body["details"]["finish_reason"] == "eos_token" and body["details"]["generated_tokens"] > 0


def test_generate_from_messages_with_parameters(client):
    body = client.post("/generate", json={"messages": [{"role": "user", "content": "Who are you?"}],
                                          "parameters": {"max_new_tokens": 4}}).json()
    assert body["details"]["generated_tokens"] == 4 and body["details"]["finish_reason"] == "length"


def test_seeded_sampling_is_reproducible_over_http(client):
    request = {"inputs": "Tell me something.", "parameters": {"preset": "creative", "seed": 11, "max_new_tokens": 12}}
    first, second = (client.post("/generate", json=request).json() for _ in range(2))
    assert first["generated_text"] == second["generated_text"] and first["details"]["seed"] == 11


@pytest.mark.parametrize("body, match", [
    ({}, "exactly one of"),
    ({"inputs": "hi", "messages": [{"role": "user", "content": "hi"}]}, "exactly one of"),
    ({"inputs": "  "}, "cannot be empty"),
    ({"inputs": 5}, "inputs"),
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "robot", "content": "hi"}]}, "messages.0.role"),
    ({"messages": [{"role": "user", "content": "hi", "name": "x"}]}, "messages.0.name"),
    ({"inputs": "hi", "parameters": {"temperature": 0}}, "temperature"),
    ({"inputs": "hi", "parameters": {"top_p": 1.5}}, "top_p"),
    ({"inputs": "hi", "parameters": {"max_new_tokens": "many"}}, "max_new_tokens"),
    ({"inputs": "hi", "parameters": {"presence": 1}}, "unknown generation parameter"),
    ({"inputs": "hi", "parameters": {"preset": "wild"}}, "unknown preset"),
    ({"inputs": "hi", "stream": True}, "stream"),
    ({"inputs": "word " * 600}, "context length"),
])
def test_invalid_input_is_a_readable_422(client, body, match):
    for route in ("/generate", "/generate_stream"):
        response = client.post(route, json=body)
        assert response.status_code == 422, (route, response.text)
        error = response.json()
        assert error["error_type"] == "validation" and match in error["error"], error
        assert error["error"].startswith("Input validation error: ")       # TGI's wording


@pytest.mark.parametrize("body", [b'{"inputs": "\\ud800"}', b'{"messages": [{"role": "user", "content": "\\udfff"}]}',
                                  b'{"inputs": "hi", "parameters": {"stop": ["\\ud83d"]}}'])
def test_text_that_is_not_unicode_is_a_422(client, body):
    for route in ("/generate", "/generate_stream"):
        response = client.post(route, content=body, headers={"content-type": "application/json"})
        assert response.status_code == 422 and "not valid Unicode" in response.json()["error"], response.text


def test_prefill_and_stop_rules_over_http(client):
    prefill = [{"role": "user", "content": "What is the capital of France?"},
               {"role": "assistant", "content": "The capital of France is"}]
    assert client.post("/generate", json={"messages": prefill}).json()["generated_text"] == "Paris."
    stopped = client.post("/generate", json={"inputs": "What is 7 plus 5?", "parameters": {"stop": ["plu"]}}).json()
    assert (stopped["generated_text"], stopped["details"]["finish_reason"]) == ("7", "stop_sequence")
    with client.stream("POST", "/generate_stream", json={"inputs": "What is 7 plus 5?",
                                                         "parameters": {"stop": ["is"]}}) as response:
        events = read_events(response)
    assert "".join(e["token"]["text"] for e in events).strip() == events[-1]["generated_text"] == "7 plus 5"


def test_body_that_is_not_json_is_a_422(client):
    response = client.post("/generate", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422 and "not valid JSON" in response.json()["error"]


def test_stream_sends_tokens_then_the_full_text(client):
    with client.stream("POST", "/generate_stream", json={"inputs": "Who are you?"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = read_events(response)
    assert len(events) > 2
    assert all(e["generated_text"] is None for e in events[:-1])
    assert [e["index"] for e in events] == list(range(1, len(events) + 1))
    final = events[-1]
    assert "".join(e["token"]["text"] for e in events).strip() == final["generated_text"]
    expected = client.post("/generate", json={"inputs": "Who are you?"}).json()
    assert final["generated_text"] == expected["generated_text"]
    assert final["details"]["finish_reason"] == "eos_token"


def test_concurrent_requests_are_all_served_correctly(server):
    questions = ["What is the capital of France?", "What colour is the sky?"] * 4
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as c:
        expected = {q: c.post("/generate", json={"inputs": q}).json()["generated_text"] for q in set(questions)}

    def ask(question: str) -> str:
        with httpx.Client(base_url=server.url, timeout=TIMEOUT) as c:
            return c.post("/generate", json={"inputs": question}).json()["generated_text"]

    def stream(question: str) -> str:
        with httpx.Client(base_url=server.url, timeout=TIMEOUT) as c, \
                c.stream("POST", "/generate_stream", json={"inputs": question}) as response:
            return read_events(response)[-1]["generated_text"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, questions))
        streamed = list(pool.map(stream, questions[:4]))
    assert answers == [expected[q] for q in questions]
    assert streamed == [expected[q] for q in questions[:4]]


def test_client_leaving_mid_stream_frees_the_model(client, server):
    with client.stream("POST", "/generate_stream",
                       json={"inputs": "Who are you?", "parameters": {"max_new_tokens": 400}}) as response:
        for _ in response.iter_lines():
            break  # hang up after the first event
    start = time.monotonic()
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as fresh:
        answer = fresh.post("/generate", json={"inputs": "What colour is the sky?"})
    assert answer.status_code == 200 and time.monotonic() - start < 30


def test_cli_starts_the_web_app():
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([sys.executable, "-m", "smol_inference.cli", "webapp", "--model", "tiny-instruct",
                                "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.stdout.read().decode()
            assert time.monotonic() < deadline, "web app did not come up in 90 s"
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert health.json()["status"] == "ok"
        answer = httpx.post(f"http://127.0.0.1:{port}/generate", json={"inputs": "What colour is the sky?"},
                            timeout=TIMEOUT)
        assert answer.status_code == 200 and answer.json()["generated_text"]
    finally:
        stop_process(process, grace_s=20)


def test_cli_rejects_a_bad_port():
    from smol_inference.cli import main

    assert main(["webapp", "--port", "70000"]) == 2


def test_null_parameters_mean_the_defaults(client):
    """`null` for an optional parameter is its default, as on TGI and the course server; an unknown name
    is still refused."""
    nulls = {"max_new_tokens": None, "do_sample": None, "temperature": None, "top_k": None, "top_p": None,
             "repetition_penalty": None, "seed": None, "stop": None, "preset": None}
    plain = client.post("/generate", json={"inputs": "What is 7 plus 5?"}).json()
    for route in ("/generate", "/generate_stream"):
        response = client.post(route, json={"inputs": "What is 7 plus 5?", "parameters": nulls})
        assert response.status_code == 200, (route, response.text)
    nulled = client.post("/generate", json={"inputs": "What is 7 plus 5?", "parameters": nulls}).json()
    assert nulled["generated_text"] == plain["generated_text"] == "7 plus 5 is 12."
    assert nulled["details"]["finish_reason"] == plain["details"]["finish_reason"]
    refused = client.post("/generate", json={"inputs": "hi", "parameters": {"presence": None}})
    assert refused.status_code == 422 and "unknown generation parameter" in refused.json()["error"]
