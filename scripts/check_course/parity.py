"""Translation parity: source header and hash, headings, anchors, code blocks and code cells."""

from __future__ import annotations

import json
from pathlib import Path

from .code_compare import first_difference, normalise_code
from .config import ANCHOR_ATTR_RE, ANCHOR_HTML_RE, HEADER_RE, HEADING_RE
from .documents import github_slug, load_doc
from .hashes import content_hash, read_header
from .paths import chinese_files, en_twin, english_sources, rel, zh_twin
from .report import Report

def check_pair(en: Path, zh: Path, root: Path, report: Report) -> str:
    """Staleness, headings, anchors and code of one pair; returns its parity status."""
    name = rel(zh, root)
    problems_before = len(report.errors)
    try:
        header = read_header(zh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # e.g. merge-conflict markers in a notebook
        report.error(name, f"cannot be read: {exc}")
        return "unreadable"
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
        try:
            report.parity[rel(en, root)] = check_pair(en, zh, root, report)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # the English file itself is unreadable
            report.error(rel(en, root), f"cannot be read: {exc}")
            report.parity[rel(en, root)] = "unreadable"
        if en.suffix == ".md" and en.name != "README.md":
            check_heading_anchors(en, root, report)
    for zh in chinese_files(root):
        if not en_twin(zh).exists():
            report.error(rel(zh, root), f"Chinese file without its English source {rel(en_twin(zh), root)}")
