"""An OpenAI chat or completions request turned into TGI's generate parameters and a prompt.

Mapping as TGI's router does it (router/src/lib.rs, `ChatRequest`, and
TGI's docs/openapi.json): `max_completion_tokens` (else `max_tokens`) -> `max_new_tokens`; temperature 0 ->
greedy, any other (or none) -> sampling; `presence_penalty` -> `repetition_penalty = presence_penalty
+ 2.0`; `frequency_penalty`, `top_p`, `seed`, `stop` pass through; `logprobs`/`top_logprobs` ->
details/top_n_tokens. A field with no such mapping is refused by name (`refuse`), never dropped.
Messages follow OpenAI's rules (roles, content required per role, content-part types); a
conversation that ends with an assistant message is continued (stages.render_chat).
text_generation_inference/serve_and_query.md, "The OpenAI client and InferenceClient",
text_generation_inference/differences_from_tgi.md, "Validation".
"""

from __future__ import annotations

import math
from typing import Any

from ...stages import render_chat
from . import dialect, structured_output, template_options
from ..errors import ApiError, validation
from ..api.openai_schemas import ChatRequest, CompletionRequest, Message
from ..api.tgi_schemas import GenerateParameters

#: TGI adds this to `presence_penalty` to get its `repetition_penalty` (router/src/lib.rs).
PRESENCE_TO_REPETITION = 2.0
#: OpenAI's upper bound for `presence_penalty` (its lower bound, -2.0, would map to a penalty of 0).
MAX_PRESENCE_PENALTY = 2.0
#: OpenAI's roles; "developer" is the newer name of "system" and is rendered as one.
ROLES = ("system", "developer", "user", "assistant", "tool")
#: Content-part types each role may send (OpenAI's message schemas).
PART_TYPES = {"system": ("text",), "developer": ("text",), "user": ("text", "image_url", "input_audio", "file"),
              "assistant": ("text", "refusal"), "tool": ("text",)}
#: What a part of each type carries its text in; other types need a model that reads more than text.
TEXT_KEYS = {"text": "text", "refusal": "refusal"}


def refuse(name: str, why: str) -> ApiError:
    return validation(f"`{name}` {why}")


def _part_text(where: str, role: str, part: dict[str, Any]) -> str:
    kind = part.get("type")
    if kind not in PART_TYPES[role]:
        raise validation(f"{where}: content part type {kind!r} is not allowed in a {role} message; "
                         f"allowed: {', '.join(PART_TYPES[role])}")
    if kind not in TEXT_KEYS:
        raise validation(f"{where}: content part type {kind!r} is not supported: the served model reads text only")
    key = TEXT_KEYS[kind]
    if set(part) != {"type", key} or not isinstance(part[key], str):
        raise validation(f"{where}: a {kind!r} part is {{\"type\": {kind!r}, {key!r}: string}}")
    return part[key]


def message_text(index: int, message: Message) -> str | None:
    """The message's text, or None when it has no content (allowed for an assistant that called tools)."""
    where = f"messages[{index}]"
    if message.role not in ROLES:
        raise validation(f"{where}: `role` must be one of {', '.join(ROLES)}. Given: {message.role!r}")
    structured_output.check_message(index, message)
    if message.content is None:
        if message.role == "assistant" and message.tool_calls:
            return None
        raise validation(f"{where}: `content` is required in a {message.role} message")
    if isinstance(message.content, str):
        return message.content
    if not message.content:
        raise validation(f"{where}: `content` must not be an empty list")
    return "".join(_part_text(f"{where}.content[{i}]", message.role, part)
                   for i, part in enumerate(message.content))


def template_messages(body: ChatRequest) -> list[dict[str, Any]]:
    """The conversation as chat-template messages, each checked against OpenAI's rules."""
    out = []
    for i, m in enumerate(body.messages):
        entry: dict[str, Any] = {"role": "system" if m.role == "developer" else m.role,
                                 "content": message_text(i, m) or ""}
        if m.name is not None:
            entry["name"] = m.name
        out.append(entry)
    return out


