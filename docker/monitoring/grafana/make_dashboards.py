#!/usr/bin/env python3
"""Writes the Grafana dashboards in dashboards/ (regenerate, then require an empty diff).

    python docker/monitoring/grafana/make_dashboards.py           # rewrite the JSON files
    python docker/monitoring/grafana/make_dashboards.py --check   # exit 1 when a file is stale

The TGI dashboard uses only TGI's metric names (TGI docs, "Reference > Metrics"), so it works on real TGI and
on the course server alike; time to first token is derived as TGI's own dashboard does it, queue-time
quantile + prefill-step quantile. The vLLM dashboard uses vLLM's `vllm:` names, the llama.cpp one the
`llamacpp:` names of llama-server's `--metrics` (tools/server/server-task.cpp, `to_metrics`: counters,
gauges, no histogram, so no latency percentiles and no TTFT there). The course-engine dashboard shows
what only the course server's engine exports (paged KV cache, prefix cache, chunked prefill; vLLM's
names where TGI has none).
Taught in text_generation_inference/operate_and_scale.md, "Monitoring".
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
WINDOW = "$__rate_interval"
PREFILL, DECODE = '{method="prefill"}', '{method="decode"}'


def q(quantile: float, metric: str, selector: str = "") -> str:
    return f"histogram_quantile({quantile}, sum by (le) (rate({metric}_bucket{selector}[{WINDOW}])))"


def qs(metric: str, quantiles: tuple[float, ...] = (0.5, 0.9, 0.99), selector: str = "") -> list[tuple[str, str]]:
    """One (expr, legend) target per quantile: p50, p90, p99."""
    return [(q(p, metric, selector), f"p{round(p * 100)}") for p in quantiles]


def panel(title: str, targets: list[tuple[str, str]], unit: str, x: int, y: int, description: str = "") -> dict:
    return {
        "type": "timeseries", "title": title, "description": description, "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit, "min": 0}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                    "tooltip": {"mode": "multi", "sort": "none"}},
        "targets": [{"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": chr(65 + i)}
                    for i, (expr, legend) in enumerate(targets)],
    }


def dashboard(uid: str, title: str, panels: list[tuple]) -> dict:
    laid_out = [panel(*spec[:3], x=12 * (i % 2), y=8 * (i // 2), description=spec[3] if len(spec) > 3 else "")
                for i, spec in enumerate(panels)]
    for index, item in enumerate(laid_out, start=1):
        item["id"] = index
    return {"uid": uid, "title": title, "tags": ["llm-inference-course"], "timezone": "browser",
            "schemaVersion": 39, "version": 1, "editable": True, "refresh": "5s",
            "time": {"from": "now-15m", "to": "now"}, "panels": laid_out, "templating": {"list": []},
            "annotations": {"list": []}}


def tgi() -> dict:
    ttft = [(q(p, "tgi_request_queue_duration") + " + " + q(p, "tgi_batch_inference_duration", PREFILL),
             f"p{round(p * 100)}") for p in (0.5, 0.9)]
    return dashboard("tgi-course", "TGI: throughput, latency, queue, batch", [
        ("Requests per second", [(f"sum(rate(tgi_request_success[{WINDOW}]))", "succeeded"),
                                 (f"sum by (err) (rate(tgi_request_failure[{WINDOW}]))", "failed: {{err}}")], "reqps"),
        ("Output tokens per second", [(f"sum(rate(tgi_request_generated_tokens_sum[{WINDOW}]))", "tokens/s")],
         "short"),
        ("Time to first token (queue + prefill)", ttft, "s",
         "TGI has no TTFT metric: queue-time quantile plus prefill-step quantile, as TGI's dashboard derives it."),
        ("Request latency percentiles", qs("tgi_request_duration"), "s"),
        ("Queue size", [("sum(tgi_queue_size)", "waiting requests")], "short"),
        ("Batch size", [("sum(tgi_batch_current_size)", "running requests"),
                        (q(0.9, "tgi_batch_next_size"), "admitted per prefill p90")], "short"),
        ("Time per output token", qs("tgi_request_mean_time_per_token_duration", (0.5, 0.9)), "s"),
        ("Queue time percentiles", qs("tgi_request_queue_duration"), "s"),
        ("Batch tokens", [("sum(tgi_batch_current_max_tokens)", "tokens in the running batch"),
                          ("max(tgi_batch_max_total_tokens)", "max-batch-total-tokens")], "short"),
        ("Model step time by method", [(q(0.9, "tgi_batch_inference_duration", PREFILL), "prefill p90"),
                                       (q(0.9, "tgi_batch_inference_duration", DECODE), "decode p90")],
         "s"),
    ])


def vllm() -> dict:
    return dashboard("vllm-course", "vLLM: throughput, latency, queue, KV cache", [
        ("Output tokens per second", [(f"sum(rate(vllm:generation_tokens_total[{WINDOW}]))", "tokens/s")], "short"),
        ("Time to first token", qs("vllm:time_to_first_token_seconds", (0.5, 0.9)), "s"),
        ("Request latency percentiles", qs("vllm:e2e_request_latency_seconds"), "s"),
        ("Inter-token latency", qs("vllm:inter_token_latency_seconds", (0.5, 0.9)), "s"),
        ("Running and waiting requests", [("sum(vllm:num_requests_running)", "running (batch)"),
                                          ("sum(vllm:num_requests_waiting)", "waiting (queue)")], "short"),
        ("KV cache usage", [("max(vllm:kv_cache_usage_perc)", "used")], "percentunit"),
    ])


def llamacpp() -> dict:
    def rate(name: str) -> str:
        return f"sum(rate(llamacpp:{name}[{WINDOW}]))"

    return dashboard("llamacpp-course", "llama.cpp: throughput, slots, prompt and generation speed", [
        ("Output tokens per second", [(rate("tokens_predicted_total"), "generated tokens/s")], "short"),
        ("Prompt tokens per second", [(rate("prompt_tokens_total"), "processed (prefill)"),
                                      (rate("prompt_tokens_cached_total"), "reused from the prompt cache")], "short"),
        ("Running and deferred requests", [("sum(llamacpp:requests_processing)", "processing (batch)"),
                                           ("sum(llamacpp:requests_deferred)", "deferred (queue)")], "short",
         "Deferred requests wait for a free slot (-np): llama.cpp's queue."),
        ("Batch size per decode call", [(f"{rate('tokens_predicted_total')} / {rate('n_decode_total')}",
                                         "generated tokens per llama_decode"),
                                        ("max(llamacpp:n_busy_slots_per_decode)", "busy slots per decode (since start)")],
         "short"),
        ("Prefill and decode speed per sequence",
         [(f"{rate('prompt_tokens_total')} / {rate('prompt_seconds_total')}", "prompt tokens/s"),
          (f"{rate('tokens_predicted_total')} / {rate('tokens_predicted_seconds_total')}", "generated tokens/s")],
         "short", "No TTFT histogram in llama.cpp: prompt length / prompt speed estimates it; responses carry "
                  "timings.prompt_ms per request."),
        ("Longest sequence", [("max(llamacpp:n_tokens_max)", "prompt + generated tokens")], "short"),
    ])


def course_engine() -> dict:
    hits, queries = "vllm:prefix_cache_hits_total", "vllm:prefix_cache_queries_total"
    return dashboard("course-engine", "Course server engine: KV blocks, prefix cache, chunked prefill", [
        ("KV cache usage", [("max(vllm:kv_cache_usage_perc)", "blocks in use")], "percentunit",
         "Share of the paged KV cache's blocks held by running requests (cached free blocks not counted)."),
        ("KV blocks", [("sum(smol_kv_cache_blocks_used)", "used"), ("sum(smol_kv_cache_blocks_total)", "total")],
         "short"),
        ("Prefix cache hit rate", [(f"sum(rate({hits}[{WINDOW}])) / sum(rate({queries}[{WINDOW}]))", "hits / queries")],
         "percentunit", "Prompt tokens found in the prefix cache over prompt tokens looked up."),
        ("Prefix cache tokens per second", [(f"sum(rate({queries}[{WINDOW}]))", "looked up"),
                                            (f"sum(rate({hits}[{WINDOW}]))", "hit")], "short"),
        ("Prompt chunks per second", [(f"sum(rate(tgi_batch_prefill_chunks[{WINDOW}]))", "chunks")], "short",
         "Chunked prefill: prompt pieces of at most --max-batch-prefill-tokens run beside decode tokens."),
        ("Preemptions per second", [(f"sum(rate(vllm:num_preemptions_total[{WINDOW}]))", "preempted")], "short",
         "Sequences sent back to the queue because the KV cache ran out of blocks."),
    ])


def scale_out() -> dict:
    """Replicas behind the SGLang Model Gateway (sglang-router 0.3.2's `smg_*` names, scraped on its
    --prometheus-port) and each replica's own load and prefix cache (`instance` = one replica)."""
    hits, queries = "vllm:prefix_cache_hits_total", "vllm:prefix_cache_queries_total"
    return dashboard("scale-out", "Scale-out: replicas behind the SGLang Model Gateway", [
        ("Requests in flight per replica (gateway's view)", [("sum by (worker) (smg_worker_requests_active)",
                                                               "{{worker}}")], "short",
         "What the gateway's load-aware policies compare: requests it sent to each worker and not yet answered."),
        ("Running and queued requests per replica", [("sum by (instance) (tgi_batch_current_size + tgi_queue_size)",
                                                      "{{instance}}")], "short",
         "Each replica's own gauges (tgi_batch_current_size + tgi_queue_size)."),
        ("Prefix-cache hit ratio per replica", [(f"sum by (instance) (rate({hits}[{WINDOW}])) / sum by (instance) "
                                                 f"(rate({queries}[{WINDOW}]))", "{{instance}}")], "percentunit",
         "Prompt tokens found cached over prompt tokens looked up, on each replica."),
        ("Prefix-cache hit ratio, all replicas", [(f"sum(rate({hits}[{WINDOW}])) / sum(rate({queries}[{WINDOW}]))",
                                                   "summed hits / summed queries")], "percentunit",
         "The figure the routing policies are compared on (benchmarks/README.md): cache_aware keeps it high."),
        ("Gateway retries and upstream errors per second", [
            (f"sum(rate(smg_worker_retries_total[{WINDOW}]))", "retries"),
            (f"sum by (status_code) (rate(smg_router_upstream_responses_total{{status_code!=\"200\"}}[{WINDOW}]))",
             "upstream {{status_code}}")], "short"),
        ("Circuit breaker state per replica", [("max by (worker) (smg_worker_cb_state)", "{{worker}}")], "short",
         "0 closed (traffic flows), 1 open (the worker is skipped), 2 half-open (a probe is let through)."),
    ])


def main(argv: list[str]) -> int:
    stale = []
    for name, build in (("tgi.json", tgi), ("vllm.json", vllm), ("llamacpp.json", llamacpp),
                        ("course-engine.json", course_engine), ("scale-out.json", scale_out)):
        text = json.dumps(build(), indent=2) + "\n"
        path = HERE / "dashboards" / name
        if "--check" in argv:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
        else:
            path.write_text(text)
    if stale:
        print("stale dashboards (run make_dashboards.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
