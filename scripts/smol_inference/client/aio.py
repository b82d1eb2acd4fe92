"""`AsyncTGIClient`: the asyncio twin of `TGIClient`, on `huggingface_hub.AsyncInferenceClient`.

Same methods, same errors, same retries (see sync.py); use it to run many requests at once, as the
load generator and the lesson's concurrency exercise do.
Taught in text_generation_inference/serve_and_query.md, "The course's client".
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from huggingface_hub import AsyncInferenceClient
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
from .retry import RetryPolicy, acall_with_retries


class AsyncTGIClient:
    """`async with AsyncTGIClient(url) as client: out = await client.generate("...")`."""

    def __init__(self, base_url: str | None = None, *, api_key: str | None = None,
                 timeout: float | None = settings.CLIENT_TIMEOUT_S, retry: RetryPolicy | None = None) -> None:
        self.base_url = resolve_base_url(base_url)
        self.timeout = check_timeout(timeout)
        self.retry = retry if retry is not None else RetryPolicy()
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, headers=auth_headers(api_key))
        allow_own_endpoints()  # HF_HUB_OFFLINE blocks the Hub, not the server you point at
        self.hub = AsyncInferenceClient(base_url=self.base_url, api_key=api_key or "-", timeout=timeout)
        self._model: str | None = None

    async def _get(self, path: str) -> httpx.Response:
        async def once() -> httpx.Response:
            response = await self._http.get(path)
            if response.status_code >= 400:
                raise from_response(response)
            return response

        return await acall_with_retries(once, self.retry)

    async def aclose(self) -> None:
        await self._http.aclose()
        await self.hub.close()

    async def __aenter__(self) -> AsyncTGIClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncTGIClient({self.base_url!r})"

    async def health(self) -> bool:
        try:
            return (await self._http.get("/health")).status_code == 200
        except httpx.HTTPError:
            return False

    async def wait_until_ready(self, timeout: float = settings.CLIENT_READY_TIMEOUT_S,
                               interval: float = settings.CLIENT_READY_POLL_S) -> float:
        start = time.monotonic()
        deadline = start + check_timeout(timeout)
        last = "no answer"
        while True:
            try:
                response = await self._http.get("/health", timeout=min(5.0, max(0.1, deadline - time.monotonic())))
                if response.status_code == 200:
                    return time.monotonic() - start
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            if time.monotonic() + interval > deadline:
                raise UnavailableError(f"{self.base_url} not ready after {timeout:.0f} s (last: {last})",
                                       error_type="not_ready")
            await asyncio.sleep(interval)

    async def info(self) -> dict[str, Any]:
        """`GET /info`, or on vLLM and SGLang the same keys from `/v1/models` (see TGIClient.info)."""
        try:
            return (await self._get("/info")).json()
        except TGIError as exc:
            if exc.status not in MISSING_ROUTE_STATUSES:
                raise
        info = info_from_listing((await self._get(MODELS_ROUTE)).json())
        try:
            return merge_sglang_info(info, (await self._get(SGLANG_INFO_ROUTE)).json())
        except TGIError as exc:
            if exc.status not in MISSING_ROUTE_STATUSES:
                raise
        return info

    async def engine(self) -> str:
        """"tgi", "vllm", "sglang" or "openai" (see TGIClient.engine)."""
        return str((await self.info()).get("engine", TGI))

    async def speaks_tgi(self) -> bool:
        return await self.engine() == TGI

    async def served_model(self) -> str:
        if self._model is None:
            for path, read in (("/v1/models", model_from_listing), ("/info", lambda p: p.get("model_id"))):
                try:
                    self._model = read((await self._get(path)).json())
                except Exception:  # noqa: BLE001 - any failure means "ask the next route"
                    self._model = None
                if self._model:
                    break
            self._model = self._model or FALLBACK_MODEL
        return self._model

    async def metrics(self) -> Metrics:
        return Metrics.parse((await self._get("/metrics")).text)

    async def generate(self, prompt: str, **params: Any) -> TextGenerationOutput:
        params["details"] = True  # always: the typed result carries details
        return await acall_with_retries(lambda: self.hub.text_generation(prompt, **params), self.retry)

    async def stream_events(self, prompt: str, **params: Any) -> AsyncIterator[TextGenerationStreamOutput]:
        params["details"] = True  # always: the typed result carries details
        events = await acall_with_retries(lambda: self.hub.text_generation(prompt, stream=True, **params),
                                          self.retry)
        try:
            async for event in events:
                yield event
        except Exception as exc:  # noqa: BLE001
            error = translate(exc)
            if error is None or error is exc:
                raise
            raise error from exc

    async def stream(self, prompt: str, **params: Any) -> AsyncIterator[TextGenerationStreamOutputToken]:
        async for event in self.stream_events(prompt, **params):
            if not event.token.special:
                yield event.token

    async def generate_json(self, prompt: str, schema: structured.Schema, **params: Any) -> Any:
        """Generation constrained by TGI's `grammar` to `schema` (a JSON Schema dict or a Pydantic model
        class), parsed into it (client/structured.py). Lesson 2, "Structured output and tool calling"."""
        out = await self.generate(prompt, grammar=structured.grammar(schema), **params)
        return structured.parse(out.generated_text, schema)

    async def chat_json(self, messages: list[dict[str, Any]], schema: structured.Schema, **params: Any) -> Any:
        """A chat answer constrained by OpenAI's `response_format` (json_schema), parsed into `schema`.
        Tools need no helper: `chat(messages, tools=[...], tool_choice=..., tool_prompt=...)`."""
        out = await self.chat(messages, response_format=structured.response_format(schema), **params)
        return structured.parse(out.choices[0].message.content, schema)

    async def chat(self, messages: list[dict[str, Any]], **params: Any) -> ChatCompletionOutput:
        params.setdefault("model", await self.served_model())
        return await acall_with_retries(lambda: self.hub.chat_completion(messages, **params), self.retry)

    async def chat_stream(self, messages: list[dict[str, Any]], **params: Any) -> AsyncIterator[str]:
        params.setdefault("model", await self.served_model())
        chunks = await acall_with_retries(lambda: self.hub.chat_completion(messages, stream=True, **params),
                                          self.retry)
        try:
            async for chunk in chunks:
                piece = chat_delta(chunk)
                if piece:
                    yield piece
        except Exception as exc:  # noqa: BLE001
            error = translate(exc)
            if error is None or error is exc:
                raise
            raise error from exc
