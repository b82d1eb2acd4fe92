"""The course server speaks TGI's HTTP API: routes, bodies, headers, SSE, against tgi-openapi.json."""

from __future__ import annotations

import json

import httpx
import pytest

from conftest import WAIT_S, sse_events

CAPITAL = "What is the capital of France?"
TIMING_HEADERS = ("x-compute-type", "x-compute-time", "x-total-time", "x-validation-time", "x-queue-time",
                  "x-inference-time", "x-time-per-token", "x-prompt-tokens", "x-generated-tokens")


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=WAIT_S) as client:
        yield client


def test_health_info_models_docs(http, check_schema):
    assert http.get("/health").status_code == 200
    assert http.get("/ping").status_code == 200
    info = http.get("/info").json()
    check_schema(info, "Info")
    assert info["router"] == "text-generation-router" and info["max_input_tokens"] < info["max_total_tokens"]
    models = http.get("/v1/models").json()
    check_schema(models, "ModelInfo")
    assert models["data"][0]["id"] == info["model_id"]
    assert http.get("/docs").status_code == 200
    assert "/generate_stream" in http.get("/api-doc/openapi.json").json()["paths"]


def test_generate_greedy_with_details_and_headers(http, chat_text, check_schema):
    response = http.post("/generate", json={"inputs": chat_text(CAPITAL), "parameters": {
        "max_new_tokens": 20, "details": True, "decoder_input_details": True, "top_n_tokens": 2}})
    assert response.status_code == 200, response.text
    body = response.json()
    check_schema(body, "GenerateResponse")
    assert "Paris" in body["generated_text"]
    details = body["details"]
    assert details["finish_reason"] == "eos_token" and details["seed"] is None
    assert details["generated_tokens"] == len(details["tokens"]) == len(details["top_tokens"])
    assert details["tokens"][-1]["special"] and all(len(top) == 2 for top in details["top_tokens"])
    assert details["prefill"][0]["logprob"] is None
    assert len(details["prefill"]) == int(response.headers["x-prompt-tokens"])
    assert all(name in response.headers for name in TIMING_HEADERS)
    assert int(response.headers["x-generated-tokens"]) == details["generated_tokens"]


def test_compat_route_returns_a_list_or_a_stream(http, chat_text, check_schema):
    body = http.post("/", json={"inputs": chat_text(CAPITAL), "parameters": {"max_new_tokens": 20}}).json()
    assert isinstance(body, list) and len(body) == 1
    for item in body:
        check_schema(item, "GenerateResponse")
    with http.stream("POST", "/", json={"inputs": chat_text(CAPITAL), "stream": True,
                                        "parameters": {"max_new_tokens": 20}}) as response:
        events = sse_events(response.iter_lines())
    assert json.loads(events[-1])["generated_text"] == body[0]["generated_text"]


def test_generate_stream_events(http, chat_text, check_schema):
    body = {"inputs": chat_text(CAPITAL), "parameters": {"max_new_tokens": 20, "details": True}}
    with http.stream("POST", "/generate_stream", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response.iter_lines())
    assert "[DONE]" not in events
    parsed = [json.loads(event) for event in events]
    for event in parsed:
        check_schema(event, "StreamResponse")
    assert [e["index"] for e in parsed] == list(range(1, len(parsed) + 1))
    assert all(e["generated_text"] is None for e in parsed[:-1])
    last = parsed[-1]
    assert "Paris" in last["generated_text"] and last["details"]["finish_reason"] == "eos_token"
    assert last["details"]["generated_tokens"] == len(parsed) and last["details"]["input_length"] > 0
    assert "".join(e["token"]["text"] for e in parsed if not e["token"]["special"]) == last["generated_text"]


def test_stop_sequence_length_full_text_and_truncate(http, chat_text):
    prompt = chat_text(CAPITAL)
    stop = http.post("/generate", json={"inputs": prompt, "parameters": {"stop": [" Paris"], "details": True}}).json()
    assert stop["generated_text"].endswith(" Paris") and stop["details"]["finish_reason"] == "stop_sequence"
    short = http.post("/generate", json={"inputs": prompt, "parameters": {"max_new_tokens": 2, "details": True}}).json()
    assert short["details"]["finish_reason"] == "length" and short["details"]["generated_tokens"] == 2
    full = http.post("/generate", json={"inputs": prompt, "parameters": {"max_new_tokens": 2,
                                                                          "return_full_text": True}}).json()
    assert full["generated_text"] == prompt + short["generated_text"]
    cut = http.post("/generate", json={"inputs": prompt, "parameters": {"max_new_tokens": 1, "truncate": 3}})
    assert cut.status_code == 200 and cut.headers["x-prompt-tokens"] == "3"


