#!/usr/bin/env python3
"""Course quality gates: bilingual parity, staleness, links, notebook hygiene, secrets, glossary.

Run it from anywhere (``make test`` runs it first; ``make check`` runs only it)::

    python scripts/check_course.py                     # full report, exit 1 on any error
    python scripts/check_course.py --update-hash FILE  # after updating the translation FILE (a _cn file)
    python scripts/check_course.py --strip-notebooks   # remove outputs / execution counts in notebooks/
    python scripts/check_course.py --root DIR          # check another copy of the course (tests do this)

Rules (CONTRIBUTING, also summarised in TERMINOLOGY.md, "Translation rules")
----------------------------------------------------------------------------
Twins.  Every English ``X.md`` in the repository root (the lessons and README.md) and every
``notebooks/X.ipynb`` has a Chinese twin ``X_cn.md`` / ``notebooks/X_cn.ipynb``. A missing English
file is not an error (lessons are written over time); an English file without its twin is.

Source header and hash.  A Chinese file's first line (a notebook's: the first line of its first
markdown cell) is ``<!-- source: FILE@HASH -->``. FILE is the English twin's path from the repository
root (``inference_pipeline.md``, ``notebooks/basic_pipeline_inference.ipynb``). HASH is the first 10
hex digits of the SHA-256 of the English file's *normalised* content: for Markdown the text with
line endings normalised to ``\\n``; for a notebook the JSON list of ``[cell_type, source]`` of its
cells, so outputs, execution counts and metadata never change it. When the English file changes the
hash goes stale and the check fails, listing the file. After you have brought the translation up to
date (never before), run ``python scripts/check_course.py --update-hash X_cn.md``: it rewrites (or
inserts) the header line and nothing else.

Headings.  ATX headings (``#`` to ``######``) outside fenced code must match between twins in number
and level, in order. In notebooks all markdown cells are read in order.

Code.  Fenced code blocks (and notebook code cells) must be identical between twins, in order,
except for comments: comments may be translated. Before comparing, comments are removed (Python via
``tokenize``; shell, YAML, Dockerfile, TOML and other ``#``-comment languages by a quote-aware
scanner), trailing whitespace is dropped and lines left empty are skipped. Blocks in other languages
(``text``, ``json``, untagged, ...) must be byte-identical. The ``<!-- no-run: reason -->`` markers
(tests/test_lessons.py) must also match between twins.

Anchors and links.  Headings carry stable ASCII anchors written as an HTML anchor on the line(s)
before the heading, identical in both languages::

    <a id="continuous-batching"></a>
    ## Continuous batching            /   ## 连续批处理

(``<a name="...">`` and a trailing ``{#id}`` on the heading are accepted too.) A link ``#x`` or
``file#x`` resolves when ``x`` is an explicit anchor of the target file, or, for an English file
only, GitHub's automatic slug of one of its headings (Chinese slugs are not stable, so links into a
Chinese file must use explicit anchors). The ordered list of explicit anchors must be the same in
twins. In the lessons (root ``*.md`` other than README) an h2/h3 heading without an explicit anchor
gets a warning (the title and "Contents" need none). Every relative link (Markdown ``[t](path)``, reference definitions, HTML ``href``/``src``)
in every Markdown file and notebook must point at a file or folder that exists.

Course addresses.  Every Colab link (README exercise tables, lessons, notebooks) is
``settings.COLAB_BASE_URL + "/" + notebook path`` (scripts/smol_inference/settings.py, built from
``settings.REPO_URL``) and opens an existing notebook of the linking file's language (Chinese files
open ``_cn`` notebooks); each README exercise-table row that links a notebook has its Colab link;
a ``REPO_URL = "..."`` literal in a notebook or lesson (the Colab install cell) equals
``settings.REPO_URL``. Moving the repository means changing settings.py, then what the check lists.

Notebooks.  No outputs, no execution counts, kernelspec ``python3`` / ``Python 3`` / ``python``,
nbformat 4. Every section whose heading starts with "Exercise" / "练习" contains a code cell with
``assert`` (the self-check). ``--strip-notebooks`` strips outputs and counts in place; CI can run it
and require an empty ``git diff``.

Secrets.  No Hugging Face tokens, OpenAI-style ``sk-`` keys, GitHub tokens, AWS keys or private keys
in any tracked (or untracked, not ignored) text file.

Glossary.  TERMINOLOGY.md's table lists English terms, their Chinese rendering and renderings to
avoid; a Chinese file (outside code) that uses a rendering to avoid gets a warning (not an error).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import subprocess
import sys
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent
ZH_SUFFIX = "_cn"
HASH_LEN = 10
HEADER_RE = re.compile(r"^<!--\s*source:\s*(?P<file>[^@\s]+)@(?P<hash>[0-9a-fA-F]+)\s*-->\s*$")
NO_RUN_RE = re.compile(r"^<!--\s*no-run:\s*(?P<reason>.*?)\s*-->\s*$")
FENCE_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")  # also inside list items
HEADING_RE = re.compile(r"^ {0,3}(?P<hashes>#{1,6})(?:[ \t]+(?P<text>.*?))?[ \t]*$")
ANCHOR_HTML_RE = re.compile(r"""<a\s+(?:[^>]*?\s)?(?:id|name)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
ANCHOR_ATTR_RE = re.compile(r"\{#([A-Za-z0-9_.:-]+)\}\s*$")
INLINE_LINK_RE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'(][^)]*)?\)")
REF_DEF_RE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
HTML_LINK_RE = re.compile(r"""<(?:a|img|source)\s[^>]*?(?:href|src)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
CODE_SPAN_RE = re.compile(r"(`+)(.+?)\1", re.DOTALL)
SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
EXERCISE_RE = re.compile(r"^(exercise|练习)", re.IGNORECASE)
#: Languages whose comments start with '#' and may be translated.
HASH_COMMENT_LANGS = {"python", "py", "python3", "ipython", "bash", "sh", "shell", "console", "zsh",
                      "yaml", "yml", "toml", "dockerfile", "docker", "ini", "conf", "make", "makefile"}
PYTHON_LANGS = {"python", "py", "python3", "ipython"}
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
SECRET_PATTERNS = {
    "Hugging Face token": re.compile(r"\bhf_[A-Za-z0-9]{30,}"),
    "OpenAI-style key": re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"),
}
#: Files the secret scan skips: binary or generated weights/tokenizers (scanned only if text).
SECRET_SKIP_SUFFIXES = {".safetensors", ".bin", ".pt", ".png", ".jpg", ".jpeg", ".gif", ".ico",
                        ".pdf", ".whl", ".gz", ".zip"}
SECRET_MAX_BYTES = 5_000_000
SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache",
             "build", "dist", ".ipynb_checkpoints"}


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------

@dataclass
class Report:
    """Errors fail the check; warnings are printed only. Each entry is (file, message)."""

    errors: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    parity: dict[str, str] = field(default_factory=dict)

    def error(self, file: str, message: str) -> None:
        self.errors.append((file, message))

    def warn(self, file: str, message: str) -> None:
        self.warnings.append((file, message))

    @property
    def ok(self) -> bool:
        return not self.errors

    def render(self) -> str:
        lines = ["Course check (scripts/check_course.py)", "", "Translation pairs:"]
        for en, status in sorted(self.parity.items()):
            lines.append(f"  {en:<48} {status}")
        if not self.parity:
            lines.append("  (none yet)")
        for title, entries in (("Errors", self.errors), ("Warnings", self.warnings)):
            if entries:
                lines += ["", f"{title} ({len(entries)}):"]
                lines += [f"  {file}: {msg}" for file, msg in entries]
        lines += ["", (f"{'OK' if self.ok else 'FAILED'}: {len(self.errors)} error(s), "
                      f"{len(self.warnings)} warning(s)")]
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Reading Markdown and notebooks
# --------------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------------
# Twins and hashes
# --------------------------------------------------------------------------------------------------

def is_zh(path: Path) -> bool:
    return path.stem.endswith(ZH_SUFFIX)


def zh_twin(en: Path) -> Path:
    return en.with_name(en.stem + ZH_SUFFIX + en.suffix)


def en_twin(zh: Path) -> Path:
    return zh.with_name(zh.stem[: -len(ZH_SUFFIX)] + zh.suffix)


def english_sources(root: Path) -> list[Path]:
    """Files that need a Chinese twin: Markdown in the root and notebooks/*.ipynb (not TERMINOLOGY)."""
    mds = [p for p in sorted(root.glob("*.md")) if not is_zh(p) and p.name != "TERMINOLOGY.md"]
    nbs = [p for p in sorted((root / "notebooks").glob("*.ipynb")) if not is_zh(p)]
    return mds + nbs


def normalised_notebook(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = [[c.get("cell_type", ""), cell_source(c).replace("\r\n", "\n")] for c in nb.get("cells", [])]
    return json.dumps(cells, ensure_ascii=False, separators=(",", ":"))


def content_hash(path: Path) -> str:
    """Short SHA-256 of an English file's normalised content (see the module docstring)."""
    if path.suffix == ".ipynb":
        data = normalised_notebook(path)
    else:
        data = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:HASH_LEN]


def rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def header_line(zh: Path, root: Path) -> str:
    en = en_twin(zh)
    return f"<!-- source: {rel(en, root)}@{content_hash(en)} -->"


def read_header(zh: Path) -> str | None:
    """The first line of a Markdown file, or of a notebook's first markdown cell."""
    if zh.suffix == ".ipynb":
        nb = json.loads(zh.read_text(encoding="utf-8"))
        for cell in nb.get("cells", []):
            if cell.get("cell_type") == "markdown":
                return cell_source(cell).split("\n", 1)[0]
        return None
    return zh.read_text(encoding="utf-8").split("\n", 1)[0].rstrip("\r")


def update_hash(zh: Path, root: Path) -> str:
    """Rewrite (or insert) the source header of a Chinese file; returns the new header."""
    if not is_zh(zh):
        raise SystemExit(f"--update-hash takes the Chinese file (X{ZH_SUFFIX}.md / X{ZH_SUFFIX}.ipynb), got {zh}")
    if not en_twin(zh).exists():
        raise SystemExit(f"{en_twin(zh)} does not exist")
    header = header_line(zh, root)
    if zh.suffix == ".ipynb":
        raw = zh.read_text(encoding="utf-8")
        nb = json.loads(raw)
        md = next((c for c in nb.get("cells", []) if c.get("cell_type") == "markdown"), None)
        if md is None:
            md = {"cell_type": "markdown", "metadata": {}, "source": []}
            nb.setdefault("cells", []).insert(0, md)
        src = cell_source(md)
        first, _, rest = src.partition("\n")
        src = header + "\n" + rest if HEADER_RE.match(first) else header + "\n" + src
        md["source"] = src.splitlines(keepends=True)
        write_notebook(zh, nb, raw)
    else:
        text = zh.read_text(encoding="utf-8")
        first, _sep, rest = text.partition("\n")
        text = header + "\n" + rest if HEADER_RE.match(first.rstrip("\r")) else header + "\n" + text
        zh.write_text(text, encoding="utf-8")
    return header


def write_notebook(path: Path, nb: dict, original: str | None = None) -> None:
    """Write JSON the way Jupyter does (indent 1, non-ASCII kept, trailing newline)."""
    indent = 1
    if original:
        m = re.search(r"\n( +)\"", original)
        indent = len(m[1]) if m else 1
    path.write_text(json.dumps(nb, indent=indent, ensure_ascii=False) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------------
# Code comparison
# --------------------------------------------------------------------------------------------------

def _strip_hash_comment(line: str) -> str:
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
    if stripped is None:
        stripped = "\n".join(_strip_hash_comment(line) for line in code.split("\n"))
    return "\n".join(line.rstrip() for line in stripped.split("\n") if line.strip())


def first_difference(a: str, b: str) -> str:
    la, lb = a.split("\n"), b.split("\n")
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            return f"EN {x.strip()[:60]!r} vs ZH {y.strip()[:60]!r}"
    return f"EN has {len(la)} line(s), ZH {len(lb)}"


# --------------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------------

def check_pair(en: Path, zh: Path, root: Path, report: Report) -> str:
    """Staleness, headings, anchors and code of one pair; returns its parity status."""
    name = rel(zh, root)
    problems_before = len(report.errors)
    header = read_header(zh)
    m = HEADER_RE.match(header or "")
    stale = False
    if not m:
        report.error(name, f"first line must be '<!-- source: {rel(en, root)}@HASH -->' "
                           f"(run: python scripts/check_course.py --update-hash {name})")
        stale = True
    else:
        if m["file"] != rel(en, root):
            report.error(name, f"source header names {m['file']!r}, expected {rel(en, root)!r}")
        if m["hash"].lower() != content_hash(en):
            report.error(name, f"stale translation: {rel(en, root)} changed (header {m['hash']}, now "
                               f"{content_hash(en)}); update the translation, then run "
                               f"--update-hash {name}")
            stale = True
    try:
        d_en, d_zh = load_doc(en), load_doc(zh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        report.error(name, f"cannot be read: {exc}")
        return "unreadable"

    lv_en = [h[0] for h in d_en.headings]
    lv_zh = [h[0] for h in d_zh.headings]
    if lv_en != lv_zh:
        detail = f"{len(lv_en)} vs {len(lv_zh)} headings"
        for i, (a, b) in enumerate(zip(d_en.headings, d_zh.headings)):
            if a[0] != b[0]:
                detail += f"; heading {i + 1}: EN h{a[0]} {a[1]!r} vs ZH h{b[0]} {b[1]!r}"
                break
        else:
            longer = d_en.headings if len(lv_en) > len(lv_zh) else d_zh.headings
            extra = longer[min(len(lv_en), len(lv_zh))]
            detail += f"; first unmatched: {'EN' if longer is d_en.headings else 'ZH'} {extra[1]!r}"
        report.error(name, f"headings differ from {rel(en, root)}: {detail}")

    if d_en.anchors != d_zh.anchors:
        missing = [a for a in d_en.anchors if a not in d_zh.anchors]
        extra = [a for a in d_zh.anchors if a not in d_en.anchors]
        detail = f"missing {missing}" if missing else ""
        detail += (", " if detail and extra else "") + (f"extra {extra}" if extra else "")
        report.error(name, f"explicit anchors differ from {rel(en, root)}: {detail or 'order differs'}")

    if len(d_en.blocks) != len(d_zh.blocks):
        report.error(name, f"{len(d_en.blocks)} code blocks in {rel(en, root)}, {len(d_zh.blocks)} here")
    for i, (a, b) in enumerate(zip(d_en.blocks, d_zh.blocks)):
        where = f"code block {i + 1} ({'cell' if d_zh.is_notebook else 'line'} {b.line})"
        if a.lang != b.lang:
            report.error(name, f"{where}: language {a.lang!r} in EN, {b.lang!r} here")
        elif normalise_code(a.code, a.lang) != normalise_code(b.code, b.lang):
            report.error(name, f"{where} differs from EN: "
                               f"{first_difference(normalise_code(a.code, a.lang), normalise_code(b.code, b.lang))}")
        if (a.no_run is None) != (b.no_run is None):
            report.error(name, f"{where}: <!-- no-run --> marker present in only one language")

    if len(d_en.code_cells) != len(d_zh.code_cells):
        report.error(name, f"{len(d_en.code_cells)} code cells in {rel(en, root)}, {len(d_zh.code_cells)} here")
    for i, (a, b) in enumerate(zip(d_en.code_cells, d_zh.code_cells)):
        if normalise_code(a, "python") != normalise_code(b, "python"):
            report.error(name, f"code cell {i + 1} differs from EN: "
                               f"{first_difference(normalise_code(a, 'python'), normalise_code(b, 'python'))}")
    if len(report.errors) == problems_before:
        return "ok"
    return "stale" if stale and len(report.errors) == problems_before + 1 else "FAILED"


#: Headings that need no anchor of their own: the title is the page, the table of contents is not linked.
UNANCHORED_HEADINGS = {"contents", "table of contents"}


def check_heading_anchors(path: Path, root: Path, report: Report) -> None:
    """Warn where a lesson's h2/h3 heading has no explicit anchor on the line(s) before it."""
    prose = load_doc(path).prose
    for i, (line_no, line) in enumerate(prose):
        h = HEADING_RE.match(line)
        if not h or len(h["hashes"]) not in (2, 3) or (h["text"] or "").strip().lower() in UNANCHORED_HEADINGS:
            continue
        j = i - 1
        while j >= 0 and not prose[j][1].strip():
            j -= 1
        if ANCHOR_ATTR_RE.search(line) or (j >= 0 and ANCHOR_HTML_RE.search(prose[j][1])):
            continue
        slug = github_slug(h["text"] or "")
        report.warn(rel(path, root), f"line {line_no}: heading {h['text']!r} has no explicit anchor "
                                     f"(add <a id=\"{slug}\"></a> before it, and the same in the translation)")


def check_parity(root: Path, report: Report) -> None:
    for en in english_sources(root):
        zh = zh_twin(en)
        if not zh.exists():
            report.error(rel(en, root), f"missing Chinese twin {rel(zh, root)}")
            report.parity[rel(en, root)] = "missing twin"
            continue
        report.parity[rel(en, root)] = check_pair(en, zh, root, report)
        if en.suffix == ".md" and en.name != "README.md":
            check_heading_anchors(en, root, report)
    zh_files = [p for p in root.glob("*.md") if is_zh(p)] + \
               [p for p in (root / "notebooks").glob("*.ipynb") if is_zh(p)]
    for zh in sorted(zh_files):
        if not en_twin(zh).exists():
            report.error(rel(zh, root), f"Chinese file without its English source {rel(en_twin(zh), root)}")


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
        for regex in (INLINE_LINK_RE, HTML_LINK_RE):
            for target in regex.findall(clean):
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


def course_settings():
    """smol_inference.settings of this repository (Colab base, repository address), or None."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from smol_inference import settings
    except Exception:  # noqa: BLE001 - the check must run even where the package cannot import
        return None
    finally:
        sys.path.pop(0)
    return settings


COLAB_RE = re.compile(r"https://colab\.research\.google\.com/[^)\s\"'<>]+")
REPO_ASSIGN_RE = re.compile(r"\bREPO_URL\s*=\s*[\"']([^\"']+)[\"']")


def check_course_addresses(root: Path, files: list[Path], report: Report, settings) -> None:
    """Colab links come from settings.COLAB_BASE_URL and open an existing notebook of the file's
    language; REPO_URL literals in code equal settings.REPO_URL; README exercise rows have a Colab link."""
    base = getattr(settings, "COLAB_BASE_URL", None)
    repo = getattr(settings, "REPO_URL", None)
    for path in files:
        if path.suffix not in (".md", ".ipynb") or path.name == "TERMINOLOGY.md":
            continue
        name = rel(path, root)
        try:
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".ipynb":
                text = "\n".join(cell_source(c) for c in json.loads(text).get("cells", []))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        for url in dict.fromkeys(COLAB_RE.findall(text)):
            if base is None:
                report.error(name, "COLAB_BASE_URL missing from scripts/smol_inference/settings.py")
                break
            if not url.startswith(base.rstrip("/") + "/"):
                report.error(name, f"Colab link {url} is not built from settings.COLAB_BASE_URL ({base})")
                continue
            nb_path = url[len(base.rstrip("/")) + 1:].split("#", 1)[0]
            if not (root / nb_path).exists():
                report.error(name, f"Colab link {url} points at {nb_path}, which does not exist")
            elif is_zh(path) != is_zh(Path(nb_path)):
                report.error(name, f"Colab link {url}: a {'Chinese' if is_zh(path) else 'English'} file "
                                   f"links the {'_cn' if is_zh(path) else 'English'} notebook")
        for literal in REPO_ASSIGN_RE.findall(text):
            if repo is not None and literal != repo:
                report.error(name, f"REPO_URL = {literal!r} differs from settings.REPO_URL ({repo})")
        if path.stem in ("README", f"README{ZH_SUFFIX}"):
            for line_no, line in enumerate(text.split("\n"), 1):
                if line.lstrip().startswith("|"):
                    for nb in re.findall(r"\]\((notebooks/[^)#\s]+\.ipynb)\)", line):
                        if not any(u.endswith("/" + nb) for u in COLAB_RE.findall(line)):
                            report.error(name, f"line {line_no}: exercise row for {nb} has no Colab link")


def check_notebook(path: Path, root: Path, report: Report) -> None:
    name = rel(path, root)
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        report.error(name, f"not valid notebook JSON: {exc}")
        return
    try:
        import nbformat

        nbformat.validate(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))
    except ImportError:
        pass
    except Exception as exc:  # noqa: BLE001 - nbformat raises several kinds
        report.error(name, f"not a valid notebook (nbformat): {str(exc).splitlines()[0][:200]}")
    if nb.get("nbformat") != 4:
        report.error(name, f"nbformat must be 4, is {nb.get('nbformat')}")
    spec = nb.get("metadata", {}).get("kernelspec")
    if spec != KERNELSPEC:
        report.error(name, f"kernelspec must be {KERNELSPEC}, is {spec}")
    cells = nb.get("cells", [])
    for n, cell in enumerate(cells):
        if cell.get("cell_type") == "code":
            if cell.get("outputs"):
                report.error(name, f"cell {n}: stored outputs (run --strip-notebooks)")
            if cell.get("execution_count") is not None:
                report.error(name, f"cell {n}: stored execution count (run --strip-notebooks)")
    # Exercise sections: from an Exercise heading to the next heading of the same or a higher level.
    section: tuple[int, int, str] | None = None  # (level, cell, title)
    has_assert = False

    def close() -> None:
        if section and not has_assert:
            report.error(name, f"cell {section[1]}: exercise section {section[2]!r} has no self-check "
                               f"cell (a code cell with assert)")

    for n, cell in enumerate(cells):
        src = cell_source(cell)
        if cell.get("cell_type") == "markdown":
            prose, _ = parse_markdown(src)
            for _, line in prose:
                h = HEADING_RE.match(line)
                if not h or not h["text"]:
                    continue
                level = len(h["hashes"])
                if section and level <= section[0]:
                    close()
                    section = None
                title = h["text"].strip()
                if EXERCISE_RE.match(title) and section is None:
                    section, has_assert = (level, n, title), False
        elif cell.get("cell_type") == "code" and section and re.search(r"^\s*assert\b", src, re.MULTILINE):
            has_assert = True
    close()


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
    zh_files = sorted(p for p in root.glob("*.md") if is_zh(p)) + \
        sorted(p for p in (root / "notebooks").glob("*.ipynb") if is_zh(p))
    for path in zh_files:
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


def run_checks(root: Path = ROOT) -> Report:
    report = Report()
    files = course_files(root)
    check_parity(root, report)
    check_links(root, files, report)
    check_course_addresses(root, files, report, course_settings())
    for nb in sorted((root / "notebooks").glob("*.ipynb")):
        check_notebook(nb, root, report)
    check_secrets(root, files, report)
    check_glossary(root, report)
    return report


# --------------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------------

def strip_notebook(path: Path) -> bool:
    """Remove outputs and execution counts in place; True when the file changed."""
    raw = path.read_text(encoding="utf-8")
    nb = json.loads(raw)
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    before = json.loads(raw)
    if before == nb:
        return False
    write_notebook(path, nb, raw)
    return True


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=ROOT, help="course root (default: this repository)")
    parser.add_argument("--update-hash", nargs="+", metavar="FILE",
                        help="rewrite the source header of these Chinese files (after updating them)")
    parser.add_argument("--strip-notebooks", action="store_true",
                        help="strip outputs and execution counts from notebooks/*.ipynb in place")
    parser.add_argument("--hash", nargs="+", metavar="FILE", help="print the content hash of English files")
    args = parser.parse_args(list(argv) if argv is not None else None)
    root = args.root.resolve()
    if args.hash:
        for f in args.hash:
            print(f"{f}@{content_hash(Path(f))}")
        return 0
    if args.update_hash:
        for f in args.update_hash:
            path = Path(f) if Path(f).is_absolute() or Path(f).exists() else root / f
            path = path.resolve()
            print(f"{rel(path, root)}: {update_hash(path, root)}")
            pair = Report()
            check_pair(en_twin(path), path, root, pair)
            for file, msg in pair.errors:  # the header is current now; anything left is a translation gap
                print(f"  still to fix in {file}: {msg}")
        return 0
    if args.strip_notebooks:
        for nb in sorted((root / "notebooks").glob("*.ipynb")):
            if strip_notebook(nb):
                print(f"stripped {rel(nb, root)}")
        return 0
    report = run_checks(root)
    print(report.render())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
