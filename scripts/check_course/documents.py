"""Reading Markdown and notebooks: prose lines, headings, anchors, fenced code blocks, code cells."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .config import ANCHOR_ATTR_RE, ANCHOR_HTML_RE, FENCE_RE, HEADING_RE, NO_RUN_RE
from .paths import is_zh

@dataclass
class CodeBlock:
    lang: str
    code: str
    line: int
    no_run: str | None = None  # the reason of a preceding <!-- no-run: reason --> line


@dataclass
class Doc:
    """What the checks need from a Markdown file or a notebook."""

    path: Path
    prose: list[tuple[int, str]]  # (line or cell number, text line) outside fenced code
    headings: list[tuple[int, str, int]]  # (level, text, line)
    blocks: list[CodeBlock]
    anchors: list[str]  # explicit anchors, in order
    is_notebook: bool = False
    code_cells: list[str] = field(default_factory=list)


def _unindent(line: str, width: int) -> str:
    """Remove up to ``width`` leading spaces (a fence indented in a list item indents its code)."""
    n = len(line) - len(line.lstrip(" "))
    return line[min(n, width):]


def parse_markdown(text: str, first_line: int = 1) -> tuple[list[tuple[int, str]], list[CodeBlock]]:
    """Split Markdown into prose lines and fenced code blocks (``` or ~~~, CommonMark closing rule)."""
    prose: list[tuple[int, str]] = []
    blocks: list[CodeBlock] = []
    lines = text.split("\n")
    i = 0
    last_prose = ""
    while i < len(lines):
        m = FENCE_RE.match(lines[i])
        if m and not (m["fence"][0] == "`" and "`" in m["info"]):
            fence, start = m["fence"], i
            body: list[str] = []
            i += 1
            while i < len(lines):
                close = re.match(r"^[ \t]*(`{3,}|~{3,})\s*$", lines[i])
                if close and close[1][0] == fence[0] and len(close[1]) >= len(fence):
                    break
                body.append(_unindent(lines[i], len(m["indent"])))
                i += 1
            no_run = NO_RUN_RE.match(last_prose.strip())
            lang = (m["info"].strip().split() or [""])[0].lower()
            blocks.append(CodeBlock(lang, "\n".join(body), first_line + start,
                                    no_run["reason"] if no_run else None))
            last_prose = ""
            i += 1
            continue
        prose.append((first_line + i, lines[i]))
        if lines[i].strip():
            last_prose = lines[i]
        i += 1
    return prose, blocks


def headings_and_anchors(prose: list[tuple[int, str]]) -> tuple[list[tuple[int, str, int]], list[str]]:
    headings: list[tuple[int, str, int]] = []
    anchors: list[str] = []
    for line_no, line in prose:
        h = HEADING_RE.match(line)
        if h:
            text = h["text"] or ""
            text = re.sub(r"[ \t]+#+$", "", text)  # closing hashes
            attr = ANCHOR_ATTR_RE.search(text)
            if attr:
                anchors.append(attr[1])
                text = text[: attr.start()].rstrip()
            headings.append((len(h["hashes"]), text, line_no))
        anchors += ANCHOR_HTML_RE.findall(line)
    return headings, anchors


def cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def load_doc(path: Path) -> Doc:
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text(encoding="utf-8"))
        prose: list[tuple[int, str]] = []
        blocks: list[CodeBlock] = []
        code_cells: list[str] = []
        for n, cell in enumerate(nb.get("cells", [])):
            src = cell_source(cell)
            if cell.get("cell_type") == "markdown":
                p, b = parse_markdown(src, first_line=1)
                prose += [(n, line) for _, line in p]
                blocks += [CodeBlock(x.lang, x.code, n, x.no_run) for x in b]
            elif cell.get("cell_type") == "code":
                code_cells.append(src)
        headings, anchors = headings_and_anchors(prose)
        return Doc(path, prose, headings, blocks, anchors, True, code_cells)
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    prose, blocks = parse_markdown(text)
    headings, anchors = headings_and_anchors(prose)
    return Doc(path, prose, headings, blocks, anchors)


def github_slug(text: str) -> str:
    """GitHub's automatic heading id: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links keep their text
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchor_targets(doc: Doc) -> set[str]:
    """Fragments that resolve in ``doc``: explicit anchors, plus heading slugs of English files."""
    targets = set(doc.anchors)
    if not is_zh(doc.path):
        seen: dict[str, int] = {}
        for _, text, _ in doc.headings:
            slug = github_slug(text)
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            targets.add(slug if count == 0 else f"{slug}-{count}")
    return targets