def test_sampling_reports_its_seed_and_best_of(http, chat_text, check_schema):
    body = http.post("/generate", json={"inputs": chat_text(CAPITAL), "parameters": {
        "do_sample": True, "seed": 7, "details": True, "max_new_tokens": 8}}).json()
    assert body["details"]["seed"] == 7
    best = http.post("/generate", json={"inputs": chat_text(CAPITAL), "parameters": {
        "do_sample": True, "best_of": 2, "details": True, "max_new_tokens": 8}}).json()
    check_schema(best, "GenerateResponse")
    assert len(best["details"]["best_of_sequences"]) == 1


def test_tokenize(http, check_schema):
    tokens = http.post("/tokenize", json={"inputs": "Hello world"}).json()
    check_schema(tokens, "TokenizeResponse")
    assert "".join(t["text"] for t in tokens) == "Hello world"


def test_chat_completions(http, check_schema):
    body = http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": CAPITAL}],
                                                   "temperature": 0, "logprobs": True, "top_logprobs": 2}).json()
    check_schema(body, "ChatCompletion")
    assert body["object"] == "chat.completion" and body["choices"][0]["finish_reason"] == "stop"
    assert "Paris" in body["choices"][0]["message"]["content"]
    assert len(body["choices"][0]["logprobs"]["content"]) == body["usage"]["completion_tokens"]
    with http.stream("POST", "/v1/chat/completions", json={
            "messages": [{"role": "user", "content": CAPITAL}], "temperature": 0, "stream": True,
            "stream_options": {"include_usage": True}}) as response:
        events = sse_events(response.iter_lines())
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    for chunk in chunks:
        check_schema(chunk, "ChatCompletionChunk")
    assert chunks[-1]["usage"]["completion_tokens"] == body["usage"]["completion_tokens"]
    text = "".join(c["choices"][0]["delta"]["content"] for c in chunks if c["choices"])
    assert text == body["choices"][0]["message"]["content"]


def test_completions(http, check_schema):
    body = http.post("/v1/completions", json={"prompt": ["Hello", "The capital"], "max_tokens": 4,
                                              "temperature": 0}).json()
    check_schema(body, "CompletionFinal")
    assert [c["index"] for c in body["choices"]] == [0, 1] and body["usage"]["completion_tokens"] <= 8
    with http.stream("POST", "/v1/completions", json={"prompt": "Hello", "max_tokens": 4, "temperature": 0,
                                                      "stream": True}) as response:
        events = sse_events(response.iter_lines())
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    for chunk in chunks:
        check_schema(chunk, "Chunk")
    assert "".join(c["choices"][0]["text"] for c in chunks) == body["choices"][0]["text"]


def test_chat_tokenize(http, chat_text, check_schema):
    body = http.post("/chat_tokenize", json={"messages": [{"role": "user", "content": CAPITAL}]}).json()
    check_schema(body, "ChatTokenizeResponse")
    assert body["templated_text"] == chat_text(CAPITAL)


def test_invocations_dispatches_like_sagemaker(http, chat_text):
    chat = http.post("/invocations", json={"messages": [{"role": "user", "content": CAPITAL}], "temperature": 0})
    assert chat.status_code == 200 and "Paris" in chat.json()["choices"][0]["message"]["content"]
    generate = http.post("/invocations", json={"inputs": chat_text(CAPITAL), "parameters": {"max_new_tokens": 20}})
    assert generate.status_code == 200 and "Paris" in generate.json()["generated_text"]
    bad = http.post("/invocations", json={"inputs": "x", "parameters": {"top_k": "many"}})
    assert bad.status_code == 422 and bad.json()["error_type"] == "validation"
    broken = http.post("/invocations", content=b"{oops", headers={"content-type": "application/json"})
    assert broken.status_code == 422
