"""What the TGI routes and the OpenAI routes share: the service behind a request, validation off the
event loop, a blocking run, and TGI's generation (`/generate`, `/generate_stream`, `/`, and the
TGI bodies of `/invocations`).

Both route modules import this one, and neither imports the other. TGI's router shares the same way:
its chat and completions handlers call `generate_internal` and `generate_stream_internal`
(router/src/server.rs). text_generation_inference/inside_the_server.md, "Inside the server".
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import replace
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from ...stopping import RULE_OPENAI
from ..chat import dialect, tools
from ..chat.request import chat_prompt, check_chat, parameters, top_n
from ..errors import ApiError
from ..service import Permit, Service, Timing
from ..validation import ValidRequest, validate
from . import response_bodies
from .openai_schemas import ChatRequest
from .streaming import tgi_stream
from .tgi_schemas import GenerateRequest


def service_of(request: Request) -> Service:
    service = request.app.state.service
    if service is None:
        raise ApiError("unhealthy", "Model is not loaded yet")
    return service


def checked(service: Service, make: Any) -> Any:
    try:
        return make()
    except ApiError as exc:
        service.fail(exc)
        raise


async def validated(service: Service, body: GenerateRequest, timing: Timing, stream: bool) -> ValidRequest:
    try:
        valid = await service.off_loop(lambda: validate(body.inputs, body.parameters, service.config,
                                                        service.engine.tokenizer, stream=stream))
    except ApiError as exc:
        service.fail(exc)
        raise
    timing.validation = time.perf_counter() - timing.start
    return valid


async def collect(service: Service, valid: ValidRequest, request: Request, timing: Timing,
                  count: bool = True) -> Any:
    ticket = service.submit(valid)
    try:
        seq = await service.wait(ticket, request)
    except ApiError as exc:
        service.fail(exc)
        raise
    finally:
        ticket.seq.cancel()
    service.finish(valid, seq, timing, count=count)
    return seq, ticket.top


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


async def generate_common(request: Request, body: GenerateRequest, stream: bool, as_list: bool) -> Any:
    service = service_of(request)
    timing = Timing(start=time.perf_counter())
    permit: Permit | None                # None once a stream owns it (declared apart: narrowed below)
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


def chat_valid(service: Service, body: ChatRequest) -> tuple[ValidRequest, tools.ChatPlan]:
    """The chat fields checked (chat/request.py), response_format/tools planned (chat/tools.py), the
    template applied, then TGI's validation; the plan's grammar goes with the request."""
    check_chat(body)
    tokenizer = service.engine.tokenizer
    plan = tools.plan_chat(body, tokenizer)
    valid = validate(chat_prompt(tokenizer, body, plan), parameters(body, top_n(body)), service.config, tokenizer,
                     stream=body.stream, add_special_tokens=dialect.add_special_tokens(body, False),
                     stop_rule=RULE_OPENAI)
    return dialect.finish(replace(valid, grammar=plan.grammar), body, tokenizer, service.engine.eos_ids), plan


def byte_offsets(text: str, encoding: Any) -> list[dict[str, Any]]:
    """TGI's `SimpleToken`s: `start`/`stop` are byte offsets into the UTF-8 text (the Rust tokenizer's
    offsets), `text` the characters they cover. Python's tokenizer reports character offsets."""
    at = [0]
    for char in text:                                  # at[i] = UTF-8 bytes before character i
        at.append(at[-1] + len(char.encode("utf-8")))
    return [{"id": int(i), "text": text[start:stop], "start": at[start], "stop": at[stop]}
            for i, (start, stop) in zip(encoding["input_ids"], encoding["offset_mapping"], strict=False)]
