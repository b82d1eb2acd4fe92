"""Helpers for the figure tests: import paths for course_figures and the recorders, and reading a Figure back."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
for _path in (ROOT / "scripts", ROOT / "benchmarks" / "figures"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from course_figures import config, records  # noqa: E402
from course_figures.draw import DRAWERS, OPTIONAL, draw  # noqa: E402

__all__ = ["DRAWERS", "OPTIONAL", "ROOT", "bars", "config", "draw", "records"]


def bars(ax: Any) -> list[tuple[str, float, float, float, float]]:
    """Every bar of `ax` as (label of its container, x, y, width, height)."""
    out = []
    for container in ax.containers:
        label = str(container.get_label())
        for patch in container.patches:
            out.append((label, patch.get_x(), patch.get_y(), patch.get_width(), patch.get_height()))
    return out
