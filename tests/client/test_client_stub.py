"""smol_inference.client against scripted failures: retries, typed errors, API keys, a server that is gone.

Failures a healthy server never gives on demand (429, 503, 424, dropped connections) come from
tests/support/tgi_stub.py. Every loop is bounded by retries or a timeout.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from client_requests import FAST, MESSAGES
from smol_inference import AsyncTGIClient, TGIClient
from smol_inference.client import (
    AuthenticationError,
    GenerationError,
    RetryPolicy,
    UnavailableError,
    ValidationError,
)
from tgi_stub import StubServer


@pytest.fixture()
def stub():
    with StubServer() as server:
        yield server


def _posts(stub: StubServer) -> int:
    return sum(1 for method, _, _ in stub.state.requests if method == "POST")


def test_429_is_retried_then_succeeds(stub: StubServer) -> None:
    stub.state.fail_next(2, 429, "Model is overloaded", "overloaded")
    with TGIClient(stub.url, retry=RetryPolicy(max_retries=3, **FAST)) as client:
        assert client.generate("hi", max_new_tokens=2).details.generated_tokens == 2
    assert _posts(stub) == 3


def test_503_retries_are_bounded(stub: StubServer) -> None:
    stub.state.fail_next(10, 503, "not ready", "healthcheck")
    with TGIClient(stub.url, retry=RetryPolicy(max_retries=2, **FAST)) as client, \
            pytest.raises(UnavailableError) as caught:
        client.chat(MESSAGES, model="m")
    assert caught.value.attempts == 3 and caught.value.status == 503 and _posts(stub) == 3


def test_422_is_never_retried(stub: StubServer) -> None:
    stub.state.fail_next(3, 422, "`temperature` must be strictly positive", "validation")
    with TGIClient(stub.url, retry=RetryPolicy(max_retries=3, **FAST)) as client:
        with pytest.raises(ValidationError) as caught:
            list(client.stream("hi"))
        assert caught.value.error_type == "validation" and "temperature" in caught.value.message
        assert caught.value.attempts == 1 and _posts(stub) == 1


def test_424_maps_to_generation_error(stub: StubServer) -> None:
    stub.state.fail_next(1, 424, "CUDA out of memory", "generation")
    with TGIClient(stub.url, retry=RetryPolicy(**FAST)) as client, pytest.raises(GenerationError):
        client.generate("hi")


def test_api_key_is_sent_and_its_absence_is_typed(stub: StubServer) -> None:
    stub.state.api_key = "secret"
    with TGIClient(stub.url, retry=RetryPolicy(**FAST)) as client, pytest.raises(AuthenticationError) as caught:
        client.generate("hi")
    assert caught.value.status == 401 and caught.value.attempts == 1
    with TGIClient(stub.url, api_key="secret") as client:
        assert client.generate("hi", max_new_tokens=1).generated_text == " w0"
        assert client.chat(MESSAGES, max_tokens=1).choices[0].message.content == " w0"


def test_no_server_is_unavailable_after_bounded_retries() -> None:
    with StubServer() as gone:
        url = gone.url
    with TGIClient(url, retry=RetryPolicy(max_retries=1, **FAST)) as client:
        with pytest.raises(UnavailableError) as caught:
            client.generate("hi")
        assert caught.value.error_type == "connection" and caught.value.attempts == 2
        start = time.monotonic()
        with pytest.raises(UnavailableError):
            client.wait_until_ready(timeout=0.5, interval=0.1)
        assert time.monotonic() - start < 5


def test_stub_roundtrip_and_served_model(stub: StubServer) -> None:
    stub.state.fail_next(2, 503, "loading", "healthcheck")  # /health answers 503 twice, then 200
    with TGIClient(stub.url, retry=RetryPolicy(**FAST)) as client:
        assert client.wait_until_ready(timeout=10, interval=0.05) >= 0
        assert [t.text for t in client.stream("hi", max_new_tokens=3)] == [" w0", " w1", " w2"]
        assert "".join(client.chat_stream(MESSAGES, max_tokens=2)) == " w0 w1"
    chat_bodies = [body for _, path, body in stub.state.requests if path == "/v1/chat/completions"]
    assert chat_bodies[-1]["model"] == "stub-model"  # taken from /v1/models, as vLLM requires


def test_async_retries_and_errors(stub: StubServer) -> None:
    async def scenario() -> None:
        async with AsyncTGIClient(stub.url, retry=RetryPolicy(max_retries=3, **FAST)) as client:
            stub.state.fail_next(1, 429, "Model is overloaded", "overloaded")
            out = await client.generate("hi", max_new_tokens=2)
            assert out.details.generated_tokens == 2
            stub.state.fail_next(1, 422, "bad", "validation")
            with pytest.raises(ValidationError):
                [piece async for piece in client.chat_stream(MESSAGES)]
            assert (await client.metrics()).value("tgi_queue_size") == 3

    asyncio.run(scenario())
