"""Iteration-level (continuous) batching: who joins the running batch before the next step.

Follows TGI's batching loop (backends/v3/src/backend.rs, `batching_task`): with nothing running,
take whatever fits the budgets; with a batch running, new requests are only worth a prefill (which
pauses every running sequence) when enough of them wait: at least
`floor(running * waiting_served_ratio)` of them, or any number once the running batch has done
`max_waiting_tokens` decode steps since the last admission. Admitted requests must fit the
prefill budget, the batch's remaining total-token budget and the batch-size limit.
text_generation_inference.md, "Continuous batching".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..config import ServerConfig
from .queue import RequestQueue
from .sequence import Sequence

#: Stand-in for "no batch-size limit" (TGI's --max-batch-size is optional).
UNLIMITED = 1 << 30


@dataclass
class Scheduler:
    """Decides, before every model step, which waiting requests join the running batch."""

    config: ServerConfig
    queue: RequestQueue
    waiting_steps: int = 0          # decode steps since the last admission (TGI's waiting_tokens)

    def __post_init__(self) -> None:
        if not self.config.resolved:
            raise ValueError("Scheduler needs a resolved ServerConfig (call config.resolve(...))")

    def admit(self, running: list[Sequence]) -> list[Sequence]:
        """Requests to prefill now, in arrival order; [] means: just decode the running batch."""
        cfg = self.config
        max_size = (cfg.max_batch_size or UNLIMITED) - len(running)
        if max_size <= 0:
            return []
        if running and self.waiting_steps < cfg.max_waiting_tokens:
            min_size = max(1, math.floor(len(running) * cfg.waiting_served_ratio))
        else:
            min_size = 1
        used = sum(seq.max_tokens for seq in running)
        new = self.queue.next_batch(min_size=min_size, max_size=max_size,
                                    prefill_token_budget=cfg.max_batch_prefill_tokens,
                                    token_budget=cfg.max_batch_total_tokens - used)
        if new:
            self.waiting_steps = 0
        return new

    def step_done(self) -> None:
        """Count one decode step of the running batch."""
        self.waiting_steps += 1
