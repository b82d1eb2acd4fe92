"""The engine: continuous batching gives the same tokens as running alone; seeds reproduce;
scheduler budgets and launcher-style config derivation behave like TGI's."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conftest import WAIT_S
from smol_inference.server.config import ServerConfig
from smol_inference.server.engine import Engine, SamplingParams, Sequence, StoppingParams
from smol_inference.server.engine.block_pool import BlockPool
from smol_inference.server.engine.block_manager import BlockManager
from smol_inference.server.engine.queue import RequestQueue
from smol_inference.server.engine.scheduler import Scheduler

QUESTIONS = ["What is the capital of France?", "Hi", "What is 7 plus 5? Answer in one short sentence please.",
             "What is the capital of Japan?", "Name a colour."]
MAX_NEW = 16


class Collector:
    """Gathers the tokens of several sequences submitted straight to an Engine (no HTTP)."""

    def __init__(self, count: int) -> None:
        self.tokens: dict[int, list[int]] = {i: [] for i in range(count)}
        self.done = threading.Semaphore(0)

    def emit_for(self, index: int):
        def emit(kind: str, payload) -> None:
            if kind == "token":
                self.tokens[index].append(payload[0].id)
                if payload[2]:
                    self.done.release()
            else:
                self.done.release()
        return emit

    def wait(self, count: int) -> None:
        for _ in range(count):
            assert self.done.acquire(timeout=WAIT_S), "engine did not finish in time"


def prompt_ids(tokenizer, question: str) -> list[int]:
    text = tokenizer.apply_chat_template([{"role": "user", "content": question}], tokenize=False,
                                        add_generation_prompt=True)
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def run_engine(tiny_model, questions, sampling, stagger: bool = False) -> dict[int, list[int]]:
    model, tokenizer, context = tiny_model
    engine = Engine(model, tokenizer, ServerConfig().resolve(context).engine_config())
    out = Collector(len(questions))
    seqs = [Sequence(prompt_ids(tokenizer, q), sampling, StoppingParams(MAX_NEW), out.emit_for(i))
            for i, q in enumerate(questions)]
    half = len(seqs) // 2 if stagger else len(seqs)
    for seq in seqs[:half]:
        engine.submit(seq)
    for _ in range(3 if stagger else 0):          # newcomers join a batch that is already decoding
        engine.step()
    for seq in seqs[half:]:
        engine.submit(seq)
    engine.start()
    try:
        out.wait(len(seqs))
    finally:
        engine.stop(WAIT_S)
    return out.tokens


@pytest.mark.parametrize("stagger", [False, True], ids=["one-prefill", "joining-mid-decode"])
def test_greedy_batch_invariance(tiny_model, stagger):
    alone = [run_engine(tiny_model, [q], SamplingParams())[0] for q in QUESTIONS]
    batched = run_engine(tiny_model, QUESTIONS, SamplingParams(), stagger=stagger)
    assert [batched[i] for i in range(len(QUESTIONS))] == alone


def test_seeded_sampling_is_batch_invariant(tiny_model):
    sampling = SamplingParams(do_sample=True, temperature=1.3, seed=42)
    alone = [run_engine(tiny_model, [q], sampling)[0] for q in QUESTIONS[:3]]
    batched = run_engine(tiny_model, QUESTIONS[:3], sampling, stagger=True)
    assert [batched[i] for i in range(3)] == alone


def test_http_greedy_same_alone_and_concurrent(server, chat_text):
    def ask(question: str) -> str:
        body = {"inputs": chat_text(question), "parameters": {"max_new_tokens": MAX_NEW}}
        return httpx.post(server.url + "/generate", json=body, timeout=WAIT_S).json()["generated_text"]

    alone = [ask(q) for q in QUESTIONS]
    with ThreadPoolExecutor(len(QUESTIONS)) as pool:
        together = list(pool.map(ask, QUESTIONS))
    assert together == alone
    assert "Paris" in alone[0] and "Tokyo" in alone[3]


def test_http_seed_reproducible(server, chat_text):
    body = {"inputs": chat_text("Tell me a story."),
            "parameters": {"do_sample": True, "temperature": 1.5, "seed": 3, "max_new_tokens": MAX_NEW}}
    texts = {httpx.post(server.url + "/generate", json=body, timeout=WAIT_S).json()["generated_text"]
             for _ in range(2)}
    assert len(texts) == 1


def fake(input_length: int, max_new: int) -> Sequence:
    return Sequence([1] * input_length, SamplingParams(), StoppingParams(max_new), lambda *_: None)


def scheduler_for(**flags) -> tuple[Scheduler, RequestQueue]:
    server = ServerConfig(max_total_tokens=100, max_batch_total_tokens=400, kv_block_size=4, **flags)
    config = server.resolve(100).engine_config()
    queue = RequestQueue()
    return Scheduler(config, queue, BlockManager(BlockPool(config.max_batch_total_tokens // 4, 4))), queue


def test_scheduler_chunks_prompts_within_the_prefill_budget():
    scheduler, queue = scheduler_for(max_batch_prefill_tokens=64)
    for _ in range(3):
        queue.append(fake(40, 10))
    step = scheduler.schedule()                    # 40 tokens of the first prompt, 24 of the second
    assert [(w.start, w.length) for w in step] == [(0, 40), (0, 24)] and len(queue) == 1
    for w in step:
        w.seq.num_computed += w.length
    step[0].seq.token_ids.append(7)                # the first one sampled its first token
    step = scheduler.schedule()                    # decode first, then the rest of #2, then #3 starts
    assert [(w.start, w.length) for w in step] == [(40, 1), (24, 16), (0, 40)]


def test_scheduler_without_chunking_uses_tgi_waiting_served_ratio():
    scheduler, queue = scheduler_for(max_batch_prefill_tokens=100, max_batch_size=3, waiting_served_ratio=1.0,
                                     max_waiting_tokens=2, disable_chunked_prefill=True)
    for _ in range(5):
        queue.append(fake(40, 50))
    first = scheduler.schedule()
    assert [w.length for w in first] == [40, 40]   # whole prompts: the budget 100 fits two of 40
    for w in first:
        w.seq.num_computed += w.length
        w.seq.token_ids.append(7)
    for _ in range(2):                             # ratio 1.0 wants 2 newcomers; batch size leaves room for 1
        assert len(scheduler.schedule()) == 2
        for w in first:
            w.seq.num_computed += 1
            w.seq.token_ids.append(7)
    assert len(scheduler.schedule()) == 3          # after max_waiting_tokens steps any newcomer may join
    assert len(queue) == 2


def test_config_derives_and_checks_like_tgi():
    config = ServerConfig().resolve(512)
    assert (config.max_total_tokens, config.max_input_tokens, config.max_batch_prefill_tokens) == (512, 511, 561)
    assert ServerConfig().resolve(32768).max_total_tokens == 4096
    assert ServerConfig(max_batch_size=4).resolve(512).max_batch_prefill_tokens == 4 * 511
    with pytest.raises(ValueError):
        ServerConfig(max_input_tokens=10, max_total_tokens=10)
    with pytest.raises(ValueError):                # only whole-prompt prefill needs room for the longest prompt
        ServerConfig(max_input_tokens=100, max_batch_prefill_tokens=50, disable_chunked_prefill=True)
    assert ServerConfig(max_input_tokens=100, max_batch_prefill_tokens=50).max_batch_prefill_tokens == 50
    with pytest.raises(ValueError, match="model's context"):
        ServerConfig(max_total_tokens=1024).resolve(512)
    assert ServerConfig(max_batch_total_tokens=1000, kv_block_size=16).resolve(512).max_batch_total_tokens == 992
    with pytest.raises(ValueError):
        ServerConfig(dtype="int3")
    with pytest.raises(ValueError):
        ServerConfig(max_concurrent_requests=0)


def test_launcher_flags_use_tgi_names():
    import argparse

    from smol_inference import settings
    from smol_inference.server.lifecycle.launcher import add_arguments, config_from_args

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    defaults = config_from_args(parser.parse_args([]))
    assert (defaults.hostname, defaults.port) == (settings.DEFAULT_HOST, settings.DEFAULT_SERVER_PORT)
    assert defaults.model_id == settings.TINY_MODEL and not defaults.trust_remote_code
    assert defaults.api_key is None and defaults.cors_allow_origin == []
    args = parser.parse_args(["--max-concurrent-requests", "7", "--max-input-length", "100", "--max-total-tokens",
                              "200", "--max-batch-prefill-tokens", "300", "--max-batch-total-tokens", "900",
                              "--max-batch-size", "3", "--waiting-served-ratio", "0.5", "--max-stop-sequences", "2",
                              "--max-top-n-tokens", "1", "--dtype", "bfloat16", "--api-key", "s3cr3t-key",
                              "--payload-limit", "1000", "--trust-remote-code", "--cors-allow-origin", "http://x",
                              "--disable-chunked-prefill", "--kv-block-size", "8", "--device", "cpu"])
    config = config_from_args(args)
    assert (config.max_concurrent_requests, config.max_input_tokens, config.max_total_tokens) == (7, 100, 200)
    assert (config.max_batch_prefill_tokens, config.max_batch_total_tokens, config.max_batch_size) == (300, 900, 3)
    assert (config.waiting_served_ratio, config.max_stop_sequences, config.max_top_n_tokens) == (0.5, 2, 1)
    assert (config.dtype, config.api_key, config.payload_limit) == ("bfloat16", "s3cr3t-key", 1000)
    assert config.trust_remote_code and config.cors_allow_origin == ["http://x"]
    assert config.disable_chunked_prefill and not config.disable_prefix_caching
    assert (config.kv_block_size, config.device) == (8, "cpu")
    assert "s3cr3t-key" not in repr(config)                  # the key never reaches logs through repr
