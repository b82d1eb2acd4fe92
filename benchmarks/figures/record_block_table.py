"""Record the course engine's block tables after two requests that share a prompt prefix.

Request A (a shared system prompt and a question) is prefilled; its full blocks are then registered in the
prefix cache. Request B (the same system prompt, another question) is admitted next: the block manager
finds A's full prefix blocks by their chained hashes and shares them (reference count 2) instead of
recomputing them. The file holds both block tables, each block's reference count, and the prefix hits.

    python benchmarks/figures/record_block_table.py
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch
from figures_common import chat_ids, config, drive, make_engine, sequence
from course_figures import records


def record(model: str, block_size: int, max_steps: int) -> dict[str, Any]:
    engine = make_engine(model, kv_block_size=block_size)
    prompts = [chat_ids(engine, q, system=config.BLOCK_SHARED_PREFIX) for q in config.BLOCK_QUESTIONS]
    seqs = [sequence(ids, config.TIMELINE_MAX_NEW[0]) for ids in prompts]
    a, b = seqs
    engine.submit(a)
    drive(engine, {id(a): "A"}, max_steps, lambda: a.num_computed >= a.input_length or a.finished_at is not None)
    engine.submit(b)
    drive(engine, {id(a): "A", id(b): "B"}, max_steps, lambda: b.num_computed >= b.input_length)
    if a.finished_at is not None or b.finished_at is not None:
        raise RuntimeError("a request finished before the snapshot: raise max_new_tokens")
    pool = engine.pool
    used = sorted({blk for s in seqs for blk in s.block_table})
    shared_tokens = _common_prefix(prompts[0], prompts[1])
    return {
        "model": model, "block_size": block_size, "num_blocks": pool.num_blocks,
        "shared_prefix_tokens": shared_tokens,
        "requests": {name: {"prompt_tokens": s.input_length, "tokens": len(s.token_ids),
                            "block_table": list(s.block_table), "cached_tokens": s.num_cached}
                     for name, s in zip("AB", seqs)},
        "ref_counts": {str(blk): pool.ref_count(blk) for blk in used},
        "prefix_cache": {"queried_tokens": pool.queries, "hit_tokens": pool.hits},
    }


def _common_prefix(x: list[int], y: list[int]) -> int:
    n = 0
    while n < min(len(x), len(y)) and x[n] == y[n]:
        n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=config.BLOCK_MODEL)
    parser.add_argument("--block-size", type=int, default=config.BLOCK_SIZE)
    parser.add_argument("--max-steps", type=int, default=config.BLOCK_MAX_STEPS)
    parser.add_argument("--out-dir", type=Path, default=None, help="default: text_generation_inference/figures/data")
    args = parser.parse_args(argv)
    torch.set_num_threads(config.SERVER_THREADS)
    data = record(args.model, args.block_size, args.max_steps)
    path = records.write("block_table", data, args.out_dir, note="block ids are exact (no timing)",
                         argv=None if argv is None else [__file__, *argv])
    shared = data["requests"]["B"]["cached_tokens"] // data["block_size"]
    print(f"B shares {shared} blocks of {data['block_size']} tokens with A -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
