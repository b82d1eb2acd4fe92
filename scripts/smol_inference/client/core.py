"""The decisions `TGIClient` and `AsyncTGIClient` share; sync.py and aio.py only do the I/O.

Both clients subclass `ClientCore` (base URL, timeout, retry policy, auth, the cached model id). What a
call asks for and how its answer is read lives here once, written without I/O in the "sans-I/O" style of
h11 and httpcore: a *plan* is a generator that yields the route to GET next and receives the decoded JSON
(or, thrown in, the typed error), so one plan serves a blocking and an asyncio driver alike. Readiness
polling is a small state object both loops consult; streamed errors are typed by one context manager.
tests/client/test_client_parity.py fails when the two clients' public methods drift apart.
Taught in text_generation_inference/serve_and_query.md, "The course's client".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any

from ._common import FALLBACK_MODEL, auth_headers, check_timeout, model_from_listing, resolve_base_url
from .server_kinds import MISSING_ROUTE_STATUSES, MODELS_ROUTE, SGLANG_INFO_ROUTE, info_from_listing, merge_sglang_info
from .errors import TGIError, UnavailableError, from_response, translate
from .offline import allow_own_endpoints
from .retry import RetryPolicy

HEALTH_ROUTE = "/health"
INFO_ROUTE = "/info"
METRICS_ROUTE = "/metrics"
#: One readiness probe waits at most this long, however far the deadline is (seconds).
HEALTH_PROBE_MAX_S = 5.0
#: ...and at least this long, so a probe close to the deadline still has a chance to answer.
HEALTH_PROBE_MIN_S = 0.1

#: A plan: yields the next route to GET, receives its decoded JSON body, returns the answer.
Plan = Generator[str, Any, Any]


class ClientCore:
    """State and request rules both clients hold; subclasses add the HTTP clients and the I/O."""

    def __init__(self, base_url: str | None, api_key: str | None, timeout: float | None,
                 retry: RetryPolicy | None) -> None:
        self.base_url = resolve_base_url(base_url)
        self.timeout = check_timeout(timeout)
        self.retry = retry if retry is not None else RetryPolicy()
        self._headers = auth_headers(api_key)
        # A non-empty key keeps InferenceClient from sending a locally stored Hub token to this server.
        self._hub_key = api_key or "-"
        allow_own_endpoints()  # HF_HUB_OFFLINE blocks the Hub, not the server you point at
        self._model: str | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"


# -- request building ------------------------------------------------------------------------------
def generate_params(params: dict[str, Any]) -> dict[str, Any]:
    """TGI generation parameters with `details` always on: the typed result carries details."""
    return {**params, "details": True}


def chat_params(params: dict[str, Any], served_model: str) -> dict[str, Any]:
    """Chat parameters with `model` filled in from the server when the caller named none."""
    return {"model": served_model, **params}


def checked(response: Any) -> Any:
    """`response` when its status is below 400, else its typed error raised (errors.from_response)."""
    if response.status_code >= 400:
        raise from_response(response)
    return response


@contextmanager
def typed_stream_errors() -> Iterator[None]:
    """Re-raise an error met while reading a stream as the typed error it stands for (errors.translate)."""
    try:
        yield
    except Exception as exc:  # typed when it is a server or connection error, else re-raised
        error = translate(exc)
        if error is None or error is exc:
            raise
        raise error from exc


# -- readiness --------------------------------------------------------------------------------------
class ReadinessPoll:
    """One `wait_until_ready` call: how long the next probe may take, what it saw, when to give up."""

    def __init__(self, base_url: str, timeout: float, interval: float) -> None:
        self.base_url, self.timeout, self.interval = base_url, timeout, interval
        check_timeout(timeout)
        self.start = time.monotonic()
        self.deadline = self.start + timeout
        self.last = "no answer"

    def probe_timeout(self) -> float:
        left = self.deadline - time.monotonic()
        return min(HEALTH_PROBE_MAX_S, max(HEALTH_PROBE_MIN_S, left))

    def ready(self, status: int) -> bool:
        """Record one probe's HTTP status; True when it says ready (200)."""
        self.last = f"HTTP {status}"
        return status == 200

    def failed(self, exc: BaseException) -> None:
        self.last = type(exc).__name__

    def waited(self) -> float:
        return time.monotonic() - self.start

    def pause(self) -> float:
        """Seconds to sleep before the next probe; raises UnavailableError when that passes the deadline."""
        if time.monotonic() + self.interval > self.deadline:
            raise UnavailableError(f"{self.base_url} not ready after {self.timeout:.0f} s (last: {self.last})",
                                   error_type="not_ready")
        return self.interval


# -- plans (see the module docstring) -----------------------------------------------------------------
def info_plan() -> Plan:
    """TGI's `/info`; where it is missing (vLLM, SGLang), `/v1/models` plus SGLang's `/get_model_info`."""
    try:
        return (yield INFO_ROUTE)
    except TGIError as exc:
        if exc.status not in MISSING_ROUTE_STATUSES:
            raise
    info = info_from_listing((yield MODELS_ROUTE))
    try:
        return merge_sglang_info(info, (yield SGLANG_INFO_ROUTE))
    except TGIError as exc:
        if exc.status not in MISSING_ROUTE_STATUSES:
            raise
    return info


def _model_id(info: Any) -> Any:
    return info.get("model_id")


def served_model_plan() -> Plan:
    """The model id for chat requests: `/v1/models`, else `/info`, else FALLBACK_MODEL."""
    readers: tuple[tuple[str, Callable[[Any], Any]], ...] = (
        (MODELS_ROUTE, model_from_listing), (INFO_ROUTE, _model_id))
    for path, read in readers:
        try:
            model = read((yield path))
        except Exception:  # noqa: BLE001 - any failure means "ask the next route"
            model = None
        if model:
            return str(model)
    return FALLBACK_MODEL

