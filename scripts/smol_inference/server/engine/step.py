"""What a scheduler step may do: the actions a planner (seams.StepPlanner) calls, and their record.

A planner decides; `Step` carries each decision out on the real block manager and queue and records
it as (action, sequence, number) in `decisions`: "decode" and "prefill" (number: tokens run), "admit"
(tokens found in the prefix cache), "preempt" (the victim's place in the running list). Block
allocation, preemption (through the victim policy), fault handling and the `Work` list for the model
runner stay here, so a planner is only the policy: who runs, how many tokens.
text_generation_inference/inside_the_server.md, "Inside the server".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from .seams import SeamError
from .sequence import Sequence, Work

if TYPE_CHECKING:
    from .block_manager import BlockManager
    from .config import EngineConfig
    from .queue import RequestQueue


class StepOwner(Protocol):
    """What a step reads and calls on its scheduler (scheduler.py `Scheduler`), declared here so that
    this module does not import the scheduler that imports it."""

    config: EngineConfig
    running: list[Sequence]
    queue: RequestQueue
    blocks: BlockManager
    failed: list[Sequence]

    def fail(self, seq: Sequence) -> None: ...

    def make_room(self, seq: Sequence) -> bool: ...

#: Stand-in for "no batch-size limit" (TGI's --max-batch-size is optional).
UNLIMITED = 1 << 30


def youngest(running: list[Sequence], needy: Sequence) -> Sequence:
    """The engine's victim (seams.VictimPolicy): the most recently admitted running sequence (vLLM's
    recompute preemption takes the lowest-priority, latest arrival), so older requests keep their progress."""
    return running[-1]


class Step:
    """One step's view (running, waiting, limits) and actions; built by Scheduler.schedule()."""

    def __init__(self, scheduler: StepOwner) -> None:
        cfg = scheduler.config
        self._scheduler = scheduler
        self.running: list[Sequence] = list(scheduler.running)        # oldest admission first
        self.prefill_budget: int = cfg.max_batch_prefill_tokens       # prompt tokens this step may run
        self.max_batch_size: int = cfg.max_batch_size or UNLIMITED    # running sequences at most
        self.work: list[Work] = []
        self.decisions: list[tuple[str, Sequence, int]] = []
        self.admitted = 0

    @property
    def waiting(self) -> list[Sequence]:
        """The queue now, in arrival order (a sequence preempted in this step first)."""
        return self._scheduler.queue.snapshot()

    @property
    def room(self) -> int:
        """How many more sequences the batch may take."""
        return self.max_batch_size - len(self._scheduler.running)

    @property
    def free_blocks(self) -> int:
        return self._scheduler.blocks.pool.num_free

    def is_running(self, seq: Sequence) -> bool:
        """False once `seq` was preempted (or failed) in this step."""
        return seq in self._scheduler.running

    def decode(self, seq: Sequence) -> bool:
        """Run `seq`'s next token, preempting victims if no block is free; False if `seq` itself was."""
        self._require(seq, decoding=True)
        before = list(self._scheduler.running)
        try:
            ok = self._scheduler.make_room(seq)
        except SeamError:
            raise
        except Exception:  # noqa: BLE001 - an allocation fault fails this sequence only
            self._scheduler.fail(seq)
            return False
        after = set(self._scheduler.running)
        self.decisions += [("preempt", gone, k) for k, gone in enumerate(before) if gone not in after]
        if ok:
            self._add("decode", seq, 1)
        return ok

    def prefill(self, seq: Sequence, num_tokens: int) -> None:
        """Run the next `num_tokens` prompt tokens of running `seq` (1 .. seq.num_uncomputed)."""
        self._require(seq, decoding=False)
        if not 1 <= num_tokens <= seq.num_uncomputed:
            raise SeamError(f"prefill of {num_tokens} tokens: this sequence has {seq.num_uncomputed} to run")
        try:
            self._scheduler.blocks.grow(seq, num_tokens)
        except Exception:  # noqa: BLE001 - an allocation fault fails this sequence only
            self._scheduler.fail(seq)
            return
        self._add("prefill", seq, num_tokens)

    def admit(self, seq: Sequence) -> bool:
        """Move the first waiting request into the batch with blocks for its prompt (prefix-cache hits
        shared); False when its blocks do not fit or it was cancelled. The batch-size limit (`room`) is
        the planner's to respect."""
        queue = self._scheduler.queue
        if queue.peek() is not seq:
            raise SeamError("admit the first waiting request: requests are admitted in arrival order")
        if seq.cancelled.is_set():
            return False
        try:
            admitted = self._scheduler.blocks.admit(seq, use_cache=not seq.prefill_details)
        except Exception:  # noqa: BLE001 - an allocation fault fails this request only
            queue.pop()
            self._scheduler.failed.append(seq)
            return False
        if admitted:
            queue.pop()
            self._scheduler.running.append(seq)
            self.running.append(seq)
            self.admitted += 1
            self.decisions.append(("admit", seq, seq.num_computed))
        return admitted

    def _require(self, seq: Sequence, decoding: bool) -> None:
        if not self.is_running(seq):
            raise SeamError("this sequence is not running (preempted, finished, or not admitted yet)")
        if any(w.seq is seq for w in self.work):
            raise SeamError("this sequence already runs in this step")
        if decoding and seq.num_uncomputed != 1:
            raise SeamError(f"decode() is for a decoding sequence; this one has {seq.num_uncomputed} prompt "
                             "tokens to run: prefill() them")

    def _add(self, action: str, seq: Sequence, num_tokens: int) -> None:
        self.work.append(Work(seq, seq.num_computed, num_tokens))
        self.decisions.append((action, seq, num_tokens))
