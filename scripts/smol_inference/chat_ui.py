"""`smol-inference chat-ui`: a Gradio chat window on any TGI or OpenAI-compatible endpoint.

It speaks the OpenAI chat completions API (`POST /v1/chat/completions` with `stream: true`), which
TGI (since 1.4), vLLM, SGLang and the course server all serve, so one UI fits every engine of
lesson 2 (TGI docs, "Consuming TGI": `OpenAI(base_url=URL + "/v1")`).
Tokens are shown as they arrive. text_generation_inference/serve_and_query.md, "A chat UI in the browser".
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from . import settings
from .ports import free_port

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

#: What the UI sends as `model` when the server does not list one (TGI ignores the field).
DEFAULT_MODEL_NAME = "tgi"
DEFAULT_UI_PORT = 7860
DEFAULT_MAX_NEW_TOKENS = settings.DEFAULT_MAX_NEW_TOKENS
#: How long the UI waits for the endpoint (connect and each read), in seconds.
REQUEST_TIMEOUT_S = 60.0
EXAMPLES = ["What is the capital of France?", "What is 7 plus 5?", "Who are you?"]


def normalize_endpoint(url: str) -> str:
    """`http://host:8080/`, `.../v1` or `.../v1/` -> `http://host:8080` (the server root)."""
    base = url.strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"endpoint must start with http:// or https://, got {url!r}")
    return base.removesuffix("/v1")


@dataclass
class ChatUIConfig:
    """What the chat window talks to and how it asks; validated on creation."""

    endpoint: str
    model: str | None = None            # None: ask GET /v1/models, else DEFAULT_MODEL_NAME
    api_key: str | None = None          # sent as Bearer token (TGI --api-key, vLLM --api-key)
    system_prompt: str | None = None
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    temperature: float = 0.0            # 0 = greedy (TGI's chat route turns sampling off)
    title: str = "smol-inference chat"

    def __post_init__(self) -> None:
        self.endpoint = normalize_endpoint(self.endpoint)
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")


def _text(content: Any) -> str:
    """Gradio message content (a string, or a list of parts) -> plain text."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text", ""))
    if isinstance(content, (list, tuple)):
        return "".join(_text(part) for part in content)
    return "" if content is None else str(content)


def to_messages(message: Any, history: list[Any], system_prompt: str | None = None) -> list[dict[str, str]]:
    """Gradio's (message, history) -> OpenAI chat messages, oldest first."""
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    for turn in history:
        if isinstance(turn, dict) and turn.get("role") in ("user", "assistant", "system"):
            messages.append({"role": turn["role"], "content": _text(turn.get("content"))})
    messages.append({"role": "user", "content": _text(message)})
    return messages


class ChatBackend:
    """Streams chat replies from the endpoint with the `openai` client."""

    def __init__(self, config: ChatUIConfig) -> None:
        from openai import OpenAI

        self.config = config
        self.client = OpenAI(base_url=config.endpoint + "/v1", api_key=config.api_key or "-",
                             timeout=REQUEST_TIMEOUT_S, max_retries=2)
        self._model = config.model

    @property
    def model(self) -> str:
        """The served model name: given, else the first of GET /v1/models, else "tgi" (not cached:
        a server that was still starting is asked again on the next message)."""
        if self._model is None:
            try:
                listed = [m.id for m in self.client.models.list()]
            except Exception:  # noqa: BLE001 - any failure: fall back, the chat request will tell
                return DEFAULT_MODEL_NAME
            self._model = listed[0] if listed else DEFAULT_MODEL_NAME
        return self._model

    def stream(self, message: Any, history: list[Any]) -> Iterator[str]:
        """Yield the reply so far after every token (what gr.ChatInterface shows)."""
        cfg = self.config
        # Plain {"role", "content"} dicts: the shape of openai's message TypedDicts.
        messages = cast("list[ChatCompletionMessageParam]", to_messages(message, history, cfg.system_prompt))
        stream = self.client.chat.completions.create(
            model=self.model, messages=messages,
            max_tokens=cfg.max_new_tokens, temperature=cfg.temperature, stream=True)
        reply = ""
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta and chunk.choices[0].delta.content:
                reply += chunk.choices[0].delta.content
                yield reply
        if not reply:
            yield ""


def build_chat_ui(config: ChatUIConfig) -> Any:
    """The Gradio app (a `gr.ChatInterface`, which is a `gr.Blocks`), built but not launched."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    backend = ChatBackend(config)

    def respond(message: Any, history: list[Any]) -> Iterator[str]:
        try:
            yield from backend.stream(message, history)
        except Exception as exc:
            raise gr.Error(f"{config.endpoint}: {type(exc).__name__}: {exc}") from exc

    return gr.ChatInterface(
        respond, title=config.title, examples=EXAMPLES, cache_examples=False,
        description=f"Streaming from `{config.endpoint}/v1/chat/completions`.",
        analytics_enabled=False, fill_height=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    default_url = os.environ.get(settings.ENV_TGI_URL) or f"http://{settings.DEFAULT_HOST}:{settings.DEFAULT_SERVER_PORT}"
    parser.add_argument("--endpoint", default=default_url,
                        help=f"TGI or OpenAI-compatible server root "
                             f"(default: ${settings.ENV_TGI_URL} or {default_url})")
    parser.add_argument("--model", default=None, help="model name to send (default: the server's first model)")
    parser.add_argument("--api-key", default=None, help="Bearer token, if the server needs one")
    parser.add_argument("--system-prompt", default=None, help="a system message put before every conversation")
    parser.add_argument("--max-new-tokens", type=int, default=DEFAULT_MAX_NEW_TOKENS,
                        help=f"longest reply in tokens (default: {DEFAULT_MAX_NEW_TOKENS})")
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    parser.add_argument("--hostname", default=settings.DEFAULT_HOST, help="where the UI listens")
    parser.add_argument("--port", type=int, default=DEFAULT_UI_PORT, help="UI port (0: any free port)")


def run(args: argparse.Namespace) -> int:
    port = args.port or free_port(args.hostname)
    config = ChatUIConfig(endpoint=args.endpoint, model=args.model, api_key=args.api_key,
                          system_prompt=args.system_prompt, max_new_tokens=args.max_new_tokens,
                          temperature=args.temperature)
    demo = build_chat_ui(config)
    print(f"[smol_inference] chat UI for {config.endpoint} on http://{args.hostname}:{port}", flush=True)
    demo.queue().launch(server_name=args.hostname, server_port=port, share=False,
                        inbrowser=False, show_error=True, quiet=False)
    return 0
