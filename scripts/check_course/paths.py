"""Twin paths: which files are Chinese, their English sources, paths relative to the course root."""

from __future__ import annotations

from pathlib import Path

from .config import ZH_SUFFIX

def is_zh(path: Path) -> bool:
    return path.stem.endswith(ZH_SUFFIX)


def zh_twin(en: Path) -> Path:
    return en.with_name(en.stem + ZH_SUFFIX + en.suffix)


def en_twin(zh: Path) -> Path:
    return zh.with_name(zh.stem[: -len(ZH_SUFFIX)] + zh.suffix)


def english_sources(root: Path) -> list[Path]:
    """Files that need a Chinese twin: Markdown in the root, the lesson pages that entry pages link
    (lesson_pages.py), and notebooks/*.ipynb (not TERMINOLOGY)."""
    from .lesson_pages import lesson_pages  # lesson_pages reads documents, which import this module

    mds = [p for p in sorted(root.glob("*.md")) if not is_zh(p) and p.name != "TERMINOLOGY.md"]
    nbs = [p for p in sorted((root / "notebooks").glob("*.ipynb")) if not is_zh(p)]
    return mds + lesson_pages(root) + nbs


def chinese_files(root: Path) -> list[Path]:
    """Chinese Markdown in the root and in the lesson-page folders, and Chinese notebooks."""
    from .lesson_pages import page_folders

    mds = [p for folder in (root, *page_folders(root)) for p in sorted(folder.glob("*.md")) if is_zh(p)]
    return mds + [p for p in sorted((root / "notebooks").glob("*.ipynb")) if is_zh(p)]


def rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
