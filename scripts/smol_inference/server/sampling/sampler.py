"""Choosing the next token for the whole batch at once: penalties, grammar, warpers, then argmax or a draw.

Follows TGI's `HeterogeneousNextTokenChooser` (server/text_generation_server/utils/tokens.py): per-row
parameters become [n, 1] tensors and each processor (warpers.py) touches only the rows that use it, so a
batch of greedy requests without penalties costs one argmax. Order, as TGI's (after vLLM's `min_tokens`
mask): repetition penalty, frequency penalty, the grammar mask (../../grammar.py, imported only when a row
has a grammar), then for sampled rows temperature, top-k, top-p, min-p and typical-p; then argmax for
greedy rows, a draw for the others.

Draws: each request owns a CPU `torch.Generator` seeded once from its seed (TGI keeps one per request
too). A sampled row takes one uniform number from its own generator per step and picks its token by
inverse CDF over its own probabilities, so a seeded request draws the same tokens alone or in any batch.

Reported log-probabilities (TGI `details`/`top_tokens`, OpenAI `logprobs`): the log-softmax of the model's
raw logits, before penalties, temperature, grammar and truncation. That is vLLM's default
(`--logprobs-mode raw_logprobs`) and what OpenAI reports; it never depends on the sampling parameters
and is always a finite number. TGI reports the processed distribution instead, where a truncated token
is -inf and serialises as null. text_generation_inference/differences_from_tgi.md, "Sampling".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataclasses import dataclass

import torch

from . import warpers

if TYPE_CHECKING:                     # annotations only
    from .params import SamplingRow

NEG_INF = float("-inf")
#: The lowest logprob reported: a finite stand-in for log(0) (never null in JSON).
LOGPROB_FLOOR = torch.finfo(torch.float32).min


@dataclass
class SampleResult:
    """One step's choice for a batch of B rows."""

    token_ids: list[int]                        # [B] chosen ids
    logprobs: list[float]                       # [B] raw-distribution logprob of each chosen id, finite
    top: list[list[tuple[int, float]]]          # [B][top_n] (id, logprob), best first; [] when top_n_tokens == 0

    def __post_init__(self) -> None:
        if not len(self.token_ids) == len(self.logprobs) == len(self.top):
            raise ValueError("token_ids, logprobs and top need one entry per row")


def sample_batch(logits: torch.Tensor, seqs: list[SamplingRow]) -> SampleResult:
    """logits [B, V] (any float dtype; row i belongs to seqs[i]) -> the next token of every row.

    Raises ValueError when the shapes disagree. Extreme but valid parameters (temperature 1e-300,
    repetition_penalty 1e300) never fail a step: scores saturate and the raw best token is the fallback.
    """
    if logits.dim() != 2 or logits.shape[0] != len(seqs):
        raise ValueError(f"logits must be [B, V] with B = {len(seqs)} rows, got {tuple(logits.shape)}")
    raw = logits.float()                                                         # [B, V] (no copy if fp32)
    tokens = raw.argmax(-1)                                                      # [B] greedy choice
    busy = [row for row, seq in enumerate(seqs) if _needs_processing(seq)]
    if busy:                                                                     # else: the fast path
        rows = torch.tensor(busy, device=raw.device)                             # [S]
        scores = raw.index_select(0, rows)                                       # [S, V] a copy we may edit
        tokens[rows] = _choose(scores, [seqs[row] for row in busy], fallback=tokens[rows])
    token_ids = tokens.tolist()
    for seq, token_id in zip(seqs, token_ids, strict=True):
        grammar = getattr(seq, "grammar", None)
        if grammar is not None:
            grammar.accept(token_id)
    logprobs, top = _report(raw, tokens, seqs)
    return SampleResult(token_ids, logprobs, top)


def prompt_logprobs(logits: torch.Tensor, ids: list[int]) -> list[float | None]:
    """Prefill details: logits [L_padded, V] of one row -> logprob of each prompt token under the raw
    distribution; the first token has no context and gets None, as in TGI's `prefill` details."""
    rows = logits[len(logits) - len(ids):len(logits) - 1].float()               # [L-1, V] predicting ids[1:]
    target = torch.tensor(ids[1:], dtype=torch.long, device=rows.device)          # [L-1]
    picked = rows.log_softmax(-1).gather(1, target[:, None]).squeeze(1)           # [L-1]
    return [None] + _finite_logprobs(picked).tolist()


