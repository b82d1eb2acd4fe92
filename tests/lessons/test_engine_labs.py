"""The engine labs (smol_inference/exercises/labs): "not done yet" when empty, "correct" for the worked
solutions, and plausible wrong answers each rejected with a message that names the mistake.

A wrong answer is the worked solution with one plausible mistake edited in, run through the same
check the notebook runs (the real engine on the bundled model, through its seams).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from smol_inference.exercises import exercises
from smol_inference.exercises.core import run_code
from smol_inference.exercises.labs import settings
from smol_inference.server.engine.block_pool import OutOfBlocks

#: A check must finish within this on a busy 2-core machine (the notebook promises seconds).
CHECK_BUDGET_S = 10.0


def lab(number: int, language: str = "en", edit: tuple[str, str] | None = None) -> Any:
    """Lab `number` bound to a namespace holding its worked solution, with `edit` (old, new) applied."""
    namespace: dict[str, Any] = {"OutOfBlocks": OutOfBlocks}
    exercise = exercises("engine_labs", namespace, language=language)[number - 1]
    code = exercise.solution_code
    if edit is not None:
        assert edit[0] in code, f"the wrong answer's edit no longer applies: {edit[0]!r}"
        code = code.replace(*edit)
    run_code(code, namespace)
    return exercise


def test_empty_labs_say_not_done_yet(capsys: pytest.CaptureFixture[str]) -> None:
    for language, words in (("en", "not done yet"), ("zh", "尚未完成")):
        for exercise in exercises("engine_labs", {}, language=language):
            assert exercise.check() is False
            assert words in capsys.readouterr().out


@pytest.mark.parametrize("number", [1, 2, 3, 4, 5])
def test_worked_solutions_are_correct_within_budget(number: int, capsys: pytest.CaptureFixture[str]) -> None:
    exercise = lab(number)
    start = time.perf_counter()
    assert exercise.check() is True
    assert "correct" in capsys.readouterr().out
    assert time.perf_counter() - start < CHECK_BUDGET_S


WRONG = {
    1: [
        (("return -(-num_tokens // block_size)", "return num_tokens // block_size"),
         r"blocks_needed\(1, 4\) is 0, expected 1"),
        (("return -(-num_tokens // block_size)", "return num_tokens // block_size + 1"),
         r"blocks_needed\(4, 4\) is 2, expected 1.*fill their last block exactly"),
        (("        self.counts[block_id] -= 1\n        if self.counts[block_id] == 0:",
          "        self.counts[block_id] = 0\n        if True:"),
         r"still in use: free it only when its reference count reaches 0"),
        (("self.free.popitem(last=False)", "self.free.popitem(last=True)"), r"the least recently freed is"),
        (("            raise RuntimeError(f\"block {block_id} is not in use\")\n", "            pass\n"),
         r"releasing a block that nobody uses should raise"),
        (("        if self.counts[block_id] == 0:\n            del self.free[block_id]\n", ""),
         r"acquire\(\) of a free block \(a prefix-cache hit\) should take it out of the free list"),
        (("        if not self.free:", "        while True:\n            pass\n        if not self.free:"),
         r"`MyBlockAllocator.allocate` ran longer than .* endless loop"),
    ],
    2: [
        (("return hash((parent, tuple(tokens)))", "return hash(tuple(tokens))"), r"the key ignores the parent"),
        (("return hash((parent, tuple(tokens)))",
          "return hash(parent) if parent is not None else hash(tuple(tokens))"),
         r"two blocks with different tokens after the same parent got the same key"),
        (("key = self.key(found[-1][1] if found else None, block)", "key = self.key(None, block)"),
         r"chaining each key to the previous one"),
        (("        for start in", "        while True:\n            pass\n        for start in"),
         r"ran longer than"),
    ],
    3: [
        (("                chunk = min(seq.num_uncomputed, budget)\n                step.prefill(seq, chunk)",
          "                chunk = seq.num_uncomputed\n                step.prefill(seq, chunk)"),
         r"past the budget of 10"),
        (("            chunk = min(seq.num_uncomputed, budget)\n"
          "            step.prefill(seq, chunk)\n            budget",
          "            chunk = seq.num_uncomputed\n            step.prefill(seq, chunk)\n            budget"),
         r"past the budget of 10"),
        (("if step.room <= 0 or budget <= 0", "if budget <= 0"), r"past max_batch_size 2.*step.room"),
        (("            elif budget > 0:", "            elif False:"), r"step \d+: your planner .*; the engine "),
        (("        for seq in step.running:\n", "        for seq in list(step.running)[::-1]:\n"),
         r"step \d+: your planner"),
    ],
    4: [
        (("return running[-1]", "return running[0]"), r"the oldest running request"),
        (("return running[-1]", "return needy"), r"preemptions \(step, request\): yours .*which end of `running`"),
        (("return running[-1]", "return running[len(running) // 2]"), r"preemptions \(step, request\): yours"),
        (("return running[-1]", "while True:\n        pass"), r"`my_victim` ran longer than"),
    ],
    5: [
        (("before = ordered.cumsum(-1) - ordered", "before = ordered.cumsum(-1)"),
         r"the one that crosses the threshold stays"),
        (("    probs = scores.softmax(-1)\n", "    probs = logits.softmax(-1)\n"),
         r"then top-p on the renormalised tokens top-k left"),
        (("gather(1, (k - 1).unsqueeze(1))", "gather(1, k.clamp(max=scores.shape[-1] - 1).unsqueeze(1))"),
         r"top-k only: keep exactly the k best tokens"),
        (("    return scores.masked_fill(drop, float(\"-inf\"))", "    return scores.masked_fill(drop, -1e4)"),
         r"you keep 64 tokens"),
    ],
}


@pytest.mark.parametrize(("number", "edit", "message"),
                         [(n, edit, message) for n, cases in WRONG.items() for edit, message in cases])
def test_wrong_answers_are_rejected_with_the_mistake_named(number: int, edit: tuple[str, str], message: str) -> None:
    exercise = lab(number, edit=edit)
    start = time.perf_counter()
    with pytest.raises(AssertionError, match=message):
        exercise.check()
    assert time.perf_counter() - start < CHECK_BUDGET_S + settings.LEARNER_CALL_S


def test_wrong_answers_speak_the_learners_language() -> None:
    with pytest.raises(AssertionError, match="键忽略了父块"):
        lab(2, "zh", edit=("return hash((parent, tuple(tokens)))", "return hash(tuple(tokens))")).check()
    with pytest.raises(AssertionError, match="最早运行的请求"):
        lab(4, "zh", edit=("return running[-1]", "return running[0]")).check()


def test_the_preemption_trace_preempts_and_the_step_trace_chunks() -> None:
    """The scripted runs exercise what the labs are about (else every planner and victim would pass)."""
    from smol_inference.exercises.labs import harness

    prompts = [harness.prompt_ids(text) for text in settings.PROMPTS]
    squeezed = harness.run([*prompts, harness.prompt_ids(settings.SHORT_PROMPT)],
                           new_tokens=settings.PREEMPT_NEW_TOKENS, max_batch_total_tokens=settings.PREEMPT_POOL_TOKENS)
    assert squeezed.preempted > 1
    chunked = harness.run([*prompts, harness.prompt_ids(settings.SHORT_PROMPT)], arrivals=settings.ARRIVALS,
                          max_batch_prefill_tokens=settings.STEP_PREFILL_TOKENS,
                          max_batch_size=settings.STEP_BATCH_SIZE)
    chunks = [n for step in chunked.steps for action, _, n in step if action == "prefill"]
    assert max(chunks) == settings.STEP_PREFILL_TOKENS and min(chunks) < settings.STEP_PREFILL_TOKENS
