"""Constrained decoding: a per-request grammar state that masks the logits of the tokens it forbids.

Library choice. Three well-kept engines publish wheels on PyPI; we compared them for this server
(CPU x86_64, Python 3.11, checked with `pip download --only-binary=:all:`):
- llguidance (Rust, guidance-ai; used by vLLM, SGLang and llama.cpp): one abi3 wheel, no Python
  dependencies; JSON Schema (draft 2020-12 subset, `$ref`, `anyOf`, `enum`, formats), regex and Lark
  grammars; an Earley parser over a token trie computes a mask in tens of microseconds with no
  per-grammar precompilation, and `LLExecutor` fills the masks of a whole batch in parallel. An
  unsupported keyword is an error, not silently ignored.
- xgrammar (C++, MLC; vLLM's default): fast masks after a precompilation per grammar, but its wheel
  requires torch, transformers, triton and apache-tvm-ffi: a heavy install for a CPU course.
- outlines-core (Rust, dottxt; what TGI's router uses): JSON Schema is compiled to a regex and then to
  a token-level DFA index up front; building the index costs seconds for larger schemas, and
  recursive schemas cannot be expressed.
We use llguidance: the lightest install, the widest grammar coverage, and no compile stall per schema.

Shapes and contract (INTERFACES.md): `apply_grammar(scores [B, V], states)` sets the forbidden
logits of every row that has a state to -inf, in place; after sampling, `state.accept(token_id)`.
A terminated grammar (or one in an error state) allows only the end-of-sequence token. Compiled
grammars are cached per tokenizer by (type, value) in a bounded LRU; each request gets a copy of the
cached matcher, dropped with its request. Used by the course server's sampler (server/sampling/) and by
lesson 1's transformers logits processor (constrained.py), so it lives below both.
text_generation_inference/structured_output.md, "Structured output and tool calling".
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import llguidance
import llguidance.hf
import llguidance.numpy as llg_numpy
import numpy as np
import torch

if TYPE_CHECKING:
    from llguidance._lib import JsonCompileOptions  # a TypedDict of llguidance's stub only

KINDS = ("json_schema", "regex", "lark")
#: JSON layout the constrained model writes: no free whitespace (a small model would pad with it until
#: max_new_tokens), separators as Python's json.dumps. A schema's own "x-guidance" key overrides these.
JSON_LAYOUT: JsonCompileOptions = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}
#: Compiled grammars kept per tokenizer (LRU by type and value).
GRAMMAR_CACHE_SIZE = 64
#: One regex dialect for every grammar form: `\d` is [0-9] and `\w` [0-9A-Za-z_], as in ECMA-262, the
#: dialect JSON Schema's `pattern` names (draft 2020-12, 6.4). llguidance 1.9 reads schema patterns
#: so (guidance-ai/llguidance#158); for a `regex` grammar its `regex_to_lark` parses the pattern and
#: rewrites those classes ("dw"), so `\\d` stays a backslash and a `d`, and `[^\d]` a nested class.
REGEX_ASCII = "dw"


class GrammarError(ValueError):
    """The grammar cannot be compiled; the message is the library's reason."""


@dataclass(frozen=True)
class GrammarSpec:
    """What to constrain to: `kind` is json_schema | regex | lark, `value` its canonical text
    (a JSON Schema serialised as given: key order is the order the model writes properties in)."""

    kind: str
    value: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"grammar kind must be one of {KINDS}, got {self.kind!r}")

    @classmethod
    def json_schema(cls, schema: dict[str, Any]) -> "GrammarSpec":
        """The spec for a JSON Schema, its objects closed (see `closed`)."""
        return cls("json_schema", json.dumps(closed(schema)))

    def to_llguidance(self) -> str:
        """The llguidance grammar text (a JSON grammar description)."""
        if self.kind == "json_schema":
            return llguidance.LLMatcher.grammar_from_json_schema(self.value, defaults=JSON_LAYOUT)
        if self.kind == "regex":                        # the dialect of JSON Schema's `pattern` (REGEX_ASCII)
            pattern = llguidance.regex_to_lark(self.value, REGEX_ASCII)
            return llguidance.LLMatcher.grammar_from_lark(f"start: /{pattern}/")
        return llguidance.LLMatcher.grammar_from_lark(self.value)


