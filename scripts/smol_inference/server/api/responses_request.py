"""OpenAI's Responses API (`POST /v1/responses`), the text subset vLLM serves: its body, as a chat request.

Field names and shapes from OpenAI's API reference ("Create a model response") and the openai-python
types (`openai.types.responses`: `Response`, `ResponseOutputMessage`, `ResponseOutputText`,
`ResponseFunctionToolCall`, `ResponseUsage`). Served: `input` as a string or a list of messages
(roles user/system/developer/assistant; `input_text`/`output_text` parts) and of function-call items
(`function_call`, `function_call_output`), `instructions` (a system message first), `max_output_tokens`,
`temperature`, `top_p`, `seed` and vLLM's/SGLang's sampling extensions, `text.format` (text, json_object,
json_schema) for structured output, function `tools` and `tool_choice`, `stream`, `metadata` (returned).
Every request is turned into a chat request (`as_chat`), so the chat route's rules, template and engine apply.

Stateless, as vLLM is when its response store is off (vLLM's serving_responses.py, without
`VLLM_ENABLE_RESPONSES_API_STORE=1`: `store: true`, the API's default, is served as `store: false`, and
background mode is refused): nothing is kept after the answer, so `store: true` is accepted and the
response says `"store": false`; `previous_response_id` and `background: true` (which need a stored
response) are refused with a 422 that says so. Other fields are refused by name unless
neutral. What sglang-router 0.3.2 adds to every request it forwards here passes: `store: true`,
`stream: null`, `temperature: 1.0` and `top_p: 1.0` (OpenAI's defaults), `priority: 0`, `top_k: -1`,
`min_p: 0.0`, `repetition_penalty: 1.0`.
text_generation_inference/serve_and_query.md, "Extension fields and the Responses API".
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field, ValidationError

from ..chat.request import refuse
from ..errors import ApiError
from .openai_extensions import SamplingExtensions
from .openai_schemas import ChatRequest
from .tgi_schemas import MAX_SEED, _Request, doc_range

STATELESS = "needs a stored response, and this server keeps none (stateless, like vLLM without its store)"
#: Input content-part types and the chat part type each becomes.
PART_TYPES = {"input_text": "text", "output_text": "text", "text": "text", "refusal": "refusal"}
#: Input item types that carry no role (messages are recognised by `role`).
ITEM_TYPES = ("message", "function_call", "function_call_output")


class ResponsesRequest(_Request, SamplingExtensions):
    """`POST /v1/responses` (OpenAI `ResponseCreateParams`, the text subset)."""

    model: str | None = None
    input: str | list[dict[str, Any]] = Field(description=(
        "A string (one user message) or a list of messages {role, content} and function_call / "
        "function_call_output items."))
    instructions: str | None = None
    max_output_tokens: int | None = doc_range(minimum=1)
    temperature: float | None = doc_range(minimum=0.0)
    #: 1.0 (OpenAI's default, which the SGLang gateway always sends) keeps every token: no nucleus filter.
    top_p: float | None = doc_range(exclusiveMinimum=0.0, maximum=1.0)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    repetition_penalty: float | None = doc_range(exclusiveMinimum=0.0)   # vLLM's; the SGLang gateway sends 1.0
    stream: bool | None = Field(default=False, description=(
        "true: Responses events (SSE); false or null (the SGLang gateway forwards null): one JSON answer."))
    text: dict[str, Any] | None = Field(default=None, description=(
        '{"format": {"type": "text"} | {"type": "json_object"} | {"type": "json_schema", "name", "schema", "strict"}}'))
    tools: list[dict[str, Any]] | None = Field(default=None, description=(
        'Function tools: [{"type": "function", "name", "description", "parameters"}].'))
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    max_tool_calls: int | None = None
    store: bool | None = Field(default=None, description="Accepted; nothing is stored: the response says false.")
    previous_response_id: str | None = Field(default=None, description="Refused: " + STATELESS)
    background: bool | None = Field(default=None, description="true is refused: " + STATELESS)
    metadata: dict[str, str] | None = None
    user: str | None = None
    include: list[str] | None = None
    top_logprobs: int | None = None
    truncation: str | None = None
    reasoning: dict[str, Any] | None = None
    service_tier: str | None = None
    prompt: Any = None
    prompt_cache_key: str | None = None
    conversation: Any = None


def check(body: ResponsesRequest) -> None:
    """422 for what the stateless text subset cannot honour (module docstring)."""
    if body.previous_response_id is not None:
        raise refuse("previous_response_id", f"{STATELESS}: send the whole conversation in `input`")
    if body.background:
        raise refuse("background", STATELESS)
    if body.conversation is not None:
        raise refuse("conversation", STATELESS)
    if body.prompt is not None:
        raise refuse("prompt", "is not supported: stored prompt templates are not served")
    if body.include:
        raise refuse("include", f"is not supported by this server. Given: {body.include}")
    if body.top_logprobs:
        raise refuse("top_logprobs", "is not supported on /v1/responses by this server (use /v1/chat/completions)")
    if body.truncation not in (None, "disabled"):
        raise refuse("truncation", f"must be \"disabled\": an input that is too long is a 422. "
                     f"Given: {body.truncation!r}")
    if body.reasoning:
        raise refuse("reasoning", "is not supported: the served model does not reason")
    if body.service_tier not in (None, "auto", "default"):
        raise refuse("service_tier", f"must be \"auto\" or \"default\": one tier is served. "
                     f"Given: {body.service_tier!r}")
    if body.max_tool_calls is not None and body.max_tool_calls < 1:
        raise refuse("max_tool_calls", "must be >= 1 (a tool answer makes one call)")
    if body.prompt_cache_key is not None:
        raise refuse("prompt_cache_key", "is not supported: the prefix cache needs no key")
    if body.text is not None and set(body.text) - {"format", "verbosity"}:
        raise refuse("text", f"takes `format` (and `verbosity`). Given: {sorted(body.text)}")
    if body.text is not None and body.text.get("verbosity") not in (None, "medium"):
        raise refuse("text.verbosity", "must be \"medium\": the served model has no verbosity control")


def _content(where: str, content: Any) -> Any:
    """A Responses message's content (a string or input/output parts) as chat content."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise refuse(f"{where}.content", "must be a string or a list of content parts")
    parts = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in PART_TYPES and isinstance(part.get("text", part.get("refusal")), str):
            key = "refusal" if kind == "refusal" else "text"
            parts.append({"type": PART_TYPES[kind], key: part[key]})
        else:
            raise refuse(f"{where}.content", f"part type {kind!r} is not supported: the served model reads text "
                         f"({', '.join(PART_TYPES)})")
    return parts


