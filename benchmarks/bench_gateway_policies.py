"""Routing policies of the SGLang Model Gateway on a multi-tenant workload, and a replica killed mid-run.

Three course-server replicas (separate processes) behind the real gateway (`sglang-router`, pinned in
pyproject.toml), everything on 127.0.0.1 free ports (smol_inference/scale_out/). The workload: several
long shared system prompts, many short questions each, order shuffled with a fixed seed
(scale_out/workload.py). Per policy (round_robin, power_of_two, cache_aware; each behind a fresh gateway
and on a fresh set of tenants of the same shape, `--runs` times): requests answered and lost, the
replicas' summed prefix-cache hit ratio (`vllm:prefix_cache_hits_total / vllm:prefix_cache_queries_total`)
and the median time to first token measured by the client. Then, per `--kill-policies`, a fresh cluster
whose replica 0 is SIGKILLed after a third of the requests: lost requests, the gateway's retries,
upstream statuses and circuit-breaker states (`smg_*` metrics). Figures and the command:
benchmarks/README.md, "Replicas behind the SGLang Model Gateway".

    python benchmarks/bench_gateway_policies.py --out benchmarks/results_recorded/gateway_policies.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from dataclasses import asdict, replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

from smol_inference import settings
from smol_inference.scale_out import POLICIES, GatewayFlags, ScaleOutConfig, start_cluster
from smol_inference.scale_out.compare import RunResult, compare_policies, measure
from smol_inference.scale_out.workload import WorkloadConfig


EXERCISE = "exercise_prefix_picker"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--model-id", default=settings.TINY_MODEL_ALIAS)
    add("--replicas", type=int, default=3)
    add("--concurrency", type=int, default=4)
    add("--tenants", type=int, default=4)
    add("--questions", type=int, default=10)
    add("--system-words", type=int, default=60, help="words per system prompt (the bundled model has 512 tokens)")
    add("--max-tokens", type=int, default=4)
    add("--seed", type=int, default=0)
    add("--runs", type=int, default=2, help="repetitions of each policy")
    add("--policies", default=",".join(POLICIES))
    add("--kill-policies", default="round_robin,cache_aware", help="policies run again with a replica SIGKILLed")
    add("--torch-threads", type=int, default=1, help="per replica")
    add("--exercise-picker", action="store_true",
        help="also route client-side with lesson 2 exercise 3's worked prefix-aware picker "
             "(row 'exercise_prefix_picker')")
    add("--out", type=Path, default=None, help="write the results as JSON here")
    return parser.parse_args(argv)


def prefix_picker() -> Any:
    """Lesson 2's exercise 3 worked solution, client-side: a prompt prefix stays where it was first sent."""
    home: dict[str, str] = {}

    def pick(prompt: str, in_flight: dict[str, int]) -> str:
        key = prompt[:64]
        if home.get(key) not in in_flight:
            home[key] = min(in_flight, key=in_flight.get)
        return home[key]

    return pick


def summary(policy: str, runs: list[RunResult]) -> dict[str, Any]:
    ttfts = [r.median_ttft_s for r in runs if r.median_ttft_s is not None]
    return {"policy": policy, "router": runs[0].router,
            "prefix_cache_hit_ratio": round(statistics.mean(r.prefix_cache_hit_ratio for r in runs), 4),
            "median_ttft_s": round(statistics.median(ttfts), 4) if ttfts else None,
            "requests": sum(r.requests for r in runs), "lost": sum(r.lost for r in runs),
            "runs": [r.as_dict() for r in runs]}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workload = WorkloadConfig(tenants=args.tenants, questions=args.questions, system_words=args.system_words,
                              max_tokens=args.max_tokens, seed=args.seed)
    # Load balancing never overrides cache_aware at this concurrency (its thresholds: scale_out/config.py).
    flags = GatewayFlags(balance_abs_threshold=4 * args.concurrency, balance_rel_threshold=4.0,
                         health_check_interval_secs=1, cb_failure_threshold=3, retry_max_retries=5)
    config = ScaleOutConfig(replicas=args.replicas, model_id=args.model_id, gateway=flags,
                            replica_args=("--torch-threads", str(args.torch_threads)))
    policies = tuple(p for p in args.policies.split(",") if p)
    started = time.monotonic()
    by_policy: dict[str, list[RunResult]] = {p: [] for p in (*policies, EXERCISE)}
    with start_cluster(config) as cluster:
        for run in range(args.runs):
            for result in compare_policies(cluster, replace(workload, salt=f"run{run}-"), args.concurrency,
                                           policies, flags):
                by_policy[result.policy].append(result)
                print(f"{result.policy:13s} run {run}: hit ratio {result.prefix_cache_hit_ratio:.3f}, "
                      f"median TTFT {result.median_ttft_s}, lost {result.lost}/{result.requests}", file=sys.stderr)
            if args.exercise_picker:
                by_policy[EXERCISE].append(measure(cluster, replace(workload, salt=f"run{run}-{EXERCISE}"),
                                                   args.concurrency, policy=EXERCISE, pick=prefix_picker()))
    killed = []
    for policy in (p for p in args.kill_policies.split(",") if p):
        with start_cluster(replace(config, gateway=replace(flags, policy=policy))) as cluster:
            result = measure(cluster, replace(workload, salt="kill-"), args.concurrency, policy=policy, kill=0,
                             stream=False)
            killed.append(result.as_dict())
            print(f"{policy:13s} replica 0 killed after {result.killed_after}: lost {result.lost}/{result.requests}, "
                  f"gateway {result.gateway}", file=sys.stderr)
    record = {
        "benchmark": "gateway_policies",
        "command": "python benchmarks/bench_gateway_policies.py "
                   + " ".join(argv if argv is not None else sys.argv[1:]),
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.machine()}, shared CPU machine (busy: other jobs ran), {platform.python_version()}",
        "sglang_router": version("sglang-router"), "model_id": args.model_id,
        "replicas": args.replicas, "concurrency": args.concurrency, "runs": args.runs,
        "workload": asdict(workload), "gateway_flags": asdict(flags),
        "policies": [summary(p, by_policy[p]) for p in (*policies, EXERCISE) if by_policy[p]],
        "replica_killed": killed,
        "wall_s": round(time.monotonic() - started, 1),
    }
    text = json.dumps(record, indent=1)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text if not args.out else f"written: {args.out}")
    return 0 if all(s["lost"] == 0 for s in record["policies"]) else 1


if __name__ == "__main__":
    sys.exit(main())