def closed(schema: Any) -> Any:
    """Objects that list `properties` but say nothing of `additionalProperties` get `false`: the model
    writes only the listed keys. TGI's outlines-based grammar and OpenAI's strict mode behave so; JSON
    Schema's open default would let a small model invent keys until max_new_tokens. An object without
    `properties` (`json_object`) stays open."""
    if isinstance(schema, list):
        return [closed(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: closed(v) for k, v in schema.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


class GrammarState:
    """One request's position in its grammar. Created at validation, freed with the request."""

    def __init__(self, matcher: llguidance.LLMatcher, eos_id: int, vocab_size: int) -> None:
        self.matcher, self.eos_id, self.vocab_size = matcher, eos_id, vocab_size

    def accept(self, token_id: int) -> None:
        """Advance past the sampled token (eos after an accepting state ends the grammar)."""
        if not self.matcher.is_stopped():
            self.matcher.consume_token(token_id)

    def is_terminated(self) -> bool:
        """True once the grammar is complete (or broken): only eos may follow."""
        return self.matcher.is_stopped() or self.matcher.is_error()

    @property
    def error(self) -> str:
        return self.matcher.get_error()


class GrammarCompiler:
    """Compiles specs for one tokenizer and keeps the last GRAMMAR_CACHE_SIZE of them (LRU)."""

    def __init__(self, tokenizer: Any, cache_size: int = GRAMMAR_CACHE_SIZE) -> None:
        if cache_size < 1:
            raise ValueError("cache_size must be >= 1")
        self.ll_tokenizer = llguidance.hf.from_tokenizer(tokenizer)
        self.eos_id = int(self.ll_tokenizer.eos_token)
        self.vocab_size = int(self.ll_tokenizer.vocab_size)
        self.cache_size = cache_size
        self._cache: OrderedDict[GrammarSpec, llguidance.LLMatcher] = OrderedDict()
        self._lock = threading.Lock()        # validation runs on worker threads
        self.hits = self.misses = 0

    def compile(self, spec: GrammarSpec) -> llguidance.LLMatcher:
        """The cached template matcher for `spec`; raises GrammarError when it does not compile."""
        with self._lock:
            if spec in self._cache:
                self._cache.move_to_end(spec)
                self.hits += 1
                return self._cache[spec]
        try:
            grammar = spec.to_llguidance()
        except ValueError as exc:
            raise GrammarError(str(exc)) from None
        error = llguidance.LLMatcher.validate_grammar(grammar, self.ll_tokenizer)
        if error:
            raise GrammarError(error)
        matcher = llguidance.LLMatcher(self.ll_tokenizer, grammar, log_level=0)
        if matcher.is_error():
            raise GrammarError(matcher.get_error())
        with self._lock:
            self.misses += 1
            self._cache[spec] = matcher
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return matcher

    def new_state(self, spec: GrammarSpec) -> GrammarState:
        """A fresh state at the start of the grammar (a copy of the cached matcher)."""
        return GrammarState(self.compile(spec).deep_copy(), self.eos_id, self.vocab_size)


_compilers: dict[int, tuple[Any, GrammarCompiler]] = {}
_compilers_lock = threading.Lock()


def compiler_for(tokenizer: Any) -> GrammarCompiler:
    """One compiler per tokenizer object (building the token trie takes a moment for a large vocab)."""
    with _compilers_lock:
        entry = _compilers.get(id(tokenizer))
        if entry is None or entry[0] is not tokenizer:
            entry = (tokenizer, GrammarCompiler(tokenizer))
            _compilers[id(tokenizer)] = entry
        return entry[1]


_executor: llguidance.LLExecutor | None = None


def _shared_executor() -> llguidance.LLExecutor:
    global _executor
    if _executor is None:
        _executor = llguidance.LLExecutor()
    return _executor


def allowed_mask(states: Sequence[GrammarState | None], vocab: int) -> torch.Tensor:
    """Bool mask [B, vocab] of allowed tokens (all True for rows without a state).

    The matchers fill a packed bitmask [B, ceil(n/32)] int32 in parallel (llguidance's LLExecutor;
    n = the tokenizer's vocabulary); bit j of word w allows token 32*w + j. Logit columns beyond n
    (a model's padded vocabulary) are forbidden to constrained rows."""
    rows = [(state.matcher, i) for i, state in enumerate(states) if state is not None]
    n = next(state.vocab_size for state in states if state is not None)
    packed = np.full((len(states), (n + 31) // 32), -1, dtype=np.int32)      # [B, W]
    llg_numpy.fill_next_token_bitmask_par(_shared_executor(), rows, packed)
    for i, state in enumerate(states):
        if state is not None and state.matcher.is_error():                   # broken state: eos only
            packed[i] = 0
            packed[i, state.eos_id // 32] = np.int32(np.uint32(1 << (state.eos_id % 32)).view(np.int32))
    shifts = torch.arange(32, dtype=torch.int32)                              # [32]
    bits = (torch.from_numpy(packed)[:, :, None] >> shifts) & 1               # [B, W, 32]
    allowed = bits.reshape(len(states), -1)[:, :n].bool()                     # [B, n]
    if vocab > n:
        extra = torch.tensor([state is None for state in states])[:, None].expand(-1, vocab - n)
        allowed = torch.cat([allowed, extra], dim=1)                          # [B, V]
    return allowed[:, :vocab]


def apply_grammar(scores: torch.Tensor, states: Sequence[GrammarState | None]) -> None:
    """scores [B, V] (any float dtype), modified in place: a row with a state keeps only the tokens its
    grammar allows next (-inf elsewhere); a row whose grammar is terminated keeps only eos."""
    if scores.dim() != 2 or scores.shape[0] != len(states):
        raise ValueError(f"scores must be [B, V] with B == len(states); got {tuple(scores.shape)}")
    if not any(state is not None for state in states):
        return
    allowed = allowed_mask(states, scores.shape[1]).to(scores.device)        # [B, V]
    scores.masked_fill_(~allowed, float("-inf"))
