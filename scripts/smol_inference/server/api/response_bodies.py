"""JSON bodies the course server returns, field for field as TGI's OpenAPI schemas name them.

`GenerateResponse`/`Details`, `StreamResponse`/`StreamDetails`, `ChatCompletion(Chunk)`,
`CompletionFinal`/`Chunk` in TGI's docs/openapi.json. The OpenAI routes report
eos_token as "stop" (router/src/lib.rs, `FinishReason`). text_generation_inference/differences_from_tgi.md, "The API".
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from ..engine import Sequence, TokenInfo
from ..validation import ValidRequest

SYSTEM_FINGERPRINT_PREFIX = "smol-inference"
#: TGI finish reason -> OpenAI's, keyed by `Sequence.finish_reason` (None until it finishes: never looked up then).
OPENAI_FINISH: dict[str | None, str] = {"eos_token": "stop", "stop_sequence": "stop", "length": "length"}


def token(t: TokenInfo) -> dict[str, Any]:
    return {"id": t.id, "text": t.text, "logprob": t.logprob, "special": t.special}


def prefill_token(t: TokenInfo) -> dict[str, Any]:
    return {"id": t.id, "text": t.text, "logprob": t.logprob}


def generated_text(valid: ValidRequest, seq: Sequence, prompt: str) -> str:
    return prompt + seq.text if valid.return_full_text else seq.text


def details(valid: ValidRequest, seq: Sequence, tops: list[list[TokenInfo]]) -> dict[str, Any]:
    """TGI's `Details` (non-streaming)."""
    body: dict[str, Any] = {
        "finish_reason": seq.finish_reason,
        "generated_tokens": len(seq.generated),
        "seed": seq.sampling.seed if seq.sampling.do_sample else None,
        "prefill": [prefill_token(t) for t in seq.prefill],
        "tokens": [token(t) for t in seq.generated],
    }
    if any(tops):
        body["top_tokens"] = [[token(t) for t in top] for top in tops]
    return body


def generate_response(valid: ValidRequest, seq: Sequence, prompt: str, tops: list[list[TokenInfo]],
                      best_of: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """TGI's `GenerateResponse`."""
    body: dict[str, Any] = {"generated_text": generated_text(valid, seq, prompt)}
    if valid.details:
        body["details"] = details(valid, seq, tops)
        if best_of:
            body["details"]["best_of_sequences"] = best_of
    return body


def best_of_sequence(valid: ValidRequest, seq: Sequence, prompt: str,
                     tops: list[list[TokenInfo]]) -> dict[str, Any]:
    return {"generated_text": generated_text(valid, seq, prompt), **details(valid, seq, tops)}


def stream_event(index: int, t: TokenInfo, top: list[TokenInfo], seq: Sequence | None,
                 valid: ValidRequest, prompt: str) -> dict[str, Any]:
    """TGI's `StreamResponse`; `seq` is given on the last event, which carries the text and details."""
    body: dict[str, Any] = {"index": index, "token": token(t), "generated_text": None, "details": None}
    if top:
        body["top_tokens"] = [token(x) for x in top]
    if seq is not None:
        body["generated_text"] = generated_text(valid, seq, prompt)
        if valid.details:
            body["details"] = {"finish_reason": seq.finish_reason, "generated_tokens": len(seq.generated),
                               "seed": seq.sampling.seed if seq.sampling.do_sample else None,
                               "input_length": len(seq.input_ids)}
    return body


def openai_header(model: str, kind: str, request_id: str | None = None) -> dict[str, Any]:
    """`request_id` (vLLM's `request_id`, SGLang's `rid`) names the response as vLLM does: `{kind}-{request_id}`."""
    return {"id": f"{kind}-{request_id or uuid.uuid4().hex}", "created": int(time.time()), "model": model,
            "system_fingerprint": SYSTEM_FINGERPRINT_PREFIX}


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def chat_logprobs(seq: Sequence, tops: list[list[TokenInfo]]) -> dict[str, Any]:
    return {"content": [{"token": t.text, "logprob": t.logprob,
                         "top_logprobs": [{"token": x.text, "logprob": x.logprob} for x in top]}
                        for t, top in zip(seq.generated, tops, strict=False)]}
