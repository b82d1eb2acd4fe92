"""vLLM's and SGLang's extension fields of the OpenAI chat and completions bodies, as the course server takes them.

Names and meanings from vLLM's protocol (vllm/entrypoints/openai/protocol.py, `ChatCompletionRequest`,
`CompletionRequest`: the "sampling params" and "extra params" blocks) and SGLang's
(python/sglang/srt/entrypoints/openai/protocol.py, the "extra parameters for SRT backend" block), plus what
the SGLang Model Gateway (`sglang-router`) and vLLM's router add to every request they forward:
`no_stop_trim`, `ignore_eos`, `continue_final_message`, `skip_special_tokens`, `separate_reasoning`,
`stream_reasoning`, `return_hidden_states`, `include_reasoning`. Every field defaults to None (absent), so
that an explicit value is told from none. What each one does is decided in chat/dialect.py: honoured,
a no-op at the values that change nothing for the served model, or a 422 naming it. Honoured fields have
their types; the others take any JSON value, so a wrong type is refused by the same message.
text_generation_inference/serve_and_query.md, "Extension fields and the Responses API".
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .tgi_schemas import MAX_TOP_K, _Body


def _ext(description: str, **bounds: float) -> Any:
    extra: dict[str, Any] = dict(bounds)
    return Field(default=None, description=description, json_schema_extra=extra or None)


REFUSED = "Accepted only at the value that changes nothing here (absent, null, false, 0 or empty); else a 422."


class SamplingExtensions(_Body):
    """The fields both routes share (vLLM's sampling params, SGLang's SRT extras)."""

    top_k: int | None = Field(default=None, le=MAX_TOP_K, json_schema_extra={"minimum": -1}, description=(
        "vLLM/SGLang: keep the k most likely tokens; -1 or 0 means no limit."))
    min_p: float | None = _ext("vLLM/SGLang: drop tokens less likely than min_p x the most likely one.",
                               minimum=0.0, maximum=1.0)
    min_tokens: int | None = _ext(
        "vLLM/SGLang: no eos, stop token or stop string ends the output before this many tokens.", minimum=0)
    stop_token_ids: list[int] | None = _ext("vLLM/SGLang: token ids that end the output (finish_reason stop).")
    ignore_eos: bool | None = _ext("vLLM/SGLang: the end-of-sequence token does not end the output.")
    include_stop_str_in_output: bool | None = _ext("vLLM: the stop string (or stop token's text) stays in the text.")
    no_stop_trim: bool | None = _ext("SGLang's name of include_stop_str_in_output.")
    skip_special_tokens: bool | None = _ext("vLLM/SGLang: special tokens add no text (default true).")
    spaces_between_special_tokens: bool | None = _ext(
        "vLLM: only matters when special tokens are shown; true is refused then (they are joined without spaces).")
    truncate_prompt_tokens: int | None = _ext("vLLM: keep only the last N prompt tokens (TGI's `truncate`).",
                                              minimum=1)
    add_special_tokens: bool | None = _ext("vLLM: add the tokenizer's special tokens (BOS) to the prompt.")
    # Structured output (one at a time; not with response_format or tools)
    guided_json: dict[str, Any] | str | None = _ext("vLLM: the output follows this JSON Schema.")
    guided_regex: str | None = _ext("vLLM: the output matches this regular expression.")
    guided_choice: list[str] | None = _ext("vLLM: the output is exactly one of these strings.")
    regex: str | None = _ext("SGLang's name of guided_regex.")
    # No-ops for a model without a reasoning parser (vLLM and SGLang ignore them then)
    separate_reasoning: bool | None = _ext("SGLang: no reasoning parser here, so nothing to separate (no-op).")
    stream_reasoning: bool | None = _ext("SGLang: no reasoning parser here (no-op).")
    # Labels
    request_id: str | None = _ext("vLLM: the request's id, returned as the response id.")
    rid: str | None = _ext("SGLang's name of request_id.")
    # Refused unless neutral
    use_beam_search: Any = _ext(REFUSED)
    length_penalty: Any = _ext(REFUSED + " (1.0 is neutral)")
    prompt_logprobs: Any = _ext(REFUSED)
    allowed_token_ids: Any = _ext(REFUSED)
    bad_words: Any = _ext(REFUSED)
    logits_processors: Any = _ext(REFUSED)
    guided_grammar: Any = _ext(REFUSED)
    guided_decoding_backend: Any = _ext(REFUSED)
    guided_whitespace_pattern: Any = _ext(REFUSED)
    structural_tag: Any = _ext(REFUSED)
    ebnf: Any = _ext(REFUSED)
    stop_regex: Any = _ext(REFUSED)
    priority: Any = _ext(REFUSED)
    cache_salt: Any = _ext(REFUSED)
    kv_transfer_params: Any = _ext(REFUSED)
    vllm_xargs: Any = _ext(REFUSED)
    mm_processor_kwargs: Any = _ext(REFUSED)
    return_tokens_as_token_ids: Any = _ext(REFUSED)
    return_hidden_states: Any = _ext(REFUSED + " The gateways send false.")
    return_routed_experts: Any = _ext(REFUSED)
    routed_experts_start_len: Any = _ext(REFUSED)
    return_cached_tokens_details: Any = _ext(REFUSED)
    return_token_ids: Any = _ext(REFUSED)
    lora_path: Any = _ext(REFUSED)
    session_id: Any = _ext(REFUSED)
    session_params: Any = _ext(REFUSED)
    custom_logit_processor: Any = _ext(REFUSED)
    custom_params: Any = _ext(REFUSED)
    images_config: Any = _ext(REFUSED)
    bootstrap_host: Any = _ext(REFUSED)
    bootstrap_port: Any = _ext(REFUSED)
    bootstrap_room: Any = _ext(REFUSED)
    routed_dp_rank: Any = _ext(REFUSED)
    disagg_prefill_dp_rank: Any = _ext(REFUSED)
    data_parallel_rank: Any = _ext(REFUSED)
    extra_key: Any = _ext(REFUSED)
    ngram_corpus_id: Any = _ext(REFUSED)
    custom_labels: Any = _ext(REFUSED)


class ChatExtensions(SamplingExtensions):
    """The chat route's own extension fields (chat template, reasoning, vLLM's echo)."""

    continue_final_message: bool | None = _ext(
        "vLLM/SGLang: true leaves the final message open for the model to continue; false opens a new assistant "
        "turn even after an assistant message. Absent: TGI's behaviour (a final assistant message is continued).")
    add_generation_prompt: bool | None = _ext("vLLM: open the assistant's turn (default true).")
    chat_template_kwargs: dict[str, Any] | None = _ext(
        "vLLM/SGLang: extra variables for the chat template; a name the template does not read is a 422.")
    documents: list[dict[str, Any]] | None = _ext("vLLM: documents for a template that renders them (RAG).")
    include_reasoning: bool | None = _ext("vLLM: no reasoning parser here, so no reasoning to include (no-op).")
    reasoning_effort: Any = _ext(REFUSED + " The served model does not reason.")
    chat_template: Any = _ext(REFUSED)
    echo: Any = _ext(REFUSED)
    return_prompt_token_ids: Any = _ext(REFUSED)
    return_meta_info: Any = _ext(REFUSED)
    input_ids: Any = _ext(REFUSED)
    max_dynamic_patch: Any = _ext(REFUSED)
    min_dynamic_patch: Any = _ext(REFUSED)
    use_audio_in_video: Any = _ext(REFUSED)
    task: Any = _ext(REFUSED)


class CompletionExtensions(SamplingExtensions):
    """The completions route's own extension fields."""

    json_schema: str | None = _ext("SGLang: the output follows this JSON Schema (a JSON string).")
    prompt_embeds: Any = _ext(REFUSED)
