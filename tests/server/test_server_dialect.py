"""vLLM's and SGLang's OpenAI extension fields on the course server, over real HTTP with the bundled model.

What the SGLang Model Gateway and vLLM's router add to every request passes and changes nothing; the
sampling and output extensions are honoured (each test also shows the answer without the field, so it
can fail); a value the server cannot honour is a 422 naming the field. The bundled model answers
"What is 7 plus 5?" with "7 plus 5 is 12." (7 tokens with the eos).
"""

from __future__ import annotations

import json

import httpx
import pytest
from conftest import WAIT_S, sse_events

SUM = [{"role": "user", "content": "What is 7 plus 5?"}]
GREEDY = {"messages": SUM, "temperature": 0}
ANSWER = "7 plus 5 is 12."
#: What sglang-router 0.3.2 adds to every chat request (ROUTER-FACTS.md); vllm-router adds include_reasoning.
GATEWAY_CHAT = {"no_stop_trim": False, "ignore_eos": False, "continue_final_message": False,
                "skip_special_tokens": True, "separate_reasoning": True, "stream_reasoning": True,
                "return_hidden_states": False, "logprobs": False, "include_reasoning": True}
GATEWAY_COMPLETION = {"no_stop_trim": False, "ignore_eos": False, "skip_special_tokens": True,
                      "return_hidden_states": False, "echo": False}


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=WAIT_S) as client:
        yield client


def chat(http, **body):
    response = http.post("/v1/chat/completions", json={**GREEDY, **body})
    assert response.status_code == 200, response.text
    return response.json()


def text(http, **body) -> str:
    return chat(http, **body)["choices"][0]["message"]["content"]


def streamed(http, **body) -> str:
    with http.stream("POST", "/v1/chat/completions", json={**GREEDY, **body, "stream": True}) as response:
        assert response.status_code == 200
        events = [json.loads(e) for e in sse_events(response.iter_lines()) if e != "[DONE]"]
    return "".join(e["choices"][0]["delta"]["content"] for e in events)


def refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.json()["error_type"] == "validation" and f"`{field}`" in response.json()["error"]


def test_what_the_gateways_add_passes_and_changes_nothing(http):
    assert text(http, **GATEWAY_CHAT) == ANSWER == text(http)
    sglang = {k: v for k, v in GATEWAY_CHAT.items() if k != "include_reasoning"}
    assert text(http, **sglang, max_completion_tokens=20) == ANSWER
    assert streamed(http, **GATEWAY_CHAT) == ANSWER
    plain = http.post("/v1/completions", json={"prompt": "What is 7", "max_tokens": 5, "temperature": 0}).json()
    both = http.post("/v1/completions", json={"prompt": "What is 7", "max_tokens": 5, "temperature": 0,
                                              **GATEWAY_COMPLETION}).json()
    assert both["choices"][0]["text"] == plain["choices"][0]["text"]


def test_the_openai_client_sends_extensions_in_extra_body(server):
    from openai import OpenAI

    client = OpenAI(base_url=server.url + "/v1", api_key="-", timeout=WAIT_S, max_retries=0)
    answer = client.chat.completions.create(model="tiny", messages=SUM, temperature=0, max_tokens=12,
                                            extra_body={"ignore_eos": True, "top_k": 20, "min_p": 0.05})
    assert answer.choices[0].finish_reason == "length" and answer.usage.completion_tokens == 12


@pytest.mark.parametrize("field, value", [
    ("return_hidden_states", True), ("return_hidden_states", "last"), ("use_beam_search", True),
    ("length_penalty", 0.5), ("priority", 1), ("cache_salt", "salt"), ("lora_path", "adapter"),
    ("logits_processors", ["my.Processor"]), ("bad_words", ["seven"]), ("allowed_token_ids", [1, 2]),
    ("guided_grammar", "root ::= 'a'"), ("ebnf", "root ::= 'a'"), ("stop_regex", "[0-9]"),
    ("prompt_logprobs", 1), ("vllm_xargs", {"k": 1}), ("session_params", {"id": "x"}), ("echo", True),
    ("chat_template", "{{ messages }}"), ("reasoning_effort", "low"), ("input_ids", [1, 2]),
    ("kv_transfer_params", {"do_remote_decode": True}), ("routed_dp_rank", 1), ("return_token_ids", True),
    ("top_k", -2), ("min_p", 1.5), ("min_tokens", -1), ("truncate_prompt_tokens", 0),
])
def test_what_cannot_be_honoured_is_refused_by_name(http, field, value):
    refused(http.post("/v1/chat/completions", json={**GREEDY, field: value}), field)


