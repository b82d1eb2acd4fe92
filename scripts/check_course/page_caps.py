"""Lesson pages stay short: each English page's words and Python blocks, printed and held to caps.

DESIGN.md, "Lessons": a page teaches one thing, at most about PAGE_MAX_WORDS words of prose (code blocks,
HTML comments and anchors not counted) and PAGE_MAX_PYTHON_BLOCKS Python blocks. The Chinese twin has the same
blocks (parity.py). A Markdown file in a page folder that the entry page does not link is no page at all:
no check would see it, so it is an error.
"""

from __future__ import annotations

import re
from pathlib import Path

from .config import PAGE_MAX_PYTHON_BLOCKS, PAGE_MAX_WORDS, PYTHON_LANGS
from .documents import load_doc
from .lesson_pages import lesson_pages, page_folders
from .paths import is_zh, rel
from .report import Report

_NOT_WORDS = re.compile(r"<!--.*?-->|<a\s[^>]*></a>", re.DOTALL)


def page_counts(path: Path) -> tuple[int, int]:
    """(words of prose, Python blocks) of one Markdown page."""
    doc = load_doc(path)
    prose = _NOT_WORDS.sub(" ", "\n".join(line for _, line in doc.prose))
    words = len(re.findall(r"[^\s|#*>-]+", prose))
    return words, sum(block.lang in PYTHON_LANGS for block in doc.blocks)


def check_page_caps(root: Path, report: Report, max_words: int = PAGE_MAX_WORDS,
                    max_blocks: int = PAGE_MAX_PYTHON_BLOCKS) -> None:
    pages = lesson_pages(root)
    for page in pages:
        name = rel(page, root)
        words, blocks = page_counts(page)
        report.pages[name] = (words, blocks)
        if words > max_words:
            report.error(name, f"{words} words of prose, over the {max_words} a page may have: split the page")
        if blocks > max_blocks:
            report.error(name, f"{blocks} python blocks, over the {max_blocks} a page may have: split the page")
    linked = {p.resolve() for p in pages}
    for folder in page_folders(root):
        for path in sorted(folder.glob("*.md")):
            if not is_zh(path) and path.resolve() not in linked:
                report.error(rel(path, root), f"not linked from {folder.name}.md, so no check runs it: "
                                              "link it from the entry page or remove it")
