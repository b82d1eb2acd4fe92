"""An exception inside a model step fails only the requests in that step (424 `generation`, or an
error event once a stream started); the server keeps serving and counts the failures."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from conftest import WAIT_S, start_test_server, metric, sse_events

TRIGGER = "boom"


class FaultyModel:
    """The real model, except that a prefill containing the trigger's tokens raises."""

    def __init__(self, model: Any, trigger_ids: list[int]) -> None:
        self._model, self._trigger = model, trigger_ids

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def __call__(self, **kwargs: Any) -> Any:
        ids = kwargs["input_ids"]                                    # [B, L]
        if ids.shape[1] >= len(self._trigger) and any(
                ids[row, -len(self._trigger):].tolist() == self._trigger for row in range(ids.shape[0])):
            raise RuntimeError("simulated device failure")
        return self._model(**kwargs)


@pytest.fixture(scope="module")
def faulty(tiny_model):
    model, tokenizer, context = tiny_model
    trigger = tokenizer(TRIGGER)["input_ids"]
    handle = start_test_server((FaultyModel(model, trigger), tokenizer, context))
    with httpx.Client(base_url=handle.url, timeout=WAIT_S) as client:
        yield client
    handle.stop()


def test_failing_step_gives_424_and_server_survives(faulty):
    failed = faulty.post("/generate", json={"inputs": TRIGGER, "parameters": {"max_new_tokens": 4}})
    assert failed.status_code == 424
    assert failed.json() == {"error": "Request failed during generation", "error_type": "generation"}
    with faulty.stream("POST", "/generate_stream", json={"inputs": TRIGGER}) as response:
        events = sse_events(response.iter_lines())
    assert response.status_code == 200 and json.loads(events[-1])["error_type"] == "generation"
    ok = faulty.post("/generate", json={"inputs": "Hello", "parameters": {"max_new_tokens": 3}})
    assert ok.status_code == 200 and faulty.get("/health").status_code == 200
    assert metric(faulty.get("/metrics").text, "tgi_request_failure", 'err="generation"') == 2
    assert metric(faulty.get("/metrics").text, "tgi_batch_inference_count", 'method="prefill"') > \
        metric(faulty.get("/metrics").text, "tgi_batch_inference_success", 'method="prefill"')
