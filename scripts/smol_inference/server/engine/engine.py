"""The engine: a model thread that schedules, runs one packed forward, samples, and reports, forever.

Plays the role of TGI's batching task plus its model server (router/src/infer, backends/v3) in one
loop on one thread, so the HTTP event loop never waits on the model. Per step:

    drop cancelled / expired requests -> scheduler.schedule() (decode tokens + prompt chunks)
    -> model_runner.run() (one forward for all) -> sample_batch() -> detokenise, stop checks, emit
    (full blocks enter the prefix cache as soon as their KV is computed)
    -> retire finished sequences (their blocks go back to the pool, full ones stay cached)

A fault fails exactly the requests it touches with TGI's 424 `generation` error and frees their
blocks: an allocation fault one sequence, a forward fault the step's sequences, a sampling fault
the sequences sampled in it. Every request also has a deadline. text_generation_inference/inside_the_server.md,
"Inside the server".
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import torch

from ...errors import DEADLINE_EXCEEDED, GENERATION_FAILED, SHUTTING_DOWN
from ..sampling import prompt_logprobs, sample_batch
from .block_pool import BlockPool
from .block_manager import BlockManager
from .config import IDLE_WAIT_S, RESERVED_BLOCKS, EngineConfig
from .detokenizer import IncrementalDetokenizer
from .kv_cache import KVCache, KVShape
from .model_runner import ModelRunner, StepOutput
from .queue import RequestQueue
from .scheduler import Scheduler
from .seams import EngineSeams
from .sequence import SamplingParams, Sequence, StoppingParams, TokenInfo, Work, eos_token_ids

log = logging.getLogger("smol_inference.server")
PREFILL, DECODE = "prefill", "decode"
FAILED, EXPIRED = GENERATION_FAILED, DEADLINE_EXCEEDED             # the engine's messages (smol_inference/errors.py)


class Engine:
    """Owns the model, the KV cache, the queue and the scheduler; `submit` is the only entry point."""

    def __init__(self, model: Any, tokenizer: Any, config: EngineConfig, metrics: Any = None,
                 seams: EngineSeams | None = None) -> None:
        self.model, self.tokenizer, self.config, self.metrics = model, tokenizer, config, metrics
        seams = seams or EngineSeams()                      # the replaceable parts (seams.py); None: ours
        bs = config.kv_block_size
        assert config.max_batch_total_tokens is not None, "Engine needs a resolved config (config.resolve(...))"
        self.pool = BlockPool(config.max_batch_total_tokens // bs, bs, not config.disable_prefix_caching,
                              seams.allocator)
        self.blocks = BlockManager(self.pool, seams.prefix_keys)
        dtype = next(model.parameters()).dtype
        # The pool's blocks and the reserved pad and sink blocks (engine/config.py, RESERVED_BLOCKS).
        self.kv = KVCache(KVShape.of(model.config), (self.pool.num_blocks + RESERVED_BLOCKS) * bs, dtype, model.device)
        self.runner = ModelRunner(model, self.kv, self.blocks)
        if torch.device(model.device).type == "cpu":
            from .packed_linear import pack_linear_weights

            packed = pack_linear_weights(model, enable=not config.disable_packed_weights)
            log.info("CPU: %d linear layers use weights packed once for oneDNN", packed)
        self.queue = RequestQueue()
        self.scheduler = Scheduler(config, self.queue, self.blocks, seams.planner, seams.victim)
        self.eos_ids = eos_token_ids(model, tokenizer)
        self.special_ids = set(tokenizer.all_special_ids)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._check_pageable()
        if torch.device(model.device).type == "cuda":
            from .cuda_graphs import capture_decode_graphs

            capture_decode_graphs(self.runner, config)
        log.info("KV cache: %d blocks of %d tokens (%d tokens); %s; prefix caching %s", self.pool.num_blocks, bs,
                 self.pool.num_blocks * bs, self.admission_rule, "off" if config.disable_prefix_caching else "on")

    @property
    def admission_rule(self) -> str:
        """Which rule admits requests (TGI logs the same choice at start)."""
        if self.scheduler.chunking:
            return f"chunked prefill: up to {self.config.max_batch_prefill_tokens} prompt tokens per step"
        return (f"whole-prompt prefill (chunking disabled): waiting_served_ratio {self.config.waiting_served_ratio}, "
                f"max_waiting_tokens {self.config.max_waiting_tokens}")

    @property
    def running(self) -> list[Sequence]:
        return self.scheduler.running

    def _check_pageable(self) -> None:
        probe = Sequence([min(self.eos_ids, default=0)] * 2, SamplingParams(), StoppingParams(1), lambda *_: None)
        if not self.blocks.admit(probe, use_cache=False):
            raise ValueError("the KV cache cannot hold a single two-token sequence")
        try:
            self.runner.check_pageable(probe)
        finally:
            self.blocks.free(probe)

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="smol-engine", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._fail(self.queue.drain() + list(self.running), SHUTTING_DOWN)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def submit(self, seq: Sequence) -> None:
        if seq.deadline == float("inf"):
            seq.deadline = seq.queued_at + self.config.request_timeout_seconds
        self.queue.append(seq)
        self._gauges()

    # ---- the loop --------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # the loop must survive anything; its requests are failed
                log.exception("engine step failed")
                self._fail(list(self.running), FAILED)

    def step(self) -> list[Work]:
        """One iteration of continuous batching; returns what ran ([] when idle)."""
        now = time.perf_counter()
        self.queue.remove_if(lambda s: s.cancelled.is_set())
        self._fail(self.queue.remove_if(lambda s: now > s.deadline), EXPIRED)
        for seq in list(self.running):
            if seq.cancelled.is_set():
                self._release(seq)
            elif now > seq.deadline:
                self._fail([seq], EXPIRED)
        work = self.scheduler.schedule()
        self._fail(self.scheduler.failed, FAILED)
        self.scheduler.failed = []
        if work:
            self._run(work)
        else:
            self.queue.wait(IDLE_WAIT_S)
        self._gauges()
        return work

    def _run(self, work: list[Work]) -> None:
        start = time.perf_counter()
        chunks = sum(1 for w in work if not w.is_decode)                     # before tokens are appended
        method = PREFILL if chunks else DECODE
        for w in work:
            if w.seq.started_at is None:
                w.seq.started_at = start
            if w.seq.detokenizer is None:
                w.seq.detokenizer = IncrementalDetokenizer(self.tokenizer, w.seq.input_ids)
        try:
            out = self.runner.run(work)
            if self.runner.device.type == "cuda":               # asynchronous kernels: time the forward itself
                torch.cuda.synchronize(self.runner.device)      # (and a CUDA fault surfaces here, in the try)
        except Exception as exc:  # noqa: BLE001 - one forward for all: fail the step's requests
            log.warning("forward failed: %s: %s", type(exc).__name__, exc)
            self._fail([w.seq for w in work], FAILED)
            self._observe(method, start, None, ok=False)
            return
        forward_done = time.perf_counter()
        for w in work:                    # computed KV is reusable now, however the request ends (vLLM does the same)
            w.seq.num_computed += w.length
            self.blocks.register_full_blocks(w.seq)
        self._prompt_details(out)
        self._sample(out)
        self._observe(method, start, forward_done, ok=True, chunks=chunks)

    def _sample(self, out: StepOutput) -> None:
        running = set(self.running)                                           # O(1) membership at any batch size
        live = [i for i, w in enumerate(out.samplers) if w.seq in running]
        if not live:
            return
        seqs = [out.samplers[i].seq for i in live]
        logits = out.sample_logits if len(live) == len(out.samplers) else out.sample_logits[live]   # [B, V]
        try:
            result = sample_batch(logits, seqs)
        except Exception as exc:  # noqa: BLE001 - fail the sequences sampled in this step
            log.warning("sampling failed: %s: %s", type(exc).__name__, exc)
            self._fail(seqs, FAILED)
            return
        for row, seq in enumerate(seqs):
            try:
                self._advance(seq, result.token_ids[row], result.logprobs[row], result.top[row])
            except Exception as exc:  # noqa: BLE001 - detokeniser/stop-rule fault: this sequence only
                log.warning("token handling failed: %s: %s", type(exc).__name__, exc)
                self._fail([seq], FAILED)

    # ---- per-sequence work -----------------------------------------------------------------
    def _advance(self, seq: Sequence, token_id: int, logprob: float | None, top: list[tuple[int, float]]) -> None:
        """Record one chosen token, report it, and retire the sequence if it is done."""
        seq.token_ids.append(token_id)
        special = token_id in self.special_ids
        piece = seq.detokenizer.add(token_id)
        token = TokenInfo(token_id, self.tokenizer.decode([token_id]) if special else piece, logprob, special)
        seq.text += seq.visible(token)                          # piece, or a special token's text if kept
        seq.generated.append(token)
        top_tokens = [TokenInfo(i, self.tokenizer.decode([i]), lp, i in self.special_ids) for i, lp in top]
        reason = seq.check_stop(token, self.eos_ids)
        if reason is not None:
            seq.finish_reason, seq.finished_at = reason, time.perf_counter()
            self._release(seq)
        seq.emit("token", (token, top_tokens, reason is not None))    # the last token carries done=True

    def _prompt_details(self, out: StepOutput) -> None:
        """decoder_input_details: log-probabilities of this chunk's prompt tokens (first one: None)."""
        for w, logits in out.prompt_logits:
            seq = w.seq
            try:
                ids = seq.input_ids[w.start:w.start + w.length + 1]           # the chunk and the next prompt token
                rows = torch.cat([logits[:len(ids) - 1], logits[:1]])          # last row: unused placeholder
                values = prompt_logprobs(rows, ids)
                seq.prompt_logprobs += values if w.start == 0 else values[1:]
                if len(seq.prompt_logprobs) >= seq.input_length:
                    seq.prefill = [TokenInfo(i, self.tokenizer.decode([i]), lp, i in self.special_ids)
                                   for i, lp in zip(seq.input_ids, seq.prompt_logprobs, strict=False)]
            except Exception as exc:  # noqa: BLE001 - this request only
                log.warning("prompt details failed: %s: %s", type(exc).__name__, exc)
                self._fail([seq], FAILED)

    def _release(self, seq: Sequence) -> None:
        """Leave the batch and drop everything a finished request holds (blocks, grammar, generator)."""
        self.scheduler.finish(seq)
        seq.grammar = seq.generator = None

    def _fail(self, seqs: list[Sequence], message: str) -> None:
        for seq in seqs:
            self._release(seq)
            seq.emit("error", message)

    # ---- metrics ---------------------------------------------------------------------------
    def _observe(self, method: str, start: float, forward_done: float | None, ok: bool, chunks: int = 0) -> None:
        if self.metrics:
            self.metrics.observe_batch(method, start, forward_done, ok)
            self.metrics.observe_step(chunks)

    def _gauges(self) -> None:
        if self.metrics:
            self.metrics.set_gauges(len(self.queue), len(self.running),
                                    sum(seq.max_tokens for seq in self.running))
            self.metrics.set_kv_cache(self.pool.num_used, self.pool.num_blocks, self.pool.queries, self.pool.hits,
                                      self.scheduler.preempted)
