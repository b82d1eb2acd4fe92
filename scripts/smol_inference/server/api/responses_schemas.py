"""The JSON bodies `/v1/responses` answers, as pydantic models: documentation for openapi.py only.

Field names from the openai-python types (`openai.types.responses`: `Response`, `ResponseOutputMessage`,
`ResponseOutputText`, `ResponseFunctionToolCall`, `ResponseUsage`, `ResponseStreamEvent`);
responses_routes.py builds the real bodies.
text_generation_inference/serve_and_query.md, "Extension fields and the Responses API".
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ResponseUsage(BaseModel):
    input_tokens: int
    input_tokens_details: dict[str, int] = Field(description="`cached_tokens`: prompt tokens the prefix cache served")
    output_tokens: int
    output_tokens_details: dict[str, int]
    total_tokens: int


class Response(BaseModel):
    """OpenAI's `Response` object; `store` is always false (nothing is kept), `background` false."""

    id: str
    object: Literal["response"]
    created_at: int
    status: Literal["completed", "incomplete", "in_progress"]
    error: None
    incomplete_details: dict[str, str] | None
    instructions: str | None
    max_output_tokens: int | None
    model: str
    output: list[dict[str, Any]] = Field(description=(
        'Items: {"type": "message", "id", "status", "role": "assistant", "content": [{"type": "output_text", '
        '"text", "annotations"}]} or {"type": "function_call", "id", "call_id", "name", "arguments", "status"}.'))
    parallel_tool_calls: bool
    previous_response_id: None
    reasoning: None
    store: Literal[False]
    background: Literal[False]
    temperature: float | None
    top_p: float | None
    text: dict[str, Any]
    tool_choice: str | dict[str, Any]
    tools: list[dict[str, Any]]
    truncation: Literal["disabled"]
    usage: ResponseUsage | None
    user: str | None
    metadata: dict[str, str]


class ResponseStreamEvent(BaseModel):
    """One Responses stream event: `type` (response.created, response.output_text.delta, ...), its number, and
    the fields of that type (openai-python `ResponseStreamEvent`)."""

    model_config = ConfigDict(extra="allow")

    type: str
    sequence_number: int
