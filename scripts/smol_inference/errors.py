"""The error words shared by every layer that answers with TGI's error shapes: the lesson-1 web app
(webapp.py), the course server (server/errors.py) and its engine (server/engine/).

TGI's router prefixes each `InferError` message with its type's words (router/src/infer/mod.rs) and
clients match on them; the engine's messages below are the `generation` errors it fails a request with.
Kept below the server so that lesson 1 never imports it. text_generation_inference.md, "Errors".
"""

#: The `InferError` display prefixes of TGI's router (router/src/infer/mod.rs); clients match on them.
PREFIX = {
    "validation": "Input validation error: ",
    "generation": "Request failed during generation: ",
    "template_error": "Template error: ",
    "tool_error": "Tool error: ",
}

#: A fault in a step (allocation, forward, sampling) failed the request (TGI's `generation` error).
GENERATION_FAILED = "Request failed during generation"
#: The request was still unanswered at its deadline (--request-timeout-seconds).
DEADLINE_EXCEEDED = "Request failed during generation: deadline exceeded"
#: The server stopped before the request finished (SIGTERM, then the grace period).
SHUTTING_DOWN = "Server is shutting down"
