"""smol_inference.client: units, scripted failures on a stub, and the real endpoint.

The endpoint is $TGI_URL when set (real TGI via `make test-docker`), else the course server started
on 127.0.0.1 (tests/served.py). Failures a healthy server never gives on demand (429, 503, 424,
dropped connections) come from tests/tgi_stub.py. Every loop is bounded by retries or a timeout.
"""

from __future__ import annotations

import asyncio
import math
import random
import time

import pytest
from served import endpoint, is_course_server
from smol_inference import AsyncTGIClient, TGIClient, settings
from smol_inference.client import (
    AuthenticationError,
    GenerationError,
    Metrics,
    OverloadedError,
    RetryPolicy,
    TGIError,
    UnavailableError,
    ValidationError,
    histogram_quantile,
)
from smol_inference.client._common import model_from_listing, resolve_base_url
from smol_inference.client.errors import from_payload
from tgi_stub import StubServer

FAST = dict(initial_delay_s=0.01, max_delay_s=0.02)
MESSAGES = [{"role": "user", "content": "What is 7 plus 5?"}]
#: A raw /generate prompt in ChatML, the bundled model's template (TGI applies no template on /generate).
PROMPT = "<|im_start|>user\nWhat is 7 plus 5?<|im_end|>\n<|im_start|>assistant\n"


# -- units -------------------------------------------------------------------------------------------
def test_retry_policy_delays_grow_are_capped_and_jittered() -> None:
    policy = RetryPolicy(initial_delay_s=0.1, max_delay_s=1.0, jitter=0.5, rng=random.Random(0))
    for k in range(8):
        base = min(1.0, 0.1 * 2**k)
        assert base * 0.5 <= policy.delay(k) <= base
    assert policy.delay(0, retry_after=0.7) == pytest.approx(0.7)
    assert policy.delay(0, retry_after=60) == 1.0  # Retry-After never beyond max_delay_s
    assert len({RetryPolicy(jitter=0.5).delay(3) for _ in range(20)}) > 1
    for bad in (dict(max_retries=-1), dict(jitter=2), dict(multiplier=0.5), dict(initial_delay_s=5, max_delay_s=1)):
        with pytest.raises(ValueError):
            RetryPolicy(**bad)


def test_error_classes_follow_tgi_status_table() -> None:
    cases = {(422, "validation"): ValidationError, (422, "template_error"): ValidationError,
             (424, "generation"): GenerationError, (500, "incomplete_generation"): GenerationError,
             (429, "overloaded"): OverloadedError, (503, "healthcheck"): UnavailableError,
             (None, "overloaded"): OverloadedError, (418, "teapot"): TGIError}
    for (status, error_type), cls in cases.items():
        error = from_payload({"error": "msg", "error_type": error_type}, status=status)
        assert type(error) is cls and error.error_type == error_type and error.message == "msg"
    openai_style = from_payload({"object": "error", "message": "too long", "type": "BadRequestError"}, 400)
    assert openai_style.message == "too long" and openai_style.error_type == "BadRequestError"
    assert OverloadedError("x").retryable and UnavailableError("x").retryable
    assert not ValidationError("x").retryable and not GenerationError("x").retryable


def test_errors_are_recognised_by_tgis_prefixes() -> None:
    """A body or streamed event without `error_type` is classified by TGI's `InferError` wording."""
    cases = {"Input validation error: `inputs` cannot be empty": (ValidationError, "validation"),
             "Request failed during generation: CUDA out of memory": (GenerationError, "generation"),
             "Template error: unknown role": (ValidationError, "template_error"),
             "Model is overloaded": (OverloadedError, "overloaded"), "something else": (TGIError, None)}
    for message, (cls, error_type) in cases.items():
        error = from_payload({"error": message})
        assert type(error) is cls and error.error_type == error_type, message


def test_histogram_quantile_matches_promql() -> None:
    buckets = [(0.1, 5.0), (0.2, 8.0), (float("inf"), 10.0)]
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.1)
    assert histogram_quantile(0.65, buckets) == pytest.approx(0.15)
    assert histogram_quantile(0.99, buckets) == pytest.approx(0.2)  # +Inf bucket: largest finite bound
    assert math.isnan(histogram_quantile(0.5, [(1.0, 0.0), (float("inf"), 0.0)]))
    with pytest.raises(ValueError):
        histogram_quantile(1.5, buckets)


def test_metrics_parse_values_names_and_ttft() -> None:
    from tgi_stub import METRICS_TEXT

    metrics = Metrics.parse(METRICS_TEXT)
    assert {"tgi_request_count", "tgi_queue_size", "tgi_request_queue_duration"} <= metrics.names()
    assert metrics.value("tgi_request_failure") == 3 and metrics.value("tgi_request_failure", err="validation") == 2
    assert metrics.count("tgi_request_queue_duration") == 10 and metrics.mean("tgi_request_queue_duration") == 0.15
    assert metrics.quantile("tgi_batch_inference_duration", 0.5, method="prefill") == pytest.approx(0.25)
    assert metrics.time_to_first_token(0.5) == pytest.approx(0.1 + 0.25)


def test_base_url_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.ENV_TGI_URL, "http://example.invalid:81/v1/")
    assert resolve_base_url(None) == "http://example.invalid:81"
    monkeypatch.delenv(settings.ENV_TGI_URL)
    assert resolve_base_url(None) == f"http://{settings.DEFAULT_HOST}:{settings.DEFAULT_SERVER_PORT}"
    with pytest.raises(ValueError):
        resolve_base_url("localhost:8080")
    assert model_from_listing({"id": "m"}) == "m" and model_from_listing({"data": [{"id": "v"}]}) == "v"


# -- scripted failures (stub) --------------------------------------------------------------------------
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


# -- the real endpoint ---------------------------------------------------------------------------------
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
