"""The throughput arms of bench_server.py: a server under the load generator, `model.generate` on a
static batch, and transformers' `generate_batch` (paged continuous batching in-process).

benchmarks/README.md, "Serving throughput".
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

from smol_inference.bench import BenchConfig, make_prompts, run_bench

from .served import MIB, Served, child_env, scrape


def engine_profile(before: dict[str, float], after: dict[str, float], level: dict[str, Any]) -> dict[str, Any]:
    """The course server's own step timings over the measured window (its TGI batch histograms)."""
    def delta(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    out: dict[str, Any] = {}
    busy = 0.0
    for method in ("prefill", "decode"):
        label = f'{{method="{method}"}}'
        steps = delta(f"tgi_batch_inference_duration_count{label}")
        step_s = delta(f"tgi_batch_inference_duration_sum{label}")
        forward_s = delta(f"tgi_batch_forward_duration_sum{label}")
        busy += step_s
        out[method] = {"steps": int(steps), "seconds": round(step_s, 3), "forward_s": round(forward_s, 3),
                       "sample_detok_s": round(step_s - forward_s, 3),
                       "ms_per_step": round(1000 * step_s / steps, 2) if steps else None}
    out["prefill_chunks"] = int(delta("tgi_batch_prefill_chunks"))
    out["prefix_cache_hit_tokens"] = int(delta("vllm:prefix_cache_hits_total"))
    out["preemptions"] = int(delta("vllm:num_preemptions_total"))
    out["outside_steps_s"] = round(level["duration_s"] - busy, 3)  # scheduling, cache select/merge, idle
    # Every request gets its first token from its prefill, every other one from a decode step.
    decode_tokens = level["output_tokens"] - level["completed"]
    steps = out["decode"]["steps"]
    out["mean_decode_batch"] = round(decode_tokens / steps, 2) if steps else None
    return out


def bench_arm(url: str, api: str, args: argparse.Namespace, words: int, warm_up: bool) -> dict[str, Any]:
    """A few short requests (warm-up) or the measured level; the level summary."""
    if warm_up:
        shape = {"concurrency": [min(4, args.concurrency)], "requests": min(4, args.requests),
                 "max_new_tokens": min(8, args.max_new_tokens), "seed": args.seed + 1}
    else:
        shape = {"concurrency": [args.concurrency], "requests": args.requests,
                 "max_new_tokens": args.max_new_tokens, "seed": args.seed}
    result = run_bench(BenchConfig(url=url, api=api, prompt_tokens=words, timeout_s=args.request_timeout, **shape))
    level = result["levels"][0]
    expected = level["completed"] * args.max_new_tokens
    level["all_full_length"] = level["completed"] == args.requests and level["output_tokens"] == expected
    level["mean_input_tokens"] = (round(level["input_tokens_reported"] / level["completed"], 1)
                                  if level["input_tokens_reported"] and level["completed"] else None)
    return level


def run_server_arm(name: str, cmd: list[str], port: int, apis: dict[str, str], args: argparse.Namespace,
                   words: int, log_dir: Path) -> dict[str, dict[str, Any]]:
    """Start one server, run each (arm name -> api) level against it, stop it."""
    results: dict[str, dict[str, Any]] = {}
    print(f"[bench_server] {name}: {' '.join(cmd)}", flush=True)
    with Served(name, cmd, port, child_env(args.threads, args.device), log_dir, args.startup_timeout) as server:
        for arm, api in apis.items():
            bench_arm(server.url, api, args, words, warm_up=True)
            load = os.getloadavg()[0]
            before = scrape(server.url)
            sampler = server.sample_rss()
            level = bench_arm(server.url, api, args, words, warm_up=False)
            server.stop_sampling()
            sampler.join()
            after = scrape(server.url)
            if after:
                level["engine"] = engine_profile(before, after, level)
            level["rss_mib"] = {"ready": round(server.rss_ready / MIB), "peak": round(server.rss_peak / MIB)}
            if server.health_s:                         # the HTTP loop's responsiveness while the engine works
                level["health_ms"] = {"p50": round(1000 * statistics.median(server.health_s), 1),
                                      "max": round(1000 * max(server.health_s), 1), "probes": len(server.health_s)}
            level["api"], level["server"] = api, name
            level["loadavg_1min"] = [round(load, 2), round(os.getloadavg()[0], 2)]   # at start, at end
            results[arm] = level
            print(f"[bench_server] {arm}: {level['output_tokens_per_s']:.1f} tok/s", flush=True)
    return results


def load_model(model_path: str, args: argparse.Namespace, **kwargs: Any) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if args.threads:
        torch.set_num_threads(args.threads)
    tokenizer = AutoTokenizer.from_pretrained(model_path, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=getattr(torch, args.dtype), **kwargs)
    return model.to(args.device).eval(), tokenizer


def static_arm(model_path: str, prompts: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """`model.generate` on `concurrency` prompts at a time, left-padded, exactly max_new_tokens each."""
    import torch

    model, tokenizer = load_model(model_path, args)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    n = args.max_new_tokens

    def generate(batch: list[str], new_tokens: int) -> int:
        enc = tokenizer(batch, return_tensors="pt", padding=True).to(args.device)      # [B, L] left-padded
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                                 do_sample=False, pad_token_id=pad)               # [B, L + new_tokens]
        return (out.shape[1] - enc["input_ids"].shape[1]) * len(batch)

    generate(prompts[:2], 2)  # warm-up
    load, start = os.getloadavg()[0], time.perf_counter()
    tokens = sum(generate(prompts[i:i + args.concurrency], n) for i in range(0, len(prompts), args.concurrency))
    seconds = time.perf_counter() - start
    lengths = [len(ids) for ids in tokenizer(prompts)["input_ids"]]
    return {"api": "in-process", "batch_size": args.concurrency, "completed": len(prompts), "output_tokens": tokens,
            "duration_s": seconds, "output_tokens_per_s": tokens / seconds,
            "all_full_length": tokens == n * len(prompts),
            "mean_input_tokens": round(sum(lengths) / len(lengths), 1),
            "loadavg_1min": [round(load, 2), round(os.getloadavg()[0], 2)]}


def generate_batch_arm(model_path: str, prompts: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """transformers' `generate_batch` (continuous batching with a paged cache) on every prompt at once."""
    from transformers import GenerationConfig

    model, tokenizer = load_model(model_path, args)
    ids = [list(row) for row in tokenizer(prompts)["input_ids"]]
    config = GenerationConfig(max_new_tokens=args.max_new_tokens, do_sample=False, eos_token_id=None,
                              pad_token_id=tokenizer.pad_token_id or 0)
    model.generate_batch(inputs=ids[:2], generation_config=config, progress_bar=False)      # warm-up
    load, start = os.getloadavg()[0], time.perf_counter()
    outputs = model.generate_batch(inputs=ids, generation_config=config, progress_bar=False)
    seconds = time.perf_counter() - start
    tokens = sum(len(out.generated_tokens) for out in outputs.values())
    return {"api": "in-process", "completed": len(outputs), "output_tokens": tokens, "duration_s": seconds,
            "output_tokens_per_s": tokens / seconds, "all_full_length": tokens == args.max_new_tokens * len(ids),
            "mean_input_tokens": round(sum(map(len, ids)) / len(ids), 1),
            "loadavg_1min": [round(load, 2), round(os.getloadavg()[0], 2)]}


def words_for_tokens(model_path: str, tokens: int, seed: int) -> int:
    """How many load-generator words make a prompt of about `tokens` tokens with this model's tokenizer."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    probe = make_prompts(16, tokens, seed)
    per_word = sum(len(tokenizer(p)["input_ids"]) for p in probe) / (16 * tokens)
    return max(1, round(tokens / per_word))
