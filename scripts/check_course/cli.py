"""The command: run every check and print the report, or update hashes / strip notebooks."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from pathlib import Path

from .addresses import check_course_addresses, course_settings
from .citations import check_citations
from .figure_links import check_figure_links
from .config import ROOT
from .figures import check_figures
from .glossary import check_glossary
from .hashes import content_hash, update_hash, write_notebook
from .links import check_links, course_files
from .notebooks import check_notebook
from .page_caps import check_page_caps
from .parity import check_pair, check_parity
from .paths import en_twin, rel
from .repo_paths import check_repo_paths
from .report import Report
from .secret_scan import check_secrets

DESCRIPTION = ("Course quality gates: bilingual parity, staleness, links, repository paths named in lessons, "
               "figures, lesson-page caps, code citations of lesson sections, notebook hygiene and exercise "
               "layout, secrets, glossary (scripts/check_course/__init__.py explains every rule).")


def run_checks(root: Path = ROOT) -> Report:
    report = Report()
    files = course_files(root)
    check_parity(root, report)
    check_links(root, files, report)
    check_repo_paths(root, files, report)
    check_figures(root, report)
    check_figure_links(root, files, report)
    check_page_caps(root, report)
    check_citations(root, files, report)
    check_course_addresses(root, files, report, course_settings())
    for nb in sorted((root / "notebooks").glob("*.ipynb")):
        check_notebook(nb, root, report)
    check_secrets(root, files, report)
    check_glossary(root, report)
    return report


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
    parser = argparse.ArgumentParser(description=DESCRIPTION)
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
