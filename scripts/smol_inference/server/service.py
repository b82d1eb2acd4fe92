"""Between HTTP and the engine: admission (429), tickets, timings and request metrics.

Follows TGI's router `Infer` (router/src/infer/mod.rs): a semaphore of `max_concurrent_requests`
permits taken without waiting (none left: 429 "Model is overloaded"), validation, then the request
is queued and its tokens stream back. Timings become TGI's `x-*-time` headers and request
histograms. A ticket also notices a client that went away and cancels its sequence, so the engine
frees the slot at its next step. text_generation_inference/inside_the_server.md, "Inside the server".
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import DEADLINE_EXCEEDED, SHUTTING_DOWN
from . import errors
from .chat import structured_output
from .config import DEADLINE_GRACE_S, DEFAULT_VALIDATION_WORKERS, DISCONNECT_POLL_S, ServerConfig
from .engine import Engine, Sequence, TokenInfo
from .errors import ApiError
from .metrics import ServerMetrics
from .validation import ValidRequest


class Limiter:
    """TGI's concurrency semaphore, non-blocking: a permit now or 429. Used on the event loop only."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be >= 1")
        self.limit, self.in_use = limit, 0

    def try_acquire(self) -> "Permit | None":
        if self.in_use >= self.limit:
            return None
        self.in_use += 1
        return Permit(self)


class Permit:
    """One taken slot; `release` may be called any number of times, it frees the slot once."""

    def __init__(self, limiter: Limiter) -> None:
        self._limiter: Limiter | None = limiter

    def release(self) -> None:
        if self._limiter is not None:
            self._limiter.in_use -= 1
            self._limiter = None


@dataclass
class Ticket:
    """One queued sequence seen from the event loop: its events arrive on an asyncio queue."""

    seq: Sequence
    events: asyncio.Queue = field(default_factory=asyncio.Queue)
    tokens: list[TokenInfo] = field(default_factory=list)
    top: list[list[TokenInfo]] = field(default_factory=list)   # top_n tokens per generated token

    async def next(self, timeout_s: float) -> tuple[str, Any] | None:
        """The next event, or None after `timeout_s` seconds without one. Past the sequence's deadline
        (plus a grace period for the engine to fail it first) an error event, so no request waits forever."""
        remaining = self.seq.deadline + DEADLINE_GRACE_S - time.perf_counter()
        if remaining <= 0:
            self.seq.cancel()
            return "error", DEADLINE_EXCEEDED
        try:
            return await asyncio.wait_for(self.events.get(), min(timeout_s, remaining))
        except asyncio.TimeoutError:
            return None


