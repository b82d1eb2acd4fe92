"""The model thread: scheduler -> prefill newcomers -> one decode step for all -> retire, forever.

Plays the role of TGI's batching task plus its Python model server (router/src/infer,
server/text_generation_server/models/causal_lm.py) in one loop on one thread, so the HTTP event
loop never waits on the model. Per iteration: drop requests whose client left, admit waiting
requests (scheduler.py), prefill them (cache.py) and sample their first token (sampler.py), merge
them into the running batch, run one decode step for every running sequence, and retire the ones
that hit eos, a stop sequence or their length. A failing step fails only the requests in it (424).
text_generation_inference.md, "Inside the server".
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import torch

from ..config import IDLE_WAIT_S, ServerConfig
from .cache import BatchCache
from .queue import RequestQueue
from .detokenizer import IncrementalDetokenizer
from .sampler import prompt_logprobs, sample_batch
from .scheduler import Scheduler
from .sequence import Sequence, TokenInfo

log = logging.getLogger("smol_inference.server")
PREFILL, DECODE = "prefill", "decode"


def eos_token_ids(model: Any, tokenizer: Any) -> set[int]:
    """Every id that ends a generation: the generation config's eos ids and the tokenizer's."""
    ids: set[int] = set()
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for value in (configured, tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif value:
            ids.update(int(v) for v in value)
    return ids


class Engine:
    """Owns the model, the waiting queue and the running batch; `submit` is the only entry point."""

    def __init__(self, model: Any, tokenizer: Any, config: ServerConfig, metrics: Any = None) -> None:
        self.model, self.tokenizer, self.config, self.metrics = model, tokenizer, config, metrics
        self.queue = RequestQueue()
        self.scheduler = Scheduler(config, self.queue)
        self.running: list[Sequence] = []
        self.cache: BatchCache | None = None
        self.eos_ids = eos_token_ids(model, tokenizer)
        self.special_ids = set(tokenizer.all_special_ids)
        pad = tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else min(self.eos_ids, default=0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="smol-engine", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        for seq in self.queue.drain() + self.running:
            seq.emit("error", "Server is shutting down")
        self.running, self.cache = [], None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def submit(self, seq: Sequence) -> None:
        self.queue.append(seq)
        self._gauges()

    # ---- the loop --------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # noqa: BLE001 - the loop must survive anything; requests were failed
                log.exception("engine step failed")
                self._fail(self.running, "Request failed during generation")
                self.running, self.cache = [], None

    def step(self) -> None:
        """One iteration of continuous batching."""
        self.queue.drop_cancelled()
        self._retire([seq for seq in self.running if seq.cancelled.is_set()])
        new = self.scheduler.admit(self.running)
        if new:
            self._prefill(new)
            self._gauges()
        if self.running:
            self._decode()
            self.scheduler.step_done()
        elif not new:
            self.queue.wait(IDLE_WAIT_S)
        self._gauges()

    def _prefill(self, new: list[Sequence]) -> None:
        start = time.perf_counter()
        for seq in new:
            seq.started_at = start
        if self.metrics:
            self.metrics.batch_next_size.observe(len(new))
        try:
            with torch.inference_mode():
                cache, logits = BatchCache.prefill(self.model, [s.input_ids for s in new], self.pad_id,
                                                   all_logits=any(s.prefill_details for s in new))
                forward_done = time.perf_counter()
                for row, seq in enumerate(new):
                    seq.detokenizer = IncrementalDetokenizer(self.tokenizer, seq.input_ids)
                    if seq.prefill_details:
                        self._prefill_details(seq, logits[row])
                self._advance(new, logits[:, -1])
        except Exception as exc:  # noqa: BLE001 - fail only these requests (TGI: 424 generation)
            log.warning("prefill failed: %s", type(exc).__name__)
            self._fail(new, "Request failed during generation")
            self._observe(PREFILL, start, None, ok=False)
            return
        self._observe(PREFILL, start, forward_done, ok=True)
        keep = [row for row, seq in enumerate(new) if seq.finish_reason is None]
        cache = cache.select(keep) if len(keep) < len(new) else cache
        if cache is not None:
            self.cache = cache if self.cache is None else self.cache.merge(cache)
            self.running += [new[row] for row in keep]

    def _decode(self) -> None:
        start = time.perf_counter()
        try:
            with torch.inference_mode():
                next_ids = torch.tensor([seq.generated[-1].id for seq in self.running])    # [B]
                logits = self.cache.decode(self.model, next_ids)                            # [B, V]
                forward_done = time.perf_counter()
                self._advance(self.running, logits)
        except Exception as exc:  # noqa: BLE001 - a decode step cannot be attributed: fail the batch
            log.warning("decode failed: %s", type(exc).__name__)
            self._observe(DECODE, start, None, ok=False)
            raise
        self._observe(DECODE, start, forward_done, ok=True)
        self._retire([seq for seq in self.running if seq.finish_reason is not None])

    def _retire(self, leaving: list[Sequence]) -> None:
        """Remove finished or cancelled sequences from the batch and its cache."""
        if not leaving:
            return
        gone = {id(seq) for seq in leaving}
        rows = [row for row, seq in enumerate(self.running) if id(seq) not in gone]
        self.cache = self.cache.select(rows) if self.cache is not None else None
        self.running = [self.running[row] for row in rows]

    # ---- per-sequence work -----------------------------------------------------------------
    def _advance(self, seqs: list[Sequence], logits: torch.Tensor) -> None:
        """Choose one token per sequence from logits [B, V] in one call, report them, check the stops."""
        result = sample_batch(logits, seqs)
        for seq, token_id, logprob, top in zip(seqs, result.token_ids, result.logprobs, result.top, strict=True):
            token = TokenInfo(token_id, self._token_text(seq, token_id), logprob, token_id in self.special_ids)
            seq.generated.append(token)
            top_tokens = [TokenInfo(i, self.tokenizer.decode([i]), lp, i in self.special_ids) for i, lp in top]
            reason = seq.check_stop(token, self.eos_ids)
            if reason is not None:
                seq.finish_reason, seq.finished_at = reason, time.perf_counter()
            seq.emit("token", (token, top_tokens, reason is not None))    # the last token carries done=True

    def _token_text(self, seq: Sequence, token_id: int) -> str:
        """The text this token adds (detokenizer.py); a special token reports its own string, adds none."""
        piece = seq.detokenizer.add(token_id)
        seq.text += piece
        return self.tokenizer.decode([token_id]) if token_id in self.special_ids else piece

    def _prefill_details(self, seq: Sequence, logits: torch.Tensor) -> None:
        logprobs = prompt_logprobs(logits, seq.input_ids)
        seq.prefill = [TokenInfo(i, self.tokenizer.decode([i]), lp, i in self.special_ids)
                       for i, lp in zip(seq.input_ids, logprobs, strict=False)]

    def _fail(self, seqs: list[Sequence], message: str) -> None:
        for seq in seqs:
            seq.emit("error", message)

    # ---- metrics ---------------------------------------------------------------------------
    def _observe(self, method: str, start: float, forward_done: float | None, ok: bool) -> None:
        if self.metrics:
            self.metrics.observe_batch(method, start, forward_done, ok)

    def _gauges(self) -> None:
        if self.metrics:
            self.metrics.set_gauges(len(self.queue), len(self.running),
                                    sum(seq.max_tokens for seq in self.running))
