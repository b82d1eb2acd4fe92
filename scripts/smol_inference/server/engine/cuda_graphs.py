"""Decode steps replayed as CUDA graphs, so a small model's step is not dominated by kernel launches.

A decode-only step (one token per sequence) has the same shapes whenever the batch size and the
block-table width are the same, so it can be recorded once and replayed: nano-vllm and vLLM capture
graphs at fixed batch sizes (TGI: `--cuda-graphs`). Here a graph is captured for every pair of a batch
bucket (`--cuda-graphs`, default 1, 2, 4, ... 256) and a block-table width bucket (powers of two up to
`max_total_tokens / block_size`); a step uses the smallest pair that fits, its extra rows write their
keys/values into the sink block and attend to the pad block (config.py, RESERVED_BLOCKS). Only on
CUDA; CPU never imports this path.
text_generation_inference/inside_the_server.md, "Inside the server".
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from .attention import StepContext
from .config import DEFAULT_GRAPH_BATCH, EngineConfig

log = logging.getLogger("smol_inference.server")
MIN_WIDTH = 8


def buckets(limit: int, start: int = 1) -> list[int]:
    """Powers of two from `start` up to and including the first one >= limit."""
    out = [start]
    while out[-1] < limit:
        out.append(out[-1] * 2)
    return out


class DecodeGraphs:
    """Captured decode steps; `run` returns logits [n, V] or None when no graph fits."""

    def __init__(self, runner: Any, batch_sizes: list[int], max_blocks: int) -> None:
        self.runner, self.batch_sizes = runner, sorted(batch_sizes)
        self.widths = buckets(max_blocks, MIN_WIDTH)
        device, biggest, widest = runner.device, self.batch_sizes[-1], self.widths[-1]
        bs = runner.blocks.block_size
        self.sink_slot = runner.sink_block * bs
        self.input_ids = torch.zeros((1, biggest), dtype=torch.long, device=device)
        self.positions = torch.zeros((1, biggest), dtype=torch.long, device=device)
        self.slot_mapping = torch.full((biggest,), self.sink_slot, dtype=torch.long, device=device)
        self.rows = torch.arange(biggest, device=device)
        self.tables = torch.full((biggest, widest), runner.pad_block, dtype=torch.long, device=device)
        self.lens = torch.ones(biggest, dtype=torch.long, device=device)
        self.graphs: dict[tuple[int, int], tuple[torch.cuda.CUDAGraph, torch.Tensor]] = {}

    def _context(self, batch: int, width: int) -> StepContext:
        return StepContext(kv=self.runner.kv, block_size=self.runner.blocks.block_size,
                           slot_mapping=self.slot_mapping[:batch], single_rows=self.rows[:batch],
                           single_blocks=self.tables[:batch, :width], single_lens=self.lens[:batch], groups=[])

    def capture(self) -> None:
        """Record every (batch, width) graph, biggest first so later ones reuse its memory pool."""
        pool = None
        for batch in reversed(self.batch_sizes):
            for width in reversed(self.widths):
                inputs = (self.input_ids[:, :batch], self.positions[:, :batch])
                self.runner.forward(*inputs, self._context(batch, width), self.rows[:batch])   # warm-up
                torch.cuda.synchronize()
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph, pool=pool):                    # a fresh context: masks recorded too
                    logits = self.runner.forward(*inputs, self._context(batch, width), self.rows[:batch])
                pool = graph.pool()
                self.graphs[(batch, width)] = (graph, logits)
        log.info("captured %d CUDA graphs (batch sizes %s, block-table widths %s)", len(self.graphs),
                 self.batch_sizes, self.widths)

    def run(self, ids: list[int], positions: list[int], slots: list[int],
            tables: list[list[int]]) -> torch.Tensor | None:
        """One decode step of len(ids) sequences, if a graph fits: logits [n, V]."""
        n = len(ids)
        width = max(len(t) for t in tables)
        batch = next((b for b in self.batch_sizes if b >= n), None)
        widest = next((w for w in self.widths if w >= width), None)
        if batch is None or widest is None:
            return None
        padded = [t + [self.runner.pad_block] * (widest - len(t)) for t in tables]
        self.input_ids[0, :n].copy_(torch.tensor(ids), non_blocking=True)
        self.positions[0, :n].copy_(torch.tensor(positions), non_blocking=True)
        self.slot_mapping[:n].copy_(torch.tensor(slots), non_blocking=True)
        self.tables[:n, :widest].copy_(torch.tensor(padded), non_blocking=True)
        self.lens[:n].copy_(torch.tensor([p + 1 for p in positions]), non_blocking=True)
        self.slot_mapping[n:batch].fill_(self.sink_slot)                    # extra rows write to the sink block
        self.tables[n:batch, :widest].fill_(self.runner.pad_block)          # and read the pad block
        self.lens[n:batch].fill_(1)
        graph, logits = self.graphs[(batch, widest)]
        graph.replay()
        return logits[:n].clone()                                           # [n, V]; the buffer is reused


def capture_decode_graphs(runner: Any, config: EngineConfig) -> None:
    """Give `runner` captured decode graphs (config.cuda_graphs; () disables); on failure, stay eager."""
    if config.cuda_graphs == ():
        return
    limit = min(config.max_batch_size or DEFAULT_GRAPH_BATCH, DEFAULT_GRAPH_BATCH)
    graphs = DecodeGraphs(runner, list(config.cuda_graphs or buckets(limit)),
                          runner.blocks.blocks_for(config.max_total_tokens))
    try:
        graphs.capture()
        runner.graphs = graphs
    except Exception as exc:  # noqa: BLE001 - graphs are an optimisation: serve eagerly instead
        log.warning("CUDA graph capture failed, decoding eagerly: %s: %s", type(exc).__name__, exc)
