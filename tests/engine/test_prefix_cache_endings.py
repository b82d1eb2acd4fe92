"""Every way a request ends leaves its computed full blocks in the prefix cache.

A block is registered as soon as its KV is computed (vLLM registers cached blocks after each
forward), so a request that finishes, stops, is cancelled or fails at its first token still leaves
its prompt for the next request with the same prefix: scoring calls with `max_new_tokens: 1` hit.
Shared prefixes stay under the bundled model's 512-token context.
"""

from __future__ import annotations

import time

import httpx
import pytest
from huggingface_hub import InferenceClient

from conftest import POLL_S, WAIT_S, metric
from engine_helpers import make_engine, run_ids, settle
from smol_inference.server.engine import engine as engine_module

PREFIX_TOKENS = 400      # shared prefix: 25 full blocks of 16, below the 512-token context
REPEATS = 3


def shared_prompt(tokenizer) -> str:
    """A prompt of about PREFIX_TOKENS tokens (the bundled tokenizer, no special tokens)."""
    words = " ".join(f"item {i} is on the shelf." for i in range(80))
    ids = tokenizer(words, add_special_tokens=False)["input_ids"][:PREFIX_TOKENS]
    return tokenizer.decode(ids)


def hits(client: httpx.Client) -> tuple[float, float]:
    text = client.get("/metrics").text
    return metric(text, "vllm:prefix_cache_hits_total"), metric(text, "vllm:prefix_cache_queries_total")


def end_by_length(url: str, prompt: str) -> None:
    out = InferenceClient(url, timeout=WAIT_S).text_generation(prompt, max_new_tokens=1, details=True)
    assert out.details.finish_reason == "length" and out.details.generated_tokens == 1


def end_by_stop(url: str, prompt: str) -> None:
    client = InferenceClient(url, timeout=WAIT_S)
    first = client.text_generation(prompt, max_new_tokens=1, details=True).details.tokens[0].text
    out = client.text_generation(prompt, max_new_tokens=20, stop=[first], details=True)
    assert out.details.finish_reason == "stop_sequence" and out.details.generated_tokens == 1


def end_by_cancel(url: str, prompt: str) -> None:
    body = {"inputs": prompt, "parameters": {"max_new_tokens": 50}}
    with httpx.Client(base_url=url, timeout=WAIT_S) as client, \
            client.stream("POST", "/generate_stream", json=body) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                break                                       # leave after the first token


@pytest.mark.parametrize("end", [end_by_length, end_by_stop, end_by_cancel], ids=["length", "stop", "cancel"])
def test_requests_ending_at_their_first_token_leave_the_prefix_cached(server, tiny_model, end):
    prompt = shared_prompt(tiny_model[1])
    with httpx.Client(base_url=server.url, timeout=WAIT_S) as client:
        before_hits, before_queries = hits(client)
        for _ in range(REPEATS):
            end(server.url, prompt)
        for _ in range(int(WAIT_S / POLL_S)):             # the engine updates its counters after its step
            after_hits, after_queries = hits(client)
            if after_queries - before_queries >= REPEATS * PREFIX_TOKENS:
                break
            time.sleep(POLL_S)
    looked_up = after_queries - before_queries
    found = after_hits - before_hits
    assert looked_up >= REPEATS * PREFIX_TOKENS
    # Every repeat after the first finds the whole prefix's full blocks but the last token's block.
    assert found >= (REPEATS - 1) * (PREFIX_TOKENS - 16), f"{found} of {looked_up} prompt tokens hit"


def test_a_request_failed_at_sampling_leaves_its_computed_prefix(tiny_model, monkeypatch):
    model, tokenizer, context = tiny_model
    engine = make_engine(model, tokenizer, context)
    ids = tokenizer(shared_prompt(tokenizer), add_special_tokens=False)["input_ids"]
    real = engine_module.sample_batch

    def failing(logits, seqs):
        raise RuntimeError("sampler fault")

    try:
        monkeypatch.setattr(engine_module, "sample_batch", failing)
        out = run_ids(engine, [ids], max_new=4)
        assert out.errors                                 # the first request failed after its prefill
        settle(engine)
        monkeypatch.setattr(engine_module, "sample_batch", real)
        before = engine.pool.hits
        out = run_ids(engine, [ids], max_new=1)
        assert not out.errors
        assert engine.pool.hits - before >= (len(ids) - 1) // 16 * 16
    finally:
        engine.stop(5)


def test_a_preempted_request_finds_its_computed_blocks_when_it_comes_back(tiny_model):
    """Recompute preemption (vLLM's): the blocks freed by preemption stay cached, so the recompute hits."""
    from engine_helpers import prompt_ids

    model, tokenizer, context = tiny_model
    questions = ["What is the capital of France?", "Hi", "What is 7 plus 5? Answer in one short sentence please.",
                 "What is the capital of Japan?", "Name a colour."]
    engine = make_engine(model, tokenizer, context, max_total_tokens=64, max_batch_total_tokens=96,
                         kv_block_size=4, max_batch_prefill_tokens=64)
    try:
        out = run_ids(engine, [prompt_ids(tokenizer, q) for q in questions], 24)
        settle(engine)
        assert not out.errors and engine.scheduler.preempted > 0
        assert engine.pool.hits > 0
    finally:
        engine.stop(5)
