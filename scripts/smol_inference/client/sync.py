"""`TGIClient`: one object for everything lesson 2 does with a TGI-compatible endpoint.

Generation goes through `huggingface_hub.InferenceClient` (TGI's `POST /` and `/v1/chat/completions`,
huggingface_hub's `InferenceClient.text_generation`/`chat_completion`); `/health`, `/info`, `/v1/models`
and `/metrics` are plain httpx GETs, since InferenceClient's health_check() does not work on a plain URL.
On vLLM and SGLang, which have no `/info`, `info()` reads `/v1/models` instead (server_kinds.py). Every call
maps errors to the typed exceptions of `errors.py` and retries 429/503/no-connection (`retry.py`).
What a call asks and how its answer is read is shared with the async client (core.py); this file does the I/O.
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
from .retry import RetryPolicy, call_with_retries


class TGIClient(ClientCore):
    """A blocking client for TGI, the course server, and (chat methods) any OpenAI-compatible server."""

    def __init__(self, base_url: str | None = None, *, api_key: str | None = None,
                 timeout: float | None = settings.CLIENT_TIMEOUT_S, retry: RetryPolicy | None = None) -> None:
        super().__init__(base_url, api_key, timeout, retry)
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, headers=self._headers)
        self.hub = InferenceClient(base_url=self.base_url, api_key=self._hub_key, timeout=timeout)

    # -- plumbing ---------------------------------------------------------------------------------
    def _get(self, path: str) -> httpx.Response:
        return call_with_retries(lambda: checked(self._http.get(path)), self.retry)

    def _follow(self, plan: Plan) -> Any:
        """Run a plan of core.py: GET each route it yields, send back the JSON (or throw in the error)."""
        try:
            path = next(plan)
            while True:
                try:
                    payload = self._get(path).json()
                except Exception as exc:  # noqa: BLE001 - the plan decides: handled, or raised from it
                    path = plan.throw(exc)
                else:
                    path = plan.send(payload)
        except StopIteration as done:
            return done.value

    def _raise_explained(self, error: TGIError, method: str) -> None:
        """Raise a GatewayRouteError instead of `error` when the URL is the SGLang Model Gateway
        (client/gateway.py); return otherwise."""
        if not may_be_gateway_failure(error):
            return
        try:
            response = self._http.get(GATEWAY_INFO_ROUTE)
            gateway = response.status_code == 200 and is_gateway_info(response.json())
        except (httpx.HTTPError, ValueError):
            gateway = False
        if gateway:
            raise gateway_route_error(self.base_url, method, error) from error

    def close(self) -> None:
        self._http.close()
        self.hub.close()

    def __enter__(self) -> TGIClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- readiness and introspection ----------------------------------------------------------------
    def health(self) -> bool:
        """True when `GET /health` answers 200 now (no retries)."""
        try:
            return self._http.get(HEALTH_ROUTE).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_until_ready(self, timeout: float = settings.CLIENT_READY_TIMEOUT_S,
                         interval: float = settings.CLIENT_READY_POLL_S) -> float:
        """Poll `/health` until it answers 200; return the seconds waited, or raise UnavailableError."""
        poll = ReadinessPoll(self.base_url, timeout, interval)
        while True:
            try:
                if poll.ready(self._http.get(HEALTH_ROUTE, timeout=poll.probe_timeout()).status_code):
                    return poll.waited()
            except httpx.HTTPError as exc:
                poll.failed(exc)
            time.sleep(poll.pause())

    def info(self) -> dict[str, Any]:
        """`GET /info`: model_id, max_input_tokens, max_total_tokens, max_concurrent_requests, ...

        Where `/info` is missing (vLLM, SGLang): model_id and max_total_tokens from `/v1/models`, SGLang's
        `/get_model_info` fields, and `engine` ("vllm", "sglang" or "openai"); see server_kinds.py.
        """
        info: dict[str, Any] = self._follow(info_plan())
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
            self._model = str(self._follow(served_model_plan()))
        return self._model

    def metrics(self) -> Metrics:
        """`GET /metrics`, parsed: `.value(name, **labels)`, `.quantile(name, q)`, `.names()`."""
        return Metrics.parse(self._get(METRICS_ROUTE).text)

    # -- generation ---------------------------------------------------------------------------------
    def generate(self, prompt: str, **params: Any) -> TextGenerationOutput:
        """TGI text generation; `.generated_text` and `.details` (tokens, finish_reason, seed)."""
        params = generate_params(params)
        try:
            return call_with_retries(lambda: self.hub.text_generation(prompt, **params), self.retry)
        except TGIError as exc:
            self._raise_explained(exc, "generate")
            raise

    def stream_events(self, prompt: str, **params: Any) -> Iterator[TextGenerationStreamOutput]:
        """Every streamed event; the last one has `generated_text` and `details`."""
        params = generate_params(params)
        try:
            events = call_with_retries(lambda: self.hub.text_generation(prompt, stream=True, **params), self.retry)
        except TGIError as exc:
            self._raise_explained(exc, "stream")
            raise
        with typed_stream_errors():
            yield from events

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
        params = chat_params(params, self.served_model())
        return call_with_retries(lambda: self.hub.chat_completion(messages, **params), self.retry)

    def chat_stream(self, messages: list[dict[str, Any]], **params: Any) -> Iterator[str]:
        """The reply's text pieces as they arrive."""
        params = chat_params(params, self.served_model())
        chunks = call_with_retries(lambda: self.hub.chat_completion(messages, stream=True, **params), self.retry)
        with typed_stream_errors():
            for chunk in chunks:
                piece = chat_delta(chunk)
                if piece:
                    yield piece
