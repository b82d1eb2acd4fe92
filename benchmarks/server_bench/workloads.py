"""The two workloads that show engine v2's ideas, each run with the idea on and off in one run.

- shared_prefix: requests whose prompts share a long prefix (`--shared-prefix-tokens`, 1,000 by
  default) and differ in a short tail, each generating `--shared-prefix-new-tokens` (8); median time
  to first token with prefix caching on and off (`--disable-prefix-caching`), and the prefix-cache hit
  ratio (vLLM's hits / queries counters, in prompt tokens). Issue 16 target: on / off <= 0.25.
- long_prompt: 8 streams decode while one prompt of `--long-prompt-tokens` (3,000) arrives; the
  longest gap between two tokens of the running streams, with chunked prefill on
  (`--max-batch-prefill-tokens` = `--prefill-chunk-tokens`, 512) and off (`--disable-chunked-prefill`,
  whose prefill budget must hold the whole prompt). Issue 16 target: on / off <= 0.25.

Streams are read with httpx from TGI's /generate_stream; every wait is bounded by --request-timeout.
benchmarks/README.md, "Engine v2 workloads".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
from smol_inference.bench import make_prompts
from smol_inference.ports import free_port

from .served import Served, child_env, course_cmd, scrape

STREAMS = 8               # running streams in the long-prompt workload
STREAM_NEW_TOKENS = 96    # their length: long enough to still run when the long prompt arrives
LONG_PROMPT_DELAY_S = 1.0  # the long prompt arrives this long after the streams have their first token


async def stream(client: httpx.AsyncClient, prompt: str, max_new: int, timeout_s: float) -> dict[str, Any]:
    """One /generate_stream request: arrival times of its tokens (perf_counter seconds)."""
    body = {"inputs": prompt, "parameters": {"max_new_tokens": max_new, "details": False}}
    start, times = time.perf_counter(), []
    async with client.stream("POST", "/generate_stream", json=body, timeout=timeout_s) as response:
        async for line in response.aiter_lines():
            if line.startswith("data:") and '"token"' in line:
                json.loads(line[5:])
                times.append(time.perf_counter())
    return {"start": start, "times": times, "status": response.status_code}


def serve(name: str, model: str, args: argparse.Namespace, extra: list[str], log_dir: Path) -> Served:
    port = free_port()
    cmd = course_cmd(model, port, args, extra=extra)
    print(f"[bench_server] {name}: {' '.join(cmd)}", flush=True)
    return Served(name, cmd, port, child_env(args.threads, args.device), log_dir, args.startup_timeout)


def shared_prefix(model: str, words_per_token: float, args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    prefix = make_prompts(1, max(1, round(args.shared_prefix_tokens * words_per_token)), args.seed)[0]
    tails = make_prompts(args.requests, max(1, round(24 * words_per_token)), args.seed + 1)
    prompts = [f"{prefix} {tail}" for tail in tails]
    new = args.shared_prefix_new_tokens

    async def run(url: str) -> list[float]:
        async with httpx.AsyncClient(base_url=url) as client:
            await stream(client, prompts[0], new, args.request_timeout)         # warm-up (fills the cache)
            limit = asyncio.Semaphore(min(args.concurrency, 4))

            async def one(prompt: str) -> float:
                async with limit:
                    out = await stream(client, prompt, new, args.request_timeout)
                    return out["times"][0] - out["start"]
            return list(await asyncio.gather(*(one(p) for p in prompts[1:])))

    arms: dict[str, Any] = {}
    for name, extra in (("prefix_caching_on", []), ("prefix_caching_off", ["--disable-prefix-caching"])):
        with serve(name, model, args, extra, log_dir) as server:
            ttft = asyncio.run(run(server.url))
            counters = scrape(server.url)
        hits, queries = (counters.get(f"vllm:prefix_cache_{k}_total", 0.0) for k in ("hits", "queries"))
        arms[name] = {"requests": len(ttft), "ttft_p50_s": statistics.median(ttft), "ttft_max_s": max(ttft),
                      "prefix_cache_hits": int(hits), "prefix_cache_queries": int(queries),
                      "prefix_cache_hit_ratio": round(hits / queries, 3) if queries else None}
        print(f"[bench_server] {name}: ttft p50 {arms[name]['ttft_p50_s'] * 1000:.0f} ms, prefix-cache hit ratio "
              f"{arms[name]['prefix_cache_hit_ratio']}", flush=True)
    value = arms["prefix_caching_on"]["ttft_p50_s"] / arms["prefix_caching_off"]["ttft_p50_s"]
    return {"shared_prefix_tokens": args.shared_prefix_tokens, "new_tokens": new, "arms": arms,
            "ratio": {"value": round(value, 3), "target": 0.25, "met": value <= 0.25,
                      "of": "median TTFT, prefix caching on / off"}}


def long_prompt(model: str, words_per_token: float, args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    streams = make_prompts(STREAMS, max(1, round(64 * words_per_token)), args.seed)
    long_text = make_prompts(1, max(1, round(args.long_prompt_tokens * words_per_token)), args.seed + 2)[0]

    async def run(url: str) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=url) as client:
            await stream(client, streams[0], 2, args.request_timeout)            # warm-up
            running = [asyncio.create_task(stream(client, p, STREAM_NEW_TOKENS, args.request_timeout))
                       for p in streams]
            await asyncio.sleep(LONG_PROMPT_DELAY_S)
            arrival = time.perf_counter()
            long_out = await stream(client, long_text, 4, args.request_timeout)
            outs = await asyncio.gather(*running)
        gaps = [b - a for out in outs for a, b in zip(out["times"], out["times"][1:]) if b > arrival]
        return {"max_gap_s": max(gaps, default=0.0), "long_prompt_ttft_s": long_out["times"][0] - arrival,
                "stream_tokens": sum(len(o["times"]) for o in outs)}

    budget = args.long_prompt_tokens + STREAM_NEW_TOKENS               # room for the longest prompt, whole
    total = ["--max-total-tokens", str(budget + STREAM_NEW_TOKENS), "--max-input-tokens", str(budget)]
    arms: dict[str, Any] = {}
    for name, extra in (("chunking_on", ["--max-batch-prefill-tokens", str(args.prefill_chunk_tokens)]),
                        ("chunking_off", ["--disable-chunked-prefill", "--max-batch-prefill-tokens", str(budget)])):
        with serve(name, model, args, extra + total, log_dir) as server:
            arms[name] = asyncio.run(run(server.url))
        print(f"[bench_server] {name}: longest stall {arms[name]['max_gap_s'] * 1000:.0f} ms", flush=True)
    value = arms["chunking_on"]["max_gap_s"] / max(arms["chunking_off"]["max_gap_s"], 1e-9)
    return {"long_prompt_tokens": args.long_prompt_tokens, "streams": STREAMS, "arms": arms,
            "ratio": {"value": round(value, 3), "target": 0.25, "met": value <= 0.25,
                      "of": "longest inter-token gap of running streams, chunking on / off"}}
