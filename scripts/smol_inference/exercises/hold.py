"""Hold a model's forward passes so that a check controls when generation work happens.

A check that samples a server "while it is busy" races the server; holding the model removes the
race: requests stay in flight (or in the queue) until the check lets the forward passes through, one
by one or all at once. Built on `torch.nn.Module.register_forward_pre_hook`, so it works for any
code that calls the model (a transformers pipeline, the course server's engine).
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from .config import POLL_S, WAIT_S


class ForwardLimitReached(RuntimeError):
    """A held model refused a forward pass: the check stopped a generation that would not end."""


class ModelHold:
    """Context manager: while inside, every forward pass of `model` waits for a permit.

    `step()` lets one pass through and waits for the next to arrive; `open()` lets every pass through
    from then on; `entered` is set once a pass is waiting. `limit` stops (ForwardLimitReached) any
    pass beyond that many, so an unbounded request cannot run for ever. Leaving the block opens the hold.
    """

    def __init__(self, model: Any, *, limit: int | None = None, held: bool = True) -> None:
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        self.model, self.limit = model, limit
        self.entered = threading.Event()
        self.calls = 0
        self.waiting = 0  # passes waiting for a permit right now
        self._granted = 0  # permits given by step() that no pass has taken yet
        self._permits = threading.Semaphore(0)
        self._open = threading.Event()
        if not held:
            self._open.set()
        self._lock = threading.Lock()
        self._handle: Any = None

    def _before_forward(self, module: Any, args: Any) -> None:
        with self._lock:
            self.calls += 1
            over = self.limit is not None and self.calls > self.limit
        if over:
            raise ForwardLimitReached(f"forward pass {self.calls} refused (limit {self.limit})")
        self.entered.set()
        with self._lock:
            self.waiting += 1
        try:
            while not self._open.is_set():
                if self._permits.acquire(timeout=POLL_S):
                    with self._lock:
                        self._granted = max(0, self._granted - 1)
                    return
        finally:
            with self._lock:
                self.waiting -= 1

    def open(self) -> None:
        """Let every forward pass through from now on."""
        self._open.set()

    def wait_entered(self, timeout_s: float = WAIT_S) -> bool:
        """True once some forward pass is waiting (or went through)."""
        return self.entered.wait(timeout_s)

    def wait_waiting(self, timeout_s: float = WAIT_S) -> bool:
        """True as soon as a forward pass waits for a permit (the model is idle and held)."""
        return self._poll(lambda: self.waiting > self._granted, timeout_s)

    def wait_overlap(self, timeout_s: float) -> bool:
        """True as soon as two forward passes wait at once: two callers are inside the model together
        (with a lock around the model the second never gets here, and this returns False at timeout_s)."""
        return self._poll(lambda: self.waiting >= 2, timeout_s)

    def step(self, timeout_s: float = WAIT_S) -> bool:
        """Let one forward pass through; True once the next one waits (False: none came in time)."""
        with self._lock:
            self._granted += 1
            target = self.calls + 1
        self._permits.release()
        return self._poll(lambda: self.calls >= target and self.waiting > self._granted, timeout_s)

    @staticmethod
    def _poll(condition: Any, timeout_s: float) -> bool:
        pause = threading.Event()
        for _ in range(max(1, int(timeout_s / POLL_S))):
            if condition():
                return True
            pause.wait(POLL_S)
        return bool(condition())

    def __enter__(self) -> ModelHold:
        self._handle = self.model.register_forward_pre_hook(self._before_forward)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.open()
        if self._handle is not None:
            self._handle.remove()
