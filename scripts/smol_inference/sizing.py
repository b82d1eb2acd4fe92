"""Will it fit? Weights plus KV cache for a model, a batch and a context length, per dtype.

The arithmetic every serving engine does at start-up (TGI's warm-up turns free memory into
`--max-batch-total-tokens`; vLLM's `--gpu-memory-utilization` share minus the weights becomes its block
pool; docs.vllm.ai, "Engine Arguments"):

    weights = parameters x bytes per weight
    KV bytes per token = 2 (K and V) x layers x KV heads x head dimension x bytes per KV value
    KV for a batch = KV bytes per token x batch x context
    decode tokens/s of one stream <= memory bandwidth / bytes read per step (the weights)
    cost per million tokens = hourly price / (tokens per second x 3600) x 1,000,000

The model shapes are read from the models' config.json files (`num_hidden_layers`,
`num_key_value_heads`, `head_dim` or `hidden_size / num_attention_heads`): SmolLM2-135M (the course's
configs/smollm2-135m.json), Llama-3.1-8B and Llama-3.1-70B (meta-llama's config.json on the Hub).
Hourly prices carry their source and date (`PRICES`): replace them with your own quote.
Taught in text_generation_inference/memory_and_speed.md, "KV cache and memory sizing" and "Cost per million tokens".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import settings

#: Bytes per value of the dtypes the lesson compares (fp8 KV: vLLM `--kv-cache-dtype fp8`).
DTYPE_BYTES: dict[str, float] = {"float32": 4, "bfloat16": 2, "float16": 2, "fp8": 1, "int8": 1, "int4": 0.5}
GIB = 1024**3
#: Tokens per KV block: vLLM's default `--block-size` on CUDA, and TGI's flash-attention block size.
DEFAULT_BLOCK_TOKENS = 16


@dataclass(frozen=True)
class ModelShape:
    """What sizes the memory of a decoder-only transformer: parameters and attention geometry."""

    name: str
    parameters: int
    layers: int
    kv_heads: int
    head_dim: int
    max_context: int

    def __post_init__(self) -> None:
        for field_name in ("parameters", "layers", "kv_heads", "head_dim", "max_context"):
            value = getattr(self, field_name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{field_name} must be a positive integer, got {value!r}")

    @classmethod
    def from_config(cls, name: str, config: dict[str, Any]) -> ModelShape:
        """From a Llama-style transformers config dict; parameters counted by `llama_parameters`."""
        heads = config["num_attention_heads"]
        return cls(name, llama_parameters(config), config["num_hidden_layers"],
                   config.get("num_key_value_heads", heads), _head_dim(config), config["max_position_embeddings"])

    def weight_bytes(self, dtype: str = "bfloat16") -> float:
        return self.parameters * _bytes(dtype)

    def kv_bytes_per_token(self, kv_dtype: str = "bfloat16") -> float:
        """2 (keys and values) x layers x KV heads x head dimension x bytes per value."""
        return 2 * self.layers * self.kv_heads * self.head_dim * _bytes(kv_dtype)


def _head_dim(config: dict[str, Any]) -> int:
    return int(config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"])


def llama_parameters(config: dict[str, Any]) -> int:
    """Parameters of a Llama-architecture model from its config (no bias terms, RMSNorm weights only).

    Per layer: q and o projections (hidden x heads*head_dim each), k and v (hidden x kv_heads*head_dim
    each), a gated MLP (3 x hidden x intermediate), two norms; plus the embedding, the LM head unless
    tied, and the final norm.
    """
    hidden, layers = config["hidden_size"], config["num_hidden_layers"]
    q_width = config["num_attention_heads"] * _head_dim(config)
    kv_width = config.get("num_key_value_heads", config["num_attention_heads"]) * _head_dim(config)
    per_layer = 2 * hidden * q_width + 2 * hidden * kv_width + 3 * hidden * config["intermediate_size"] + 2 * hidden
    embeddings = config["vocab_size"] * hidden * (1 if config.get("tie_word_embeddings") else 2)
    return layers * per_layer + embeddings + hidden


def _bytes(dtype: str) -> float:
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"unknown dtype {dtype!r}; known: {sorted(DTYPE_BYTES)}")
    return DTYPE_BYTES[dtype]


@dataclass(frozen=True)
class Fit:
    """The answer for one model on one device: sizes in bytes, and how many full sequences fit."""

    shape: ModelShape
    weights: float
    kv_per_token: float
    kv_needed: float
    budget: float
    batch: int
    context: int

    @property
    def total(self) -> float:
        return self.weights + self.kv_needed

    @property
    def fits(self) -> bool:
        return self.total <= self.budget

    @property
    def pool_tokens(self) -> int:
        """Tokens the KV pool holds once the weights are loaded (TGI's `max_batch_total_tokens`)."""
        return max(0, int((self.budget - self.weights) // self.kv_per_token))

    @property
    def max_batch(self) -> int:
        """Full-length sequences (`context` tokens each) that fit the pool at once."""
        return self.pool_tokens // self.context


def will_it_fit(shape: ModelShape, device_bytes: float, *, batch: int, context: int,
                weight_dtype: str = "bfloat16", kv_dtype: str = "bfloat16", utilization: float = 0.9) -> Fit:
    """Weights + KV for `batch` sequences of `context` tokens against `utilization` x `device_bytes`.

    `utilization` is the share of device memory the engine may use (vLLM's `--gpu-memory-utilization`,
    default 0.9); activations and CUDA graphs take part of the rest. Raises ValueError on bad sizes.
    """
    if batch < 1 or context < 1 or not 0 < utilization <= 1 or device_bytes <= 0:
        raise ValueError(f"need batch >= 1, context >= 1, 0 < utilization <= 1, device_bytes > 0; got "
                         f"{batch}, {context}, {utilization}, {device_bytes}")
    per_token = shape.kv_bytes_per_token(kv_dtype)
    return Fit(shape, shape.weight_bytes(weight_dtype), per_token, per_token * batch * context,
               device_bytes * utilization, batch, context)


def blocks_for(tokens: int, block_tokens: int = DEFAULT_BLOCK_TOKENS) -> int:
    """Blocks a sequence of `tokens` occupies in a paged KV cache (the last block may be partly empty)."""
    if tokens < 0 or block_tokens < 1:
        raise ValueError(f"need tokens >= 0 and block_tokens >= 1, got {tokens}, {block_tokens}")
    return -(-tokens // block_tokens)


#: The keys of meta-llama/Llama-3.1-8B's and -70B's config.json that size them (grouped-query attention
#: with 8 KV heads of dimension 128, a 131,072-token context, untied embeddings).
_LLAMA_31 = {"vocab_size": 128_256, "num_key_value_heads": 8, "max_position_embeddings": 131_072,
             "tie_word_embeddings": False}
LLAMA_31_CONFIGS: dict[str, dict[str, Any]] = {
    "Llama-3.1-8B": {**_LLAMA_31, "hidden_size": 4096, "intermediate_size": 14_336, "num_hidden_layers": 32,
                     "num_attention_heads": 32},
    "Llama-3.1-70B": {**_LLAMA_31, "hidden_size": 8192, "intermediate_size": 28_672, "num_hidden_layers": 80,
                      "num_attention_heads": 64},
}


def example_shapes() -> list[ModelShape]:
    """The three models lesson 2 sizes: SmolLM2-135M, Llama-3.1-8B, Llama-3.1-70B."""
    smollm2 = json.loads(Path(settings.ARCHITECTURE_CONFIGS["smollm2-135m"]).read_text(encoding="utf-8"))
    return [ModelShape.from_config("SmolLM2-135M", smollm2),
            *(ModelShape.from_config(name, config) for name, config in LLAMA_31_CONFIGS.items())]


def format_fit(fit: Fit) -> str:
    """One line: weights, KV per token, KV needed, total, and the verdict."""
    verdict = "fits" if fit.fits else "does NOT fit"
    return (f"{fit.shape.name:14s} weights {fit.weights / GIB:7.2f} GiB | KV/token {fit.kv_per_token / 1024:6.1f} KiB"
            f" | KV {fit.batch}x{fit.context} {fit.kv_needed / GIB:7.2f} GiB | total {fit.total / GIB:7.2f} GiB"
            f" of {fit.budget / GIB:6.1f} -> {verdict}; pool {fit.pool_tokens:,} tokens = {fit.max_batch} sequences")


SECONDS_PER_HOUR = 3600
TOKENS_PER_MILLION = 1_000_000


def decode_bound_tokens_per_s(bytes_per_step: float, bandwidth_bytes_per_s: float) -> float:
    """The most tokens/s one stream can decode when every step reads `bytes_per_step` (the weights) once.

    A decode step of batch 1 multiplies one row by every weight, so it is bound by reading them from memory
    (memory_and_speed.md, "Decode is bandwidth-bound"); a batch of B shares the read, up to B times this.
    """
    if bytes_per_step <= 0 or bandwidth_bytes_per_s <= 0:
        raise ValueError(f"need positive bytes and bandwidth, got {bytes_per_step}, {bandwidth_bytes_per_s}")
    return bandwidth_bytes_per_s / bytes_per_step


def cost_per_million_tokens(tokens_per_s: float, usd_per_hour: float) -> float:
    """US dollars per million generated tokens for a server that sustains `tokens_per_s` at `usd_per_hour`."""
    if tokens_per_s <= 0 or usd_per_hour <= 0:
        raise ValueError(f"need positive tokens/s and price, got {tokens_per_s}, {usd_per_hour}")
    return usd_per_hour / (tokens_per_s * SECONDS_PER_HOUR) * TOKENS_PER_MILLION


@dataclass(frozen=True)
class HourlyPrice:
    """An on-demand price with where and when it was read: prices move, so a figure without a date misleads."""

    machine: str
    usd_per_hour: float
    source: str
    as_of: str  # year-month the source states

    def __post_init__(self) -> None:
        if not self.usd_per_hour > 0 or not self.source or not self.as_of:
            raise ValueError(f"a price needs a positive value, a source and a date: {self!r}")


_EC2_2026 = ("factualminds.com, \"Amazon EC2 On-Demand Pricing: Instance Families, Regional Multipliers, and the "
             "Graviton Crossover (2026)\", us-east-1 Linux")
#: Dated public prices the lesson computes with (on demand, per machine-hour).
PRICES: dict[str, HourlyPrice] = {
    "cpu-2vcpu": HourlyPrice("AWS m7g.large, 2 vCPU, 8 GiB", 0.0816, _EC2_2026, "2026-06"),
    "a10g": HourlyPrice("AWS g5.xlarge, 1 x NVIDIA A10G 24 GB", 1.006, _EC2_2026, "2026-06"),
    "h100": HourlyPrice("1 x NVIDIA H100 SXM 80 GB, specialty cloud, low end of the range", 2.50,
                        "Mercatus, \"Cloud GPU pricing\" guide, https://www.mercatus-ai.com/blog/cloud-gpu-pricing",
                        "2026-05"),
}
