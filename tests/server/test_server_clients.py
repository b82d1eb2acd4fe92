"""Real clients work unchanged against the course server: huggingface_hub.InferenceClient and openai."""

from __future__ import annotations

import pytest

from conftest import WAIT_S

CAPITAL = "What is the capital of France?"


@pytest.fixture(scope="module")
def hf(server):
    """A plain InferenceClient on the local server, unpatched: in the course's environment (`make test`
    clears HF_HUB_OFFLINE, and model choice never sets it) a learner's own client must just work."""
    from huggingface_hub import InferenceClient

    return InferenceClient(base_url=server.url, timeout=WAIT_S)


@pytest.fixture(scope="module")
def oai(server):
    from openai import OpenAI

    return OpenAI(base_url=server.url + "/v1", api_key="-", timeout=WAIT_S, max_retries=0)


def test_inference_client_text_generation_with_details(hf, chat_text):
    out = hf.text_generation(chat_text(CAPITAL), max_new_tokens=20, details=True, decoder_input_details=True)
    assert "Paris" in out.generated_text
    assert out.details.finish_reason == "eos_token" and out.details.generated_tokens == len(out.details.tokens)
    assert out.details.prefill and out.details.tokens[-1].special


def test_inference_client_text_generation_stream(hf, chat_text):
    events = list(hf.text_generation(chat_text(CAPITAL), max_new_tokens=20, stream=True, details=True))
    assert events[-1].details.finish_reason == "eos_token" and "Paris" in events[-1].generated_text
    tokens = list(hf.text_generation(chat_text(CAPITAL), max_new_tokens=20, stream=True))
    assert "Paris" in "".join(tokens)


def test_inference_client_chat_completion(hf):
    messages = [{"role": "user", "content": CAPITAL}]
    reply = hf.chat_completion(messages, max_tokens=20, temperature=0)
    assert "Paris" in reply.choices[0].message.content
    chunks = list(hf.chat_completion(messages, max_tokens=20, temperature=0, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == reply.choices[0].message.content


def test_openai_chat_and_completions(oai):
    messages = [{"role": "user", "content": CAPITAL}]
    reply = oai.chat.completions.create(model="tgi", messages=messages, max_tokens=20, temperature=0)
    assert "Paris" in reply.choices[0].message.content and reply.choices[0].finish_reason == "stop"
    assert reply.usage.completion_tokens > 0
    stream = oai.chat.completions.create(model="tgi", messages=messages, max_tokens=20, temperature=0, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream) == reply.choices[0].message.content
    completion = oai.completions.create(model="tgi", prompt="Hello", max_tokens=4, temperature=0)
    assert completion.choices[0].text and completion.choices[0].finish_reason in ("stop", "length")
    assert [m.id for m in oai.models.list()] == ["tiny-instruct"]


def test_openai_seeded_sampling_is_reproducible(oai):
    messages = [{"role": "user", "content": "Tell me a story."}]
    first, second = (oai.chat.completions.create(model="tgi", messages=messages, max_tokens=12, temperature=1.0,
                                                 seed=1234).choices[0].message.content for _ in range(2))
    assert first == second
