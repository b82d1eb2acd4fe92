"""`smol-inference bench`: a load generator for any TGI or OpenAI-compatible endpoint.

    smol-inference bench --url http://127.0.0.1:8080 --concurrency 1,2,4,8 --requests 32 \\
        --prompt-tokens 100 --max-new-tokens 64 --output bench.json --plot bench.png

Modules: workload.py (config, prompts), runner.py (requests and timing), report.py (numbers, plot).
Python use: `result = run_bench(BenchConfig(url=..., concurrency=[1, 4]))`.
Taught in text_generation_inference/tune_and_measure.md, "Tuning: a concurrency sweep".
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from .. import settings
from .report import format_table, plot, summarize, write_json
from .runner import RequestRecord, Runner
from .workload import APIS, BenchConfig, default_url, make_prompts, parse_concurrency

__all__ = ["BenchConfig", "RequestRecord", "Runner", "add_arguments", "format_table", "make_prompts",
           "parse_concurrency", "plot", "run", "run_bench", "run_bench_async", "summarize", "write_json"]

RESULT_VERSION = 1


async def run_bench_async(config: BenchConfig, progress: bool = False) -> dict[str, Any]:
    """Run every concurrency level in order; return the JSON-ready result."""
    from tqdm.auto import tqdm

    runner = Runner(config)
    levels = []
    try:
        info = await runner.server_info()
        total = config.requests * len(config.concurrency)
        with tqdm(total=total, desc="bench", unit="req", disable=not progress, leave=False) as bar:
            for index, concurrency in enumerate(config.concurrency):
                bar.set_postfix(concurrency=concurrency)
                prompts = make_prompts(config.requests, config.prompt_tokens, config.seed + 1000 * index)
                records, duration = await runner.run_level(concurrency, prompts, bar)
                levels.append(summarize(records, duration, concurrency))
    finally:
        await runner.aclose()
    return {"version": RESULT_VERSION, "created_unix": time.time(), "config": config.as_dict(),
            "server": {"model": runner.model or info.get("model_id"), "info": info}, "levels": levels}


def run_bench(config: BenchConfig, progress: bool = False) -> dict[str, Any]:
    """Blocking wrapper around `run_bench_async` (not for use inside a running event loop)."""
    return asyncio.run(run_bench_async(config, progress))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=None, help=f"endpoint (default: ${settings.ENV_TGI_URL} or the local "
                        "course server)")
    parser.add_argument("--api", choices=APIS, default="tgi",
                        help="tgi: POST /generate_stream; openai: POST /v1/chat/completions (stream)")
    parser.add_argument("--concurrency", default=settings.BENCH_CONCURRENCY,
                        help="concurrent clients: one value (8) or a sweep (1,2,4,8)")
    parser.add_argument("--requests", type=int, default=settings.BENCH_REQUESTS,
                        help="requests per concurrency level")
    parser.add_argument("--prompt-tokens", type=int, default=settings.BENCH_PROMPT_TOKENS,
                        help="prompt length in tokens (approximate: one word each)")
    parser.add_argument("--max-new-tokens", type=int, default=settings.BENCH_MAX_NEW_TOKENS)
    parser.add_argument("--seed", type=int, default=settings.BENCH_SEED)
    parser.add_argument("--timeout", type=float, default=settings.BENCH_REQUEST_TIMEOUT_S,
                        help="seconds one request may take")
    parser.add_argument("--model", default=None, help="model name for --api openai (default: /v1/models)")
    parser.add_argument("--api-key", default=None, help="Bearer key when the server was started with one")
    parser.add_argument("--output", default=None, help="write the JSON result here")
    parser.add_argument("--plot", default=None, help="save throughput and p90 latency vs concurrency here")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    config = BenchConfig(url=args.url or default_url(), api=args.api, concurrency=parse_concurrency(args.concurrency),
                         requests=args.requests, prompt_tokens=args.prompt_tokens,
                         max_new_tokens=args.max_new_tokens, seed=args.seed, timeout_s=args.timeout,
                         model=args.model, api_key=args.api_key)
    result = run_bench(config, progress=not args.no_progress and sys.stderr.isatty())
    print(f"bench {config.api} {config.url} model={result['server']['model']} "
          f"prompt~{config.prompt_tokens} tok, max_new_tokens={config.max_new_tokens}")
    print(format_table(result["levels"]))
    if args.output:
        print(f"wrote {write_json(result, args.output)}")
    if args.plot:
        print(f"wrote {plot(result['levels'], args.plot, title=str(result['server']['model'] or config.url))}")
    failed = sum(level["completed"] == 0 for level in result["levels"])
    return 1 if failed == len(result["levels"]) else 0
