"""Launcher flags of the course server, with TGI's names, meanings and derived defaults.

Follows TGI's launcher (launcher/src/main.rs; TGI docs, "Reference > Text-generation-launcher
arguments"): `max_total_tokens` defaults to the model's context (capped like TGI's default),
`max_input_tokens` to one less, `max_batch_prefill_tokens` to `max_input_tokens + 50` (or
`max_batch_size * max_input_tokens`), and the same consistency checks the launcher makes.
TGI infers `max_batch_total_tokens` from free GPU memory at warm-up; the course server has no
warm-up, so it reserves room for `BATCH_TOTAL_SEQUENCES` full-length sequences instead.
text_generation_inference/tune_and_measure.md, "Launcher flags".
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields

from .. import settings
from .engine.config import BATCH_TOTAL_SEQUENCES, DEFAULT_KV_BLOCK_SIZE, EngineConfig

#: TGI's defaults (launcher/src/main.rs).
DEFAULT_MAX_CONCURRENT_REQUESTS = 128
DEFAULT_MAX_BEST_OF = 2
DEFAULT_MAX_STOP_SEQUENCES = 4
DEFAULT_MAX_TOP_N_TOKENS = 5
DEFAULT_WAITING_SERVED_RATIO = 0.3
DEFAULT_MAX_WAITING_TOKENS = 20
DEFAULT_MAX_CLIENT_BATCH_SIZE = 4
DEFAULT_PAYLOAD_LIMIT = 2_000_000
DEFAULT_VALIDATION_WORKERS = 2
#: TGI caps the default context at this many tokens to save memory when the model allows more.
DEFAULT_CONTEXT_CAP = 4096
#: Used when the model config names no context length.
FALLBACK_CONTEXT = 2048
#: TGI adds this margin to max_input_tokens for the default prefill budget.
PREFILL_MARGIN_TOKENS = 50
#: How often a waiting blocking request checks whether its client went away (seconds).
DISCONNECT_POLL_S = 0.05
#: SSE keep-alive comment interval, as TGI (seconds).
KEEP_ALIVE_S = 15.0
#: After SIGTERM, how long requests already admitted may run before they are failed (seconds). Below
#: Docker's default 10 s stop timeout, so `docker stop` sees a clean exit rather than a SIGKILL.
DEFAULT_SHUTDOWN_GRACE_S = 8.0
#: How often the drain watcher looks at the requests still in flight (seconds).
DRAIN_POLL_S = 0.05
#: Seconds the engine thread gets to finish its step when it is stopped.
ENGINE_STOP_S = 10.0
#: After the grace period, how long uvicorn waits for the last responses to be written (whole seconds:
#: uvicorn's `timeout_graceful_shutdown` is an int).
SHUTDOWN_CLOSE_S = 5
#: TGI's default `tool_prompt` (router/src/lib.rs, `default_tool_prompt`), appended after the tools.
DEFAULT_TOOL_PROMPT = ("\nGiven the functions available, please respond with a JSON for a function call with its "
                       "proper arguments that best answers the given prompt. Respond in the format {name: function "
                       "name, parameters: dictionary of argument name and its value}.Do not use variables.\n")
DTYPES = ("float32", "float16", "bfloat16")
#: A request still unanswered this long after it was queued fails with 424 and frees its permit (s).
DEFAULT_REQUEST_TIMEOUT_S = 600.0
#: How long past a request's deadline the HTTP side waits for the engine to fail it before failing it itself (s).
DEADLINE_GRACE_S = 5.0


def env_disables(name: str) -> bool:
    """TGI's switches: PREFILL_CHUNKING=0 / PREFIX_CACHING=0 turn the feature off."""
    return os.environ.get(name, "").strip().lower() in ("0", "false", "no", "off")


