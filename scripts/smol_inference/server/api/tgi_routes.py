"""TGI's own generation routes: `POST /generate`, `/generate_stream`, `/` (compat) and `/tokenize`.

Behaviour of TGI's router/src/server.rs and docs/openapi.json: `/` answers
a JSON list unless `stream` is true; streams are SSE `data: {json}` events, the last one carrying
`generated_text` (and `details` when asked), no `[DONE]`; an error after the stream started is an
event `{"error", "error_type"}` with status 200; a `:` comment keeps idle streams alive.
text_generation_inference/differences_from_tgi.md, "The API".
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from . import response_bodies
from ..config import KEEP_ALIVE_S
from ..engine import Sequence, TokenInfo
from ..errors import ApiError
from .tgi_schemas import GenerateRequest
from ..service import Permit, Service, Timing
from ..validation import ValidRequest, check_parameters, validate

router = APIRouter()
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse(data: dict[str, Any] | str) -> str:
    return f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n"


def service_of(request: Request) -> Service:
    service = request.app.state.service
    if service is None:
        raise ApiError("unhealthy", "Model is not loaded yet")
    return service


async def validated(service: Service, body: GenerateRequest, timing: Timing, stream: bool) -> ValidRequest:
    try:
        valid = await service.off_loop(lambda: validate(body.inputs, body.parameters, service.config,
                                                        service.engine.tokenizer, stream=stream))
    except ApiError as exc:
        service.fail(exc)
        raise
    timing.validation = time.perf_counter() - timing.start
    return valid


async def run_blocking(service: Service, valid: ValidRequest, request: Request, prompt: str,
                       timing: Timing) -> tuple[dict[str, Any], dict[str, str]]:
    """Run one request (best_of sequences in parallel), return (GenerateResponse, headers)."""
    if valid.best_of > 1:
        tickets = [service.submit(valid, seed=random.getrandbits(63)) for _ in range(valid.best_of)]
    else:
        tickets = [service.submit(valid)]
    try:
        seqs = await asyncio.gather(*(service.wait(t, request) for t in tickets))
    except ApiError as exc:
        service.fail(exc)
        raise
    finally:
        for t in tickets:
            t.seq.cancel()
    tops = [t.top for t in tickets]
    scores = [sum(tok.logprob or 0.0 for tok in seq.generated) for seq in seqs]
    best = max(range(len(seqs)), key=scores.__getitem__)
    others = [response_bodies.best_of_sequence(valid, s, prompt, tops[i]) for i, s in enumerate(seqs) if i != best]
    body = response_bodies.generate_response(valid, seqs[best], prompt, tops[best], others or None)
    service.finish(valid, seqs[best], timing)
    return body, service.headers(valid, seqs[best], timing)


async def token_stream(service: Service, valid: ValidRequest, permit: Permit | None,
                       timing: Timing, count: bool = True) -> AsyncIterator[tuple[int, TokenInfo | None, list[TokenInfo], Sequence | None]]:
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
                    yield ":\n\n"
                    continue
                yield sse(response_bodies.stream_event(index, tok, top, seq, valid, prompt))
        except ApiError as exc:
            yield sse(exc.body())

    headers = {**SSE_HEADERS, "x-compute-type": service.compute_type}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


async def generate_common(request: Request, body: GenerateRequest, stream: bool, as_list: bool) -> Any:
    service = service_of(request)
    timing = Timing(start=time.perf_counter())
    permit = service.admit()
    try:
        valid = await validated(service, body, timing, stream)
        if stream:
            response = tgi_stream(service, valid, permit, timing, body.inputs)
            permit = None                        # the stream owns it now
            return response
        result, headers = await run_blocking(service, valid, request, body.inputs, timing)
        return JSONResponse([result] if as_list else result, headers=headers)
    finally:
        if permit is not None:
            permit.release()


@router.post("/generate", tags=["Text Generation Inference"])
async def generate(request: Request, body: GenerateRequest) -> Any:
    """Generate text (TGI `GenerateRequest` -> `GenerateResponse`)."""
    return await generate_common(request, body, stream=False, as_list=False)


@router.post("/generate_stream", tags=["Text Generation Inference"])
async def generate_stream(request: Request, body: GenerateRequest) -> Any:
    """Generate text, one server-sent event per token (TGI `StreamResponse`)."""
    return await generate_common(request, body, stream=True, as_list=False)


@router.post("/", tags=["Text Generation Inference"])
async def compat_generate(request: Request, body: GenerateRequest) -> Any:
    """TGI's compatibility route: `stream` picks SSE, otherwise a JSON list of one response."""
    return await generate_common(request, body, stream=body.stream, as_list=True)


@router.post("/tokenize", tags=["Text Generation Inference"])
async def tokenize(request: Request, body: GenerateRequest) -> Any:
    """Token ids with their text and byte offsets into the UTF-8 input (TGI `TokenizeResponse`)."""
    service = service_of(request)
    tokenizer = service.engine.tokenizer
    if not body.inputs:
        raise ApiError("validation", "`inputs` cannot be empty")
    if body.parameters is not None:
        check_parameters(body.parameters, service.config)
    return byte_offsets(body.inputs, tokenizer(body.inputs, return_offsets_mapping=True))


def byte_offsets(text: str, encoding: Any) -> list[dict[str, Any]]:
    """TGI's `SimpleToken`s: `start`/`stop` are byte offsets into the UTF-8 text (the Rust tokenizer's
    offsets), `text` the characters they cover. Python's tokenizer reports character offsets."""
    at = [0]
    for char in text:                                  # at[i] = UTF-8 bytes before character i
        at.append(at[-1] + len(char.encode("utf-8")))
    return [{"id": int(i), "text": text[start:stop], "start": at[start], "stop": at[stop]}
            for i, (start, stop) in zip(encoding["input_ids"], encoding["offset_mapping"], strict=False)]
