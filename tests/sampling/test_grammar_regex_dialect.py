"""Every grammar form reads `\\d` and `\\w` as ASCII classes (ECMA-262, JSON Schema's `pattern` dialect).

The IP-address grammar of huggingface/text-generation-inference#2318 on /generate, sampled with seeds
42 and 2, once wrote Arabic-Indic and fullwidth digits; a regex grammar, a JSON Schema `pattern` and a
tool argument's `pattern` must all give ASCII only. The pattern is parsed, not edited as text: `\\\\d`
stays a backslash and a `d`, `[^\\d]` a class that excludes 0-9.
"""

from __future__ import annotations

import json
import re

import pytest
from huggingface_hub import InferenceClient

from conftest import WAIT_S

IP = r"((25[0-5]|2[0-4]\d|[01]?\d\d?)\.){3}(25[0-5]|2[0-4]\d|[01]?\d\d?)"
SEEDS = [42, 2, 1, 3, 7]
QUESTION = "What is the IP address of the Google DNS servers?"


def generate(url: str, grammar: dict, seed: int, max_new_tokens: int = 30) -> str:
    client = InferenceClient(url, timeout=WAIT_S)
    return client.text_generation(QUESTION, grammar=grammar, seed=seed, do_sample=True,
                                  max_new_tokens=max_new_tokens)


@pytest.mark.parametrize("seed", SEEDS)
def test_regex_grammar_digits_are_ascii(server, seed):
    text = generate(server.url, {"type": "regex", "value": IP}, seed)
    assert re.fullmatch(IP, text, re.ASCII), f"seed {seed}: {text!r}"


@pytest.mark.parametrize("seed", SEEDS)
def test_json_schema_pattern_digits_and_words_are_ascii(server, seed):
    schema = {"type": "object", "properties": {"ip": {"type": "string", "pattern": f"^{IP}$"},
                                               "word": {"type": "string", "pattern": r"^\w{2,8}$"}},
              "required": ["ip", "word"]}
    out = json.loads(generate(server.url, {"type": "json", "value": schema}, seed, max_new_tokens=60))
    assert re.fullmatch(IP, out["ip"], re.ASCII) and re.fullmatch(r"\w{2,8}", out["word"], re.ASCII), out


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_tool_argument_pattern_digits_are_ascii(server, seed):
    from openai import OpenAI

    tool = {"type": "function", "function": {"name": "ping", "parameters": {
        "type": "object", "properties": {"ip": {"type": "string", "pattern": f"^{IP}$"}}, "required": ["ip"]}}}
    client = OpenAI(base_url=server.url + "/v1", api_key="-", timeout=WAIT_S, max_retries=0)
    out = client.chat.completions.create(model="tgi", messages=[{"role": "user", "content": QUESTION}],
                                         tools=[tool], tool_choice="required", seed=seed,
                                         max_tokens=80, extra_body={"tool_prompt": "Call a function."})
    (call,) = out.choices[0].message.tool_calls
    ip = json.loads(call.function.arguments)["ip"]
    assert re.fullmatch(IP, ip, re.ASCII), ip


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_escaped_backslash_and_negated_class_keep_their_meaning(server, seed):
    text = generate(server.url, {"type": "regex", "value": r"x\\d[^\d]\d"}, seed, max_new_tokens=8)
    assert text[:3] == "x\\d" and not text[3].isdigit() and text[4] in "0123456789", repr(text)


@pytest.mark.parametrize("grammar", [{"type": "regex", "value": r"\w+\b"},
                                     {"type": "json", "value": {"type": "string", "pattern": r"^\w+\b$"}}])
def test_word_boundary_is_a_clear_422(server, grammar):
    """`\\b` is an assertion the grammar engine (llguidance) cannot constrain a generation with: the
    request is refused before generation, never served with another meaning."""
    import httpx

    body = {"inputs": QUESTION, "parameters": {"grammar": grammar, "max_new_tokens": 4}}
    response = httpx.post(server.url + "/generate", json=body, timeout=WAIT_S)
    assert response.status_code == 422 and response.json()["error_type"] == "validation", response.text
