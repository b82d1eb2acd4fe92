"""Code that cites a lesson section names the page that holds it.

Docstrings and exercise hints say where their subject is taught: `text_generation_inference/serve_and_query.md,
"Errors and retries"` (several sections: `"Monitoring" and "Scaling out"`). A citation of a lesson file (an
entry page or one of its pages, lesson_pages.py) must name a file that exists and, in it, a heading with that
text (case and backquotes aside) or an explicit anchor; otherwise it points nowhere and the check says where
the section is now, if anywhere.
"""

from __future__ import annotations

import re
from pathlib import Path

from .config import CITATION_RE
from .documents import load_doc
from .lesson_pages import entry_pages, lesson_documents
from .paths import rel
from .report import Report

_SECTION_RE = re.compile(r'"([^"\n]+)"')


def _norm(text: str) -> str:
    return " ".join(text.replace("`", "").replace("*", "").split()).lower()


def _sections(path: Path) -> set[str]:
    doc = load_doc(path)
    return {_norm(text) for _, text, _ in doc.headings} | set(doc.anchors)


def check_citations(root: Path, files: list[Path], report: Report) -> None:
    docs = {rel(p, root): p for p in lesson_documents(root)}
    sections = {name: _sections(path) for name, path in docs.items()}
    lesson_stems = {entry.stem for entry in entry_pages(root)}
    for path in files:
        if path.suffix != ".py":
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for match in CITATION_RE.finditer(text):
            cited = match["file"].removeprefix("./")
            if cited not in docs and cited.split("/", 1)[0].removesuffix(".md") not in lesson_stems:
                continue  # not a lesson (a README of the code, say)
            where = f"line {text.count(chr(10), 0, match.start()) + 1}"
            name = rel(path, root)
            if cited not in docs:
                report.error(name, f"{where}: cites {cited}, which is no lesson page (lessons and the pages "
                                   "their entry pages link)")
                continue
            for section in _SECTION_RE.findall(match["sections"]):
                if _norm(section) in sections[cited] or section in sections[cited]:
                    continue
                holders = [doc for doc, held in sections.items() if _norm(section) in held]
                hint = f"it is in {', '.join(holders)}" if holders else "no lesson page has that heading"
                report.error(name, f"{where}: cites {cited}, \"{section}\", which is not a section there; {hint}")
