"""Answering a chat request whose output is a tool call, blocking or streamed (TGI router/src/server.rs).

The generation already ran under the tool grammar (tools.py). Blocking: the text is parsed into
`message.tool_calls`; if the model chose `no_tool`, the request is run again without tools and its text
is the answer. Streaming: `delta.tool_calls` chunks (tools.ToolDeltas), or the plain stream of the
second run. text_generation_inference/structured_output.md, "Structured output and tool calling".
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, StreamingResponse

from ...sse import DONE, SSE_HEADERS, sse
from ...stopping import StopStreamer
from ..chat import tools
from ..errors import ApiError
from ..service import Permit, Service, Timing
from ..validation import ValidRequest
from . import response_bodies
from .common import chat_valid, checked, collect
from .openai_schemas import ChatRequest
from .streaming import chat_stream, token_stream


def call_finish(finish_reason: str) -> str:
    """OpenAI's finish_reason for a tool-call generation: "tool_calls" only when the call is complete
    (the grammar ended it); a cut call reports why it was cut ("length", "stop"), as OpenAI and vLLM do."""
    return "tool_calls" if finish_reason == "eos_token" else response_bodies.OPENAI_FINISH[finish_reason]


def plain_request(service: Service, body: ChatRequest) -> tuple[ChatRequest, ValidRequest]:
    """The same chat without tools, validated: TGI's second generation after `no_tool`."""
    plain = tools.without_tools(body)
    valid, _plan = checked(service, lambda: chat_valid(service, plain))
    return plain, valid


async def tool_answer(request: Request, service: Service, body: ChatRequest, valid: ValidRequest, permit: Permit,
                      timing: Timing, model: str) -> Any:
    """`ChatCompletion` with `tool_calls` (or a text answer after `no_tool`), or its SSE stream."""
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        events = tool_events(service, body, valid, permit, timing, model, include_usage)
        return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)
    seq, tops = await collect(service, valid, request, timing)
    message = checked(service, lambda: tools.call_message(seq.text, seq.finish_reason))
    finish = call_finish(seq.finish_reason)
    if message is None:                                         # the model declined: answer in text
        plain, valid = plain_request(service, body)
        seq, tops = await collect(service, valid, request, timing)
        message, finish = {"role": "assistant", "content": seq.text}, response_bodies.OPENAI_FINISH[seq.finish_reason]
    choice = {"index": 0, "message": message, "finish_reason": finish,
              "logprobs": response_bodies.chat_logprobs(seq, tops) if body.logprobs else None}
    return JSONResponse({**response_bodies.openai_header(model, "chatcmpl", valid.request_id),
                         "object": "chat.completion", "choices": [choice],
                         "usage": response_bodies.usage(valid.input_length, len(seq.generated))},
                        headers=service.headers(valid, seq, timing))


async def tool_events(service: Service, body: ChatRequest, valid: ValidRequest, permit: Permit, timing: Timing,
                      model: str, include_usage: bool) -> AsyncIterator[str]:
    header = {**response_bodies.openai_header(model, "chatcmpl", valid.request_id), "object": "chat.completion.chunk"}
    generated = 0

    cutter = StopStreamer(valid.stopping.stop_sequences)         # OpenAI's rule, as the blocking answer

    async def tokens() -> AsyncIterator[tuple[str | None, Any]]:
        nonlocal generated
        async for _, tok, _top, seq in token_stream(service, valid, None, timing):
            generated += tok is not None
            if tok is None:
                yield None, seq
                continue
            yield cutter.push("" if tok.special else tok.text) + (cutter.flush() if seq is not None else ""), seq

    def chunk(delta: dict[str, Any], finish: str | None) -> str:
        return sse({**header, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                    "usage": None})

    async def fallback() -> AsyncIterator[str]:
        plain, plain_valid = plain_request(service, body)
        async for event in chat_stream(service, plain_valid, permit, timing, model, include_usage,
                                       bool(plain.logprobs)):
            yield event

    state = tools.ToolDeltas()
    try:
        async for event in tools.tool_stream(state, tokens(), chunk, fallback, call_finish):
            yield event
        if state.declined:
            return                                              # the fallback stream ended with [DONE]
        if include_usage:
            yield sse({**header, "choices": [], "usage": response_bodies.usage(valid.input_length, generated)})
        yield sse(DONE)
    except ApiError as exc:
        yield sse(exc.body())
    finally:
        permit.release()
