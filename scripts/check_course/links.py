"""Relative links and anchors in every Markdown file and notebook resolve."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

from .config import CODE_SPAN_RE, HTML_LINK_RE, INLINE_LINK_RE, REF_DEF_RE, SCHEME_RE, SKIP_DIRS
from .documents import Doc, anchor_targets, load_doc
from .paths import en_twin, is_zh, rel, zh_twin
from .report import Report

def course_files(root: Path) -> list[Path]:
    """Tracked and untracked-but-not-ignored files (git), or a plain walk outside a git checkout."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=root, capture_output=True, check=True, timeout=60).stdout
        files = [root / f for f in out.decode("utf-8", "replace").split("\0") if f]
        if files:
            return sorted(p for p in files if p.is_file())
    except (OSError, subprocess.SubprocessError):
        pass
    result = []
    for p in root.rglob("*"):
        if p.is_file() and not any(part in SKIP_DIRS or part.endswith(".egg-info")
                                   for part in p.relative_to(root).parts[:-1]):
            result.append(p)
    return sorted(result)


def link_targets(doc: Doc) -> Iterator[tuple[int, str]]:
    for line_no, line in doc.prose:
        if not line.strip():
            continue
        clean = CODE_SPAN_RE.sub("", line)
        for match in INLINE_LINK_RE.finditer(clean):
            if not match.group(0).startswith("!"):  # images are figure_links.py's
                yield line_no, match.group(1)
        for target in HTML_LINK_RE.findall(clean):
            yield line_no, target
        ref = REF_DEF_RE.match(clean)
        if ref:
            yield line_no, ref[1]


def check_links(root: Path, files: list[Path], report: Report) -> None:
    docs: dict[Path, Doc] = {}

    def doc_of(path: Path) -> Doc | None:
        key = path.resolve()
        if key not in docs:
            try:
                docs[key] = load_doc(path)
            except (OSError, json.JSONDecodeError, UnicodeDecodeError):
                return None
        return docs[key]

    for path in files:
        if path.suffix not in (".md", ".ipynb"):
            continue
        doc = doc_of(path)
        if doc is None:
            report.error(rel(path, root), "cannot be parsed")
            continue
        where = "cell" if doc.is_notebook else "line"
        for line_no, target in link_targets(doc):
            if not target or SCHEME_RE.match(target) or target.startswith("//"):
                continue
            target_path, _, fragment = target.partition("#")
            target_path, fragment = unquote(target_path.split("?", 1)[0]), unquote(fragment)
            if target_path:
                base = root if target_path.startswith("/") else path.parent
                dest = (base / target_path.lstrip("/")).resolve()
                if not dest.exists():
                    report.error(rel(path, root), f"{where} {line_no}: broken link {target!r} (no such file)")
                    continue
            else:
                dest = path.resolve()
            if is_zh(path) and not is_zh(dest) and dest.suffix in (".md", ".ipynb") and zh_twin(dest).exists() \
                    and dest != en_twin(path).resolve():  # "English version" links to the own twin are fine
                report.warn(rel(path, root), f"{where} {line_no}: links the English {rel(dest, root)}; "
                                             f"link its translation {rel(zh_twin(dest), root)}")
            if fragment:
                if dest.suffix not in (".md", ".ipynb") or dest.is_dir():
                    continue  # anchors into code files (GitHub line anchors) are not checked
                target_doc = doc_of(dest)
                if target_doc is None or fragment not in anchor_targets(target_doc):
                    report.error(rel(path, root), f"{where} {line_no}: broken anchor {target!r} "
                                                  f"(no <a id=\"{fragment}\"></a> in {rel(dest, root)})")
