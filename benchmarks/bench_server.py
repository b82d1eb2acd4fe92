"""Serving throughput: the course server against its batch-size-1 self, `transformers serve` and a static batch.

One run, one machine, one model: a random-weight copy of SmolLM2-135M's architecture
(`smol_inference.build_random_model`, float32 on CPU), prompts of about `--prompt-tokens` tokens,
`--max-new-tokens` new tokens, `--concurrency` clients sending `--requests` requests through the
load generator (`smol_inference.bench`). Arms:

- course:        `smol-inference serve` (continuous batching), TGI `/generate_stream`;
- course_bs1:    the same server with `--max-batch-size 1`, TGI `/generate_stream`;
- course_openai: the first server again, OpenAI `/v1/chat/completions` (the fair peer of the next arm);
- transformers:  `transformers serve --continuous-batching`, OpenAI `/v1/chat/completions`;
- static:        `model.generate` on `--concurrency` left-padded prompts at once, in this process,
                 min_new_tokens = max_new_tokens (the static-batch ceiling: no HTTP, no scheduling).

Every server is a subprocess on 127.0.0.1 with a free port, waited for with a bounded /health poll,
warmed up, measured, and stopped. Tokens are the counts the servers report (TGI details, OpenAI
usage), never counted from text: the bundled tokenizer decodes most of a random model's ids to "".
Figures and the command in benchmarks/README.md ("Serving throughput"). Issue 4, "Performance".

    python benchmarks/bench_server.py          # defaults: 16 clients, 48 requests, ~100 + 64 tokens
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from smol_inference import build_random_model, settings
from smol_inference.bench import BenchConfig, make_prompts, run_bench
from smol_inference.server.background import free_port

ARMS = ("course", "course_bs1", "course_openai", "transformers", "static")
TARGETS = {"vs_batch_size_1": 4.5, "vs_transformers_serve": 1.2, "vs_static_batch": 0.85}
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "bench_server.json"
HEALTH_POLL_S = 0.5
RSS_POLL_S = 0.25
STOP_WAIT_S = 30.0
MIB = 1024 * 1024


# ---- servers as subprocesses ----------------------------------------------------------------
class Served:
    """A server subprocess: bounded start (health poll), RSS sampling, clean stop. A context manager."""

    def __init__(self, name: str, cmd: list[str], port: int, env: dict[str, str], log_dir: Path,
                 timeout_s: float) -> None:
        self.name, self.url, self.timeout_s = name, f"http://{settings.DEFAULT_HOST}:{port}", timeout_s
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        self.rss_ready = self.rss_peak = 0
        self._sampling = threading.Event()

    def __enter__(self) -> Served:
        try:
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; log: {self.log_path}\n"
                                   + self.log_tail())
            try:
                if httpx.get(self.url + "/health", timeout=5).status_code == 200:
                    self.rss_ready = self.rss()
                    return
            except httpx.HTTPError:
                pass
            time.sleep(HEALTH_POLL_S)
        raise TimeoutError(f"{self.name} not healthy after {self.timeout_s:.0f} s; log: {self.log_path}\n"
                           + self.log_tail())

    def rss(self) -> int:
        """Resident memory of the server process and its children (bytes)."""
        import psutil

        try:
            proc = psutil.Process(self.proc.pid)
            return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])
        except psutil.Error:
            return 0

    def sample_rss(self) -> threading.Thread:
        """Track the peak RSS until `stop_sampling()`."""
        def loop() -> None:
            self.rss_peak = max(self.rss_peak, self.rss())  # a short arm may end before the first poll
            while not self._sampling.wait(RSS_POLL_S):
                self.rss_peak = max(self.rss_peak, self.rss())
        self._sampling.clear()
        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        return thread

    def stop_sampling(self) -> None:
        self._sampling.set()
        self.rss_peak = max(self.rss_peak, self.rss_ready, self.rss())

    def log_tail(self, chars: int = 2000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        """SIGINT (uvicorn's graceful stop), then SIGTERM, then SIGKILL, each bounded."""
        self.stop_sampling()
        if self.proc.poll() is None:
            for send, wait_s in ((lambda: self.proc.send_signal(signal.SIGINT), STOP_WAIT_S),
                                 (self.proc.terminate, 10.0), (self.proc.kill, 10.0)):
                send()
                try:
                    self.proc.wait(wait_s)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self._log.close()


def child_env(threads: int | None) -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", CUDA_VISIBLE_DEVICES="",
               TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1")
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def course_cmd(model: str, port: int, threads: int | None, batch_size: int | None) -> list[str]:
    cmd = [sys.executable, "-m", "smol_inference.cli", "serve", "--model-id", model, "--hostname",
           settings.DEFAULT_HOST, "--port", str(port), "--dtype", "float32"]
    cmd += ["--torch-threads", str(threads)] if threads else []
    return cmd + (["--max-batch-size", str(batch_size)] if batch_size else [])


def transformers_cmd(model: str, port: int, cb_num_blocks: int | None) -> list[str]:
    exe = Path(sys.executable).parent / "transformers"
    exe = str(exe) if exe.exists() else shutil.which("transformers") or "transformers"
    cmd = [exe, "serve", model, "--continuous-batching", "--device", "cpu", "--dtype", "float32",
           "--host", settings.DEFAULT_HOST, "--port", str(port), "--log-level", "warning"]
    return cmd + (["--cb-num-blocks", str(cb_num_blocks)] if cb_num_blocks else [])


# ---- measuring -------------------------------------------------------------------------------
def scrape(url: str) -> dict[str, float]:
    """Prometheus text of /metrics -> {'name{labels}': value}; {} where the server has none."""
    try:
        response = httpx.get(url + "/metrics", timeout=10)
    except httpx.HTTPError:
        return {}
    values: dict[str, float] = {}
    for line in response.text.splitlines() if response.status_code == 200 else []:
        key, _, value = line.rpartition(" ")
        if key and not line.startswith("#"):
            try:
                values[key] = float(value)
            except ValueError:
                pass
    return values


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
    admitted = delta("tgi_batch_next_size_sum")
    out["mean_admitted_per_prefill"] = round(admitted / out["prefill"]["steps"], 2) if out["prefill"]["steps"] else None
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
    with Served(name, cmd, port, child_env(args.threads), log_dir, args.startup_timeout) as server:
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
            level["api"], level["server"] = api, name
            level["loadavg_1min"] = [round(load, 2), round(os.getloadavg()[0], 2)]   # at start, at end
            results[arm] = level
            print(f"[bench_server] {arm}: {level['output_tokens_per_s']:.1f} tok/s", flush=True)
    return results


def static_arm(model_path: str, prompts: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """`model.generate` on `concurrency` prompts at a time, left-padded, exactly max_new_tokens each."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if args.threads:
        torch.set_num_threads(args.threads)
    tokenizer = AutoTokenizer.from_pretrained(model_path, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32).eval()
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    n = args.max_new_tokens

    def generate(batch: list[str], new_tokens: int) -> int:
        enc = tokenizer(batch, return_tensors="pt", padding=True)                  # [B, L] left-padded
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
            "duration_s": seconds, "output_tokens_per_s": tokens / seconds, "all_full_length": tokens == n * len(prompts),
            "mean_input_tokens": round(sum(lengths) / len(lengths), 1),
            "loadavg_1min": [round(load, 2), round(os.getloadavg()[0], 2)]}


def words_for_tokens(model_path: str, tokens: int, seed: int) -> int:
    """How many load-generator words make a prompt of about `tokens` tokens with this model's tokenizer."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    probe = make_prompts(16, tokens, seed)
    per_word = sum(len(tokenizer(p)["input_ids"]) for p in probe) / (16 * tokens)
    return max(1, round(tokens / per_word))


# ---- report -----------------------------------------------------------------------------------
def ratio(arms: dict[str, Any], num: str, den: str, key: str) -> dict[str, Any] | None:
    if num not in arms or den not in arms or not arms[den]["output_tokens_per_s"]:
        return None
    value = arms[num]["output_tokens_per_s"] / arms[den]["output_tokens_per_s"]
    return {"value": round(value, 2), "target": TARGETS[key], "met": value >= TARGETS[key], "of": f"{num} / {den}"}


def table(arms: dict[str, Any]) -> str:
    def ms(level: dict[str, Any], key: str) -> str:
        p50 = (level.get(key) or {}).get("p50")
        return "-" if p50 is None else f"{p50 * 1000:.0f}"

    header = (f"{'arm':<14} {'api':<10} {'ok':>4} {'tokens':>7} {'full':>5} {'seconds':>8} {'tok/s':>7} "
              f"{'ttft p50':>9} {'e2e p50':>8} {'rss MiB':>8} {'in tok':>7} {'load':>10}")
    rows = [header]
    for name, lv in arms.items():
        rss = (lv.get("rss_mib") or {}).get("peak", "-")
        rows.append(f"{name:<14} {lv['api']:<10} {lv['completed']:>4} {lv['output_tokens']:>7} "
                    f"{'yes' if lv['all_full_length'] else 'NO':>5} {lv['duration_s']:>8.1f} "
                    f"{lv['output_tokens_per_s']:>7.1f} {ms(lv, 'ttft_s'):>9} {ms(lv, 'e2e_s'):>8} {rss:>8} "
                    f"{lv.get('mean_input_tokens') or '-':>7} {'->'.join(f'{x:.1f}' for x in lv['loadavg_1min']):>10}")
    return "\n".join(rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--arch", default="smollm2-135m", help="random-weight architecture to build (ignored with --model)")
    add("--model", default=None, help="serve this local model folder instead of building a random one")
    add("--concurrency", type=int, default=16)
    add("--requests", type=int, default=48)
    add("--prompt-tokens", type=int, default=100, help="prompt length in tokens of the model's tokenizer (about)")
    add("--max-new-tokens", type=int, default=64)
    add("--seed", type=int, default=0)
    add("--threads", type=int, default=None, help="torch threads for every arm (default: torch's choice)")
    add("--arms", default=",".join(ARMS), help=f"comma-separated subset of {','.join(ARMS)}")
    add("--cb-num-blocks", type=int, default=None,
        help="transformers serve's KV-cache blocks (default: its own sizing, a share of free memory)")
    add("--startup-timeout", type=float, default=900.0, help="seconds a server may take to become healthy")
    add("--request-timeout", type=float, default=1800.0, help="seconds one request may take")
    add("--output", default=str(DEFAULT_OUTPUT), help="write the JSON result here")
    args = parser.parse_args(argv)
    args.arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    unknown = set(args.arms) - set(ARMS)
    if unknown or not args.arms:
        parser.error(f"unknown arms {sorted(unknown)}; choose from {ARMS}")
    if min(args.concurrency, args.requests, args.prompt_tokens, args.max_new_tokens) < 1:
        parser.error("--concurrency, --requests, --prompt-tokens and --max-new-tokens must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    import torch
    import transformers

    args = parse_args(argv)
    load_before = os.getloadavg()
    arms: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        model = args.model or build_random_model(args.arch, out_dir=Path(tmp) / "model", seed=args.seed)
        words = words_for_tokens(model, args.prompt_tokens, args.seed)
        logs = Path(tmp)
        if "static" in args.arms:
            print("[bench_server] static: model.generate in this process", flush=True)
            arms["static"] = static_arm(model, make_prompts(args.requests, words, args.seed), args)
        course = {a: api for a, api in (("course", "tgi"), ("course_openai", "openai")) if a in args.arms}
        if course:
            port = free_port()
            arms.update(run_server_arm("course", course_cmd(model, port, args.threads, None), port, course,
                                       args, words, logs))
        if "course_bs1" in args.arms:
            port = free_port()
            arms.update(run_server_arm("course_bs1", course_cmd(model, port, args.threads, 1), port,
                                       {"course_bs1": "tgi"}, args, words, logs))
        if "transformers" in args.arms:
            port = free_port()
            arms.update(run_server_arm("transformers", transformers_cmd(model, port, args.cb_num_blocks), port,
                                       {"transformers": "openai"}, args, words, logs))
    peer = "course_openai" if "course_openai" in arms else "course"   # same API as transformers serve if run
    ratios = {key: ratio(arms, "course" if key != "vs_transformers_serve" else peer, den, key)
              for key, den in (("vs_batch_size_1", "course_bs1"), ("vs_transformers_serve", "transformers"),
                               ("vs_static_batch", "static"))}
    course = arms.get("course", {})
    report = {
        "version": 1, "created_unix": time.time(),
        "machine": {"cpus": os.cpu_count(), "cpu": platform.processor() or platform.machine(),
                    "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                    "python": platform.python_version(), "torch": torch.__version__,
                    "transformers": transformers.__version__},
        "settings": {"model": args.model or f"{args.arch} (random weights, seed {args.seed})", "dtype": "float32",
                     "device": "cpu", "concurrency": args.concurrency, "requests": args.requests,
                     "prompt_tokens": args.prompt_tokens, "prompt_words": words,
                     "max_new_tokens": args.max_new_tokens, "threads": args.threads, "arms": args.arms,
                     "transformers_cb_num_blocks": args.cb_num_blocks},
        "ratios": ratios,
        "course_ttft_p50_s": (course.get("ttft_s") or {}).get("p50"),
        "course_rss_mib": course.get("rss_mib"),
        "arms": arms,
    }
    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(table(arms))
    for name, lv in arms.items():
        e = lv.get("engine")
        if e:
            d, p = e["decode"], e["prefill"]
            print(f"{name} engine: {p['steps']} prefills ({e['mean_admitted_per_prefill']} requests each, {p['seconds']} s), "
                  f"{d['steps']} decode steps (mean batch {e['mean_decode_batch']}, {d['ms_per_step']} ms/step, "
                  f"forward {d['forward_s']} s, sampling+detok {d['sample_detok_s']} s), "
                  f"outside steps {e['outside_steps_s']} s")
    for key, r in ratios.items():
        if r:
            print(f"{key:<22} {r['value']:>5.2f}x  ({r['of']}; target >= {r['target']}x: "
                  f"{'met' if r['met'] else 'MISSED'})")
    if report["course_ttft_p50_s"] is not None:
        print(f"course server under load: ttft p50 {report['course_ttft_p50_s'] * 1000:.0f} ms, "
              f"rss {course['rss_mib']['ready']} MiB ready / {course['rss_mib']['peak']} MiB peak")
    print(f"load average before {report['machine']['loadavg_before']}, after {report['machine']['loadavg_after']}")
    print(f"wrote {path}")
    return 0 if all(lv["completed"] for lv in arms.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
