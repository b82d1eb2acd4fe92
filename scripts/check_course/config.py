"""Constants of the course checks: paths, patterns, languages, secret patterns."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
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
#: An exercise section's heading ("Exercise 2: ..." / "练习 2：..."); group 2 is its number.
EXERCISE_RE = re.compile(r"^(exercise|练习)\s*(\d+)", re.IGNORECASE)
#: The notebooks' exercise toolkit calls, comments removed: `exN.fill()` ends the learner's cell,
#: `exN.check()` is the whole check cell (smol_inference.exercises).
FILL_CALL = "ex{n}.fill()"
CHECK_CALL = "ex{n}.check()"
#: The one code difference twins may have: the language the exercises speak (`language="zh"`).
LANGUAGE_ARG_RE = re.compile(r"""\blanguage\s*=\s*(["'])(en|zh)\1""")
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
#: Caps on one lesson page (DESIGN.md, "Lessons"): words of prose (code excluded) and Python blocks.
PAGE_MAX_WORDS = 2500
PAGE_MAX_PYTHON_BLOCKS = 8
#: An image: ![alt](target "title").
IMAGE_RE = re.compile(r"!\[(?P<alt>[^\]]*)\]\(\s*<?(?P<target>[^)\s>]*)>?(?:\s+[\"'(][^)]*)?\)")
#: A code citation of a lesson section: `text_generation_inference/serve_and_query.md, "Errors"`, possibly
#: followed by `and "Other"`; a line break (and a comment's `#`) may separate the file from its section.
CITATION_RE = re.compile(r"(?P<file>[A-Za-z0-9_./-]+\.md)\s*,\s*(?:#\s*)?"
                         r"(?P<sections>\"[^\"\n]+\"(?:\s*(?:,|and)\s*(?:#\s*)?\"[^\"\n]+\")*)")
