"""Constrained generation in a plain transformers pipeline: a logits processor that enforces a grammar.

transformers has no grammar support of its own; its `generate()` takes `logits_processor=`, and this
one drives the same llguidance grammar states as the course server (grammar.py): before
each step it advances every row's state past the token chosen last, then sets the logits of the
tokens the grammar forbids to -inf.
inference_pipeline.md, "Generation parameters" (constrained output); the server side is
text_generation_inference/structured_output.md, "Structured output and tool calling".
"""

from __future__ import annotations

from typing import Any, cast

import torch
from transformers import LogitsProcessor, LogitsProcessorList

from .grammar import GrammarSpec, GrammarState, apply_grammar, compiler_for


def spec_for(schema: Any = None, *, regex: str | None = None) -> GrammarSpec:
    """A GrammarSpec from a JSON Schema dict, a Pydantic model class, or `regex=`."""
    if (schema is None) == (regex is None):
        raise ValueError("give exactly one of a schema or regex=")
    if regex is not None:
        return GrammarSpec("regex", regex)
    return GrammarSpec.json_schema(schema if isinstance(schema, dict) else schema.model_json_schema())


class GrammarLogitsProcessor(LogitsProcessor):
    """scores [B, V] -> scores with forbidden tokens at -inf, one grammar state per batch row.

    Make one per `generate()` call (the states remember the tokens seen); greedy and sampled
    decoding both work, beams do not (rows would need to follow beam reordering)."""

    def __init__(self, tokenizer: Any, spec: GrammarSpec) -> None:
        self.compiler, self.spec = compiler_for(tokenizer), spec
        self.compiler.compile(spec)                  # fail here, not mid-generation, on a bad grammar
        self.states: list[GrammarState] | None = None
        self.prompt_length = 0

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.states is None:                      # first step: input_ids [B, L] is the prompt
            self.states = [self.compiler.new_state(self.spec) for _ in range(input_ids.shape[0])]
            self.prompt_length = input_ids.shape[1]
        elif input_ids.shape[1] > self.prompt_length:
            for state, token in zip(self.states, input_ids[:, -1].tolist(), strict=True):
                state.accept(token)                  # the token chosen at the previous step
        out = cast(torch.FloatTensor, scores.clone())  # same dtype: still the FloatTensor the signature names
        apply_grammar(out, self.states)
        return out


def constrained_chat(generator: Any, prompt: str, schema: Any = None, *, regex: str | None = None,
                     max_new_tokens: int = 64, **generate_kwargs: Any) -> str:
    """The pipeline's reply to one user `prompt`, constrained to `schema` (or `regex=`): its text only."""
    processor = GrammarLogitsProcessor(generator.tokenizer, spec_for(schema, regex=regex))
    out = generator([{"role": "user", "content": prompt}], max_new_tokens=max_new_tokens,
                    logits_processor=LogitsProcessorList([processor]), return_full_text=False, **generate_kwargs)
    return out[0]["generated_text"]
