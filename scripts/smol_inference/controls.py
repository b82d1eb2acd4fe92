"""What the lesson-1 helpers add to `model.generate`: per-row seeded sampling, OpenAI's stop rule, cancel.

- `RowSampler` draws each row's next token with that row's own `torch.Generator`, after the usual
  warpers (transformers' `TemperatureLogitsWarper`, `TopKLogitsWarper`, `TopPLogitsWarper`), and
  hands `generate` a one-hot score so its greedy step takes that token. A seeded row's text so
  never depends on the other rows of its batch: `generate_static_batch(..., seed=42).texts[i]` equals
  `chat(prompts[i], seed=42).text`, as the course server promises per request (its sampler keeps
  one generator per sequence). With one global RNG (`torch.manual_seed` + `do_sample=True`) the
  rows would share one stream of random numbers and each row's draws would depend on its batch.
- `StopStrings` ends a row as soon as one of its stop strings appears anywhere in the new text,
  even inside a token (OpenAI's rule; stopping.py); `stages.decode` cuts it off.
- `Cancel` ends every row once an event is set (a web client went away).
Taught in inference_pipeline.md, "Generation parameters" and "Batching".
"""

from __future__ import annotations

import random
import threading
from typing import Any

import torch
from transformers import (LogitsProcessor, StoppingCriteria, TemperatureLogitsWarper, TopKLogitsWarper,
                          TopPLogitsWarper)

from .stopping import first_stop

#: Seeds drawn for rows that were given none (the range of a non-negative int64).
MAX_RANDOM_SEED = 2**63 - 1


class RowSampler(LogitsProcessor):
    """Sample rows independently: scores [B, V] -> one-hot scores (0 for the drawn token, -inf elsewhere)."""

    def __init__(self, rows: int, seed: int | None, temperature: float | None, top_k: int | None,
                 top_p: float | None, device: Any) -> None:
        if rows < 1:
            raise ValueError("rows must be >= 1")
        seeds = [seed if seed is not None else random.randint(0, MAX_RANDOM_SEED) for _ in range(rows)]
        self.generators = [torch.Generator(device=device).manual_seed(s) for s in seeds]
        self.warpers: list[Any] = []
        if temperature is not None and temperature != 1.0:
            self.warpers.append(TemperatureLogitsWarper(temperature))
        if top_k:
            self.warpers.append(TopKLogitsWarper(top_k))
        if top_p is not None and top_p < 1.0:
            self.warpers.append(TopPLogitsWarper(top_p))

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        for warp in self.warpers:
            scores = warp(input_ids, scores)
        probs = scores.float().softmax(dim=-1)                                   # [B, V]
        chosen = torch.stack([torch.multinomial(probs[row], 1, generator=gen)     # [B, 1]
                              for row, gen in enumerate(self.generators)])
        one_hot = torch.full_like(scores, float("-inf"))
        return one_hot.scatter_(1, chosen, 0.0)


class StopStrings(StoppingCriteria):
    """Rows whose new text (special tokens skipped) contains a stop string: [B] bool."""

    def __init__(self, tokenizer: Any, prompt_len: int, stops: tuple[str, ...]) -> None:
        self.tokenizer, self.prompt_len, self.stops = tokenizer, prompt_len, stops

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **_: Any) -> torch.Tensor:
        texts = self.tokenizer.batch_decode(input_ids[:, self.prompt_len:], skip_special_tokens=True)
        return torch.tensor([first_stop(t, self.stops) is not None for t in texts], device=input_ids.device)


class Cancel(StoppingCriteria):
    """Every row, once `event` is set: [B] bool."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **_: Any) -> torch.Tensor:
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)
