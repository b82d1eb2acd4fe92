"""Prometheus metrics with TGI's names, so TGI's Grafana dashboard and alerts work unchanged.

Names and labels follow TGI's docs/source/reference/metrics.md and its router
(router/src/infer/mod.rs, router/src/server.rs). TGI's Rust exporter writes counters without the
`_total` suffix that prometheus-client adds, so counters are rendered here by hand; gauges and
histograms come from prometheus-client. Each server gets its own registry (tests start several).
text_generation_inference/operate_and_scale.md, "Monitoring".
"""

from __future__ import annotations

import threading
import time

from prometheus_client import CollectorRegistry, Gauge, Histogram, disable_created_metrics, generate_latest

# TGI exposes no `*_created` series; neither do we (this is a process-wide prometheus-client switch).
disable_created_metrics()

#: Bucket edges (seconds, tokens, requests) for the histograms.
DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
TOKEN_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)
SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class CounterFamily:
    """A labelled counter rendered exactly as TGI names it (no `_total`)."""

    def __init__(self, name: str, documentation: str, label: str | None = None) -> None:
        self.name, self.documentation, self.label = name, documentation, label
        self._values: dict[str, float] = {}
        self._lock = threading.Lock()

    def inc(self, label_value: str = "", amount: float = 1.0) -> None:
        with self._lock:
            self._values[label_value] = self._values.get(label_value, 0.0) + amount

    def value(self, label_value: str = "") -> float:
        with self._lock:
            return self._values.get(label_value, 0.0)

    def render(self) -> str:
        lines = [f"# HELP {self.name} {self.documentation}", f"# TYPE {self.name} counter"]
        with self._lock:
            items = sorted(self._values.items()) or ([] if self.label else [("", 0.0)])
        for label_value, count in items:
            labels = f'{{{self.label}="{label_value}"}}' if self.label else ""
            lines.append(f"{self.name}{labels} {count}")
        return "\n".join(lines) + "\n"


