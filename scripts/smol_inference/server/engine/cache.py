"""KV cache handling for a batch whose members come and go: left padding, masks and positions.

The running batch keeps one transformers `DynamicCache` whose tensors are left-padded to a common
length T, plus a 2-D attention mask saying which of those T slots are real. This is the padded
("static shape") layout of TGI's non-flash models (server/text_generation_server/models/causal_lm.py:
`CausalLMBatch.concatenate` left-pads and stacks past key/values, `filter` keeps the survivors and
drops padding no one needs). Position ids count only real tokens, so a sequence sees exactly the
positions, mask and keys it would see alone: greedy output does not depend on its batch mates.
text_generation_inference.md, "KV cache".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from transformers import DynamicCache


def _layers(cache: DynamicCache) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(layer.keys, layer.values) for layer in cache.layers]


def _rebuild(layers: list[tuple[torch.Tensor, torch.Tensor]], config: Any) -> DynamicCache:
    cache = DynamicCache(config=config)
    for index, (keys, values) in enumerate(layers):
        cache.update(keys, values, index)
    return cache


def left_pad(ids: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token lists -> (input_ids [B, L], attention_mask [B, L]) padded on the left."""
    length = max(len(row) for row in ids)
    input_ids = torch.full((len(ids), length), pad_id, dtype=torch.long)     # [B, L]
    mask = torch.zeros((len(ids), length), dtype=torch.long)                 # [B, L]
    for row, tokens in enumerate(ids):
        input_ids[row, length - len(tokens):] = torch.tensor(tokens, dtype=torch.long)
        mask[row, length - len(tokens):] = 1
    return input_ids, mask


@dataclass
class BatchCache:
    """Keys/values of every running sequence, left-padded to one length, with their mask."""

    cache: DynamicCache
    mask: torch.Tensor          # [B, T] 1 = real token, 0 = padding
    config: Any                 # the model config (for DynamicCache layer types)

    def __post_init__(self) -> None:
        if self.mask.dim() != 2 or self.mask.shape[1] != self.cache.get_seq_length():
            raise ValueError(f"mask {tuple(self.mask.shape)} does not match cache length "
                             f"{self.cache.get_seq_length()}")

    @property
    def size(self) -> int:
        return int(self.mask.shape[0])

    @classmethod
    def prefill(cls, model: Any, ids: list[list[int]], pad_id: int,
                all_logits: bool = False) -> tuple["BatchCache", torch.Tensor]:
        """Run the prompts through the model; return their cache and logits [B, L or 1, V]."""
        device = model.device
        input_ids, mask = left_pad(ids, pad_id)                              # [B, L], [B, L]
        input_ids, mask = input_ids.to(device), mask.to(device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)                        # [B, L] real-token index
        out = model(input_ids=input_ids, attention_mask=mask, position_ids=positions,
                    cache=DynamicCache(config=model.config), use_cache=True,
                    logits_to_keep=0 if all_logits else 1)
        # Padding rows attend to nothing and may hold NaN: zero them so 0-weight * NaN never happens.
        keep = mask.bool()[:, None, :, None]                                 # [B, 1, L, 1]
        layers = [(torch.where(keep, k, torch.zeros((), dtype=k.dtype, device=k.device)),
                   torch.where(keep, v, torch.zeros((), dtype=v.dtype, device=v.device)))
                  for k, v in _layers(out.cache)]
        return cls(_rebuild(layers, model.config), mask, model.config), out.logits

    def decode(self, model: Any, next_ids: torch.Tensor) -> torch.Tensor:
        """One step for every sequence: next_ids [B] -> logits [B, V]; the cache grows by one slot."""
        ones = torch.ones((self.size, 1), dtype=self.mask.dtype, device=self.mask.device)
        positions = self.mask.sum(-1, keepdim=True)                           # [B, 1] real tokens so far
        self.mask = torch.cat([self.mask, ones], dim=1)                       # [B, T+1]
        out = model(input_ids=next_ids.view(-1, 1).to(self.mask.device), attention_mask=self.mask,
                    position_ids=positions, cache=self.cache, use_cache=True, logits_to_keep=1)
        self.cache = out.cache
        return out.logits[:, -1, :]                                           # [B, V]

    def select(self, rows: list[int]) -> "BatchCache | None":
        """Keep only `rows` (finished or cancelled sequences leave); drop padding no one needs."""
        if not rows:
            return None
        index = torch.tensor(rows, dtype=torch.long, device=self.mask.device)
        mask = self.mask.index_select(0, index)                               # [B', T]
        real_any = mask.any(dim=0).nonzero()
        start = int(real_any[0]) if len(real_any) else 0                      # leading all-pad columns
        layers = [(k.index_select(0, index)[:, :, start:], v.index_select(0, index)[:, :, start:])
                  for k, v in _layers(self.cache)]                          # each [B', H, T-start, D]
        return BatchCache(_rebuild(layers, self.config), mask[:, start:], self.config)

    def merge(self, other: "BatchCache") -> "BatchCache":
        """Stack two batches: left-pad the shorter one so both have length max(T1, T2)."""
        length = max(self.mask.shape[1], other.mask.shape[1])

        def pad(t: torch.Tensor, dim: int) -> torch.Tensor:
            missing = length - t.shape[dim]
            if missing == 0:
                return t
            shape = list(t.shape)
            shape[dim] = missing
            return torch.cat([torch.zeros(shape, dtype=t.dtype, device=t.device), t], dim=dim)

        layers = [(torch.cat([pad(k1, 2), pad(k2, 2)]), torch.cat([pad(v1, 2), pad(v2, 2)]))
                  for (k1, v1), (k2, v2) in zip(_layers(self.cache), _layers(other.cache), strict=False)]
        mask = torch.cat([pad(self.mask, 1), pad(other.mask, 1)])              # [B1+B2, T]
        return BatchCache(_rebuild(layers, self.config), mask, self.config)
