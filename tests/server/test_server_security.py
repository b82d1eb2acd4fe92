"""Security checks not covered elsewhere: the API key is compared in constant time, remote code only
runs with --trust-remote-code, an unexpected error answers 500 in TGI's shape without a stack trace
(the loopback default and its banner, and CORS, are in test_server_guard.py; listening on 127.0.0.1
only and the key staying out of the server's output in test_server_shutdown.py)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from conftest import WAIT_S, start_test_server


def test_api_key_is_compared_with_hmac_compare_digest(monkeypatch):
    from smol_inference.server.api import middleware

    calls: list[tuple[bytes, bytes]] = []
    real = middleware.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(middleware.hmac, "compare_digest", spy)
    sent: list[dict[str, Any]] = []

    async def app(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    guard = middleware.GuardMiddleware(app, 1000, "k3y")
    for header in (b"Bearer k3y", b"Bearer k3x", b"Bearer k3y-longer", b""):
        scope = {"type": "http", "path": "/generate", "method": "POST",
                 "headers": [(b"authorization", header), (b"content-length", b"2")]}
        asyncio.run(guard(scope, receive, send))
    assert calls == [(b"Bearer k3y", b"Bearer k3y"), (b"Bearer k3x", b"Bearer k3y"),
                     (b"Bearer k3y-longer", b"Bearer k3y"), (b"", b"Bearer k3y")]
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [200, 401, 401, 401]


@pytest.mark.parametrize("trust", [False, True])
def test_remote_code_runs_only_when_flagged(monkeypatch, trust):
    import transformers
    from smol_inference import settings
    from smol_inference.server.config import ServerConfig
    from smol_inference.server.lifecycle.loading import load

    seen: list[bool] = []

    class Fake:
        config = SimpleNamespace(max_position_embeddings=8)

        def to(self, device: str) -> "Fake":
            return self

        def eval(self) -> "Fake":
            return self

    def from_pretrained(name: str, **kwargs: Any) -> Fake:
        seen.append(kwargs["trust_remote_code"])
        return Fake()

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", from_pretrained)
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", from_pretrained)
    load(ServerConfig(model_id=settings.TINY_MODEL, trust_remote_code=trust, device="cpu"))
    assert seen == [trust, trust]
    assert ServerConfig().trust_remote_code is False


class ExplodingTokenizer:
    """The real tokenizer, except that text containing EXPLODE raises with internal details."""

    EXPLODE = "explode"

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tokenizer, name)

    def __call__(self, text: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(text, str) and self.EXPLODE in text:
            raise RuntimeError("internal detail: /secret/path/model.bin")
        return self._tokenizer(text, *args, **kwargs)


def test_unexpected_errors_answer_500_without_a_stack_trace(tiny_model):
    model, tokenizer, context = tiny_model
    handle = start_test_server((model, ExplodingTokenizer(tokenizer), context))
    try:
        with httpx.Client(base_url=handle.url, timeout=WAIT_S) as client:
            for path in ("/tokenize", "/generate"):
                response = client.post(path, json={"inputs": ExplodingTokenizer.EXPLODE})
                assert response.status_code == 500, response.text
                assert response.json() == {"error": "Internal server error", "error_type": "internal"}
                assert "Traceback" not in response.text and "/secret/path" not in response.text
            assert client.post("/tokenize", json={"inputs": "Hello"}).status_code == 200     # still serving
            assert client.get("/health").status_code == 200
    finally:
        handle.stop()
