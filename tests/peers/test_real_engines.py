"""The real-engine path (text_generation_inference/serve_and_query.md, "The same deployment with vLLM and SGLang").

With TGI_URL at a vLLM or SGLang server the client still finds the model and its limits, reads the load
gauges under the engine's own names, and TGI-only calls fail in a way the lesson can test for. Servers
are tests/support/peer_stubs.py (exactly the engines' documented routes) and tests/support/tgi_stub.py.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from endpoint_lessons import run_deployment_notebook, run_lesson_two
from peer_stubs import EngineStub
from tgi_stub import StubServer

from smol_inference import TINY_MODEL, AsyncTGIClient, TGIClient
from smol_inference.client import TGIError

MODEL = str(TINY_MODEL)


@pytest.fixture(scope="module")
def vllm():
    with EngineStub("vllm", MODEL) as stub:
        yield stub


@pytest.fixture
def fresh_vllm():
    """A vLLM stub of its own, so that its request log holds only what one test asked."""
    with EngineStub("vllm", MODEL) as stub:
        yield stub


@pytest.fixture(scope="module")
def sglang():
    with EngineStub("sglang", MODEL) as stub:
        yield stub


def test_info_falls_back_to_the_model_listing_on_vllm(vllm: EngineStub) -> None:
    with TGIClient(vllm.url) as client:
        info = client.info()
        assert info == {"model_id": MODEL, "engine": "vllm", "max_total_tokens": 2048}
        assert client.engine() == "vllm" and not client.speaks_tgi()
    asked = [path for method, path in vllm.requests if method == "GET"]
    assert asked[:3] == ["/info", "/v1/models", "/get_model_info"]  # /info 404, listing, SGLang's route 404


def test_info_adds_sglang_model_info(sglang: EngineStub) -> None:
    with TGIClient(sglang.url) as client:
        info = client.info()
    assert info["engine"] == "sglang" and info["model_id"] == MODEL and info["model_path"] == MODEL
    assert info["is_generation"] is True and info["max_total_tokens"] == 2048


def test_tgi_info_is_returned_as_tgi_sends_it() -> None:
    with StubServer() as stub, TGIClient(stub.url) as client:
        info = client.info()
        assert info["router"] == "text-generation-router" and "engine" not in info
        assert client.engine() == "tgi" and client.speaks_tgi()


def test_async_client_has_the_same_fallback(vllm: EngineStub, sglang: EngineStub) -> None:
    async def main() -> tuple[str, str, dict]:
        async with AsyncTGIClient(vllm.url) as a, AsyncTGIClient(sglang.url) as b:
            return await a.engine(), await b.engine(), await a.info()

    engine_a, engine_b, info = asyncio.run(main())
    assert (engine_a, engine_b, info["model_id"]) == ("vllm", "sglang", MODEL)


@pytest.mark.parametrize("engine", ["vllm", "sglang"])
def test_chat_runs_and_tgi_generation_fails_with_404(engine: str, request: pytest.FixtureRequest) -> None:
    stub: EngineStub = request.getfixturevalue(engine)
    with TGIClient(stub.url) as client:
        reply = client.chat([{"role": "user", "content": "hi"}], max_tokens=3)
        assert reply.choices[0].message.content == " w0 w1 w2"
        assert "".join(client.chat_stream([{"role": "user", "content": "hi"}], max_tokens=2)) == " w0 w1"
        assert client.served_model() == MODEL
        with pytest.raises(TGIError) as caught:
            client.generate("hi", max_new_tokens=2)  # POST / is TGI's: not there
    assert caught.value.status in (404, 405)


@pytest.mark.parametrize("engine,queued", [("vllm", "vllm:num_requests_waiting"),
                                           ("sglang", "sglang:num_queue_reqs")])
def test_metrics_read_the_engines_own_gauges_and_ttft(engine: str, queued: str,
                                                      request: pytest.FixtureRequest) -> None:
    stub: EngineStub = request.getfixturevalue(engine)
    with TGIClient(stub.url) as client:
        before = client.metrics()
        assert before.engine() == engine and queued in before
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda _: client.chat([{"role": "user", "content": "x"}], max_tokens=4), range(4)))
        after = client.metrics()
    waiting, running = after.load()
    assert (waiting, running) == (0.0, 0.0)  # all done
    assert after.count(f"{engine}:time_to_first_token_seconds") >= before.count(
        f"{engine}:time_to_first_token_seconds") + 4
    ttft = after.time_to_first_token(0.5)
    assert 0 < ttft < 5, ttft


def test_metrics_load_under_way_counts_running_requests(vllm: EngineStub) -> None:
    """A request in flight shows in vLLM's running gauge (observed while a long stream is open)."""
    with TGIClient(vllm.url) as client:
        stream = client.chat_stream([{"role": "user", "content": "x"}], max_tokens=400)
        next(stream)  # the request is running now, and will be for about a second more
        _, running = client.metrics().load()
        stream.close()
    assert running >= 1


def test_tgi_metrics_keep_tgi_names() -> None:
    with StubServer() as stub, TGIClient(stub.url) as client:
        metrics = client.metrics()
    assert metrics.engine() == "tgi" and metrics.load() == (3.0, 0.0)
    assert metrics.queue_time(0.5) == metrics.quantile("tgi_request_queue_duration", 0.5)


def test_load_without_known_gauges_says_so() -> None:
    from smol_inference.client import Metrics

    with pytest.raises(ValueError, match="load gauges"):
        Metrics.parse("# TYPE other gauge\nother 1\n").load()


def test_lesson_two_notebook_runs_against_a_vllm_endpoint(fresh_vllm: EngineStub,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """notebooks/tgi_deployment.ipynb, top to bottom, with TGI_URL at "a vLLM": no cell may fail."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    outputs = run_deployment_notebook(fresh_vllm.url, monkeypatch)
    assert "with vllm" in outputs and "vllm:* metrics" in outputs
    assert ("GET", "/v1/models") in fresh_vllm.requests and ("GET", "/metrics") in fresh_vllm.requests
    assert not [r for r in fresh_vllm.requests if r[1] in ("/", "/generate", "/generate_stream")], \
        "a TGI-only route was asked of vLLM"


def test_lesson_two_runs_against_a_vllm_endpoint(fresh_vllm: EngineStub, monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    """Every block of every lesson-2 page with TGI_URL at "a vLLM": TGI-only blocks skip, none fail."""
    output = run_lesson_two(fresh_vllm.url, monkeypatch, tmp_path)
    assert "needs TGI; skipped on vllm" in output and "(vllm)" in output
    # the curl block posts to /generate and /generate_stream on whatever TGI_URL names (TGI's routes, 404
    # there); the Python blocks, guarded by speaks_tgi(), never use TGI's POST / (generate, text_generation)
    assert ("POST", "/") not in fresh_vllm.requests
