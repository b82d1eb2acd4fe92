"""Choosing each next token: the batched sampler, its logits processors and the grammar mask.

Kept apart from engine/ (scheduling, the paged KV cache, the forward) as vLLM keeps `v1/sample`
apart from `v1/core` and TGI keeps `utils/tokens.py` apart from its batching: the engine hands this
package one [B, V] logits tensor per step and gets one token per row back. sampler.py (penalties,
grammar, warpers, then argmax or a seeded draw) -> warpers.py (the processors) -> grammar.py
(llguidance masks, imported only when a request has a grammar). text_generation_inference/differences_from_tgi.md,
"Sampling".
"""

from .sampler import SampleResult, prompt_logprobs, sample_batch

__all__ = ["SampleResult", "prompt_logprobs", "sample_batch"]