class ServerMetrics:
    """Every quantity the server has, under TGI's metric names."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        reg = self.registry
        self.request_count = CounterFamily("tgi_request_count", "Requests received")
        self.request_success = CounterFamily("tgi_request_success", "Requests answered successfully")
        self.request_failure = CounterFamily("tgi_request_failure", "Failed requests by error type", "err")
        self.batch_inference_count = CounterFamily("tgi_batch_inference_count", "Model steps", "method")
        self.batch_inference_success = CounterFamily("tgi_batch_inference_success", "Successful model steps",
                                                     "method")
        # The paged KV cache and prefix cache: TGI has no names for these, so vLLM's (docs: "Metrics"), with
        # the `_total` that vLLM's prometheus-client counters carry.
        self.prefix_cache_queries = CounterFamily("vllm:prefix_cache_queries_total",
                                                  "Prompt tokens looked up in the prefix cache")
        self.prefix_cache_hits = CounterFamily("vllm:prefix_cache_hits_total",
                                               "Prompt tokens found in the prefix cache")
        self.num_preemptions = CounterFamily("vllm:num_preemptions_total", "Sequences preempted for lack of KV blocks")
        self.prefill_chunks = CounterFamily("tgi_batch_prefill_chunks", "Prompt chunks run (chunked prefill)")
        self.counters = [self.request_count, self.request_success, self.request_failure,
                         self.batch_inference_count, self.batch_inference_success, self.prefix_cache_queries,
                         self.prefix_cache_hits, self.num_preemptions, self.prefill_chunks]

        def hist(name: str, doc: str, buckets: tuple, labels: tuple[str, ...] = ()) -> Histogram:
            return Histogram(name, doc, labels, buckets=buckets, registry=reg)

        self.request_duration = hist("tgi_request_duration", "End-to-end request time (s)", DURATION_BUCKETS)
        self.validation_duration = hist("tgi_request_validation_duration", "Validation time (s)",
                                        DURATION_BUCKETS)
        self.queue_duration = hist("tgi_request_queue_duration", "Time spent waiting (s)", DURATION_BUCKETS)
        self.inference_duration = hist("tgi_request_inference_duration", "Time in the batch (s)",
                                       DURATION_BUCKETS)
        self.time_per_token = hist("tgi_request_mean_time_per_token_duration", "Mean time per token (s)",
                                   DURATION_BUCKETS)
        self.input_length = hist("tgi_request_input_length", "Prompt tokens", TOKEN_BUCKETS)
        self.generated_tokens = hist("tgi_request_generated_tokens", "Generated tokens", TOKEN_BUCKETS)
        self.max_new_tokens = hist("tgi_request_max_new_tokens", "Requested max_new_tokens", TOKEN_BUCKETS)
        self.batch_next_size = hist("tgi_batch_next_size", "Requests admitted per prefill", SIZE_BUCKETS)
        self.batch_inference_duration = hist("tgi_batch_inference_duration", "Model step time (s)",
                                             DURATION_BUCKETS, ("method",))
        self.batch_forward_duration = hist("tgi_batch_forward_duration", "Forward pass time (s)",
                                           DURATION_BUCKETS, ("method",))
        self.batch_decode_duration = hist("tgi_batch_decode_duration", "Sampling and detokenisation time (s)",
                                          DURATION_BUCKETS, ("method",))
        self.queue_size = Gauge("tgi_queue_size", "Requests waiting", registry=reg)
        self.batch_current_size = Gauge("tgi_batch_current_size", "Requests in the running batch", registry=reg)
        self.batch_current_max_tokens = Gauge("tgi_batch_current_max_tokens",
                                              "Tokens reserved by the running batch", registry=reg)
        self.batch_max_total_tokens = Gauge("tgi_batch_max_total_tokens", "Token budget of a batch",
                                            registry=reg)
        self.kv_cache_usage = Gauge("vllm:kv_cache_usage_perc", "KV-cache blocks in use (0 to 1)", registry=reg)
        self.kv_blocks_used = Gauge("smol_kv_cache_blocks_used", "KV-cache blocks in use", registry=reg)
        self.kv_blocks_total = Gauge("smol_kv_cache_blocks_total", "KV-cache blocks in the pool", registry=reg)
        self._seen = {"queries": 0, "hits": 0, "preempted": 0}

    # ---- called by the engine (model thread) ----
    def observe_batch(self, method: str, start: float, forward_done: float | None, ok: bool) -> None:
        end = time.perf_counter()
        self.batch_inference_count.inc(method)
        if not ok:
            return
        self.batch_inference_success.inc(method)
        self.batch_inference_duration.labels(method).observe(end - start)
        if forward_done is not None:
            self.batch_forward_duration.labels(method).observe(forward_done - start)
            self.batch_decode_duration.labels(method).observe(end - forward_done)

    def observe_step(self, prefill_chunks: int) -> None:
        if prefill_chunks:
            self.prefill_chunks.inc(amount=prefill_chunks)

    def set_kv_cache(self, used: int, total: int, queries: int, hits: int, preempted: int) -> None:
        """Block usage, and the engine's running totals turned into counter increments."""
        self.kv_blocks_used.set(used)
        self.kv_blocks_total.set(total)
        self.kv_cache_usage.set(used / total if total else 0.0)
        for key, counter, value in (("queries", self.prefix_cache_queries, queries),
                                    ("hits", self.prefix_cache_hits, hits),
                                    ("preempted", self.num_preemptions, preempted)):
            if value > self._seen[key]:
                counter.inc(amount=value - self._seen[key])
                self._seen[key] = value

    def set_gauges(self, queued: int, running: int, reserved_tokens: int) -> None:
        self.queue_size.set(queued)
        self.batch_current_size.set(running)
        self.batch_current_max_tokens.set(reserved_tokens)

    # ---- called by the HTTP layer ----
    def failure(self, error_type: str) -> None:
        self.request_failure.inc(error_type)

    def render(self) -> bytes:
        counters = "".join(counter.render() for counter in self.counters)
        return counters.encode() + generate_latest(self.registry)
