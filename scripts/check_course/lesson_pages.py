"""Lessons and their pages: an entry page `X.md` in the course root links its short pages in the folder `X/`.

Lesson 2 is `text_generation_inference.md`, whose links name `text_generation_inference/serve_and_query.md`
and the other pages. The checks and the lesson runner find a lesson's pages from these links, in the order the
entry page lists them, so a page joins every check (parity, source hash, links, caps, runs) by being linked.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from .config import CODE_SPAN_RE, INLINE_LINK_RE, SCHEME_RE
from .documents import load_doc
from .paths import is_zh

#: Root Markdown files that are not lessons.
NOT_LESSONS = {"README.md", "TERMINOLOGY.md"}


def entry_pages(root: Path) -> list[Path]:
    """The English lessons in the course root (inference_pipeline.md, text_generation_inference.md, ...)."""
    return [p for p in sorted(root.glob("*.md")) if not is_zh(p) and p.name not in NOT_LESSONS]


def linked_pages(entry: Path) -> list[Path]:
    """Pages in `entry`'s own folder that `entry` links, in order of first mention (English only)."""
    folder = (entry.parent / entry.stem).resolve()
    found: list[Path] = []
    for _, line in load_doc(entry).prose:
        for match in INLINE_LINK_RE.finditer(CODE_SPAN_RE.sub("", line)):
            target = unquote(match.group(1).split("#", 1)[0])
            if not target or SCHEME_RE.match(target) or not target.endswith(".md"):
                continue
            path = (entry.parent / target).resolve()
            if path.parent == folder and not is_zh(path) and path.exists() and path not in found:
                found.append(path)
    return found


def lesson_pages(root: Path) -> list[Path]:
    """Every lesson's linked pages, entry by entry."""
    return [page for entry in entry_pages(root) for page in linked_pages(entry)]


def lesson_documents(root: Path) -> list[Path]:
    """Entry pages and their pages: the English files that teach (and that code may cite)."""
    return [doc for entry in entry_pages(root) for doc in (entry, *linked_pages(entry))]


def page_folders(root: Path) -> list[Path]:
    """The folders that hold lesson pages (one per entry page that has any)."""
    return [entry.parent / entry.stem for entry in entry_pages(root) if (entry.parent / entry.stem).is_dir()]
