"""Lab 3: one scheduler step (seams.StepPlanner): running sequences first, then waiting ones in arrival order.

The learner writes `MyPlanner.plan(step)`. The check runs a scripted arrival trace through the engine
twice, with the engine's planner and with the learner's, and compares the decisions step by step
(who runs, how many tokens, who is admitted), never block ids; before that it names the broken rule
(prefill budget, batch size, running first). Reference: server/engine/scheduler.py `Scheduler.plan`.
"""

from __future__ import annotations

from typing import ClassVar

from . import harness, settings
from .base import Lab
from .guard import guarded

SOLUTION = '''
class MyPlanner:
    def plan(self, step):
        budget = step.prefill_budget
        for seq in step.running:
            if not step.is_running(seq):          # preempted earlier in this step
                continue
            if seq.num_uncomputed == 1:
                step.decode(seq)
            elif budget > 0:
                chunk = min(seq.num_uncomputed, budget)
                step.prefill(seq, chunk)
                budget -= chunk
        for seq in step.waiting:
            if step.room <= 0 or budget <= 0 or not step.admit(seq):
                break
            chunk = min(seq.num_uncomputed, budget)
            step.prefill(seq, chunk)
            budget -= chunk
'''

NAMES = {"decode": ("decodes", "解码"), "prefill": ("prefills", "预填充"), "admit": ("admits", "接纳"),
         "preempt": ("preempts", "抢占")}


def describe(decisions: list[harness.Decision], zh: bool) -> str:
    if not decisions:
        return "无" if zh else "nothing"
    return ", ".join(f"{NAMES[a][1 if zh else 0]} {'请求' if zh else 'request '}{i}"
                     + (f" ({n})" if a == "prefill" else "") for a, i, n in decisions)


class StepPlannerLab(Lab):
    """Run the arrival trace with `MyPlanner` and with the engine's planner; compare decisions step by step."""

    names: ClassVar[tuple[str, ...]] = ("MyPlanner",)
    hints: ClassVar[dict[str, str]] = {
        "en": ("Two passes over one budget. Which sequences must never wait behind a newcomer? How many prompt "
               "tokens may a step run in all, and what happens to a prompt longer than what is left? When does "
               "admission stop, and why must it stop rather than skip a request?"),
        "zh": ("两轮遍历，共用一个预算。哪些序列绝不能排在新来的请求后面？一步总共能运行多少个提示词词元？比剩余预算"
               "更长的提示词怎么办？接纳何时停止？为什么必须停止，而不是跳过某个请求？"),
    }
    solution_code: ClassVar[str] = SOLUTION

    def _lab(self) -> None:
        from ...server.engine import EngineSeams

        (cls,) = self.learner()
        planner = self.wrap("MyPlanner", guarded("MyPlanner()", cls))
        prompts = [*self.prompts(), harness.prompt_ids(settings.SHORT_PROMPT)]
        flags = {"max_batch_prefill_tokens": settings.STEP_PREFILL_TOKENS, "max_batch_size": settings.STEP_BATCH_SIZE}
        ours = harness.run(prompts, None, arrivals=settings.ARRIVALS, **flags)
        mine = harness.run(prompts, EngineSeams(planner=planner), arrivals=settings.ARRIVALS, **flags)
        self.expect(not self.errors, f"your code raised inside the engine: {self.errors[:1]}",
                    f"你的代码在引擎内部抛出了异常：{self.errors[:1]}")
        for number, decisions in enumerate(mine.steps):
            self._rules(number, decisions, mine.steps[:number])
            want = ours.steps[number] if number < len(ours.steps) else []
            self.expect(decisions == want,
                        f"step {number}: your planner {describe(decisions, False)}; the engine "
                        f"{describe(want, False)}: compare the order (running first, waiting in arrival order) "
                        "and each chunk's length",
                        f"第 {number} 步：你的调度器 {describe(decisions, True)}；引擎 {describe(want, True)}："
                        "请对照顺序（先运行中的，再按到达顺序处理等待的）和每块的长度")
        self.expect_ran(mine, "MyPlanner")
        self.expect(len(mine.steps) == len(ours.steps),
                    f"your planner took {len(mine.steps)} steps, the engine {len(ours.steps)}",
                    f"你的调度器用了 {len(mine.steps)} 步，引擎用了 {len(ours.steps)} 步")
        self.expect_greedy(mine, prompts, "MyPlanner")

    def _rules(self, number: int, decisions: list[harness.Decision], before: list[list[harness.Decision]]) -> None:
        prefill = sum(n for a, _, n in decisions if a == "prefill")
        self.expect(prefill <= settings.STEP_PREFILL_TOKENS,
                    f"step {number} runs {prefill} prompt tokens, past the budget of {settings.STEP_PREFILL_TOKENS} "
                    "(step.prefill_budget): cut the last prompt into a chunk that fits, and count every chunk",
                    f"第 {number} 步运行了 {prefill} 个提示词词元，超出了预算 {settings.STEP_PREFILL_TOKENS}"
                    "（step.prefill_budget）：把最后一个提示词切成放得下的一块，并把每一块都计入预算")
        running = {i for a, i, _ in decisions if a in ("decode", "prefill")}
        self.expect(len(running) <= settings.STEP_BATCH_SIZE,
                    f"step {number} runs {len(running)} sequences, past max_batch_size {settings.STEP_BATCH_SIZE}: "
                    "check step.room before admitting",
                    f"第 {number} 步运行了 {len(running)} 个序列，超过了 max_batch_size {settings.STEP_BATCH_SIZE}："
                    "接纳前请检查 step.room")
        admitted = [i for a, i, _ in decisions if a == "admit"]
        first_admit = next((k for k, d in enumerate(decisions) if d[0] == "admit"), len(decisions))
        late = [i for a, i, _ in decisions[first_admit:] if a in ("decode", "prefill") and i not in admitted]
        self.expect(not late,
                    f"step {number} admits a waiting request before running request {late[:1]} got its tokens: "
                    "running sequences go first, newcomers take what is left",
                    f"第 {number} 步在运行中的请求 {late[:1]} 拿到词元之前就接纳了等待的请求：运行中的序列优先，"
                    "新请求只能用剩下的预算")
