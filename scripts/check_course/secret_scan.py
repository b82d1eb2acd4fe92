"""No tokens or keys in any tracked (or untracked, not ignored) text file."""

from __future__ import annotations

from pathlib import Path

from .config import SECRET_MAX_BYTES, SECRET_PATTERNS, SECRET_SKIP_SUFFIXES
from .paths import rel
from .report import Report

def check_secrets(root: Path, files: list[Path], report: Report) -> None:
    for path in files:
        if path.suffix.lower() in SECRET_SKIP_SUFFIXES:
            continue
        try:
            if path.stat().st_size > SECRET_MAX_BYTES:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if b"\0" in data[:8192]:
            continue
        text = data.decode("utf-8", "replace")
        for kind, regex in SECRET_PATTERNS.items():
            for m in regex.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                report.error(rel(path, root), f"line {line}: looks like a {kind} ({m.group()[:6]}...)")
