"""The soak's concurrent clients: they share one queue of requests, tally every outcome, sample memory."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from .traffic import KINDS, one

REQUEST_TIMEOUT_S = 120.0
MEMORY_POLL_S = 0.5
#: A client refused with 429 waits this long before its next request, as a polite client retries.
OVERLOAD_BACKOFF_S = 0.1


@dataclass
class Tally:
    """Outcomes, latencies and memory samples of one soak."""

    outcomes: Counter = field(default_factory=Counter)
    by_kind: Counter = field(default_factory=Counter)
    latency: dict[str, list[float]] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    done: int = 0
    rss: list[int] = field(default_factory=list)
    rss_after_warmup: int | None = None

    def record(self, kind: str, outcome: str, seconds: float) -> None:
        self.outcomes[outcome] += 1
        self.by_kind[f"{kind} -> {outcome}"] += 1
        self.done += 1
        if outcome == "answered":
            self.latency.setdefault(kind, []).append(seconds)



def rss_of(pid: int | None) -> int | None:
    if pid is None:
        return None
    import psutil

    return int(psutil.Process(pid).memory_info().rss)


async def soak(url: str, pid: int | None, requests: int, clients: int, max_new: int, warmup: int,
               timeout_s: float) -> Tally:
    tally = Tally()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)

    async def client_loop(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            kind = KINDS[i % len(KINDS)]
            start = time.perf_counter()
            try:
                outcome = await one(client, kind, i, max_new)
            except (httpx.HTTPError, ValueError) as exc:
                outcome = "lost"
                tally.lost.append(f"{i} {kind}: {type(exc).__name__}: {exc}")
            tally.record(kind, outcome, time.perf_counter() - start)
            if outcome == "lost" and len(tally.lost) < 20:
                tally.lost.append(f"{i} {kind}")
            if outcome == "rejected:overloaded":
                await asyncio.sleep(OVERLOAD_BACKOFF_S)
            if tally.done == warmup:
                tally.rss_after_warmup = rss_of(pid)

    async def sample_memory() -> None:
        while True:
            value = rss_of(pid)
            if value is not None:
                tally.rss.append(value)
            await asyncio.sleep(MEMORY_POLL_S)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT_S, limits=limits) as client:
        sampler = asyncio.create_task(sample_memory())
        try:
            await asyncio.wait_for(asyncio.gather(*(client_loop(client) for _ in range(clients))), timeout_s)
        finally:
            sampler.cancel()
    return tally
