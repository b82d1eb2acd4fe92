"""scripts/check_course.py: images need alt text; each lesson-2 figure needs captions, data and its PNG."""

from __future__ import annotations

import json
from pathlib import Path

from check_course_helpers import assert_fails, errors
from course_figures import config as figures_config

FIGURES = figures_config.FIGURES_DIR.relative_to(figures_config.ROOT)


def add_image(course: Path, alt: str) -> None:
    (course / "figure.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    for name in ("lesson.md", "lesson_cn.md"):
        path = course / name
        path.write_text(path.read_text(encoding="utf-8") + f"\n![{alt}](figure.png)\n", encoding="utf-8")


def test_an_image_with_alt_text_passes(course: Path) -> None:
    add_image(course, "a bar chart of two numbers")
    assert not [e for e in errors(course) if "alt text" in e]


def test_an_image_without_alt_text_fails(course: Path) -> None:
    add_image(course, " ")
    assert_fails(course, "lesson.md: line", "figure 'figure.png' has no alt text")


def write_figure(course: Path, alt_zh: str, png: bool, data: bool) -> None:
    folder = course / FIGURES
    (folder / "data").mkdir(parents=True)
    entry = {"en": {"caption": "A caption.", "alt": "An alt text."}, "zh": {"caption": "图注。", "alt": alt_zh}}
    (folder / "captions.json").write_text(json.dumps({"block_table": entry}), encoding="utf-8")
    if data:
        (folder / "data" / "block_table.json").write_text("{}", encoding="utf-8")
    if png:
        (folder / "block_table.png").write_bytes(b"\x89PNG\r\n\x1a\n")


def test_a_complete_figure_passes(course: Path) -> None:
    write_figure(course, "替代文本。", png=True, data=True)
    assert not [e for e in errors(course) if "captions.json" in e]


def test_a_figure_without_chinese_alt_text_fails(course: Path) -> None:
    write_figure(course, "", png=True, data=True)
    assert_fails(course, "captions.json: block_table: no zh alt")


def test_a_figure_without_its_png_or_data_fails(course: Path) -> None:
    write_figure(course, "替代文本。", png=False, data=True)
    assert_fails(course, "block_table: no block_table.png (make figures)")


def test_a_figure_without_data_fails(course: Path) -> None:
    write_figure(course, "替代文本。", png=True, data=False)
    assert_fails(course, "block_table: no recorded data")
