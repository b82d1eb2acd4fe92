"""Shared by the figure recorders: import paths, an in-process engine driven step by step, a served server.

The engine is the course server's own (smol_inference.server.engine.Engine) with its model thread not
started: `drive` calls `engine.step()` itself and records which requests ran in each step, so a trace
is exact and needs no timing. benchmarks/README.md, "Figures of lesson 2".
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
for _path in (HERE.parents[1] / "scripts", HERE.parent):        # course_figures, server_bench
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from course_figures import config  # noqa: E402
from smol_inference.server.config import ServerConfig  # noqa: E402
from smol_inference.server.engine import Engine, SamplingParams, Sequence, StoppingParams  # noqa: E402
from smol_inference.server.lifecycle.loading import load  # noqa: E402


def make_engine(model_id: str, **flags: Any) -> Engine:
    """The course engine on `model_id` (alias, folder, or `random:<arch>`), on the CPU, thread not started.

    `random:smollm2-135m` is a random-weight model of SmolLM2-135M's architecture with the bundled
    tokenizer (smol_inference.build_random_model): real compute, and greedy replies that almost never
    meet an end-of-sequence token, so each request runs to its own max_new_tokens."""
    if model_id.startswith(config.RANDOM_PREFIX):          # random weights of a shipped architecture, in memory
        from smol_inference import build_random_model, settings
        from transformers import AutoTokenizer

        model = build_random_model(model_id[len(config.RANDOM_PREFIX):], dtype=flags.get("dtype") or "float32")
        tokenizer = AutoTokenizer.from_pretrained(settings.TINY_MODEL)
        context = model.config.max_position_embeddings
    else:
        model, tokenizer, context = load(ServerConfig(model_id=model_id, device="cpu", dtype=flags.get("dtype")))
    resolved = ServerConfig(model_id=model_id, device="cpu", **flags).resolve(context)
    return Engine(model, tokenizer, resolved.engine_config())


def chat_ids(engine: Engine, question: str, system: str | None = None) -> list[int]:
    """Token ids of one chat turn through the model's own chat template."""
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": question}]
    text = engine.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return engine.tokenizer(text, add_special_tokens=False)["input_ids"]


def sequence(ids: list[int], max_new: int) -> Sequence:
    """A greedy request whose events are dropped (the trace reads the engine's own state)."""
    return Sequence(list(ids), SamplingParams(), StoppingParams(max_new), lambda *_: None)


def drive(engine: Engine, names: dict[int, str], max_steps: int,
          until: Callable[[], bool]) -> list[list[dict[str, Any]]]:
    """Step the engine until `until()` (bounded by `max_steps`); per step, what ran: name, kind, tokens."""
    steps: list[list[dict[str, Any]]] = []
    for _ in range(max_steps):
        if until():
            return steps
        work = engine.step()
        if work:
            steps.append([{"request": names[id(w.seq)],
                           "kind": "decode" if w.start >= w.seq.input_length else "prefill",
                           "tokens": w.length} for w in work])
    raise RuntimeError(f"the engine did not finish within {max_steps} steps")


def idle(engine: Engine) -> bool:
    return not engine.running and not len(engine.queue)


def serve(model: str, log_dir: Path, extra: list[str], threads: int = config.SERVER_THREADS) -> Any:
    """`smol-inference serve` on a free loopback port as a subprocess (server_bench.served.Served)."""
    import os

    from server_bench.served import Served
    from smol_inference import settings
    from smol_inference.server.lifecycle.background import free_port

    port = free_port()
    cmd = [sys.executable, "-m", "smol_inference.cli", "serve", "--model-id", model, "--hostname",
           settings.DEFAULT_HOST, "--port", str(port), "--device", "cpu", "--torch-threads",
           str(threads), *extra]
    return Served(f"course-{port}", cmd, port, dict(os.environ), log_dir, config.SERVER_START_TIMEOUT_S)
