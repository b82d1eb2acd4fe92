"""Every TGI validation rule answers 422 `validation` with TGI's message, before any model work;
malformed bodies get the same error shape, never a 5xx."""

from __future__ import annotations

import httpx
import pytest

from conftest import WAIT_S, metric


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=WAIT_S) as client:
        yield client


RULES = [
    ({"temperature": 0}, "`temperature` must be strictly positive"),
    ({"temperature": -1.5}, "`temperature` must be strictly positive"),
    ({"repetition_penalty": 0}, "`repetition_penalty` must be strictly positive"),
    ({"frequency_penalty": 2.5}, "`frequency_penalty` must be >= -2.0 and <= 2.0"),
    ({"frequency_penalty": -3}, "`frequency_penalty` must be >= -2.0 and <= 2.0"),
    ({"top_k": 0}, "`top_k` must be strictly positive"),
    ({"top_p": 1.0}, "`top_p` must be > 0.0 and < 1.0"),
    ({"top_p": 0}, "`top_p` must be > 0.0 and < 1.0"),
    ({"typical_p": 1.0}, "`typical_p` must be > 0.0 and < 1.0"),
    ({"typical_p": 0}, "`typical_p` must be > 0.0 and < 1.0"),
    ({"max_new_tokens": 0}, "`max_new_tokens` must be strictly positive"),
    ({"max_new_tokens": 10**12}, "`inputs` tokens + `max_new_tokens` must be <= 512. Given: "),
    ({"stop": ["a", "b", "c", "d", "e"]}, "`stop` supports up to 4 stop sequences. Given: 5"),
    ({"top_n_tokens": 6}, "`top_n_tokens` must be >= 0 and <= 5. Given: 6"),
    ({"best_of": 3, "do_sample": True}, "`best_of` must be > 0 and <= 2. Given: 3"),
    ({"best_of": 2}, "you must use sampling when `best_of` is > 1"),
    ({"best_of": 2, "do_sample": True, "seed": 1}, "`seed` must not be set when `best_of` > 1"),
    ({"truncate": 0}, "`truncate` must be strictly positive and less than 511. Given: 0"),
    ({"truncate": 10**6}, "`truncate` must be strictly positive and less than 511"),
    ({"grammar": {"type": "json", "value": {}}}, "grammar is not valid: Grammar must have a 'properties' field"),
    ({"watermark": True}, "`watermark` is not supported"),
    ({"stop": [""]}, "`stop` sequences cannot be empty"),
    ({"adapter_id": "lora"}, "`adapter_id` is not supported"),
]


@pytest.mark.parametrize("parameters, message", RULES, ids=[str(p) for p, _ in RULES])
def test_parameter_rules(http, parameters, message):
    response = http.post("/generate", json={"inputs": "Hello", "parameters": parameters})
    assert response.status_code == 422, response.text
    assert response.json()["error_type"] == "validation"
    assert response.json()["error"].startswith("Input validation error: " + message)


def test_streaming_only_rules(http):
    for parameters, message in (({"decoder_input_details": True}, "`decoder_input_details` == true is not supported"),
                                ({"best_of": 2, "do_sample": True}, "`best_of` != 1 is not supported when streaming")):
        response = http.post("/generate_stream", json={"inputs": "Hello", "parameters": parameters})
        assert response.status_code == 422
        assert response.json()["error"].startswith("Input validation error: " + message)


def test_input_rules(http):
    empty = http.post("/generate", json={"inputs": ""})
    assert empty.status_code == 422 and empty.json()["error"] == "Input validation error: `inputs` cannot be empty"
    long = http.post("/generate", json={"inputs": "Hello " * 600, "parameters": {"max_new_tokens": 1}})
    assert long.status_code == 422
    assert long.json()["error"].startswith("Input validation error: `inputs` must have less than 511 tokens. Given: ")
    total = http.post("/generate", json={"inputs": "Hello", "parameters": {"max_new_tokens": 512}})
    assert total.json()["error"].startswith(
        "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 512. Given: ")
    assert total.json()["error"].endswith("and 512 `max_new_tokens`")


MALFORMED = [
    b"{not json",
    b"[1, 2]",
    b'{"parameters": {}}',
    b'{"inputs": 5}',
    b'{"inputs": "x", "parameters": {"max_new_tokens": "many"}}',
    b'{"inputs": "x", "parameters": {"temperature": NaN}}',
    b'{"inputs": "x", "parameters": {"temperature": Infinity}}',
    b'{"inputs": "x", "parameters": {"seed": -1}}',
    b'{"inputs": "x", "parameters": {"seed": 1e400}}',
    b'{"inputs": "x", "parameters": {"stop": "not a list"}}',
    b'{"inputs": "\xff\xfe bad utf-8"}',
    b"",
]


@pytest.mark.parametrize("body", MALFORMED, ids=range(len(MALFORMED)))
@pytest.mark.parametrize("path", ["/generate", "/generate_stream", "/", "/v1/chat/completions", "/v1/completions"])
def test_malformed_bodies_get_tgi_errors(http, path, body):
    response = http.post(path, content=body, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500, response.text
    assert set(response.json()) == {"error", "error_type"}


def test_openai_route_rules(http):
    no_messages = http.post("/v1/chat/completions", json={"messages": []})
    assert no_messages.status_code == 422
    tools = http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}],
                                                    "tools": [{"type": "function"}]})
    assert tools.status_code == 422 and tools.json()["error_type"] == "tool_error"
    too_many = http.post("/v1/completions", json={"prompt": ["a"] * 5, "max_tokens": 1})
    assert too_many.status_code == 422 and "Number of prompts" in too_many.json()["error"]
    stops = http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}],
                                                    "stop": ["a", "b", "c", "d", "e"]})
    assert stops.status_code == 422 and stops.json()["error_type"] == "validation"


def test_unknown_route_and_failures_are_counted(http):
    missing = http.get("/no-such-route")
    assert missing.status_code == 404 and set(missing.json()) == {"error", "error_type"}
    before = metric(http.get("/metrics").text, "tgi_request_failure", 'err="validation"')
    http.post("/generate", json={"inputs": "Hello", "parameters": {"top_k": -1}})
    after = metric(http.get("/metrics").text, "tgi_request_failure", 'err="validation"')
    assert after == before + 1
