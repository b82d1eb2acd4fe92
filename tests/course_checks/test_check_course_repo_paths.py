"""scripts/check_course.py: a lesson that names a repository path (scripts/..., tests/..., benchmarks/...)
names one that exists, in prose, code spans and code blocks alike."""

from __future__ import annotations

from pathlib import Path

import pytest
from check_course_helpers import assert_fails, errors


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


@pytest.mark.parametrize(("mention", "path"), [
    ("见 `tests/made_up/test_nothing.py`。", "tests/made_up/test_nothing.py"),          # a code span
    ("路由在scripts/smol_inference/server/nowhere.py里。", "scripts/smol_inference/server/nowhere.py"),  # prose
    ("见 benchmarks/no_such_folder/。", "benchmarks/no_such_folder/"),                    # a folder
    ("见 tests/peers/test_*.py。", "tests/peers/test_*.py"),                             # matches nothing
])
def test_a_made_up_path_fails(course: Path, mention: str, path: str) -> None:
    _append(course / "lesson_cn.md", f"\n{mention}\n")
    assert_fails(course, "lesson_cn.md: line", f"names {path!r}, which is not in the repository")


def test_a_made_up_path_in_a_code_block_of_the_english_lesson_fails(course: Path) -> None:
    _append(course / "lesson.md", "\n```bash\npytest tests/made_up/test_nothing.py\n```\n")
    assert_fails(course, "lesson.md: line", "names 'tests/made_up/test_nothing.py'")


def test_existing_paths_and_urls_pass(course: Path) -> None:
    (course / "tests" / "client").mkdir(parents=True)
    (course / "tests" / "client" / "test_client.py").write_text("", encoding="utf-8")
    _append(course / "lesson_cn.md", "\n运行 `pytest tests/client/test_client.py`，"
            "或 tests/client/ 里的 tests/client/test_*.py。上游的 "
            "https://github.com/huggingface/text-generation-inference/tree/main/tests/models "
            "不是本仓库的路径。\n")
    assert not errors(course)
