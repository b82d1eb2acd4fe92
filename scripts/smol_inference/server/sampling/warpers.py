"""The logits processors of the batched sampler, each editing scores [S, V] in place for the rows that use it.

TGI's heterogeneous processors (server/text_generation_server/utils/logits_process.py): repetition
penalty (CTRL, arXiv:1909.05858: over prompt + generated ids, a negative score is multiplied by the
penalty and a positive one divided), frequency penalty (score - penalty x count; counting GENERATED ids
only, as OpenAI and vLLM do, where TGI counts the prompt too), then the warpers for sampled rows:
temperature, top-k, top-p (nucleus, arXiv:1904.09751), min-p (arXiv:2407.01082; vLLM's and SGLang's
`min_p`, transformers' `MinPLogitsWarper`: after temperature, like HF; top-k, top-p and min-p keep the
best token and compare to it, so their order among themselves does not change the kept set) and
typical-p (arXiv:2202.00666). Before all of them, `min_tokens` (vLLM's `MinTokensLogitsProcessor`)
masks the eos and stop token ids of a row that has not yet generated its minimum. A row a
processor does not concern is never touched, so its result cannot depend on its batch companions.
text_generation_inference/differences_from_tgi.md, "Sampling".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from .config import NUCLEUS_CANDIDATES

if TYPE_CHECKING:                     # annotations only
    from .params import SamplingRow

NEG_INF = float("-inf")


def _column(seqs: list[SamplingRow], rows: list[int], name: str, device: torch.device) -> torch.Tensor:
    """One sampling parameter of the given rows as a [n, 1] tensor."""
    return torch.tensor([getattr(seqs[row].sampling, name) for row in rows], device=device)[:, None]


def _flat_index(scores: torch.Tensor, rows: list[int], ids: Sequence[Sequence[int]]) -> torch.Tensor:
    """Positions of every (row, id) pair in scores.view(-1), as one 1-D index [N]."""
    vocab = scores.shape[1]
    return torch.cat([torch.tensor(i, dtype=torch.long) + row * vocab for row, i in zip(rows, ids, strict=True)]
                     ).to(scores.device)


def _per_id(values: list[float], ids: Sequence[Sequence[int]], device: torch.device) -> torch.Tensor:
    """Each row's value repeated once per id of that row: [N], aligned with _flat_index."""
    lengths = torch.tensor([len(i) for i in ids], device=device)
    return torch.tensor(values, device=device).repeat_interleave(lengths)


def repetition_penalty(scores: torch.Tensor, seqs: list[SamplingRow]) -> None:
    rows = [row for row, seq in enumerate(seqs) if seq.sampling.repetition_penalty != 1.0]
    if not rows:
        return
    ids = [seqs[row].token_ids for row in rows]                                  # prompt + generated
    index = _flat_index(scores, rows, ids)                                       # [N]
    penalty = _per_id([seqs[row].sampling.repetition_penalty for row in rows], ids, scores.device)
    flat = scores.view(-1)
    seen = flat[index]                                                           # [N]; repeats write the same
    flat[index] = torch.where(seen < 0, seen * penalty, seen / penalty)


def frequency_penalty(scores: torch.Tensor, seqs: list[SamplingRow]) -> None:
    rows = [row for row, seq in enumerate(seqs) if seq.sampling.frequency_penalty != 0.0 and seq.generated]
    if not rows:
        return
    ids = [[token.id for token in seqs[row].generated] for row in rows]          # generated only
    index = _flat_index(scores, rows, ids)                                       # [N]
    penalty = _per_id([-seqs[row].sampling.frequency_penalty for row in rows], ids, scores.device)
    scores.view(-1).index_put_((index,), penalty, accumulate=True)               # once per occurrence


def min_tokens(scores: torch.Tensor, seqs: list[SamplingRow]) -> None:
    """Mask the ids that would end a row's output while it has fewer than min_tokens tokens."""
    rows = [row for row, seq in enumerate(seqs) if before_min_tokens(seq)]
    if rows:
        ids = [list(seqs[row].sampling.min_tokens_ids) for row in rows]
        scores.view(-1)[_flat_index(scores, rows, ids)] = NEG_INF


def before_min_tokens(seq: SamplingRow) -> bool:
    p = seq.sampling
    return bool(p.min_tokens_ids) and len(seq.generated) < p.min_tokens


def temperature(scores: torch.Tensor, seqs: list[SamplingRow], sampled: list[int]) -> None:
    """scores / T, after shifting each row's best to 0 (softmax is unchanged; 1e-300 cannot overflow)."""
    rows = [row for row in sampled if seqs[row].sampling.temperature != 1.0]
    if rows:
        index = torch.tensor(rows, device=scores.device)
        sub = scores.index_select(0, index)
        scores[index] = (sub - sub.max(-1, keepdim=True).values) / _column(seqs, rows, "temperature", scores.device)


