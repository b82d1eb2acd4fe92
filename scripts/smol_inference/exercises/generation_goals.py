"""Lesson 1, exercise 2: pick generation settings for three goals, measured on the model's outputs.

The learner writes three dicts of `chat()` keyword arguments: `deterministic` (the same reply every
time), `varied` (different replies from run to run) and `short` (at most SHORT_MAX_TOKENS new tokens).
The check runs `chat(generator, ...)` with each and measures the replies: deterministic over runs with
the global random state reseeded between them, varied over seeds 0..GOAL_RUNS-1 (so the check itself
is repeatable), short on a prompt whose greedy reply is long. inference_pipeline.md, "Generation
parameters".
"""

from __future__ import annotations

from typing import Any, ClassVar

from .config import (GOAL_NEW_TOKENS, GOAL_RUNS, LONG_ANSWER_PROMPT, OPEN_PROMPT, SHORT_MAX_TOKENS,
                     VARIED_MIN_DISTINCT)
from .core import Exercise

SOLUTION = '''
deterministic = dict(do_sample=False)                 # greedy: always the most likely token
varied = dict(temperature=1.2, top_p=0.95)            # sampling, and no fixed seed
short = dict(max_new_tokens=6)                        # a hard cap on new tokens

for name, settings in [("deterministic", deterministic), ("varied", varied), ("short", short)]:
    print(name, [chat(generator, "Tell me something.", **settings).text for _ in range(2)])
'''


class GenerationGoals(Exercise):
    """Check `deterministic`, `varied`, `short` (dicts of chat() keyword arguments) by their outputs."""

    names: ClassVar[tuple[str, ...]] = ("deterministic", "varied", "short")
    hints: ClassVar[dict[str, str]] = {
        "en": ("For each goal, ask what decides the next token. If the model always takes its most likely "
               "token, can two runs differ? If it draws from a distribution, what would make two draws "
               "identical (and should `varied` carry that)? For `short`, which setting bounds the work itself "
               "rather than the text after the fact? Try each dict twice with chat() before checking."),
        "zh": ("针对每个目标，先想清楚下一个词元由什么决定。"
               "如果模型总是取概率最高的词元，两次运行会不同吗？如果它从一个"
               "分布中抽样，什么会让两次抽样完全相同（`varied` 应该带上它吗）？对于 `short`，哪个设置限制的是生成本身，"
               "而不是事后截断文本？检查之前，先用 chat() 把每个 dict 各试两次。"),
    }
    solution_code: ClassVar[str] = SOLUTION

    def _check(self) -> None:
        deterministic, varied, short = self.learner()
        generator = self.given("generator")
        for name, settings in (("deterministic", deterministic), ("varied", varied), ("short", short)):
            self._params(name, settings)
        self._check_short(generator, short)  # cheapest first: one reply
        self._check_deterministic(generator, deterministic)
        self._check_varied(generator, varied)

    def _params(self, name: str, settings: Any) -> Any:
        """The GenerationParams the settings resolve to; AssertionError for anything chat() refuses."""
        from ..presets import make_params

        self.expect(isinstance(settings, dict),
                    f"`{name}` should be a dict of chat() keyword arguments, e.g. dict(max_new_tokens=8), "
                    f"got {type(settings).__name__}",
                    f"`{name}` 应为 chat() 关键字参数组成的 dict，例如 dict(max_new_tokens=8)，实际是 "
                    f"{type(settings).__name__}")
        rest = {key: value for key, value in settings.items() if key != "preset"}
        try:
            return make_params(settings.get("preset"), **rest)
        except (ValueError, TypeError) as error:
            raise AssertionError(f"`{name}`: {error}") from None

    def _run(self, generator: Any, settings: dict, prompt: str, cap: bool = True, **extra: Any) -> Any:
        """chat() with the learner's settings (length capped at GOAL_NEW_TOKENS unless they set one)."""
        from ..pipeline import chat

        defaults = {"max_new_tokens": GOAL_NEW_TOKENS} if cap else {}
        return chat(generator, prompt, **{**defaults, **settings, **extra})

    def _check_deterministic(self, generator: Any, settings: dict) -> None:
        import torch

        texts = set()
        for run in range(GOAL_RUNS):
            torch.manual_seed(1000 + run)  # a different random state each run: only randomness changes
            texts.add(self._run(generator, settings, OPEN_PROMPT).text)
        self.expect(len(texts) == 1,
                    f"`deterministic` gave {len(texts)} different replies in {GOAL_RUNS} runs: these settings "
                    "sample; use greedy decoding (do_sample=False) or fix a seed",
                    f"`deterministic` 在 {GOAL_RUNS} 次运行中得到 {len(texts)} 种不同回复：这些设置在采样；"
                    "请用贪心解码（do_sample=False）或固定 seed")
        params = self._params("deterministic", settings)
        self.expect(not params.sampling or params.seed is not None,
                    "`deterministic` samples without a seed: it repeated here by chance (this model is very "
                    "sure of itself); use do_sample=False",
                    "`deterministic` 在没有 seed 的情况下采样：这里的重复只是碰巧（该模型非常确定）；"
                    "请用 do_sample=False")

    def _check_varied(self, generator: Any, settings: dict) -> None:
        params = self._params("varied", settings)
        self.expect(params.sampling,
                    "`varied` decodes greedily, so every run gives the same reply: set temperature (e.g. 1.2) "
                    "or top_p to sample",
                    "`varied` 使用贪心解码，每次回复都相同：请设置 temperature（例如 1.2）或 top_p 来采样")
        self.expect(params.seed is None,
                    f"`varied` fixes seed={params.seed}: the same seed repeats the same sample; leave it out",
                    f"`varied` 固定了 seed={params.seed}：相同的 seed 会得到相同的采样；请去掉它")
        texts = {self._run(generator, settings, OPEN_PROMPT, seed=seed).text for seed in range(GOAL_RUNS)}
        self.expect(len(texts) >= VARIED_MIN_DISTINCT,
                    f"`varied` gave {len(texts)} distinct replies over {GOAL_RUNS} seeds: raise the temperature "
                    "or top_p so that more tokens stay possible",
                    f"`varied` 在 {GOAL_RUNS} 个 seed 下只得到 {len(texts)} 种回复：请提高 temperature 或 top_p，"
                    "让更多词元有机会被选中")

    def _check_short(self, generator: Any, settings: dict) -> None:
        result = self._run(generator, settings, LONG_ANSWER_PROMPT, cap=False)
        self.expect(result.generated_tokens <= SHORT_MAX_TOKENS,
                    f"`short` let the reply to {LONG_ANSWER_PROMPT!r} run to {result.generated_tokens} tokens "
                    f"(goal: at most {SHORT_MAX_TOKENS}): cap max_new_tokens",
                    f"`short` 让 {LONG_ANSWER_PROMPT!r} 的回复长达 {result.generated_tokens} 个词元"
                    f"（目标：最多 {SHORT_MAX_TOKENS} 个）：请限制 max_new_tokens")
        self.expect(result.text.strip(), "`short` gave an empty reply: allow at least one token",
                    "`short` 得到了空回复：请至少允许生成一个词元")
