"""Course quality gates: bilingual parity, staleness, links, repository paths, notebook hygiene, secrets,
glossary.

A package, one module per check (parity.py, links.py, repo_paths.py, addresses.py, notebooks.py,
secret_scan.py, glossary.py; cli.py runs them). Run it from anywhere (``make test`` runs it first; ``make check`` runs
only it)::

    python scripts/check_course.py                     # full report, exit 1 on any error
    python scripts/check_course.py --update-hash FILE  # after updating the translation FILE (a _cn file)
    python scripts/check_course.py --strip-notebooks   # remove outputs / execution counts in notebooks/
    python scripts/check_course.py --root DIR          # check another copy of the course (tests do this)

Rules (CONTRIBUTING, also summarised in TERMINOLOGY.md, "Translation rules")
----------------------------------------------------------------------------
Lesson pages.  A lesson's entry page ``X.md`` links its short pages in the folder ``X/``
(lesson_pages.py); the checks and the lesson runner find the pages from those links, so every linked page
gets every check below. Each English page's words (prose) and Python blocks are printed and held to
PAGE_MAX_WORDS and PAGE_MAX_PYTHON_BLOCKS (page_caps.py); a Markdown file in the folder that the entry page
does not link is an error. Figures (figure_links.py): every image exists and has alt text. Code citations
(citations.py): a ``.py`` file that cites ``<lesson page>.md, "<section>"`` names a page that has that
heading.

Twins.  Every English ``X.md`` in the repository root (the lessons and README.md), every linked lesson page
and every ``notebooks/X.ipynb`` has a Chinese twin ``X_cn.md`` / ``notebooks/X_cn.ipynb``. A missing English
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
(``text``, ``json``, untagged, ...) must be byte-identical. The one other difference allowed in
code is the language the exercises speak, ``exercises(..., language="en")`` / ``language="zh"``.
The ``<!-- no-run: reason -->`` markers (tests/lessons/test_lessons.py) must also match between twins.

Anchors and links.  Headings carry stable ASCII anchors written as an HTML anchor on the line(s)
before the heading, identical in both languages::

    <a id="continuous-batching"></a>
    ## Continuous batching            /   ## 连续批处理

(``<a name="...">`` and a trailing ``{#id}`` on the heading are accepted too.) A link ``#x`` or
``file#x`` resolves when ``x`` is an explicit anchor of the target file, or, for an English file
only, GitHub's automatic slug of one of its headings (Chinese slugs are not stable, so links into a
Chinese file must use explicit anchors). The ordered list of explicit anchors must be the same in
twins. In the lessons (root ``*.md`` other than README) an h2/h3 heading without an explicit anchor
gets a warning (the title and "Contents" need none). Every relative link (Markdown ``[t](path)``,
reference definitions, HTML ``href``/``src``) in every Markdown file and notebook must point at a file
or folder that exists.

Repository paths.  Every path a lesson (root ``*.md``, English and Chinese; not TERMINOLOGY.md) names
under scripts/, tests/, benchmarks/, docker/ or notebooks/, in prose, code spans or code blocks, is a
file or folder of the course (a ``*`` pattern matches at least one file): a moved file leaves no
stale path behind.

Course addresses.  Every Colab link (README exercise tables, lessons, notebooks) is
``settings.COLAB_BASE_URL + "/" + notebook path`` (scripts/smol_inference/settings.py, built from
``settings.REPO_URL``) and opens an existing notebook of the linking file's language (Chinese files
open ``_cn`` notebooks); each README exercise-table row that links a notebook has its Colab link;
a ``REPO_URL = "..."`` literal in a notebook or lesson (the Colab install cell) equals
``settings.REPO_URL``. Moving the repository means changing settings.py, then what the check lists.

Notebooks.  No outputs, no execution counts, kernelspec ``python3`` / ``Python 3`` / ``python``,
nbformat 4. Every section headed "Exercise N" / "练习 N" holds a learner cell whose last code line is
``exN.fill()`` (givens may come before it, only comments after it), then a check cell that is just
``exN.check()``, and no other code: worked solutions live in ``smol_inference.exercises`` and are
shown by ``exN.solution()`` (notebooks.py). ``--strip-notebooks`` strips outputs and counts in place; CI can run it
and require an empty ``git diff``.

Secrets.  No Hugging Face tokens, OpenAI-style ``sk-`` keys, GitHub tokens, AWS keys or private keys
in any tracked (or untracked, not ignored) text file.

Glossary.  TERMINOLOGY.md's table lists English terms, their Chinese rendering and renderings to
avoid; a Chinese file (outside code) that uses a rendering to avoid gets a warning (not an error).
"""

from __future__ import annotations

from .addresses import check_course_addresses, course_settings
from .cli import main, run_checks, strip_notebook
from .code_compare import first_difference, normalise_code, strip_hash_comment
from .config import HEADER_RE, KERNELSPEC, PAGE_MAX_PYTHON_BLOCKS, PAGE_MAX_WORDS, ROOT, ZH_SUFFIX
from .documents import (CodeBlock, Doc, anchor_targets, cell_source, github_slug, headings_and_anchors, load_doc,
                        parse_markdown)
from .glossary import check_glossary, load_glossary
from .hashes import content_hash, header_line, normalised_notebook, read_header, update_hash, write_notebook
from .links import check_links, course_files, link_targets
from .lesson_pages import entry_pages, lesson_documents, lesson_pages, linked_pages
from .notebooks import check_notebook, exercise_sections
from .parity import check_heading_anchors, check_pair, check_parity
from .paths import en_twin, english_sources, is_zh, rel, zh_twin
from .report import Report
from .secret_scan import check_secrets

__all__ = [
    "HEADER_RE", "KERNELSPEC", "PAGE_MAX_PYTHON_BLOCKS", "PAGE_MAX_WORDS", "ROOT", "ZH_SUFFIX",
    "CodeBlock", "Doc", "Report", "anchor_targets", "cell_source",
    "check_course_addresses", "check_glossary", "check_heading_anchors", "check_links", "check_notebook",
    "check_pair", "check_parity", "check_secrets", "content_hash", "course_files", "course_settings", "en_twin",
    "english_sources", "entry_pages", "exercise_sections", "lesson_documents", "lesson_pages", "linked_pages",
    "first_difference", "github_slug", "header_line",
    "headings_and_anchors", "is_zh", "link_targets", "load_doc", "load_glossary", "main", "normalise_code",
    "normalised_notebook", "parse_markdown", "read_header", "rel", "run_checks", "strip_hash_comment", "strip_notebook",
    "update_hash",
    "write_notebook", "zh_twin",
]
