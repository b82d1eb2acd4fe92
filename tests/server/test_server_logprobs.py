"""Log-probabilities are real numbers on every route: the raw model distribution,
whatever top_p, temperature or top_k truncated before the draw (sampling/sampler.py)."""

from __future__ import annotations

import math

import httpx
import pytest

from conftest import WAIT_S

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
#: The request from the issue: top_p 0.3 used to report 0.0 for the chosen token and null for the rest.
TRUNCATING = {"logprobs": True, "top_logprobs": 5, "top_p": 0.3, "temperature": 1.0, "seed": 1}


@pytest.fixture(scope="module")
def oai(server):
    from openai import OpenAI

    return OpenAI(base_url=server.url + "/v1", api_key="-", timeout=WAIT_S, max_retries=0)


def check_position(logprob: float, top: list[tuple[str, float]], width: int) -> None:
    """Finite, sorted best first, and the chosen token among the top ones whenever it ranks there."""
    values = [value for _, value in top]
    assert len(top) == width
    assert all(isinstance(v, float) and math.isfinite(v) and v <= 0 for v in [logprob, *values])
    assert values == sorted(values, reverse=True)
    assert sum(math.exp(v) for v in values) <= 1 + 1e-4
    if logprob >= values[-1]:
        assert any(v == pytest.approx(logprob, abs=1e-6) for v in values)


def test_chat_logprobs_with_top_p_are_numbers(oai):
    response = oai.chat.completions.create(model="tgi", messages=QUESTION, max_tokens=8, **TRUNCATING)
    content = response.choices[0].logprobs.content
    assert len(content) == response.usage.completion_tokens
    for entry in content:
        check_position(entry.logprob, [(t.token, t.logprob) for t in entry.top_logprobs], 5)
    assert any(entry.top_logprobs[1].logprob < entry.top_logprobs[0].logprob < 0 for entry in content)


def test_streamed_chat_logprobs_match_the_blocking_answer(oai):
    blocking = oai.chat.completions.create(model="tgi", messages=QUESTION, max_tokens=8, **TRUNCATING)
    chunks = list(oai.chat.completions.create(model="tgi", messages=QUESTION, max_tokens=8, stream=True,
                                              **TRUNCATING))
    streamed = [entry for chunk in chunks if chunk.choices and chunk.choices[0].logprobs
                for entry in chunk.choices[0].logprobs.content]
    assert [e.logprob for e in streamed] == [e.logprob for e in blocking.choices[0].logprobs.content]


def test_generate_details_and_top_tokens_are_numbers(server):
    body = {"inputs": "The capital of France is", "parameters": {
        "max_new_tokens": 8, "details": True, "decoder_input_details": True, "top_n_tokens": 3, "top_p": 0.3,
        "top_k": 2, "temperature": 0.7, "seed": 1}}
    details = httpx.post(server.url + "/generate", json=body, timeout=WAIT_S).json()["details"]
    assert details["prefill"][0]["logprob"] is None                  # TGI: the first prompt token has none
    assert all(math.isfinite(t["logprob"]) for t in details["prefill"][1:])
    for token, top in zip(details["tokens"], details["top_tokens"], strict=True):
        check_position(token["logprob"], [(t["text"], t["logprob"]) for t in top], 3)
