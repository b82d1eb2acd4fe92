"""The course server's engine, split like nano-vllm's: one file per concern.

queue.py (waiting requests) -> scheduler.py (decode tokens + prompt chunks per step) -> block_manager.py
and block_pool.py (paged KV cache, prefix caching) -> model_runner.py + attention.py (one packed
forward, paged attention) -> ../sampling/ (next tokens) -> detokenizer.py (text) -> engine.py (the
model thread tying them together). sequence.py holds a request's parameters and state; seams.py the
four parts a learner or an experiment may replace (allocator, prefix keys, step planner, victim).
text_generation_inference/inside_the_server.md, "Inside the server".
"""

from __future__ import annotations

from typing import Any

from .config import EngineConfig
from .seams import EngineSeams
from .sequence import SamplingParams, Sequence, StoppingParams, TokenInfo

__all__ = ["Engine", "EngineConfig", "EngineSeams", "SamplingParams", "Sequence", "StoppingParams", "TokenInfo"]


def __getattr__(name: str) -> Any:  # lazy: the settings and a request's shape must not import torch
    if name == "Engine":
        from .engine import Engine

        return Engine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
