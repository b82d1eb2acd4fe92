"""scripts/check_course.py: each failure mode on a temporary course, the commands, and the real course.

A small valid course (README, one lesson, one notebook, each with its Chinese twin) is written to
tmp_path; every test breaks one thing and asserts the check names it. The last tests run the check
on this repository, which must pass.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "check_course.py"

spec = importlib.util.spec_from_file_location("check_course", SCRIPT)
cc = importlib.util.module_from_spec(spec)
sys.modules["check_course"] = cc
spec.loader.exec_module(cc)  # type: ignore[union-attr]

from smol_inference import settings

LESSON_EN = """# Lesson 1: A lesson

Read [the second part](#second-part) or the [README](README.md).

<a id="first-part"></a>
## First part

```python
x = 1  # one
print(x)
```

<!-- no-run: needs a GPU -->
```python
import torch
```

<a id="second-part"></a>
## Second part

```bash
echo hello  # say hello
```

```text
hello
```
"""

LESSON_ZH = """# 第 1 课：一节课

阅读[第二部分](#second-part)或 [README](README_cn.md)。

<a id="first-part"></a>
## 第一部分

```python
x = 1  # 一
print(x)
```

<!-- no-run: 需要 GPU -->
```python
import torch
```

<a id="second-part"></a>
## 第二部分

```bash
echo hello  # 打个招呼
```

```text
hello
```
"""


def readme(zh: bool) -> str:
    suffix = "_cn" if zh else ""
    colab = f"{settings.COLAB_BASE_URL}/notebooks/demo{suffix}.ipynb"
    return (f"# {'课程' if zh else 'Course'}\n\n"
            f"| Notebook | Open |\n| --- | --- |\n"
            f"| [demo](notebooks/demo{suffix}.ipynb) | [Colab]({colab}) |\n\n"
            f"[lesson](lesson{suffix}.md#first-part)\n")


def notebook(zh: bool) -> dict:
    def md(text: str) -> dict:
        return {"cell_type": "markdown", "metadata": {}, "source": text.splitlines(keepends=True)}

    def code(text: str) -> dict:
        return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                "source": text.splitlines(keepends=True)}

    cells = [
        md("# 演示\n\n见[课程](../lesson_cn.md#second-part)。" if zh
           else "# Demo\n\nSee [the lesson](../lesson.md#second-part)."),
        code("# 准备\nvalue = 41" if zh else "# setup\nvalue = 41"),
        code('ex1, = exercises("demo", globals(), language="%s")' % ("zh" if zh else "en")),
        md("## 练习 1：加一" if zh else "## Exercise 1: add one"),
        code("GIVEN = 1\nex1.fill()  # 参考答案\n# 在这里写代码" if zh else "GIVEN = 1\nex1.fill()  # worked solution\n# Your code here"),
        code("ex1.check()\n# ex1.hint()" if zh else "ex1.check()\n# ex1.hint()"),
        md("## 下一步" if zh else "## Where next"),
    ]
    return {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": dict(cc.KERNELSPEC), "language_info": {"name": "python"}}}


def with_ids(nb: dict) -> dict:
    for n, cell in enumerate(nb["cells"]):
        cell.setdefault("id", f"cell-{n}")
    return nb


def write_nb(path: Path, nb: dict) -> None:
    path.write_text(json.dumps(with_ids(nb), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def read_nb(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A valid two-language course with up-to-date source headers."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "README.md").write_text(readme(False), encoding="utf-8")
    (tmp_path / "README_cn.md").write_text(readme(True), encoding="utf-8")
    (tmp_path / "lesson.md").write_text(LESSON_EN, encoding="utf-8")
    (tmp_path / "lesson_cn.md").write_text(LESSON_ZH, encoding="utf-8")
    write_nb(tmp_path / "notebooks" / "demo.ipynb", notebook(False))
    write_nb(tmp_path / "notebooks" / "demo_cn.ipynb", notebook(True))
    (tmp_path / "TERMINOLOGY.md").write_text(
        "| English | 中文 | Avoid | Notes |\n| --- | --- | --- | --- |\n"
        "| continuous batching | 连续批处理 | 持续批处理 | |\n", encoding="utf-8")
    for zh in ("README_cn.md", "lesson_cn.md", "notebooks/demo_cn.ipynb"):
        cc.update_hash(tmp_path / zh, tmp_path)
    return tmp_path


def errors(root: Path) -> list[str]:
    return [f"{file}: {msg}" for file, msg in cc.run_checks(root).errors]


def assert_fails(root: Path, *needles: str) -> list[str]:
    errs = errors(root)
    assert errs, "the check passed but should have failed"
    for needle in needles:
        assert any(needle in e for e in errs), f"{needle!r} not in {errs}"
    return errs


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
    assert zh.read_text(encoding="utf-8").startswith(f"<!-- source: lesson.md@{cc.content_hash(course / 'lesson.md')} -->\n# 第 1 课")
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
    (course / "README_cn.md").write_text(readme(True).replace("[lesson](lesson_cn.md#first-part)", ""), encoding="utf-8")
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


def test_stored_outputs_fail_and_strip_notebooks_fixes_them(course: Path) -> None:
    path = course / "notebooks" / "demo.ipynb"
    nb = read_nb(path)
    nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["41\n"]}]
    nb["cells"][4]["execution_count"] = 7
    write_nb(path, nb)
    assert_fails(course, "notebooks/demo.ipynb: cell 1: stored outputs", "cell 4: stored execution count")
    out = subprocess.run([sys.executable, str(SCRIPT), "--root", str(course), "--strip-notebooks"],
                         check=False, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "stripped notebooks/demo.ipynb" in out.stdout
    assert not errors(course)
    assert read_nb(path)["cells"][0] == nb["cells"][0]  # nothing else changed


def test_kernel_metadata_fails(course: Path) -> None:
    path = course / "notebooks" / "demo_cn.ipynb"
    nb = read_nb(path)
    nb["metadata"]["kernelspec"] = {"name": "my-venv", "display_name": "venv", "language": "python"}
    write_nb(path, nb)
    assert_fails(course, "notebooks/demo_cn.ipynb: kernelspec must be")


@pytest.mark.parametrize("secret", [
    "hf_" + "a1B2c3D4" * 5,
    "sk-" + "proj-" + "Zx9" * 12,
    "ghp_" + "k" * 36,
    "-----BEGIN RSA " + "PRIVATE KEY-----",
])
def test_secret_fails(course: Path, secret: str) -> None:
    (course / "docker").mkdir()
    (course / "docker" / "env.txt").write_text(f"TOKEN={secret}\n", encoding="utf-8")
    assert_fails(course, "docker/env.txt: line 1: looks like a")


def test_secret_in_notebook_fails(course: Path) -> None:
    path = course / "notebooks" / "demo.ipynb"
    nb = read_nb(path)
    nb["cells"][1]["source"].append('\nlogin(token="hf_' + "Q" * 34 + '")')
    write_nb(path, nb)
    assert_fails(course, "notebooks/demo.ipynb: line", "Hugging Face token")


def test_placeholder_tokens_are_not_secrets(course: Path) -> None:
    (course / "notes.md").write_text("Set `HF_TOKEN=hf_...` or `sk-xxx` (placeholders).\n", encoding="utf-8")
    (course / "notes_cn.md").write_text("", encoding="utf-8")
    cc.update_hash(course / "notes_cn.md", course)
    assert not errors(course)


def test_missing_self_check_fails(course: Path) -> None:
    for name in ("demo.ipynb", "demo_cn.ipynb"):
        path = course / "notebooks" / name
        nb = read_nb(path)
        del nb["cells"][5]
        write_nb(path, nb)
    cc.update_hash(course / "notebooks" / "demo_cn.ipynb", course)
    errs = assert_fails(course, "notebooks/demo.ipynb: cell 3: exercise section 'Exercise 1: add one' has no check cell",
                        "notebooks/demo_cn.ipynb: cell 3: exercise section '练习 1：加一'")
    assert len(errs) == 2


@pytest.mark.parametrize("where, text, needle", [
    (4, "GIVEN = 1\nex1.fill()\nanswer = value + 1", "has no learner cell"),  # a solution after fill()
    (4, "answer = value + 1", "has no learner cell"),                          # no fill() at all
    (None, "answer = value + 1", "besides the learner and check cells"),      # a worked-solution cell
    (5, "ex1.check()\nassert answer == 42", "has no check cell"),             # the old assert self-check
])
def test_exercise_layout_is_enforced(course: Path, where: int | None, text: str, needle: str) -> None:
    for name in ("demo.ipynb", "demo_cn.ipynb"):
        path = course / "notebooks" / name
        nb = read_nb(path)
        cell = {"cell_type": "code", "execution_count": None, "id": "extra", "metadata": {}, "outputs": [],
                "source": text.splitlines(keepends=True)}
        if where is None:
            nb["cells"].insert(5, cell)
        else:
            nb["cells"][where]["source"] = cell["source"]
        write_nb(path, nb)
    cc.update_hash(course / "notebooks" / "demo_cn.ipynb", course)
    assert_fails(course, needle)


def test_exercise_language_is_the_one_allowed_code_difference(course: Path) -> None:
    path = course / "notebooks" / "demo_cn.ipynb"
    nb = read_nb(path)
    assert 'language="zh"' in "".join(nb["cells"][2]["source"])
    assert not errors(course)
    nb["cells"][2]["source"] = ['ex1, = exercises("demo2", globals(), language="zh")']
    write_nb(path, nb)
    assert_fails(course, "code cell 2 differs from EN")


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


def test_glossary_warns_but_does_not_fail(course: Path) -> None:
    zh = course / "lesson_cn.md"
    zh.write_text(zh.read_text(encoding="utf-8") + "\n持续批处理很重要。`持续批处理` 在代码里不算。\n", encoding="utf-8")
    report = cc.run_checks(course)
    assert report.ok
    assert [w for _, w in report.warnings] == ["line 30: '持续批处理' for 'continuous batching'; the glossary says '连续批处理'"]


def test_cli_exit_codes_and_report(course: Path) -> None:
    ok = subprocess.run([sys.executable, str(SCRIPT), "--root", str(course)], check=False, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout
    assert "OK: 0 error(s)" in ok.stdout and "lesson.md" in ok.stdout
    (course / "lesson_cn.md").unlink()
    bad = subprocess.run([sys.executable, str(SCRIPT), "--root", str(course)], check=False, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "missing twin" in bad.stdout and "FAILED" in bad.stdout


def test_cli_update_hash(course: Path) -> None:
    (course / "lesson.md").write_text(LESSON_EN + "\nNew.\n", encoding="utf-8")
    out = subprocess.run([sys.executable, str(SCRIPT), "--root", str(course), "--update-hash", "lesson_cn.md"],
                         check=False, capture_output=True, text=True, timeout=60, cwd=course)
    assert out.returncode == 0, out.stderr
    assert "lesson_cn.md: <!-- source: lesson.md@" in out.stdout and "still to fix" not in out.stdout
    assert not errors(course)
    (course / "lesson.md").write_text(LESSON_EN.replace("print(x)", "print(x * 2)"), encoding="utf-8")
    out = subprocess.run([sys.executable, str(SCRIPT), "--root", str(course), "--update-hash", "lesson_cn.md"],
                         check=False, capture_output=True, text=True, timeout=60, cwd=course)
    assert "still to fix in lesson_cn.md: code block 1" in out.stdout
    refused = subprocess.run([sys.executable, str(SCRIPT), "--root", str(course), "--update-hash", "lesson.md"],
                             check=False, capture_output=True, text=True, timeout=60, cwd=course)
    assert refused.returncode != 0 and "takes the Chinese file" in refused.stderr


def test_real_course_passes() -> None:
    report = cc.run_checks(ROOT)
    print(report.render())
    assert report.ok, report.render()


def test_real_course_headers_are_current() -> None:
    """The regenerate-then-empty-diff gate: --update-hash would not change any committed header."""
    for en in cc.english_sources(ROOT):
        zh = cc.zh_twin(en)
        if zh.exists():
            assert cc.read_header(zh) == cc.header_line(zh, ROOT), f"run --update-hash {zh.relative_to(ROOT)}"


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
    assert report.warnings == [("lesson_cn.md", "line 30: links the English README.md; link its translation README_cn.md")]


def test_invalid_notebook_fails(course: Path) -> None:
    path = course / "notebooks" / "demo.ipynb"
    nb = read_nb(path)
    nb["cells"][1]["outputs"] = "not a list"
    write_nb(path, nb)
    assert_fails(course, "notebooks/demo.ipynb: not a valid notebook (nbformat)")


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
                                             "(add <a id=\"second-part\"></a> before it, and the same in the translation)"))]


def test_fences_inside_list_items() -> None:
    prose, blocks = cc.parse_markdown("1. Run:\n\n   ```python\n   x = 1\n   # not a heading\n   ```\n\n## Real\n")
    assert [(b.lang, b.code) for b in blocks] == [("python", "x = 1\n# not a heading")]
    assert cc.headings_and_anchors(prose)[0] == [(2, "Real", 8)]


def test_unreadable_notebook_is_reported_not_a_traceback(course: Path) -> None:
    for name in ("demo.ipynb", "demo_cn.ipynb"):
        path = course / "notebooks" / name
        path.write_text(path.read_text(encoding="utf-8").replace('"cells": [', '"cells": [\n<<<<<<< HEAD', 1),
                        encoding="utf-8")
        assert_fails(course, f"notebooks/{name}: cannot be read")
