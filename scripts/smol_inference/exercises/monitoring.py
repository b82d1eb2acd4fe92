"""Lesson 2, exercise 3: monitor and scale, checked without sampling races.

The learner writes four things; the check runs each against replicas it starts on one copy of the model:

* `read_gauges(url) -> (queue_size, batch_size)` from /metrics (`tgi_queue_size`,
  `tgi_batch_current_size`). The check holds the model's forward passes and lets them through one at a
  time until the replica (max_batch_size=GAUGE_BATCH) runs GAUGE_BATCH requests and queues the rest;
  the state is then frozen, so the learner's reading must match it exactly.
* `ttft_from_metrics(metrics) -> seconds`: median time to first token from the histograms. The check
  streams a load, measures TTFT at the client, and accepts from client - TTFT_BELOW_S to
  TTFT_FACTOR * client + TTFT_ABOVE_S.
* `pick_replica(prompt, in_flight: dict[url, int]) -> url`: a prefix-aware picker (it sees the prompt,
  as the SGLang Model Gateway's cache_aware policy does). prefix_picker.py routes the gateway's
  multi-tenant workload over three replicas with it and with round-robin, and compares their summed
  prefix-cache hit ratios.
* `retry_policy` (a RetryPolicy): the check fills a replica's `max_concurrent_requests` with held
  requests, sends more with the policy, keeps the replica busy OVERLOAD_HOLD_S after each got its 429,
  and expects every one of them to get through.
text_generation_inference/operate_and_scale.md, "Monitoring" and "Scaling out".
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from typing import Any, ClassVar

from ..bench.workload import make_prompts
from .config import (GAUGE_BATCH, GAUGE_MAX_STEPS, GAUGE_SETTLE_S, GAUGE_NEW_TOKENS, GAUGE_REQUESTS, OVERLOAD_EXTRA,
                     OVERLOAD_HOLD_S, OVERLOAD_LIMIT, OVERLOAD_NEW_TOKENS, TTFT_ABOVE_S, TTFT_BELOW_S, TTFT_FACTOR,
                     TTFT_LOAD)
from .core import Exercise, run_in_thread
from .hold import ModelHold
from .prefix_picker import check_picker
from .replicas import generate, in_threads, join, load_model, scrape, start_replicas, wait_for

#: Random words: the bundled model answers them up to max_new_tokens (a question may end at once).
PROMPT = make_prompts(1, 12, seed=0)[0]

SOLUTION = '''
import asyncio

from smol_inference import AsyncTGIClient
from smol_inference.client import RetryPolicy


def read_gauges(url):
    with TGIClient(url) as replica:
        metrics = replica.metrics()
    return int(metrics.value("tgi_queue_size")), int(metrics.value("tgi_batch_current_size"))


def ttft_from_metrics(metrics):
    # TGI's dashboard: time in the queue plus the prefill step (medians)
    return (metrics.quantile("tgi_request_queue_duration", 0.5)
            + metrics.quantile("tgi_batch_inference_duration", 0.5, method="prefill"))


home = {}  # prompt prefix -> the replica that served it first (its KV blocks are cached there)


def pick_replica(prompt, in_flight):
    key = prompt[:64]                       # the shared system prompt, not the question after it
    if home.get(key) not in in_flight:      # a new prefix (or an old replica): the least-loaded one
        home[key] = min(in_flight, key=in_flight.get)
    return home[key]


retry_policy = RetryPolicy(max_retries=12, initial_delay_s=0.1, max_delay_s=2.0)

async with AsyncTGIClient(ENDPOINT) as load_client:
    running = [asyncio.create_task(load_client.generate(f"Count to {n}.", max_new_tokens=16)) for n in range(8)]
    await asyncio.sleep(0)
    print("gauges (queue, batch) while 8 requests run:", read_gauges(ENDPOINT))
    await asyncio.gather(*running)
print(f"TTFT p50 from the histograms: {ttft_from_metrics(client.metrics()) * 1000:.1f} ms")
print("next request goes to:",
      pick_replica("You are a support bot.\\nHi", {"http://replica-a": 3, "http://replica-b": 1}))
'''


class Monitoring(Exercise):
    """Check `read_gauges`, `ttft_from_metrics`, `pick_replica` and `retry_policy` on live replicas."""

    names: ClassVar[tuple[str, ...]] = ("read_gauges", "ttft_from_metrics", "pick_replica", "retry_policy")
    hints: ClassVar[dict[str, str]] = {
        "en": ("TGIClient(url).metrics() parses /metrics: .value('tgi_queue_size') reads a gauge and "
               ".quantile(name, 0.5, method='prefill') a histogram. TGI's dashboard estimates TTFT as queue "
               "time plus prefill time, not the whole request. A prefix-aware picker keys on the prompt's "
               "shared beginning (prompt[:64]): the first time it sees a key it sends it to the least-loaded url "
               "(min(in_flight, key=in_flight.get)) and remembers it in a dict; later it sends the key there again. "
               "A retry policy must keep trying "
               "for longer than the server stays busy: several retries and a max delay of seconds."),
        "zh": ("TGIClient(url).metrics() 解析 /metrics：.value('tgi_queue_size') 读取仪表，"
               ".quantile(name, 0.5, method='prefill') 读取直方图。TGI 的仪表盘把 TTFT 估算为排队时间加预填充时间，"
               "而不是整个请求的时间。感知前缀的选择器以提示词共享的开头（prompt[:64]）为键："
               "第一次见到某个键时发给负载最低的 url（min(in_flight, key=in_flight.get)）并记在字典里，"
               "之后再发往同一处。重试策略的坚持时间必须长于服务器繁忙的时间：多次重试，"
               "最大延迟达到数秒。"),
    }
    solution_code: ClassVar[str] = SOLUTION

    def _check(self) -> None:
        from ..client import RetryPolicy

        read_gauges, ttft_from_metrics, pick_replica, retry_policy = self.learner()
        for name, value in (("read_gauges", read_gauges), ("ttft_from_metrics", ttft_from_metrics),
                            ("pick_replica", pick_replica)):
            self.expect(callable(value), f"`{name}` should be a function", f"`{name}` 应为函数")
        self.expect(isinstance(retry_policy, RetryPolicy),
                    f"`retry_policy` should be a RetryPolicy(...), got {type(retry_policy).__name__}",
                    f"`retry_policy` 应为 RetryPolicy(...)，实际是 {type(retry_policy).__name__}")
        model_id = self.given("MODEL")
        preloaded = load_model(model_id)
        with ExitStack() as stack:
            gauged, first, second, third, small = start_replicas(
                stack, model_id, preloaded, {"max_batch_size": GAUGE_BATCH}, {}, {}, {},
                {"max_concurrent_requests": OVERLOAD_LIMIT})
            self._check_gauges(read_gauges, gauged.url, preloaded[0])
            self._check_ttft(ttft_from_metrics, first.url)
            check_picker(self, pick_replica, [second.url, third.url, first.url])
            self._check_retries(retry_policy, small.url, preloaded[0])

    def _check_gauges(self, read_gauges: Any, url: str, model: Any) -> None:
        target = (GAUGE_REQUESTS - GAUGE_BATCH, GAUGE_BATCH)

        def state() -> tuple[int, int]:
            metrics = scrape(url)
            return int(metrics.value("tgi_queue_size")), int(metrics.value("tgi_batch_current_size"))

        with ModelHold(model) as hold:
            threads, _ = in_threads([lambda: generate(url, PROMPT, GAUGE_NEW_TOKENS)] * GAUGE_REQUESTS)
            arrived = wait_for(lambda: scrape(url).value("tgi_request_count") >= GAUGE_REQUESTS)
            reached = False
            for _ in range(GAUGE_MAX_STEPS if arrived else 0):  # one forward pass at a time until the target
                if not hold.wait_waiting():
                    break
                if wait_for(lambda: state() == target, timeout_s=GAUGE_SETTLE_S):
                    reached = True
                    break
                hold.step()
            got = read_gauges(url) if reached else None
            hold.open()
            join(threads)
        if not reached:
            raise RuntimeError(f"the held replica never reached queue={target[0]}, batch={target[1]}")
        self.expect(tuple(got) == target if isinstance(got, (tuple, list)) else False,
                    f"with {target[1]} requests running and {target[0]} waiting (the model held), read_gauges(url) "
                    f"returned {got!r}, expected {target}: (tgi_queue_size, tgi_batch_current_size)",
                    f"在 {target[1]} 个请求运行、{target[0]} 个请求等待时（模型被暂停），"
                    f"read_gauges(url) 返回 {got!r}，应为 {target}：(tgi_queue_size, tgi_batch_current_size)")

    def _check_ttft(self, ttft_from_metrics: Any, url: str) -> None:
        from ..bench import BenchConfig, run_bench_async

        load: dict[str, Any] = dict(TTFT_LOAD)
        config = BenchConfig(url=url, concurrency=[load.pop("concurrency")], **load)
        level = run_in_thread(lambda: run_bench_async(config))["levels"][0]
        client = level["ttft_s"]["p50"]
        if level["failed"] or client is None:
            raise RuntimeError(f"the TTFT load failed: {level['first_errors']}")
        estimate = ttft_from_metrics(scrape(url))
        self.expect(isinstance(estimate, (int, float)) and estimate > 0,
                    f"ttft_from_metrics returned {estimate!r}: return seconds, a positive number",
                    f"ttft_from_metrics 返回 {estimate!r}：应返回秒数（正数）")
        low, high = client - TTFT_BELOW_S, TTFT_FACTOR * client + TTFT_ABOVE_S
        self.expect(low <= estimate <= high,
                    f"ttft_from_metrics says {estimate * 1000:.1f} ms, clients measured a median TTFT of "
                    f"{client * 1000:.1f} ms (accepted: {max(low, 0) * 1000:.0f} to {high * 1000:.0f} ms): "
                    "add the p50 queue time and the p50 prefill time",
                    f"ttft_from_metrics 给出 {estimate * 1000:.1f} 毫秒，客户端测得的首词元延迟中位数是 "
                    f"{client * 1000:.1f} 毫秒（可接受范围：{max(low, 0) * 1000:.0f} 到 {high * 1000:.0f} 毫秒）："
                    "请把排队时间 p50 与预填充时间 p50 相加")

    def _check_retries(self, policy: Any, url: str, model: Any) -> None:
        from ..client import TGIClient

        def patient() -> str:
            with TGIClient(url, retry=policy) as client:
                return client.generate(PROMPT, max_new_tokens=OVERLOAD_NEW_TOKENS).generated_text

        def rejected() -> float:
            return scrape(url).value("tgi_request_failure", err="overloaded")

        pause = threading.Event()
        with ModelHold(model) as hold:
            holders, _ = in_threads([lambda: generate(url, PROMPT, OVERLOAD_NEW_TOKENS)] * OVERLOAD_LIMIT)
            # tgi_request_count is counted as a permit is taken: this many = every permit held
            full = wait_for(lambda: scrape(url).value("tgi_request_count") >= OVERLOAD_LIMIT)
            start = rejected()
            extra, results = in_threads([patient] * OVERLOAD_EXTRA)
            all_rejected = full and wait_for(lambda: rejected() - start >= OVERLOAD_EXTRA)
            pause.wait(OVERLOAD_HOLD_S)
            hold.open()
            join(holders + extra)
        if not all_rejected:
            raise RuntimeError("the overload check could not fill the replica")
        failed = [type(result).__name__ for result in results if not isinstance(result, str)]
        self.expect(not failed,
                    f"{len(failed)} of {OVERLOAD_EXTRA} requests failed ({', '.join(failed)}) although the replica "
                    f"was busy for only about {OVERLOAD_HOLD_S:g} s after their first 429: give retry_policy more "
                    "retries and a longer max_delay_s",
                    f"{OVERLOAD_EXTRA} 个请求中有 {len(failed)} 个失败（{', '.join(failed)}），"
                    f"而副本在它们第一次收到 429 后只忙了约 {OVERLOAD_HOLD_S:g} 秒："
                    "请给 retry_policy 更多重试次数和更长的 max_delay_s")

