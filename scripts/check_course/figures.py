"""Figures: every figure of lesson 2 has its PNG, data and captions (alt text in the pages: figure_links.py).

The figure list,
paths and the caption file come from scripts/course_figures/config.py (`make figures` draws them); a
figure whose data file is optional and absent (the router figure before the gateway benchmark) is skipped.
"""

from __future__ import annotations

import json
from pathlib import Path

from course_figures import config as figures_config

from .paths import rel
from .report import Report

FIGURES = figures_config.FIGURES_DIR.relative_to(figures_config.ROOT)


def check_figures(root: Path, report: Report) -> None:
    """Each figure named in captions.json has its caption and alt in both languages, its data and its PNG."""
    folder = root / FIGURES
    captions_file = folder / "captions.json"
    if not captions_file.is_file():
        return
    captions = json.loads(captions_file.read_text(encoding="utf-8"))
    for name, entry in captions.items():
        if name.startswith("_"):
            continue
        where = rel(captions_file, root)
        for lang in figures_config.LANGUAGES:
            text = entry.get(lang) or {}
            for key in ("caption", "alt"):
                if not str(text.get(key, "")).strip():
                    report.error(where, f"{name}: no {lang} {key}")
        data = folder / "data" / f"{name}.json"
        if not data.is_file():
            if name not in figures_config.OPTIONAL_FIGURES:
                report.error(where, f"{name}: no recorded data {rel(data, root)} (make record-figures)")
            continue
        if not (folder / f"{name}.png").is_file():
            report.error(where, f"{name}: no {name}.png (make figures)")
