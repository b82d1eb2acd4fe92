"""Batching speed-up: `generate_static_batch` at batch size 16 vs one prompt at a time, same prompts, same run.

The model is a random-weight copy of SmolLM2-135M's architecture built locally
(`smol_inference.build_random_model`): the same compute per token as the real model, no download.
Both arms decode greedily with the same `max_new_tokens` (the course default, 64); throughput is
generated tokens per second of wall time. Quoted in inference_pipeline.md, "Batching"; figures in benchmarks/README.md.

    python benchmarks/bench_batching.py            # defaults: 16 prompts, batch 16, 64 new tokens
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time

import torch

from smol_inference import build_random_model, chat, generate_static_batch, load_generator, settings

TOPICS = ["the sea", "a small robot", "autumn", "trains", "a lighthouse", "bread", "the moon", "rain",
          "a library", "mountains", "bees", "a violin", "snow", "a market", "clocks", "a garden"]


def make_prompts(n: int) -> list[str]:
    """n prompts of different lengths, so the batch needs real (left) padding."""
    return [f"Tell me about {TOPICS[i % len(TOPICS)]}." + " Be brief." * (i % 3) for i in range(n)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="smollm2-135m")
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=settings.DEFAULT_MAX_NEW_TOKENS)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice); 1 is steadier on a busy machine")
    parser.add_argument("--target", type=float, default=4.0, help="speed-up the issue asks for")
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    prompts = make_prompts(args.prompts)
    with tempfile.TemporaryDirectory() as tmp:
        path = build_random_model(args.arch, out_dir=tmp, seed=0)
        generator = load_generator(path, device="cpu", dtype="float32", quiet=True)
    # Warm-up, both shapes: first-call allocations are not measured.
    chat(generator, prompts[0], max_new_tokens=2)
    generate_static_batch(generator, prompts, batch_size=args.batch_size, max_new_tokens=2)

    # A-B-A: half the loop, the batch, the other half of the loop, so that a steady drift in machine
    # load (other jobs starting or ending) weighs on both arms alike.
    half = len(prompts) // 2
    loop_s, singles = 0.0, []
    for part in (prompts[:half], None, prompts[half:]):
        if part is None:
            batch = generate_static_batch(generator, prompts, batch_size=args.batch_size,
                                          max_new_tokens=args.max_new_tokens)
            continue
        start = time.perf_counter()
        singles += [chat(generator, p, max_new_tokens=args.max_new_tokens) for p in part]
        loop_s += time.perf_counter() - start
    loop_tokens = sum(r.generated_tokens for r in singles)

    loop_tps, batch_tps = loop_tokens / loop_s, batch.tokens_per_s
    report = {
        "model": f"{args.arch} (random weights)", "prompts": len(prompts), "max_new_tokens": args.max_new_tokens,
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "loop": {"tokens": loop_tokens, "seconds": round(loop_s, 2), "tokens_per_s": round(loop_tps, 1)},
        "batch": {"batch_size": args.batch_size, "tokens": batch.generated_tokens, "seconds": round(batch.total_s, 2),
                  "tokens_per_s": round(batch_tps, 1)},
        "speedup": round(batch_tps / loop_tps, 2),
    }
    print(json.dumps(report, indent=2))
    verdict = "meets" if report["speedup"] >= args.target else "MISSES"
    print(f"batch {args.batch_size}: {report['speedup']}x the tokens/s of one-at-a-time "
          f"({verdict} the {args.target}x target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
