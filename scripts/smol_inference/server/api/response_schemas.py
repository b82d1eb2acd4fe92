"""The JSON bodies the course server answers, as pydantic models: documentation for api/openapi.py only.

Field for field TGI's schemas in TGI's docs/openapi.json (`ErrorResponse`,
`GenerateResponse`, `Details`, `Token`, `StreamResponse`, `Info`, `ChatCompletion(Chunk)`,
`CompletionFinal`, `Chunk`); api/response_bodies.py builds the real bodies.
text_generation_inference/differences_from_tgi.md, "The API".
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

#: Which distribution every reported log-probability comes from (sampling/sampler.py), on every route.
LOGPROB_DOC = ("Natural log of the token's probability under the model's raw next-token distribution: the "
               "log-softmax of the logits before repetition/frequency penalties, temperature, top-k, top-p, "
               "typical-p and grammar (vLLM's default `raw_logprobs`; TGI reports the processed distribution). "
               "Always a finite number <= 0.")


class ErrorResponse(BaseModel):
    error: str
    error_type: str


class Token(BaseModel):
    id: int
    text: str
    logprob: float = Field(description=LOGPROB_DOC)
    special: bool


class PrefillToken(BaseModel):
    id: int
    text: str
    logprob: float | None = Field(description=LOGPROB_DOC + " null for the first prompt token (no context), as TGI.")


class BestOfSequence(BaseModel):
    generated_text: str
    finish_reason: str
    generated_tokens: int
    seed: int | None
    prefill: list[PrefillToken]
    tokens: list[Token]
    top_tokens: list[list[Token]] | None = None


class Details(BaseModel):
    finish_reason: str
    generated_tokens: int
    seed: int | None
    prefill: list[PrefillToken]
    tokens: list[Token]
    top_tokens: list[list[Token]] | None = None
    best_of_sequences: list[BestOfSequence] | None = None


class GenerateResponse(BaseModel):
    generated_text: str
    details: Details | None = None


class SimpleToken(BaseModel):
    id: int
    text: str
    start: int
    stop: int


class ChatTokenizeResponse(BaseModel):
    tokenize_response: list[SimpleToken]
    templated_text: str


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class _OpenAIHeader(BaseModel):
    id: str
    created: int
    model: str
    system_fingerprint: str
    object: str


class FunctionCall(BaseModel):
    name: str
    arguments: str                   # a JSON object as a string (OpenAI)


class ToolCall(BaseModel):
    id: str
    type: str
    function: FunctionCall


class ChatMessage(BaseModel):
    role: str
    content: str | None              # null when the answer is tool_calls
    tool_calls: list[ToolCall] | None = None


class ChatChoice(BaseModel):
    index: int
    message: ChatMessage
    logprobs: dict[str, Any] | None = Field(description="OpenAI `logprobs.content[]` when `logprobs` is true. "
                                            + LOGPROB_DOC)
    finish_reason: str


class ChatCompletion(_OpenAIHeader):
    choices: list[ChatChoice]
    usage: Usage


class CompletionChoice(BaseModel):
    index: int
    text: str
    logprobs: dict[str, Any] | None
    finish_reason: str


class CompletionFinal(_OpenAIHeader):
    choices: list[CompletionChoice]
    usage: Usage


class StreamDetails(BaseModel):
    finish_reason: str
    generated_tokens: int
    seed: int | None
    input_length: int


class StreamResponse(BaseModel):
    index: int
    token: Token
    top_tokens: list[Token] | None = None
    generated_text: str | None
    details: StreamDetails | None


class DeltaFunction(BaseModel):
    name: str | None = None          # in the first delta of a call only
    arguments: str | None = None     # the next piece of the arguments string


class DeltaToolCall(BaseModel):
    index: int
    id: str | None = None
    type: str | None = None
    function: DeltaFunction


class ChatDelta(BaseModel):
    role: str
    content: str | None
    tool_calls: list[DeltaToolCall] | None = None


class ChatChunkChoice(BaseModel):
    index: int
    delta: ChatDelta
    logprobs: dict[str, Any] | None = Field(description="OpenAI `logprobs.content[]` when `logprobs` is true. "
                                            + LOGPROB_DOC)
    finish_reason: str | None


class ChatCompletionChunk(_OpenAIHeader):
    choices: list[ChatChunkChoice]
    usage: Usage | None


class CompletionChunk(_OpenAIHeader):
    choices: list[CompletionChoice]


class Info(BaseModel):
    model_id: str
    model_sha: str | None
    model_pipeline_tag: str | None
    max_concurrent_requests: int
    max_best_of: int
    max_stop_sequences: int
    max_input_tokens: int
    max_total_tokens: int
    validation_workers: int
    max_client_batch_size: int
    router: str
    version: str
    sha: str | None
    docker_label: str | None


class ModelInfo(BaseModel):
    id: str
    object: str
    created: int
    owned_by: str


class ModelList(ModelInfo):
    data: list[ModelInfo]
