"""Figures: every image a Markdown file shows exists, has alt text, and is followed by its caption.

DESIGN.md, "Lessons": figures are drawn by `make figures`; each has alt text and a caption in both
languages. An image is `![alt text](figures/name.png)` on its own line, the next line an italic caption
(`*...*`). A missing file or empty alt text is an error, a missing caption a warning. Links to images
are left to this check (links.py skips them), so a missing figure is named once, as a figure.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from .config import CODE_SPAN_RE, IMAGE_RE, SCHEME_RE
from .documents import load_doc
from .paths import rel
from .report import Report


def check_figure_links(root: Path, files: list[Path], report: Report) -> None:
    for path in files:
        if path.suffix != ".md":
            continue
        prose = load_doc(path).prose
        for index, (line_no, line) in enumerate(prose):
            for match in IMAGE_RE.finditer(CODE_SPAN_RE.sub("", line)):
                target = unquote(match["target"].split("#", 1)[0])
                if not target or SCHEME_RE.match(target):
                    continue
                name = rel(path, root)
                if not (path.parent / target).exists():
                    report.error(name, f"line {line_no}: missing figure {target!r} (draw it with `make figures`)")
                if not match["alt"].strip():
                    report.error(name, f"line {line_no}: figure {target!r} has no alt text: describe what it shows")
                following = next((text.strip() for _, text in prose[index + 1:] if text.strip()), "")
                if not following.startswith("*"):
                    report.warn(name, f"line {line_no}: figure {target!r} has no italic caption line after it")
