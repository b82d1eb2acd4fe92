"""The course server's engine, split like nano-vllm's: one file per concern.

queue.py (waiting requests) -> scheduler.py (who joins the batch, TGI's rules) -> cache.py (KV cache,
padding, positions) -> sampler.py (next-token choice) -> runner.py (the model thread tying them together).
sequence.py holds a request's parameters and state. text_generation_inference.md, "Inside the server".
"""

from .runner import Engine
from .sequence import SamplingParams, Sequence, StoppingParams, TokenInfo

__all__ = ["Engine", "SamplingParams", "Sequence", "StoppingParams", "TokenInfo"]
