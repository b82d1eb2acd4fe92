"""Record which requests ran in each step of the course engine: static batching against continuous batching.

Both arms run the same requests (greedy, unequal lengths: each stops at its end-of-sequence token or its
own max_new_tokens) through the course engine on the bundled model, driven step by step in-process:

- continuous: every request is queued at once and the engine admits a waiting request as soon as a slot
  frees (`--max-batch-size` = the batch size);
- static: the same engine is given one batch of requests at a time, the next batch only when every
  request of the current one has finished, as `generate(batch)` or lesson 1's batched helper work.

    python benchmarks/figures/record_batching_timeline.py
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch
from figures_common import chat_ids, config, drive, idle, make_engine, sequence
from course_figures import records


def _requests(engine: Any, count: int) -> list[tuple[str, list[int], int]]:
    qs, lengths = config.TIMELINE_QUESTIONS, config.TIMELINE_MAX_NEW
    return [(f"R{i}", chat_ids(engine, qs[i % len(qs)]), lengths[i % len(lengths)]) for i in range(count)]


def record(model: str, count: int, batch: int, max_steps: int) -> dict[str, Any]:
    engine = make_engine(model, max_batch_size=batch)
    requests = _requests(engine, count)
    arms: dict[str, Any] = {}
    for arm in ("static", "continuous"):
        groups = [requests[i:i + batch] for i in range(0, count, batch)] if arm == "static" else [requests]
        steps: list[list[dict[str, Any]]] = []
        for group in groups:
            names = {}
            for name, ids, max_new in group:
                seq = sequence(ids, max_new)
                names[id(seq)] = name
                engine.submit(seq)
            steps += drive(engine, names, max_steps, lambda: idle(engine))
        arms[arm] = {"steps": steps, "num_steps": len(steps)}
    return {"model": model, "batch_size": batch, "requests": [name for name, _, _ in requests],
            "max_new_tokens": {name: n for name, _, n in requests},
            "generated_tokens": _generated(arms["continuous"]["steps"]), **arms}


def _generated(steps: list[list[dict[str, Any]]]) -> dict[str, int]:
    """Tokens each request produced: its decode steps, plus the one sampled after its last prompt chunk."""
    out: dict[str, int] = {}
    for step in steps:
        for item in step:
            out[item["request"]] = out.get(item["request"], 0) + (item["kind"] == "decode")
    return {name: n + 1 for name, n in out.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=config.TIMELINE_MODEL)
    parser.add_argument("--requests", type=int, default=len(config.TIMELINE_QUESTIONS))
    parser.add_argument("--batch-size", type=int, default=config.TIMELINE_BATCH)
    parser.add_argument("--max-steps", type=int, default=config.TIMELINE_MAX_STEPS)
    parser.add_argument("--out-dir", type=Path, default=None, help="default: text_generation_inference/figures/data")
    args = parser.parse_args(argv)
    torch.set_num_threads(config.SERVER_THREADS)
    data = record(args.model, args.requests, args.batch_size, args.max_steps)
    path = records.write("batching_timeline", data, args.out_dir, note="step counts are exact (no timing)",
                         argv=None if argv is None else [__file__, *argv])
    print(f"static {data['static']['num_steps']} steps, continuous {data['continuous']['num_steps']} steps -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
