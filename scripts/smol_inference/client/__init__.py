"""The lesson-2 client for TGI-compatible servers (text_generation_inference/serve_and_query.md,
"Consuming the endpoint").

`TGIClient` / `AsyncTGIClient` wrap huggingface_hub's InferenceClient with readiness polling, parsed
metrics, typed errors and bounded retries. Modules: core.py (what both share), sync.py, aio.py, errors.py,
retry.py, prom.py.
"""

from __future__ import annotations

from .aio import AsyncTGIClient
from .errors import (
    AuthenticationError,
    GenerationError,
    OverloadedError,
    RequestTimeoutError,
    TGIError,
    UnavailableError,
    ValidationError,
)
from .gateway import GatewayRouteError
from .prom import Metrics, Sample, histogram_quantile
from .retry import NO_RETRY, RetryPolicy
from .sync import TGIClient

__all__ = [
    "AsyncTGIClient", "AuthenticationError", "GatewayRouteError", "GenerationError", "Metrics", "NO_RETRY",
    "OverloadedError",
    "RequestTimeoutError", "RetryPolicy", "Sample", "TGIClient", "TGIError", "UnavailableError",
    "ValidationError", "histogram_quantile",
]
