"""What the sync and async clients share: the base URL rule, auth headers, and response shapes.

`/v1/models` answers one ModelInfo on TGI and `{"data": [ModelInfo, ...]}` on vLLM and SGLang
(TGI's docs/openapi.json, "openai_get_model_info"; vLLM's `ModelList`); both are read here.
"""

from __future__ import annotations

import os
from typing import Any

from .. import settings

#: The `model` sent on chat requests when the server names none (TGI ignores the field).
FALLBACK_MODEL = "tgi"


def resolve_base_url(base_url: str | None) -> str:
    """`base_url`, else $TGI_URL, else the local course server; without a trailing `/` or `/v1`."""
    url = base_url or os.environ.get(settings.ENV_TGI_URL) or (
        f"http://{settings.DEFAULT_HOST}:{settings.DEFAULT_SERVER_PORT}")
    url = url.strip().rstrip("/")
    if url.endswith("/v1"):
        url = url[: -len("/v1")]
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"base_url must start with http:// or https://, got {url!r}")
    return url


def auth_headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def model_from_listing(payload: Any) -> str | None:
    """The served model id from a `/v1/models` body (TGI: one object; OpenAI style: a list)."""
    if isinstance(payload, dict):
        if isinstance(payload.get("data"), list) and payload["data"]:
            first = payload["data"][0]
            return first.get("id") if isinstance(first, dict) else None
        return payload.get("id") if isinstance(payload.get("id"), str) else None
    return None


def chat_delta(chunk: Any) -> str:
    """The text a streamed chat chunk adds ('' for role-only, usage-only or empty chunks)."""
    choices = getattr(chunk, "choices", None) or []
    if not choices:
        return ""
    delta = getattr(choices[0], "delta", None)
    return getattr(delta, "content", None) or ""


def check_timeout(value: float | None) -> float | None:
    if value is not None and value <= 0:
        raise ValueError(f"timeout must be > 0 seconds, got {value}")
    return value
