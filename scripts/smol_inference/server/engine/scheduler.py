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
text_generation_inference/inside_the_server.md, "Inside the server".
"""

from __future__ import annotations

import math

from ..config import ServerConfig
from .block_manager import BlockManager
from .model_runner import Work
from .queue import RequestQueue
from .sequence import Sequence

#: Stand-in for "no batch-size limit" (TGI's --max-batch-size is optional).
UNLIMITED = 1 << 30


class Scheduler:
    """Owns the running list; `schedule()` returns the next step's work."""

    def __init__(self, config: ServerConfig, queue: RequestQueue, blocks: BlockManager) -> None:
        if not config.resolved:
            raise ValueError("Scheduler needs a resolved ServerConfig (call config.resolve(...))")
        self.config, self.queue, self.blocks = config, queue, blocks
        self.running: list[Sequence] = []
        self.chunking = not config.disable_chunked_prefill
        self.waiting_steps = 0          # steps since the last admission (TGI's waiting_tokens)
        self.preempted = 0              # preemptions so far (a metric)
        self.failed: list[Sequence] = []  # sequences whose block allocation raised (the engine fails them)

    def schedule(self) -> list[Work]:
        """The next step: [] when nothing can run."""
        budget = self.config.max_batch_prefill_tokens
        work: list[Work] = []
        for seq in list(self.running):
            if not seq.block_table:                           # preempted earlier in this loop (freed)
                continue
            todo = seq.num_uncomputed
            try:
                if todo == 1:
                    if not self._make_room(seq):
                        continue
                    work.append(Work(seq, seq.num_computed, 1))
                elif budget > 0:
                    length = min(todo, budget) if self.chunking else todo
                    self.blocks.grow(seq, length)
                    work.append(Work(seq, seq.num_computed, length))
                    budget -= length
            except Exception:  # noqa: BLE001 - an allocation fault fails this sequence only
                self._fail(seq)
        work += self._admit(budget, decoding=len(work))
        return work

    def _make_room(self, seq: Sequence) -> bool:
        """Free blocks for seq's next token by preempting the youngest; False if seq itself was preempted."""
        while not self.blocks.can_grow(seq, 1):
            victim = self.running[-1]
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

    def _admit(self, budget: int, decoding: int) -> list[Work]:
        """Admit waiting requests in FIFO order within `budget` prompt tokens and the free blocks."""
        cfg = self.config
        room = (cfg.max_batch_size or UNLIMITED) - len(self.running)
        if not self.chunking and not self._old_rule_allows(budget, room, decoding):
            self.waiting_steps += 1
            return []
        work: list[Work] = []
        while room > 0 and budget > 0:
            seq = self.queue.peek()
            if seq is None or seq.cancelled.is_set():
                break
            if not self.chunking and len(seq.token_ids) > budget:
                break
            try:
                admitted = self.blocks.admit(seq, use_cache=not seq.prefill_details)
            except Exception:  # noqa: BLE001 - an allocation fault fails this request only
                self.queue.pop()
                self.failed.append(seq)
                continue
            if not admitted:
                break
            self.queue.pop()
            self.running.append(seq)
            length = min(seq.num_uncomputed, budget) if self.chunking else seq.num_uncomputed
            work.append(Work(seq, seq.num_computed, length))
            budget -= length
            room -= 1
        self.waiting_steps = 0 if work else self.waiting_steps + 1
        return work

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

    def _fail(self, seq: Sequence) -> None:
        self.finish(seq)
        self.failed.append(seq)

    def finish(self, seq: Sequence) -> None:
        """`seq` is done (finished, cancelled or failed): leave the batch, free its blocks."""
        if seq in self.running:
            self.running.remove(seq)
        self.blocks.free(seq)
