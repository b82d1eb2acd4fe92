"""Serving throughput: the course server against its batch-size-1 self, `transformers serve`, a static
batch and transformers' `generate_batch`; plus engine v2's shared-prefix and long-prompt workloads.

One run, one machine, one model: a random-weight copy of SmolLM2-135M's architecture
(`smol_inference.build_random_model`), prompts of about `--prompt-tokens` tokens, `--max-new-tokens`
new tokens, `--concurrency` clients sending `--requests` requests through the load generator
(`smol_inference.bench`), on `--device` (cpu or cuda) in `--dtype`. Workloads (`--workloads`):

- throughput (arms, `--arms`):
  course (`smol-inference serve`, TGI `/generate_stream`); course_bs1 (the same, `--max-batch-size 1`);
  course_openai (the first server, OpenAI `/v1/chat/completions`); transformers (`transformers serve
  --continuous-batching`, OpenAI API); static (`model.generate` on `--concurrency` left-padded prompts at
  once, in this process, exactly max_new_tokens each); generate_batch (transformers' paged continuous
  batching, in this process, every request at once). Also: generated tokens x 2 x parameters of the
  course arm over the fp32 (or --dtype) matmul peak measured in the same run.
- shared_prefix, long_prompt: server_bench/workloads.py.

Tokens are the counts the servers report (TGI details, OpenAI usage), never counted from text.
Figures and the commands in benchmarks/README.md. Issues 4 and 16, "Performance".

    python benchmarks/bench_server.py          # defaults: 16 clients, 48 requests, ~100 + 64 tokens, CPU
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))          # server_bench/ next to this file

from server_bench.arms import generate_batch_arm, run_server_arm, static_arm, words_for_tokens
from server_bench.report import matmul_peak_flops, model_params, peak_fraction, ratio, table
from server_bench.served import course_cmd, transformers_cmd
from server_bench.workloads import long_prompt, shared_prefix
from smol_inference import build_random_model
from smol_inference.bench import make_prompts
from smol_inference.ports import free_port

ARMS = ("course", "course_bs1", "course_openai", "transformers", "static", "generate_batch")
DEFAULT_ARMS = ("course", "course_bs1", "course_openai", "transformers", "static")
WORKLOADS = ("throughput", "shared_prefix", "long_prompt")
DEVICES = ("cpu", "cuda")
DTYPES = ("float32", "float16", "bfloat16")
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "bench_server.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--arch", default="smollm2-135m", help="random-weight architecture to build (ignored with --model)")
    add("--model", default=None, help="serve this local model folder instead of building a random one")
    add("--device", choices=DEVICES, default="cpu")
    add("--dtype", choices=DTYPES, default=None, help="default: float32 on cpu, bfloat16 on cuda")
    add("--workloads", default="throughput", help=f"comma-separated subset of {','.join(WORKLOADS)}")
    add("--concurrency", type=int, default=16)
    add("--requests", type=int, default=48)
    add("--prompt-tokens", type=int, default=100, help="prompt length in tokens of the model's tokenizer (about)")
    add("--max-new-tokens", type=int, default=64)
    add("--max-total-tokens", type=int, default=None, help="course server --max-total-tokens (default: its own)")
    add("--max-batch-prefill-tokens", type=int, default=None,
        help="course server --max-batch-prefill-tokens in the throughput arms (default: its own)")
    add("--shared-prefix-tokens", type=int, default=1000, help="shared_prefix workload: common prefix length")
    add("--shared-prefix-new-tokens", type=int, default=8,
        help="shared_prefix workload: new tokens per request, warm-up included (1: a scoring call)")
    add("--long-prompt-tokens", type=int, default=3000, help="long_prompt workload: the long prompt's length")
    add("--prefill-chunk-tokens", type=int, default=512, help="long_prompt workload: prefill budget with chunking")
    add("--seed", type=int, default=0)
    add("--threads", type=int, default=None, help="torch threads for every arm (default: torch's choice)")
    add("--arms", default=",".join(DEFAULT_ARMS), help=f"throughput arms, a comma-separated subset of {','.join(ARMS)}")
    add("--cb-num-blocks", type=int, default=None,
        help="transformers serve's KV-cache blocks (default: its own sizing, a share of free memory)")
    add("--course-checkout", default=None,
        help="serve the course arms from this other checkout of the repository (compare two engine versions)")
    add("--startup-timeout", type=float, default=900.0, help="seconds a server may take to become healthy")
    add("--request-timeout", type=float, default=1800.0, help="seconds one request may take")
    add("--output", default=str(DEFAULT_OUTPUT), help="write the JSON result here")
    args = parser.parse_args(argv)
    args.arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = (set(args.arms) - set(ARMS)) | (set(args.workloads) - set(WORKLOADS))
    if unknown or not args.arms or not args.workloads:
        parser.error(f"unknown arms or workloads {sorted(unknown)}; arms: {ARMS}; workloads: {WORKLOADS}")
    if min(args.concurrency, args.requests, args.prompt_tokens, args.max_new_tokens) < 1:
        parser.error("--concurrency, --requests, --prompt-tokens and --max-new-tokens must be >= 1")
    args.dtype = args.dtype or ("bfloat16" if args.device == "cuda" else "float32")
    return args


def throughput(model: str, words: int, args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    """Every requested throughput arm; {arm: level summary}."""
    arms: dict[str, Any] = {}
    prompts = make_prompts(args.requests, words, args.seed)
    if "static" in args.arms:
        print("[bench_server] static: model.generate in this process", flush=True)
        arms["static"] = static_arm(model, prompts, args)
    if "generate_batch" in args.arms:
        print("[bench_server] generate_batch: transformers continuous batching in this process", flush=True)
        try:
            arms["generate_batch"] = generate_batch_arm(model, prompts, args)
        except Exception as exc:  # noqa: BLE001 - recorded, not fatal: the API changes between versions
            print(f"[bench_server] generate_batch failed: {type(exc).__name__}: {exc}", flush=True)
    course = {a: api for a, api in (("course", "tgi"), ("course_openai", "openai")) if a in args.arms}
    if course:
        port = free_port()
        arms.update(run_server_arm("course", course_cmd(model, port, args), port, course, args, words, logs))
    if "course_bs1" in args.arms:
        port = free_port()
        arms.update(run_server_arm("course_bs1", course_cmd(model, port, args, batch_size=1), port,
                                   {"course_bs1": "tgi"}, args, words, logs))
    if "transformers" in args.arms:
        port = free_port()
        arms.update(run_server_arm("transformers", transformers_cmd(model, port, args), port,
                                   {"transformers": "openai"}, args, words, logs))
    return arms


def main(argv: list[str] | None = None) -> int:
    import torch
    import transformers

    args = parse_args(argv)
    load_before = os.getloadavg()
    arms: dict[str, Any] = {}
    workloads: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        model = args.model or build_random_model(args.arch, out_dir=Path(tmp) / "model", seed=args.seed)
        words = words_for_tokens(model, args.prompt_tokens, args.seed)
        logs = Path(tmp)
        if "throughput" in args.workloads:
            arms = throughput(model, words, args, logs)
        per_token = words / args.prompt_tokens
        if "shared_prefix" in args.workloads:
            workloads["shared_prefix"] = shared_prefix(model, per_token, args, logs)
        if "long_prompt" in args.workloads:
            workloads["long_prompt"] = long_prompt(model, per_token, args, logs)
        params = model_params(model)
    peak = matmul_peak_flops(args.device, args.dtype, args.threads) if "course" in arms else 0.0
    peer = "course_openai" if "course_openai" in arms else "course"   # same API as transformers serve if run
    ratios = {key: ratio(arms, "course" if key != "vs_transformers_serve" else peer, den, key)
              for key, den in (("vs_batch_size_1", "course_bs1"), ("vs_transformers_serve", "transformers"),
                               ("vs_static_batch", "static"), ("vs_generate_batch", "generate_batch"))}
    ratios["matmul_peak_fraction"] = peak_fraction(arms.get("course"), params, peak)
    course = arms.get("course", {})
    report = {
        "version": 2, "created_unix": time.time(),
        "machine": {"cpus": os.cpu_count(), "cpu": platform.processor() or platform.machine(),
                    "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                    "python": platform.python_version(), "torch": torch.__version__,
                    "transformers": transformers.__version__,
                    "gpu": torch.cuda.get_device_name() if args.device == "cuda" else None},
        "settings": {"model": args.model or f"{args.arch} (random weights, seed {args.seed})", "dtype": args.dtype,
                     "device": args.device, "concurrency": args.concurrency, "requests": args.requests,
                     "prompt_tokens": args.prompt_tokens, "prompt_words": words,
                     "max_new_tokens": args.max_new_tokens, "threads": args.threads, "arms": args.arms,
                     "workloads": args.workloads, "transformers_cb_num_blocks": args.cb_num_blocks},
        "ratios": ratios,
        "course_ttft_p50_s": (course.get("ttft_s") or {}).get("p50"),
        "course_rss_mib": course.get("rss_mib"),
        "course_health_ms": course.get("health_ms"),
        "arms": arms,
        "workloads": workloads,
    }
    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print_summary(report)
    print(f"wrote {path}")
    return 0 if all(lv["completed"] for lv in arms.values()) else 1


def print_summary(report: dict[str, Any]) -> None:
    arms = report["arms"]
    if arms:
        print(table(arms))
    for name, lv in arms.items():
        e = lv.get("engine")
        if e:
            d, p = e["decode"], e["prefill"]
            print(f"{name} engine: {p['steps']} steps with prompt chunks ({e['prefill_chunks']} chunks, "
                  f"{p['seconds']} s), "
                  f"{d['steps']} decode-only steps (mean batch {e['mean_decode_batch']}, {d['ms_per_step']} ms/step, "
                  f"forward {d['forward_s']} s, sampling+detok {d['sample_detok_s']} s), "
                  f"outside steps {e['outside_steps_s']} s, preemptions {e['preemptions']}")
    for key, r in report["ratios"].items():
        if r:
            print(f"{key:<22} {r['value']:>6.3f}  ({r.get('of', 'tokens x 2 x params / matmul peak')}; "
                  f"target >= {r['target']}: {'met' if r['met'] else 'MISSED'})")
    for name, w in report["workloads"].items():
        r = w["ratio"]
        print(f"{name:<22} {r['value']:>6.3f}  ({r['of']}; target <= {r['target']}: {'met' if r['met'] else 'MISSED'}) "
              f"{json.dumps(w['arms'])}")
    if report["course_ttft_p50_s"] is not None:
        rss = report["course_rss_mib"]
        print(f"course server under load: ttft p50 {report['course_ttft_p50_s'] * 1000:.0f} ms, "
              f"rss {rss['ready']} MiB ready / {rss['peak']} MiB peak, "
              f"GET /health {report['course_health_ms'] or 'not probed'} (ms)")
    m = report["machine"]
    print(f"load average before {m['loadavg_before']}, after {m['loadavg_after']}")


if __name__ == "__main__":
    raise SystemExit(main())
