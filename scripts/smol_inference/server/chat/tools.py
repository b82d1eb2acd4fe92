"""Structured output and tools on `/v1/chat/completions`: the plan before generation, the answer after.

Follows TGI's router (router/src/lib.rs `ChatRequest::try_into_generate`, router/src/server.rs
`chat_completions`, router/src/chat.rs `ChatState`): `response_format` and `tools` are mutually
exclusive (422 `tool_error`); with tools, the generation is constrained to a call, answered as
OpenAI `tool_calls` (finish_reason "tool_calls", as OpenAI reports it); when the model picks
`no_tool` (tool_choice auto), the request runs again without tools and the plain text is the answer.
Streamed calls arrive as `delta.tool_calls` chunks: the first names the function, the next ones
carry pieces of its `arguments` string.
text_generation_inference/structured_output.md, "Structured output and tool calling".
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from . import structured_output
from .request import template_messages
from ...grammar import GrammarSpec
from .tool_calls import NO_TOOL, ToolPlan, call_name_so_far, parse_call, plan_tools, template_renders_tools, \
    tool_error, tool_suffix


@dataclass(frozen=True)
class ChatPlan:
    """A chat request made ready for the template and the engine."""

    messages: list[dict[str, Any]]              # what the chat template renders
    template_tools: list[dict[str, Any]] | None  # `tools` for a template that renders them itself
    grammar: GrammarSpec | None                 # response_format's or the tool call's grammar
    tools: ToolPlan | None                      # set when the answer is a tool call


def messages_with_tool_turns(body: Any) -> list[dict[str, Any]]:
    """The conversation checked by chat/request.py (`template_messages`), with its tool turns: an assistant
    turn that only called tools shows its calls as JSON text (templates without tool support render
    `content` only)."""
    out = template_messages(body)
    for message, original in zip(out, body.messages, strict=True):
        if original.tool_calls:
            message["tool_calls"] = original.tool_calls
            message["content"] = message["content"] or json.dumps(original.tool_calls)
        if original.tool_call_id is not None:
            message["tool_call_id"] = original.tool_call_id
    return out


def plan_chat(body: Any, tokenizer: Any) -> ChatPlan:
    """Raise 422 for a bad schema, unknown tool or both fields at once; otherwise the plan."""
    if body.response_format is not None and body.tools is not None:
        raise tool_error("Grammar and tools are mutually exclusive")
    messages = messages_with_tool_turns(body)
    grammar = structured_output.checked(structured_output.response_format_grammar(body.response_format), tokenizer)
    tools = plan_tools(body.tools, body.tool_choice, body.tool_prompt) if grammar is None else None
    template_tools = None
    if tools is not None:
        in_template = template_renders_tools(tokenizer)
        messages[-1]["content"] += tool_suffix(tools, in_template)
        template_tools = [f.openai() for f in tools.functions] if in_template else None
        grammar = structured_output.checked(tools.grammar(), tokenizer)
    return ChatPlan(messages, template_tools, grammar, tools)


def without_tools(body: Any) -> Any:
    """The same request with tools removed: TGI's second generation after the model chose `no_tool`."""
    return body.model_copy(update={"tools": None, "tool_choice": None, "response_format": None})


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def tool_message(text: str) -> dict[str, Any] | None:
    """The assistant message for a generated call, or None when the model chose `no_tool`."""
    call = parse_call(text)
    if call.name == NO_TOOL:
        return None
    return {"role": "assistant", "content": None, "tool_calls": [call.openai(new_call_id())]}


def arguments_so_far(text: str, name: str) -> str:
    """The call's `arguments` JSON written so far: the object after `"_name": "NAME"`, opened with `{`."""
    head = f'"_name": {json.dumps(name)}'
    rest = text[text.find(head) + len(head):]
    if rest in ("", ","):
        return "{"
    return "{" + (rest[2:] if rest.startswith(", ") else rest)


class ToolDeltas:
    """Turns generated text into OpenAI `delta.tool_calls` chunks (TGI's ChatState, buffering first).

    `push(piece, done, complete)` returns the deltas to send now. The name is sent once it is complete;
    argument text is sent as it grows, holding back trailing `}` (the last one closes the wrapper object).
    A generation cut before the call was complete (`complete=False`: length, stop string) sends all the
    argument text written so far, as OpenAI and vLLM do (finish_reason "length")."""

    def __init__(self) -> None:
        self.text, self.sent = "", ""
        self.name: str | None = None
        self.call_id = new_call_id()

    @property
    def declined(self) -> bool:
        return self.name == NO_TOOL

    def push(self, piece: str, done: bool, complete: bool = True) -> list[dict[str, Any]]:
        self.text += piece
        deltas: list[dict[str, Any]] = []
        if self.declined:
            return deltas
        if self.name is None:
            self.name = call_name_so_far(self.text)
            if self.name is None or self.declined:
                return deltas
            deltas.append({"index": 0, "id": self.call_id, "type": "function",
                           "function": {"name": self.name, "arguments": ""}})
        args = arguments_so_far(self.text, self.name)
        if not done:
            visible = args.rstrip("}")
        elif complete and args.endswith("}}"):
            visible = args[:-1]
        else:
            visible = args
        if len(visible) > len(self.sent) and visible.startswith(self.sent):
            deltas.append({"index": 0, "function": {"arguments": visible[len(self.sent):]}})
            self.sent = visible
        return deltas


def call_message(text: str, finish_reason: str) -> dict[str, Any] | None:
    """The assistant message for generated call text, or None when the model chose `no_tool`.

    A complete call is parsed (422 `tool_error` if it is not JSON); a cut one carries the partial call
    exactly as the streamed deltas concatenate (no `tool_calls` if the name itself was cut)."""
    if finish_reason == "eos_token":
        return tool_message(text)
    state = ToolDeltas()
    deltas = state.push(text, done=True, complete=False)
    if state.declined:
        return None
    if state.name is None:
        return {"role": "assistant", "content": None}
    arguments = "".join(d["function"]["arguments"] for d in deltas)
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": state.call_id, "type": "function", "function": {"name": state.name, "arguments": arguments}}]}


async def tool_stream(state: ToolDeltas, tokens: AsyncIterator[tuple[str | None, Any]],
                      chunk: Callable[[dict[str, Any], str | None], str],
                      fallback: Callable[[], AsyncIterator[str]],
                      finish_of: Callable[[str], str]) -> AsyncIterator[str]:
    """SSE events for a streamed tool call. `tokens` yields (text to show, or None for keep-alive;
    finished seq or None); `chunk(delta, finish_reason)` renders one event; `fallback()` streams the
    plain answer when the model declines (`no_tool`; `state.declined` tells the caller afterwards);
    `finish_of(seq.finish_reason)` is the last chunk's finish_reason."""
    async for piece, seq in tokens:
        if piece is None:
            yield ":\n\n"
            continue
        complete = seq is not None and seq.finish_reason == "eos_token"
        deltas = state.push(piece, seq is not None, complete)
        if state.declined:
            async for event in fallback():
                yield event
            return
        finish = finish_of(seq.finish_reason) if seq is not None else None
        for i, delta in enumerate(deltas):
            last = seq is not None and i == len(deltas) - 1
            yield chunk({"role": "assistant", "content": None, "tool_calls": [delta]}, finish if last else None)
        if seq is not None and not deltas:
            yield chunk({"role": "assistant", "content": None}, finish)
