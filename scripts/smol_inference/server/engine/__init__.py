"""The course server's engine, split like nano-vllm's: one file per concern.

queue.py (waiting requests) -> scheduler.py (decode tokens + prompt chunks per step) -> block_manager.py
and block_pool.py (paged KV cache, prefix caching) -> model_runner.py + attention.py (one packed
forward, paged attention) -> ../sampling/ (next tokens) -> detokenizer.py (text) -> engine.py (the
model thread tying them together). sequence.py holds a request's parameters and state.
text_generation_inference/inside_the_server.md, "Inside the server".
"""

from .engine import Engine
from .sequence import SamplingParams, Sequence, StoppingParams, TokenInfo

__all__ = ["Engine", "SamplingParams", "Sequence", "StoppingParams", "TokenInfo"]
