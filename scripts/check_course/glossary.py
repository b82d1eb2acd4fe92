"""TERMINOLOGY.md's renderings to avoid: a warning where a Chinese file uses one."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .config import CODE_SPAN_RE
from .documents import load_doc
from .paths import chinese_files, rel
from .report import Report

def load_glossary(root: Path) -> list[tuple[str, str, list[str]]]:
    """(english, chinese, avoid) rows of TERMINOLOGY.md's glossary table."""
    path = root / "TERMINOLOGY.md"
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.lstrip().startswith("|") or len(cells) < 3 or set(cells[0]) <= {"-", ":", " "}:
            continue
        if cells[0].lower() in ("english", "term"):
            continue
        avoid = [a.strip().strip("`") for a in re.split(r"[,，、;；]", cells[2]) if a.strip() and a.strip() != "—"]
        rows.append((cells[0], cells[1], avoid))
    return rows


def check_glossary(root: Path, report: Report) -> None:
    glossary = load_glossary(root)
    for path in chinese_files(root):
        try:
            doc = load_doc(path)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        for line_no, line in doc.prose:
            clean = CODE_SPAN_RE.sub("", line)
            for _, zh, _ in glossary:  # a correct rendering may contain an avoided one (流水线并行)
                for good in re.split(r"\s*/\s*", zh):
                    if len(good) > 1:
                        clean = clean.replace(good, " ")
            for en, zh, avoid in glossary:
                for bad in avoid:
                    if bad and bad in clean:
                        report.warn(rel(path, root), f"{'cell' if doc.is_notebook else 'line'} {line_no}: "
                                                     f"'{bad}' for '{en}'; the glossary says '{zh}'")
