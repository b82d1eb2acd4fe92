"""The engine stubs' Prometheus metrics (tests/support/peer_stubs.py): vLLM's or SGLang's names, real objects.

Replies are canned words (" w0 w1 ..."), one every STEP_S, counted as running requests while they
flow, so the load gauges and latency histograms move with real concurrency.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

STEP_S = 0.004
BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: engine -> (prefix, running gauge, waiting gauge, queue histogram or None)
NAMES = {
    "vllm": ("vllm:", "num_requests_running", "num_requests_waiting", "request_queue_time_seconds"),
    "sglang": ("sglang:", "num_running_reqs", "num_queue_reqs", None),
}


class Telemetry:
    def __init__(self, engine: str, model: str) -> None:
        prefix, running, waiting, queue = NAMES[engine]
        labels = ["model_name"]
        self.registry = CollectorRegistry()
        self.model = model
        self.running = Gauge(prefix + running, "requests running", labels, registry=self.registry)
        self.waiting = Gauge(prefix + waiting, "requests waiting", labels, registry=self.registry)
        self.ttft = Histogram(prefix + "time_to_first_token_seconds", "TTFT", labels, buckets=BUCKETS,
                              registry=self.registry)
        self.e2e = Histogram(prefix + "e2e_request_latency_seconds", "e2e", labels, buckets=BUCKETS,
                             registry=self.registry)
        self.queue = (Histogram(prefix + queue, "queue", labels, buckets=BUCKETS, registry=self.registry)
                      if queue else None)
        self.success = Counter(prefix + "request_success", "finished requests", labels, registry=self.registry)
        for metric in (self.running, self.waiting):
            metric.labels(model).set(0)

    async def words(self, count: int) -> AsyncIterator[str]:
        """`count` canned tokens, STEP_S apart, counted as one running request while they flow."""
        start = time.monotonic()
        self.running.labels(self.model).inc()
        if self.queue is not None:
            self.queue.labels(self.model).observe(0.0)
        try:
            for i in range(count):
                await asyncio.sleep(STEP_S)
                if i == 0:
                    self.ttft.labels(self.model).observe(time.monotonic() - start)
                yield f" w{i}"
        finally:
            self.running.labels(self.model).dec()
            self.e2e.labels(self.model).observe(time.monotonic() - start)
            self.success.labels(self.model).inc()
