"""The engine's seams (server/engine/seams.py, step.py): replacement parts are checked where they plug in,
and a planner or victim that breaks the engine's rules gets a clear error instead of corrupt state."""

from __future__ import annotations

from typing import Any

import pytest

from smol_inference.exercises.labs import harness, settings
from smol_inference.server.engine import EngineSeams
from smol_inference.server.engine.seams import SeamError


def test_seams_refuse_objects_that_do_not_fit() -> None:
    with pytest.raises(TypeError, match="allocator must be callable"):
        EngineSeams(allocator=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="prefix_keys needs key"):
        EngineSeams(prefix_keys=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="planner needs a plan"):
        EngineSeams(planner=object())  # type: ignore[arg-type]


def run_with(**seams: Any) -> harness.Run:
    prompts = [harness.prompt_ids(text) for text in settings.PROMPTS]
    return harness.run(prompts, EngineSeams(**seams), new_tokens=settings.PREEMPT_NEW_TOKENS,
                       max_batch_total_tokens=settings.PREEMPT_POOL_TOKENS)


class SkipsTheQueue:
    """Admits the second waiting request before the first."""

    def plan(self, step: Any) -> None:
        waiting = step.waiting
        if len(waiting) > 1:
            step.admit(waiting[1])


class PrefillsTooMuch:
    def plan(self, step: Any) -> None:
        for seq in step.waiting[:1]:
            if step.admit(seq):
                step.prefill(seq, seq.num_uncomputed + 1)


def test_a_planner_cannot_break_arrival_order_or_overrun_a_prompt() -> None:
    with pytest.raises(SeamError, match="arrival order"):
        run_with(planner=SkipsTheQueue())
    with pytest.raises(SeamError, match="this sequence has \\d+ to run"):
        run_with(planner=PrefillsTooMuch())


def test_a_victim_must_be_running() -> None:
    with pytest.raises(SeamError, match="not running"):
        run_with(victim=lambda running, needy: object())


def test_the_default_seams_are_the_engines_own_parts() -> None:
    """Passing no seams and passing the engine's own classes give the same decisions and text."""
    from smol_inference.server.engine.block_manager import ChainedKeys
    from smol_inference.server.engine.block_pool import FreeListAllocator
    from smol_inference.server.engine.step import youngest

    plain = run_with()
    explicit = run_with(allocator=FreeListAllocator, prefix_keys=ChainedKeys(), victim=youngest)
    assert plain.preempted > 0
    assert explicit.steps == plain.steps and explicit.tokens == plain.tokens
