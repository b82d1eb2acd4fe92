"""`TGIClient`: one object for everything lesson 2 does with a TGI-compatible endpoint.

Generation goes through `huggingface_hub.InferenceClient` (TGI's `POST /` and `/v1/chat/completions`,
huggingface_hub's `InferenceClient.text_generation`/`chat_completion`); `/health`, `/info`, `/v1/models`
and `/metrics` are plain httpx GETs, since InferenceClient's health_check() does not work on a plain URL.
On vLLM and SGLang, which have no `/info`, `info()` reads `/v1/models` instead (server_kinds.py). Every call
maps errors to the typed exceptions of `errors.py` and retries 429/503/no-connection (`retry.py`).
Taught in text_generation_inference/serve_and_query.md, "The course's client".
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
from huggingface_hub import InferenceClient
from huggingface_hub.inference._generated.types import (
    ChatCompletionOutput,
    TextGenerationOutput,
    TextGenerationStreamOutput,
    TextGenerationStreamOutputToken,
)

from .. import settings
from . import structured
from ._common import FALLBACK_MODEL, auth_headers, chat_delta, check_timeout, model_from_listing, resolve_base_url
from .server_kinds import MISSING_ROUTE_STATUSES, MODELS_ROUTE, SGLANG_INFO_ROUTE, TGI, info_from_listing, merge_sglang_info
from .errors import TGIError, UnavailableError, from_response, translate
from .offline import allow_own_endpoints
from .prom import Metrics
from .retry import RetryPolicy, call_with_retries


class TGIClient:
    """A blocking client for TGI, the course server, and (chat methods) any OpenAI-compatible server."""

    def __init__(self, base_url: str | None = None, *, api_key: str | None = None,
                 timeout: float | None = settings.CLIENT_TIMEOUT_S, retry: RetryPolicy | None = None) -> None:
        self.base_url = resolve_base_url(base_url)
        self.timeout = check_timeout(timeout)
        self.retry = retry if retry is not None else RetryPolicy()
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, headers=auth_headers(api_key))
        # A non-empty key keeps InferenceClient from sending a locally stored Hub token to this server.
        allow_own_endpoints()  # HF_HUB_OFFLINE blocks the Hub, not the server you point at
        self.hub = InferenceClient(base_url=self.base_url, api_key=api_key or "-", timeout=timeout)
        self._model: str | None = None

    # -- plumbing ---------------------------------------------------------------------------------
    def _get(self, path: str) -> httpx.Response:
        def once() -> httpx.Response:
            response = self._http.get(path)
            if response.status_code >= 400:
                raise from_response(response)
            return response

        return call_with_retries(once, self.retry)

    def close(self) -> None:
        self._http.close()
        self.hub.close()

    def __enter__(self) -> TGIClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"TGIClient({self.base_url!r})"

    # -- readiness and introspection ----------------------------------------------------------------
    def health(self) -> bool:
        """True when `GET /health` answers 200 now (no retries)."""
        try:
            return self._http.get("/health").status_code == 200
        except httpx.HTTPError:
            return False

    def wait_until_ready(self, timeout: float = settings.CLIENT_READY_TIMEOUT_S,
                         interval: float = settings.CLIENT_READY_POLL_S) -> float:
        """Poll `/health` until it answers 200; return the seconds waited, or raise UnavailableError."""
        start = time.monotonic()
        deadline = start + check_timeout(timeout)
        last = "no answer"
        while True:
            try:
                response = self._http.get("/health", timeout=min(5.0, max(0.1, deadline - time.monotonic())))
                if response.status_code == 200:
                    return time.monotonic() - start
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            if time.monotonic() + interval > deadline:
                raise UnavailableError(f"{self.base_url} not ready after {timeout:.0f} s (last: {last})",
                                       error_type="not_ready")
            time.sleep(interval)

    def info(self) -> dict[str, Any]:
        """`GET /info`: model_id, max_input_tokens, max_total_tokens, max_concurrent_requests, ...

        Where `/info` is missing (vLLM, SGLang): model_id and max_total_tokens from `/v1/models`, SGLang's
        `/get_model_info` fields, and `engine` ("vllm", "sglang" or "openai"); see server_kinds.py.
        """
        try:
            return self._get("/info").json()
        except TGIError as exc:
            if exc.status not in MISSING_ROUTE_STATUSES:
                raise
        info = info_from_listing(self._get(MODELS_ROUTE).json())
        try:
            return merge_sglang_info(info, self._get(SGLANG_INFO_ROUTE).json())
        except TGIError as exc:
            if exc.status not in MISSING_ROUTE_STATUSES:
                raise
        return info

    def engine(self) -> str:
        """"tgi" where TGI's `/info` answers (TGI, the course server), else "vllm", "sglang" or "openai"."""
        return str(self.info().get("engine", TGI))

    def speaks_tgi(self) -> bool:
        """True when TGI's own routes (`/generate`, `POST /`, `tgi_*` metrics) exist at this URL."""
        return self.engine() == TGI

    def served_model(self) -> str:
        """The model id to put in chat requests: `/v1/models`, else `/info`, else "tgi"."""
        if self._model is None:
            for path, read in (("/v1/models", model_from_listing), ("/info", lambda p: p.get("model_id"))):
                try:
                    self._model = read(self._get(path).json())
                except Exception:  # noqa: BLE001 - any failure means "ask the next route"
                    self._model = None
                if self._model:
                    break
            self._model = self._model or FALLBACK_MODEL
        return self._model

    def metrics(self) -> Metrics:
        """`GET /metrics`, parsed: `.value(name, **labels)`, `.quantile(name, q)`, `.names()`."""
        return Metrics.parse(self._get("/metrics").text)

    # -- generation ---------------------------------------------------------------------------------
    def generate(self, prompt: str, **params: Any) -> TextGenerationOutput:
        """TGI text generation; `.generated_text` and `.details` (tokens, finish_reason, seed)."""
        params["details"] = True  # always: the typed result carries details
        return call_with_retries(lambda: self.hub.text_generation(prompt, **params), self.retry)

    def stream_events(self, prompt: str, **params: Any) -> Iterator[TextGenerationStreamOutput]:
        """Every streamed event; the last one has `generated_text` and `details`."""
        params["details"] = True  # always: the typed result carries details
        events = call_with_retries(lambda: self.hub.text_generation(prompt, stream=True, **params), self.retry)
        try:
            yield from events
        except Exception as exc:  # noqa: BLE001 - typed when it is a server or connection error
            error = translate(exc)
            if error is None or error is exc:
                raise
            raise error from exc

    def stream(self, prompt: str, **params: Any) -> Iterator[TextGenerationStreamOutputToken]:
        """The generated tokens one by one (`.text`, `.id`, `.logprob`), special tokens left out."""
        for event in self.stream_events(prompt, **params):
            if not event.token.special:
                yield event.token

    def generate_json(self, prompt: str, schema: structured.Schema, **params: Any) -> Any:
        """Generation constrained by TGI's `grammar` to `schema` (a JSON Schema dict or a Pydantic model
        class), parsed into it (client/structured.py). Lesson 2, "Structured output and tool calling"."""
        out = self.generate(prompt, grammar=structured.grammar(schema), **params)
        return structured.parse(out.generated_text, schema)

    def chat_json(self, messages: list[dict[str, Any]], schema: structured.Schema, **params: Any) -> Any:
        """A chat answer constrained by OpenAI's `response_format` (json_schema), parsed into `schema`.
        Tools need no helper: `chat(messages, tools=[...], tool_choice=..., tool_prompt=...)`."""
        out = self.chat(messages, response_format=structured.response_format(schema), **params)
        return structured.parse(out.choices[0].message.content, schema)

    def chat(self, messages: list[dict[str, Any]], **params: Any) -> ChatCompletionOutput:
        """OpenAI chat completion (`/v1/chat/completions`): `.choices[0].message.content`, `.usage`."""
        params.setdefault("model", self.served_model())
        return call_with_retries(lambda: self.hub.chat_completion(messages, **params), self.retry)

    def chat_stream(self, messages: list[dict[str, Any]], **params: Any) -> Iterator[str]:
        """The reply's text pieces as they arrive."""
        params.setdefault("model", self.served_model())
        chunks = call_with_retries(lambda: self.hub.chat_completion(messages, stream=True, **params), self.retry)
        try:
            for chunk in chunks:
                piece = chat_delta(chunk)
                if piece:
                    yield piece
        except Exception as exc:  # noqa: BLE001
            error = translate(exc)
            if error is None or error is exc:
                raise
            raise error from exc