def _message(index: int, item: Any) -> dict[str, Any]:
    where = f"input[{index}]"
    if not isinstance(item, dict):
        raise refuse(where, "must be an object")
    kind = item.get("type", "message")
    if kind == "function_call":
        call = {"id": item.get("call_id"), "type": "function",
                "function": {"name": item.get("name"), "arguments": item.get("arguments")}}
        return {"role": "assistant", "content": None, "tool_calls": [call]}
    if kind == "function_call_output":
        output = item.get("output")
        return {"role": "tool", "tool_call_id": item.get("call_id"),
                "content": output if isinstance(output, str) else json.dumps(output)}
    if kind != "message" or "role" not in item:
        raise refuse(where, f"item type {kind!r} is not supported: send messages {{role, content}}, "
                     f"function_call or function_call_output ({STATELESS.split(',')[0]} for references)")
    return {"role": item["role"], "content": _content(where, item.get("content"))}


def _tools(body: ResponsesRequest) -> tuple[list[dict[str, Any]] | None, Any]:
    """Responses tools (flat function fields) and tool_choice in the chat form."""
    if body.tools is None:
        return None, body.tool_choice
    tools = []
    for i, tool in enumerate(body.tools):
        if tool.get("type") != "function":
            raise refuse(f"tools[{i}]", f"type {tool.get('type')!r} is not supported: only function tools are served")
        function = {k: v for k, v in tool.items() if k != "type"}          # name, description, parameters, strict
        tools.append({"type": "function", "function": function})
    choice = body.tool_choice
    if isinstance(choice, dict) and choice.get("type") == "function":
        choice = {"type": "function", "function": {"name": choice.get("name")}}
    return tools, choice


def _response_format(body: ResponsesRequest) -> dict[str, Any] | None:
    fmt = (body.text or {}).get("format")
    if fmt is None or not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return fmt
    return {"type": "json_schema", "json_schema": {k: fmt[k] for k in ("name", "schema", "strict", "description")
                                                   if k in fmt}}


def as_chat(body: ResponsesRequest) -> ChatRequest:
    """The same request as a chat completion (messages, sampling, tools, structured output)."""
    check(body)
    items = [{"role": "user", "content": body.input}] if isinstance(body.input, str) else \
        [_message(i, item) for i, item in enumerate(body.input)]
    if body.instructions is not None:
        items.insert(0, {"role": "system", "content": body.instructions})
    if not items:
        raise refuse("input", "must hold at least one message")
    tools, choice = _tools(body)
    fields = {name: getattr(body, name) for name in SamplingExtensions.model_fields if getattr(body, name) is not None}
    chat = {"messages": items, "model": body.model, "max_completion_tokens": body.max_output_tokens,
            "temperature": body.temperature, "top_p": None if body.top_p == 1.0 else body.top_p, "seed": body.seed,
            "stream": bool(body.stream), "repetition_penalty": body.repetition_penalty,
            "tools": tools, "tool_choice": choice, "parallel_tool_calls": body.parallel_tool_calls,
            "response_format": _response_format(body), "user": body.user, **fields}
    try:
        return ChatRequest.model_validate({k: v for k, v in chat.items() if v is not None})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(x) for x in error["loc"])
        raise ApiError("validation", f"Failed to deserialize the JSON body: {where}: {error['msg']}") from None
