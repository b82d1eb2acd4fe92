"""`HF_HUB_OFFLINE=1` means "no Hub", not "no HTTP": let clients reach endpoints you run yourself.

huggingface_hub blocks every request made through its shared session when offline mode is on,
including `InferenceClient` calls to a TGI server on 127.0.0.1 (huggingface_hub/utils/_http.py,
`hf_request_event_hook`). The course runs offline on purpose (that is how it picks the bundled
model), so TGIClient installs session factories that keep the block for the Hub's own hosts and
let requests to any other host through. text_generation_inference/serve_and_query.md, "Consuming the endpoint".
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from huggingface_hub import constants
from huggingface_hub.utils import _http

if TYPE_CHECKING:
    import httpx2  # huggingface_hub's own httpx fork, reached through _http at run time

#: Hosts that stay blocked in offline mode (the Hub and its inference providers' router).
HUB_HOST_SUFFIXES = ("huggingface.co", "hf.co")

_installed = False
_lock = threading.Lock()


def is_hub_host(host: str) -> bool:
    """True for the Hub (constants.ENDPOINT's host) and *.huggingface.co / *.hf.co."""
    host = host.lower().rstrip(".")
    endpoint_host = (urlparse(constants.ENDPOINT).hostname or "").lower()
    return host == endpoint_host or any(host == s or host.endswith("." + s) for s in HUB_HOST_SUFFIXES)


def _request_hook(request: httpx2.Request) -> str | None:
    if is_hub_host(request.url.host):
        return _http.hf_request_event_hook(request)  # raises OfflineModeIsEnabled when offline
    return None  # your own server: no offline block, no Hub request-id headers


async def _async_request_hook(request: httpx2.Request) -> str | None:
    return _request_hook(request)


def _client_factory() -> httpx2.Client:
    return _http.httpx2.Client(event_hooks={"request": [_request_hook]}, follow_redirects=True, timeout=None)


def _async_client_factory() -> httpx2.AsyncClient:
    return _http.httpx2.AsyncClient(
        event_hooks={"request": [_async_request_hook], "response": [_http.async_hf_response_event_hook]},
        follow_redirects=True,
        timeout=None,
    )


def allow_own_endpoints() -> None:
    """Install the session factories once per process (idempotent, thread-safe)."""
    global _installed
    with _lock:
        if _installed:
            return
        _http.set_client_factory(_client_factory)
        _http.set_async_client_factory(_async_client_factory)
        _installed = True
