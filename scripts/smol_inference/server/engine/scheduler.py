"""Which tokens run in the next step: decode first, then prompt chunks, within budgets and free blocks.

One step mixes every running sequence's decode token with chunks of prompts still being prefilled,
as TGI 3 and vLLM do (chunked prefill, vLLM's "Sarathi" scheduling, arXiv:2403.02310):

1. Every running sequence gets its next token(s), oldest first: one token when decoding, a chunk of
   its prompt when prefilling. Prompt chunks share `--max-batch-prefill-tokens` per step, so a long
   prompt never stalls the decoding sequences for more than one chunk. A decoding sequence whose
   next token needs a new block and finds none preempts the youngest running sequence: its blocks
   are freed and it waits at the front of the queue to be recomputed later (vLLM's recompute
   preemption; its full blocks usually stay in the prefix cache).
2. Waiting requests are admitted in arrival order while the prefill budget, the batch-size limit
   and free blocks for their whole prompt allow; the first that does not fit stops admission.

With chunking off (`--disable-chunked-prefill`, PREFILL_CHUNKING=0) a prompt is prefilled whole, and
TGI's older rule decides when newcomers may interrupt a running batch
(backends/v3/src/backend.rs): at least `floor(running * --waiting-served-ratio)` of them must fit,
or the batch must have run `--max-waiting-tokens` steps since the last admission.
`Scheduler.plan` makes these decisions and step.py's `Step` carries them out; a replacement planner or
victim policy plugs in through seams.py. text_generation_inference/inside_the_server.md, "Inside the server".
"""

from __future__ import annotations

import math

from .block_manager import BlockManager
from .config import EngineConfig
from .queue import RequestQueue
from .seams import SeamError, StepPlanner, VictimPolicy
from .sequence import Sequence, Work
from .step import Step, youngest


class Scheduler:
    """Owns the running list; `schedule()` returns the next step's work."""

    def __init__(self, config: EngineConfig, queue: RequestQueue, blocks: BlockManager,
                 planner: StepPlanner | None = None, victim: VictimPolicy | None = None) -> None:
        self.config, self.queue, self.blocks = config, queue, blocks
        self.running: list[Sequence] = []
        self.chunking = not config.disable_chunked_prefill
        self.waiting_steps = 0          # steps since the last admission (TGI's waiting_tokens)
        self.preempted = 0              # preemptions so far (a metric)
        self.failed: list[Sequence] = []  # sequences whose block allocation raised (the engine fails them)
        self.planner, self.victim = planner, victim or youngest   # seams.py; None: self.plan
        self.decisions: list[tuple[str, Sequence, int]] = []      # the last step's, in order (step.py `Step.decisions`)

    def schedule(self) -> list[Work]:
        """The next step: [] when nothing can run. The planner decides, `Step` carries it out."""
        step = Step(self)
        (self.planner or self).plan(step)
        self.waiting_steps = 0 if step.admitted else self.waiting_steps + 1
        self.decisions = step.decisions
        return step.work

    def plan(self, step: Step) -> None:
        """The engine's own planner (seams.StepPlanner): running first, then admission in arrival order."""
        budget = step.prefill_budget
        for seq in step.running:
            if not step.is_running(seq):                      # preempted earlier in this step
                continue
            if seq.num_uncomputed == 1:
                step.decode(seq)
            elif budget > 0:
                length = min(seq.num_uncomputed, budget) if self.chunking else seq.num_uncomputed
                step.prefill(seq, length)
                budget -= length
        if not self.chunking and not self._old_rule_allows(budget, step.room, len(step.work)):
            return
        for seq in step.waiting:
            if step.room <= 0 or budget <= 0:
                break
            if not self.chunking and len(seq.token_ids) > budget:
                break
            if not step.admit(seq):
                break
            length = min(seq.num_uncomputed, budget) if self.chunking else seq.num_uncomputed
            step.prefill(seq, length)
            budget -= length

    def make_room(self, seq: Sequence) -> bool:
        """Free blocks for seq's next token by preempting victims; False if seq itself was preempted."""
        while not self.blocks.can_grow(seq, 1):
            victim = self.victim(list(self.running), seq)
            if victim not in self.running:
                raise SeamError("the victim policy chose a sequence that is not running")
            self.preempt(victim)
            if victim is seq:
                return False
        self.blocks.grow(seq, 1)
        return True

    def preempt(self, seq: Sequence) -> None:
        """Take `seq` out of the batch, free its blocks, and queue it first to be recomputed."""
        self.running.remove(seq)
        self.blocks.free(seq)
        seq.prompt_logprobs = []
        self.queue.push_front(seq)
        self.preempted += 1

    def _old_rule_allows(self, budget: int, room: int, decoding: int) -> bool:
        """TGI's pre-chunking rule: is it worth pausing `decoding` sequences for a prefill now?"""
        if not decoding or self.waiting_steps >= self.config.max_waiting_tokens:
            return True
        needed = max(1, math.floor(decoding * self.config.waiting_served_ratio))
        fitting = 0
        for seq in self.queue.snapshot()[:room]:
            if len(seq.token_ids) > budget:
                break
            budget -= len(seq.token_ids)
            fitting += 1
        return fitting >= needed

    def fail(self, seq: Sequence) -> None:
        self.finish(seq)
        self.failed.append(seq)

    def finish(self, seq: Sequence) -> None:
        """`seq` is done (finished, cancelled or failed): leave the batch, free its blocks."""
        if seq in self.running:
            self.running.remove(seq)
        self.blocks.free(seq)
