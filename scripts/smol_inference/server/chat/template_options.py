"""The chat-template fields of vLLM's and SGLang's chat body: continue_final_message, add_generation_prompt,
chat_template_kwargs, documents.

vLLM's meanings (vllm/entrypoints/openai/protocol.py, `ChatCompletionRequest`; transformers'
`apply_chat_template`): `add_generation_prompt` (default true) opens the assistant's turn;
`continue_final_message: true` leaves the final message open so the model writes on (a prefill), and
cannot be combined with `add_generation_prompt: true`; `continue_final_message: false` with a final
assistant message opens a NEW assistant turn after it. When none of the four fields is given, the course
keeps TGI's behaviour (stages.render_chat: a final assistant message is continued). `chat_template_kwargs`
become template variables; a name the template never reads, or one of apply_chat_template's own
arguments, is a 422 rather than a variable silently ignored (vLLM drops such names with a log line).
text_generation_inference/serve_and_query.md, "Extension fields and the Responses API";
inference_pipeline.md, "Chat templates".
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..errors import ApiError, validation

#: apply_chat_template's own arguments: never template variables.
RESERVED = frozenset({"conversation", "messages", "tools", "documents", "chat_template", "add_generation_prompt",
                      "continue_final_message", "tokenize", "padding", "truncation", "max_length",
                      "return_tensors", "return_dict", "return_assistant_tokens_mask", "tokenizer_kwargs"})


def refuse(name: str, why: str) -> ApiError:
    return validation(f"`{name}` {why}")


def given(body: Any) -> bool:
    """True when the request sets any template field (then vLLM's meanings apply)."""
    return any(getattr(body, name, None) is not None for name in
               ("continue_final_message", "add_generation_prompt", "chat_template_kwargs", "documents"))


@lru_cache(maxsize=8)
def template_variables(template: str) -> frozenset[str]:
    """The variables a Jinja chat template reads (parsed as transformers parses it)."""
    from jinja2 import meta
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(extensions=["jinja2.ext.loopcontrols"])
    return frozenset(meta.find_undeclared_variables(env.parse(template)))


def _reads(tokenizer: Any, name: str) -> bool:
    template = getattr(tokenizer, "chat_template", None)
    if not isinstance(template, str):
        return True                                     # several named templates: let the template decide
    return name in template_variables(template)


def render(tokenizer: Any, messages: list[dict[str, Any]], body: Any, tools: list[dict[str, Any]] | None) -> str:
    """The prompt under vLLM's template fields (call only when `given(body)`); 422 for what cannot be honoured."""
    cont, gen = body.continue_final_message, body.add_generation_prompt
    if cont and gen:
        raise refuse("continue_final_message", "and `add_generation_prompt` cannot both be true")
    gen = (not cont) if gen is None else gen
    kwargs = dict(body.chat_template_kwargs or {})
    for name in kwargs:
        if name in RESERVED:
            raise refuse("chat_template_kwargs", f"cannot set {name!r}: it is an argument of the template call, "
                         "not a template variable (use the request field)")
        if not _reads(tokenizer, name):
            raise refuse("chat_template_kwargs", f"{name!r} is not read by the served model's chat template")
    if body.documents is not None:
        if not _reads(tokenizer, "documents"):
            raise refuse("documents", "is not read by the served model's chat template")
        kwargs["documents"] = body.documents
    if tools:
        kwargs["tools"] = tools
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen,
                                         continue_final_message=bool(cont), **kwargs)
