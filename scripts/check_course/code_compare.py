"""Comparing code between twins: comments may be translated, code may not."""

from __future__ import annotations

import io
import tokenize

from .config import HASH_COMMENT_LANGS, LANGUAGE_ARG_RE, PYTHON_LANGS

def strip_hash_comment(line: str) -> str:
    """Cut a '#' comment that starts a line or follows whitespace, outside quotes."""
    quote: str | None = None
    escaped = False
    for i, ch in enumerate(line):
        if escaped:
            escaped = False
            continue
        if ch == "\\":
            escaped = True
            continue
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def _strip_python_comments(code: str) -> str | None:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    lines = code.split("\n")
    for tok in reversed(tokens):
        if tok.type == tokenize.COMMENT:
            row, col = tok.start
            lines[row - 1] = lines[row - 1][:col]
    return "\n".join(lines)


def normalise_code(code: str, lang: str) -> str:
    """Code with translatable comments removed; what twins must agree on (module docstring, "Code")."""
    code = code.replace("\r\n", "\n")
    if lang not in HASH_COMMENT_LANGS:
        return code
    stripped = _strip_python_comments(code) if lang in PYTHON_LANGS else None
    if stripped is not None:  # exercises(..., language="zh") in a Chinese notebook is its one allowed difference
        stripped = LANGUAGE_ARG_RE.sub("language=LANGUAGE", stripped)
    if stripped is None:
        stripped = "\n".join(strip_hash_comment(line) for line in code.split("\n"))
    return "\n".join(line.rstrip() for line in stripped.split("\n") if line.strip())


def first_difference(a: str, b: str) -> str:
    la, lb = a.split("\n"), b.split("\n")
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            return f"EN {x.strip()[:60]!r} vs ZH {y.strip()[:60]!r}"
    return f"EN has {len(la)} line(s), ZH {len(lb)}"
