"""Source headers of translations: the English file's content hash, reading and rewriting the header."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from .config import HASH_LEN, HEADER_RE, ZH_SUFFIX
from .documents import cell_source
from .paths import en_twin, is_zh, rel

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
