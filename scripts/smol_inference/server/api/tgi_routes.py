"""TGI's own generation routes: `POST /generate`, `/generate_stream`, `/` (compat) and `/tokenize`.

Behaviour of TGI's router/src/server.rs and docs/openapi.json: `/` answers
a JSON list unless `stream` is true; streams are SSE `data: {json}` events, the last one carrying
`generated_text` (and `details` when asked), no `[DONE]`; an error after the stream started is an
event `{"error", "error_type"}` with status 200; a `:` comment keeps idle streams alive.
text_generation_inference/differences_from_tgi.md, "The API".
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ..errors import ApiError
from ..validation import check_parameters
from .common import byte_offsets, generate_common, service_of
from .tgi_schemas import GenerateRequest

router = APIRouter()


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


