"""scripts/check_course.py: what a translation keeps identical (code blocks, code cells, headings);
translated comments are allowed, and the glossary only warns."""

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
    write_nb,
)


def test_mismatched_code_block_fails(course: Path) -> None:
    zh = course / "lesson_cn.md"
    zh.write_text(zh.read_text(encoding="utf-8").replace("print(x)", "print(x + 1)"), encoding="utf-8")
    assert_fails(course, "lesson_cn.md: code block 1", "differs from EN", "print(x + 1)")


def test_translated_comments_are_allowed_but_strings_are_not(course: Path) -> None:
    zh = course / "lesson_cn.md"
    text = zh.read_text(encoding="utf-8").replace("x = 1  # 一", "# 给 x 赋值\n# 两行注释\nx = 1")
    zh.write_text(text, encoding="utf-8")
    assert not errors(course)
    zh.write_text(text.replace("echo hello", "echo '你好'"), encoding="utf-8")
    assert_fails(course, "lesson_cn.md: code block 3")


def test_hash_inside_string_is_code_not_comment() -> None:
    assert cc.normalise_code('url = "http://x/#a"  # note', "python") == 'url = "http://x/#a"'
    assert cc.normalise_code("echo 'a # b'  # note", "bash") == "echo 'a # b'"
    assert cc.normalise_code("%pip install x  # note", "python") == "%pip install x"
    assert cc.normalise_code("a # b", "text") == "a # b"


def test_text_blocks_must_be_identical(course: Path) -> None:
    zh = course / "lesson_cn.md"
    zh.write_text(zh.read_text(encoding="utf-8").replace("```text\nhello", "```text\n你好"), encoding="utf-8")
    assert_fails(course, "lesson_cn.md: code block 4")


def test_missing_code_block_and_no_run_marker_fail(course: Path) -> None:
    zh = course / "lesson_cn.md"
    zh.write_text(zh.read_text(encoding="utf-8").replace("<!-- no-run: 需要 GPU -->\n", ""), encoding="utf-8")
    assert_fails(course, "lesson_cn.md: code block 2", "no-run --> marker present in only one language")
    zh.write_text(LESSON_ZH.replace("```text\nhello\n```\n", ""), encoding="utf-8")
    cc.update_hash(zh, course)
    assert_fails(course, "lesson_cn.md: 4 code blocks in lesson.md, 3 here")


def test_mismatched_notebook_code_cell_fails(course: Path) -> None:
    path = course / "notebooks" / "demo_cn.ipynb"
    nb = read_nb(path)
    nb["cells"][4]["source"] = ["GIVEN = 1  # 注释可以翻译\n", "ex1.fill()  # 参考答案"]
    write_nb(path, nb)
    assert not errors(course)
    nb["cells"][4]["source"] = ["GIVEN = 2\n", "ex1.fill()"]
    write_nb(path, nb)
    assert_fails(course, "notebooks/demo_cn.ipynb: code cell 3 differs from EN")


@pytest.mark.parametrize("old,new,needle", [
    ("## 第二部分", "### 第二部分", "heading 3: EN h2 'Second part' vs ZH h3 '第二部分'"),
    ("## 第二部分", "第二部分", "3 vs 2 headings"),
    ("## 第一部分\n", "## 第一部分\n\n## 多余的标题\n", "3 vs 4 headings"),
])
def test_heading_mismatch_fails(course: Path, old: str, new: str, needle: str) -> None:
    zh = course / "lesson_cn.md"
    zh.write_text(zh.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    assert_fails(course, "lesson_cn.md: headings differ from lesson.md", needle)


def test_heading_like_lines_in_code_are_not_headings(course: Path) -> None:
    for name, text in (("lesson.md", LESSON_EN), ("lesson_cn.md", LESSON_ZH)):
        (course / name).write_text(text.replace("print(x)", "print(x)\n# not a heading"), encoding="utf-8")
    cc.update_hash(course / "lesson_cn.md", course)
    assert not errors(course)


def test_fences_inside_list_items() -> None:
    prose, blocks = cc.parse_markdown("1. Run:\n\n   ```python\n   x = 1\n   # not a heading\n   ```\n\n## Real\n")
    assert [(b.lang, b.code) for b in blocks] == [("python", "x = 1\n# not a heading")]
    assert cc.headings_and_anchors(prose)[0] == [(2, "Real", 8)]


def test_glossary_warns_but_does_not_fail(course: Path) -> None:
    zh = course / "lesson_cn.md"
    zh.write_text(zh.read_text(encoding="utf-8") + "\n持续批处理很重要。`持续批处理` 在代码里不算。\n",
                  encoding="utf-8")
    report = cc.run_checks(course)
    assert report.ok
    assert [w for _, w in report.warnings] == [
        "line 30: '持续批处理' for 'continuous batching'; the glossary says '连续批处理'"]
