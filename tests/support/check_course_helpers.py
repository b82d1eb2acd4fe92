"""A small valid course for the check_course tests, written to tmp_path, and how to check it.

The course (README, one lesson, one notebook, each with its Chinese twin and an up-to-date source
header) is the `course` fixture; a test breaks one thing and asserts with `assert_fails` that the check
names it. scripts/check_course.py is loaded by path as the module `check_course` (`cc`).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from smol_inference import settings

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_course.py"

spec = importlib.util.spec_from_file_location("check_course", SCRIPT)
cc = importlib.util.module_from_spec(spec)
sys.modules["check_course"] = cc
spec.loader.exec_module(cc)  # type: ignore[union-attr]  # a .py path always has a loader

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
        code("GIVEN = 1\nex1.fill()  # 参考答案\n# 在这里写代码" if zh
             else "GIVEN = 1\nex1.fill()  # worked solution\n# Your code here"),
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
