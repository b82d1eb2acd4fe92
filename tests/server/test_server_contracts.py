"""The course server's request and answer contracts, each with the value its source names.

OpenAI fields honoured, mapped as TGI maps them (router/src/lib.rs) or refused by name; OpenAI's
message rules; a final assistant message continued (TGI PR #2733); TGI's error prefixes; the two
stop rules (TGI's `stop$` on /generate, OpenAI's cut anywhere on /v1, streaming included); byte
offsets in /tokenize; length before eos; sampling only for values that change the distribution;
one multi-prompt completion = one request in the metrics. The bundled model answers
"What is 7 plus 5?" with "7 plus 5 is 12." (7 tokens with the eos).
"""

from __future__ import annotations

import json

import httpx
import pytest
from conftest import WAIT_S, metric, sse_events

SUM = [{"role": "user", "content": "What is 7 plus 5?"}]
GREEDY = {"messages": SUM, "temperature": 0}
INPUT_ERROR = "Input validation error: "


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=WAIT_S) as client:
        yield client


@pytest.fixture(scope="module")
def sum_prompt(http):
    return http.post("/chat_tokenize", json={"messages": SUM}).json()["templated_text"]


def chat(http, **body):
    response = http.post("/v1/chat/completions", json={**GREEDY, **body})
    assert response.status_code == 200, response.text
    return response.json()


def refused(response: httpx.Response, error_type: str = "validation") -> str:
    assert response.status_code == 422, response.text
    assert response.json()["error_type"] == error_type
    return response.json()["error"]


# --- 1. fields honoured, mapped or refused by name ---------------------------------------------

def test_max_completion_tokens_is_max_tokens(http):
    body = chat(http, max_completion_tokens=2)
    assert body["usage"]["completion_tokens"] == 2 and body["choices"][0]["finish_reason"] == "length"


def test_presence_penalty_maps_to_repetition_penalty_plus_two(http):
    mapped = chat(http, presence_penalty=0.0, max_tokens=12)["choices"][0]["message"]["content"]
    assert mapped == chat(http, repetition_penalty=2.0, max_tokens=12)["choices"][0]["message"]["content"]
    for bad in (-2.0, 2.5):
        answer = http.post("/v1/chat/completions", json={**GREEDY, "presence_penalty": bad})
        assert "presence_penalty" in refused(answer)
    assert "presence_penalty" in refused(http.post("/v1/completions", json={"prompt": "Hi", "presence_penalty": 3.0}))


@pytest.mark.parametrize("extra, field", [
    ({"n": 2}, "n"), ({"logit_bias": {"5": 10.0}}, "logit_bias"), ({"store": True}, "store"),
    ({"top_logprobs": 2}, "top_logprobs"), ({"modalities": ["audio"]}, "modalities"),
    ({"presence_penalty": 0.5, "repetition_penalty": 1.1}, "presence_penalty"),
    ({"stream_options": {"include_usage": True}}, "stream_options"), ({"reasoning_effort": "low"}, "reasoning_effort"),
])
def test_chat_fields_that_cannot_be_honoured_are_refused_by_name(http, extra, field):
    assert field in refused(http.post("/v1/chat/completions", json={**GREEDY, **extra}))


@pytest.mark.parametrize("extra, field", [({"suffix": "!"}, "suffix"), ({"echo": True}, "echo"),
                                          ({"logprobs": 2}, "logprobs"), ({"best_of": 2}, "best_of"),
                                          ({"n": 3}, "n")])
def test_completion_fields_that_cannot_be_honoured_are_refused_by_name(http, extra, field):
    assert field in refused(http.post("/v1/completions", json={"prompt": "Hi", "max_tokens": 1, **extra}))


@pytest.mark.parametrize("field", ["functions", "function_call"])
def test_deprecated_function_fields_are_refused_in_one_place(http, field):
    """`tools`, `tool_choice`, `tool_prompt` and `response_format` are honoured (tests/server/test_tool_calling.py)."""
    value = "auto" if field == "function_call" else [{"name": "f"}]
    error = http.post("/v1/chat/completions", json={**GREEDY, field: value}).json()["error"]
    assert f"`{field}` is not supported" in error


