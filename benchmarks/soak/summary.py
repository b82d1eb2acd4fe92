"""The soak's JSON summary: outcomes against the server's own counters, latency percentiles, memory growth."""

from __future__ import annotations

from typing import Any

import httpx

from .clients import REQUEST_TIMEOUT_S, Tally

MAX_MEMORY_GROWTH = 0.10


def metrics(url: str) -> dict[str, float]:
    text = httpx.get(url + "/metrics", timeout=REQUEST_TIMEOUT_S).text
    wanted = ("tgi_request_count ", "tgi_request_success ", "tgi_request_failure{", "tgi_queue_size ",
              "tgi_batch_current_size ")
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line.startswith(wanted)}


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
