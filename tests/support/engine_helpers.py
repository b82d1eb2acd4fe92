"""Helpers for the engine tests: run sequences straight through an Engine (no HTTP), build tiny models."""

from __future__ import annotations

import threading
from typing import Any

import torch

from conftest import WAIT_S
from smol_inference.server.config import ServerConfig
from smol_inference.server.engine import Engine, SamplingParams, Sequence, StoppingParams


class Collector:
    """Gathers the tokens (or the error) of several sequences submitted to an Engine."""

    def __init__(self, count: int) -> None:
        self.tokens: dict[int, list[int]] = {i: [] for i in range(count)}
        self.errors: dict[int, str] = {}
        self.endings: dict[int, int] = {i: 0 for i in range(count)}   # last tokens + errors per sequence
        self.done = threading.Semaphore(0)

    def emit_for(self, index: int):
        def emit(kind: str, payload: Any) -> None:
            if kind == "token":
                self.tokens[index].append(payload[0].id)
                if payload[2]:
                    self.endings[index] += 1
                    self.done.release()
            else:
                self.errors[index] = payload
                self.endings[index] += 1
                self.done.release()
        return emit

    def wait(self, count: int) -> None:
        for _ in range(count):
            assert self.done.acquire(timeout=WAIT_S), "engine did not finish in time"


def prompt_ids(tokenizer: Any, question: str) -> list[int]:
    text = tokenizer.apply_chat_template([{"role": "user", "content": question}], tokenize=False,
                                        add_generation_prompt=True)
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def make_engine(model: Any, tokenizer: Any, context: int | None, **flags: Any) -> Engine:
    return Engine(model, tokenizer, ServerConfig(**flags).resolve(context).engine_config())


def run_ids(engine: Engine, prompts: list[list[int]], max_new: int = 16, sampling: SamplingParams | None = None,
            sequential: bool = False, start: bool = True) -> Collector:
    """Submit every prompt (one at a time with `sequential`), wait for all; the engine keeps running."""
    out = Collector(len(prompts))
    seqs = [Sequence(list(ids), sampling or SamplingParams(), StoppingParams(max_new), out.emit_for(i))
            for i, ids in enumerate(prompts)]
    if start and engine._thread is None:
        engine.start()
    for seq in seqs:
        engine.submit(seq)
        if sequential:
            out.wait(1)
    if not sequential:
        out.wait(len(seqs))
    return out


def settle(engine: Engine) -> None:
    """Let the engine thread finish the step in which the last token was emitted (bounded)."""
    import time

    for _ in range(int(WAIT_S / 0.01)):
        if not engine.running and not len(engine.queue):
            return
        time.sleep(0.01)


def tiny_from_config(model_type: str, seed: int = 0, **overrides: Any) -> Any:
    """A random-weight model of `model_type` with tiny dimensions, built locally (no download)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    base = dict(vocab_size=640, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)
    if model_type == "gpt2":
        base = dict(vocab_size=640, n_embd=64, n_layer=2, n_head=4, n_positions=256)
    base.update(overrides)
    config = AutoConfig.for_model(model_type, **base)
    torch.manual_seed(seed)
    return AutoModelForCausalLM.from_config(config, dtype=torch.float32).eval()


def reference_greedy(model: Any, ids: list[int], max_new: int) -> list[int]:
    """transformers' own greedy generate with SDPA/eager attention (the engine must match it)."""
    with torch.inference_mode():
        out = model.generate(torch.tensor([ids]), max_new_tokens=max_new, min_new_tokens=max_new, do_sample=False,
                             pad_token_id=0)
    return out[0, len(ids):].tolist()
