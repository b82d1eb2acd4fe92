"""Typed errors for the TGI client, mapped from TGI's error body `{"error", "error_type"}`.

Follows the status table of TGI's router (router/src/server.rs, `impl From<InferError>`): 422 validation,
424 generation, 429 overloaded, 500 incomplete_generation, 503 healthcheck. Connection failures become
`UnavailableError` too, so one `except` covers "the server cannot answer now". A body without
`error_type` is classified by TGI's message prefix ("Input validation error: ...").
Taught in text_generation_inference/serve_and_query.md, "Errors and retries".
"""

from __future__ import annotations

from typing import Any


class TGIError(Exception):
    """Any error answered by (or on the way to) a TGI-compatible server."""

    #: Whether retrying the same request later may succeed (see retry.RetryPolicy).
    retryable = False

    def __init__(self, message: str, *, error_type: str | None = None, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type
        self.status = status
        self.retry_after = retry_after
        self.attempts = 1

    def __str__(self) -> str:
        where = f"HTTP {self.status}" if self.status else "no HTTP status"
        return f"{self.message} (error_type={self.error_type!r}, {where})"


class ValidationError(TGIError):
    """422: the request itself is wrong (parameters, too many tokens, chat template). Never retried."""


class GenerationError(TGIError):
    """424 or 500: the model failed while generating (error_type generation or incomplete_generation)."""


class OverloadedError(TGIError):
    """429: max_concurrent_requests reached. Retried with backoff."""

    retryable = True


class UnavailableError(TGIError):
    """503 (model not ready) or no connection at all. Retried with backoff."""

    retryable = True


class AuthenticationError(TGIError):
    """401/403: the server was started with --api-key and the request lacks the right one."""


class RequestTimeoutError(TGIError, TimeoutError):
    """The server accepted the request but did not answer within the client's timeout. Not retried."""


_BY_STATUS: dict[int, type[TGIError]] = {
    401: AuthenticationError, 403: AuthenticationError, 422: ValidationError, 424: GenerationError,
    429: OverloadedError, 503: UnavailableError,
}
_BY_TYPE: dict[str, type[TGIError]] = {
    "validation": ValidationError, "template_error": ValidationError, "tool_error": ValidationError,
    "generation": GenerationError, "incomplete_generation": GenerationError,
    "overloaded": OverloadedError, "healthcheck": UnavailableError, "unhealthy": UnavailableError,
    "authentication": AuthenticationError,
}


#: TGI's `InferError` display strings (router/src/infer/mod.rs): the start of every `error` message.
_BY_PREFIX: dict[str, str] = {
    "Input validation error: ": "validation", "Request failed during generation: ": "generation",
    "Template error: ": "template_error", "Tool error: ": "tool_error", "Model is overloaded": "overloaded",
    "Incomplete generation": "incomplete_generation",
}


def error_type_of(message: str | None) -> str | None:
    """TGI's error_type for a message that starts with one of TGI's prefixes (a body without
    `error_type`, or a bare streamed error), else None."""
    return next((kind for prefix, kind in _BY_PREFIX.items() if (message or "").startswith(prefix)), None)


def error_class(status: int | None, error_type: str | None) -> type[TGIError]:
    """The exception class for an HTTP status and/or a TGI error_type (status wins when known)."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if error_type in _BY_TYPE:
        return _BY_TYPE[error_type]
    return TGIError


def from_payload(payload: Any, status: int | None = None, retry_after: float | None = None) -> TGIError:
    """Build the typed error from a decoded body (or a streamed error event)."""
    if isinstance(payload, dict):
        message = payload.get("error") or payload.get("message") or payload.get("detail")
        if isinstance(message, dict):  # OpenAI style: {"error": {"message", "type"}}
            error_type = message.get("type")
            message = message.get("message")
        else:
            error_type = payload.get("error_type") or payload.get("type")
    else:
        message, error_type = None, None
    message = str(message or (payload if payload else f"HTTP {status}"))
    error_type = error_type or error_type_of(message)
    return error_class(status, error_type)(message, error_type=error_type, status=status, retry_after=retry_after)


_CONNECTION = {"ConnectError", "ConnectTimeout", "RemoteProtocolError", "ReadError", "WriteError",
               "NetworkError", "ConnectionError"}
_TIMEOUT = {"ReadTimeout", "WriteTimeout", "PoolTimeout", "InferenceTimeoutError"}


def _kinds(exc: BaseException) -> set[str]:
    # huggingface_hub ships its own httpx fork (httpx2), so classes are matched by name, not identity.
    return {cls.__name__ for cls in type(exc).__mro__}


def from_response(response: Any) -> TGIError:
    """Build the typed error from an HTTP response (httpx or httpx2) whose status is >= 400."""
    try:
        response.read()
        payload: Any = response.json()
    except Exception:  # noqa: BLE001 - no JSON body: fall back to the text, else the status alone
        try:
            payload = response.text
        except Exception:  # noqa: BLE001 - no readable body at all: the status alone
            payload = None
    retry_after = _seconds(response.headers.get("retry-after"))
    return from_payload(payload, status=response.status_code, retry_after=retry_after)


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _status(response: Any) -> int | None:
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def translate(exc: BaseException) -> TGIError | None:
    """Map an httpx or huggingface_hub exception to a typed error; None when it is not ours to map."""
    if isinstance(exc, TGIError):
        return exc
    from huggingface_hub import errors as hub

    response = getattr(exc, "response", None)
    if isinstance(exc, hub.TextGenerationError):
        cause = exc.__cause__
        response = getattr(cause, "response", None) if response is None else response
        status = _status(response)
        error_type = {hub.ValidationError: "validation", hub.GenerationError: "generation",
                      hub.OverloadedError: "overloaded",
                      hub.IncompleteGenerationError: "incomplete_generation"}.get(type(exc))
        message = str(exc).split("\n")[0]
        error_type = error_type or error_type_of(message)
        return error_class(status, error_type)(message, error_type=error_type, status=status)
    kinds = _kinds(exc)
    if kinds & _TIMEOUT:
        return RequestTimeoutError(str(exc) or "request timed out", error_type="timeout")
    if kinds & _CONNECTION:
        return UnavailableError(str(exc) or type(exc).__name__, error_type="connection")
    status = _status(response)
    if status is not None and status >= 400:
        return from_response(response)
    return None
