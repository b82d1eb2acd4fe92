"""Structured output and tools: the one place that reads TGI's `grammar` and OpenAI's `tools`,
`tool_choice`, `tool_prompt`, `parallel_tool_calls`, `functions`, `function_call`, `response_format`,
and tool turns in a conversation (`tool_calls`, role "tool").

For now every one of them is refused with a 422 that names it (TGI's wording: "Input validation
error: ..." or "Tool error: ..."), so none is accepted and silently dropped. Guided generation
(engine/grammar.py) replaces the bodies of these functions; the routes call nothing else for these
fields. text_generation_inference.md, "Validation".
"""

from __future__ import annotations

from typing import Any

from .errors import ApiError, validation

#: The chat fields this module owns, in the order they are reported.
CHAT_FIELDS = ("tools", "tool_choice", "tool_prompt", "parallel_tool_calls", "functions", "function_call",
               "response_format")


def check_generate(parameters: Any) -> None:
    """TGI's `parameters.grammar` on /generate, /generate_stream and `POST /`."""
    if getattr(parameters, "grammar", None) is not None:
        raise validation("`grammar` is not supported by this server yet (guided generation)")


def check_chat(body: Any) -> None:
    """The structured-output and tool fields of an OpenAI chat request."""
    for name in CHAT_FIELDS:
        if getattr(body, name, None) is not None:
            raise ApiError("tool_error" if name != "response_format" else "validation",
                           f"`{name}` is not supported by this server yet (tools and guided generation)")


def check_message(index: int, message: Any) -> None:
    """A tool turn in the conversation: an assistant's `tool_calls`, or a "tool" message with its result."""
    if message.tool_calls is not None:
        raise ApiError("tool_error", f"messages[{index}]: `tool_calls` are not supported by this server yet")
    if message.role == "tool" or message.tool_call_id is not None:
        raise ApiError("tool_error", f"messages[{index}]: tool messages are not supported by this server yet")
