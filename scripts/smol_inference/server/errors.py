"""TGI's error contract: a body `{"error", "error_type"}` and a status per error type.

From TGI's router (router/src/server.rs, `impl From<InferError> for (StatusCode, Json<ErrorResponse>)`),
and router/src/infer/mod.rs (`InferError` messages); the `error` string starts with TGI's
prefix for its type ("Input validation error: ...", PREFIX, shared with lesson 1 in smol_inference/errors.py).
401 and 413 are the course server's answers for a missing API key and an oversize body; 503
`shutting_down` is its answer while it drains after SIGTERM (TGI's router stops accepting connections
instead). text_generation_inference/serve_and_query.md, "Errors".
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import PREFIX

STATUS = {
    "validation": 422,
    "template_error": 422,
    "tool_error": 422,
    "generation": 424,
    "overloaded": 429,
    "incomplete_generation": 500,
    "healthcheck": 503,
    "unhealthy": 503,
    "shutting_down": 503,
    "authorization": 401,
    "payload_too_large": 413,
    "unsupported_media_type": 415,     # a body not sent as JSON (smol_inference/json_body.py)
    "not_found": 404,
    "internal": 500,
}


@dataclass
class ApiError(Exception):
    """An error the client sees as TGI would show it."""

    error_type: str
    message: str

    def __post_init__(self) -> None:
        if self.error_type not in STATUS:
            raise ValueError(f"unknown error_type {self.error_type!r}")
        super().__init__(self.message)

    @property
    def status(self) -> int:
        return STATUS[self.error_type]

    @property
    def error(self) -> str:
        """The `error` string clients see: TGI's prefix for the type, then the message (a message
        that already starts with the prefix's words, such as GENERATION_FAILED, is not prefixed twice)."""
        prefix = PREFIX.get(self.error_type, "")
        if prefix and self.message.startswith(prefix.rstrip(": ")):
            return self.message
        return prefix + self.message

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_type": self.error_type}


def validation(message: str) -> ApiError:
    return ApiError("validation", message)


OVERLOADED = "Model is overloaded"
INTERNAL = "Internal server error"
