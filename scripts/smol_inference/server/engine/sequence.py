"""One request inside the engine: its validated parameters, its state, and how it reports back.

Mirrors what TGI's router hands to its model server per request (`Request` with
`NextTokenChooserParameters` and `StoppingCriteriaParameters`) and what comes back per step
(`Generation`: one token, top tokens, and on the last step the finish reason).
text_generation_inference/inside_the_server.md, "Inside the server".
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ... import stopping
from ...stopping import FINISH_EOS, FINISH_LENGTH, FINISH_STOP  # noqa: F401 - re-exported
from ..sampling.params import SamplingParams


@dataclass(frozen=True)
class StoppingParams:
    """When to stop (TGI's StoppingCriteriaParameters); `rule` picks TGI's or OpenAI's stop rule
    (smol_inference/stopping.py).

    The fields after `rule` are vLLM's and SGLang's extensions (vLLM `SamplingParams`): extra stop token
    ids, eos ignored, a minimum length, the stop text kept, special tokens' text kept."""

    max_new_tokens: int
    stop_sequences: tuple[str, ...] = ()
    rule: str = stopping.RULE_TGI
    stop_token_ids: tuple[int, ...] = ()
    ignore_eos: bool = False
    min_tokens: int = 0
    include_stop_str: bool = False
    skip_special_tokens: bool = True

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be >= 1")
        if self.rule not in stopping.RULES:
            raise ValueError(f"rule must be one of {stopping.RULES}, got {self.rule!r}")
        if not 0 <= self.min_tokens <= self.max_new_tokens:
            raise ValueError("min_tokens must be in [0, max_new_tokens]")


@dataclass(frozen=True)
class TokenInfo:
    """One generated or prompt token as the API reports it."""

    id: int
    text: str
    logprob: float | None
    special: bool = False


@dataclass(eq=False)
class Sequence:
    """A request's life in the engine. The model thread owns every field below `emit`. The sampler reads it
    as a `SamplingRow` (sampling/params.py)."""

    input_ids: list[int]                        # prompt token ids, already truncated/validated
    sampling: SamplingParams
    stopping: StoppingParams
    emit: Callable[[str, Any], None]            # thread-safe: ("token", (TokenInfo, top, done)) | ("error", str)
    top_n_tokens: int = 0
    prefill_details: bool = False
    queued_at: float = field(default_factory=time.perf_counter)
    cancelled: threading.Event = field(default_factory=threading.Event)
    # --- engine state ---
    generated: list[TokenInfo] = field(default_factory=list)
    prefill: list[TokenInfo] = field(default_factory=list)   # prompt tokens, when prefill_details
    text: str = ""                              # decoded generated text, special tokens skipped
    started_at: float | None = None            # when prefill began (end of queue time)
    finished_at: float | None = None
    finish_reason: str | None = None
    generator: Any = None                      # torch.Generator, seeded once from sampling.seed
    grammar: Any = None                        # smol_inference/grammar.py GrammarState, or None
    detokenizer: Any = None                    # IncrementalDetokenizer, created at admission
    deadline: float = float("inf")             # time.perf_counter() after which the request fails
    # --- paged KV cache (block_manager.py) ---
    token_ids: list[int] = field(default_factory=list)      # prompt + generated ids
    block_table: list[int] = field(default_factory=list)    # pool block of tokens [i*bs, (i+1)*bs)
    block_keys: list[int] = field(default_factory=list)     # prefix-cache keys of the full blocks
    num_computed: int = 0                      # tokens whose K/V are in the cache
    num_cached: int = 0                        # of those, tokens taken from the prefix cache
    prompt_logprobs: list[float | None] = field(default_factory=list)   # filled chunk by chunk (details)
    stop_floor: int = 0                        # len(text) before the token that reaches min_tokens

    def __post_init__(self) -> None:
        if not self.input_ids:
            raise ValueError("a sequence needs at least one input token")
        self.token_ids = list(self.input_ids)

    @property
    def input_length(self) -> int:
        return len(self.input_ids)

    @property
    def max_tokens(self) -> int:
        """Tokens this sequence may occupy at most (TGI's per-request token budget)."""
        return self.input_length + self.stopping.max_new_tokens

    @property
    def num_uncomputed(self) -> int:
        """Tokens still to run through the model (the prompt's rest while prefilling, 1 while decoding)."""
        return len(self.token_ids) - self.num_computed

    def visible(self, token: TokenInfo) -> str:
        """The text `token` adds to the output: a special token's only when `skip_special_tokens` is off."""
        return "" if token.special and self.stopping.skip_special_tokens else token.text

    def check_stop(self, token: TokenInfo, eos_ids: set[int]) -> str | None:
        """The finish reason after `token` (already in `generated` and `text`), or None (stopping rules:
        smol_inference/stopping.py).

        Under OpenAI's rule a stop string found in `text` cuts `text` before it, and the eos or stop token
        that ended the output leaves no text (vLLM), unless `include_stop_str` keeps either."""
        s = self.stopping
        ends = (set() if s.ignore_eos else eos_ids) | set(s.stop_token_ids)
        generated = len(self.generated)
        reason, self.text = stopping.decide(s.rule, self.text, s.stop_sequences, generated, s.max_new_tokens,
                                            token.id, ends, min_tokens=s.min_tokens, floor=self.stop_floor,
                                            keep_stop=s.include_stop_str)
        if generated < s.min_tokens:
            self.stop_floor = len(self.text)
        shown = self.visible(token)
        if reason == stopping.FINISH_EOS and s.rule == stopping.RULE_OPENAI and shown and not s.include_stop_str:
            self.text = self.text[:len(self.text) - len(shown)]
        return reason

    def cancel(self) -> None:
        """Ask the engine to drop this sequence at its next step (client went away)."""
        self.cancelled.set()


@dataclass
class Work:
    """One sequence's share of a step: tokens [start, start + length) of seq.token_ids."""

    seq: Sequence
    start: int
    length: int

    def __post_init__(self) -> None:
        if self.length < 1 or self.start + self.length > len(self.seq.token_ids):
            raise ValueError(f"bad work item: start {self.start}, length {self.length}")

    @property
    def samples(self) -> bool:
        """True when this step reaches the sequence's last token: its logits choose the next one."""
        return self.start + self.length == len(self.seq.token_ids)

    @property
    def is_decode(self) -> bool:
        """One generated token after the prompt (anything else is a prompt chunk or a recompute)."""
        return self.length == 1 and self.samples and self.start >= self.seq.input_length

    @property
    def wants_prompt_logits(self) -> bool:
        return self.seq.prefill_details and self.start < self.seq.input_length


def eos_token_ids(model: Any, tokenizer: Any) -> set[int]:
    """Every id that ends a generation: the generation config's eos ids and the tokenizer's."""
    ids: set[int] = set()
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for value in (configured, tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif value:
            ids.update(int(v) for v in value)
    return ids
