"""Choosing each next token: the batched sampler, its logits processors and the grammar mask.

Kept apart from engine/ (scheduling, the paged KV cache, the forward) as vLLM keeps `v1/sample`
apart from `v1/core` and TGI keeps `utils/tokens.py` apart from its batching: the engine hands this
package one [B, V] logits tensor per step and gets one token per row back. sampler.py (penalties,
grammar, warpers, then argmax or a seeded draw) -> warpers.py (the processors) -> ../../grammar.py
(llguidance masks, imported only when a request has a grammar; shared with lesson 1). params.py is the
shape of a row the sampler reads; config.py its constants.
text_generation_inference/differences_from_tgi.md, "Sampling".
"""

from __future__ import annotations

from typing import Any

from .params import SamplingParams, SamplingRow

__all__ = ["SampleResult", "SamplingParams", "SamplingRow", "prompt_logprobs", "sample_batch"]


def __getattr__(name: str) -> Any:  # lazy: the parameters' shape must not import torch
    if name in ("SampleResult", "prompt_logprobs", "sample_batch"):
        from . import sampler

        return getattr(sampler, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
