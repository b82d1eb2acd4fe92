"""Lesson 2, exercise 2: change a real server budget and predict its effect; the check measures it.

The learner predicts first and measures after; the hint points at the reasoning (which budget the load
reaches, where waiting shows up) without naming a flag or a direction. The learner picks `tuned_flags`
(TGI launcher budget flags such as `max_batch_size` or `max_batch_prefill_tokens`) and `prediction`
({"output_tokens_per_s" | "ttft_s" | "itl_s": "up" | "down"}; TTFT as the server's histograms give it).
The check starts two course-server replicas
on one copy of the model -- default flags and the learner's -- runs the same load on both,
interleaved for TUNE_ROUNDS rounds (each arm keeps its best round, so a slow moment on a busy
machine hurts neither), and accepts a prediction only when the
measured ratio moves that way by at least TUNE_MARGIN.
text_generation_inference/tune_and_measure.md, "Tuning: a concurrency sweep".
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any, ClassVar

from .config import BUDGET_FLAGS, DIRECTIONS, TUNE_LOAD, TUNE_MARGIN, TUNE_METRICS, TUNE_ROUNDS
from .core import Exercise, run_in_thread
from .replicas import load_model, scrape, start_replicas

SOLUTION = '''
from smol_inference.bench import BenchConfig, format_table, run_bench_async

tuned_flags = dict(max_batch_size=1)  # one sequence at a time: no continuous batching
prediction = {"ttft_s": "up"}  # 8 requests take turns: most wait for whole generations before their first token

LOAD = dict(concurrency=[8], requests=8, prompt_tokens=16, max_new_tokens=64)
measured = []
for flags in ({}, tuned_flags):
    with start_server(model_id=MODEL, **flags) as replica:
        measured += (await run_bench_async(BenchConfig(url=replica.url, **LOAD)))["levels"]
        with TGIClient(replica.url) as replica_client:  # the server's view: queue + prefill medians
            ttft_ms = replica_client.metrics().time_to_first_token() * 1000
        print(flags or "default flags", f"TTFT p50 from the server's histograms: {ttft_ms:.0f} ms")
print(format_table(measured))  # client-side figures; first row: default flags, second row: tuned
'''


class Tuning(Exercise):
    """Check `tuned_flags` and `prediction` by measuring a default and a tuned replica under one load."""

    names: ClassVar[tuple[str, ...]] = ("tuned_flags", "prediction")
    hints: ClassVar[dict[str, str]] = {
        "en": ("Start from the load, not the flag: 8 requests arrive together. Which of the budgets on "
               "\"how engines batch\" does that load actually reach, and what does a request do while the budget "
               "it needs is used up? Decide which of the three figures that waiting shows up in first, and in which "
               "direction, and write it down; a budget the load never reaches changes nothing measurable. Then "
               "measure both replicas with run_bench_async and compare. TTFT is read from the server's histograms "
               "(queue + prefill); throughput and inter-token latency from the clients, which share this "
               "notebook's Python process with the servers."),
        "zh": ("从负载出发，而不是从参数出发：8 个请求同时到达。"
               "“引擎如何做批处理”一页里的哪项预算是这个负载真正会触及的？"
               "当请求需要的预算已被用完时，它会怎样？判断这种等待最先体现在三个指标中的哪一个、朝哪个方向变化，并把它写下来；"
               "负载触及不到的预算不会带来可测量的变化。"
               "然后用 run_bench_async 测量两个副本并比较。首词元延迟取自服务器的直方图"
               "（排队加预填充）；吞吐量和词元间延迟取自客户端，它们与服务器共用本 notebook 的 Python 进程。"),
    }
    solution_code: ClassVar[str] = SOLUTION

    def _check(self) -> None:
        flags, prediction = self.learner()
        self._check_flags(flags)
        self._check_prediction(prediction)
        baseline, tuned = self._measure(flags)
        lines = [f"{metric}: default {baseline[metric]:.4g}, tuned {tuned[metric]:.4g} "
                 f"(x{tuned[metric] / baseline[metric]:.2f})" for metric in TUNE_METRICS]
        for metric, direction in prediction.items():
            ratio = tuned[metric] / baseline[metric]
            held = ratio >= TUNE_MARGIN if direction == "up" else ratio <= 1 / TUNE_MARGIN
            self.expect(held,
                        f"you predicted {metric} {direction}, measured x{ratio:.2f} (needs x{TUNE_MARGIN:g} "
                        f"{'or more' if direction == 'up' else 'or less, inverted'}). Measured: {'; '.join(lines)}. "
                        "Revise the prediction, or pick a budget the load actually hits",
                        f"你预测 {metric} {'上升' if direction == 'up' else '下降'}，实测 x{ratio:.2f}（需要变化至少 "
                        f"{TUNE_MARGIN:g} 倍）。实测：{'；'.join(lines)}。请修改预测，或选一个负载真正会触及的预算")
        print("; ".join(lines))

    def _check_flags(self, flags: Any) -> None:
        from ..server import ServerConfig

        self.expect(isinstance(flags, dict) and flags,
                    "`tuned_flags` should be a non-empty dict of launcher flags, e.g. dict(max_batch_size=1), "
                    f"got {flags!r}",
                    f"`tuned_flags` 应为非空的启动参数 dict，例如 dict(max_batch_size=1)，实际是 {flags!r}")
        unknown = sorted(set(flags) - set(BUDGET_FLAGS))
        self.expect(not unknown,
                    f"`tuned_flags` sets {unknown}: change a budget flag, one of {', '.join(BUDGET_FLAGS)}",
                    f"`tuned_flags` 设置了 {unknown}：请修改预算参数，可选 {', '.join(BUDGET_FLAGS)}")
        try:
            ServerConfig(**flags)
        except (TypeError, ValueError) as error:
            raise AssertionError(f"`tuned_flags`: {error}") from None

    def _check_prediction(self, prediction: Any) -> None:
        self.expect(isinstance(prediction, dict) and prediction
                    and all(key in TUNE_METRICS and value in DIRECTIONS for key, value in prediction.items()),
                    f"`prediction` should map metrics ({', '.join(TUNE_METRICS)}) to 'up' or 'down', e.g. "
                    f"{{'output_tokens_per_s': 'down'}}, got {prediction!r}",
                    f"`prediction` 应把指标（{', '.join(TUNE_METRICS)}）映射到 'up' 或 'down'，例如 "
                    f"{{'output_tokens_per_s': 'down'}}，实际是 {prediction!r}")

    def _measure(self, flags: dict) -> tuple[dict[str, float], dict[str, float]]:
        """Best of TUNE_ROUNDS interleaved rounds for (default flags, tuned flags)."""
        model_id = self.given("MODEL")
        arms: list[list[dict[str, float]]] = [[], []]
        with ExitStack() as stack:
            base, tuned = start_replicas(stack, model_id, load_model(model_id), {}, flags)
            for seed in range(TUNE_ROUNDS):
                for arm, server in zip(arms, (base, tuned), strict=True):
                    arm.append(self._one_round(server.url, seed))
        base, tuned = arms
        return _best(base), _best(tuned)

    def _one_round(self, url: str, seed: int) -> dict[str, float]:
        """One load on `url`: throughput and inter-token latency from the clients, TTFT from the server.

        TTFT is the server's own estimate for this round (TGI's dashboard: queue p50 + prefill p50 from
        the histogram counts the round added): the clients share this process and its interpreter
        lock with the servers, and with a tiny model that contention, not the server, sets their TTFT.
        """
        from ..bench import BenchConfig, run_bench_async

        load: dict[str, Any] = dict(TUNE_LOAD)
        config = BenchConfig(url=url, concurrency=[load.pop("concurrency")], seed=seed, **load)
        before = scrape(url)
        level = run_in_thread(lambda: run_bench_async(config))["levels"][0]
        after = scrape(url)
        self.expect(level["failed"] == 0 and level["itl_s"]["p50"],
                    f"{level['failed']} of {level['requests']} requests failed at {url}: {level.get('errors')}",
                    f"{url} 上 {level['requests']} 个请求中有 {level['failed']} 个失败：{level.get('errors')}")
        ttft = (_round_quantile(before, after, "tgi_request_queue_duration")
                + _round_quantile(before, after, "tgi_batch_inference_duration", method="prefill"))
        return {"output_tokens_per_s": level["output_tokens_per_s"], "ttft_s": ttft,
                "itl_s": level["itl_s"]["p50"]}


def _round_quantile(before: Any, after: Any, name: str, **labels: str) -> float:
    """The median of what histogram `name` recorded between two scrapes."""
    from ..client import histogram_quantile

    earlier = dict(before.buckets(name, **labels))
    return histogram_quantile(0.5, [(bound, count - earlier.get(bound, 0.0))
                                    for bound, count in after.buckets(name, **labels)])


def _best(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Each metric's best round: highest throughput, lowest latencies."""
    return {"output_tokens_per_s": max(r["output_tokens_per_s"] for r in rounds),
            "ttft_s": min(r["ttft_s"] for r in rounds), "itl_s": min(r["itl_s"] for r in rounds)}
