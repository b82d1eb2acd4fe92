"""Sends the requests and times every token: TGI `/generate_stream` or OpenAI `/v1/chat/completions`.

Times are taken on arrival of each server-sent event (TGI docs, "Conceptual guides > Streaming"): time to first token
is the first token event, inter-token latency the gaps between token events, end-to-end latency the
whole request. Tokens are counted as they arrive and compared with what the server reports
(`details.generated_tokens` on TGI, `usage.completion_tokens` on OpenAI-style servers).
Taught in text_generation_inference/tune_and_measure.md, "Tuning: a concurrency sweep".
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from ..client._common import FALLBACK_MODEL, auth_headers, model_from_listing
from .workload import BenchConfig


class Progress(Protocol):
    def update(self, n: int = 1) -> Any: ...


@dataclass
class RequestRecord:
    """What one request did. `error_type` is None when it succeeded."""

    index: int
    start_s: float = 0.0
    ttft_s: float | None = None
    e2e_s: float | None = None
    token_gaps_s: list[float] = field(default_factory=list)
    tokens_counted: int = 0
    tokens_reported: int | None = None
    input_tokens_reported: int | None = None
    finish_reason: str | None = None
    error_type: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_type is None


def _payloads(line: str) -> str | None:
    """The JSON text of an SSE `data:` line (with or without the space), else None."""
    return line[5:].strip() if line.startswith("data:") else None


def _error_type(response_body: bytes, status: int) -> tuple[str, str]:
    try:
        body = json.loads(response_body)
        if isinstance(body, dict):
            err = body.get("error")
            if isinstance(err, dict):  # OpenAI style
                return str(err.get("type") or f"http_{status}"), str(err.get("message"))
            return str(body.get("error_type") or body.get("type") or f"http_{status}"), str(err or body)
    except (ValueError, UnicodeDecodeError):
        pass
    return f"http_{status}", response_body[:200].decode(errors="replace")


class Runner:
    """Holds one HTTP client for a whole run; `await runner.run_level(concurrency, prompts, bar)`."""

    def __init__(self, config: BenchConfig) -> None:
        self.config = config
        self.model = config.model
        most = max(config.concurrency)
        limits = httpx.Limits(max_connections=most, max_keepalive_connections=most)
        self.http = httpx.AsyncClient(base_url=config.url, timeout=config.timeout_s, limits=limits,
                                      headers=auth_headers(config.api_key))

    async def aclose(self) -> None:
        await self.http.aclose()

    async def server_info(self) -> dict[str, Any]:
        """`/info` when the server has it (TGI, course server), else {}; resolves the chat model name."""
        info: dict[str, Any] = {}
        try:
            response = await self.http.get("/info", timeout=10)
            if response.status_code == 200:
                info = response.json()
        except (httpx.HTTPError, ValueError):
            pass
        if self.config.api == "openai" and not self.model:
            try:
                response = await self.http.get("/v1/models", timeout=10)
                self.model = model_from_listing(response.json()) if response.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                self.model = None
            self.model = self.model or info.get("model_id") or FALLBACK_MODEL
        return info

    def _request(self, index: int, prompt: str) -> tuple[str, dict[str, Any]]:
        cfg = self.config
        if cfg.api == "tgi":
            return "/generate_stream", {"inputs": prompt, "parameters": {
                "max_new_tokens": cfg.max_new_tokens, "details": True, "seed": cfg.seed + index}}
        return "/v1/chat/completions", {
            "model": self.model or FALLBACK_MODEL, "messages": [{"role": "user", "content": prompt}],
            "max_tokens": cfg.max_new_tokens, "seed": cfg.seed + index, "stream": True,
            "stream_options": {"include_usage": True}}

    async def one(self, index: int, prompt: str) -> RequestRecord:
        """Send request `index` and time it; never raises for a server or network failure."""
        record = RequestRecord(index=index)
        path, body = self._request(index, prompt)
        start = record.start_s = time.perf_counter()
        try:
            await asyncio.wait_for(self._stream(record, path, body, start), timeout=self.config.timeout_s)
        except (asyncio.TimeoutError, httpx.TimeoutException) as exc:
            record.error_type, record.error = "timeout", str(exc) or "timed out"
        except httpx.HTTPError as exc:
            kind = "connection" if isinstance(exc, (httpx.ConnectError, httpx.RemoteProtocolError)) else "http"
            record.error_type, record.error = kind, f"{type(exc).__name__}: {exc}"
        except ValueError as exc:
            record.error_type, record.error = "protocol", str(exc)
        record.e2e_s = time.perf_counter() - start
        if record.ok and self.config.api == "tgi" and record.tokens_reported is None:
            record.error_type, record.error = "incomplete", "stream ended without a final event"
        return record

    async def _stream(self, record: RequestRecord, path: str, body: dict[str, Any], start: float) -> None:
        async with self.http.stream("POST", path, json=body) as response:
            if response.status_code >= 400:
                record.error_type, record.error = _error_type(await response.aread(), response.status_code)
                return
            last = start
            async for line in response.aiter_lines():
                data = _payloads(line)
                if data is None or not data:
                    continue
                if data == "[DONE]":
                    break
                event = json.loads(data)
                if "error" in event and "token" not in event and "choices" not in event:
                    record.error_type = str(event.get("error_type") or "stream_error")
                    record.error = str(event.get("error"))
                    return
                if self._is_token(event):
                    now = time.perf_counter()
                    if record.ttft_s is None:
                        record.ttft_s = now - start
                    else:
                        record.token_gaps_s.append(now - last)
                    last = now
                    record.tokens_counted += 1
                self._read_totals(record, event)

    def _is_token(self, event: dict[str, Any]) -> bool:
        if self.config.api == "tgi":
            return "token" in event
        choices = event.get("choices") or []
        return bool(choices) and bool((choices[0].get("delta") or {}).get("content"))

    def _read_totals(self, record: RequestRecord, event: dict[str, Any]) -> None:
        if self.config.api == "tgi":
            details = event.get("details")
            if details:
                record.tokens_reported = details.get("generated_tokens")
                record.input_tokens_reported = details.get("input_length")
                record.finish_reason = details.get("finish_reason")
            return
        usage = event.get("usage")
        if usage:
            record.tokens_reported = usage.get("completion_tokens")
            record.input_tokens_reported = usage.get("prompt_tokens")
        for choice in event.get("choices") or []:
            record.finish_reason = choice.get("finish_reason") or record.finish_reason

    async def run_level(self, concurrency: int, prompts: list[str], progress: Progress | None = None
                        ) -> tuple[list[RequestRecord], float]:
        """Send every prompt with at most `concurrency` in flight; return the records and wall time."""
        records: list[RequestRecord] = []
        next_index = iter(range(len(prompts)))

        async def worker() -> None:
            for index in next_index:  # a shared iterator: each index is taken by exactly one worker
                records.append(await self.one(index, prompts[index]))
                if progress is not None:
                    progress.update(1)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(prompts)))))
        return sorted(records, key=lambda r: r.index), time.perf_counter() - start
