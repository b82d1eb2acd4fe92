"""vLLM's chat-template fields and guided decoding fields on the course server, over real HTTP.

continue_final_message with vLLM's meaning when given (absent: TGI's continuation of a final assistant
message), add_generation_prompt, chat_template_kwargs read by the template or refused, and the guided
fields of vLLM (guided_json, guided_regex, guided_choice) and SGLang (regex, json_schema) as grammars.
"""

from __future__ import annotations

import copy
import json
import re

import httpx
import pytest
from conftest import WAIT_S, start_test_server

SUM = [{"role": "user", "content": "What is 7 plus 5?"}]
PREFILLED = SUM + [{"role": "assistant", "content": "7 plus"}]
OPEN_TURN = "<|im_start|>assistant\n"
#: The bundled template plus one variable, as a model card's template reads `enable_thinking`.
TEMPLATE_WITH_VARIABLE = ("{% if greeting %}{{ greeting }}\n{% endif %}{% for message in messages %}"
                          "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
                          "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=WAIT_S) as client:
        yield client


def templated(http, **body) -> str:
    response = http.post("/chat_tokenize", json={"messages": PREFILLED, **body})
    assert response.status_code == 200, response.text
    return response.json()["templated_text"]


def refused(response: httpx.Response, field: str) -> str:
    assert response.status_code == 422, response.text
    assert f"`{field}`" in response.json()["error"]
    return response.json()["error"]


def answer(http, **body) -> str:
    response = http.post("/v1/chat/completions", json={"messages": SUM, "temperature": 0, **body})
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


def test_continue_final_message_follows_vllm_when_given(http):
    assert templated(http).endswith("7 plus")                          # absent: TGI continues the prefill
    assert templated(http, continue_final_message=True).endswith("7 plus")
    assert templated(http, continue_final_message=False).endswith("7 plus<|im_end|>\n" + OPEN_TURN)
    assert templated(http, continue_final_message=False, add_generation_prompt=False).endswith("<|im_end|>\n")
    refused(http.post("/chat_tokenize", json={"messages": PREFILLED, "continue_final_message": True,
                                              "add_generation_prompt": True}), "continue_final_message")


def test_add_generation_prompt_false_leaves_the_turn_closed(http):
    response = http.post("/chat_tokenize", json={"messages": SUM, "add_generation_prompt": False})
    assert not response.json()["templated_text"].endswith(OPEN_TURN)


def test_chat_template_kwargs_the_template_does_not_read_are_refused(http):
    assert "'enable_thinking' is not read" in refused(http.post("/v1/chat/completions", json={
        "messages": SUM, "chat_template_kwargs": {"enable_thinking": False}}), "chat_template_kwargs")
    refused(http.post("/v1/chat/completions", json={"messages": SUM, "chat_template_kwargs": {"tokenize": True}}),
            "chat_template_kwargs")
    refused(http.post("/v1/chat/completions", json={"messages": SUM, "documents": [{"text": "x"}]}), "documents")


def test_chat_template_kwargs_reach_a_template_that_reads_them(tiny_model):
    model, tokenizer, context = tiny_model
    custom = copy.deepcopy(tokenizer)
    custom.chat_template = TEMPLATE_WITH_VARIABLE
    handle = start_test_server((model, custom, context))
    try:
        with httpx.Client(base_url=handle.url, timeout=WAIT_S) as client:
            body = {"messages": SUM, "chat_template_kwargs": {"greeting": "Hello there"}}
            assert client.post("/chat_tokenize", json=body).json()["templated_text"].startswith("Hello there\n")
            plain = client.post("/chat_tokenize", json={"messages": SUM}).json()["templated_text"]
            assert not plain.startswith("Hello")
    finally:
        handle.stop()


def test_guided_choice_and_regex(http):
    assert answer(http, guided_choice=["yes", "no"]) in ("yes", "no")
    assert answer(http, guided_choice=["a+b", "c.d"]) in ("a+b", "c.d")         # meta characters are literal
    for field in ("guided_regex", "regex"):
        assert re.fullmatch("[0-9]{2,4}", answer(http, **{field: "[0-9]{2,4}"}))


def test_guided_json_and_sglang_json_schema(http):
    schema = {"type": "object", "properties": {"sum": {"enum": [11, 12, 13]}}, "required": ["sum"]}
    assert json.loads(answer(http, guided_json=schema, max_tokens=30))["sum"] in (11, 12, 13)
    completion = http.post("/v1/completions", json={"prompt": "7 plus 5 is", "temperature": 0, "max_tokens": 30,
                                                    "json_schema": json.dumps(schema)}).json()
    assert json.loads(completion["choices"][0]["text"])["sum"] in (11, 12, 13)


def test_one_output_constraint_per_request(http):
    refused(http.post("/v1/chat/completions", json={"messages": SUM, "guided_regex": "a", "guided_choice": ["b"]}),
            "guided_choice")
    refused(http.post("/v1/chat/completions", json={"messages": SUM, "guided_regex": "a",
                                                    "response_format": {"type": "json_object"}}), "guided_regex")
    refused(http.post("/v1/chat/completions", json={"messages": SUM, "guided_choice": ["yes"], "min_tokens": 3}),
            "min_tokens")
    refused(http.post("/v1/chat/completions", json={"messages": SUM, "response_format": {"type": "json_object"},
                                                    "min_tokens": 3}), "min_tokens")
    assert "grammar is not valid" in http.post("/v1/chat/completions", json={
        "messages": SUM, "guided_regex": "(unclosed"}).json()["error"]
