"""Constrained decoding over HTTP on the bundled model: TGI's `grammar`, OpenAI's `response_format`.

The validity target: every one of 200 generated (schema, prompt, seed) cases, sampled, is JSON that
the schema validates. The schemas bound every string (pattern) and number, so a well-formed answer
always fits in max_new_tokens: a failure can only be a grammar that let a wrong token through.
"""

from __future__ import annotations

import itertools
import json
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from jsonschema import Draft202012Validator

from conftest import WAIT_S

WORD = {"type": "string", "pattern": "^[a-z]{1,6}$"}
SCHEMAS = [
    {"type": "object", "properties": {"name": WORD, "age": {"type": "integer", "minimum": 0, "maximum": 120}},
     "required": ["name", "age"]},
    {"type": "object", "properties": {"city": {"type": "string", "enum": ["Paris", "Tokyo", "Lima"]},
                                      "sunny": {"type": "boolean"}}, "required": ["city", "sunny"]},
    {"type": "object", "properties": {"tags": {"type": "array", "items": WORD, "minItems": 1, "maxItems": 2}},
     "required": ["tags"]},
    {"type": "object", "properties": {"point": {"type": "object", "properties": {
        "x": {"type": "integer", "minimum": -9, "maximum": 9}, "y": {"type": "integer", "minimum": -9, "maximum": 9}},
        "required": ["x", "y"]}, "label": {"anyOf": [WORD, {"type": "null"}]}}, "required": ["point", "label"]},
    {"type": "object", "properties": {"answer": {"type": "string", "enum": ["yes", "no"]},
                                      "score": {"type": "integer", "minimum": 1, "maximum": 5}},
     "required": ["answer"]},
]
PROMPTS = ["What is 7 plus 5?", "What is the capital of France?", "Tell me about yourself.", "Hello!",
           "Describe a cat.", "Where is Lima?", "Give me a number.", "Is it sunny?"]
SEEDS = [1, 2, 3, 4, 5]
MAX_NEW_TOKENS = 64


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=WAIT_S * 3) as client:
        yield client


def generate(http: httpx.Client, inputs: str, grammar: dict, seed: int, max_new_tokens: int = MAX_NEW_TOKENS) -> str:
    response = http.post("/generate", json={"inputs": inputs, "parameters": {
        "do_sample": True, "temperature": 1.0, "seed": seed, "max_new_tokens": max_new_tokens, "grammar": grammar}})
    assert response.status_code == 200, response.text
    return response.json()["generated_text"]


def test_two_hundred_sampled_cases_are_all_schema_valid(http, chat_text):
    cases = list(itertools.product(range(len(SCHEMAS)), PROMPTS, SEEDS))
    assert len(cases) >= 200

    def run(case: tuple[int, str, int]) -> tuple[tuple, str]:
        index, prompt, seed = case
        return case, generate(http, chat_text(prompt), {"type": "json", "value": SCHEMAS[index]}, seed)

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(run, cases))
    failures = []
    for (index, prompt, seed), text in results:
        try:
            Draft202012Validator(SCHEMAS[index]).validate(json.loads(text))
        except Exception as exc:  # noqa: BLE001 - collect every failure with its case
            failures.append((index, prompt, seed, text, str(exc)[:80]))
    assert not failures, failures[:5]
    assert len({text for _, text in results}) > len(SCHEMAS)      # sampling really varied the answers


def test_unconstrained_tiny_model_does_not_write_the_json(http, chat_text):
    """Why constraints matter: asked plainly, the 0.8 M-parameter model answers in free text."""
    prompt = chat_text("Reply in JSON with keys name and age.")
    response = http.post("/generate", json={"inputs": prompt, "parameters": {"max_new_tokens": 40, "seed": 1,
                                                                             "do_sample": True}})
    with pytest.raises(ValueError):
        Draft202012Validator(SCHEMAS[0]).validate(json.loads(response.json()["generated_text"]))


def test_regex_grammar_on_generate_stream_and_compat_route(http, chat_text):
    grammar = {"type": "regex", "value": r"(yes|no), [0-9]{3}"}
    with http.stream("POST", "/generate_stream", json={"inputs": chat_text("Yes or no?"), "parameters": {
            "max_new_tokens": 20, "grammar": grammar, "do_sample": True, "seed": 7}}) as response:
        events = [json.loads(line[5:]) for line in response.iter_lines() if line.startswith("data:")]
    assert re.fullmatch(grammar["value"], events[-1]["generated_text"])
    compat = http.post("/", json={"inputs": chat_text("Yes or no?"), "parameters": {"max_new_tokens": 20,
                                                                                    "grammar": grammar}})
    assert compat.status_code == 200 and re.fullmatch(grammar["value"], compat.json()[0]["generated_text"])


BAD_GRAMMARS = [
    ({"type": "json", "value": {"type": "object"}}, "grammar is not valid: Grammar must have a 'properties' field"),
    ({"type": "json", "value": {"properties": {"a": {"type": "strin"}}}}, "grammar is not valid: "),
    ({"type": "json", "value": "{not json"}, "grammar is not valid: "),
    ({"type": "json", "value": {"properties": {"a": {"type": "string"}}, "if": {"required": ["a"]}, "then": {}}},
     "grammar is not valid: Unimplemented keys"),
    ({"type": "regex", "value": "[a-"}, "grammar is not valid: "),
    ({"type": "xml", "value": "<a/>"}, "Failed to deserialize the JSON body"),
]


@pytest.mark.parametrize("grammar, message", BAD_GRAMMARS, ids=[m[:30] for _, m in BAD_GRAMMARS])
def test_bad_grammars_get_tgi_422(http, grammar, message):
    response = http.post("/generate", json={"inputs": "Hello", "parameters": {"grammar": grammar}})
    assert response.status_code == 422 and response.json()["error_type"] == "validation", response.text
    assert response.json()["error"].removeprefix("Input validation error: ").startswith(message)


def test_response_format_on_chat_and_completions(http):
    schema = {"type": "json_schema", "json_schema": {"name": "yes_no", "strict": True, "schema": SCHEMAS[4]}}
    chat = http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "Is it?"}],
                                                   "response_format": schema, "max_tokens": 40, "seed": 3})
    Draft202012Validator(SCHEMAS[4]).validate(json.loads(chat.json()["choices"][0]["message"]["content"]))
    tgi_form = http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "Is it?"}],
                                                       "response_format": {"type": "json", "value": SCHEMAS[1]},
                                                       "max_tokens": 40})
    Draft202012Validator(SCHEMAS[1]).validate(json.loads(tgi_form.json()["choices"][0]["message"]["content"]))
    anything = http.post("/v1/completions", json={"prompt": ["a", "b"], "response_format": {"type": "json_object"},
                                                  "max_tokens": 40, "seed": 2})
    for choice in anything.json()["choices"]:
        assert choice["finish_reason"] == "length" or isinstance(json.loads(choice["text"]), dict)
    both = http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}],
                                                   "response_format": schema, "tools": []})
    assert both.status_code == 422
    assert both.json() == {"error": "Tool error: Grammar and tools are mutually exclusive", "error_type": "tool_error"}
