"""Paged attention plugged into any transformers model through its `AttentionInterface`.

Each engine step runs ONE forward over the tokens of every scheduled sequence packed into a single
row (input_ids [1, T]); the model's own code computes the projections, rotary or learned positions
and MLPs, and calls this function in every layer instead of SDPA (transformers' continuous batching
plugs its paged cache in the same way). Per layer it

1. writes the step's new keys/values into the KV cache at their slots (`slot_mapping`), then
2. lets each sequence's queries attend to that sequence's slots only, read through its block table:
   the one-token queries (decode) of all sequences together as one padded batch, and the longer
   chunks (chunked prefill) as a few padded batches of similar size, each chunk with a causal mask
   that starts at its first position.

Sliding-window layers (Mistral, Gemma 2/3, Qwen2, Phi-3) pass `sliding_window`; Gemma 2 passes a
logit `softcap`; grouped-query attention is handled by SDPA's `enable_gqa`. The step's metadata
(`StepContext`) is set per thread by model_runner.py around the forward. text_generation_inference/inside_the_server.md,
"Inside the server".
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, cast

import torch
import torch.nn.functional as F
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward

from .kv_cache import KVCache

ATTENTION_NAME = "smol_paged"
_local = threading.local()


@dataclass
class ChunkGroup:
    """Prompt chunks attended together as one padded batch: C chunks of up to n queries each.

    Padding queries repeat a real row of their chunk and their outputs are dropped: only the `real`
    entries of the flattened [C * n] outputs are written, to packed rows `targets` (index tensors made
    on the host, so a GPU never waits for a boolean mask's nonzero)."""

    rows: torch.Tensor             # [C, n] packed row of each query
    real: torch.Tensor             # [N] positions of the real queries in rows.flatten()
    targets: torch.Tensor          # [N] their packed rows, rows.flatten()[real]
    starts: torch.Tensor           # [C, 1] position of each chunk's first query
    blocks: torch.Tensor           # [C, nb] block tables (enough for start + length tokens), padded with `pad`


def group_chunks(chunks: list[tuple[int, int, int, list[int]]], waste: float, pad: int,
                 device: torch.device) -> list[ChunkGroup]:
    """(row, length, start, block table) per prompt chunk -> padded groups. Chunks are taken longest
    first and a group grows while its padded size (chunks x longest x widest table) stays within
    `waste` times the work it holds, so one long chunk never pads many short ones to its size. Tables are
    padded with block `pad` (the engine's pad block, config.py RESERVED_BLOCKS: no request's keys are ever read)."""
    groups: list[list[tuple[int, int, int, list[int]]]] = []
    cost = 0
    for chunk in sorted(chunks, key=lambda c: -c[1] * len(c[3])):
        group = groups[-1] if groups else []
        size = (len(group) + 1) * max(c[1] for c in group + [chunk]) * max(len(c[3]) for c in group + [chunk])
        if group and size <= waste * (cost + chunk[1] * len(chunk[3])):
            group.append(chunk)
            cost += chunk[1] * len(chunk[3])
        else:
            groups.append([chunk])
            cost = chunk[1] * len(chunk[3])
    out = []
    for group in groups:
        n, nb = max(c[1] for c in group), max(len(c[3]) for c in group)
        offsets = torch.arange(n)
        rows = torch.stack([row + offsets.clamp(max=length - 1) for row, length, _, _ in group])      # [C, n]
        real = torch.cat([offsets[:length] + i * n for i, (_, length, _, _) in enumerate(group)])      # [N]
        targets = rows.flatten()[real]                                                                 # [N]
        starts = torch.tensor([[start] for _, _, start, _ in group])                                   # [C, 1]
        blocks = torch.tensor([table + [pad] * (nb - len(table)) for _, _, _, table in group])        # [C, nb]
        out.append(ChunkGroup(*(t.to(device, non_blocking=True) for t in (rows, real, targets, starts, blocks))))
    return out


@dataclass
class StepContext:
    """Everything the attention function needs for one packed forward."""

    kv: KVCache
    block_size: int
    slot_mapping: torch.Tensor     # [T] where each packed token's K/V goes
    single_rows: torch.Tensor      # [Bs] packed row of each one-query sequence
    single_blocks: torch.Tensor    # [Bs, nb] its block table, padded with the pad block (masked out)
    single_lens: torch.Tensor      # [Bs] its context length (positions 0 .. len - 1, the new one last)
    groups: list[ChunkGroup]
    layers_seen: set[int] = field(default_factory=set)
    _masks: dict[Any, torch.Tensor] = field(default_factory=dict)

    def gather(self, cache: torch.Tensor, blocks: torch.Tensor) -> torch.Tensor:
        """cache [S, Hkv, D], blocks [..., nb] -> the blocks' slots in order [..., nb * block_size, Hkv, D]."""
        by_block = cache.view(-1, self.block_size, *cache.shape[1:])                  # [S/bs, bs, Hkv, D]
        # index_select copies whole blocks: on CPU about 4x faster than advanced indexing (by_block[blocks])
        picked = by_block.index_select(0, blocks.reshape(-1))                          # [N * nb, bs, Hkv, D]
        return picked.view(*blocks.shape[:-1], blocks.shape[-1] * self.block_size, *cache.shape[1:])

    def single_mask(self, window: int | None) -> torch.Tensor:
        """[Bs, 1, 1, L] True where key position < len (and within the window of the query)."""
        key = ("single", window)
        if key not in self._masks:
            length = self.single_blocks.shape[1] * self.block_size
            kpos = torch.arange(length, device=self.single_lens.device)[None, :]           # [1, L]
            lens = self.single_lens[:, None]                                               # [Bs, 1]
            mask = kpos < lens
            if window is not None:
                mask &= kpos > lens - 1 - window
            self._masks[key] = mask[:, None, None, :]
        return self._masks[key]

    def group_mask(self, index: int, window: int | None) -> torch.Tensor:
        """[C, 1, n, L]: causal from each chunk's first position (and windowed); L = the group's slots."""
        key = (index, window)
        if key not in self._masks:
            group = self.groups[index]
            device = group.blocks.device
            qpos = group.starts + torch.arange(group.rows.shape[1], device=device)[None, :]    # [C, n]
            kpos = torch.arange(group.blocks.shape[1] * self.block_size, device=device)       # [L]
            mask = kpos <= qpos[..., None]                                                     # [C, n, L]
            if window is not None:
                mask &= kpos > qpos[..., None] - window
            self._masks[key] = mask[:, None]
        return self._masks[key]


def set_context(ctx: StepContext | None) -> None:
    _local.ctx = ctx


def in_engine_step() -> bool:
    """True while this thread runs an engine step's forward (model_runner.py sets the context)."""
    return getattr(_local, "ctx", None) is not None


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor, scaling: float | None,
            softcap: float | None) -> torch.Tensor:
    """q [B, H, n, D], k/v [B, Hkv, L, D], mask [B, 1, n, L] (True = attend) -> [B, H, n, D]."""
    gqa = q.shape[1] != k.shape[1]
    if softcap is None:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scaling, enable_gqa=gqa)
    if gqa:                                                    # the eager path (Gemma 2's logit softcap)
        k = k.repeat_interleave(q.shape[1] // k.shape[1], dim=1)
        v = v.repeat_interleave(q.shape[1] // v.shape[1], dim=1)
    scores = q @ k.transpose(-1, -2) * (scaling if scaling is not None else q.shape[-1] ** -0.5)
    scores = torch.tanh(scores / softcap) * softcap
    scores = scores.masked_fill(~mask, float("-inf"))
    return scores.softmax(-1, dtype=torch.float32).to(q.dtype) @ v


def paged_attention(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                    attention_mask: torch.Tensor | None, scaling: float | None = None, dropout: float = 0.0,
                    **kwargs: Any) -> tuple[torch.Tensor, None]:
    """query [1, H, T, D], key/value [1, Hkv, T, D] for the packed step -> ([1, T, H, D], None).

    Called outside an engine step (no StepContext on this thread), it is transformers' SDPA attention, so a
    model the server shares with the lesson-1 helpers in one process keeps working there."""
    ctx: StepContext | None = getattr(_local, "ctx", None)
    if ctx is None:  # the same model object used outside the engine (a pipeline, generate): plain SDPA
        return sdpa_attention_forward(module, query, key, value, attention_mask, scaling=scaling,
                                      dropout=dropout, **kwargs)
    layer = cast(int, module.layer_idx)  # transformers' attention modules set layer_idx: int
    ctx.layers_seen.add(layer)
    k_cache, v_cache = ctx.kv.keys[layer], ctx.kv.values[layer]                 # [S, Hkv, D]
    k_cache.index_copy_(0, ctx.slot_mapping, key[0].transpose(0, 1).to(k_cache.dtype))      # [T, Hkv, D]
    v_cache.index_copy_(0, ctx.slot_mapping, value[0].transpose(0, 1).to(v_cache.dtype))
    window = kwargs.get("sliding_window") or None
    softcap = kwargs.get("softcap")
    q_all = query[0]                                                             # [H, T, D]
    out = torch.empty((q_all.shape[1], q_all.shape[0], q_all.shape[2]), dtype=query.dtype,
                      device=query.device)                                       # [T, H, D]
    if ctx.single_rows.numel():
        q = q_all[:, ctx.single_rows].transpose(0, 1).unsqueeze(2)               # [Bs, H, 1, D]
        k = ctx.gather(k_cache, ctx.single_blocks).transpose(1, 2)               # [Bs, Hkv, L, D]
        v = ctx.gather(v_cache, ctx.single_blocks).transpose(1, 2)
        o = _attend(q, k.to(q.dtype), v.to(q.dtype), ctx.single_mask(window), scaling, softcap)
        out[ctx.single_rows] = o[:, :, 0]                                        # [Bs, H, D]
    for index, group in enumerate(ctx.groups):
        c, n = group.rows.shape
        q = q_all[:, group.rows.flatten()].view(q_all.shape[0], c, n, -1).transpose(0, 1)   # [C, H, n, D]
        k = ctx.gather(k_cache, group.blocks).transpose(1, 2)                    # [C, Hkv, L, D]
        v = ctx.gather(v_cache, group.blocks).transpose(1, 2)
        o = _attend(q, k.to(q.dtype), v.to(q.dtype), ctx.group_mask(index, window), scaling, softcap)
        o = o.transpose(1, 2).reshape(c * n, o.shape[1], o.shape[3])              # [C * n, H, D]
        out.index_copy_(0, group.targets, o.index_select(0, group.real))            # the real queries only
    return out.unsqueeze(0), None


AttentionInterface.register(ATTENTION_NAME, paged_attention)
