"""scripts/check_course.py: twins, source headers and their hashes (stale, missing, updated)."""

from __future__ import annotations

from pathlib import Path

import pytest
from check_course_helpers import (
    assert_fails,
    cc,
    errors,
    read_nb,
    readme,
    write_nb,
)


def test_valid_course_passes(course: Path) -> None:
    report = cc.run_checks(course)
    assert report.ok, report.render()
    assert report.parity == {"README.md": "ok", "lesson.md": "ok", "notebooks/demo.ipynb": "ok"}
    assert not report.warnings


def test_stale_hash_fails_and_update_hash_fixes_it(course: Path) -> None:
    lesson = course / "lesson.md"
    lesson.write_text(lesson.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
    assert_fails(course, "lesson_cn.md: stale translation")
    assert cc.run_checks(course).parity["lesson.md"] == "stale"
    cc.update_hash(course / "lesson_cn.md", course)
    assert not errors(course)


def test_missing_header_fails_and_update_hash_inserts_it(course: Path) -> None:
    zh = course / "lesson_cn.md"
    zh.write_text(zh.read_text(encoding="utf-8").split("\n", 1)[1], encoding="utf-8")
    assert_fails(course, "lesson_cn.md: first line must be '<!-- source: lesson.md@")
    cc.update_hash(zh, course)
    header = f"<!-- source: lesson.md@{cc.content_hash(course / 'lesson.md')} -->\n"
    assert zh.read_text(encoding="utf-8").startswith(header + "# 第 1 课")
    assert not errors(course)


def test_notebook_hash_ignores_outputs_and_metadata(course: Path) -> None:
    path = course / "notebooks" / "demo.ipynb"
    before = cc.content_hash(path)
    nb = read_nb(path)
    nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["41\n"]}]
    nb["cells"][1]["execution_count"] = 3
    nb["metadata"]["colab"] = {"provenance": []}
    write_nb(path, nb)
    assert cc.content_hash(path) == before
    nb["cells"][4]["source"] = ["answer = value + 2"]
    write_nb(path, nb)
    assert cc.content_hash(path) != before


def test_stale_notebook_fails(course: Path) -> None:
    path = course / "notebooks" / "demo.ipynb"
    nb = read_nb(path)
    nb["cells"][0]["source"].append("\nMore words.")
    write_nb(path, nb)
    assert_fails(course, "notebooks/demo_cn.ipynb: stale translation")
    cc.update_hash(course / "notebooks" / "demo_cn.ipynb", course)
    header = cc.read_header(course / "notebooks" / "demo_cn.ipynb")
    assert header == f"<!-- source: notebooks/demo.ipynb@{cc.content_hash(path)} -->"
    assert not errors(course)


@pytest.mark.parametrize("name", ["lesson_cn.md", "README_cn.md", "notebooks/demo_cn.ipynb"])
def test_missing_twin_fails(course: Path, name: str) -> None:
    (course / name).unlink()
    en = name.replace("_cn", "")
    errs = assert_fails(course, f"{en}: missing Chinese twin {name}")
    assert cc.run_checks(course).parity[en] == "missing twin"
    assert errs


def test_missing_english_lesson_is_not_an_error(course: Path) -> None:
    """Lessons are written over time: a lesson that does not exist yet is fine, a lone twin is not."""
    (course / "lesson.md").unlink()
    (course / "lesson_cn.md").unlink()
    (course / "README.md").write_text(readme(False).replace("[lesson](lesson.md#first-part)", ""), encoding="utf-8")
    (course / "README_cn.md").write_text(readme(True).replace("[lesson](lesson_cn.md#first-part)", ""),
                                         encoding="utf-8")
    cc.update_hash(course / "README_cn.md", course)
    nb = read_nb(course / "notebooks" / "demo.ipynb")
    for path in (course / "notebooks" / "demo.ipynb", course / "notebooks" / "demo_cn.ipynb"):
        nb = read_nb(path)
        nb["cells"][0]["source"] = [line for line in nb["cells"][0]["source"] if "lesson" not in line]
        write_nb(path, nb)
    cc.update_hash(course / "notebooks" / "demo_cn.ipynb", course)
    assert not errors(course)
    (course / "extra_cn.md").write_text("# 孤儿\n", encoding="utf-8")
    assert_fails(course, "extra_cn.md: Chinese file without its English source extra.md")
