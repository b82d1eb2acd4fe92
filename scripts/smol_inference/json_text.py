"""JSON text that Python accepts and UTF-8 cannot encode: a lone surrogate such as `"\\ud800"` is legal
JSON (RFC 8259, section 8.2, allows unpaired escapes) but no tokenizer can take it. The lesson-1 web
app (webapp.py) and the course server's request bodies (server/api/tgi_schemas.py) refuse it with a 422
that names where it is. text_generation_inference.md, "Validation".
"""

from __future__ import annotations

from typing import Any


def invalid_unicode(value: Any, path: str = "") -> str | None:
    """The JSON path of the first string (or key) in `value` that UTF-8 cannot encode, else None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "body"
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        where = f"{path}.{key}" if path and isinstance(key, str) else f"{path}[{key}]" if path else str(key)
        found = invalid_unicode(key, where) if isinstance(key, str) else None
        found = found or invalid_unicode(item, where)
        if found:
            return found
    return None