@pytest.mark.parametrize("extra", [{"priority": 0}, {"length_penalty": 1.0}, {"use_beam_search": False},
                                   {"bad_words": []}, {"cache_salt": None}, {"routed_dp_rank": 0},
                                   {"stop_token_ids": []}, {"top_k": -1}, {"top_k": 0}, {"min_p": 0.0}])
def test_neutral_values_pass_and_change_nothing(http, extra):
    assert text(http, **extra) == ANSWER


def test_completions_refuse_by_name_too(http):
    base = {"prompt": "What is 7", "max_tokens": 2}
    refused(http.post("/v1/completions", json={**base, "prompt_embeds": "AAAA"}), "prompt_embeds")
    refused(http.post("/v1/completions", json={**base, "return_hidden_states": True}), "return_hidden_states")
    refused(http.post("/v1/completions", json={**base, "min_tokens": 3}), "min_tokens")        # > max_tokens


def test_ignore_eos_and_min_tokens(http):
    assert chat(http, max_tokens=12)["usage"]["completion_tokens"] == 7                 # stops at its eos
    long = chat(http, max_tokens=12, ignore_eos=True)
    assert long["usage"]["completion_tokens"] == 12 and long["choices"][0]["finish_reason"] == "length"
    body = chat(http, max_tokens=12, min_tokens=10)
    assert 10 <= body["usage"]["completion_tokens"] <= 12 and body["choices"][0]["message"]["content"] != ANSWER
    refused(http.post("/v1/chat/completions", json={**GREEDY, "max_tokens": 4, "min_tokens": 5}), "min_tokens")


def test_min_tokens_holds_back_stop_strings_in_both_forms(http):
    assert text(http, stop=["plus"]) == "7 "
    late = text(http, stop=["plus"], min_tokens=3, max_tokens=12)
    assert late.startswith("7 plus 5") and late.count("plus") == 1      # the early one does not count
    assert streamed(http, stop=["plus"], min_tokens=3, max_tokens=12) == late


@pytest.mark.parametrize("field", ["include_stop_str_in_output", "no_stop_trim"])
def test_stop_string_kept_in_the_text_when_asked(http, field):
    assert text(http, stop=[" is"]) == "7 plus 5"
    assert text(http, stop=[" is"], **{field: True}) == "7 plus 5 is"
    assert streamed(http, stop=[" is"], **{field: True}) == "7 plus 5 is"
    refused(http.post("/v1/chat/completions", json={**GREEDY, "include_stop_str_in_output": True,
                                                   "no_stop_trim": False}), "no_stop_trim")


def test_stop_token_ids_end_the_output_without_their_text(http):
    ids = http.post("/tokenize", json={"inputs": ANSWER}).json()
    target = next(t for t in ids if t["text"].strip() == "is")
    body = chat(http, stop_token_ids=[target["id"]])
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["choices"][0]["message"]["content"] == ANSWER[:target["start"]]
    assert text(http, stop_token_ids=[target["id"]], include_stop_str_in_output=True) == ANSWER[:target["stop"]]
    assert streamed(http, stop_token_ids=[target["id"]]) == ANSWER[:target["start"]]
    refused(http.post("/v1/chat/completions", json={**GREEDY, "stop_token_ids": [10**6]}), "stop_token_ids")


def test_skip_special_tokens_false_shows_them(http):
    hidden = text(http, ignore_eos=True, max_tokens=12)
    shown = text(http, ignore_eos=True, max_tokens=12, skip_special_tokens=False)
    assert "<|im_end|>" not in hidden and "<|im_end|>" in shown and shown.replace("<|im_end|>", "") == hidden
    assert streamed(http, ignore_eos=True, max_tokens=12, skip_special_tokens=False) == shown
    assert text(http, skip_special_tokens=False) == ANSWER                  # the eos that ended it leaves no text
    refused(http.post("/v1/chat/completions", json={**GREEDY, "skip_special_tokens": False,
                                                   "spaces_between_special_tokens": True}),
            "spaces_between_special_tokens")


def test_top_k_one_and_min_p_one_are_greedy(http):
    hot = {"temperature": 5.0, "max_tokens": 12}
    draws = {text(http, **hot, seed=seed) for seed in range(4)}
    assert draws != {ANSWER}                                                # hot sampling wanders off
    assert {text(http, **hot, seed=seed, top_k=1) for seed in range(4)} == {ANSWER}
    assert {text(http, **hot, seed=seed, min_p=1.0) for seed in range(4)} == {ANSWER}


def test_request_id_names_the_response_and_truncation_counts_tokens(http):
    assert chat(http, request_id="lesson-2")["id"] == "chatcmpl-lesson-2"
    assert chat(http, rid="sg-1")["id"] == "chatcmpl-sg-1"
    assert chat(http, truncate_prompt_tokens=5)["usage"]["prompt_tokens"] == 5
