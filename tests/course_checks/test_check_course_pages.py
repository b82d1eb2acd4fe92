"""scripts/check_course.py on lesson pages: an entry page's linked pages get every check; page caps,
figures and code citations of lesson sections (text_generation_inference.md, "Where the sections went", and
DESIGN.md, "Lessons"). Each test builds the small course of check_course_helpers, gives its lesson a page,
breaks one thing and asserts that the check names it."""

from __future__ import annotations

from pathlib import Path

import pytest
from check_course_helpers import assert_fails, cc, course, errors  # noqa: F401 - course: the fixture

PAGE_EN = """# A page

<a id="setup"></a>
## Setup

```python
value = 1
```

<a id="errors-and-retries"></a>
## Errors and retries

Back to [the lesson](../lesson.md).
"""
PAGE_ZH = """# 一页

<a id="setup"></a>
## 准备

```python
value = 1
```

<a id="errors-and-retries"></a>
## 错误与重试

返回[课程](../lesson_cn.md)。
"""


@pytest.fixture
def paged(course: Path) -> Path:  # noqa: F811 - the fixture of check_course_helpers
    """The course of check_course_helpers whose lesson links one page in lesson/, with its twin."""
    (course / "lesson").mkdir()
    (course / "lesson" / "page.md").write_text(PAGE_EN, encoding="utf-8")
    (course / "lesson" / "page_cn.md").write_text(PAGE_ZH, encoding="utf-8")
    for name, link in (("lesson.md", "lesson/page.md"), ("lesson_cn.md", "lesson/page_cn.md")):
        path = course / name
        path.write_text(path.read_text(encoding="utf-8") + f"\n[page]({link})\n", encoding="utf-8")
    for zh in ("lesson_cn.md", "lesson/page_cn.md"):
        cc.update_hash(course / zh, course)
    return course


def rehash(root: Path) -> None:
    for zh in ("lesson_cn.md", "lesson/page_cn.md"):
        cc.update_hash(root / zh, root)


def test_the_paged_course_passes_and_lists_the_page(paged: Path) -> None:
    assert not errors(paged)
    assert cc.lesson_pages(paged) == [(paged / "lesson" / "page.md").resolve()]
    report = cc.run_checks(paged)
    assert report.parity["lesson/page.md"] == "ok"
    assert report.pages["lesson/page.md"][1] == 1 and "lesson/page.md" in report.render()


def test_a_linked_page_without_its_twin_fails(paged: Path) -> None:
    (paged / "lesson" / "page_cn.md").unlink()
    assert_fails(paged, "lesson/page.md: missing Chinese twin lesson/page_cn.md")


def test_a_stale_page_translation_fails(paged: Path) -> None:
    page = paged / "lesson" / "page.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
    assert_fails(paged, "lesson/page_cn.md: stale translation: lesson/page.md changed")


def test_a_page_whose_code_differs_from_its_twin_fails(paged: Path) -> None:
    zh = paged / "lesson" / "page_cn.md"
    zh.write_text(zh.read_text(encoding="utf-8").replace("value = 1", "value = 2"), encoding="utf-8")
    assert_fails(paged, "lesson/page_cn.md: code block 1")


def test_a_page_the_entry_page_does_not_link_fails(paged: Path) -> None:
    (paged / "lesson" / "orphan.md").write_text("# Orphan\n", encoding="utf-8")
    assert_fails(paged, "lesson/orphan.md: not linked from lesson.md")


def test_a_page_over_the_word_cap_fails(paged: Path) -> None:
    for name, filler in (("page.md", "word " * (cc.PAGE_MAX_WORDS + 1)),
                         ("page_cn.md", "词 " * (cc.PAGE_MAX_WORDS + 1))):
        path = paged / "lesson" / name
        path.write_text(path.read_text(encoding="utf-8") + f"\n{filler}\n", encoding="utf-8")
    rehash(paged)
    assert_fails(paged, "lesson/page.md: ", "words of prose, over the 2500")


def test_a_page_over_the_block_cap_fails(paged: Path) -> None:
    extra = "\n".join(f"```python\nx{i} = {i}\n```\n" for i in range(cc.PAGE_MAX_PYTHON_BLOCKS))
    for name in ("page.md", "page_cn.md"):
        path = paged / "lesson" / name
        path.write_text(path.read_text(encoding="utf-8") + "\n" + extra, encoding="utf-8")
    rehash(paged)
    assert_fails(paged, "lesson/page.md: 9 python blocks, over the 8")


@pytest.mark.parametrize(("image", "message"), [
    ("![A plot of tokens per second](figures/missing.png)", "missing figure 'figures/missing.png'"),
    ("![](figures/plot.png)", "figure 'figures/plot.png' has no alt text"),
])
def test_a_missing_figure_or_alt_text_fails(paged: Path, image: str, message: str) -> None:
    (paged / "lesson" / "figures").mkdir()
    (paged / "lesson" / "figures" / "plot.png").write_bytes(b"\x89PNG\r\n")
    for name in ("page.md", "page_cn.md"):
        path = paged / "lesson" / name
        path.write_text(path.read_text(encoding="utf-8") + f"\n{image}\n*A caption.*\n", encoding="utf-8")
    rehash(paged)
    errs = assert_fails(paged, f"lesson/page.md: line 15: {message}", f"lesson/page_cn.md: line 16: {message}")
    assert not any("broken link" in e for e in errs), "a figure is reported once, as a figure"


def test_a_figure_with_alt_text_and_caption_passes(paged: Path) -> None:
    (paged / "lesson" / "figures").mkdir()
    (paged / "lesson" / "figures" / "plot.png").write_bytes(b"\x89PNG\r\n")
    for name, alt in (("page.md", "Tokens per second"), ("page_cn.md", "每秒词元数")):
        path = paged / "lesson" / name
        path.write_text(path.read_text(encoding="utf-8") + f"\n![{alt}](figures/plot.png)\n*Caption.*\n",
                        encoding="utf-8")
    rehash(paged)
    report = cc.run_checks(paged)
    assert not report.errors and not [w for w in report.warnings if "caption" in w[1]]


@pytest.mark.parametrize(("citation", "message"), [
    ('lesson.md, "Errors and retries"', 'cites lesson.md, "Errors and retries", which is not a section there; '
                                        "it is in lesson/page.md"),
    ('lesson/page.md, "Monitoring"', "no lesson page has that heading"),
    ('lesson/gone.md, "Setup"', "cites lesson/gone.md, which is no lesson page"),
    ('lesson/page.md,\n    # "Setup" and "Nowhere"', '"Nowhere", which is not a section there'),
])
def test_a_code_citation_that_points_nowhere_fails(paged: Path, citation: str, message: str) -> None:
    (paged / "scripts").mkdir()
    (paged / "scripts" / "helper.py").write_text(f'"""A helper."""\n\n# Taught in {citation}.\n', encoding="utf-8")
    assert_fails(paged, "scripts/helper.py: line 3: ", message)


def test_a_code_citation_of_the_page_that_holds_the_section_passes(paged: Path) -> None:
    (paged / "scripts").mkdir()
    (paged / "scripts" / "helper.py").write_text(
        '"""Taught in lesson/page.md, "Errors and retries" and "`Setup`"; lesson.md, "First part"."""\n',
        encoding="utf-8")
    assert not errors(paged)
