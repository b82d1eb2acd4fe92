"""What every engine lab shares: the time limit, the learner's objects wrapped, and the engine checks
that all labs repeat (greedy text identical to transformers, every block back in the pool)."""

from __future__ import annotations

from typing import Any

from ..core import Exercise
from . import harness, settings
from .guard import Guarded, LabTimeout


class Lab(Exercise):
    """An engine lab: subclasses write `_lab()`; a LabTimeout becomes a wrong answer naming the culprit."""

    def _check(self) -> None:
        self.errors: list[str] = []
        try:
            self._lab()
        except LabTimeout as late:
            self.expect(False, f"`{late.what}` ran longer than {settings.LEARNER_CALL_S:g} s: an endless loop? "
                        "Look at the loop's exit condition",
                        f"`{late.what}` 运行超过 {settings.LEARNER_CALL_S:g} 秒：是死循环吗？请检查循环的退出条件")
        except Exception:
            if not self.errors:
                raise
            self.expect(False, f"your code raised: {self.errors[0]}", f"你的代码抛出了异常：{self.errors[0]}")

    def _lab(self) -> None:
        raise NotImplementedError

    def wrap(self, what: str, target: Any) -> Guarded:
        return Guarded(what, target, self.errors)

    def guard_factory(self, what: str, cls: Any) -> Any:
        """num_blocks -> the learner's allocator, wrapped."""
        return lambda num_blocks: self.wrap(what, self.wrap(what, cls)(num_blocks))

    def prompts(self) -> list[list[int]]:
        return [harness.prompt_ids(text) for text in settings.PROMPTS]

    def expect_ran(self, result: harness.Run, what: str) -> None:
        """No exception from the learner's code, no failed request, no stuck run."""
        self.expect(not self.errors, f"your code raised inside the engine: {self.errors[:1]}",
                    f"你的代码在引擎内部抛出了异常：{self.errors[:1]}")
        self.expect(not result.errors, f"with your {what} a request failed inside the engine: "
                    f"{next(iter(result.errors.values()), '')}",
                    f"使用你的 {what} 时，有请求在引擎内部失败：{next(iter(result.errors.values()), '')}")
        self.expect(not result.stuck, f"with your {what} the requests did not finish within "
                    f"{settings.MAX_STEPS} engine steps: does every step run something?",
                    f"使用你的 {what} 时，请求在 {settings.MAX_STEPS} 个引擎步内没有完成：每一步都运行了什么吗？")

    def expect_greedy(self, result: harness.Run, prompts: list[list[int]], what: str,
                      new_tokens: int = settings.NEW_TOKENS) -> None:
        for i, ids in enumerate(prompts):
            want = list(harness.reference_tokens(tuple(ids), new_tokens))
            self.expect(result.tokens[i] == want,
                        f"with your {what}, request {i} generated {result.tokens[i]}, transformers' greedy generate "
                        f"gives {want}: a block is shared or reused while a sequence still needs its KV",
                        f"使用你的 {what}，请求 {i} 生成了 {result.tokens[i]}，transformers 贪心 generate 得到 "
                        f"{want}：某个块在序列仍需要其 KV 时被共享或复用了")

    def expect_blocks_back(self, result: harness.Run, what: str, case_en: str, case_zh: str) -> None:
        self.expect(result.free_after == result.num_blocks,
                    f"after {case_en}, {result.num_blocks - result.free_after} of {result.num_blocks} blocks are "
                    "still in use: every block must return to the pool when its last user leaves",
                    f"{case_zh}之后，{result.num_blocks} 个块中仍有 {result.num_blocks - result.free_after} 个在用："
                    "每个块在最后一个使用者离开时都必须回到池中")

    def check_texts_and_blocks(self, seams: Any, what: str) -> None:
        """Finish, stop and cancel with these seams: same text as transformers, every block back."""
        prompts = self.prompts()
        done = harness.run(prompts, seams)
        self.expect_ran(done, what)
        self.expect_greedy(done, prompts, what)
        self.expect_blocks_back(done, what, "three requests finished", "三个请求完成")
        tokenizer = harness.model_and_tokenizer()[1]
        stop_text = tokenizer.decode(list(harness.reference_tokens(tuple(prompts[0]), settings.NEW_TOKENS))[2:4])
        stopped = harness.run(prompts, seams, stop={0: stop_text}, cancel_at={1: 3})
        self.expect_ran(stopped, what)
        self.expect_blocks_back(stopped, what, "a stop sequence and a cancel", "停止序列和取消")
