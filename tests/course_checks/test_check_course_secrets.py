"""scripts/check_course.py: secrets in files and notebooks fail; placeholders do not."""

from __future__ import annotations

from pathlib import Path

import pytest
from check_course_helpers import (
    assert_fails,
    cc,
    errors,
    read_nb,
    write_nb,
)


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
