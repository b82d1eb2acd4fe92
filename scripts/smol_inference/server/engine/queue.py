"""The waiting room: a thread-safe FIFO of validated requests (and of preempted ones, at the front).

HTTP handlers append on the event loop's side; only the model thread takes entries out. Follows
TGI's router queue (backends/v3/src/queue.rs): requests leave in arrival order, none overtakes
another. text_generation_inference/how_engines_batch.md, "Continuous batching".
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from .sequence import Sequence


class RequestQueue:
    """FIFO shared by the HTTP handlers (producers) and the model thread (consumer)."""

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

    def push_front(self, seq: Sequence) -> None:
        """A preempted sequence goes back first in line (vLLM's recompute preemption)."""
        with self._lock:
            self._entries.appendleft(seq)

    def peek(self) -> Sequence | None:
        with self._lock:
            return self._entries[0] if self._entries else None

    def pop(self) -> Sequence:
        with self._lock:
            return self._entries.popleft()

    def snapshot(self) -> list[Sequence]:
        with self._lock:
            return list(self._entries)

    def wait(self, timeout_s: float) -> bool:
        """Block until an entry is waiting or `timeout_s` passed; True when something waits."""
        with self._not_empty:
            if not self._entries:
                self._not_empty.wait(timeout_s)
            return bool(self._entries)

    def remove_if(self, predicate: Callable[[Sequence], bool]) -> list[Sequence]:
        """Remove and return the entries for which `predicate` holds (cancelled, past their deadline)."""
        with self._lock:
            gone = [seq for seq in self._entries if predicate(seq)]
            if gone:
                self._entries = deque(seq for seq in self._entries if not predicate(seq))
            return gone

    def drain(self) -> list[Sequence]:
        """Remove and return everything (shutdown)."""
        with self._lock:
            entries = list(self._entries)
            self._entries.clear()
            return entries