@dataclass
class ServerConfig:
    """Every flag of `smol-inference serve`; None means "derive it like TGI" (see `resolve`)."""

    model_id: str = settings.TINY_MODEL
    hostname: str = settings.DEFAULT_HOST
    port: int = settings.DEFAULT_SERVER_PORT
    max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS
    max_best_of: int = DEFAULT_MAX_BEST_OF
    max_stop_sequences: int = DEFAULT_MAX_STOP_SEQUENCES
    max_top_n_tokens: int = DEFAULT_MAX_TOP_N_TOKENS
    max_input_tokens: int | None = None
    max_total_tokens: int | None = None
    max_batch_prefill_tokens: int | None = None
    max_batch_total_tokens: int | None = None
    max_batch_size: int | None = None
    waiting_served_ratio: float = DEFAULT_WAITING_SERVED_RATIO
    max_waiting_tokens: int = DEFAULT_MAX_WAITING_TOKENS
    max_client_batch_size: int = DEFAULT_MAX_CLIENT_BATCH_SIZE
    payload_limit: int = DEFAULT_PAYLOAD_LIMIT
    dtype: str | None = None
    api_key: str | None = field(default=None, repr=False)
    trust_remote_code: bool = False
    cors_allow_origin: list[str] = field(default_factory=list)
    device: str | None = None
    #: torch intra-op threads for the model (None: torch's default). 1 is fastest for tiny models on busy CPUs.
    torch_threads: int | None = None
    #: After SIGTERM: seconds that admitted requests may still run while new ones get 503.
    shutdown_grace_seconds: float = DEFAULT_SHUTDOWN_GRACE_S
    #: Whole-prompt prefill with TGI's older admission rule instead of chunks (TGI: PREFILL_CHUNKING=0).
    disable_chunked_prefill: bool = field(default_factory=lambda: env_disables("PREFILL_CHUNKING"))
    #: No reuse of cached prompt blocks (vLLM: --no-enable-prefix-caching; TGI: PREFIX_CACHING=0).
    disable_prefix_caching: bool = field(default_factory=lambda: env_disables("PREFIX_CACHING"))
    kv_block_size: int = DEFAULT_KV_BLOCK_SIZE
    #: CPU: torch's default GEMM instead of oneDNN with the weights packed once at start (engine/packed_linear.py).
    disable_packed_weights: bool = False
    #: Decode batch sizes replayed as CUDA graphs (TGI's --cuda-graphs); None: powers of two, (): none.
    cuda_graphs: tuple[int, ...] | None = None
    request_timeout_seconds: float = DEFAULT_REQUEST_TIMEOUT_S

    def __post_init__(self) -> None:
        if not self.model_id:
            raise ValueError("model_id must not be empty")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be in [0, 65535], got {self.port}")
        for name in ("max_concurrent_requests", "max_best_of", "max_input_tokens", "max_total_tokens",
                     "max_batch_prefill_tokens", "max_batch_total_tokens", "max_batch_size",
                     "max_waiting_tokens", "max_client_batch_size", "payload_limit", "torch_threads",
                     "kv_block_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        for name in ("max_stop_sequences", "max_top_n_tokens"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.waiting_served_ratio:
            raise ValueError(f"waiting_served_ratio must be >= 0, got {self.waiting_served_ratio}")
        if not 0.0 <= self.shutdown_grace_seconds < float("inf"):
            raise ValueError(f"shutdown_grace_seconds must be finite and >= 0, got {self.shutdown_grace_seconds}")
        if self.cuda_graphs is not None and any(size < 1 for size in self.cuda_graphs):
            raise ValueError(f"cuda_graphs must be batch sizes >= 1, got {self.cuda_graphs}")
        if not 0.0 < self.request_timeout_seconds < float("inf"):
            raise ValueError(f"request_timeout_seconds must be finite and > 0, got {self.request_timeout_seconds}")
        if self.dtype is not None and self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        if self.api_key is not None and not self.api_key:
            raise ValueError("api_key must not be empty when given")
        self._check_consistency()

    def _check_consistency(self) -> None:
        """The launcher's cross-flag checks, for the values that are known."""
        inp, total = self.max_input_tokens, self.max_total_tokens
        prefill, batch_total = self.max_batch_prefill_tokens, self.max_batch_total_tokens
        if inp is not None and total is not None and inp >= total:
            raise ValueError(f"`max_input_tokens` ({inp}) must be < `max_total_tokens` ({total})")
        if prefill is not None and inp is not None and prefill < inp and self.disable_chunked_prefill:
            raise ValueError(f"`max_batch_prefill_tokens` ({prefill}) must be >= `max_input_tokens` ({inp})")
        if batch_total is not None and total is not None and batch_total < total:
            raise ValueError(f"`max_batch_total_tokens` ({batch_total}) must be >= `max_total_tokens` ({total})")
        if batch_total is not None and prefill is not None and prefill > batch_total:
            raise ValueError(f"`max_batch_prefill_tokens` ({prefill}) must be <= `max_batch_total_tokens` "
                             f"({batch_total})")

    def resolve(self, model_context: int | None, kv_capacity: int | None = None) -> "ServerConfig":
        """A copy with every None limit derived from the model's context length, as TGI does.

        `kv_capacity`: tokens the memory allows in the KV cache (kv_cache.py), the default for
        max_batch_total_tokens; that value is rounded down to whole KV blocks, since it is exactly
        what the block pool holds. Raises ValueError if max_total_tokens exceeds the model's context."""
        context = min(model_context or FALLBACK_CONTEXT, DEFAULT_CONTEXT_CAP)
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        total = values["max_total_tokens"]
        if model_context and total is not None and total > model_context:
            raise ValueError(f"`max_total_tokens` ({total}) must be <= the model's context ({model_context} tokens)")
        inp = values["max_input_tokens"]
        if total is None:
            total = max(context, inp + 1) if inp is not None else context
        if inp is None:
            inp = total - 1
        if values["max_batch_prefill_tokens"] is None:
            size = values["max_batch_size"]
            values["max_batch_prefill_tokens"] = size * inp if size else inp + PREFILL_MARGIN_TOKENS
        bs = values["kv_block_size"]
        if values["max_batch_total_tokens"] is None:
            budget = kv_capacity if kv_capacity is not None else BATCH_TOTAL_SEQUENCES * total
            if budget < total:
                raise ValueError(f"the KV cache fits {budget} tokens, fewer than one request of `max_total_tokens` "
                                 f"({total}); lower --max-total-tokens or free memory")
            values["max_batch_total_tokens"] = budget
        # Exactly what the block pool holds: whole blocks, and at least one full-length request.
        values["max_batch_total_tokens"] = max(values["max_batch_total_tokens"] // bs * bs, -(-total // bs) * bs)
        values.update(max_total_tokens=total, max_input_tokens=inp)
        return ServerConfig(**values)

    def engine_config(self) -> EngineConfig:
        """The engine's share of the resolved flags (engine/config.py). Raises ValueError before `resolve`."""
        total, prefill, batch_total = self.max_total_tokens, self.max_batch_prefill_tokens, self.max_batch_total_tokens
        if not self.resolved or total is None or prefill is None or batch_total is None:
            raise ValueError("the engine needs a resolved ServerConfig (call config.resolve(...))")
        return EngineConfig(
            max_total_tokens=total, max_batch_prefill_tokens=prefill,
            max_batch_total_tokens=batch_total, waiting_served_ratio=self.waiting_served_ratio,
            max_waiting_tokens=self.max_waiting_tokens, request_timeout_seconds=self.request_timeout_seconds,
            max_batch_size=self.max_batch_size, kv_block_size=self.kv_block_size,
            disable_chunked_prefill=self.disable_chunked_prefill, disable_prefix_caching=self.disable_prefix_caching,
            disable_packed_weights=self.disable_packed_weights, cuda_graphs=self.cuda_graphs)

    @property
    def resolved(self) -> bool:
        return None not in (self.max_input_tokens, self.max_total_tokens, self.max_batch_prefill_tokens,
                            self.max_batch_total_tokens)
