"""Lab 4: preemption by recompute (seams.VictimPolicy): which running sequence gives its blocks back.

The learner writes `my_victim(running, needy)`. The check runs four requests on a KV pool too small
for all of them, with the engine's victim and with the learner's: the same requests must be preempted
at the same steps (the most recently admitted), and every request, preempted or not, must finish with
transformers' greedy text. Reference: server/engine/step.py `youngest`.
"""

from __future__ import annotations

from typing import ClassVar

from . import harness, settings
from .base import Lab

SOLUTION = '''
def my_victim(running, needy):
    return running[-1]
'''


def preemptions(run: harness.Run) -> list[tuple[int, int]]:
    """(step, request) of every preemption."""
    return [(number, i) for number, step in enumerate(run.steps) for a, i, _ in step if a == "preempt"]


class PreemptionLab(Lab):
    """Run a KV pool too small for four requests with `my_victim` and with the engine's choice."""

    names: ClassVar[tuple[str, ...]] = ("my_victim",)
    hints: ClassVar[dict[str, str]] = {
        "en": ("`running` is in admission order. A preempted request loses all its computed tokens and must "
               "prefill them again: whose loss is smallest, and who has waited longest for their answer? "
               "Could the needy sequence itself be the right victim?"),
        "zh": ("`running` 按接纳顺序排列。被抢占的请求会丢掉所有已计算的词元，必须重新预填充：谁的损失最小？"
               "谁等待答案最久？需要块的那个序列本身会不会正是该被抢占的？"),
    }
    solution_code: ClassVar[str] = SOLUTION

    def _lab(self) -> None:
        from ...server.engine import EngineSeams

        (victim,) = self.learner()
        self.expect(callable(victim), "`my_victim` should be a function (running, needy) -> a sequence of running",
                    "`my_victim` 应是一个函数 (running, needy) -> running 中的一个序列")
        prompts = [*self.prompts(), harness.prompt_ids(settings.SHORT_PROMPT)]
        flags = {"max_batch_total_tokens": settings.PREEMPT_POOL_TOKENS}
        new = settings.PREEMPT_NEW_TOKENS
        ours = harness.run(prompts, None, new_tokens=new, **flags)
        mine = harness.run(prompts, EngineSeams(victim=self.wrap("my_victim", victim)), new_tokens=new, **flags)
        self.expect(not self.errors, f"your code raised inside the engine: {self.errors[:1]}",
                    f"你的代码在引擎内部抛出了异常：{self.errors[:1]}")
        got, want = preemptions(mine), preemptions(ours)
        if got != want:
            mine_all = [(n, i, k) for n, step in enumerate(mine.steps) for a, i, k in step if a == "preempt"]
            first = next((d for d, w in zip(mine_all, [*want, *[None] * len(mine_all)]) if d[:2] != w), None)
            self.expect(first is None or first[2] != 0,
                        f"at step {first[0] if first else '?'} you preempted request {first[1] if first else '?'}, the "
                        "oldest running request: it loses the most work and has waited longest; the engine "
                        "preempts the most recently admitted",
                        f"第 {first[0] if first else '?'} 步你抢占了请求 {first[1] if first else '?'}，"
                        "即最早运行的请求："
                        "它损失的工作最多、等待也最久；引擎抢占的是最近接纳的请求")
            self.expect(False,
                        f"preemptions (step, request): yours {got}, the engine's {want}: look at which end of "
                        "`running` (admission order) you take",
                        f"抢占（步, 请求）：你的 {got}，引擎的 {want}：请看你取的是 `running`（接纳顺序）的哪一端")
        self.expect_ran(mine, "my_victim")
        self.expect_greedy(mine, prompts, "my_victim", new_tokens=new)
        self.expect(mine.free_after == mine.num_blocks,
                    "after preemptions some blocks stay in use: a preempted sequence gives back all its blocks",
                    "抢占之后仍有块在用：被抢占的序列应归还它的全部块")
