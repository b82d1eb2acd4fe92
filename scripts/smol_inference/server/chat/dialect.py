"""What the course server does with each vLLM and SGLang extension field (api/openai_extensions.py).

Three outcomes, never a fourth: honoured (top_k, min_p, min_tokens, stop_token_ids, ignore_eos,
include_stop_str_in_output / no_stop_trim, skip_special_tokens, truncate_prompt_tokens,
add_special_tokens, guided_json / guided_regex / guided_choice / regex / json_schema, request_id / rid,
and on chat continue_final_message, add_generation_prompt, chat_template_kwargs, documents); a no-op
because it changes nothing for the served model (separate_reasoning, stream_reasoning and
include_reasoning without a reasoning parser, as in SGLang and vLLM); or, at any value that would
change something the server cannot do, a 422 naming the field. The neutral values (absent, null, false,
0, empty; length_penalty 1.0) pass, which is what the SGLang gateway and vLLM's router add to every
request. Meanings follow vLLM's `SamplingParams` and protocol.py and SGLang's protocol.py.
text_generation_inference/serve_and_query.md, "Extension fields and the Responses API".
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from ...stopping import FINISH_EOS, StopStreamer
from ..errors import ApiError, validation
from ...grammar import GrammarSpec
from ..validation import ValidRequest
from . import structured_output

UNSUPPORTED = "is not supported by this server"
NO_PD = "is not supported: prefill and decode are not disaggregated here"
TEXT_ONLY = "is not supported: the served model reads text only"
NO_GRAMMAR = "is not supported: grammars here are JSON Schema or regex (guided_json, guided_regex, response_format)"
#: Field -> why a non-neutral value is refused.
REFUSED = {
    "use_beam_search": "is not supported: one sampled or greedy sequence per request (no beam search)",
    "length_penalty": "only applies to beam search, which is not served (1.0 is accepted)",
    "prompt_logprobs": "is not supported: prompt log-probabilities come from /generate `decoder_input_details`",
    "allowed_token_ids": UNSUPPORTED, "bad_words": UNSUPPORTED, "logits_processors": UNSUPPORTED,
    "guided_grammar": NO_GRAMMAR, "ebnf": NO_GRAMMAR, "structural_tag": NO_GRAMMAR,
    "guided_decoding_backend": "is not selectable: grammars are compiled by llguidance",
    "guided_whitespace_pattern": "is not supported: JSON is written without free whitespace",
    "stop_regex": "is not supported: stop strings are plain text (`stop`)",
    "priority": "must be 0: requests are scheduled first come, first served",
    "cache_salt": "is not supported: the prefix cache has no per-request salt",
    "kv_transfer_params": NO_PD, "bootstrap_host": NO_PD, "bootstrap_port": NO_PD, "bootstrap_room": NO_PD,
    "disagg_prefill_dp_rank": NO_PD,
    "routed_dp_rank": "must be 0: one data-parallel rank is served", "data_parallel_rank": "must be 0: one rank",
    "vllm_xargs": UNSUPPORTED, "custom_params": UNSUPPORTED, "custom_logit_processor": UNSUPPORTED,
    "mm_processor_kwargs": TEXT_ONLY, "images_config": TEXT_ONLY, "max_dynamic_patch": TEXT_ONLY,
    "min_dynamic_patch": TEXT_ONLY, "use_audio_in_video": TEXT_ONLY, "prompt_embeds": TEXT_ONLY,
    "return_tokens_as_token_ids": UNSUPPORTED,
    "return_hidden_states": "is not supported: hidden states are not returned (false is accepted)",
    "return_routed_experts": "is not supported: the served model is not a mixture of experts",
    "routed_experts_start_len": "is not supported: the served model is not a mixture of experts",
    "return_cached_tokens_details": UNSUPPORTED, "return_token_ids": UNSUPPORTED,
    "return_prompt_token_ids": UNSUPPORTED, "return_meta_info": UNSUPPORTED,
    "lora_path": "is not supported: one model is served, without adapters",
    "session_id": "is not supported: no sessions", "session_params": "is not supported: no sessions",
    "extra_key": UNSUPPORTED, "ngram_corpus_id": UNSUPPORTED, "custom_labels": UNSUPPORTED,
    "reasoning_effort": "is not supported: the served model does not reason (no reasoning parser)",
    "chat_template": "is not supported: the served model's own chat template is used",
    "echo": "is not supported on /v1/chat/completions",
    "input_ids": "is not supported: send `messages`",
    "task": "is not supported by the served model's chat template",
}
#: The characters Rust's `regex::escape` escapes.
REGEX_META = frozenset("\\.+*?()|[]{}^$#&-~")
GUIDED = ("guided_json", "guided_regex", "guided_choice", "regex", "json_schema")


def refuse(name: str, why: str) -> ApiError:
    return validation(f"`{name}` {why}")


def neutral(name: str, value: Any) -> bool:
    """True for the values of a refused field that change nothing: absent, null, false, 0, empty."""
    if name == "length_penalty" and type(value) in (int, float) and value == 1:
        return True
    return value is None or value is False or (type(value) in (int, float) and value == 0) or value in ("", [], {})


def check(body: Any) -> None:
    """422 for the first extension field the server cannot honour at the value given (module docstring)."""
    for name, why in REFUSED.items():
        if name in type(body).model_fields and not neutral(name, getattr(body, name)):
            raise refuse(name, f"{why}. Given: {getattr(body, name)!r}")
    if body.top_k is not None and body.top_k < -1:                 # the upper bound is the body's (i32, as TGI)
        raise refuse("top_k", f"must be -1 or 0 (no limit) or positive. Given: {body.top_k}")
    if body.min_p is not None and not (math.isfinite(body.min_p) and 0.0 <= body.min_p <= 1.0):
        raise refuse("min_p", f"must be >= 0.0 and <= 1.0. Given: {body.min_p}")
    if body.min_tokens is not None and body.min_tokens < 0:
        raise refuse("min_tokens", f"must be >= 0. Given: {body.min_tokens}")
    if None not in (body.include_stop_str_in_output, body.no_stop_trim) and \
            body.include_stop_str_in_output != body.no_stop_trim:
        raise refuse("no_stop_trim", "and `include_stop_str_in_output` are the same setting: they must agree")
    if body.spaces_between_special_tokens and body.skip_special_tokens is False:
        raise refuse("spaces_between_special_tokens", "true is not supported: kept special tokens are joined "
                     "without spaces (send false)")
    if body.truncate_prompt_tokens is not None and body.truncate_prompt_tokens < 1:
        raise refuse("truncate_prompt_tokens", f"must be >= 1. Given: {body.truncate_prompt_tokens}")
    given = [name for name in GUIDED if getattr(body, name, None) is not None]
    if len(given) > 1:
        raise refuse(given[1], f"cannot be combined with `{given[0]}`: one output constraint per request")
    if given and (body.response_format is not None or getattr(body, "tools", None) is not None):
        raise refuse(given[0], "cannot be combined with `response_format` or `tools`")
    if body.guided_choice is not None and not body.guided_choice:
        raise refuse("guided_choice", "must list at least one string")
    options = body.stream_options
    if options is not None and options.continuous_usage_stats:
        raise refuse("stream_options.continuous_usage_stats", "is not supported: usage comes in the last chunk "
                     "(`include_usage`)")


def guided_grammar(body: Any, tokenizer: Any) -> GrammarSpec | None:
    """The grammar of guided_json / guided_regex / guided_choice / regex / json_schema, compiled (or None)."""
    spec = None
    if body.guided_json is not None:
        spec = GrammarSpec.json_schema(structured_output.checked_schema(body.guided_json, need_properties=False))
    elif getattr(body, "json_schema", None) is not None:
        spec = GrammarSpec.json_schema(structured_output.checked_schema(body.json_schema, need_properties=False))
    elif body.guided_regex is not None or body.regex is not None:
        spec = GrammarSpec("regex", body.guided_regex if body.guided_regex is not None else body.regex)
    elif body.guided_choice is not None:
        spec = GrammarSpec("regex", "|".join(_regex_literal(choice) for choice in body.guided_choice))
    return structured_output.checked(spec, tokenizer)


def _regex_literal(text: str) -> str:
    """`text` as a regex that matches exactly it (the meta characters of Rust's regex crate, which llguidance
    follows, escaped as `regex::escape` does)."""
    return "(" + "".join("\\" + c if c in REGEX_META else c for c in text) + ")"


def parameter_updates(body: Any) -> dict[str, Any]:
    """TGI generate parameters the extensions set: top_k (-1 and 0 mean none), truncate."""
    updates: dict[str, Any] = {}
    if body.top_k is not None and body.top_k > 0:
        updates["top_k"] = body.top_k
    if body.truncate_prompt_tokens is not None:
        updates["truncate"] = body.truncate_prompt_tokens
    return updates


def add_special_tokens(body: Any, default: bool) -> bool:
    return default if body.add_special_tokens is None else body.add_special_tokens


def finish(valid: ValidRequest, body: Any, tokenizer: Any, eos_ids: set[int]) -> ValidRequest:
    """The validated request with the engine-side extensions set (sampling, stopping, guided grammar, id)."""
    stopping = valid.stopping
    min_tokens = body.min_tokens or 0
    if min_tokens > stopping.max_new_tokens:
        raise refuse("min_tokens", f"must be <= the maximum number of new tokens ({stopping.max_new_tokens}). "
                     f"Given: {min_tokens}")
    stop_ids = tuple(body.stop_token_ids or ())
    vocab = len(tokenizer)
    for token_id in stop_ids:
        if not 0 <= token_id < vocab:
            raise refuse("stop_token_ids", f"must be token ids in [0, {vocab}). Given: {token_id}")
    ignore_eos = bool(body.ignore_eos)
    keep = body.include_stop_str_in_output if body.include_stop_str_in_output is not None else body.no_stop_trim
    stopping = replace(stopping, stop_token_ids=stop_ids, ignore_eos=ignore_eos, min_tokens=min_tokens,
                       include_stop_str=bool(keep), skip_special_tokens=body.skip_special_tokens is not False)
    ending = sorted(set(stop_ids) | (set() if ignore_eos else set(eos_ids)))
    sampling = replace(valid.sampling, min_p=body.min_p or 0.0, min_tokens=min_tokens,
                       min_tokens_ids=tuple(ending) if min_tokens else ())
    grammar = guided_grammar(body, tokenizer)
    if min_tokens and (grammar or valid.grammar) is not None:
        raise refuse("min_tokens", "cannot be combined with structured output or tools: the grammar may end the "
                     "output before min_tokens, and its end token would be masked")
    return replace(valid, sampling=sampling, stopping=stopping, grammar=grammar or valid.grammar,
                   request_id=body.request_id if body.request_id is not None else body.rid)


def stop_streamer(stopping: Any) -> StopStreamer:
    """OpenAI's stop rule for a stream, with the request's min_tokens and include_stop_str_in_output."""
    return StopStreamer(stopping.stop_sequences, keep_stop=stopping.include_stop_str, min_pieces=stopping.min_tokens)


def stream_piece(cutter: StopStreamer, stopping: Any, tok: Any, seq: Any) -> str:
    """The text one streamed token shows (`seq` is the finished sequence on the last token, else None): the
    pieces add up to the blocking answer (engine Sequence.visible and check_stop)."""
    shown = "" if tok.special and stopping.skip_special_tokens else tok.text
    if seq is not None and seq.finish_reason == FINISH_EOS and not stopping.include_stop_str:
        shown = ""                                      # the eos or stop token that ended the output
    return cutter.push(shown) + (cutter.flush() if seq is not None else "")
