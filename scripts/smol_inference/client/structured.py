"""Request fields for structured output and tools, and reading the answers back.

`grammar()` builds TGI's `parameters.grammar` (`{"type": "json" | "regex", "value": ...}`, router/src/lib.rs
`GrammarType`), `response_format()` OpenAI's (`json_object`, or `json_schema` with `name`, `schema`,
`strict`), `function_tool()` one OpenAI tool. A schema may be a JSON Schema dict or a Pydantic model
class; `parse()` turns generated text into that model (or checks it against the dict with jsonschema).
Taught in text_generation_inference/structured_output.md, "Structured output and tool calling".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

Schema = dict[str, Any] | type


def json_schema(schema: Schema) -> dict[str, Any]:
    """A JSON Schema dict from a dict or a Pydantic model class (`model_json_schema()`)."""
    if isinstance(schema, dict):
        return schema
    to_schema = getattr(schema, "model_json_schema", None)
    if to_schema is None:
        raise TypeError(f"expected a JSON Schema dict or a Pydantic model class, got {schema!r}")
    return to_schema()


def grammar(schema: Schema | None = None, *, regex: str | None = None) -> dict[str, Any]:
    """TGI's `grammar` parameter: a JSON Schema (dict or Pydantic model) or, with `regex=`, a pattern."""
    if (schema is None) == (regex is None):
        raise ValueError("give exactly one of a schema or regex=")
    if schema is None:
        return {"type": "regex", "value": regex}
    return {"type": "json", "value": json_schema(schema)}


def response_format(schema: Schema | None = None, *, name: str | None = None, strict: bool = True) -> dict[str, Any]:
    """OpenAI's `response_format`: `json_schema` for a schema, `json_object` (any object) without one."""
    if schema is None:
        return {"type": "json_object"}
    title = name or (schema.get("title") if isinstance(schema, dict) else getattr(schema, "__name__", None))
    return {"type": "json_schema", "json_schema": {"name": title or "answer", "schema": json_schema(schema),
                                                   "strict": strict}}


def function_tool(name: str, description: str, parameters: Schema) -> dict[str, Any]:
    """One OpenAI tool: `{"type": "function", "function": {name, description, parameters}}`."""
    return {"type": "function", "function": {"name": name, "description": description,
                                             "parameters": json_schema(parameters)}}


def parse(text: str | None, schema: Schema) -> Any:
    """Generated JSON text -> a model instance (Pydantic class) or a dict validated against the schema.
    Raises ValueError (pydantic.ValidationError or jsonschema.ValidationError) when it does not fit, or
    when there is no text (a chat answer that called a tool instead)."""
    if text is None:
        raise ValueError("no text to parse: the answer carried none (a tool call instead?)")
    if isinstance(schema, dict):
        from jsonschema import Draft202012Validator

        value = json.loads(text)
        Draft202012Validator(schema).validate(value)
        return value
    validate = getattr(schema, "model_validate_json", None)
    if validate is None:
        raise TypeError(f"expected a JSON Schema dict or a Pydantic model class, got {schema!r}")
    return validate(text)


@dataclass(frozen=True)
class Call:
    """A tool call read from a chat answer: its id, the function's name and its arguments (a dict)."""

    id: str
    name: str
    arguments: dict[str, Any]


def _field(obj: Any, key: str) -> Any:
    """`obj[key]` of a dict, else `obj.key` (openai's and huggingface_hub's typed answers)."""
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key)


def tool_calls(message: Any) -> list[Call]:
    """The calls in a chat message (openai, huggingface_hub or plain dict); [] when it answered in text."""
    calls = message.get("tool_calls") if isinstance(message, dict) else getattr(message, "tool_calls", None)
    out = []
    for call in calls or []:
        function = _field(call, "function")
        arguments = _field(function, "arguments")
        out.append(Call(_field(call, "id"), _field(function, "name"),
                        json.loads(arguments) if isinstance(arguments, str) else arguments))
    return out
