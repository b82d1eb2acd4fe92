"""scripts/check_course.py: links, anchors and Colab links, in Markdown files and notebooks."""

from __future__ import annotations

from pathlib import Path

import pytest
from check_course_helpers import (
    LESSON_EN,
    LESSON_ZH,
    assert_fails,
    cc,
    errors,
    read_nb,
    readme,
    write_nb,
)
from smol_inference import settings


def test_broken_link_fails(course: Path) -> None:
    zh = course / "lesson_cn.md"
    zh.write_text(zh.read_text(encoding="utf-8") + "\n见[缺失的文件](missing_cn.md)。\n", encoding="utf-8")
    assert_fails(course, "lesson_cn.md: line", "broken link 'missing_cn.md'")


def test_links_in_code_and_external_links_are_ignored(course: Path) -> None:
    zh = course / "lesson_cn.md"
    zh.write_text(zh.read_text(encoding="utf-8") + "\n`[x](nowhere.md)` [站点](https://example.com/a#b)\n",
                  encoding="utf-8")
    assert not errors(course)


@pytest.mark.parametrize("link", ["#no-such-anchor", "lesson_cn.md#no-such-anchor"])
def test_broken_anchor_fails(course: Path, link: str) -> None:
    zh = course / "README_cn.md"
    zh.write_text(zh.read_text(encoding="utf-8") + f"\n[坏锚点]({link})\n", encoding="utf-8")
    assert_fails(course, f"README_cn.md: line 10: broken anchor '{link}'")


def test_broken_anchor_in_notebook_fails(course: Path) -> None:
    path = course / "notebooks" / "demo_cn.ipynb"
    nb = read_nb(path)
    nb["cells"][0]["source"] = [s.replace("#second-part", "#nowhere") for s in nb["cells"][0]["source"]]
    write_nb(path, nb)
    assert_fails(course, "notebooks/demo_cn.ipynb: cell 0: broken anchor '../lesson_cn.md#nowhere'")


def test_anchor_rules(course: Path) -> None:
    """English heading slugs resolve, Chinese slugs do not; explicit anchors must match in twins."""
    readme_path = course / "README.md"
    readme_path.write_text(readme_path.read_text(encoding="utf-8") + "\n[x](lesson.md#second-part)\n"
                           "[y](lesson.md#lesson-1-a-lesson)\n", encoding="utf-8")
    cc.update_hash(course / "README_cn.md", course)
    assert not errors(course)
    zh = course / "README_cn.md"
    zh.write_text(zh.read_text(encoding="utf-8") + "\n[z](lesson_cn.md#第一部分)\n", encoding="utf-8")
    assert_fails(course, "broken anchor 'lesson_cn.md#第一部分'")
    lesson = course / "lesson_cn.md"
    lesson.write_text(LESSON_ZH.replace('<a id="first-part"></a>\n', ""), encoding="utf-8")
    assert_fails(course, "lesson_cn.md: explicit anchors differ from lesson.md: missing ['first-part']")


def test_colab_link_must_use_configured_base(course: Path) -> None:
    path = course / "README.md"
    path.write_text(path.read_text(encoding="utf-8").replace(
        settings.COLAB_BASE_URL, "https://colab.research.google.com/github/someone/fork/blob/main"), encoding="utf-8")
    cc.update_hash(course / "README_cn.md", course)
    assert_fails(course, "README.md: Colab link", "is not built from settings.COLAB_BASE_URL")


def test_colab_link_must_point_at_existing_notebook_in_its_language(course: Path) -> None:
    path = course / "README_cn.md"
    path.write_text(path.read_text(encoding="utf-8").replace("demo_cn.ipynb)", "demo.ipynb)"), encoding="utf-8")
    assert_fails(course, "README_cn.md: Colab link", "a Chinese file links the _cn notebook")
    path.write_text(readme(True).replace("demo_cn.ipynb)", "gone_cn.ipynb)"), encoding="utf-8")
    assert_fails(course, "README_cn.md: Colab link", "gone_cn.ipynb, which does not exist")


def test_colab_links_in_notebooks_and_repo_address_are_checked(course: Path) -> None:
    path = course / "notebooks" / "demo_cn.ipynb"
    nb = read_nb(path)
    nb["cells"][0]["source"].append(f"\n[Colab]({settings.COLAB_BASE_URL}/notebooks/demo.ipynb)")
    nb["cells"][1]["source"].append('\nREPO_URL = "https://github.com/someone/else"')
    write_nb(path, nb)
    assert_fails(course, "notebooks/demo_cn.ipynb: Colab link", "a Chinese file links the _cn notebook",
                 "REPO_URL = 'https://github.com/someone/else' differs from settings.REPO_URL")


def test_readme_exercise_row_needs_colab_link(course: Path) -> None:
    path = course / "README.md"
    path.write_text(readme(False).replace(" [Colab](", " [elsewhere](").replace(settings.COLAB_BASE_URL + "/", ""),
                    encoding="utf-8")
    cc.update_hash(course / "README_cn.md", course)
    assert_fails(course, "README.md: line 5: exercise row for notebooks/demo.ipynb has no Colab link")


def test_chinese_file_linking_english_twin_warns(course: Path) -> None:
    zh = course / "lesson_cn.md"
    zh.write_text(zh.read_text(encoding="utf-8") + "\n[英文版](lesson.md) [自述](README.md)\n", encoding="utf-8")
    report = cc.run_checks(course)
    assert report.ok
    assert report.warnings == [("lesson_cn.md",
                                "line 30: links the English README.md; link its translation README_cn.md")]


def test_lesson_heading_without_anchor_warns(course: Path) -> None:
    for name, text in (("lesson.md", LESSON_EN.replace('<a id="second-part"></a>\n', "")),
                       ("lesson_cn.md", LESSON_ZH.replace('<a id="second-part"></a>\n', ""))):
        (course / name).write_text(text.replace("(#second-part)", "(#first-part)"), encoding="utf-8")
    for name in ("demo.ipynb", "demo_cn.ipynb"):
        path = course / "notebooks" / name
        nb = read_nb(path)
        nb["cells"][0]["source"] = [s.replace("#second-part", "#first-part") for s in nb["cells"][0]["source"]]
        write_nb(path, nb)
    cc.update_hash(course / "lesson_cn.md", course)
    cc.update_hash(course / "notebooks" / "demo_cn.ipynb", course)
    report = cc.run_checks(course)
    assert report.ok, report.render()
    assert report.warnings == [("lesson.md", ("line 18: heading 'Second part' has no explicit anchor "
                                             "(add <a id=\"second-part\"></a> before it, "
                                             "and the same in the translation)"))]
