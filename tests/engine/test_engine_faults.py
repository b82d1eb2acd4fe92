"""No request is stranded: faults injected at block allocation, prefill chunk, decode and sampling fail
exactly the requests they touch (424 text), free their blocks, and the engine keeps serving; finish,
stop, cancel, deadlines and client disconnects all give every block back."""

from __future__ import annotations

import time

import httpx
import pytest
import torch

from conftest import POLL_S, WAIT_S, metric, start_test_server
from engine_helpers import Collector, make_engine, prompt_ids, run_ids, settle
from server_helpers import SlowNoEosModel
from smol_inference.server.engine import SamplingParams, Sequence, StoppingParams
from smol_inference.server.engine import engine as engine_module
from smol_inference.server.engine.engine import EXPIRED, FAILED, SHUTTING_DOWN

QUESTIONS = ["What is the capital of France?", "Hi", "What is 7 plus 5?", "Name a colour."]


def once(fn, should_fail, exc: Exception):
    """Wrap `fn`: the first call for which should_fail(*args) holds raises `exc`; later calls pass."""
    state = {"fired": False}

    def wrapper(*args, **kwargs):
        if not state["fired"] and should_fail(*args, **kwargs):
            state["fired"] = True
            raise exc
        return fn(*args, **kwargs)
    wrapper.state = state
    return wrapper


def inject(engine, stage: str, monkeypatch) -> dict:
    oom = torch.OutOfMemoryError("simulated out of memory")
    if stage == "allocation":
        hook = once(engine.pool.allocate, lambda: True, oom)
        monkeypatch.setattr(engine.pool, "allocate", hook)
    elif stage == "prefill-chunk":
        hook = once(engine.runner.run, lambda work: any(not w.is_decode for w in work), RuntimeError("boom"))
        monkeypatch.setattr(engine.runner, "run", hook)
    elif stage == "decode":
        hook = once(engine.runner.run, lambda work: all(w.is_decode for w in work), oom)
        monkeypatch.setattr(engine.runner, "run", hook)
    else:
        hook = once(engine_module.sample_batch, lambda logits, seqs: True, RuntimeError("bad sampler"))
        monkeypatch.setattr(engine_module, "sample_batch", hook)
    return hook.state


@pytest.mark.parametrize("stage", ["allocation", "prefill-chunk", "decode", "sampling"])
def test_injected_fault_fails_only_touched_requests(tiny_model, monkeypatch, stage):
    model, tokenizer, context = tiny_model
    engine = make_engine(model, tokenizer, context, max_batch_prefill_tokens=12, kv_block_size=4)
    prompts = [prompt_ids(tokenizer, q) for q in QUESTIONS]
    try:
        state = inject(engine, stage, monkeypatch)
        out = run_ids(engine, prompts, max_new=8)       # returns once every request got a last token or an error
        assert state["fired"]
        assert out.errors and set(out.errors.values()) == {FAILED}
        settle(engine)
        assert list(out.endings.values()) == [1] * len(prompts)   # each request ended exactly once
        assert engine.pool.num_used == 0 and engine.alive
        again = run_ids(engine, prompts[:2], max_new=4)   # the engine keeps serving
        assert not again.errors and all(again.tokens.values())
        settle(engine)
        assert engine.pool.num_used == 0
    finally:
        engine.stop(5)


@pytest.fixture()
def slow_engine(tiny_model):
    model, tokenizer, context = tiny_model
    engine = make_engine(SlowNoEosModel(model, [tokenizer.eos_token_id], 0.01), tokenizer, context,
                         request_timeout_seconds=0.5)
    engine.start()
    yield engine, tokenizer
    engine.stop(5)


def submit(engine, tokenizer, count: int, max_new: int) -> tuple[Collector, list[Sequence]]:
    out = Collector(count)
    seqs = [Sequence(prompt_ids(tokenizer, QUESTIONS[i % 4]), SamplingParams(), StoppingParams(max_new),
                     out.emit_for(i)) for i in range(count)]
    for seq in seqs:
        engine.submit(seq)
    return out, seqs


def test_deadline_fails_and_frees(slow_engine):
    engine, tokenizer = slow_engine
    out, _ = submit(engine, tokenizer, 3, max_new=400)       # 400 slow steps take far longer than 0.5 s
    out.wait(3)
    assert set(out.errors.values()) == {EXPIRED}
    settle(engine)
    assert engine.pool.num_used == 0 and engine.alive


def test_cancel_and_stop_free_every_block(tiny_model):
    model, tokenizer, context = tiny_model
    engine = make_engine(SlowNoEosModel(model, [tokenizer.eos_token_id], 0.01), tokenizer, context)
    engine.start()
    out, seqs = submit(engine, tokenizer, 4, max_new=300)
    for _ in range(int(WAIT_S / POLL_S)):                    # wait until every sequence has a token
        if all(out.tokens.values()):
            break
        time.sleep(POLL_S)
    seqs[0].cancel()
    for _ in range(int(WAIT_S / POLL_S)):
        if seqs[0] not in engine.running:
            break
        time.sleep(POLL_S)
    assert seqs[0] not in engine.running and engine.pool.num_used > 0
    engine.stop(5)
    assert engine.pool.num_used == 0
    assert [out.errors.get(i) for i in range(1, 4)] == [SHUTTING_DOWN] * 3 and 0 not in out.errors


def test_http_disconnect_frees_blocks_and_metrics_show_the_cache(tiny_model, chat_text):
    model, tokenizer, context = tiny_model
    handle = start_test_server((SlowNoEosModel(model, [tokenizer.eos_token_id], 0.01), tokenizer, context))
    try:
        with httpx.Client(base_url=handle.url, timeout=WAIT_S) as client:
            body = {"inputs": chat_text("Tell me a long story about the sea. " * 3),
                    "parameters": {"max_new_tokens": 400}}
            with client.stream("POST", "/generate_stream", json=body) as response:
                for _ in response.iter_lines():
                    break                                     # the client leaves after the first event
            used = None
            for _ in range(int(WAIT_S / POLL_S)):
                used = metric(client.get("/metrics").text, "smol_kv_cache_blocks_used")
                if used == 0:
                    break
                time.sleep(POLL_S)
            assert used == 0
            short = {"inputs": body["inputs"], "parameters": {"max_new_tokens": 2}}
            assert client.post("/generate", json=short).status_code == 200
            text = client.get("/metrics").text
            assert metric(text, "vllm:prefix_cache_hits_total") > 0          # the second request reused the prompt
            assert metric(text, "vllm:prefix_cache_queries_total") >= metric(text, "vllm:prefix_cache_hits_total")
            assert metric(text, "smol_kv_cache_blocks_total") > 0 and metric(text, "tgi_batch_prefill_chunks") >= 2
    finally:
        handle.stop()
