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
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))          # soak/ next to this file

from soak.clients import MEMORY_POLL_S, soak
from soak.summary import metrics, summarise

START_TIMEOUT_S = 180.0


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
    from smol_inference.ports import free_port
    from smol_inference.server.lifecycle.background import wait_healthy

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
        process, url = start_server(["--model-id", "tiny-instruct",        # the soak's figures: the bundled model
                                     "--max-concurrent-requests", str(args.max_concurrent_requests),
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
