"""smol_inference.client units: retry delays, error classes, PromQL quantiles, metrics parsing, base URL.

No server: tests/client/test_client_stub.py scripts failures on a stub, tests/client/test_client.py talks to a
real endpoint.
"""

from __future__ import annotations

import math
import random

import pytest
from smol_inference import settings
from smol_inference.client import (
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
