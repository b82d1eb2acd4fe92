"""The OpenAI-compatible routes TGI also serves: `/v1/chat/completions`, `/v1/completions`, `/v1/models`.

Fields map onto TGI's generate parameters as TGI's router maps them (chat/request.py); eos_token is
reported as "stop"; streams end with `data: [DONE]`. Stop strings follow OpenAI's rule, streaming
included (smol_inference/stopping.py). A multi-prompt completion is one request in the metrics. Shapes per
TGI's docs/openapi.json. text_generation_inference/serve_and_query.md, "The OpenAI client and InferenceClient".
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError

from ...sse import SSE_HEADERS
from ...stopping import RULE_OPENAI
from ..chat import dialect, structured_output, tools
from ..chat.request import chat_prompt, check_chat, check_completion, parameters, top_n
from ..errors import ApiError
from ..service import Permit, Timing
from ..validation import check_parameters, validate
from . import response_bodies
from .common import byte_offsets, chat_valid, checked, collect, generate_common, service_of
from .openai_schemas import ChatRequest, CompletionRequest
from .streaming import chat_stream, completion_stream
from .tgi_schemas import GenerateRequest
from .tool_answer import tool_answer

router = APIRouter()


@router.post("/v1/chat/completions", tags=["OpenAI"])
async def chat_completions(request: Request, body: ChatRequest) -> Any:
    """Chat completion (OpenAI `ChatCompletion`, or `ChatCompletionChunk` events when streaming)."""
    service = service_of(request)
    timing = Timing(start=time.perf_counter())
    permit: Permit | None                # None once a stream owns it (declared apart: narrowed below)
    permit = service.admit()
    try:
        valid, plan = await service.off_loop(lambda: checked(service, lambda: chat_valid(service, body)))
        timing.validation = time.perf_counter() - timing.start
        model = request.app.state.model_name
        if plan.tools is not None:                              # the answer is a tool call
            response = await tool_answer(request, service, body, valid, permit, timing, model)
            permit = None if body.stream else permit
            return response
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            stream = chat_stream(service, valid, permit, timing, model, include_usage, bool(body.logprobs))
            permit = None
            return StreamingResponse(stream, media_type="text/event-stream", headers=SSE_HEADERS)
        seq, tops = await collect(service, valid, request, timing)
        choice = {"index": 0, "message": {"role": "assistant", "content": seq.text},
                  "logprobs": response_bodies.chat_logprobs(seq, tops) if body.logprobs else None,
                  "finish_reason": response_bodies.OPENAI_FINISH[seq.finish_reason]}
        return JSONResponse({**response_bodies.openai_header(model, "chatcmpl", valid.request_id),
                             "object": "chat.completion", "choices": [choice],
                             "usage": response_bodies.usage(valid.input_length, len(seq.generated))},
                            headers=service.headers(valid, seq, timing))
    finally:
        if permit is not None:
            permit.release()


@router.post("/v1/completions", tags=["OpenAI"])
async def completions(request: Request, body: CompletionRequest) -> Any:
    """Text completion of one or more prompts (OpenAI `CompletionFinal`, or `Chunk` events)."""
    service = service_of(request)
    timing = Timing(start=time.perf_counter())
    permit: Permit | None                # None once a stream owns it (declared apart: narrowed below)
    permit = service.admit()
    try:
        prompts = body.prompts()
        limit = service.config.max_client_batch_size
        if not 1 <= len(prompts) <= limit:
            exc = ApiError("validation", f"Number of prompts must be between 1 and {limit}. Given: {len(prompts)}")
            service.fail(exc)
            raise exc
        checked(service, lambda: check_completion(body))
        grammar = checked(service, lambda: structured_output.checked(structured_output.response_format_grammar(
            body.response_format), service.engine.tokenizer))
        valids = [await service.off_loop(lambda p=p: checked(service, lambda: dialect.finish(validate(
                      p, parameters(body), service.config, service.engine.tokenizer, stream=body.stream,
                      add_special_tokens=dialect.add_special_tokens(body, True), stop_rule=RULE_OPENAI),
                      body, service.engine.tokenizer, service.engine.eos_ids))) for p in prompts]  # off the event loop
        valids = [replace(v, grammar=grammar or v.grammar) for v in valids]
        timing.validation = time.perf_counter() - timing.start
        model = request.app.state.model_name
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            stream = completion_stream(service, valids, permit, timing, model, include_usage)
            permit = None
            return StreamingResponse(stream, media_type="text/event-stream", headers=SSE_HEADERS)
        results = await asyncio.gather(*(collect(service, v, request, timing, count=False) for v in valids))
        service.metrics.request_success.inc()       # one request, however many prompts
        choices = [{"index": i, "text": seq.text, "logprobs": None,
                    "finish_reason": response_bodies.OPENAI_FINISH[seq.finish_reason]}
                   for i, (seq, _) in enumerate(results)]
        used = response_bodies.usage(sum(v.input_length for v in valids), sum(len(s.generated) for s, _ in results))
        return JSONResponse({**response_bodies.openai_header(model, "cmpl", valids[0].request_id),
                             "object": "text_completion", "choices": choices, "usage": used},
                            headers=service.headers(valids[0], results[0][0], timing))
    finally:
        if permit is not None:
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
    check_chat(body)
    check_parameters(parameters(body, top_n(body)), service.config)
    text = chat_prompt(service.engine.tokenizer, body, tools.plan_chat(body, service.engine.tokenizer))
    encoding = service.engine.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    return {"tokenize_response": byte_offsets(text, encoding), "templated_text": text}


@router.get("/v1/models", tags=["OpenAI"])
async def models(request: Request) -> Any:
    """The served model: TGI's `ModelInfo` fields, inside OpenAI's list envelope so both clients read it."""
    info = {"id": request.app.state.model_name, "object": "model", "created": request.app.state.created,
            "owned_by": request.app.state.model_name.split("/")[0]}
    return {**info, "object": "list", "data": [info]}