@pytest.mark.parametrize("messages, words", [
    ([{"role": "robot", "content": "hi"}], "`role` must be one of"),
    ([{"role": "user"}], "`content` is required in a user message"),
    ([{"role": "system", "content": None}], "`content` is required in a system message"),
    ([{"role": "user", "content": []}], "must not be an empty list"),
    ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}], "reads text only"),
    ([{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}],
     "not allowed in a system"),
    ([{"role": "user", "content": [{"type": "refusal", "refusal": "no"}]}], "not allowed in a user"),
    ([{"role": "user", "content": [{"type": "text"}]}], "a 'text' part is"),
])
def test_messages_follow_openais_rules(http, messages, words):
    assert words in refused(http.post("/v1/chat/completions", json={"messages": messages}))


def test_developer_is_system_and_parts_are_text(http):
    def answer(messages):
        return chat(http, messages=messages, max_tokens=8)["choices"][0]["message"]["content"]

    parts = [{"role": "user", "content": [{"type": "text", "text": "What is 7 "}, {"type": "text", "text": "plus 5?"}]}]
    assert answer(parts) == answer(SUM)
    assert answer([{"role": "developer", "content": "Be brief."}, *SUM]) == \
        answer([{"role": "system", "content": "Be brief."}, *SUM])


def test_generate_refuses_misspelt_and_ignored_parameters(http):
    assert "max_tokens" in refused(http.post("/generate", json={"inputs": "Hi", "parameters": {"max_tokens": 2}}))
    assert "`watermark`" in refused(http.post("/generate", json={"inputs": "Hi", "parameters": {"watermark": True}}))


# --- 2. a final assistant message is continued -------------------------------------------------

PREFILL = [{"role": "user", "content": "What is the capital of France?"},
           {"role": "assistant", "content": "The capital of France is"}]


def test_a_final_assistant_message_is_continued(http):
    assert chat(http, messages=PREFILL)["choices"][0]["message"]["content"] == " Paris."
    templated = http.post("/chat_tokenize", json={"messages": PREFILL}).json()["templated_text"]
    assert templated.endswith("The capital of France is")       # no end of turn, no new assistant turn


# --- 3. TGI's error wording ---------------------------------------------------------------------

def test_errors_carry_tgis_prefix(http):
    error = refused(http.post("/generate", json={"inputs": "hi", "parameters": {"max_new_tokens": 100000}}))
    assert error.startswith(INPUT_ERROR + "`inputs` tokens + `max_new_tokens` must be <= ")
    assert refused(http.post("/v1/chat/completions", json={**GREEDY, "stop": ["a"] * 5})).startswith(INPUT_ERROR)
    assert refused(http.post("/v1/chat/completions", json={**GREEDY, "tools": [{}]}),
                   "tool_error").startswith("Tool error: ")


# --- 4. stop sequences: one rule per API ---------------------------------------------------------

@pytest.mark.parametrize("stop, openai_text, tgi_text, tgi_reason", [
    (["plu"], "7 ", "7 plus 5 is 12.", "eos_token"),          # ends inside the token " plus"
    (["is"], "7 plus 5 ", "7 plus 5 is", "stop_sequence"),
])
def test_stop_rules(http, sum_prompt, stop, openai_text, tgi_text, tgi_reason):
    choice = chat(http, stop=stop)["choices"][0]
    assert (choice["message"]["content"], choice["finish_reason"]) == (openai_text, "stop")
    completion = http.post("/v1/completions", json={"prompt": sum_prompt, "temperature": 0, "stop": stop}).json()
    assert completion["choices"][0]["text"] == openai_text
    tgi = http.post("/generate", json={"inputs": sum_prompt, "parameters": {"stop": stop, "details": True}}).json()
    assert (tgi["generated_text"], tgi["details"]["finish_reason"]) == (tgi_text, tgi_reason)


