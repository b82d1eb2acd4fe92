"""`AsyncTGIClient`: the asyncio twin of `TGIClient`, on `huggingface_hub.AsyncInferenceClient`.

Same methods, same errors, same retries (see sync.py), built on the same core (core.py); use it to run
many requests at once, as the load generator and the lesson's concurrency exercise do.
Taught in text_generation_inference/serve_and_query.md, "The course's client".
"""

from __future__ import annotations

import asyncio
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
from ._common import chat_delta
from .core import (
    HEALTH_ROUTE,
    METRICS_ROUTE,
    ClientCore,
    Plan,
    ReadinessPoll,
    chat_params,
    checked,
    generate_params,
    info_plan,
    served_model_plan,
    typed_stream_errors,
)
from .server_kinds import TGI
from .errors import TGIError
from .gateway import GATEWAY_INFO_ROUTE, gateway_route_error, is_gateway_info, may_be_gateway_failure
from .prom import Metrics
from .retry import RetryPolicy, acall_with_retries


class AsyncTGIClient(ClientCore):
    """`async with AsyncTGIClient(url) as client: out = await client.generate("...")`."""

    def __init__(self, base_url: str | None = None, *, api_key: str | None = None,
                 timeout: float | None = settings.CLIENT_TIMEOUT_S, retry: RetryPolicy | None = None) -> None:
        super().__init__(base_url, api_key, timeout, retry)
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, headers=self._headers)
        self.hub = AsyncInferenceClient(base_url=self.base_url, api_key=self._hub_key, timeout=timeout)

    async def _get(self, path: str) -> httpx.Response:
        async def once() -> httpx.Response:
            return checked(await self._http.get(path))

        return await acall_with_retries(once, self.retry)

    async def _follow(self, plan: Plan) -> Any:
        """Run a plan of core.py, as TGIClient._follow does, awaiting each GET."""
        try:
            path = next(plan)
            while True:
                try:
                    payload = (await self._get(path)).json()
                except Exception as exc:  # noqa: BLE001 - the plan decides: handled, or raised from it
                    path = plan.throw(exc)
                else:
                    path = plan.send(payload)
        except StopIteration as done:
            return done.value

    async def _raise_explained(self, error: TGIError, method: str) -> None:
        """Raise a GatewayRouteError instead of `error` behind the SGLang Model Gateway (client/gateway.py)."""
        if not may_be_gateway_failure(error):
            return
        try:
            response = await self._http.get(GATEWAY_INFO_ROUTE)
            gateway = response.status_code == 200 and is_gateway_info(response.json())
        except (httpx.HTTPError, ValueError):
            gateway = False
        if gateway:
            raise gateway_route_error(self.base_url, method, error) from error

    async def aclose(self) -> None:
        await self._http.aclose()
        await self.hub.close()

    async def __aenter__(self) -> AsyncTGIClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def health(self) -> bool:
        """True when `GET /health` answers 200 now (no retries)."""
        try:
            return (await self._http.get(HEALTH_ROUTE)).status_code == 200
        except httpx.HTTPError:
            return False

    async def wait_until_ready(self, timeout: float = settings.CLIENT_READY_TIMEOUT_S,
                               interval: float = settings.CLIENT_READY_POLL_S) -> float:
        """Poll `/health` until it answers 200; return the seconds waited, or raise UnavailableError."""
        poll = ReadinessPoll(self.base_url, timeout, interval)
        while True:
            try:
                if poll.ready((await self._http.get(HEALTH_ROUTE, timeout=poll.probe_timeout())).status_code):
                    return poll.waited()
            except httpx.HTTPError as exc:
                poll.failed(exc)
            await asyncio.sleep(poll.pause())

    async def info(self) -> dict[str, Any]:
        """`GET /info`, or on vLLM and SGLang the same keys from `/v1/models` (see TGIClient.info)."""
        info: dict[str, Any] = await self._follow(info_plan())
        return info

    async def engine(self) -> str:
        """"tgi", "vllm", "sglang" or "openai" (see TGIClient.engine)."""
        return str((await self.info()).get("engine", TGI))

    async def speaks_tgi(self) -> bool:
        """True when TGI's own routes (`/generate`, `POST /`, `tgi_*` metrics) exist at this URL."""
        return await self.engine() == TGI

    async def served_model(self) -> str:
        """The model id to put in chat requests: `/v1/models`, else `/info`, else "tgi"."""
        if self._model is None:
            self._model = str(await self._follow(served_model_plan()))
        return self._model

    async def metrics(self) -> Metrics:
        """`GET /metrics`, parsed (see TGIClient.metrics)."""
        return Metrics.parse((await self._get(METRICS_ROUTE)).text)

    async def generate(self, prompt: str, **params: Any) -> TextGenerationOutput:
        """TGI text generation; `.generated_text` and `.details` (tokens, finish_reason, seed)."""
        params = generate_params(params)
        try:
            return await acall_with_retries(lambda: self.hub.text_generation(prompt, **params), self.retry)
        except TGIError as exc:
            await self._raise_explained(exc, "generate")
            raise

    async def stream_events(self, prompt: str, **params: Any) -> AsyncIterator[TextGenerationStreamOutput]:
        """Every streamed event; the last one has `generated_text` and `details`."""
        params = generate_params(params)
        try:
            events = await acall_with_retries(lambda: self.hub.text_generation(prompt, stream=True, **params),
                                              self.retry)
        except TGIError as exc:
            await self._raise_explained(exc, "stream")
            raise
        with typed_stream_errors():
            async for event in events:
                yield event

    async def stream(self, prompt: str, **params: Any) -> AsyncIterator[TextGenerationStreamOutputToken]:
        """The generated tokens one by one (`.text`, `.id`, `.logprob`), special tokens left out."""
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
        """OpenAI chat completion (`/v1/chat/completions`): `.choices[0].message.content`, `.usage`."""
        params = chat_params(params, await self.served_model())
        return await acall_with_retries(lambda: self.hub.chat_completion(messages, **params), self.retry)

    async def chat_stream(self, messages: list[dict[str, Any]], **params: Any) -> AsyncIterator[str]:
        """The reply's text pieces as they arrive."""
        params = chat_params(params, await self.served_model())
        chunks = await acall_with_retries(lambda: self.hub.chat_completion(messages, stream=True, **params),
                                          self.retry)
        with typed_stream_errors():
            async for chunk in chunks:
                piece = chat_delta(chunk)
                if piece:
                    yield piece
