"""Soak the course server: many mixed requests at fixed concurrency; nothing lost, memory flat.

Sends `--requests` requests from `--clients` concurrent clients to `smol-inference serve` (started
here on a free 127.0.0.1 port, or `--url`): blocking /generate, streams, OpenAI chat, streams the
client drops after the first token, bodies TGI's validation refuses and bodies that are not JSON.
With `--max-concurrent-requests` below `--clients` some requests are refused with 429 `overloaded`,
as TGI refuses them. Checks, written to JSON (benchmarks/README.md, "Robustness"):
- every request has exactly one outcome: answered (200 with one final answer), cancelled by the
  client, or rejected with TGI's error shape; `lost` (transport error, 5xx, a stream with no or two
  final events, a refusal of the wrong type) must be 0;
- the server's own counters agree: tgi_request_count grew by the requests sent, each
  tgi_request_failure{err} by the rejections of that type, tgi_request_success by the answered ones
  (plus cancelled streams the server finished before it saw the client leave);
- resident memory of the server after warm-up grows less than 10% (`--pid` for a server given by --url);
- latency p50/p99 of answered requests.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/soak_server.py --requests 2000 --out soak.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

KINDS = ("blocking", "blocking", "stream", "stream", "chat", "chat_stream", "cancel", "cancel", "invalid",
         "malformed")
MAX_MEMORY_GROWTH = 0.10
REQUEST_TIMEOUT_S = 120.0
MEMORY_POLL_S = 0.5
#: A client refused with 429 waits this long before its next request, as a polite client retries.
OVERLOAD_BACKOFF_S = 0.1
START_TIMEOUT_S = 180.0


@dataclass
class Tally:
    """Outcomes, latencies and memory samples of one soak."""

    outcomes: Counter = field(default_factory=Counter)
    by_kind: Counter = field(default_factory=Counter)
    latency: dict[str, list[float]] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    done: int = 0
    rss: list[int] = field(default_factory=list)
    rss_after_warmup: int | None = None

    def record(self, kind: str, outcome: str, seconds: float) -> None:
        self.outcomes[outcome] += 1
        self.by_kind[f"{kind} -> {outcome}"] += 1
        self.done += 1
        if outcome == "answered":
            self.latency.setdefault(kind, []).append(seconds)


def body_for(kind: str, i: int, max_new: int) -> dict[str, Any]:
    params = {"max_new_tokens": 1 + i % max_new, "do_sample": i % 3 == 0, "seed": i}
    if kind in ("chat", "chat_stream", "cancel"):                # the chat template: a real answer, no early eos
        return {"messages": [{"role": "user", "content": f"What is {i % 10} plus {i % 7}?"}],
                "max_tokens": max_new if kind == "cancel" else params["max_new_tokens"], "seed": i,
                "stream": kind != "chat"}
    if kind == "invalid":
        params[("top_p", "temperature", "max_new_tokens", "top_k")[i % 4]] = (2.0, -1.0, 0, 0)[i % 4]
    return {"inputs": f"What is {i % 10} plus {i % 7}?", "parameters": params}


def rejected(response: httpx.Response, wanted: set[str]) -> str:
    try:
        kind = response.json()["error_type"]
    except (ValueError, KeyError, TypeError):
        return "lost"
    return f"rejected:{kind}" if kind in wanted and 400 <= response.status_code < 500 else "lost"


async def one(client: httpx.AsyncClient, kind: str, i: int, max_new: int) -> str:
    """Send request `i` of `kind`; return its single outcome."""
    if kind == "malformed":
        bad = (b"{not json", b'{"inputs": "\xff\xfe"}', b"[1, 2]", b'{"inputs": 5}')[i % 4]
        response = await client.post("/generate", content=bad, headers={"content-type": "application/json"})
        return rejected(response, {"validation", "overloaded"})
    if kind in ("blocking", "invalid", "chat"):
        path = "/v1/chat/completions" if kind == "chat" else "/generate"
        response = await client.post(path, json=body_for(kind, i, max_new))
        if response.status_code == 200 and kind != "invalid":
            data = response.json()
            ok = "generated_text" in data or len(data.get("choices", [])) == 1
            return "answered" if ok else "lost"
        return rejected(response, {"validation", "overloaded"} if kind == "invalid" else {"overloaded"})
    path = "/generate_stream" if kind == "stream" else "/v1/chat/completions"
    async with client.stream("POST", path, json=body_for(kind, i, max_new)) as response:
        if response.status_code != 200:
            await response.aread()
            return rejected(response, {"overloaded"})
        finals = errors = done = 0
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            if line[5:].strip() == "[DONE]":
                done += 1
                continue
            event = json.loads(line[5:])
            errors += "error" in event
            finals += is_final(event)
            if kind == "cancel":                 # drop the stream after its first token
                return "cancelled" if not finals and not errors else "answered"
        complete = finals == 1 and not errors and done == (kind != "stream")
        return "answered" if complete else "lost"


def is_final(event: dict[str, Any]) -> bool:
    """The event that ends an answer: TGI's carries generated_text, OpenAI's a finish_reason."""
    if "choices" in event:
        return any(choice.get("finish_reason") for choice in event["choices"])
    return event.get("generated_text") is not None


def metrics(url: str) -> dict[str, float]:
    text = httpx.get(url + "/metrics", timeout=REQUEST_TIMEOUT_S).text
    wanted = ("tgi_request_count ", "tgi_request_success ", "tgi_request_failure{", "tgi_queue_size ",
              "tgi_batch_current_size ")
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line.startswith(wanted)}


def rss_of(pid: int | None) -> int | None:
    if pid is None:
        return None
    import psutil

    return int(psutil.Process(pid).memory_info().rss)


async def soak(url: str, pid: int | None, requests: int, clients: int, max_new: int, warmup: int,
               timeout_s: float) -> Tally:
    tally = Tally()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)

    async def client_loop(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            kind = KINDS[i % len(KINDS)]
            start = time.perf_counter()
            try:
                outcome = await one(client, kind, i, max_new)
            except (httpx.HTTPError, ValueError) as exc:
                outcome = "lost"
                tally.lost.append(f"{i} {kind}: {type(exc).__name__}: {exc}")
            tally.record(kind, outcome, time.perf_counter() - start)
            if outcome == "lost" and len(tally.lost) < 20:
                tally.lost.append(f"{i} {kind}")
            if outcome == "rejected:overloaded":
                await asyncio.sleep(OVERLOAD_BACKOFF_S)
            if tally.done == warmup:
                tally.rss_after_warmup = rss_of(pid)

    async def sample_memory() -> None:
        while True:
            value = rss_of(pid)
            if value is not None:
                tally.rss.append(value)
            await asyncio.sleep(MEMORY_POLL_S)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT_S, limits=limits) as client:
        sampler = asyncio.create_task(sample_memory())
        try:
            await asyncio.wait_for(asyncio.gather(*(client_loop(client) for _ in range(clients))), timeout_s)
        finally:
            sampler.cancel()
    return tally


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 4)


def summarise(tally: Tally, before: dict[str, float], after: dict[str, float], sent: int, pid: int | None,
              seconds: float) -> dict[str, Any]:
    delta = {name: after.get(name, 0.0) - before.get(name, 0.0) for name in after}
    out = tally.outcomes
    answered, cancelled = out["answered"], out["cancelled"]
    rejected = {k.split(":", 1)[1]: v for k, v in out.items() if k.startswith("rejected:")}
    server_failures = {k.split('"')[1]: v for k, v in delta.items() if k.startswith("tgi_request_failure") and v}
    success = delta.get("tgi_request_success", 0.0)
    finished_cancels = success - answered
    checks = {
        "every_request_one_outcome": sum(out.values()) == sent,
        "lost_is_zero": out["lost"] == 0,
        "server_counted_every_request": delta.get("tgi_request_count", 0.0) == sent,
        "server_failures_match_rejections": server_failures == rejected,
        "server_successes_match_answers": 0 <= finished_cancels <= cancelled,
        "idle_at_end": after.get("tgi_queue_size", 0.0) == 0 and after.get("tgi_batch_current_size", 0.0) == 0,
    }
    all_latency = [v for values in tally.latency.values() for v in values]
    growth = None
    if tally.rss_after_warmup and tally.rss:
        growth = round((tally.rss[-1] - tally.rss_after_warmup) / tally.rss_after_warmup, 4)
        checks["memory_growth_below_10pct"] = growth < MAX_MEMORY_GROWTH
    return {
        "sent": sent, "answered": answered, "cancelled_by_client": cancelled, "rejected_by_type": rejected,
        "lost": out["lost"], "lost_examples": tally.lost[:20], "accepted": answered + cancelled,
        "outcomes_by_kind": dict(sorted(tally.by_kind.items())),
        "server_metrics_delta": {"tgi_request_count": delta.get("tgi_request_count", 0.0),
                                 "tgi_request_success": success, "tgi_request_failure": server_failures,
                                 "cancelled_streams_finished_by_server": finished_cancels},
        "latency_s": {"p50": percentile(all_latency, 0.50), "p99": percentile(all_latency, 0.99),
                      "max": percentile(all_latency, 1.0),
                      "by_kind_p99": {k: percentile(v, 0.99) for k, v in sorted(tally.latency.items())}},
        "memory": {"pid": pid, "rss_after_warmup_mb": _mb(tally.rss_after_warmup),
                   "rss_end_mb": _mb(tally.rss[-1] if tally.rss else None),
                   "rss_max_mb": _mb(max(tally.rss) if tally.rss else None), "growth": growth},
        "seconds": round(seconds, 1), "requests_per_s": round(sent / seconds, 2) if seconds else None,
        "checks": checks, "passed": all(checks.values()),
    }


def _mb(value: int | None) -> float | None:
    return None if value is None else round(value / 2**20, 1)


def run_soak(url: str, pid: int | None, requests: int, clients: int, max_new: int, warmup: int,
             timeout_s: float) -> dict[str, Any]:
    """The whole soak against a running server; the JSON summary."""
    before = metrics(url)
    start = time.monotonic()
    tally = asyncio.run(soak(url, pid, requests, clients, max_new, warmup, timeout_s))
    seconds = time.monotonic() - start
    for _ in range(int(10 / MEMORY_POLL_S)):                       # let the last cancellations land
        after = metrics(url)
        if after.get("tgi_queue_size", 0.0) == 0 and after.get("tgi_batch_current_size", 0.0) == 0:
            break
        time.sleep(MEMORY_POLL_S)
    return summarise(tally, before, after, requests, pid, seconds)


def start_server(flags: list[str]) -> tuple[subprocess.Popen, str]:
    from smol_inference.server.background import free_port, wait_healthy

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "smol_inference.cli", "serve", "--port", str(port), *flags],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, START_TIMEOUT_S)
    return process, url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--requests", type=int, default=2000)
    add("--clients", type=int, default=16)
    add("--max-new-tokens", type=int, default=16, help="largest max_new_tokens a request asks for")
    add("--max-concurrent-requests", type=int, default=12, help="server flag; below --clients some get 429")
    add("--warmup", type=int, default=200, help="requests before the memory baseline is taken")
    add("--timeout-s", type=float, default=1800.0, help="bound on the whole soak")
    add("--url", default=None, help="soak this server instead of starting one")
    add("--pid", type=int, default=None, help="the --url server's process id, for its memory")
    add("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if min(args.requests, args.clients, args.max_new_tokens) < 1 or not 0 <= args.warmup < args.requests:
        parser.error("--requests, --clients, --max-new-tokens must be >= 1 and --warmup < --requests")
    process = None
    url, pid = args.url, args.pid
    if url is None:
        process, url = start_server(["--max-concurrent-requests", str(args.max_concurrent_requests),
                                     "--torch-threads", "1"])
        pid = process.pid
    try:
        summary = run_soak(url, pid, args.requests, args.clients, args.max_new_tokens, args.warmup, args.timeout_s)
    finally:
        if process is not None:
            process.terminate()
            summary_exit = process.wait(timeout=60)
    if process is not None:
        summary["server_exit_code_after_sigterm"] = summary_exit
    summary["command"] = " ".join(["benchmarks/soak_server.py", *(argv if argv is not None else sys.argv[1:])])
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
