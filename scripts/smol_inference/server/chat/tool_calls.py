"""Tool calling as TGI does it: tools become a JSON grammar and a prompt, the output becomes `tool_calls`.

Follows TGI's router (router/src/infer/tool_grammar.rs, router/src/infer/chat_template.rs,
router/src/chat.rs): every offered function becomes one schema `{"_name": <const name>, ...its
parameters}`; the model must write `{"function": <one of them>}`. `tool_choice` picks the offered
set: `auto` adds TGI's `no_tool` function (the model may decline, then the server answers in plain
text with a second generation), `required` offers all, a named function offers that one (unknown:
422 `tool_error` "Tool with name X not found"), `none` offers nothing. The tools (when the chat
template does not render `tools` itself) and the `tool_prompt` are appended to the last message
after a `---` line. text_generation_inference/structured_output.md, "Structured output and tool calling".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, meta

from . import structured_output
from ..config import DEFAULT_TOOL_PROMPT
from ...grammar import GrammarSpec
from ..errors import ApiError

NO_TOOL = "no_tool"
NO_TOOL_FUNCTION: dict[str, Any] = {
    "name": NO_TOOL, "description": "Open ended response with no specific tool selected",
    "parameters": {"type": "object"}}


def tool_error(message: str) -> ApiError:
    return ApiError("tool_error", message)


@dataclass(frozen=True)
class Function:
    """One callable function: OpenAI's `function` object (`parameters`; TGI also reads `arguments`)."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a function needs a name")

    @classmethod
    def from_tool(cls, tool: Any) -> "Function":
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
            raise tool_error("each tool needs `type: function` and a `function` with a `name`")
        params = function.get("parameters", function.get("arguments"))
        if params is None or params == {}:                      # absent or empty: a function without arguments
            params = {"type": "object", "properties": {}}
        if not isinstance(params, dict):
            raise tool_error(f"the parameters of `{function['name']}` must be a JSON Schema object")
        description = function.get("description")
        return cls(function["name"], description if isinstance(description, str) else None,
                   structured_output.checked_schema(params, need_properties=False))   # 422 as TGI's grammar check

    def schema(self) -> dict[str, Any]:
        """TGI's per-function schema: `_name` first (a constant), then the function's own properties."""
        props = {"_name": {"type": "string", "const": self.name}, **self.parameters.get("properties", {})}
        return {"type": "object", "description": self.description or "", "properties": props,
                "required": ["_name", *self.parameters.get("required", [])],
                "additionalProperties": self.parameters.get("additionalProperties", False) is True}

    def openai(self) -> dict[str, Any]:
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": self.parameters}}


@dataclass(frozen=True)
class ToolPlan:
    """What a chat request with tools turns into: the offered functions and the grammar forcing a call."""

    functions: tuple[Function, ...]
    prompt: str

    def grammar(self) -> GrammarSpec:
        defs = {f.name: f.schema() for f in self.functions}
        return GrammarSpec.json_schema({
            "type": "object", "$defs": defs, "required": ["function"], "additionalProperties": False,
            "properties": {"function": {"anyOf": [{"$ref": f"#/$defs/{name}"} for name in defs]}}})

    @property
    def may_decline(self) -> bool:
        return any(f.name == NO_TOOL for f in self.functions)


def plan_tools(tools: list[Any] | None, tool_choice: Any, tool_prompt: str | None) -> ToolPlan | None:
    """TGI's ToolGrammar::apply: None when no tool is offered (no tools, or `tool_choice: none`)."""
    if not tools:
        return None
    functions = [Function.from_tool(tool) for tool in tools]
    choice = tool_choice if tool_choice is not None else "auto"
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") if isinstance(choice.get("function"), dict) else None
        if not isinstance(name, str):
            raise tool_error("`tool_choice` must be auto, none, required or {\"type\": \"function\", "
                             "\"function\": {\"name\": ...}}")
        choice = name
    if choice == "none":
        return None
    if choice == "auto":
        functions.append(Function(**NO_TOOL_FUNCTION))
    elif choice != "required":
        matching = [f for f in functions if f.name == choice]
        if not matching:
            raise tool_error(f"Tool with name {choice} not found")
        functions = matching[:1]
    prompt = tool_prompt if tool_prompt else DEFAULT_TOOL_PROMPT
    return ToolPlan(tuple(functions), prompt)


def template_renders_tools(tokenizer: Any) -> bool:
    """Whether the chat template reads a `tools` variable (TGI checks the same to decide where tools go)."""
    template = getattr(tokenizer, "chat_template", None)
    if not isinstance(template, str):
        return False
    return "tools" in meta.find_undeclared_variables(Environment().parse(template))


def tool_suffix(plan: ToolPlan, in_template: bool) -> str:
    """Text appended to the last message: the tools as JSON (unless the template shows them) and the prompt."""
    if in_template:
        return f"\n---\n{plan.prompt}"
    tools = json.dumps([f.openai() for f in plan.functions])
    return f"\n---\n{tools}\n{plan.prompt}"


@dataclass(frozen=True)
class ToolCall:
    """A parsed call: the function's name and its arguments (a JSON object)."""

    name: str
    arguments: dict[str, Any]

    def openai(self, call_id: str) -> dict[str, Any]:
        return {"id": call_id, "type": "function",
                "function": {"name": self.name, "arguments": json.dumps(self.arguments)}}


def parse_call(text: str) -> ToolCall:
    """The generated `{"function": {"_name": ..., ...}}` -> ToolCall (TGI's chat::parse_output)."""
    try:
        call = json.loads(text)["function"]
        arguments = {k: v for k, v in call.items() if k != "_name"}
        return ToolCall(str(call["_name"]), arguments)
    except (ValueError, KeyError, TypeError) as exc:
        raise tool_error(f"Failed to parse generated text: {exc} {text!r}") from None


def call_name_so_far(text: str) -> str | None:
    """The function name once the generated prefix has written it completely, else None.

    The grammar writes `{"function": {"_name": "NAME", ` first, so the name is the string value
    after `"_name": ` once its closing quote has arrived (names are JSON strings without escapes)."""
    marker = '"_name": "'
    start = text.find(marker)
    if start < 0:
        return None
    end = text.find('"', start + len(marker))
    return text[start + len(marker):end] if end >= 0 else None
