"""Request bodies of the course server, shaped like TGI's OpenAPI schemas.

Field names, types and defaults follow TGI's docs/openapi.json (`GenerateParameters`,
`CompatGenerateRequest`, `ChatRequest`, `CompletionRequest`) and TGI's router (router/src/lib.rs).
Range rules that TGI checks after parsing (temperature > 0, ...) live in validation.py so that
they give TGI's messages; the same ranges are written into the published OpenAPI schema
(`doc_range`) so that it describes what the server accepts. Types are strict like serde's
(`"stream": 0` or `"max_new_tokens": "5"` is a 422). Unlike TGI's serde structs, an unknown field is
a 422 that names it (a misspelt `max_tokens` in /generate would otherwise be dropped silently), and
a string that is not valid Unicode (a lone surrogate such as `"\\ud800"`, legal in JSON) is a 422
before it reaches the tokenizer. The OpenAI bodies live in api/openai_schemas.py.
text_generation_inference/differences_from_tgi.md, "The API" and "Validation".
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from ...json_text import invalid_unicode

#: Largest seed a u64 can hold (TGI's seed type).
MAX_SEED = 2**64 - 1
#: TGI's `top_k` is an i32: a larger number fails deserialization (422) rather than meaning "no limit".
MAX_TOP_K = 2**31 - 1


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Request(_Body):
    """A whole request body: refused when any string in it is not valid Unicode text."""

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        where = invalid_unicode(data)
        if where is not None:
            raise PydanticCustomError("invalid_unicode", "`{where}` is not valid Unicode text (a lone surrogate "
                                      "such as \\ud800 cannot be encoded as UTF-8)", {"where": where})
        return data


def doc_range(**bounds: float) -> Any:
    """A field documented with JSON-schema bounds that validation.py (not pydantic) enforces."""
    extra: dict[str, Any] = dict(bounds)  # pydantic's JsonDict, whose values are any JSON value
    return Field(default=None, json_schema_extra=extra)


class GenerateParameters(_Body):
    best_of: int | None = doc_range(minimum=1)
    decoder_input_details: bool = False
    details: bool = False
    do_sample: bool = False
    frequency_penalty: float | None = doc_range(minimum=-2.0, maximum=2.0)
    grammar: dict[str, Any] | None = Field(default=None, description=(
        'Constrained decoding (TGI GrammarType): {"type": "json", "value": <JSON Schema with properties>}, '
        '{"type": "json_schema", "value": {"name": ..., "schema": ...}} or {"type": "regex", "value": <pattern>}. '
        'A bad schema, an unsupported keyword or a bad pattern is a 422 "grammar is not valid: ...".'),
        examples=[{"type": "json", "value": {"properties": {"location": {"type": "string"}}}}])
    max_new_tokens: int | None = doc_range(minimum=1)
    repetition_penalty: float | None = doc_range(exclusiveMinimum=0.0)
    return_full_text: bool | None = None
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    stop: list[str] = Field(default_factory=list)
    temperature: float | None = doc_range(exclusiveMinimum=0.0)
    top_k: int | None = Field(default=None, le=MAX_TOP_K, json_schema_extra={"minimum": 1})
    top_n_tokens: int | None = doc_range(minimum=0)
    top_p: float | None = doc_range(exclusiveMinimum=0.0, exclusiveMaximum=1.0)
    truncate: int | None = doc_range(minimum=1)
    typical_p: float | None = doc_range(exclusiveMinimum=0.0, exclusiveMaximum=1.0)
    watermark: bool = False
    adapter_id: str | None = None


class GenerateRequest(_Request):
    """`POST /generate`, `/generate_stream`, `/tokenize`; `POST /` also reads `stream`."""

    inputs: str = Field(json_schema_extra={"minLength": 1})
    parameters: GenerateParameters | None = None
    stream: bool = False

