"""One engine step on the model: pack the scheduled tokens, run one forward, return the logits needed.

Every scheduled sequence contributes `length` tokens starting at `seq.num_computed` (one while
decoding, a chunk while prefilling), all flattened into input_ids [1, T] with their own positions
(position_ids [1, T]: rotary and learned position embeddings alike see each token's place in its
own sequence). No transformers cache is used: attention.py reads and writes the paged KV cache.
Logits are computed only for the rows that need them (transformers' `logits_to_keep` as an index
tensor): the last row of each sequence that samples, plus every row of a prompt chunk whose request
asked for `decoder_input_details`, so memory stays bounded by the prefill budget.
Follows nano-vllm's `ModelRunner.prepare_prefill/prepare_decode` and vLLM v1's flattened batches.
text_generation_inference/inside_the_server.md, "Inside the server".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .attention import ATTENTION_NAME, StepContext, group_chunks, set_context
from .block_manager import BlockManager
from .config import CHUNK_PADDING_WASTE
from .kv_cache import KVCache
from .sequence import Sequence, Work


class UnsupportedModel(ValueError):
    """The model's attention does not go through transformers' AttentionInterface (cannot be paged)."""


@dataclass
class StepOutput:
    """Logits [S, V] of the sampling rows (in `work` order), and prompt-row logits per details request."""

    sample_logits: torch.Tensor
    samplers: list[Work]
    prompt_logits: list[tuple[Work, torch.Tensor]]       # (work, logits [length, V])


def use_paged_attention(model: Any) -> None:
    """Make every attention layer of `model` call attention.paged_attention."""
    if hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation(ATTENTION_NAME)
    else:
        model.config._attn_implementation = ATTENTION_NAME


class ModelRunner:
    """Owns the forward pass; the KV cache and the block tables come from the engine."""

    def __init__(self, model: Any, kv: KVCache, blocks: BlockManager) -> None:
        self.model, self.kv, self.blocks = model, kv, blocks
        self.device = torch.device(getattr(model, "device", "cpu"))
        self.graphs: Any = None                  # cuda_graphs.DecodeGraphs on a GPU, set by the engine
        # The two reserved blocks after the pool (engine/config.py, RESERVED_BLOCKS): pad, then sink.
        self.pad_block = blocks.pool.num_blocks
        self.sink_block = blocks.pool.num_blocks + 1
        use_paged_attention(model)

    def _tensor(self, values: list[int] | list[list[int]]) -> torch.Tensor:
        return torch.tensor(values, dtype=torch.long).to(self.device, non_blocking=True)

    def prepare(self, work: list[Work]) -> tuple[torch.Tensor, torch.Tensor, StepContext, list[int]]:
        """(input_ids [1, T], position_ids [1, T], attention metadata, rows whose logits are kept)."""
        ids: list[int] = []
        positions: list[int] = []
        slot_mapping: list[int] = []
        single_rows: list[int] = []
        single_tables: list[list[int]] = []
        single_lens: list[int] = []
        chunks: list[tuple[int, int, int, list[int]]] = []                      # (row, length, start, table)
        keep: list[int] = []
        bs = self.blocks.block_size
        for item in work:
            seq, row, end = item.seq, len(ids), item.start + item.length
            table = seq.block_table[:self.blocks.blocks_for(end)]               # blocks of positions 0 .. end-1
            ids += seq.token_ids[item.start:end]
            positions += range(item.start, end)
            slot_mapping += self.blocks.slots(seq, item.start, end)
            if item.length == 1:
                single_rows.append(row)
                single_tables.append(table)
                single_lens.append(end)
            else:
                chunks.append((row, item.length, item.start, table))
            if item.wants_prompt_logits:
                keep += range(row, row + item.length)
            elif item.samples:
                keep.append(row + item.length - 1)
        width = max((len(t) for t in single_tables), default=0)
        padded = [t + [self.pad_block] * (width - len(t)) for t in single_tables]
        ctx = StepContext(
            kv=self.kv, block_size=bs, slot_mapping=self._tensor(slot_mapping), single_rows=self._tensor(single_rows),
            single_blocks=self._tensor(padded).view(len(padded), width), single_lens=self._tensor(single_lens),
            groups=group_chunks(chunks, CHUNK_PADDING_WASTE, self.pad_block, self.device))
        return self._tensor(ids)[None], self._tensor(positions)[None], ctx, keep

    def forward(self, input_ids: torch.Tensor, position_ids: torch.Tensor, ctx: StepContext,
                keep: torch.Tensor) -> torch.Tensor:
        """The model on the packed step -> logits [K, V] of the kept rows (keep: [K] row indices)."""
        set_context(ctx)
        try:
            with torch.inference_mode():
                out = self.model(input_ids=input_ids, position_ids=position_ids, use_cache=False,
                                 logits_to_keep=keep)
        finally:
            set_context(None)
        return out.logits[0]                                                   # [K, V]

    def run(self, work: list[Work]) -> StepOutput:
        """Pack, forward, and split the kept logits back per sequence."""
        self.kv.zero_blocks(self.blocks.pool.take_fresh(), self.blocks.block_size)   # new owners see no stale KV
        if self.graphs is not None and all(w.length == 1 and w.samples and not w.wants_prompt_logits for w in work):
            logits = self._replay(work)
            if logits is not None:
                return StepOutput(logits, list(work), [])
        input_ids, position_ids, ctx, keep = self.prepare(work)
        logits = self.forward(input_ids, position_ids, ctx, self._tensor(keep))   # [K, V]
        samplers: list[Work] = []
        sample_rows: list[int] = []
        prompt_logits: list[tuple[Work, torch.Tensor]] = []
        at = 0
        for item in work:
            if item.wants_prompt_logits:
                prompt_logits.append((item, logits[at:at + item.length]))
                at += item.length
                if item.samples:
                    samplers.append(item)
                    sample_rows.append(at - 1)
            elif item.samples:
                samplers.append(item)
                sample_rows.append(at)
                at += 1
        index = torch.tensor(sample_rows, dtype=torch.long, device=logits.device)
        return StepOutput(logits.index_select(0, index), samplers, prompt_logits)

    def _replay(self, work: list[Work]) -> torch.Tensor | None:
        """A decode-only step through a captured CUDA graph (cuda_graphs.py), or None if none fits."""
        tables = [w.seq.block_table[:self.blocks.blocks_for(w.start + 1)] for w in work]
        slots = [self.blocks.slots(w.seq, w.start, w.start + 1)[0] for w in work]
        return self.graphs.run([w.seq.token_ids[w.start] for w in work], [w.start for w in work], slots, tables)

    def check_pageable(self, probe: Sequence) -> None:
        """Run `probe` (blocks already allocated) once; refuse a model whose layers bypassed paging."""
        input_ids, position_ids, ctx, keep = self.prepare([Work(probe, 0, len(probe.token_ids))])
        self.forward(input_ids, position_ids, ctx, self._tensor(keep))
        expected = self.kv.shape.num_layers
        if len(ctx.layers_seen) != expected:
            raise UnsupportedModel(
                f"{type(self.model).__name__}: {len(ctx.layers_seen)} of {expected} layers use transformers' "
                "AttentionInterface, so the course engine cannot page this model's KV cache; serve it with "
                "TGI or vLLM instead")
