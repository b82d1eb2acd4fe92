"""The engine's settings: exactly what the scheduler, the block manager, the model runner and the CUDA
graphs read, plus the engine's own constants, in one frozen, validated object.

The server's launcher flags (server/config.py, `ServerConfig`) are resolved first, as TGI's launcher
derives its limits (launcher/src/main.rs), and `ServerConfig.engine_config()` builds this object from
them; the engine never sees an HTTP setting. The same split as nano-vllm's `Config` and mini-sglang's
`EngineConfig` under its `ServerArgs`. text_generation_inference/inside_the_server.md, "Inside the server".
"""

from __future__ import annotations

from dataclasses import dataclass

#: Tokens per KV-cache block (vLLM's default block size).
DEFAULT_KV_BLOCK_SIZE = 16
#: Blocks the KV cache holds beyond the pool, owned by no request: the pad block (the pool's size as its
#: id) that block-table padding points at, never written, so a masked key is zero and never another
#: request's (0 x NaN would still be NaN); and the sink block after it, which padded CUDA-graph rows
#: write their keys and values to and nothing reads. model_runner.py names both ids.
RESERVED_BLOCKS = 2
#: Prompt chunks of one step are attended in padded groups; a group may pad its work (queries x keys)
#: up to this factor before the next chunk starts a new group (attention.py, group_chunks).
CHUNK_PADDING_WASTE = 1.5
#: How long the idle model thread sleeps before looking at the queue again (seconds).
IDLE_WAIT_S = 0.05
#: Prompt tokens the incremental detokeniser decodes before the first new token, so that a
#: SentencePiece leading space survives (TGI: prefix_offset = input length - 5).
DETOKENIZE_CONTEXT_TOKENS = 5
#: Course-server choice (TGI measures memory instead): room for this many full sequences.
BATCH_TOTAL_SEQUENCES = 16
#: CPU KV-cache budget when --max-batch-total-tokens is not given (bytes; capped at 16 full sequences).
CPU_KV_CACHE_BYTES = 768 * 1024 * 1024
#: Share of the GPU memory left after the warm-up prefill that the KV cache takes (TGI's default 0.9
#: is for whole GPUs; leave room for the allocator's fragmentation).
GPU_MEMORY_FRACTION = 0.85
#: Largest decode batch captured as a CUDA graph by default (batch sizes 1, 2, 4, ... up to this).
DEFAULT_GRAPH_BATCH = 256


@dataclass(frozen=True)
class EngineConfig:
    """The resolved limits and switches the engine runs with (TGI's flag names; see server/config.py)."""

    max_total_tokens: int                      # prompt + generated tokens of one request (CUDA-graph tables)
    max_batch_prefill_tokens: int              # prompt tokens per step
    max_batch_total_tokens: int                # tokens the KV-cache pool holds (whole blocks)
    waiting_served_ratio: float                # whole-prompt admission rule (chunking off)
    max_waiting_tokens: int                    # whole-prompt admission rule (chunking off)
    request_timeout_seconds: float             # a request's deadline after it was queued
    max_batch_size: int | None = None          # running sequences at most (None: no limit)
    kv_block_size: int = DEFAULT_KV_BLOCK_SIZE
    disable_chunked_prefill: bool = False
    disable_prefix_caching: bool = False
    disable_packed_weights: bool = False       # CPU: torch's default GEMM instead of packed weights
    cuda_graphs: tuple[int, ...] | None = None  # decode batch sizes captured; None: powers of two, (): none

    def __post_init__(self) -> None:
        for name in ("max_total_tokens", "max_batch_prefill_tokens", "max_batch_total_tokens", "max_batch_size",
                     "max_waiting_tokens", "kv_block_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if self.max_batch_total_tokens < self.max_total_tokens:
            raise ValueError(f"`max_batch_total_tokens` ({self.max_batch_total_tokens}) must be >= "
                             f"`max_total_tokens` ({self.max_total_tokens})")
        if self.max_batch_total_tokens < self.kv_block_size:
            raise ValueError(f"`max_batch_total_tokens` ({self.max_batch_total_tokens}) must hold one block of "
                             f"{self.kv_block_size} tokens")
        if not 0.0 <= self.waiting_served_ratio:
            raise ValueError(f"waiting_served_ratio must be >= 0, got {self.waiting_served_ratio}")
        if self.cuda_graphs is not None and any(size < 1 for size in self.cuda_graphs):
            raise ValueError(f"cuda_graphs must be batch sizes >= 1, got {self.cuda_graphs}")
        if not 0.0 < self.request_timeout_seconds < float("inf"):
            raise ValueError(f"request_timeout_seconds must be finite and > 0, got {self.request_timeout_seconds}")
