"""The streamed answers, one module for both APIs: the token events of one request, and the SSE bodies
TGI's routes and the OpenAI routes write from them.

`token_stream` reads a request's ticket (service.py) and yields each token as the model thread
produces it, with a keep-alive tick while it waits (TGI: a `:` comment every 15 s). The bodies follow
TGI's router/src/server.rs: TGI's stream ends with the event that carries `generated_text` and has no
`[DONE]`; OpenAI's chunks (`chat.completion.chunk`, `text_completion`) end with `data: [DONE]`. An error
after the stream started is an event `{"error", "error_type"}` with status 200. The framing itself is
smol_inference/sse.py, shared with lesson 1. text_generation_inference/serve_and_query.md, "Streaming";
text_generation_inference/differences_from_tgi.md, "The API".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

from ...sse import DONE, KEEP_ALIVE, SSE_HEADERS, sse
from ..chat import dialect
from ..config import KEEP_ALIVE_S
from ..engine import Sequence, TokenInfo
from ..errors import ApiError
from ..service import Permit, Service, Timing
from ..validation import ValidRequest
from . import response_bodies


#: (index, token or None for a keep-alive tick, top tokens, the finished sequence or None)
TokenEvent = tuple[int, TokenInfo | None, list[TokenInfo], Sequence | None]


async def token_stream(service: Service, valid: ValidRequest, permit: Permit | None,
                       timing: Timing, count: bool = True) -> AsyncIterator[TokenEvent]:
    """(index, token, top tokens, finished sequence or None) as the model thread produces them.

    A `None` token is a keep-alive tick. Closing the iterator early (client gone) cancels the sequence.
    """
    ticket = service.submit(valid)
    index = 0
    try:
        while True:
            event = await ticket.next(KEEP_ALIVE_S)
            if event is None:
                yield 0, None, [], None          # keep-alive tick
                continue
            kind, payload = event
            if kind == "error":
                service.fail(ApiError("generation", payload))
                raise ApiError("generation", payload)
            tok, top, done = payload
            index += 1
            if done:
                service.finish(valid, ticket.seq, timing, count=count)
                if permit is not None:
                    permit.release()              # before the last event: a client may send its next request at once
                yield index, tok, top, ticket.seq
                return
            yield index, tok, top, None
    finally:
        ticket.seq.cancel()                       # no-op when finished; frees the slot when the client left
        if permit is not None:
            permit.release()


def tgi_stream(service: Service, valid: ValidRequest, permit: Permit, timing: Timing,
               prompt: str) -> StreamingResponse:
    async def events() -> AsyncIterator[str]:
        try:
            async for index, tok, top, seq in token_stream(service, valid, permit, timing):
                if tok is None:
                    yield KEEP_ALIVE
                    continue
                yield sse(response_bodies.stream_event(index, tok, top, seq, valid, prompt))
        except ApiError as exc:
            yield sse(exc.body())

    headers = {**SSE_HEADERS, "x-compute-type": service.compute_type}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


async def chat_stream(service: Service, valid: ValidRequest, permit: Any, timing: Timing, model: str,
                      include_usage: bool, logprobs: bool) -> AsyncIterator[str]:
    header = {**response_bodies.openai_header(model, "chatcmpl", valid.request_id),
              "object": "chat.completion.chunk"}
    generated = 0
    cutter = dialect.stop_streamer(valid.stopping)
    try:
        async for _, tok, top, seq in token_stream(service, valid, permit, timing):
            if tok is None:
                yield KEEP_ALIVE
                continue
            generated += 1
            lp = None
            if logprobs:
                lp = {"content": [{"token": tok.text, "logprob": tok.logprob,
                                   "top_logprobs": [{"token": x.text, "logprob": x.logprob} for x in top]}]}
            content = dialect.stream_piece(cutter, valid.stopping, tok, seq)
            delta = {"role": "assistant", "content": content}
            finish = response_bodies.OPENAI_FINISH[seq.finish_reason] if seq is not None else None
            yield sse({**header, "choices": [{"index": 0, "delta": delta, "logprobs": lp, "finish_reason": finish}],
                       "usage": None})
        if include_usage:
            yield sse({**header, "choices": [], "usage": response_bodies.usage(valid.input_length, generated)})
        yield sse(DONE)
    except ApiError as exc:
        yield sse(exc.body())


async def completion_stream(service: Service, valids: list[ValidRequest], permit: Any, timing: Timing,
                            model: str, include_usage: bool) -> AsyncIterator[str]:
    """Interleave the prompts' token streams as tokens arrive; one `[DONE]` at the end."""
    header = {**response_bodies.openai_header(model, "cmpl", valids[0].request_id), "object": "text_completion"}
    merged: asyncio.Queue = asyncio.Queue()
    generated = [0] * len(valids)

    async def pump(index: int, valid: ValidRequest) -> None:
        cutter = dialect.stop_streamer(valid.stopping)
        try:
            async for _, tok, _top, seq in token_stream(service, valid, None, timing, count=False):
                if tok is not None:
                    generated[index] += 1
                    # TGI's `CompletionComplete.finish_reason` is a string: "" until the last chunk.
                    finish = response_bodies.OPENAI_FINISH[seq.finish_reason] if seq is not None else ""
                    text = dialect.stream_piece(cutter, valid.stopping, tok, seq)
                    await merged.put({"index": index, "text": text, "logprobs": None, "finish_reason": finish})
            await merged.put(None)
        except ApiError as exc:
            await merged.put(exc)

    tasks = [asyncio.create_task(pump(i, v)) for i, v in enumerate(valids)]
    try:
        open_streams = len(tasks)
        while open_streams:
            item = await merged.get()
            if item is None:
                open_streams -= 1
            elif isinstance(item, ApiError):
                yield sse(item.body())
                return
            else:
                yield sse({**header, "choices": [item]})
        service.metrics.request_success.inc()       # one request, however many prompts
        if include_usage:
            used = response_bodies.usage(sum(v.input_length for v in valids), sum(generated))
            yield sse({**header, "choices": [], "usage": used})
        permit.release()                            # before [DONE]: the client may send its next request at once
        yield sse(DONE)
    finally:
        for task in tasks:
            task.cancel()
        permit.release()
