"""Lesson 2, exercise 3, part 3: a prefix-aware replica picker, measured on the gateway's workload.

The learner writes `pick_replica(prompt, in_flight) -> url`, where `in_flight` is `{url: requests in
flight}`: it sees the prompt, not only the load, as the SGLang Model Gateway's cache_aware policy does.
The check routes the multi-tenant workload of scale_out/workload.py (shared system prompts, a seeded
shuffle) over three fresh replicas twice, on two fresh sets of tenants: once with a round-robin picker,
once with the learner's; it then compares the replicas' summed prefix-cache hit ratio
(`vllm:prefix_cache_hits_total / vllm:prefix_cache_queries_total`) and the share of requests each
replica served. Wrong answers are named: a url it was not given, every request on one replica, a
system prompt spread over several replicas (keyed on the whole prompt, or only on the load).
text_generation_inference/operate_and_scale.md, "Operate and scale".
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from itertools import count
from typing import Any

from .config import PICKER_CONCURRENCY, PICKER_MARGIN, PICKER_MAX_SHARE, PICKER_WORKLOAD


def round_robin(urls: list[str]) -> Any:
    turn = count()
    return lambda prompt, in_flight: urls[next(turn) % len(urls)]


def route(urls: list[str], pick: Any, salt: str) -> tuple[float, dict[int, set[str]], dict[str, int], list[str]]:
    """Run the workload with `pick`: (hit ratio, tenant -> urls used, url -> requests, errors)."""
    from dataclasses import replace

    from ..scale_out.measure import PickerRoute, hit_ratio, replica_counters, run_workload
    from ..scale_out.workload import build_workload

    workload = replace(PICKER_WORKLOAD, salt=salt)
    requests = build_workload(workload)
    used: dict[int, set[str]] = defaultdict(set)

    def recording(prompt: str, in_flight: dict[str, int]) -> str:
        url = pick(prompt, in_flight)
        tenant = next(r.tenant for r in requests if r.prompt == prompt)
        used[tenant].add(str(url))
        return url

    before = replica_counters(urls)
    outcomes = run_workload(requests, PickerRoute(urls, recording), PICKER_CONCURRENCY, workload.max_tokens)
    after = replica_counters(urls)
    rows = [{k: a[k] - b[k] for k in a} for b, a in zip(before, after) if a and b]
    served = {url: int(row["requests"]) for url, row in zip(urls, rows)}
    errors = sorted({o.error or f"HTTP {o.status}" for o in outcomes if not o.ok})
    return (hit_ratio(sum(r["hits"] for r in rows), sum(r["queries"] for r in rows)), dict(used), served, errors)


def check_picker(exercise: Any, pick_replica: Any, urls: list[str]) -> None:
    """The part-3 check: `exercise.expect(...)` for each mistake, on replicas at `urls`."""
    probe = {url: 0 for url in urls}
    try:
        first = pick_replica("You are a helpful assistant.\nHello", dict(probe))
    except TypeError as exc:
        exercise.expect(False, f"pick_replica(prompt, in_flight) failed: {exc}. It takes two arguments now: the "
                        "prompt text and {url: requests in flight}",
                        f"pick_replica(prompt, in_flight) 出错：{exc}。"
                        "它现在接收两个参数：提示词文本和 {url: 在途请求数}")
        return
    exercise.expect(first in probe, f"pick_replica returned {first!r}, not one of the urls it was given ({urls})",
                    f"pick_replica 返回了 {first!r}，不是传入的 url 之一（{urls}）")
    tag = uuid.uuid4().hex[:6]                     # fresh tenants: no cache warmed by an earlier check
    baseline, _, _, rr_errors = route(urls, round_robin(urls), f"round-robin-{tag}-")
    if rr_errors:
        raise RuntimeError(f"the round-robin run failed: {rr_errors[:3]}")
    try:
        ratio, used, served, errors = route(urls, pick_replica, f"yours-{tag}-")
    except ValueError as exc:                      # PickerRoute: a url that is not a replica
        exercise.expect(False, f"pick_replica failed during the run: {exc}", f"运行中 pick_replica 出错：{exc}")
        return
    exercise.expect(not errors, f"requests failed: {errors[:3]}", f"有请求失败：{errors[:3]}")
    total = sum(served.values())
    busiest = max(served.values()) if served else 0
    exercise.expect(busiest <= PICKER_MAX_SHARE * total,
                    f"one replica served {busiest} of {total} requests {sorted(served.values())}: a prompt prefix "
                    "no replica holds yet should go to the least-loaded replica, so every replica gets work",
                    f"一个副本处理了 {total} 个请求中的 {busiest} 个 {sorted(served.values())}：还没有副本缓存的前缀"
                    "应发给负载最低的副本，让每个副本都有活干")
    spread = {tenant: len(where) for tenant, where in used.items() if len(where) > 1}
    exercise.expect(ratio >= baseline + PICKER_MARGIN,
                    f"summed prefix-cache hit ratio {ratio:.2f} with your picker, {baseline:.2f} with round-robin "
                    f"(needed: at least {baseline + PICKER_MARGIN:.2f}). "
                    + (f"Requests sharing a system prompt went to several replicas ({len(spread)} of "
                       f"{len(used)} system prompts): key on the prompt's shared beginning (its first "
                       "characters), not on the whole prompt (the question differs) and not on the load alone"
                       if spread else "Keep each system prompt on the replica that served it first"),
                    f"你的选择器的前缀缓存命中率合计为 {ratio:.2f}，轮询为 {baseline:.2f}（至少需要 "
                    f"{baseline + PICKER_MARGIN:.2f}）。"
                    + (f"共享同一系统提示词的请求被发往了多个副本（{len(used)} 个系统提示词中有 {len(spread)} 个）："
                       "请以提示词共享的开头（前若干个字符）为键，而不是整个提示词（问题各不相同），也不能只看负载"
                       if spread else "请让每个系统提示词留在最先处理它的副本上"))
    print(f"prefix-cache hit ratio: yours {ratio:.2f}, round-robin {baseline:.2f}; requests per replica "
          f"{sorted(served.values())} (the gateway's figures: benchmarks/README.md)")
