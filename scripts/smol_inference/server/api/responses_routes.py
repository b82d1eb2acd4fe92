"""`POST /v1/responses`: OpenAI's Responses API over the chat machinery, blocking or streamed.

The body becomes a chat request (responses_request.as_chat); the answer is OpenAI's `Response` object
(`object: "response"`, `output` items of type `message` with `output_text` parts, or `function_call`),
`status` "completed", or "incomplete" with `incomplete_details.reason: "max_output_tokens"` when the
length ran out. Streams are the Responses event types (openai-python `ResponseStreamEvent`; each SSE
event has an `event:` line and a `sequence_number`): response.created, response.in_progress,
response.output_item.added, response.content_part.added, response.output_text.delta ...,
response.output_text.done, response.content_part.done, response.output_item.done, then
response.completed (or response.incomplete); function calls stream as response.output_item.added,
response.function_call_arguments.delta/.done and response.output_item.done, after the call is generated.
No `[DONE]`. An error after the stream started is an `error` event carrying TGI's error fields too.
text_generation_inference/serve_and_query.md, "Extension fields and the Responses API".
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ..chat import dialect, tools
from ..errors import ApiError
from ...sse import SSE_HEADERS
from .common import chat_valid, checked, collect, service_of
from .responses_request import ResponsesRequest, as_chat
from ..service import Permit, Service, Timing
from .streaming import token_stream
from .tool_answer import plain_request
from ..validation import ValidRequest

router = APIRouter()


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


class Shell:
    """The fields of one `Response` that do not depend on the output (echoed from the request)."""

    def __init__(self, body: ResponsesRequest, model: str) -> None:
        self.body, self.model, self.created = body, model, int(time.time())
        self.id = body.request_id or body.rid or _id("resp")       # vLLM: the request_id is the response id

    def response(self, status: str, output: list[dict[str, Any]], usage: dict[str, Any] | None) -> dict[str, Any]:
        b = self.body
        return {"id": self.id, "object": "response", "created_at": self.created, "status": status, "error": None,
                "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
                "instructions": b.instructions, "max_output_tokens": b.max_output_tokens, "model": self.model,
                "output": output, "parallel_tool_calls": b.parallel_tool_calls is not False,
                "previous_response_id": None, "reasoning": None, "store": False, "background": False,
                "temperature": b.temperature, "top_p": b.top_p, "text": b.text or {"format": {"type": "text"}},
                "tool_choice": b.tool_choice or "auto", "tools": b.tools or [], "truncation": "disabled",
                "usage": usage, "user": b.user, "metadata": b.metadata or {}}


def usage(valid: ValidRequest, seq: Any) -> dict[str, Any]:
    """OpenAI `ResponseUsage`; cached_tokens are the prompt tokens the prefix cache served."""
    out = len(seq.generated)
    return {"input_tokens": valid.input_length, "input_tokens_details": {"cached_tokens": seq.num_cached},
            "output_tokens": out, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": valid.input_length + out}


def status(seq: Any) -> str:
    return "incomplete" if seq.finish_reason == "length" else "completed"


def message_item(text: str, item_status: str, item_id: str | None = None) -> dict[str, Any]:
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    return {"type": "message", "id": item_id or _id("msg"), "status": item_status, "role": "assistant",
            "content": [part] if item_status != "in_progress" else []}


def call_items(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "function_call", "id": _id("fc"), "call_id": call["id"], "name": call["function"]["name"],
             "arguments": call["function"]["arguments"], "status": "completed"} for call in message["tool_calls"]]


async def run(service: Service, request: Request, chat: Any, valid: ValidRequest, plan: Any,
              timing: Timing) -> tuple[list[dict[str, Any]], ValidRequest, Any]:
    """Generate the whole answer: (output items, the request that produced them, its sequence)."""
    seq, _ = await collect(service, valid, request, timing)
    if plan.tools is not None:
        message = checked(service, lambda: tools.tool_message(seq.text))
        if message is not None:
            return call_items(message), valid, seq
        _plain, valid = plain_request(service, chat)               # the model declined: answer in text
        seq, _ = await collect(service, valid, request, timing)
    return [message_item(seq.text, status(seq))], valid, seq


@router.post("/v1/responses", tags=["OpenAI"])
async def create_response(request: Request, body: ResponsesRequest) -> Any:
    """A model response (OpenAI `Response`, or Responses stream events when `stream` is true)."""
    service = service_of(request)
    timing = Timing(start=time.perf_counter())
    permit: Permit | None = service.admit()
    try:
        chat = checked(service, lambda: as_chat(body))
        valid, plan = await service.off_loop(lambda: checked(service, lambda: chat_valid(service, chat)))
        timing.validation = time.perf_counter() - timing.start
        shell = Shell(body, request.app.state.model_name)
        if body.stream:
            events = stream(service, request, chat, valid, plan, permit, timing, shell)
            permit = None
            return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)
        output, valid, seq = await run(service, request, chat, valid, plan, timing)
        return JSONResponse(shell.response(status(seq), output, usage(valid, seq)),
                            headers=service.headers(valid, seq, timing))
    finally:
        if permit is not None:
            permit.release()


class Events:
    """Responses SSE events, numbered in order."""

    def __init__(self) -> None:
        self.number = 0

    def __call__(self, kind: str, **fields: Any) -> str:
        data = {"type": kind, "sequence_number": self.number, **fields}
        self.number += 1
        return f"event: {kind}\ndata: {json.dumps(data)}\n\n"


def item_events(event: Events, index: int, item: dict[str, Any]) -> list[str]:
    """The events of one finished output item: added, its content, done."""
    if item["type"] == "function_call":
        where = {"item_id": item["id"], "output_index": index}
        return [event("response.output_item.added", output_index=index, item={**item, "arguments": "",
                                                                              "status": "in_progress"}),
                event("response.function_call_arguments.delta", **where, delta=item["arguments"]),
                event("response.function_call_arguments.done", **where, name=item["name"],
                      arguments=item["arguments"]),
                event("response.output_item.done", output_index=index, item=item)]
    text = item["content"][0]["text"]
    return [*text_open(event, index, item["id"]), *([text_delta(event, index, item["id"], text)] if text else []),
            *text_close(event, index, item)]


def text_open(event: Events, index: int, item_id: str) -> list[str]:
    empty = {"type": "output_text", "text": "", "annotations": []}
    return [event("response.output_item.added", output_index=index, item=message_item("", "in_progress", item_id)),
            event("response.content_part.added", item_id=item_id, output_index=index, content_index=0, part=empty)]


def text_delta(event: Events, index: int, item_id: str, delta: str) -> str:
    return event("response.output_text.delta", item_id=item_id, output_index=index, content_index=0, delta=delta,
                 logprobs=[])


def text_close(event: Events, index: int, item: dict[str, Any]) -> list[str]:
    part, where = item["content"][0], {"item_id": item["id"], "output_index": index, "content_index": 0}
    return [event("response.output_text.done", **where, text=part["text"], logprobs=[]),
            event("response.content_part.done", **where, part=part),
            event("response.output_item.done", output_index=index, item=item)]


async def stream(service: Service, request: Request, chat: Any, valid: ValidRequest, plan: Any, permit: Any,
                 timing: Timing, shell: Shell) -> AsyncIterator[str]:
    event = Events()
    try:
        yield event("response.created", response=shell.response("in_progress", [], None))
        yield event("response.in_progress", response=shell.response("in_progress", [], None))
        if plan.tools is not None:                  # a call is parsed once generated, then sent as events
            output, valid, seq = await run(service, request, chat, valid, plan, timing)
            for index, item in enumerate(output):
                for text in item_events(event, index, item):
                    yield text
        else:
            item_id, text, seq = _id("msg"), "", None
            for opened in text_open(event, 0, item_id):
                yield opened
            cutter = dialect.stop_streamer(valid.stopping)
            async for _, tok, _top, seq in token_stream(service, valid, permit, timing):
                if tok is None:
                    yield ":\n\n"
                    continue
                piece = dialect.stream_piece(cutter, valid.stopping, tok, seq)
                text += piece
                if piece:
                    yield text_delta(event, 0, item_id, piece)
            output = [message_item(text, status(seq), item_id)]
            for closed in text_close(event, 0, output[0]):
                yield closed
        final = shell.response(status(seq), output, usage(valid, seq))
        yield event("response.completed" if final["status"] == "completed" else "response.incomplete", response=final)
    except ApiError as exc:
        yield event("error", code=exc.error_type, message=exc.error, param=None, **exc.body())
    finally:
        if permit is not None:
            permit.release()
