"""Run the workload through a router and measure it: answered and lost requests, time to first token,
the replicas' summed prefix-cache hit ratio and the gateway's own counters (retries, circuit breakers).

The hit ratio is the course server's `vllm:prefix_cache_hits_total / vllm:prefix_cache_queries_total`
(prompt tokens found cached over prompt tokens looked up, vLLM's names), summed over the replicas.
TTFT is measured by the client on a streamed request: the first chunk carrying text. The gateway's
metric names (`smg_` prefix) are sglang-router 0.3.2's. Lesson 2, "Operate and scale".
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from ..client.prom import Metrics
from .workload import ChatRequest

#: Per-request timeout (seconds): a request that hangs counts as lost, it never blocks the run.
REQUEST_TIMEOUT_S = 60.0
HIT_METRIC, QUERY_METRIC = "vllm:prefix_cache_hits_total", "vllm:prefix_cache_queries_total"


@dataclass(frozen=True)
class Outcome:
    """What one request got: the URL it was sent to, the status, TTFT, and an error text if it failed."""

    tenant: int
    url: str
    status: int | None
    ttft_s: float | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


def stream_chat(client: httpx.Client, url: str, request: ChatRequest, max_tokens: int,
                headers: dict[str, str], stream: bool = True) -> Outcome:
    """POST a chat request to `url`/v1/chat/completions; streamed: TTFT at the first chunk with text.
    Not streamed, TTFT stays None (a router can retry such a request whole; a stream cut mid-way it cannot)."""
    body = {"model": "tgi", "messages": request.messages, "max_tokens": max_tokens, "temperature": 0,
            "stream": stream}
    start, ttft = time.perf_counter(), None
    try:
        if not stream:
            response = client.post(f"{url}/v1/chat/completions", json=body, headers=headers, timeout=REQUEST_TIMEOUT_S)
            ok = response.status_code == 200 and bool(response.json().get("choices"))
            return Outcome(request.tenant, url, response.status_code, None, None if ok else response.text[:200])
        with client.stream("POST", f"{url}/v1/chat/completions", json=body, headers=headers,
                           timeout=REQUEST_TIMEOUT_S) as response:
            if response.status_code != 200:
                return Outcome(request.tenant, url, response.status_code, None, response.read().decode()[:200])
            for line in response.iter_lines():
                if not line.startswith("data:") or line.strip() == "data: [DONE]":
                    continue
                chunk = json.loads(line[5:])
                if "error" in chunk:
                    return Outcome(request.tenant, url, 200, ttft, str(chunk["error"])[:200])
                if ttft is None and any((c.get("delta") or {}).get("content") for c in chunk.get("choices", [])):
                    ttft = time.perf_counter() - start
        return Outcome(request.tenant, url, 200, ttft)
    except (httpx.HTTPError, ValueError) as exc:
        return Outcome(request.tenant, url, None, None, f"{type(exc).__name__}: {exc}"[:200])


class PickerRoute:
    """Client-side routing with a picker `pick(prompt, {url: in flight}) -> url` (the lesson's exercise)."""

    def __init__(self, urls: list[str], pick: Callable[[str, dict[str, int]], str]) -> None:
        self.in_flight = {url: 0 for url in urls}
        self.pick, self.lock = pick, threading.Lock()

    def acquire(self, request: ChatRequest) -> str:
        with self.lock:
            url = self.pick(request.prompt, dict(self.in_flight))
            if url not in self.in_flight:
                raise ValueError(f"the picker returned {url!r}, which is none of the replicas {list(self.in_flight)}")
            self.in_flight[url] += 1
            return url

    def release(self, url: str) -> None:
        with self.lock:
            self.in_flight[url] -= 1


def run_workload(requests: list[ChatRequest], target: str | PickerRoute, concurrency: int, max_tokens: int,
                 api_key: str | None = None, after: tuple[int, Callable[[], None]] | None = None,
                 stream: bool = True) -> list[Outcome]:
    """Send every request (`concurrency` at a time) to the gateway URL `target`, or where a PickerRoute
    says; `after=(n, action)` runs `action` once n requests have finished (e.g. kill a replica)."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    finished, lock, fired = [0], threading.Lock(), threading.Event()

    def one(request: ChatRequest) -> Outcome:
        url = target if isinstance(target, str) else target.acquire(request)
        try:
            outcome = stream_chat(client, url, request, max_tokens, headers, stream)
        finally:
            if not isinstance(target, str):
                target.release(url)
        with lock:
            finished[0] += 1
            trigger = after is not None and finished[0] >= after[0] and not fired.is_set()
            if trigger:
                fired.set()
        if trigger and after is not None:
            after[1]()
        return outcome

    with httpx.Client() as client, ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, requests))


def scrape(url: str) -> Metrics | None:
    """The parsed /metrics of `url` (a full metrics URL), or None if it does not answer."""
    try:
        return Metrics.parse(httpx.get(url, timeout=5.0).text)
    except httpx.HTTPError:
        return None


def replica_counters(replica_urls: list[str]) -> list[dict[str, float] | None]:
    """Per replica: requests received, prompt tokens looked up and found in the prefix cache (None: down)."""
    counters: list[dict[str, float] | None] = []
    for url in replica_urls:
        metrics = scrape(f"{url}/metrics")
        counters.append(None if metrics is None else {
            "requests": metrics.value("tgi_request_count"), "queries": metrics.value(QUERY_METRIC),
            "hits": metrics.value(HIT_METRIC)})
    return counters


def hit_ratio(hits: float, queries: float) -> float:
    return hits / queries if queries else 0.0


def median_ttft(outcomes: list[Outcome]) -> float | None:
    values = [o.ttft_s for o in outcomes if o.ok and o.ttft_s is not None]
    return statistics.median(values) if values else None


def gateway_counters(metrics_url: str) -> dict[str, object]:
    """Retries, per-status upstream responses and circuit-breaker states from the gateway's exporter."""
    metrics = scrape(metrics_url)
    if metrics is None:
        return {}
    statuses: dict[str, float] = {}
    for sample in metrics.find("smg_router_upstream_responses_total"):
        code = sample.labels.get("status_code", "?")
        statuses[code] = statuses.get(code, 0.0) + sample.value
    breakers = {s.labels.get("worker", "?"): s.value for s in metrics.find("smg_worker_cb_state")}
    return {"retries": metrics.value("smg_worker_retries_total"), "upstream_responses": statuses,
            "circuit_breaker_state": breakers}