@pytest.mark.parametrize("stop", [["plu"], ["is"], [" 12", "5 is"]])
def test_streams_never_show_a_stop_string(http, sum_prompt, stop):
    expected = chat(http, stop=stop)["choices"][0]["message"]["content"]
    with http.stream("POST", "/v1/chat/completions", json={**GREEDY, "stop": stop, "stream": True}) as response:
        events = [json.loads(e) for e in sse_events(response.iter_lines()) if e != "[DONE]"]
    assert "".join(e["choices"][0]["delta"]["content"] for e in events) == expected
    assert events[-1]["choices"][0]["finish_reason"] == "stop"
    body = {"prompt": [sum_prompt, sum_prompt], "temperature": 0, "stop": stop, "stream": True}
    with http.stream("POST", "/v1/completions", json=body) as response:
        events = [json.loads(e) for e in sse_events(response.iter_lines()) if e != "[DONE]"]
    for index in (0, 1):
        assert "".join(e["choices"][0]["text"] for e in events if e["choices"][0]["index"] == index) == expected


# --- 7. byte offsets ------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["héllo 😀", "plain ascii", "日本語 ok"])
def test_tokenize_offsets_are_utf8_bytes(http, text):
    tokens = http.post("/tokenize", json={"inputs": text}).json()
    data = text.encode("utf-8")
    assert tokens[-1]["stop"] == len(data)
    for token in tokens:
        assert data[token["start"]:token["stop"]].decode("utf-8") == token["text"]
    chat_tokens = http.post("/chat_tokenize", json={"messages": [{"role": "user", "content": text}]}).json()
    templated = chat_tokens["templated_text"].encode("utf-8")
    assert chat_tokens["tokenize_response"][-1]["stop"] == len(templated)


# --- 10. as TGI: length before eos, greedy unless the distribution changes, one request ----------

def test_length_is_checked_before_eos(http, sum_prompt):
    full = http.post("/generate", json={"inputs": sum_prompt, "parameters": {"details": True}}).json()["details"]
    assert full["finish_reason"] == "eos_token"
    exact = http.post("/generate", json={"inputs": sum_prompt, "parameters": {
        "details": True, "max_new_tokens": full["generated_tokens"]}}).json()["details"]
    assert exact["finish_reason"] == "length"
    assert chat(http, max_tokens=full["generated_tokens"])["choices"][0]["finish_reason"] == "length"


def test_temperature_one_alone_stays_greedy(http, sum_prompt):
    body = {"inputs": sum_prompt, "parameters": {"details": True, "temperature": 1.0}}
    answer = http.post("/generate", json=body).json()
    assert answer["details"]["seed"] is None                       # greedy: no seed to report
    assert answer["generated_text"] == "7 plus 5 is 12."
    sampled = http.post("/generate", json={**body, "parameters": {"details": True, "temperature": 0.9}}).json()
    assert sampled["details"]["seed"] is not None


def test_a_multi_prompt_completion_is_one_request(http):
    def counts():
        text = http.get("/metrics").text
        return metric(text, "tgi_request_count"), metric(text, "tgi_request_success")

    before = counts()
    assert http.post("/v1/completions", json={"prompt": ["a", "b", "c"], "max_tokens": 1}).status_code == 200
    with http.stream("POST", "/v1/completions", json={"prompt": ["a", "b"], "max_tokens": 1, "stream": True}) as r:
        list(r.iter_lines())
    after = counts()
    assert (after[0] - before[0], after[1] - before[1]) == (2, 2)


# --- 11. text that is not valid Unicode -----------------------------------------------------------

LONE = b'"\\ud800"'
BODIES = {
    "/generate": b'{"inputs": %s}', "/generate_stream": b'{"inputs": %s}', "/": b'{"inputs": %s}',
    "/tokenize": b'{"inputs": %s}', "/invocations": b'{"inputs": %s}',
    "/v1/completions": b'{"prompt": %s, "max_tokens": 1}',
    "/v1/chat/completions": b'{"messages": [{"role": "user", "content": %s}]}',
    "/chat_tokenize": b'{"messages": [{"role": "user", "content": %s}]}',
}


@pytest.mark.parametrize("path", sorted(BODIES))
def test_lone_surrogates_are_422_on_every_route(http, path):
    body = BODIES[path] % LONE
    assert "not valid Unicode" in refused(http.post(path, content=body, headers={"content-type": "application/json"}))
    stop = b'{"inputs": "hi", "parameters": {"stop": [%s]}}' % LONE
    if path in ("/generate", "/"):
        refused(http.post(path, content=stop, headers={"content-type": "application/json"}))
