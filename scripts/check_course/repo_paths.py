"""Repository paths a lesson names exist: `scripts/...`, `tests/...`, `benchmarks/...` and the like.

A lesson (Markdown at the course root, English and Chinese) names files in prose, in code spans and in
code blocks (`pytest tests/client/test_client.py`); after a file moves, an old path would send the
reader nowhere. Links are checked by links.py; this check reads every mention, links included. A path
with `*` must match at least one file; one written as a folder (`docker/tgi/`) must hold files. Files
are the course's own (tracked or not ignored), so a folder left behind by a move does not count.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from .paths import rel
from .report import Report

#: Top-level folders of the repository whose files lessons name.
REPO_DIRS = ("scripts", "tests", "benchmarks", "docker", "notebooks")
#: A path starting at one of those folders, not inside a longer path or URL (no `/`, letter, digit or `.`
#: before it). ASCII only, so that Chinese text written right against a path is not read as part of it.
REPO_PATH_RE = re.compile(r"(?<![A-Za-z0-9_/.~-])((?:" + "|".join(REPO_DIRS) + r")/[A-Za-z0-9_./*-]*)")
#: Characters a sentence may put right after a path.
TRAILING = ".,:;"


def repo_paths(text: str) -> list[tuple[int, str]]:
    """(line number, path) of every repository path named in `text`."""
    found = []
    for line_no, line in enumerate(text.splitlines(), 1):
        for match in REPO_PATH_RE.finditer(line):
            path = match.group(1).rstrip(TRAILING)
            if path.count("/") and path.split("/", 1)[1]:
                found.append((line_no, path))
    return found


def exists(path: str, known: set[str]) -> bool:
    """Whether `path` is a course file or folder (`known`: the course's files, relative, POSIX)."""
    if "*" in path:
        return any(fnmatch.fnmatchcase(name, path.rstrip("/")) for name in known)
    if path.endswith("/"):
        return any(name.startswith(path) for name in known)
    return path in known or any(name.startswith(path + "/") for name in known)


def check_repo_paths(root: Path, files: list[Path], report: Report) -> None:
    """Every repository path a lesson names is a file or folder of the course (git's view, as links.py)."""
    known = {rel(f, root) for f in files}
    from .lesson_pages import page_folders

    pages = [page for folder in page_folders(root) for page in sorted(folder.glob("*.md"))]
    for lesson in sorted(root.glob("*.md")) + pages:
        if lesson.name == "TERMINOLOGY.md":  # the glossary writes placeholders (notebooks/X.ipynb)
            continue
        for line_no, path in repo_paths(lesson.read_text(encoding="utf-8")):
            if not exists(path, known):
                report.error(rel(lesson, root), f"line {line_no}: names {path!r}, which is not in the repository")
