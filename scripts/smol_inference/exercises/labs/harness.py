"""Run the course engine on the bundled model, step by step, with some of its parts replaced.

`run()` submits prompts at scripted steps, steps the engine in the caller's thread (no engine
thread, so a step is deterministic and bounded) and records each step's decisions
(step.py `Step.decisions`) as (action, request number, tokens). `reference_tokens()` is what
transformers' `generate` gives greedily, the text every run must match.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from . import settings

Decision = tuple[str, int, int]     # ("decode" | "prefill" | "admit" | "preempt", request, tokens)


@contextmanager
def one_thread() -> Iterator[None]:
    """torch on one thread while a lab runs: a 0.8M-parameter model's steps are far faster so on a busy
    CPU (intra-op threads then only wait for each other); the notebook's setting comes back after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(settings.TORCH_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@lru_cache(maxsize=1)
def model_and_tokenizer() -> tuple[Any, Any]:
    """The bundled model (float32, CPU) and its tokenizer, loaded once."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ...models import expand_alias
    from ...settings import TINY_MODEL

    name = expand_alias(TINY_MODEL)
    tokenizer = AutoTokenizer.from_pretrained(name)
    model = AutoModelForCausalLM.from_pretrained(name, dtype=torch.float32).eval()
    return model, tokenizer


def prompt_ids(text: str) -> list[int]:
    return list(model_and_tokenizer()[1](text, add_special_tokens=False)["input_ids"])


@lru_cache(maxsize=32)
def reference_tokens(ids: tuple[int, ...], new_tokens: int) -> tuple[int, ...]:
    """Greedy continuation by transformers' generate (stops at eos, as the engine does)."""
    import torch

    model, tokenizer = model_and_tokenizer()
    with torch.inference_mode(), one_thread():
        out = model.generate(torch.tensor([ids]), max_new_tokens=new_tokens, do_sample=False,
                             pad_token_id=tokenizer.eos_token_id)
    return tuple(int(t) for t in out[0, len(ids):])


@dataclass
class Run:
    """What one engine run produced."""

    tokens: list[list[int]]                       # generated ids per request
    errors: dict[int, str]
    steps: list[list[Decision]]                   # each step's decisions, in order
    num_blocks: int
    free_after: int                               # free blocks once every request is done
    hits: int                                     # prefix-cache hits, in tokens
    preempted: int
    stuck: bool = False                           # MAX_STEPS reached with requests unfinished
    engine: Any = field(default=None, repr=False)


def run(prompts: list[list[int]], seams: Any = None, **options: Any) -> Run:
    """`run_engine` on one torch thread (see `one_thread`)."""
    with one_thread():
        return run_engine(prompts, seams, **options)


def run_engine(prompts: list[list[int]], seams: Any = None, arrivals: tuple[int, ...] | None = None,
        new_tokens: int = settings.NEW_TOKENS, stop: dict[int, str] | None = None,
        cancel_at: dict[int, int] | None = None, **flags: Any) -> Run:
    """Run `prompts` (request i arrives at step arrivals[i]); `cancel_at` {request: step}; flags: ServerConfig."""
    from ...server.config import ServerConfig
    from ...server.engine import Engine, SamplingParams, Sequence, StoppingParams
    from ...settings import TINY_MODEL

    model, tokenizer = model_and_tokenizer()
    flags.setdefault("kv_block_size", settings.BLOCK_SIZE)
    flags.setdefault("max_batch_total_tokens", settings.POOL_TOKENS)
    flags.setdefault("max_total_tokens", settings.MAX_TOTAL_TOKENS)
    flags.setdefault("max_batch_prefill_tokens", settings.MAX_TOTAL_TOKENS)
    resolved = ServerConfig(model_id=TINY_MODEL, **flags).resolve(model.config.max_position_embeddings)
    config = resolved.engine_config() if hasattr(resolved, "engine_config") else resolved   # the engine's own part
    engine = Engine(model, tokenizer, config, seams=seams)
    tokens: list[list[int]] = [[] for _ in prompts]
    errors: dict[int, str] = {}
    done: set[int] = set()

    def emit_for(i: int) -> Any:
        def emit(kind: str, payload: Any) -> None:
            if kind == "token":
                tokens[i].append(payload[0].id)
                if payload[2]:
                    done.add(i)
            else:
                errors[i] = payload
                done.add(i)
        return emit

    stops = [tuple(filter(None, [(stop or {}).get(i)])) for i in range(len(prompts))]
    seqs = [Sequence(list(ids), SamplingParams(), StoppingParams(new_tokens, stops[i]), emit_for(i))
            for i, ids in enumerate(prompts)]
    number = {id(seq): i for i, seq in enumerate(seqs)}
    arrivals = arrivals or tuple(0 for _ in prompts)
    steps: list[list[Decision]] = []
    stuck = True
    for step in range(settings.MAX_STEPS):
        for i, seq in enumerate(seqs):
            if arrivals[i] == step:
                engine.submit(seq)
            if (cancel_at or {}).get(i) == step:
                seq.cancel()
                done.add(i)
        if len(done) == len(seqs) and not engine.running and not len(engine.queue):
            stuck = False
            break
        engine.step()
        steps.append([(action, number[id(seq)], n) for action, seq, n in engine.scheduler.decisions])
    return Run(tokens, errors, steps, engine.pool.num_blocks, engine.pool.num_free, engine.pool.hits,
               engine.scheduler.preempted, stuck, engine)
