"""Bounded retries with exponential backoff and jitter, for sync and async calls.

The delay before retry k (k = 0, 1, ...) is `min(max_delay, initial * multiplier**k)`, shrunk by a
random fraction up to `jitter` so that many clients do not retry in lock step ("exponential backoff and
jitter", AWS Architecture Blog, 2015). A server's `Retry-After` raises the delay, never beyond
`max_delay_s`. Only errors whose class says `retryable` (429 overloaded, 503 / no connection) are
retried; a 422 is the caller's mistake and fails at once.
Taught in text_generation_inference/serve_and_query.md, "Errors and retries".
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from .. import settings
from .errors import TGIError, translate

T = TypeVar("T")


@dataclass
class RetryPolicy:
    """How often and how long to wait before retrying an overloaded or unavailable server."""

    max_retries: int = settings.CLIENT_MAX_RETRIES
    initial_delay_s: float = settings.CLIENT_BACKOFF_INITIAL_S
    max_delay_s: float = settings.CLIENT_BACKOFF_MAX_S
    multiplier: float = 2.0
    jitter: float = 0.5
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.initial_delay_s < 0 or self.max_delay_s < self.initial_delay_s:
            raise ValueError("need 0 <= initial_delay_s <= max_delay_s")
        if self.multiplier < 1:
            raise ValueError(f"multiplier must be >= 1, got {self.multiplier}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be in [0, 1], got {self.jitter}")

    def delay(self, retry_index: int, retry_after: float | None = None) -> float:
        """Seconds to sleep before retry number `retry_index` (0-based)."""
        base = min(self.max_delay_s, self.initial_delay_s * self.multiplier**retry_index)
        wait = base * (1.0 - self.jitter * self.rng.random())
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_delay_s))
        return wait

    def should_retry(self, error: TGIError, retry_index: int) -> bool:
        return error.retryable and retry_index < self.max_retries


NO_RETRY = RetryPolicy(max_retries=0)


def _typed(exc: Exception) -> TGIError | None:
    return translate(exc)


def call_with_retries(fn: Callable[[], T], policy: RetryPolicy,
                      sleep: Callable[[float], None] = time.sleep) -> T:
    """Call `fn` until it succeeds, fails with a non-retryable error, or retries run out."""
    for retry_index in range(policy.max_retries + 1):
        try:
            return fn()
        except Exception as exc:  # mapped below, re-raised unchanged if not ours
            error = _typed(exc)
            if error is None:
                raise
            error.attempts = retry_index + 1
            if not policy.should_retry(error, retry_index):
                raise error from (None if error is exc else exc)
        sleep(policy.delay(retry_index, error.retry_after))
    raise AssertionError("unreachable: the last attempt either returns or raises")


async def acall_with_retries(fn: Callable[[], Awaitable[T]], policy: RetryPolicy,
                             sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> T:
    """The async twin of `call_with_retries`."""
    for retry_index in range(policy.max_retries + 1):
        try:
            return await fn()
        except Exception as exc:  # mapped and re-raised, as above
            error = _typed(exc)
            if error is None:
                raise
            error.attempts = retry_index + 1
            if not policy.should_retry(error, retry_index):
                raise error from (None if error is exc else exc)
        await sleep(policy.delay(retry_index, error.retry_after))
    raise AssertionError("unreachable: the last attempt either returns or raises")
