"""What the sampler needs of one row: its parameters and the little per-request state it reads or keeps.

`SamplingParams` are TGI's `NextTokenChooserParameters` (router/src/validation.rs); `SamplingRow` is the
shape the sampler reads a batch row through. The engine's `Sequence` (engine/sequence.py) satisfies
it, so the sampler depends on this shape only, never on the engine (as vLLM's sampler reads
`SamplingMetadata`, not its scheduler's requests). text_generation_inference.md, "Sampling".
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence
from typing import Any, Protocol


@dataclass(frozen=True)
class SamplingParams:
    """How to choose the next token (TGI's NextTokenChooserParameters)."""

    do_sample: bool = False
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    typical_p: float = 1.0
    repetition_penalty: float = 1.0
    frequency_penalty: float = 0.0
    seed: int = 0
    min_p: float = 0.0                          # vLLM/SGLang: drop tokens below min_p x the best probability
    min_tokens: int = 0                         # vLLM/SGLang: `min_tokens_ids` are masked until this many tokens
    min_tokens_ids: tuple[int, ...] = ()        # the eos and stop token ids that could end the output early

    def __post_init__(self) -> None:
        if self.temperature <= 0 or self.repetition_penalty <= 0 or self.top_k < 0:
            raise ValueError("temperature and repetition_penalty must be > 0, top_k >= 0")
        if not (0 < self.top_p <= 1 and 0 < self.typical_p <= 1):
            raise ValueError("top_p and typical_p must be in (0, 1]")
        if not 0 <= self.min_p <= 1 or self.min_tokens < 0:
            raise ValueError("min_p must be in [0, 1] and min_tokens >= 0")


class GeneratedToken(Protocol):
    """A token already generated: the frequency penalty counts its id."""

    @property
    def id(self) -> int: ...


class SamplingRow(Protocol):
    """One row of a batch as the sampler reads it; `generator` and `grammar` are the sampler's state."""

    generator: Any                         # torch.Generator, created and seeded by the sampler on first draw
    grammar: Any                           # smol_inference/grammar.py GrammarState, or None

    @property
    def sampling(self) -> SamplingParams: ...

    @property
    def top_n_tokens(self) -> int: ...     # alternatives reported per token

    @property
    def token_ids(self) -> Sequence[int]: ...     # prompt + generated ids (repetition penalty)

    @property
    def generated(self) -> Sequence[GeneratedToken]: ...     # generated tokens (frequency penalty)
