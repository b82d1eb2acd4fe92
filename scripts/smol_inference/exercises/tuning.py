"""Lesson 2, exercise 2: change a real server budget and predict its effect; the check measures it.

The learner picks `tuned_flags` (TGI launcher budget flags such as `max_batch_size` or
`max_batch_prefill_tokens`) and `prediction` ({"output_tokens_per_s" | "ttft_s" | "itl_s": "up" |
"down"}). The check starts two course-server replicas on one copy of the model -- default flags and the
learner's -- runs the same load on both, interleaved for TUNE_ROUNDS rounds (each arm keeps its best
round, so a slow moment on a busy machine hurts neither), and accepts a prediction only when the
measured ratio moves that way by at least TUNE_MARGIN. text_generation_inference.md, "Tuning".
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any, ClassVar

from .config import BUDGET_FLAGS, DIRECTIONS, TUNE_LOAD, TUNE_MARGIN, TUNE_METRICS, TUNE_ROUNDS
from .core import Exercise, run_in_thread
from .replicas import load_model, start_replicas

SOLUTION = '''
from smol_inference.bench import BenchConfig, format_table, run_bench_async

tuned_flags = dict(max_batch_size=1)  # one sequence at a time: no continuous batching
prediction = {"ttft_s": "up"}  # 8 requests take turns: most wait for whole generations before their first token

LOAD = dict(concurrency=[8], requests=8, prompt_tokens=16, max_new_tokens=64)
measured = []
for flags in ({}, tuned_flags):
    with start_server(model_id=MODEL, **flags) as replica:
        measured += (await run_bench_async(BenchConfig(url=replica.url, **LOAD)))["levels"]
print(format_table(measured))  # first row: default flags; second row: tuned
'''


class Tuning(Exercise):
    """Check `tuned_flags` and `prediction` by measuring a default and a tuned replica under one load."""

    names: ClassVar[tuple[str, ...]] = ("tuned_flags", "prediction")
    hints: ClassVar[dict[str, str]] = {
        "en": ("Pick a budget that the load actually hits: with 8 concurrent requests, max_batch_size=1 forces them "
               "to take turns (throughput falls, time to first token climbs); a max_batch_size above 8 changes "
               "nothing measurable. Measure both replicas yourself with run_bench_async before you predict."),
        "zh": ("选一个负载真正会触及的预算：8 个并发请求时，max_batch_size=1 迫使它们排队轮流执行（吞吐量下降，"
               "首词元延迟上升）；而大于 8 的 max_batch_size 不会带来可测量的变化。预测之前，先用 "
               "run_bench_async 亲自测量两个副本。"),
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
                    f"`tuned_flags` should be a non-empty dict of launcher flags, e.g. dict(max_batch_size=1), got {flags!r}",
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
        return tuple(_best(rounds) for rounds in arms)  # type: ignore[return-value]

    def _one_round(self, url: str, seed: int) -> dict[str, float]:
        from ..bench import BenchConfig, run_bench_async

        load = dict(TUNE_LOAD)
        config = BenchConfig(url=url, concurrency=[load.pop("concurrency")], seed=seed, **load)
        level = run_in_thread(lambda: run_bench_async(config))["levels"][0]
        self.expect(level["failed"] == 0 and level["ttft_s"]["p50"] and level["itl_s"]["p50"],
                    f"{level['failed']} of {level['requests']} requests failed at {url}: {level.get('errors')}",
                    f"{url} 上 {level['requests']} 个请求中有 {level['failed']} 个失败：{level.get('errors')}")
        return {"output_tokens_per_s": level["output_tokens_per_s"], "ttft_s": level["ttft_s"]["p50"],
                "itl_s": level["itl_s"]["p50"]}


def _best(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Each metric's best round: highest throughput, lowest latencies."""
    return {"output_tokens_per_s": max(r["output_tokens_per_s"] for r in rounds),
            "ttft_s": min(r["ttft_s"] for r in rounds), "itl_s": min(r["itl_s"] for r in rounds)}
