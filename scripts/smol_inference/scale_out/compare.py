"""Compare routing policies on the same replicas and workload; the same with a replica SIGKILLed mid-run.

Each policy gets a fresh gateway (an empty routing tree) and a fresh set of tenants of the same shape
(`WorkloadConfig.salt`), so no policy profits from the caches an earlier one warmed. A result holds
what the benchmark records (benchmarks/bench_gateway_policies.py) and CI asserts
(tests/scale_out/): requests answered and lost, the summed prefix-cache hit ratio, median TTFT, and,
after a kill, the gateway's retries and circuit-breaker states. Lesson 2, "Operate and scale".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .cluster import Cluster
from .config import GatewayFlags
from .measure import PickerRoute, gateway_counters, hit_ratio, median_ttft, replica_counters, run_workload
from .workload import WorkloadConfig, build_workload


@dataclass(frozen=True)
class RunResult:
    """One policy on one workload. `per_replica` rows are deltas (None for a replica that stopped answering)."""

    policy: str
    router: str
    requests: int
    answered: int
    lost: int
    prefix_cache_hit_ratio: float
    median_ttft_s: float | None
    per_replica: list[dict[str, float] | None]
    stream: bool = True
    killed_replica: int | None = None
    killed_after: int | None = None
    gateway: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _delta(before: list[dict[str, float] | None],
           after: list[dict[str, float] | None]) -> list[dict[str, float] | None]:
    return [None if b is None or a is None else {k: a[k] - b[k] for k in a} for b, a in zip(before, after)]


def measure(cluster: Cluster, workload: WorkloadConfig, concurrency: int, *, policy: str,
            pick: Callable[[str, dict[str, int]], str] | None = None, kill: int | None = None,
            kill_after: int | None = None, stream: bool = True) -> RunResult:
    """Run `workload` through the cluster's gateway (or client-side through `pick`); optionally SIGKILL
    replica `kill` once `kill_after` requests have finished. A streamed reply cut by the kill cannot be
    retried by the gateway (its first bytes already reached the client): kill runs use stream=False."""
    requests = build_workload(workload)
    before = replica_counters(cluster.replica_urls)
    target: str | PickerRoute = cluster.url if pick is None else PickerRoute(cluster.replica_urls, pick)
    after = None
    if kill is not None:
        after = (kill_after if kill_after is not None else len(requests) // 3, lambda: cluster.kill_replica(kill))
    outcomes = run_workload(requests, target, concurrency, workload.max_tokens, cluster.config.api_key, after, stream)
    per_replica = _delta(before, replica_counters(cluster.replica_urls))
    live = [row for row in per_replica if row is not None]
    answered = sum(o.ok for o in outcomes)
    return RunResult(
        policy=policy, router="gateway" if pick is None else "client-side picker", requests=len(outcomes),
        answered=answered, lost=len(outcomes) - answered,
        prefix_cache_hit_ratio=round(hit_ratio(sum(r["hits"] for r in live), sum(r["queries"] for r in live)), 4),
        median_ttft_s=median_ttft(outcomes), per_replica=per_replica, stream=stream, killed_replica=kill,
        killed_after=after[0] if after else None,
        gateway=gateway_counters(cluster.metrics_url) if pick is None else {},
        errors=sorted({o.error or f"HTTP {o.status}" for o in outcomes if not o.ok})[:5])


def compare_policies(cluster: Cluster, workload: WorkloadConfig, concurrency: int, policies: tuple[str, ...],
                     flags: GatewayFlags) -> list[RunResult]:
    """Each policy in turn behind a fresh gateway, each on its own fresh tenants."""
    results = []
    for policy in policies:
        cluster.switch_gateway(replace(flags, policy=policy))
        results.append(measure(cluster, replace(workload, salt=workload.salt + policy), concurrency, policy=policy))
    return results
