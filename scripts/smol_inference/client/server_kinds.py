"""Which engine answers at a URL, in TGI's vocabulary: `/info` without TGI, and load gauges by engine.

TGI (and the course server) answer `GET /info`. vLLM and SGLang do not; both list the served model at
`GET /v1/models` (OpenAI's `ModelList`, whose cards carry vLLM's and SGLang's extra `max_model_len`;
vllm/entrypoints/openai/protocol.py, `ModelCard`), and SGLang adds `GET /get_model_info`
(`model_path`, `tokenizer_path`, `is_generation`; docs.sglang.io, "SGLang Native APIs"). The fallback
dict built here keeps TGI's key names (`model_id`, `max_total_tokens`) so lesson code reads it unchanged,
and adds `engine`.

Load gauges, by engine (queued requests, running requests):
TGI `tgi_queue_size` / `tgi_batch_current_size` (router/src/infer/mod.rs), vLLM
`vllm:num_requests_waiting` / `vllm:num_requests_running` (docs.vllm.ai, "Production Metrics"), SGLang
`sglang:num_queue_reqs` / `sglang:num_running_reqs` (docs.sglang.io, "Production Metrics"; needs
`--enable-metrics`), llama.cpp `llamacpp:requests_deferred` / `llamacpp:requests_processing`
(tools/server, `--metrics`; its `/v1/models` cards say `owned_by: "llamacpp"`). Taught in
text_generation_inference/serve_and_query.md, "The same deployment with vLLM and SGLang".
"""

from __future__ import annotations

from typing import Any

TGI, VLLM, SGLANG, LLAMACPP, OPENAI = "tgi", "vllm", "sglang", "llamacpp", "openai"

#: Tried by `info()` after TGI's `/info` answered 404: SGLang's own route, then OpenAI's listing.
SGLANG_INFO_ROUTE = "/get_model_info"
MODELS_ROUTE = "/v1/models"
#: Statuses that mean "this server has no such route" (FastAPI answers 404; some proxies 405).
MISSING_ROUTE_STATUSES = (404, 405)

#: engine -> (gauge of queued requests, gauge of running requests)
LOAD_GAUGES: dict[str, tuple[str, str]] = {
    TGI: ("tgi_queue_size", "tgi_batch_current_size"),
    VLLM: ("vllm:num_requests_waiting", "vllm:num_requests_running"),
    SGLANG: ("sglang:num_queue_reqs", "sglang:num_running_reqs"),
    LLAMACPP: ("llamacpp:requests_deferred", "llamacpp:requests_processing"),
}
#: engine -> histogram of the time to first token, where the engine exports one (TGI does not).
TTFT_HISTOGRAMS: dict[str, str] = {
    VLLM: "vllm:time_to_first_token_seconds",
    SGLANG: "sglang:time_to_first_token_seconds",
}
#: engine -> histogram of the time a request waits in the queue.
QUEUE_HISTOGRAMS: dict[str, str] = {
    TGI: "tgi_request_queue_duration",
    VLLM: "vllm:request_queue_time_seconds",
}


def info_from_listing(listing: Any) -> dict[str, Any]:
    """TGI-style info from an OpenAI `/v1/models` body: model_id, max_total_tokens, engine.

    `owned_by` names the engine on vLLM ("vllm"), SGLang ("sglang") and llama.cpp ("llamacpp"); anything
    else is "openai".
    Raises ValueError when the body lists no model.
    """
    cards = listing.get("data") if isinstance(listing, dict) else None
    if isinstance(listing, dict) and cards is None and isinstance(listing.get("id"), str):
        cards = [listing]  # TGI's own /v1/models answers one card, not a list
    if not cards or not isinstance(cards[0], dict) or not isinstance(cards[0].get("id"), str):
        raise ValueError(f"{MODELS_ROUTE} lists no model: {listing!r}")
    card = cards[0]
    owner = str(card.get("owned_by") or "").lower()
    engine = owner if owner in (VLLM, SGLANG, LLAMACPP) else OPENAI
    info: dict[str, Any] = {"model_id": card["id"], "engine": engine}
    if isinstance(card.get("max_model_len"), int):
        info["max_total_tokens"] = card["max_model_len"]
    return info


def merge_sglang_info(info: dict[str, Any], model_info: Any) -> dict[str, Any]:
    """Add SGLang's `/get_model_info` (model_path, tokenizer_path, is_generation) to `info`."""
    if not isinstance(model_info, dict) or "model_path" not in model_info:
        return info
    return {**info, "engine": SGLANG, "model_path": model_info["model_path"],
            **{k: model_info[k] for k in ("tokenizer_path", "is_generation") if k in model_info}}


def engine_of_metrics(names: set[str]) -> str | None:
    """The engine whose load gauges appear among the metric names of one scrape, else None."""
    for engine, (queued, running) in LOAD_GAUGES.items():
        if queued in names or running in names:
            return engine
    return None