class EventPump:
    """Hands the engine's events to the event loop in batches: one wake-up per engine step, not one per
    token (every `call_soon_threadsafe` writes to the loop's self-pipe; at batch 256 that is 256 system
    calls per step). Events keep their order."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._pending: list[tuple[asyncio.Queue, tuple[str, Any]]] = []

    def push(self, queue: asyncio.Queue, event: tuple[str, Any]) -> None:
        """Called on the model thread; the first event since the last drain schedules one."""
        with self._lock:
            self._pending.append((queue, event))
            if len(self._pending) > 1:                         # a drain is already scheduled
                return
        try:
            self.loop.call_soon_threadsafe(self._drain)
        except RuntimeError:                                   # event loop closed: nobody listens
            with self._lock:
                self._pending.clear()

    def _drain(self) -> None:
        with self._lock:
            events, self._pending = self._pending, []
        for queue, event in events:
            queue.put_nowait(event)


@dataclass
class Timing:
    """Seconds spent in each phase of one request (TGI's x-*-time headers)."""

    start: float
    validation: float = 0.0
    queue: float = 0.0
    inference: float = 0.0
    total: float = 0.0
    per_token: float = 0.0


class Service:
    """What the routes call: admit, validate (by the caller), run, measure."""

    def __init__(self, engine: Engine, config: ServerConfig, metrics: ServerMetrics) -> None:
        self.engine, self.config, self.metrics = engine, config, metrics
        self.limiter = Limiter(config.max_concurrent_requests)
        self.ready = False
        self.draining = False                 # set by lifecycle/shutdown.py on SIGTERM: admit nothing new
        # TGI's --validation-workers: tokenising a 2 MB body must not block the event loop.
        self.validators = ThreadPoolExecutor(DEFAULT_VALIDATION_WORKERS, thread_name_prefix="smol-validation")
        self.pump: EventPump | None = None

    async def off_loop(self, fn: Any) -> Any:
        """Run `fn()` (validation, tokenisation) on a validation worker; its exceptions propagate."""
        return await asyncio.get_running_loop().run_in_executor(self.validators, fn)

    def admit(self) -> Permit:
        """Count the request and take a permit; 429 when none is left (TGI's overloaded)."""
        self.metrics.request_count.inc()
        if not self.ready:
            self.metrics.failure("unhealthy")
            raise ApiError("unhealthy", "Model is not loaded yet")
        if self.draining:
            self.metrics.failure("shutting_down")
            raise ApiError("shutting_down", SHUTTING_DOWN)
        permit = self.limiter.try_acquire()
        if permit is None:
            self.metrics.failure("overloaded")
            raise ApiError("overloaded", errors.OVERLOADED)
        return permit

    @property
    def in_flight(self) -> int:
        """Admitted requests not answered yet (permits taken)."""
        return self.limiter.in_use

    def fail(self, exc: ApiError) -> None:
        self.metrics.failure(exc.error_type)

    def submit(self, valid: ValidRequest, seed: int | None = None) -> Ticket:
        """Queue one sequence; its events (token / error) arrive on the ticket from the model thread."""
        loop = asyncio.get_running_loop()
        pump = self.pump if self.pump is not None and self.pump.loop is loop else EventPump(loop)
        self.pump = pump
        sampling = valid.sampling if seed is None else replace(valid.sampling, seed=seed)
        holder: list[Ticket] = []

        def emit(kind: str, payload: Any) -> None:            # called on the model thread
            pump.push(holder[0].events, (kind, payload))

        seq = Sequence(valid.input_ids, sampling, valid.stopping, emit, top_n_tokens=valid.top_n_tokens,
                       prefill_details=valid.decoder_input_details,
                       grammar=structured_output.new_state(valid.grammar, self.engine.tokenizer))
        ticket = Ticket(seq)
        holder.append(ticket)
        self.engine.submit(seq)
        return ticket

    async def wait(self, ticket: Ticket, request: Any) -> Sequence:
        """Collect a whole sequence; cancel it if the HTTP client disconnects meanwhile.

        The client is checked every DISCONNECT_POLL_S whether or not tokens arrive: a model that
        yields a token faster than that must not hide a client that left."""
        next_check = time.monotonic() + DISCONNECT_POLL_S
        while True:
            event = await ticket.next(DISCONNECT_POLL_S)
            if event is None or time.monotonic() >= next_check:
                next_check = time.monotonic() + DISCONNECT_POLL_S
                if request is not None and await request.is_disconnected():
                    ticket.seq.cancel()
                    raise asyncio.CancelledError("client disconnected")
            if event is None:
                continue
            kind, payload = event
            if kind == "error":
                raise ApiError("generation", payload)
            ticket.tokens.append(payload[0])
            ticket.top.append(payload[1])
            if payload[2]:
                return ticket.seq

    def finish(self, valid: ValidRequest, seq: Sequence, timing: Timing, count: bool = True) -> Timing:
        """Fill the timing from the sequence and record the request metrics; `count=False` for the
        second and later prompts of one multi-prompt request (one request, one success)."""
        m = self.metrics
        timing.queue = (seq.started_at or timing.start) - seq.queued_at
        timing.inference = (seq.finished_at or time.perf_counter()) - (seq.started_at or timing.start)
        timing.total = time.perf_counter() - timing.start
        timing.per_token = timing.inference / max(1, len(seq.generated))
        if count:
            m.request_success.inc()
        m.request_duration.observe(timing.total)
        m.validation_duration.observe(timing.validation)
        m.queue_duration.observe(timing.queue)
        m.inference_duration.observe(timing.inference)
        m.time_per_token.observe(timing.per_token)
        m.input_length.observe(valid.input_length)
        m.generated_tokens.observe(len(seq.generated))
        m.max_new_tokens.observe(valid.stopping.max_new_tokens)
        return timing

    def headers(self, valid: ValidRequest, seq: Sequence, timing: Timing) -> dict[str, str]:
        """TGI's response headers (router/src/server.rs): seconds for compute time, ms for the rest."""
        ms = lambda seconds: str(int(seconds * 1000))  # noqa: E731 - a one-line unit, read in the dict below
        return {
            "x-compute-type": self.compute_type, "x-compute-time": f"{timing.total:.6f}",
            "x-total-time": ms(timing.total), "x-validation-time": ms(timing.validation),
            "x-queue-time": ms(timing.queue), "x-inference-time": ms(timing.inference),
            "x-time-per-token": ms(timing.per_token), "x-prompt-tokens": str(valid.input_length),
            "x-generated-tokens": str(len(seq.generated)),
        }

    @property
    def compute_type(self) -> str:
        return str(getattr(self.engine.model, "device", "cpu")).split(":")[0]