def top_k(scores: torch.Tensor, seqs: list[SamplingRow], sampled: list[int]) -> None:
    """Keep scores >= the row's k-th best (ties with it stay, as in TGI)."""
    rows = [row for row in sampled if 0 < seqs[row].sampling.top_k < scores.shape[1]]
    if rows:
        index, k = torch.tensor(rows, device=scores.device), _column(seqs, rows, "top_k", scores.device)
        sub = scores.index_select(0, index)
        kth = sub.topk(int(k.max()), -1).values.gather(1, k - 1)                 # [n, 1]
        scores[index] = sub.masked_fill(sub < kth, NEG_INF)


def _head_floor(key: torch.Tensor, probs: torch.Tensor, limit: torch.Tensor) -> torch.Tensor:
    """key, probs [n, V], limit [n, 1] -> [n, 1] the lowest key kept when tokens are taken in descending
    key order while the probability of the tokens taken before them is < limit (the best always stays).
    The head is looked for among the NUCLEUS_CANDIDATES best keys first; only rows whose candidates hold
    less than `limit` pay for a pass over the whole vocabulary (torch's full sort is the slow part)."""
    vocab = key.shape[1]
    floor = key.new_empty(key.shape[0], 1)
    todo = torch.arange(key.shape[0], device=key.device)                         # rows still to settle
    for width in (min(NUCLEUS_CANDIDATES, vocab), vocab):
        best, where = key[todo].topk(width, -1)                                  # [m, width] descending
        mass = probs[todo].gather(1, where)                                      # [m, width]
        before = mass.cumsum(-1) - mass                                          # mass of the tokens ahead
        kept = (before < limit[todo]).sum(-1, keepdim=True).clamp(min=1)         # [m, 1]
        settled = (mass.sum(-1) >= limit[todo].squeeze(1)) | (width == vocab)    # [m]
        floor[todo[settled]] = best.gather(1, kept - 1)[settled]
        todo = todo[~settled]
        if not todo.numel():
            break
    return floor


def top_p(scores: torch.Tensor, seqs: list[SamplingRow], sampled: list[int]) -> None:
    """Keep the best tokens while the ones before hold less than top_p. TGI drops a token when the
    ascending cumulative probability up to it is <= 1 - top_p: the same set, ties at the edge kept."""
    rows = [row for row in sampled if seqs[row].sampling.top_p < 1.0]
    if not rows:
        return
    index = torch.tensor(rows, device=scores.device)
    sub = scores.index_select(0, index)                                          # [n, V]
    floor = _head_floor(sub, sub.softmax(-1), _column(seqs, rows, "top_p", scores.device))
    scores[index] = sub.masked_fill(sub < floor, NEG_INF)


def min_p(scores: torch.Tensor, seqs: list[SamplingRow], sampled: list[int]) -> None:
    """Keep the tokens whose probability is >= min_p x the best one's: log p - log p_max >= log(min_p)."""
    rows = [row for row in sampled if seqs[row].sampling.min_p > 0.0]
    if not rows:
        return
    index = torch.tensor(rows, device=scores.device)
    sub = scores.index_select(0, index)                                          # [n, V]
    floor = sub.max(-1, keepdim=True).values + _column(seqs, rows, "min_p", scores.device).log()   # [n, 1]
    scores[index] = sub.masked_fill(sub < floor, NEG_INF)


def typical_p(scores: torch.Tensor, seqs: list[SamplingRow], sampled: list[int]) -> None:
    """Keep the tokens whose surprise (-log p) is closest to the entropy, while the ones before hold
    less than typical_p (TGI's TypicalLogitsWarper, ties at the edge kept)."""
    rows = [row for row in sampled if seqs[row].sampling.typical_p < 1.0]
    if not rows:
        return
    index = torch.tensor(rows, device=scores.device)
    sub = scores.index_select(0, index)
    logp = sub.log_softmax(-1)                                                   # [n, V]
    probs = logp.exp()
    entropy = -(logp * probs).nansum(-1, keepdim=True)                           # [n, 1]
    typicality = -(-logp - entropy).abs()                                        # [n, V] higher: more typical
    floor = _head_floor(typicality, probs, _column(seqs, rows, "typical_p", scores.device))
    scores[index] = sub.masked_fill(typicality < floor, NEG_INF)


#: Applied in this order to the sampled rows, as TGI's `HeterogeneousNextTokenChooser` does.
WARPERS = (temperature, top_k, top_p, min_p, typical_p)
