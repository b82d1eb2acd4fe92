"""Record a concurrency sweep of the course server with the course's load generator (smol_inference.bench).

One course server (the real SmolLM2-135M-Instruct on the CPU); `smol-inference bench`'s own code sends
`--requests-per-client` requests per client at each concurrency, closed loop (each client sends its next
request when the last one ends), to `/v1/chat/completions` streamed (a chat turn: the instruct model may
end a bare prompt at once): random-word prompts of about `--prompt-tokens` tokens, greedy replies of up to
`--max-new-tokens`. The file keeps each level's throughput and latency percentiles: throughput
stops growing at the knee while latency keeps climbing.

    python benchmarks/figures/record_throughput_knee.py
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from figures_common import config, serve
from course_figures import records
from smol_inference.bench import BenchConfig, format_table, run_bench

KEPT = ("concurrency", "requests", "completed", "failed", "errors", "duration_s", "output_tokens",
        "output_tokens_per_s", "requests_per_s", "ttft_s", "itl_s", "e2e_s", "finish_reasons")


def record(args: argparse.Namespace) -> dict[str, Any]:
    levels: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as logs, serve(args.model, Path(logs), [], args.threads) as served:
        warm = BenchConfig(url=served.url, api=config.KNEE_API, concurrency=[1], requests=1,
                           prompt_tokens=args.prompt_tokens, max_new_tokens=args.max_new_tokens, seed=args.seed)
        run_bench(warm)                                                    # first-call allocations
        for index, concurrency in enumerate(args.concurrency):           # one level per run: its own request count
            seed = args.seed + config.KNEE_SEED_STRIDE * (index + 1)       # new prompts: no prefix-cache hits
            count = max(args.min_requests, concurrency * args.requests_per_client)
            bench = BenchConfig(url=served.url, api=config.KNEE_API, concurrency=[concurrency], requests=count,
                                prompt_tokens=args.prompt_tokens, max_new_tokens=args.max_new_tokens, seed=seed)
            level = run_bench(bench)["levels"][0]
            if level["failed"]:
                raise RuntimeError(f"{level['failed']} requests failed at concurrency {concurrency}: "
                                   f"{level.get('first_errors')}")
            levels.append({key: level[key] for key in KEPT})
    print(format_table(levels))
    return {"model": args.model, "api": config.KNEE_API, "prompt_tokens": args.prompt_tokens,
            "max_new_tokens": args.max_new_tokens, "requests_per_client": args.requests_per_client,
            "server_threads": args.threads,
            "levels": levels}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=config.SERVER_MODEL)
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")],
                        default=list(config.KNEE_CONCURRENCY), help="comma-separated levels")
    parser.add_argument("--requests-per-client", type=int, default=config.KNEE_REQUESTS_PER_CLIENT)
    parser.add_argument("--min-requests", type=int, default=config.KNEE_MIN_REQUESTS)
    parser.add_argument("--prompt-tokens", type=int, default=config.KNEE_PROMPT_TOKENS)
    parser.add_argument("--max-new-tokens", type=int, default=config.KNEE_MAX_NEW_TOKENS)
    parser.add_argument("--seed", type=int, default=config.KNEE_SEED)
    parser.add_argument("--threads", type=int, default=config.KNEE_THREADS, help="the server's --torch-threads")
    parser.add_argument("--out-dir", type=Path, default=None, help="default: text_generation_inference/figures/data")
    args = parser.parse_args(argv)
    data = record(args)
    command = None if argv is None else [__file__, *argv]
    print(f"-> {records.write('throughput_knee', data, args.out_dir, argv=command)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
