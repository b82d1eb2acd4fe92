"""scripts/check_course.py: notebook hygiene (outputs, kernel, validity) and the exercise layout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from check_course_helpers import (
    SCRIPT,
    assert_fails,
    cc,
    errors,
    read_nb,
    write_nb,
)


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


def test_missing_self_check_fails(course: Path) -> None:
    for name in ("demo.ipynb", "demo_cn.ipynb"):
        path = course / "notebooks" / name
        nb = read_nb(path)
        del nb["cells"][5]
        write_nb(path, nb)
    cc.update_hash(course / "notebooks" / "demo_cn.ipynb", course)
    errs = assert_fails(course,
                        "notebooks/demo.ipynb: cell 3: exercise section 'Exercise 1: add one' has no check cell",
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


def test_invalid_notebook_fails(course: Path) -> None:
    path = course / "notebooks" / "demo.ipynb"
    nb = read_nb(path)
    nb["cells"][1]["outputs"] = "not a list"
    write_nb(path, nb)
    assert_fails(course, "notebooks/demo.ipynb: not a valid notebook (nbformat)")


def test_unreadable_notebook_is_reported_not_a_traceback(course: Path) -> None:
    for name in ("demo.ipynb", "demo_cn.ipynb"):
        path = course / "notebooks" / name
        path.write_text(path.read_text(encoding="utf-8").replace('"cells": [', '"cells": [\n<<<<<<< HEAD', 1),
                        encoding="utf-8")
        assert_fails(course, f"notebooks/{name}: cannot be read")
