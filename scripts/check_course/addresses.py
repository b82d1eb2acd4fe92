"""Course addresses: Colab links and REPO_URL literals come from smol_inference.settings."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from types import ModuleType

from .config import ROOT, ZH_SUFFIX
from .documents import cell_source
from .paths import is_zh, rel
from .report import Report

def course_settings() -> ModuleType | None:
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


def check_course_addresses(root: Path, files: list[Path], report: Report, settings: ModuleType | None) -> None:
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
