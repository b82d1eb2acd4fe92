"""Validate a generate request before any model work, with TGI's rules and messages.

Follows TGI's router validation (router/src/validation.rs, `Validation::validate`;
messages from router/src/infer/mod.rs and validation.rs `ValidationError`): the checks run in the
same order and fail with the same 422 `validation` messages. The result is a `ValidRequest` the
engine can run without looking back at the JSON. text_generation_inference/differences_from_tgi.md, "Validation".
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from .chat import structured_output
from .config import ServerConfig
from .engine import SamplingParams, StoppingParams
from ..stopping import RULE_TGI
from .errors import validation
from .api.tgi_schemas import MAX_SEED, GenerateParameters


@dataclass(frozen=True)
class ValidRequest:
    """A request that passed validation: token ids and engine parameters."""

    input_ids: list[int]
    sampling: SamplingParams
    stopping: StoppingParams
    best_of: int = 1
    details: bool = False
    decoder_input_details: bool = False
    top_n_tokens: int = 0
    return_full_text: bool = False
    seed_given: bool = False
    grammar: Any = None                         # structured_output.py GrammarSpec: constrained decoding
    request_id: str | None = None               # vLLM's `request_id` / SGLang's `rid`: the response id

    def __post_init__(self) -> None:
        if not self.input_ids or self.best_of < 1:
            raise ValueError("a valid request has input tokens and best_of >= 1")

    @property
    def input_length(self) -> int:
        return len(self.input_ids)


def _finite(value: float | None, name: str) -> None:
    if value is not None and not math.isfinite(value):
        raise validation(f"`{name}` must be a finite number")


def validate(inputs: str, params: GenerateParameters | None, config: ServerConfig, tokenizer: Any, *,
             stream: bool = False, add_special_tokens: bool = True, stop_rule: str = RULE_TGI) -> ValidRequest:
    """Raise ApiError(422) on the first broken rule; otherwise return the engine's view of the request.

    `stop_rule` is TGI's for TGI's routes and OpenAI's for the /v1 routes (smol_inference/stopping.py)."""
    max_input, max_total = config.max_input_tokens, config.max_total_tokens
    if max_input is None or max_total is None:
        raise ValueError("validate() needs a resolved ServerConfig (call config.resolve(...))")
    omitted = params is None
    p = params or GenerateParameters()
    best_of = check_parameters(p, config, stream)
    if not inputs:
        raise validation("`inputs` cannot be empty")
    if p.truncate is not None and not 0 < p.truncate <= max_input:
        raise validation(f"`truncate` must be strictly positive and less than {max_input}. "
                         f"Given: {p.truncate}")
    do_sample = omitted or p.do_sample or changes_distribution(p)
    if best_of > 1 and not do_sample:
        raise validation("you must use sampling when `best_of` is > 1")
    ids = list(tokenizer(inputs, add_special_tokens=add_special_tokens)["input_ids"])
    if p.truncate is not None:
        ids = ids[-p.truncate:]
    if not ids:
        raise validation("`inputs` cannot be empty")
    if len(ids) > max_input:
        raise validation(f"`inputs` must have less than {max_input} tokens. Given: {len(ids)}")
    max_new = p.max_new_tokens if p.max_new_tokens is not None else max_total - len(ids)
    if len(ids) + max_new > max_total:
        raise validation(f"`inputs` tokens + `max_new_tokens` must be <= {max_total}. "
                         f"Given: {len(ids)} `inputs` tokens and {max_new} `max_new_tokens`")
    seed = p.seed if p.seed is not None else random.randint(0, MAX_SEED)
    sampling = SamplingParams(
        do_sample=do_sample, temperature=p.temperature or 1.0, top_k=p.top_k or 0, top_p=p.top_p or 1.0,
        typical_p=p.typical_p or 1.0, repetition_penalty=p.repetition_penalty or 1.0,
        frequency_penalty=p.frequency_penalty or 0.0, seed=seed)
    grammar = structured_output.checked(structured_output.tgi_grammar(p.grammar), tokenizer)
    return ValidRequest(ids, sampling, StoppingParams(max_new, tuple(p.stop), stop_rule), best_of=best_of,
                        details=p.details, decoder_input_details=p.decoder_input_details,
                        top_n_tokens=p.top_n_tokens or 0,
                        return_full_text=bool(p.return_full_text), seed_given=p.seed is not None,
                        grammar=grammar)


def changes_distribution(p: GenerateParameters) -> bool:
    """TGI turns sampling on for a value that changes the distribution (utils/tokens.py,
    `NextTokenChooser`): temperature != 1, top_k != 0, top_p < 1, typical_p < 1. The ranges are
    checked before, so any top_k, top_p or typical_p given qualifies; `temperature: 1.0` alone does not."""
    return ((p.temperature is not None and p.temperature != 1.0)
            or any(v is not None for v in (p.top_k, p.top_p, p.typical_p)))


def check_parameters(p: GenerateParameters, config: ServerConfig, stream: bool = False) -> int:
    """The rules on the parameters alone (TGI's order); returns best_of. /tokenize and /chat_tokenize
    use them too, so every route holds its body to the ranges the OpenAPI schema publishes."""
    for name in ("temperature", "repetition_penalty", "frequency_penalty", "top_p", "typical_p"):
        _finite(getattr(p, name), name)
    best_of = p.best_of if p.best_of is not None else 1
    if best_of != 1:
        if best_of < 1 or best_of > config.max_best_of:
            raise validation(f"`best_of` must be > 0 and <= {config.max_best_of}. Given: {best_of}")
        if p.seed is not None:
            raise validation("`seed` must not be set when `best_of` > 1")
        if stream:
            raise validation("`best_of` != 1 is not supported when streaming tokens")
    if p.temperature is not None and p.temperature <= 0:
        raise validation("`temperature` must be strictly positive")
    if p.repetition_penalty is not None and p.repetition_penalty <= 0:
        raise validation("`repetition_penalty` must be strictly positive")
    if p.frequency_penalty is not None and not -2.0 <= p.frequency_penalty <= 2.0:
        raise validation("`frequency_penalty` must be >= -2.0 and <= 2.0")
    if p.top_p is not None and not 0.0 < p.top_p < 1.0:
        raise validation("`top_p` must be > 0.0 and < 1.0")
    if p.typical_p is not None and not 0.0 < p.typical_p < 1.0:
        raise validation("`typical_p` must be > 0.0 and < 1.0")
    if p.top_k is not None and p.top_k <= 0:
        raise validation("`top_k` must be strictly positive")
    if p.max_new_tokens is not None and p.max_new_tokens <= 0:
        raise validation("`max_new_tokens` must be strictly positive")
    if any(not stop for stop in p.stop):
        raise validation("`stop` sequences cannot be empty")
    if len(p.stop) > config.max_stop_sequences:
        raise validation(f"`stop` supports up to {config.max_stop_sequences} stop sequences. Given: {len(p.stop)}")
    top_n = p.top_n_tokens or 0
    if top_n < 0 or top_n > config.max_top_n_tokens:
        raise validation(f"`top_n_tokens` must be >= 0 and <= {config.max_top_n_tokens}. Given: {top_n}")
    if p.decoder_input_details and stream:
        raise validation("`decoder_input_details` == true is not supported when streaming tokens")
    structured_output.check_generate(p)
    if p.watermark:
        raise validation("`watermark` is not supported by this server")
    if p.adapter_id is not None:
        raise validation("`adapter_id` is not supported: this server serves one model")
    return best_of
