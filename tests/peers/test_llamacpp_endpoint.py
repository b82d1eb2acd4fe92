"""The OpenAI-API paths lesson 2 teaches, on whatever answers at the endpoint: chat, streaming, usage, errors.

Engine-neutral on purpose: the main pytest pass runs them against the course server (tests/support/served.py),
and `make test-llamacpp` runs them again against llama.cpp's server through TGI_URL, so a misreading
of the OpenAI API shared by the course server and these tests shows up on the real engine. Assertions
follow OpenAI's API reference ("Chat Completions": `usage`, `finish_reason`, `stream_options.include_usage`
puts usage on a last chunk whose `choices` is empty), never one engine's wording.
"""

from __future__ import annotations

import asyncio

import httpx
import openai
import pytest
from served import endpoint
from smol_inference import AsyncTGIClient, TGIClient, settings
from smol_inference.client import TGIError

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
MAX_TOKENS = 12
GREEDY = {"temperature": 0.0, "max_tokens": MAX_TOKENS}


@pytest.fixture(scope="module")
def url() -> str:
    found = endpoint()
    with TGIClient(found) as client:
        client.wait_until_ready(timeout=settings.CLIENT_READY_TIMEOUT_S)
    return found


@pytest.fixture(scope="module")
def model(url: str) -> str:
    with TGIClient(url) as client:
        return client.served_model()


@pytest.fixture(scope="module")
def oa(url: str) -> openai.OpenAI:
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="-", timeout=settings.CLIENT_TIMEOUT_S, max_retries=0)
    yield client
    client.close()


def test_models_route_names_the_model_chat_requests_use(url: str, model: str) -> None:
    listing = httpx.get(f"{url}/v1/models", timeout=30).json()
    ids = [card["id"] for card in listing["data"]] if "data" in listing else [listing["id"]]
    assert model in ids and all(isinstance(i, str) and i for i in ids)


def test_chat_answer_and_usage(oa: openai.OpenAI, model: str) -> None:
    reply = oa.chat.completions.create(model=model, messages=MESSAGES, **GREEDY)
    choice = reply.choices[0]
    assert choice.message.role == "assistant" and isinstance(choice.message.content, str)
    assert choice.message.content.strip(), "empty answer"
    assert choice.finish_reason in ("stop", "length")
    usage = reply.usage
    assert 1 <= usage.completion_tokens <= MAX_TOKENS
    assert usage.prompt_tokens >= len(MESSAGES[0]["content"].split())  # the template adds tokens, never removes
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert (choice.finish_reason == "length") == (usage.completion_tokens == MAX_TOKENS)


def test_max_tokens_stops_with_length(oa: openai.OpenAI, model: str) -> None:
    reply = oa.chat.completions.create(model=model, messages=MESSAGES, temperature=0.0, max_tokens=2)
    assert reply.choices[0].finish_reason == "length" and reply.usage.completion_tokens == 2


def test_stream_is_the_same_answer_with_usage_last(oa: openai.OpenAI, model: str) -> None:
    whole = oa.chat.completions.create(model=model, messages=MESSAGES, **GREEDY)
    chunks = list(oa.chat.completions.create(model=model, messages=MESSAGES, stream=True,
                                             stream_options={"include_usage": True}, **GREEDY))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content  # greedy: the same tokens either way
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == [whole.choices[0].finish_reason]
    last = chunks[-1]
    assert not last.choices and last.usage is not None, "include_usage: usage comes on a last, choice-less chunk"
    assert last.usage.completion_tokens == whole.usage.completion_tokens
    assert all(c.usage is None for c in chunks[:-1])


def test_course_client_chat_paths(url: str) -> None:
    with TGIClient(url) as client:
        reply = client.chat(MESSAGES, **GREEDY)
        pieces = list(client.chat_stream(MESSAGES, **GREEDY))
    assert reply.choices[0].message.content and reply.usage.completion_tokens >= 1
    assert "".join(pieces) == reply.choices[0].message.content


def test_async_client_streams_concurrently(url: str) -> None:
    async def ask(client: AsyncTGIClient, n: int) -> str:
        question = [{"role": "user", "content": f"Count to {n}."}]
        return "".join([piece async for piece in client.chat_stream(question, max_tokens=6, temperature=0.0)])

    async def scenario() -> list[str]:
        async with AsyncTGIClient(url) as client:
            return await asyncio.gather(*(ask(client, n) for n in (2, 3, 4)))

    answers = asyncio.run(scenario())
    assert len(answers) == 3 and all(answer.strip() for answer in answers)


def test_bad_request_is_a_4xx_error_not_a_crash(url: str, oa: openai.OpenAI, model: str) -> None:
    # `messages` must be an array (OpenAI's API reference); engines answer 400 (OpenAI, llama.cpp) or 422 (TGI).
    response = httpx.post(f"{url}/v1/chat/completions", json={"model": model, "messages": "hi"}, timeout=30)
    assert response.status_code in (400, 422), response.text
    body = response.json()
    assert isinstance(body, dict) and ("error" in body or "detail" in body), body
    with pytest.raises(openai.APIStatusError) as caught:
        oa.chat.completions.create(model=model, messages="hi")  # type: ignore[arg-type]  # wrong on purpose
    assert caught.value.status_code in (400, 422)
    with TGIClient(url) as client, pytest.raises(TGIError) as typed:
        client.chat("hi", max_tokens=2)  # type: ignore[arg-type]  # wrong on purpose
    assert typed.value.status in (400, 422) and typed.value.attempts == 1 and str(typed.value)


def test_server_survives_bad_requests(oa: openai.OpenAI, model: str) -> None:
    assert oa.chat.completions.create(model=model, messages=MESSAGES, **GREEDY).choices[0].message.content
