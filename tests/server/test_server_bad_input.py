"""Bad input the validation tests leave out: whole bodies that are not UTF-8, strict JSON types, huge
and extreme numbers, empty inputs and over-long prompts on the OpenAI routes, unknown fields and tags
(refused by name: a field accepted and then ignored would be a silent surprise), and the routes without a
permit (/tokenize, /chat_tokenize, /invocations). Always a 4xx in TGI's shape or a normal answer; never
a 5xx, never a hang (every call is bounded by WAIT_S)."""

from __future__ import annotations

import httpx
import pytest
from conftest import WAIT_S

CHAT = {"messages": [{"role": "user", "content": "What is 7 plus 5?"}], "max_tokens": 2}


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=WAIT_S) as client:
        yield client


def refused(response: httpx.Response, status: int = 422, error_type: str = "validation") -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "error_type"} and body["error_type"] == error_type, body
    return body["error"]


@pytest.mark.parametrize("body", [b"\xff\xfe\xfd", b"\xc3\x28{}", b'{"inputs": "x"}\xff', b"\x00"])
@pytest.mark.parametrize("path", ["/generate", "/generate_stream", "/v1/chat/completions", "/tokenize",
                                  "/chat_tokenize", "/invocations"])
def test_bodies_that_are_not_utf8_json(http, path, body):
    refused(http.post(path, content=body, headers={"content-type": "application/json"}))


@pytest.mark.parametrize("field, value", [("stream", 0), ("stream", "true"), ("inputs", ["a"])])
def test_strict_types_like_serde(http, field, value):
    refused(http.post("/generate", json={"inputs": "Hello", field: value}))


@pytest.mark.parametrize("parameters", [{"max_new_tokens": "5"}, {"max_new_tokens": 2.0}, {"details": 1},
                                        {"top_k": 10**30}, {"best_of": 10**30, "do_sample": True},
                                        {"top_n_tokens": 10**30}, {"seed": 2**64}, {"max_new_tokens": 10**400}])
def test_wrong_types_and_huge_numbers_are_422(http, parameters):
    refused(http.post("/generate", json={"inputs": "Hello", "parameters": parameters}))


@pytest.mark.parametrize("parameters", [{"temperature": 1e-300}, {"temperature": 1e300},
                                        {"repetition_penalty": 1e-300, "do_sample": True},
                                        {"repetition_penalty": 1e300}, {"seed": 2**64 - 1, "do_sample": True},
                                        {"top_k": 1, "top_n_tokens": 5, "details": True}])
def test_extreme_but_valid_numbers_are_answered(http, parameters):
    """Overflowing scores used to fail the model step (424); a -inf logprob used to break the JSON."""
    response = http.post("/generate", json={"inputs": "Hello", "parameters": {"max_new_tokens": 3, **parameters}})
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["generated_text"], str)


def test_empty_and_over_long_inputs_on_every_route(http):
    empty = "Input validation error: `inputs` cannot be empty"
    assert refused(http.post("/v1/completions", json={"prompt": "", "max_tokens": 1})) == empty
    assert "Number of prompts" in refused(http.post("/v1/completions", json={"prompt": [], "max_tokens": 1}))
    assert refused(http.post("/tokenize", json={"inputs": ""})) == empty
    refused(http.post("/generate_stream", json={"inputs": ""}))
    long = "Hello " * 600
    for path, body in (("/v1/completions", {"prompt": long, "max_tokens": 1}),
                       ("/v1/chat/completions", {**CHAT, "messages": [{"role": "user", "content": long}]}),
                       ("/generate_stream", {"inputs": long, "parameters": {"max_new_tokens": 1}})):
        assert refused(http.post(path, json=body)).startswith(
            "Input validation error: `inputs` must have less than 511 tokens"), path
    assert "max_new_tokens" in refused(http.post("/v1/chat/completions", json={**CHAT, "max_tokens": 10**30}))


def test_unknown_fields_and_tags_are_refused_by_name(http):
    assert "no_such_field" in refused(http.post("/generate", json={"inputs": "Hello", "no_such_field": 1}))
    assert "also_unknown" in refused(http.post("/generate", json={
        "inputs": "Hello", "parameters": {"max_new_tokens": 1, "also_unknown": [1]}}))
    assert "unknown" in refused(http.post("/v1/chat/completions", json={**CHAT, "unknown": True}))
    video = {**CHAT, "messages": [{"role": "user", "content": [{"type": "video", "text": "x"}]}]}
    refused(http.post("/v1/chat/completions", json=video))
    refused(http.post("/generate", json={"inputs": "Hello", "parameters": {"grammar": {"type": "xml", "value": 1}}}))


def test_parameter_ranges_hold_on_the_tokenize_routes(http):
    """The published schema gives the same ranges for every body; /tokenize and /chat_tokenize keep them."""
    refused(http.post("/tokenize", json={"inputs": "Hello", "parameters": {"top_p": 5.0}}))
    refused(http.post("/chat_tokenize", json={**CHAT, "temperature": -1.0}))
    assert http.post("/chat_tokenize", json=CHAT).status_code == 200
