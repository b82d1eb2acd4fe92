"""The OpenAI-compatible routes TGI also serves: `/v1/chat/completions`, `/v1/completions`, `/v1/models`.

Mapping of OpenAI fields onto TGI's generate parameters as TGI's router does it (router/src/lib.rs,
`ChatRequest`, `CompletionRequest`): `max_tokens` -> `max_new_tokens`, temperature 0 -> greedy,
`logprobs`/`top_logprobs` -> details/top_n_tokens; eos_token is reported as "stop"; streams end
with `data: [DONE]`. Shapes per ../shared/reference/tgi-openapi.json. text_generation_inference.md,
"OpenAI-compatible API".
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError

from . import responses
from .errors import ApiError
from .schemas import ChatRequest, CompletionRequest, GenerateParameters, GenerateRequest
from .service import Service, Timing
from .tgi_routes import SSE_HEADERS, generate_common, service_of, sse, token_stream
from .validation import ValidRequest, check_parameters, validate

router = APIRouter()
DONE = "[DONE]"


def parameters(body: ChatRequest | CompletionRequest, top_n: int | None = None) -> GenerateParameters:
    greedy = body.temperature is not None and body.temperature == 0
    return GenerateParameters(
        do_sample=not greedy, temperature=None if greedy else body.temperature, top_p=body.top_p,
        max_new_tokens=body.max_tokens, seed=body.seed, stop=body.stop_list(), details=True,
        frequency_penalty=body.frequency_penalty, repetition_penalty=body.repetition_penalty,
        top_n_tokens=top_n)


def chat_prompt(service: Service, body: ChatRequest) -> str:
    if body.tools:
        raise ApiError("tool_error", "tools are not supported by the course server")
    if body.response_format is not None:
        raise ApiError("validation", "grammar is not supported")
    tokenizer = service.engine.tokenizer
    try:
        return tokenizer.apply_chat_template([{"role": m.role, "content": m.text()} for m in body.messages],
                                             tokenize=False, add_generation_prompt=True)
    except Exception as exc:  # noqa: BLE001 - jinja errors of any kind are the template's fault
        raise ApiError("template_error", f"chat template error: {exc}") from None


async def checked(service: Service, make: Any) -> Any:
    try:
        return await service.off_loop(make)
    except ApiError as exc:
        service.fail(exc)
        raise


async def collect(service: Service, valid: ValidRequest, request: Request, timing: Timing) -> Any:
    ticket = service.submit(valid)
    try:
        seq = await service.wait(ticket, request)
    except ApiError as exc:
        service.fail(exc)
        raise
    finally:
        ticket.seq.cancel()
    service.finish(valid, seq, timing)
    return seq, ticket.top


@router.post("/v1/chat/completions", tags=["OpenAI"])
async def chat_completions(request: Request, body: ChatRequest) -> Any:
    """Chat completion (OpenAI `ChatCompletion`, or `ChatCompletionChunk` events when streaming)."""
    service = service_of(request)
    timing = Timing(start=time.perf_counter())
    permit = service.admit()
    try:
        top_n = body.top_logprobs if body.logprobs else None
        valid = await checked(service, lambda: validate(chat_prompt(service, body), parameters(body, top_n),
                                                  service.config, service.engine.tokenizer,
                                                  stream=body.stream, add_special_tokens=False))
        timing.validation = time.perf_counter() - timing.start
        model = request.app.state.model_name
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            stream = chat_stream(service, valid, permit, timing, model, include_usage, bool(body.logprobs))
            permit = None
            return StreamingResponse(stream, media_type="text/event-stream", headers=SSE_HEADERS)
        seq, tops = await collect(service, valid, request, timing)
        choice = {"index": 0, "message": {"role": "assistant", "content": seq.text},
                  "logprobs": responses.chat_logprobs(seq, tops) if body.logprobs else None,
                  "finish_reason": responses.OPENAI_FINISH[seq.finish_reason]}
        return JSONResponse({**responses.openai_header(model, "chatcmpl"), "object": "chat.completion",
                             "choices": [choice], "usage": responses.usage(valid.input_length, len(seq.generated))},
                            headers=service.headers(valid, seq, timing))
    finally:
        if permit is not None:
            permit.release()


async def chat_stream(service: Service, valid: ValidRequest, permit: Any, timing: Timing, model: str,
                      include_usage: bool, logprobs: bool) -> AsyncIterator[str]:
    header = {**responses.openai_header(model, "chatcmpl"), "object": "chat.completion.chunk"}
    generated = 0
    try:
        async for _, tok, top, seq in token_stream(service, valid, permit, timing):
            if tok is None:
                yield ":\n\n"
                continue
            generated += 1
            lp = None
            if logprobs:
                lp = {"content": [{"token": tok.text, "logprob": tok.logprob,
                                   "top_logprobs": [{"token": x.text, "logprob": x.logprob} for x in top]}]}
            delta = {"role": "assistant", "content": "" if tok.special else tok.text}
            finish = responses.OPENAI_FINISH[seq.finish_reason] if seq is not None else None
            yield sse({**header, "choices": [{"index": 0, "delta": delta, "logprobs": lp, "finish_reason": finish}],
                       "usage": None})
        if include_usage:
            yield sse({**header, "choices": [], "usage": responses.usage(valid.input_length, generated)})
        yield sse(DONE)
    except ApiError as exc:
        yield sse(exc.body())


@router.post("/v1/completions", tags=["OpenAI"])
async def completions(request: Request, body: CompletionRequest) -> Any:
    """Text completion of one or more prompts (OpenAI `CompletionFinal`, or `Chunk` events)."""
    service = service_of(request)
    timing = Timing(start=time.perf_counter())
    permit = service.admit()
    try:
        prompts = body.prompts()
        limit = service.config.max_client_batch_size
        if not 1 <= len(prompts) <= limit:
            exc = ApiError("validation", f"Number of prompts must be between 1 and {limit}. Given: {len(prompts)}")
            service.fail(exc)
            raise exc
        valids = [await checked(service, lambda p=p: validate(p, parameters(body), service.config,
                                                        service.engine.tokenizer, stream=body.stream))
                  for p in prompts]
        timing.validation = time.perf_counter() - timing.start
        model = request.app.state.model_name
        if body.stream:
            stream = completion_stream(service, valids, permit, timing, model)
            permit = None
            return StreamingResponse(stream, media_type="text/event-stream", headers=SSE_HEADERS)
        results = await asyncio.gather(*(collect(service, v, request, timing) for v in valids))
        choices = [{"index": i, "text": seq.text, "logprobs": None,
                    "finish_reason": responses.OPENAI_FINISH[seq.finish_reason]}
                   for i, (seq, _) in enumerate(results)]
        used = responses.usage(sum(v.input_length for v in valids), sum(len(s.generated) for s, _ in results))
        return JSONResponse({**responses.openai_header(model, "cmpl"), "object": "text_completion",
                             "choices": choices, "usage": used},
                            headers=service.headers(valids[0], results[0][0], timing))
    finally:
        if permit is not None:
            permit.release()


async def completion_stream(service: Service, valids: list[ValidRequest], permit: Any, timing: Timing,
                            model: str) -> AsyncIterator[str]:
    """Interleave the prompts' token streams as tokens arrive; one `[DONE]` at the end."""
    header = {**responses.openai_header(model, "cmpl"), "object": "text_completion"}
    merged: asyncio.Queue = asyncio.Queue()

    async def pump(index: int, valid: ValidRequest) -> None:
        try:
            async for _, tok, _top, seq in token_stream(service, valid, None, timing):
                if tok is not None:
                    # TGI's `CompletionComplete.finish_reason` is a string: "" until the last chunk.
                    finish = responses.OPENAI_FINISH[seq.finish_reason] if seq is not None else ""
                    await merged.put({"index": index, "text": "" if tok.special else tok.text,
                                      "logprobs": None, "finish_reason": finish})
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
        permit.release()                            # before [DONE]: the client may send its next request at once
        yield sse(DONE)
    finally:
        for task in tasks:
            task.cancel()
        permit.release()


