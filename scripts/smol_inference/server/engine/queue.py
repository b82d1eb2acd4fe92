"""The waiting room: a FIFO of validated requests, taken out in token-budgeted batches.

Follows TGI's router queue (backends/v3/src/queue.rs, `next_batch`): entries leave in arrival
order while the batch stays within the prefill-token budget, the total-token budget and the
batch-size limit; the first entry that does not fit stops the walk (no overtaking), and the batch
is refused if it is smaller than `min_size`. text_generation_inference.md, "Continuous batching".
"""

from __future__ import annotations

import threading
from collections import deque

from .sequence import Sequence


class RequestQueue:
    """Thread-safe FIFO shared by the HTTP handlers (producers) and the model thread (consumer)."""

    def __init__(self) -> None:
        self._entries: deque[Sequence] = deque()
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def append(self, seq: Sequence) -> None:
        with self._not_empty:
            self._entries.append(seq)
            self._not_empty.notify()

    def wait(self, timeout_s: float) -> bool:
        """Block until an entry is waiting or `timeout_s` passed; True when something waits."""
        with self._not_empty:
            if not self._entries:
                self._not_empty.wait(timeout_s)
            return bool(self._entries)

    def drop_cancelled(self) -> list[Sequence]:
        """Remove and return entries whose client went away while they waited."""
        with self._lock:
            gone = [seq for seq in self._entries if seq.cancelled.is_set()]
            if gone:
                self._entries = deque(seq for seq in self._entries if not seq.cancelled.is_set())
            return gone

    def next_batch(self, *, min_size: int, max_size: int, prefill_token_budget: int,
                   token_budget: int) -> list[Sequence]:
        """Take the longest FIFO prefix that fits the budgets; [] if it has fewer than `min_size` entries."""
        with self._lock:
            taken: list[Sequence] = []
            prefill_tokens = total_tokens = 0
            for seq in self._entries:
                if len(taken) >= max_size:
                    break
                if prefill_tokens + seq.input_length > prefill_token_budget:
                    break
                if total_tokens + seq.max_tokens > token_budget:
                    break
                taken.append(seq)
                prefill_tokens += seq.input_length
                total_tokens += seq.max_tokens
            if not taken or len(taken) < min_size:
                return []
            for _ in taken:
                self._entries.popleft()
            return taken

    def drain(self) -> list[Sequence]:
        """Remove and return everything (shutdown)."""
        with self._lock:
            entries = list(self._entries)
            self._entries.clear()
            return entries
