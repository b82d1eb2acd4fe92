"""Choosing the next token: penalties, warpers, then greedy or seeded sampling, one row at a time.

Follows TGI's `NextTokenChooser` (server/text_generation_server/utils/tokens.py): repetition
penalty (CTRL paper, arXiv:1909.05858) and frequency penalty on the logits, then temperature,
top-k, top-p (nucleus, arXiv:1904.09751) and typical-p (arXiv:2202.00666) warpers, then argmax or
a multinomial draw. Each request owns a `torch.Generator` seeded from its seed, so a seeded
request draws the same numbers whether it runs alone or in a batch. The reported logprob is the
log-softmax of the processed scores, like TGI's. text_generation_inference.md, "Sampling".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .sequence import SamplingParams, Sequence

NEG_INF = float("-inf")


def apply_penalties(scores: torch.Tensor, history: torch.Tensor, params: SamplingParams) -> torch.Tensor:
    """scores [V], history [N] (prompt + generated ids) -> penalised scores [V]."""
    if params.repetition_penalty != 1.0 and history.numel():
        seen = scores.gather(0, history)                                       # [N]
        seen = torch.where(seen < 0, seen * params.repetition_penalty, seen / params.repetition_penalty)
        scores = scores.scatter(0, history, seen)
    if params.frequency_penalty != 0.0 and history.numel():
        counts = torch.bincount(history, minlength=scores.shape[0]).to(scores.dtype)   # [V]
        scores = scores - params.frequency_penalty * counts
    return scores


def apply_warpers(scores: torch.Tensor, params: SamplingParams) -> torch.Tensor:
    """Temperature, top-k, top-p, typical-p on scores [V]; filtered entries become -inf."""
    if params.temperature != 1.0:
        scores = scores / params.temperature
    if 0 < params.top_k < scores.shape[0]:
        kth = torch.topk(scores, params.top_k).values[-1]
        scores = scores.masked_fill(scores < kth, NEG_INF)
    if params.top_p < 1.0:
        sorted_scores, order = torch.sort(scores, descending=False)              # [V] ascending
        cumulative = sorted_scores.softmax(-1).cumsum(-1)                        # [V]
        drop = cumulative <= 1 - params.top_p
        drop[-1] = False                                                         # keep the best token
        scores = scores.masked_fill(drop.scatter(0, order, drop), NEG_INF)
    if params.typical_p < 1.0:
        log_probs = scores.log_softmax(-1)                                       # [V]
        probs = log_probs.exp()
        entropy = -(torch.nan_to_num(log_probs * probs)).sum()
        shifted = (-log_probs - entropy).abs()                                   # [V] distance to typical
        sorted_shift, order = torch.sort(shifted)
        cumulative = probs.gather(0, order).cumsum(-1)
        last = int((cumulative < params.typical_p).sum())                        # keep up to and incl. this
        drop_sorted = torch.arange(scores.shape[0], device=scores.device) > last
        scores = scores.masked_fill(drop_sorted.scatter(0, order, drop_sorted), NEG_INF)
    return scores


def new_generator(seed: int, device: torch.device) -> torch.Generator:
    """A per-request random stream (TGI seeds one per request too)."""
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator


def choose(logits: torch.Tensor, seq: Sequence) -> tuple[int, float, list[tuple[int, float]]]:
    """logits [V] -> (token id, its logprob, top_n (id, logprob) pairs) for one sequence."""
    params = seq.sampling
    scores = logits.float()                                                      # [V]
    if params.repetition_penalty != 1.0 or params.frequency_penalty != 0.0:
        history = torch.tensor(seq.all_token_ids(), dtype=torch.long, device=scores.device)   # [N]
        scores = apply_penalties(scores, history, params)
    if params.do_sample:
        scores = apply_warpers(scores, params)
    scores = finite(scores, logits)
    log_probs = scores.log_softmax(-1)                                           # [V]
    if params.do_sample:
        if seq.generator is None:
            seq.generator = new_generator(params.seed, scores.device)
        token = int(torch.multinomial(log_probs.exp(), 1, generator=seq.generator))
    else:
        token = int(scores.argmax())
    top: list[tuple[int, float]] = []
    if seq.top_n_tokens:
        values, ids = torch.topk(log_probs, seq.top_n_tokens)
        top = [(int(i), json_logprob(float(v))) for i, v in zip(ids, values, strict=False)]
    return token, json_logprob(float(log_probs[token])), top


def finite(scores: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Extreme but valid parameters (temperature 1e-300, repetition_penalty 1e300) overflow the scores
    [V]: +inf becomes the largest float, NaN is filtered out, and if nothing is left the raw logits'
    best token stays, so a step never fails on arithmetic (TGI's float32 sampler saturates likewise)."""
    scores = torch.nan_to_num(scores, nan=NEG_INF, posinf=torch.finfo(scores.dtype).max, neginf=NEG_INF)
    if bool(torch.isneginf(scores).all()):
        scores = torch.full_like(scores, NEG_INF)
        scores[int(logits.argmax())] = 0.0
    return scores


def json_logprob(value: float) -> float | None:
    """A logprob as JSON can carry it: TGI's serde_json writes a non-finite float (-inf) as null."""
    return value if math.isfinite(value) else None


def prompt_logprobs(logits: torch.Tensor, ids: list[int]) -> list[float | None]:
    """Prefill details: logits [L_padded, V] of one row -> logprob of each prompt token (first: None)."""
    rows = logits[-len(ids):].float().log_softmax(-1)                            # [L, V] the real tokens
    target = torch.tensor(ids[1:], dtype=torch.long, device=rows.device)          # [L-1]
    picked = rows[:-1].gather(1, target[:, None]).squeeze(1)                       # [L-1]
    return [None] + [float(v) for v in picked]


@dataclass
class SampleResult:
    """STAND-IN shape of the sampler stream's result (INTERFACES.md): one entry per row."""

    token_ids: list[int]
    logprobs: list[float | None]
    top: list[list[tuple[int, float]]]


def sample_batch(logits: torch.Tensor, seqs: list[Sequence]) -> SampleResult:
    """STAND-IN (replaced at merge by the vectorised sampler): logits [B, V] -> one choice per row."""
    chosen = [choose(logits[row], seq) for row, seq in enumerate(seqs)]
    return SampleResult([c[0] for c in chosen], [c[1] for c in chosen],
                        [c[2] for c in chosen])