# ---- choosing -------------------------------------------------------------------------------------
def _needs_processing(seq: SamplingRow) -> bool:
    p = seq.sampling
    return (p.do_sample or p.repetition_penalty != 1.0 or p.frequency_penalty != 0.0
            or getattr(seq, "grammar", None) is not None or warpers.before_min_tokens(seq))


def _choose(scores: torch.Tensor, seqs: list[SamplingRow], fallback: torch.Tensor) -> torch.Tensor:
    """scores [S, V] (edited in place) of the rows that need work -> chosen ids [S]."""
    warpers.min_tokens(scores, seqs)
    warpers.repetition_penalty(scores, seqs)
    warpers.frequency_penalty(scores, seqs)
    states = [getattr(seq, "grammar", None) for seq in seqs]
    if any(state is not None for state in states):
        from ...grammar import apply_grammar                                      # only when a row has one
        apply_grammar(scores, states)
    _saturate(scores)
    sampled = [row for row, seq in enumerate(seqs) if seq.sampling.do_sample]
    for warp in warpers.WARPERS:
        warp(scores, seqs, sampled)
    dead = ~(scores > NEG_INF).any(-1)                                           # [S] nothing left (or NaN)
    chosen = torch.where(dead, fallback, scores.argmax(-1))                      # [S]
    if sampled:
        rows = torch.tensor(sampled, device=scores.device)
        drawn = _draw(scores.index_select(0, rows), [seqs[row] for row in sampled])
        chosen[rows] = torch.where(dead[rows], fallback[rows], drawn)
    return chosen


def _saturate(scores: torch.Tensor) -> None:
    """Overflowed scores [S, V] stay usable: +inf -> the largest float, NaN -> -inf (filtered out)."""
    torch.nan_to_num_(scores, nan=NEG_INF, posinf=torch.finfo(scores.dtype).max, neginf=NEG_INF)


def _generator(seq: SamplingRow) -> torch.Generator:
    """The request's own random stream, created on first use from its seed (CPU: device independent)."""
    if seq.generator is None:
        seq.generator = torch.Generator(device="cpu")
        seq.generator.manual_seed(seq.sampling.seed)
    return seq.generator


def _draw(scores: torch.Tensor, seqs: list[SamplingRow]) -> torch.Tensor:
    """scores [D, V] -> one token per row, drawn from softmax(scores) with the row's own generator."""
    probs = scores.softmax(-1)                                                   # [D, V]
    cdf = probs.cumsum(-1)                                                       # [D, V] non-decreasing
    uniform = torch.cat([torch.rand(1, generator=_generator(seq)) for seq in seqs]).to(scores.device)  # [D]
    target = (uniform * cdf[:, -1])[:, None]                                     # [D, 1] in [0, total)
    drawn = torch.searchsorted(cdf, target, right=True).squeeze(1).clamp(max=scores.shape[1] - 1)   # [D]
    impossible = probs.gather(1, drawn[:, None]).squeeze(1) == 0                 # float rounding at the top
    return torch.where(impossible, probs.argmax(-1), drawn)


# ---- reporting ------------------------------------------------------------------------------------
def _finite_logprobs(values: torch.Tensor) -> torch.Tensor:
    return torch.nan_to_num(values, nan=LOGPROB_FLOOR, neginf=LOGPROB_FLOOR, posinf=0.0).clamp(LOGPROB_FLOOR, 0.0)


def _report(raw: torch.Tensor, tokens: torch.Tensor, seqs: list[SamplingRow]) -> tuple[list[float], list[list]]:
    """Logprobs of the chosen tokens [B] and of each row's top_n_tokens best, under the raw distribution."""
    logp = raw.log_softmax(-1)                                                   # [B, V] (torch.logsumexp is slower)
    chosen = _finite_logprobs(logp.gather(1, tokens[:, None]).squeeze(1))        # [B]
    top: list[list[tuple[int, float]]] = [[] for _ in seqs]
    asked = [row for row, seq in enumerate(seqs) if seq.top_n_tokens]
    if asked:
        rows = torch.tensor(asked, device=raw.device)
        width = min(max(seqs[row].top_n_tokens for row in asked), raw.shape[1])
        values, ids = logp.index_select(0, rows).topk(width, -1)                 # [A, width] best first
        values = _finite_logprobs(values)
        for row, row_ids, row_values in zip(asked, ids.tolist(), values.tolist(), strict=True):
            n = seqs[row].top_n_tokens
            top[row] = list(zip(row_ids[:n], row_values[:n], strict=True))
    return chosen.tolist(), top
