"""The KV cache's memory: one key and one value tensor per layer, indexed by slot, allocated once.

Slot `s` = block `s // block_size`, offset `s % block_size` (block_pool.py owns the blocks). Sizes
follow what TGI does at warm-up (launcher `--max-batch-total-tokens`: "the maximum number of tokens
the KV cache can hold", inferred from free GPU memory after a prefill of
`--max-batch-prefill-tokens` tokens): on a GPU, the pool takes a share of the memory left after such
a trial forward; on CPU, a fixed memory budget (config.py) or the flag. text_generation_inference/inside_the_server.md,
"Inside the server".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .config import BATCH_TOTAL_SEQUENCES, CPU_KV_CACHE_BYTES, GPU_MEMORY_FRACTION


@dataclass(frozen=True)
class KVShape:
    """What one token costs in the cache: layers x kv heads x head size, for keys and for values."""

    num_layers: int
    num_kv_heads: int
    head_dim: int

    def __post_init__(self) -> None:
        if min(self.num_layers, self.num_kv_heads, self.head_dim) < 1:
            raise ValueError(f"invalid KV shape {self}")

    @classmethod
    def of(cls, config: Any) -> "KVShape":
        """From a transformers config (Llama, Qwen2, Mistral, Gemma, GPT-2 names via attribute_map)."""
        config = getattr(config, "text_config", None) or config
        heads = config.num_attention_heads
        kv_heads = getattr(config, "num_key_value_heads", None) or heads
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
        return cls(config.num_hidden_layers, kv_heads, head_dim)

    def bytes_per_token(self, dtype: torch.dtype) -> int:
        return 2 * self.num_layers * self.num_kv_heads * self.head_dim * torch.empty((), dtype=dtype).element_size()


class KVCache:
    """keys[layer], values[layer]: [num_slots, kv_heads, head_dim] each, views of one zero-filled tensor
    [num_layers, 2, num_slots, kv_heads, head_dim], so a block is cleared in every layer with one call."""

    def __init__(self, shape: KVShape, num_slots: int, dtype: torch.dtype, device: torch.device | str) -> None:
        if num_slots < 1:
            raise ValueError("the KV cache needs at least one slot")
        # zeros (not empty): every page is touched now, so memory at "ready" is memory under load.
        self.data = torch.zeros((shape.num_layers, 2, num_slots, shape.num_kv_heads, shape.head_dim),
                                dtype=dtype, device=device)
        self.keys = list(self.data[:, 0])
        self.values = list(self.data[:, 1])
        self.shape, self.num_slots = shape, num_slots

    def zero_blocks(self, block_ids: list[int], block_size: int) -> None:
        """Clear blocks that change owner. Attention masks the slots past a sequence's length in its last
        block, but a masked key or value still costs 0 x value, so a NaN left there by the block's previous
        owner (a float16 overflow) would poison the new one."""
        if block_ids:
            index = torch.tensor(block_ids, dtype=torch.long).to(self.data.device, non_blocking=True)
            by_block = self.data.view(*self.data.shape[:2], -1, block_size, *self.data.shape[3:])
            by_block.index_fill_(2, index, 0)


def cpu_capacity_tokens(shape: KVShape, dtype: torch.dtype, budget_bytes: int) -> int:
    """Tokens a CPU pool of `budget_bytes` holds."""
    return max(1, budget_bytes // shape.bytes_per_token(dtype))


def gpu_capacity_tokens(model: Any, shape: KVShape, prefill_tokens: int, memory_fraction: float) -> int:
    """TGI-style warm-up: run `prefill_tokens` tokens once with the model's own attention, then give the
    KV pool `memory_fraction` of the memory that is still free minus that forward's peak."""
    device = model.device
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    ids = torch.zeros((1, prefill_tokens), dtype=torch.long, device=device)
    with torch.inference_mode():
        model(input_ids=ids, use_cache=False, logits_to_keep=1)
    peak = torch.cuda.max_memory_allocated(device) - before
    torch.cuda.empty_cache()
    free, _ = torch.cuda.mem_get_info(device)
    usable = int(free * memory_fraction) - peak
    return max(0, usable // shape.bytes_per_token(model.dtype))


def kv_capacity(model: Any, max_total_tokens: int, max_batch_prefill_tokens: int) -> int:
    """Default for --max-batch-total-tokens, given the other limits already derived: GPU from free memory
    after a warm-up prefill of `max_batch_prefill_tokens`, CPU from CPU_KV_CACHE_BYTES (at most
    BATCH_TOTAL_SEQUENCES sequences of `max_total_tokens`)."""
    shape = KVShape.of(model.config)
    if torch.device(model.device).type == "cuda":
        return gpu_capacity_tokens(model, shape, max_batch_prefill_tokens, GPU_MEMORY_FRACTION)
    return min(BATCH_TOTAL_SEQUENCES * max_total_tokens,
               cpu_capacity_tokens(shape, model.dtype, CPU_KV_CACHE_BYTES))