def chat_prompt(tokenizer: Any, body: ChatRequest, plan: Any = None) -> str:
    """The templated prompt; 422 `template_error` when the model's template refuses the conversation.
    `plan` (tools.ChatPlan) carries the messages with the tools appended, and the tools for a
    template that renders them itself."""
    messages = plan.messages if plan is not None else template_messages(body)
    try:
        if template_options.given(body):                          # vLLM's template fields
            return template_options.render(tokenizer, messages, body, plan.template_tools if plan else None)
        if plan is not None and plan.template_tools:
            return tokenizer.apply_chat_template(messages, tools=plan.template_tools, tokenize=False,
                                                 add_generation_prompt=True)
        return render_chat(tokenizer, messages)
    except ApiError:
        raise
    except Exception as exc:  # noqa: BLE001 - jinja errors of any kind are the template's fault
        raise ApiError("template_error", str(exc)) from None


def _check_common(body: ChatRequest | CompletionRequest) -> None:
    if body.n not in (None, 1):
        raise refuse("n", f"must be 1: one choice per request is served (TGI documents `n` as unused). Given: {body.n}")
    if body.logit_bias:
        raise refuse("logit_bias", "is not supported by this server")
    if body.presence_penalty is not None and body.repetition_penalty is not None:
        raise refuse("presence_penalty", "and `repetition_penalty` cannot both be set: TGI maps the first onto "
                     "the second")
    p = body.presence_penalty
    if p is not None and not (math.isfinite(p) and -PRESENCE_TO_REPETITION < p <= MAX_PRESENCE_PENALTY):
        raise refuse("presence_penalty", "must be > -2.0 and <= 2.0 (TGI maps it to `repetition_penalty` = "
                     "presence_penalty + 2.0, which must be > 0)")
    if body.stream_options is not None and not body.stream:
        raise refuse("stream_options", "is only allowed when `stream` is true")


def check_chat(body: ChatRequest) -> None:
    """Refuse the chat fields that cannot be honoured (422 naming each)."""
    _check_common(body)
    dialect.check(body)
    structured_output.check_legacy_fields(body)
    if body.top_logprobs is not None and not body.logprobs:
        raise refuse("top_logprobs", "needs `logprobs`: true")
    if body.modalities not in (None, ["text"]):
        raise refuse("modalities", f"must be [\"text\"]: the served model writes text only. Given: {body.modalities}")


def check_completion(body: CompletionRequest) -> None:
    """Refuse the completions fields that cannot be honoured (422 naming each)."""
    _check_common(body)
    dialect.check(body)
    if body.suffix is not None:
        raise refuse("suffix", "is not supported: the served model only continues text to the right")
    if body.echo:
        raise refuse("echo", "is not supported by this server")
    if body.best_of not in (None, 1):
        raise refuse("best_of", "must be 1 on /v1/completions (use TGI's /generate `best_of`)")
    if body.logprobs is not None:
        raise refuse("logprobs", "is not supported on /v1/completions by this server (use /v1/chat/completions)")


def parameters(body: ChatRequest | CompletionRequest, top_n: int | None = None) -> GenerateParameters:
    """TGI's generate parameters for an OpenAI request (module docstring); call check_* first."""
    greedy = body.temperature is not None and body.temperature == 0
    repetition = body.repetition_penalty
    if body.presence_penalty is not None:
        repetition = body.presence_penalty + PRESENCE_TO_REPETITION
    return GenerateParameters(
        do_sample=not greedy, temperature=None if greedy else body.temperature, top_p=body.top_p,
        max_new_tokens=body.max_new_tokens(), seed=body.seed, stop=body.stop_list(), details=True,
        frequency_penalty=body.frequency_penalty, repetition_penalty=repetition, top_n_tokens=top_n,
        **dialect.parameter_updates(body))


def top_n(body: ChatRequest) -> int | None:
    return body.top_logprobs if body.logprobs else None
