"""From a request's `grammar` / `response_format` to a compiled grammar, with TGI's checks and messages.

TGI's `grammar` (router/src/lib.rs, `GrammarType`, tagged `{"type", "value"}`): `json` (alias
`json_object`) carries a JSON Schema (an object, or a string holding one), `json_schema` carries
`{"name", "schema"}`, `regex` a pattern. TGI's router (router/src/validation.rs) checks a schema
against the draft 2020-12 meta-schema and requires a `properties` field; its messages are
"grammar is not valid: {reason}" and "Grammar must have a 'properties' field".
OpenAI's `response_format` (platform.openai.com/docs/api-reference/chat/create) is also accepted:
`{"type": "text"}`, `{"type": "json_object"}` (any JSON object) and
`{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}`, which is what the openai
client's `chat.completions.parse()` sends. The routes call `check_generate`, `check_legacy_fields` and
`check_message` (the one place that reads these fields); the tool fields themselves are planned in
chat/tools.py. text_generation_inference/structured_output.md, "Structured output and tool calling".
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from ...grammar import GrammarError, GrammarSpec, GrammarState, compiler_for
from ..errors import ApiError, validation

#: OpenAI's deprecated function-calling fields (before `tools`): refused by name.
LEGACY_FIELDS = ("functions", "function_call")
#: OpenAI's `json_object`: any JSON object.
ANY_OBJECT: dict[str, Any] = {"type": "object"}


def invalid(reason: str) -> ApiError:
    return validation(f"grammar is not valid: {reason}")


def checked_schema(value: Any, need_properties: bool = True) -> dict[str, Any]:
    """A JSON Schema from a request: parsed if it is a string, meta-validated, TGI's `properties` rule."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise invalid(str(exc)) from None
    if not isinstance(value, dict):
        raise validation("grammar is not supported")
    try:
        Draft202012Validator.check_schema(value)
    except SchemaError as exc:
        raise invalid(exc.message) from None
    if need_properties and "properties" not in value:
        raise invalid("Grammar must have a 'properties' field")
    return value


def tgi_grammar(grammar: dict[str, Any] | None) -> GrammarSpec | None:
    """TGI's `parameters.grammar` -> a GrammarSpec (None when absent); 422 `validation` when malformed."""
    if grammar is None:
        return None
    kind, value = grammar.get("type"), grammar.get("value")
    if value is None:
        raise validation("Failed to deserialize the JSON body: grammar needs `type` and `value`")
    if kind in ("json", "json_object"):
        return GrammarSpec.json_schema(checked_schema(value))
    if kind == "json_schema":
        config = value if isinstance(value, dict) else {}
        if "schema" not in config:
            raise validation("Failed to deserialize the JSON body: `json_schema` grammar needs `schema`")
        return GrammarSpec.json_schema(checked_schema(config["schema"]))
    if kind == "regex":
        if not isinstance(value, str):
            raise validation("Failed to deserialize the JSON body: a `regex` grammar value is a string")
        return GrammarSpec("regex", value)
    raise validation(f"Failed to deserialize the JSON body: unknown grammar type {kind!r}, "
                     "expected one of `json`, `json_object`, `json_schema`, `regex`")


def response_format_grammar(fmt: dict[str, Any] | None) -> GrammarSpec | None:
    """OpenAI's or TGI's `response_format` -> a GrammarSpec; None for absent or `{"type": "text"}`."""
    if fmt is None or fmt.get("type") == "text":
        return None
    if "value" in fmt:                                        # TGI's tagged form
        return tgi_grammar(fmt)
    if fmt.get("type") == "json_object":
        return GrammarSpec.json_schema(ANY_OBJECT)
    if fmt.get("type") == "json_schema":
        config = fmt.get("json_schema")
        if not isinstance(config, dict) or "schema" not in config:
            raise validation("Failed to deserialize the JSON body: `response_format.json_schema.schema` is required")
        schema = checked_schema(config["schema"], need_properties=False)
        return GrammarSpec.json_schema(schema)
    raise validation(f"Failed to deserialize the JSON body: unknown response_format type {fmt.get('type')!r}")


def checked(spec: GrammarSpec | None, tokenizer: Any) -> GrammarSpec | None:
    """Compile `spec` now (cached), so that a grammar that does not compile (an unsupported keyword,
    a bad regex) is a 422 "grammar is not valid: ..." at validation, never a failure in the engine."""
    if spec is not None:
        try:
            compiler_for(tokenizer).compile(spec)
        except GrammarError as exc:
            raise invalid(str(exc)) from None
    return spec


def new_state(spec: GrammarSpec | None, tokenizer: Any) -> GrammarState | None:
    """A fresh grammar state for one sequence (each of best_of / n gets its own), or None."""
    return None if spec is None else compiler_for(tokenizer).new_state(spec)


def check_generate(parameters: Any) -> None:
    """TGI's `parameters.grammar` is compiled in validation.validate (it needs the tokenizer): nothing here."""


def check_legacy_fields(body: Any) -> None:
    """The chat fields no grammar can honour, refused by name; the rest are planned in chat/tools.py."""
    for name in LEGACY_FIELDS:
        if getattr(body, name, None) is not None:
            raise ApiError("tool_error", f"`{name}` is not supported: it is OpenAI's deprecated form, send `tools`")


def check_message(index: int, message: Any) -> None:
    """Tool turns (an assistant's `tool_calls`, a "tool" message with its result) are accepted."""
