"""Request bodies of the OpenAI-compatible routes: every field of OpenAI's chat and completions requests
that the course server takes, and nothing else.

Field names and types follow OpenAI's API reference (`CreateChatCompletionRequest`,
`CreateCompletionRequest`) and TGI's router (router/src/lib.rs, `ChatRequest`, `CompletionRequest`),
and TGI's docs/openapi.json (`ChatRequest`). Each field is honoured, mapped as
TGI maps it (chat/request.py), or refused with a 422 that names it: an unknown field fails parsing
(`extra="forbid"`), a known one the server cannot honour fails in chat/request.py. vLLM's and SGLang's
extension fields come from openai_extensions.py and are decided in chat/dialect.py. The rules on
messages (roles, content per role, content-part types) are checked there too, with one message per
rule. text_generation_inference/serve_and_query.md, "The OpenAI client and InferenceClient",
text_generation_inference/differences_from_tgi.md, "Validation".
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .openai_extensions import ChatExtensions, CompletionExtensions
from .tgi_schemas import MAX_SEED, _Body, _Request, doc_range


class Message(_Body):
    """One chat message as OpenAI sends it; chat/request.py's check_messages applies OpenAI's rules."""

    role: str
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None      # assistant turns that called tools (chat/structured_output.py)
    tool_call_id: str | None = None                      # tool results (chat/structured_output.py)


class StreamOptions(_Body):
    include_usage: bool = False
    continuous_usage_stats: bool | None = None           # vLLM/SGLang: refused when true (chat/dialect.py)


class _OpenAIBody(_Request):
    model: str | None = None                             # one model is served: any name is accepted (TGI)
    max_tokens: int | None = doc_range(minimum=1)
    temperature: float | None = doc_range(minimum=0.0)   # 0 means greedy
    top_p: float | None = doc_range(exclusiveMinimum=0.0, exclusiveMaximum=1.0)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    frequency_penalty: float | None = doc_range(minimum=-2.0, maximum=2.0)
    presence_penalty: float | None = doc_range(exclusiveMinimum=-2.0, maximum=2.0)
    repetition_penalty: float | None = doc_range(exclusiveMinimum=0.0)   # TGI's extension
    n: int | None = doc_range(minimum=1, maximum=1)
    logit_bias: dict[str, float] | None = None
    user: str | None = None                              # an end-user label: never changes the output

    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


class ChatRequest(_OpenAIBody, ChatExtensions):
    messages: list[Message] = Field(min_length=1)
    max_completion_tokens: int | None = doc_range(minimum=1)   # OpenAI's newer name of max_tokens
    logprobs: bool | None = None
    top_logprobs: int | None = doc_range(minimum=0)
    modalities: list[str] | None = None
    # Structured output and tools: refused or honoured in chat/structured_output.py, the one place that reads them.
    tools: list[dict[str, Any]] | None = Field(default=None, description=(
        'Functions the model may call (OpenAI): [{"type": "function", "function": {"name", "description", '
        '"parameters": <JSON Schema>}}]. The answer is `message.tool_calls` (streamed as `delta.tool_calls`).'))
    tool_choice: str | dict[str, Any] | None = Field(default=None, description=(
        '"auto" (default with tools; the model may answer in text), "none", "required", or '
        '{"type": "function", "function": {"name": ...}}; an unknown name is a 422 tool_error.'))
    tool_prompt: str | None = Field(default=None, description=(
        "TGI: text appended after the tools in the last message (default: TGI's tool prompt)."))
    parallel_tool_calls: bool | None = None              # accepted: at most one call is made per answer
    functions: list[dict[str, Any]] | None = None        # OpenAI's deprecated form: refused (chat/structured_output.py)
    function_call: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = Field(default=None, description=(
        'OpenAI {"type": "json_object"} or {"type": "json_schema", "json_schema": {"name", "schema", "strict"}}, '
        'or TGI\'s grammar form {"type": "json" | "regex" | "json_schema", "value": ...}. Not with `tools`.'))

    def max_new_tokens(self) -> int | None:
        """`max_completion_tokens`, else `max_tokens` (TGI PR #2845 reads the first as an alias)."""
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens


class CompletionRequest(_OpenAIBody, CompletionExtensions):
    prompt: str | list[str]
    suffix: str | None = None
    echo: bool | None = None
    best_of: int | None = doc_range(minimum=1, maximum=1)
    logprobs: int | None = None
    response_format: dict[str, Any] | None = Field(default=None, description=(
        'As on chat: {"type": "json_object"} or {"type": "json_schema", "json_schema": {...}}; every prompt.'))

    def prompts(self) -> list[str]:
        return [self.prompt] if isinstance(self.prompt, str) else list(self.prompt)

    def max_new_tokens(self) -> int | None:
        return self.max_tokens
