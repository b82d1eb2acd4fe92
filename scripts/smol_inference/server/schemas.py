"""Request bodies of the course server, shaped like TGI's OpenAPI schemas.

Field names, types and defaults follow ../shared/reference/tgi-openapi.json (`GenerateParameters`,
`CompatGenerateRequest`, `ChatRequest`, `CompletionRequest`) and TGI's router (router/src/lib.rs).
Range rules that TGI checks after parsing (temperature > 0, ...) live in validation.py so that
they give TGI's messages; the same ranges are written into the published OpenAPI schema
(`doc_range`) so that it describes what the server accepts. Unknown fields are ignored, as TGI's
serde structs do, and types are strict like serde's (`"stream": 0` or `"max_new_tokens": "5"` is a 422).
text_generation_inference.md, "The API".
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: Largest seed a u64 can hold (TGI's seed type).
MAX_SEED = 2**64 - 1
#: TGI's `top_k` is an i32: a larger number fails deserialization (422) rather than meaning "no limit".
MAX_TOP_K = 2**31 - 1


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


def doc_range(**bounds: float) -> Any:
    """A field documented with JSON-schema bounds that validation.py (not pydantic) enforces."""
    return Field(default=None, json_schema_extra=bounds)


class GenerateParameters(_Body):
    best_of: int | None = doc_range(minimum=1)
    decoder_input_details: bool = False
    details: bool = False
    do_sample: bool = False
    frequency_penalty: float | None = doc_range(minimum=-2.0, maximum=2.0)
    grammar: dict[str, Any] | None = Field(default=None, description=(
        'Constrained decoding (TGI GrammarType): {"type": "json", "value": <JSON Schema with properties>}, '
        '{"type": "json_schema", "value": {"name": ..., "schema": ...}} or {"type": "regex", "value": <pattern>}. '
        'A bad schema, an unsupported keyword or a bad pattern is a 422 "grammar is not valid: ...".'),
        examples=[{"type": "json", "value": {"properties": {"location": {"type": "string"}}}}])
    max_new_tokens: int | None = doc_range(minimum=1)
    repetition_penalty: float | None = doc_range(exclusiveMinimum=0.0)
    return_full_text: bool | None = None
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    stop: list[str] = Field(default_factory=list)
    temperature: float | None = doc_range(exclusiveMinimum=0.0)
    top_k: int | None = Field(default=None, le=MAX_TOP_K, json_schema_extra={"minimum": 1})
    top_n_tokens: int | None = doc_range(minimum=0)
    top_p: float | None = doc_range(exclusiveMinimum=0.0, exclusiveMaximum=1.0)
    truncate: int | None = doc_range(minimum=1)
    typical_p: float | None = doc_range(exclusiveMinimum=0.0, exclusiveMaximum=1.0)
    watermark: bool = False
    adapter_id: str | None = None


class GenerateRequest(_Body):
    """`POST /generate`, `/generate_stream`, `/tokenize`; `POST /` also reads `stream`."""

    inputs: str = Field(json_schema_extra={"minLength": 1})
    parameters: GenerateParameters | None = None
    stream: bool = False


class TextChunk(_Body):
    type: Literal["text"]
    text: str


class Message(_Body):
    role: str
    content: str | list[TextChunk] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None     # an assistant turn that called tools
    tool_call_id: str | None = None                    # a `tool` turn: which call it answers

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(chunk.text for chunk in self.content)
        return self.content or ""


class StreamOptions(_Body):
    include_usage: bool = False


class _OpenAIBody(_Body):
    model: str | None = None
    max_tokens: int | None = doc_range(minimum=1)
    temperature: float | None = doc_range(minimum=0.0)           # 0 means greedy
    top_p: float | None = doc_range(exclusiveMinimum=0.0, exclusiveMaximum=1.0)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    stop: str | list[str] | None = None
    stream: bool = False
    frequency_penalty: float | None = doc_range(minimum=-2.0, maximum=2.0)
    repetition_penalty: float | None = doc_range(exclusiveMinimum=0.0)

    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


class ChatRequest(_OpenAIBody):
    messages: list[Message] = Field(min_length=1)
    logprobs: bool | None = None
    top_logprobs: int | None = doc_range(minimum=0)
    n: int | None = None
    presence_penalty: float | None = None
    stream_options: StreamOptions | None = None
    tools: list[dict[str, Any]] | None = Field(default=None, description=(
        'Functions the model may call (OpenAI): [{"type": "function", "function": {"name", "description", '
        '"parameters": <JSON Schema>}}]. The answer is `message.tool_calls` (streamed as `delta.tool_calls`).'))
    tool_choice: str | dict[str, Any] | None = Field(default=None, description=(
        '"auto" (default with tools; the model may answer in text), "none", "required", or '
        '{"type": "function", "function": {"name": ...}}; an unknown name is a 422 tool_error.'))
    tool_prompt: str | None = Field(default=None, description=(
        "TGI: text appended after the tools in the last message (default: TGI's tool prompt)."))
    response_format: dict[str, Any] | None = Field(default=None, description=(
        'OpenAI {"type": "json_object"} or {"type": "json_schema", "json_schema": {"name", "schema", "strict"}}, '
        'or TGI\'s grammar form {"type": "json" | "regex" | "json_schema", "value": ...}. Not with `tools`.'))


class CompletionRequest(_OpenAIBody):
    prompt: str | list[str]
    suffix: str | None = None
    response_format: dict[str, Any] | None = Field(default=None, description=(
        'As on chat: {"type": "json_object"} or {"type": "json_schema", "json_schema": {...}}; every prompt.'))

    def prompts(self) -> list[str]:
        return [self.prompt] if isinstance(self.prompt, str) else list(self.prompt)