@router.post("/invocations", tags=["Text Generation Inference"])
async def invocations(request: Request) -> Any:
    """SageMaker's single route: a body with `messages` is a chat request, else a TGI generate request."""
    try:
        data = await request.json()
    except ValueError:
        raise ApiError("validation", "Failed to parse the request body as JSON") from None
    try:
        if isinstance(data, dict) and "messages" in data:
            return await chat_completions(request, ChatRequest.model_validate(data))
        if isinstance(data, dict) and "prompt" in data:
            return await completions(request, CompletionRequest.model_validate(data))
        body = GenerateRequest.model_validate(data)
    except ValidationError as exc:
        raise ApiError("validation", f"Failed to deserialize the JSON body: {exc.errors()[0]['msg']}") from None
    return await generate_common(request, body, stream=body.stream, as_list=False)


@router.post("/chat_tokenize", tags=["Text Generation Inference"])
async def chat_tokenize(request: Request, body: ChatRequest) -> Any:
    """The chat template applied and tokenized (TGI `ChatTokenizeResponse`); no generation."""
    service = service_of(request)
    check_parameters(parameters(body, body.top_logprobs if body.logprobs else None), service.config)
    text = chat_prompt(service, body)
    encoding = service.engine.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    tokens = [{"id": int(i), "text": text[start:stop], "start": int(start), "stop": int(stop)}
              for i, (start, stop) in zip(encoding["input_ids"], encoding["offset_mapping"], strict=False)]
    return {"tokenize_response": tokens, "templated_text": text}


@router.get("/v1/models", tags=["OpenAI"])
async def models(request: Request) -> Any:
    """The served model: TGI's `ModelInfo` fields, inside OpenAI's list envelope so both clients read it."""
    info = {"id": request.app.state.model_name, "object": "model", "created": request.app.state.created,
            "owned_by": request.app.state.model_name.split("/")[0]}
    return {**info, "object": "list", "data": [info]}
