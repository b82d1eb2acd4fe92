"""smol_inference.client against the real endpoint: info, generate, chat, typed errors, metrics, async.

The endpoint is $TGI_URL when set (real TGI via `make test-docker`), else the course server started
on 127.0.0.1 (tests/support/served.py). Units are in tests/client/test_client_units.py, scripted failures on a stub
in tests/client/test_client_stub.py. Every loop is bounded by retries or a timeout.
"""

from __future__ import annotations

import asyncio
import math
import time

import pytest
from client_requests import MESSAGES, PROMPT
from served import endpoint, is_course_server
from smol_inference import AsyncTGIClient, TGIClient, settings
from smol_inference.client import RetryPolicy, ValidationError


@pytest.fixture(scope="module")
def client():
    with TGIClient(endpoint(), retry=RetryPolicy(max_retries=2, initial_delay_s=0.1, max_delay_s=0.5)) as c:
        c.wait_until_ready(timeout=settings.CLIENT_READY_TIMEOUT_S)
        yield c


def test_info_has_tgi_fields(client: TGIClient) -> None:
    info = client.info()
    for key in ("model_id", "max_input_tokens", "max_total_tokens", "max_concurrent_requests"):
        assert key in info, key
    assert client.health() is True


def test_generate_details_and_stream_agree(client: TGIClient) -> None:
    out = client.generate(PROMPT, max_new_tokens=16, do_sample=False)
    assert out.details is not None and out.details.generated_tokens == len(out.details.tokens) >= 1
    assert out.details.finish_reason in ("length", "eos_token", "stop_sequence")
    events = list(client.stream_events(PROMPT, max_new_tokens=16, do_sample=False))
    assert events[-1].details.generated_tokens == out.details.generated_tokens == len(events)
    assert events[-1].generated_text == out.generated_text
    streamed = "".join(t.text for t in client.stream(PROMPT, max_new_tokens=16, do_sample=False))
    assert streamed == out.generated_text
    if is_course_server():
        assert out.generated_text == "7 plus 5 is 12."


def test_chat_and_chat_stream(client: TGIClient) -> None:
    answer = client.chat(MESSAGES, max_tokens=12, temperature=0.01, seed=1)
    text = answer.choices[0].message.content
    assert text and answer.usage.completion_tokens >= 1
    pieces = list(client.chat_stream(MESSAGES, max_tokens=12, temperature=0.01, seed=1))
    assert len(pieces) >= 1 and "".join(pieces).strip()
    if is_course_server():
        assert "12" in text


def test_validation_error_is_typed_and_not_retried(client: TGIClient) -> None:
    with pytest.raises(ValidationError) as caught:
        client.generate("hi", max_new_tokens=4, temperature=-1.0)
    assert caught.value.status == 422 and caught.value.error_type == "validation" and caught.value.attempts == 1
    assert caught.value.message.startswith("Input validation error: ")


def test_metrics_move_with_requests(client: TGIClient) -> None:
    before = client.metrics()
    client.generate("hi", max_new_tokens=3)
    after = client.metrics()
    deadline = time.monotonic() + 5  # bounded: metrics may be recorded just after the answer is sent
    while after.value("tgi_request_count") < before.value("tgi_request_count") + 1 and time.monotonic() < deadline:
        time.sleep(0.1)
        after = client.metrics()
    assert after.value("tgi_request_count") >= before.value("tgi_request_count") + 1
    assert after.count("tgi_request_duration") >= before.count("tgi_request_duration") + 1
    assert math.isfinite(after.quantile("tgi_request_duration", 0.9))
    assert after.time_to_first_token(0.5) >= 0


def test_async_client_runs_requests_concurrently(client: TGIClient) -> None:
    async def scenario() -> list[int]:
        async with AsyncTGIClient(client.base_url) as aclient:
            await aclient.wait_until_ready(timeout=30)
            outs = await asyncio.gather(*(aclient.generate(PROMPT.replace("7", str(i)), max_new_tokens=4)
                                          for i in range(3)))
            return [o.details.generated_tokens for o in outs]

    assert all(1 <= n <= 4 for n in asyncio.run(scenario()))


def test_offline_mode_blocks_the_hub_but_not_your_own_server(monkeypatch):
    """HF_HUB_OFFLINE=1 (how `make test` runs) must not stop TGIClient from reaching a local server."""
    import huggingface_hub
    from huggingface_hub.errors import OfflineModeIsEnabled
    from huggingface_hub.utils import get_session

    from smol_inference.client.offline import allow_own_endpoints, is_hub_host

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    allow_own_endpoints()
    assert is_hub_host("huggingface.co") and is_hub_host("router.huggingface.co") and not is_hub_host("127.0.0.1")
    with pytest.raises(OfflineModeIsEnabled):
        get_session().get("https://huggingface.co/api/models/gpt2")
    assert get_session().get(f"{endpoint()}/health").status_code == 200
